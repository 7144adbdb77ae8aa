//! Portcullis web app: the HTML shell, the routes and the pieces shared by the server and the
//! WASM client. Server-only code lives in [`server`], compiled only with the `ssr` feature.

// Leptos' view types nest deeply in table rows with conditional cells.
#![recursion_limit = "256"]

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
    ParamSegment, StaticSegment,
    components::{Route, Router, Routes},
};

pub use error::AppError;

/// The document around the app; rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    content_security_policy();
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

/// A strict policy for every page: scripts only from this origin and the inline hydration
/// script carrying this response's nonce; no inline styles, no other origins, no framing.
#[cfg(feature = "ssr")]
fn content_security_policy() {
    use leptos::nonce::use_nonce;
    let (Some(nonce), Some(response)) =
        (use_nonce(), use_context::<leptos_axum::ResponseOptions>())
    else {
        return;
    };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    if let Ok(value) = axum::http::HeaderValue::from_str(&policy) {
        response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, value);
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
                    <Route path=(StaticSegment("login"), StaticSegment("sso")) view=pages::SsoLanding />
                    <Route path=(StaticSegment("invite"), ParamSegment("token")) view=pages::Invite />
                    <Route path=StaticSegment("invites") view=pages::Invites />
                    <Route path=StaticSegment("change-password") view=pages::ChangePassword />
                    <Route path=StaticSegment("account") view=pages::Account />
                    <Route path=StaticSegment("keys") view=pages::Keys />
                    <Route path=StaticSegment("users") view=pages::Users />
                    <Route path=StaticSegment("models") view=pages::Models />
                    <Route path=StaticSegment("usage") view=pages::Usage />
                    <Route path=StaticSegment("audit") view=pages::Audit />
                    <Route path=StaticSegment("playground") view=pages::Playground />
                </Routes>
            </components::Layout>
        </Router>
    }
}
