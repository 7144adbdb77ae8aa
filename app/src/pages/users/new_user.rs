use leptos::{ev::SubmitEvent, prelude::*};

use crate::{
    AppError,
    client::call,
    components::{CopyButton, ErrorNotice},
    server_fns::users::create_user,
    types::{CreatedUser, Role},
};

#[component]
pub fn NewUser(refresh: Callback<()>) -> impl IntoView {
    let username = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let admin = RwSignal::new(false);
    let error = RwSignal::new(None::<AppError>);
    let created = RwSignal::new(None::<CreatedUser>);
    let submit = Action::new_local(move |_: &()| {
        let (u, e) = (username.get_untracked(), email.get_untracked());
        let role = if admin.get_untracked() {
            Role::Admin
        } else {
            Role::User
        };
        async move {
            call(|| {
                create_user(
                    u.clone(),
                    Some(e.clone()).filter(|e| !e.is_empty()),
                    Some(role),
                    None,
                )
            })
            .await
        }
    });
    Effect::new(move |_| match submit.value().get() {
        Some(Ok(c)) => {
            error.set(None);
            created.set(Some(c));
            username.set(String::new());
            email.set(String::new());
            refresh.run(());
        }
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        submit.dispatch(());
    };
    view! {
        <section class="card">
            <h2>"Add a user"</h2>
            {move || created.get().map(|c| {
                let password = c.password.clone().unwrap_or_default();
                view! {
                    <div class="secret" role="status" data-testid="one-time-password">
                        <p>{format!("`{}` was created. Their one-time password, shown now only; they choose their own at first sign-in:", c.user.username)}</p>
                        <code class="secret-value">{password.clone()}</code>
                        <CopyButton text=password />
                        <button type="button" class="button subtle" on:click=move |_| created.set(None)>"Done"</button>
                    </div>
                }
            })}
            <ErrorNotice error=error />
            <form on:submit=on_submit class="grid-form">
                <label for="new-username">"Username"</label>
                <input id="new-username" required autocomplete="off" bind:value=username />
                <label for="new-email">"Email (optional)"</label>
                <input id="new-email" type="email" autocomplete="off" bind:value=email />
                <label class="check">
                    <input type="checkbox" bind:checked=admin />
                    "Administrator"
                </label>
                <button type="submit" class="button primary" disabled=move || submit.pending().get()>"Add user"</button>
            </form>
        </section>
    }
}
