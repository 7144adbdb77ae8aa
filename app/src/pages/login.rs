//! Signing in: the password form, when the deployment allows it, and a button per identity
//! provider.

mod finish;
mod providers;

pub use finish::SsoLanding;
pub use providers::ProviderButtons;

use leptos::{ev::SubmitEvent, prelude::*};
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::{
    AppError,
    client::tokens::{self, Tokens},
    components::ErrorNotice,
    server_fns::auth::{login, sign_in_methods},
    session::{Status, use_session},
};

/// Where to go after signing in: only a path on this site, never another origin.
pub fn safe_next(next: Option<String>) -> String {
    next.filter(|n| crate::types::next_path::same_site(n).is_some() && !n.starts_with("/login"))
        .unwrap_or_else(|| "/".to_owned())
}

#[component]
pub fn Login() -> impl IntoView {
    let session = use_session();
    let query = use_query_map();
    let navigate = use_navigate();
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<AppError>);

    let submit = Action::new_local(move |_: &()| {
        let (u, p) = (username.get_untracked(), password.get_untracked());
        async move { login(u, p).await }
    });
    Effect::new(move |_| {
        let Some(result) = submit.value().get() else {
            return;
        };
        match result {
            Ok(s) => {
                error.set(None);
                session.notice.set(None);
                tokens::store(&Tokens {
                    access: s.access_token,
                    refresh: s.refresh_token,
                });
                password.set(String::new());
                let next = safe_next(query.get_untracked().get("next"));
                if s.must_change_password {
                    session.status.set(Status::MustChangePassword);
                    navigate("/change-password", Default::default());
                } else {
                    let navigate = navigate.clone();
                    leptos::task::spawn_local(async move {
                        session.reload().await;
                        navigate(&next, Default::default());
                    });
                }
            }
            Err(e) => error.set(Some(e)),
        }
    });
    // Someone already signed in has nothing to do here.
    let go_home = use_navigate();
    Effect::new(move |_| {
        if matches!(session.status.get(), Status::SignedIn(_))
            && submit.value().get_untracked().is_none()
        {
            go_home(
                &safe_next(query.get_untracked().get("next")),
                Default::default(),
            );
        }
    });

    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        submit.dispatch(());
    };
    let methods = LocalResource::new(sign_in_methods);
    // Until the answer is in, the form shows: it is what most deployments offer.
    let password_login = move || {
        methods
            .get()
            .and_then(Result::ok)
            .is_none_or(|m| m.password_login)
    };
    let sso_error = move || {
        query
            .get()
            .get("sso_error")
            .map(|code| view! { <p class="notice error" role="alert">{providers::sso_error_text(&code)}</p> })
    };
    let buttons = move || {
        methods.get().and_then(Result::ok).filter(|m| !m.providers.is_empty()).map(|m| {
            let next = query.get_untracked().get("next");
            view! {
                <ProviderButtons providers=m.providers next=safe_next(next) />
                {m.password_login.then(|| view! { <p class="divider"><span>"or with your password"</span></p> })}
            }
        })
    };
    view! {
        <section class="card narrow">
            <h1>"Sign in"</h1>
            {move || session.notice.get().map(|n| view! { <p class="notice" role="status">{n}</p> })}
            {sso_error}
            <ErrorNotice error=error />
            {buttons}
            <Show when=password_login>
            <form on:submit=on_submit>
                <label for="username">"Username"</label>
                <input id="username" name="username" autocomplete="username" required bind:value=username />
                <label for="password">"Password"</label>
                <input
                    id="password"
                    name="password"
                    type="password"
                    autocomplete="current-password"
                    required
                    bind:value=password
                />
                <button type="submit" class="button primary" disabled=move || submit.pending().get()>
                    {move || if submit.pending().get() { "Signing in…" } else { "Sign in" }}
                </button>
            </form>
            </Show>
        </section>
    }
}
