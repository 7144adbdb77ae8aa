//! `/invite/<token>`: the page an invite link opens. It says whether the invite can still be
//! used and offers the identity providers to accept it with.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::{
    components::{ErrorNotice, Loading},
    pages::ProviderButtons,
    server_fns::invites::preview_invite,
};

#[component]
pub fn Invite() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.get().get("token").unwrap_or_default();
    let preview = LocalResource::new(move || preview_invite(token()));
    view! {
        <section class="card narrow">
            <h1>"Your invitation"</h1>
            {move || match preview.get() {
                None => view! { <Loading /> }.into_any(),
                Some(Err(e)) => view! { <ErrorNotice error=Signal::derive(move || Some(e.clone())) /> }.into_any(),
                Some(Ok(p)) if !p.usable => view! {
                    <p class="notice error" role="alert">
                        "This invite link cannot be used: it was used already, revoked, or has expired. Ask an administrator for a new one."
                    </p>
                }.into_any(),
                Some(Ok(p)) => {
                    let text = if p.for_existing_account {
                        "Sign in with your identity provider to link it to your existing Portcullis account. From then on, that sign-in opens your account."
                    } else {
                        "You have been invited to Portcullis. Sign in with your identity provider to accept: your account is created as you do."
                    };
                    view! {
                        <p>{text}</p>
                        <ProviderButtons providers=p.providers invite=token() />
                    }.into_any()
                }
            }}
        </section>
    }
}
