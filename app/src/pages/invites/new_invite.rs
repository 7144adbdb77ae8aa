use leptos::{ev::SubmitEvent, prelude::*};

use crate::{
    AppError,
    client::call,
    components::{CopyButton, ErrorNotice},
    server_fns::invites::create_invite,
    types::{NewInviteRequest, Role},
};

#[component]
pub fn NewInvite(refresh: Callback<()>) -> impl IntoView {
    let email = RwSignal::new(String::new());
    let note = RwSignal::new(String::new());
    let admin = RwSignal::new(false);
    let hours = RwSignal::new("168".to_owned());
    let error = RwSignal::new(None::<AppError>);
    let link = RwSignal::new(None::<String>);
    let submit = Action::new_local(move |_: &()| {
        let req = NewInviteRequest {
            role: if admin.get_untracked() {
                Role::Admin
            } else {
                Role::User
            },
            email: Some(email.get_untracked()).filter(|e| !e.trim().is_empty()),
            user_id: None,
            note: Some(note.get_untracked()).filter(|n| !n.trim().is_empty()),
            expires_in_hours: hours.get_untracked().parse().ok(),
        };
        async move { call(|| create_invite(req.clone())).await }
    });
    Effect::new(move |_| match submit.value().get() {
        Some(Ok(c)) => {
            error.set(None);
            link.set(Some(c.link));
            email.set(String::new());
            note.set(String::new());
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
            <h2>"Create an invite"</h2>
            {move || link.get().map(|l| view! {
                <div class="secret" role="status" data-testid="invite-link">
                    <p>"The invite link, shown now only. Send it to the person you invite:"</p>
                    <code class="secret-value">{l.clone()}</code>
                    <CopyButton text=l />
                    <button type="button" class="button subtle" on:click=move |_| link.set(None)>"Done"</button>
                </div>
            })}
            <ErrorNotice error=error />
            <form on:submit=on_submit class="grid-form">
                <label for="invite-email">"Only for this email (optional)"</label>
                <input id="invite-email" type="email" autocomplete="off" bind:value=email />
                <label for="invite-note">"Note (optional)"</label>
                <input id="invite-note" autocomplete="off" maxlength="200" bind:value=note />
                <label for="invite-expiry">"Expires after"</label>
                <select id="invite-expiry" bind:value=hours>
                    <option value="24">"1 day"</option>
                    <option value="168">"7 days"</option>
                    <option value="720">"30 days"</option>
                    <option value="2160">"90 days"</option>
                </select>
                <label class="check"><input type="checkbox" bind:checked=admin />"Administrator"</label>
                <button type="submit" class="button primary" disabled=move || submit.pending().get()>"Create invite"</button>
            </form>
        </section>
    }
}
