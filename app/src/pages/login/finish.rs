//! `/login/sso`: where an external sign-in lands. The one-time code is in the address's
//! fragment, which never reaches a server; the page trades it for tokens and moves on.

use leptos::prelude::*;
use leptos_router::{
    NavigateOptions,
    hooks::{use_location, use_navigate},
};

use crate::{
    AppError,
    client::tokens::{self, Tokens},
    components::{ErrorNotice, Loading},
    server_fns::auth::sso_finish,
    session::use_session,
};

#[component]
pub fn SsoLanding() -> impl IntoView {
    let session = use_session();
    let location = use_location();
    let navigate = use_navigate();
    let error = RwSignal::new(None::<AppError>);
    // Effects run in the browser only: the fragment is not sent to the server.
    Effect::new(move |_| {
        let hash = location.hash.get_untracked();
        let code = hash
            .trim_start_matches('#')
            .split('&')
            .find_map(|p| p.strip_prefix("code="))
            .unwrap_or_default()
            .to_owned();
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            match sso_finish(code).await {
                Ok(s) => {
                    tokens::store(&Tokens {
                        access: s.session.access_token,
                        refresh: s.session.refresh_token,
                    });
                    session.notice.set(None);
                    session.reload().await;
                    let next = super::safe_next(s.next);
                    navigate(
                        &next,
                        NavigateOptions {
                            replace: true,
                            ..Default::default()
                        },
                    );
                }
                Err(e) => error.set(Some(e)),
            }
        });
    });
    view! {
        <section class="card narrow">
            <h1>"Signing in"</h1>
            {move || match error.get() {
                None => view! { <Loading /> }.into_any(),
                Some(AppError::Unauthenticated) => view! {
                    <p class="notice error" role="alert">
                        "This sign-in has expired or was already used. Please sign in again."
                    </p>
                    <a class="button primary" href="/login">"Sign in"</a>
                }.into_any(),
                Some(e) => view! {
                    <ErrorNotice error=Signal::derive(move || Some(e.clone())) />
                    <a class="button primary" href="/login">"Sign in"</a>
                }.into_any(),
            }}
        </section>
    }
}
