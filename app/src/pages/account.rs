use leptos::prelude::*;
use leptos_router::components::A;

use crate::{
    AppError,
    client::{call, sign_out_locally},
    components::{ConfirmButton, ErrorNotice, LimitsEditor, Protected},
    server_fns::auth::logout_all,
    session::use_session,
    types::LimitHolder,
};

#[component]
pub fn Account() -> impl IntoView {
    view! {
        <Protected>
            <AccountBody />
        </Protected>
    }
}

#[component]
fn AccountBody() -> impl IntoView {
    let session = use_session();
    let error = RwSignal::new(None::<AppError>);
    let everywhere = Action::new_local(|_: &()| async { call(logout_all).await });
    Effect::new(move |_| match everywhere.value().get() {
        Some(Ok(())) => {
            session
                .notice
                .set(Some("You have signed out on every device.".to_owned()));
            sign_out_locally();
        }
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let me = move || session.me();
    view! {
        <section class="card">
            <h1>"Your account"</h1>
            {move || me().map(|m| view! {
                <dl class="facts">
                    <dt>"Username"</dt><dd>{m.user.username.clone()}</dd>
                    <dt>"Email"</dt><dd>{m.user.email.clone().unwrap_or_else(|| "—".to_owned())}</dd>
                    <dt>"Role"</dt><dd>{m.user.role.to_string()}</dd>
                    <dt>"Models"</dt>
                    <dd>{match &m.models {
                        None => "All models".to_owned(),
                        Some(list) if list.is_empty() => "None yet: ask an administrator".to_owned(),
                        Some(list) => list.join(", "),
                    }}</dd>
                </dl>
                <LimitsEditor holder=LimitHolder::User id=m.user.user_id.clone() editable=false />
            })}
            <ErrorNotice error=error />
            <div class="actions">
                <A href="/change-password" attr:class="button">"Change password"</A>
                <ConfirmButton
                    label="Sign out everywhere"
                    question="End every session of yours, on every device, including this one?"
                    on_confirm=move || { everywhere.dispatch(()); }
                />
            </div>
        </section>
    }
}
