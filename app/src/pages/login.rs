use leptos::{ev::SubmitEvent, prelude::*};
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::{
    AppError,
    client::tokens::{self, Tokens},
    components::ErrorNotice,
    server_fns::auth::login,
    session::{Status, use_session},
};

/// Where to go after signing in: only a path on this site, never another origin.
fn safe_next(next: Option<String>) -> String {
    next.filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/login"))
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
    view! {
        <section class="card narrow">
            <h1>"Sign in"</h1>
            {move || session.notice.get().map(|n| view! { <p class="notice" role="status">{n}</p> })}
            <ErrorNotice error=error />
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
        </section>
    }
}
