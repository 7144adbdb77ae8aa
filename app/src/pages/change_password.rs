use leptos::{ev::SubmitEvent, prelude::*};
use leptos_router::hooks::use_navigate;

use crate::{
    AppError,
    client::{
        call,
        tokens::{self, Tokens},
    },
    components::ErrorNotice,
    server_fns::auth::change_password,
    session::{Status, use_session},
};

/// The shortest password the server accepts; checked here too so the person knows at once.
const MIN_LEN: usize = 12;

/// Changing the password: required after a one-time password, and from the account page.
#[component]
pub fn ChangePassword() -> impl IntoView {
    let session = use_session();
    let navigate = use_navigate();
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let repeat = RwSignal::new(String::new());
    let error = RwSignal::new(None::<AppError>);
    let required = move || session.status.get() == Status::MustChangePassword;

    let submit = Action::new_local(move |_: &()| {
        let (c, n) = (current.get_untracked(), new.get_untracked());
        async move { call(|| change_password(c.clone(), n.clone())).await }
    });
    Effect::new(move |_| match submit.value().get() {
        Some(Ok(s)) => {
            // Every other session ended; this tab carries on with the new one.
            tokens::store(&Tokens {
                access: s.access_token,
                refresh: s.refresh_token,
            });
            let navigate = navigate.clone();
            leptos::task::spawn_local(async move {
                session.reload().await;
                navigate("/", Default::default());
            });
        }
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let go_login = use_navigate();
    Effect::new(move |_| {
        if session.status.get() == Status::SignedOut {
            go_login("/login", Default::default());
        }
    });

    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if new.get_untracked().chars().count() < MIN_LEN {
            error.set(Some(AppError::invalid(
                "new_password",
                format!("must be at least {MIN_LEN} characters long"),
            )));
        } else if new.get_untracked() != repeat.get_untracked() {
            error.set(Some(AppError::invalid(
                "new_password",
                "the two new passwords differ",
            )));
        } else {
            error.set(None);
            submit.dispatch(());
        }
    };
    view! {
        <section class="card narrow">
            <h1>"Change your password"</h1>
            <Show when=required>
                <p class="notice" role="status">
                    "You signed in with a one-time password. Choose your own before going on."
                </p>
            </Show>
            <ErrorNotice error=error />
            <form on:submit=on_submit>
                <label for="current-password">"Current password"</label>
                <input id="current-password" type="password" autocomplete="current-password" required bind:value=current />
                <label for="new-password">"New password"</label>
                <input id="new-password" type="password" autocomplete="new-password" required minlength=MIN_LEN bind:value=new />
                <p class="hint">{format!("At least {MIN_LEN} characters. A few unrelated words make a good one.")}</p>
                <label for="repeat-password">"New password again"</label>
                <input id="repeat-password" type="password" autocomplete="new-password" required bind:value=repeat />
                <button type="submit" class="button primary" disabled=move || submit.pending().get()>
                    {move || if submit.pending().get() { "Saving…" } else { "Change password" }}
                </button>
            </form>
        </section>
    }
}
