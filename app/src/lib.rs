//! Portcullis web app: the HTML shell, the routes and the pieces shared by the server and the
//! WASM client. Server-only code lives in [`server`], compiled only with the `ssr` feature.

pub mod client;
pub mod components;
pub mod error;
pub mod pages;
pub mod server_fns;
pub mod session;
pub mod types;

#[cfg(feature = "ssr")]
pub mod server;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::{
    StaticSegment,
    components::{Route, Router, Routes},
};

pub use error::AppError;

/// The document around the app; rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let stylesheet = format!("/{}/{}.css", options.site_pkg_dir, options.output_name);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <link rel="stylesheet" href=stylesheet />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    session::Session::provide();
    view! {
        <Title text="Portcullis" />
        <Router>
            <components::Layout>
                <Routes fallback=pages::NotFound>
                    <Route path=StaticSegment("") view=pages::Overview />
                    <Route path=StaticSegment("login") view=pages::Login />
                    <Route path=StaticSegment("change-password") view=pages::ChangePassword />
                    <Route path=StaticSegment("account") view=pages::Account />
                    <Route path=StaticSegment("keys") view=pages::Keys />
                </Routes>
            </components::Layout>
        </Router>
    }
}
