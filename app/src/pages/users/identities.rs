//! A user's sign-ins through identity providers: which are linked, removing one, and an invite
//! that links another to this account.

use leptos::prelude::*;

use crate::{
    AppError,
    client::call,
    components::{ConfirmButton, CopyButton, format::when_or},
    server_fns::{
        invites::create_invite,
        users::{unlink_identity, user_identities},
    },
    types::{NewInviteRequest, Role},
};

#[component]
pub fn Identities(user_id: String, role: Role, error: RwSignal<Option<AppError>>) -> impl IntoView {
    let list_id = user_id.clone();
    let identities = LocalResource::new(move || {
        let id = list_id.clone();
        async move {
            call(|| user_identities(id.clone()))
                .await
                .unwrap_or_default()
        }
    });
    let link = RwSignal::new(None::<String>);
    let invite_id = user_id.clone();
    let make_link = move |_| {
        let req = NewInviteRequest {
            role,
            email: None,
            user_id: Some(invite_id.clone()),
            note: None,
            expires_in_hours: Some(72),
        };
        leptos::task::spawn_local(async move {
            match call(|| create_invite(req.clone())).await {
                Ok(c) => link.set(Some(c.link)),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <fieldset class="identities">
            <legend>"Sign-ins through identity providers"</legend>
            {move || {
                let list = identities.get().unwrap_or_default();
                if list.is_empty() {
                    return view! { <p class="hint">"None linked."</p> }.into_any();
                }
                list.into_iter().map(|i| {
                    let (uid, provider, subject) = (user_id.clone(), i.provider.clone(), i.subject.clone());
                    let unlink = move || {
                        let (uid, provider, subject) = (uid.clone(), provider.clone(), subject.clone());
                        leptos::task::spawn_local(async move {
                            match call(|| unlink_identity(uid.clone(), provider.clone(), subject.clone())).await {
                                Ok(()) => identities.refetch(),
                                Err(e) => error.set(Some(e)),
                            }
                        });
                    };
                    let label = format!(
                        "{} · {}, last sign-in {}",
                        i.provider,
                        i.external_name.clone().or(i.email.clone()).unwrap_or_else(|| i.subject.clone()),
                        when_or(i.last_login_at, "never"),
                    );
                    view! {
                        <p class="identity">
                            <span>{label}</span>
                            <ConfirmButton label="Unlink"
                                question=format!("Unlink the {} sign-in? It will no longer open this account.", i.provider)
                                on_confirm=unlink />
                        </p>
                    }
                }).collect_view().into_any()
            }}
            {move || link.get().map(|l| view! {
                <div class="secret" role="status">
                    <span>"Link invite, shown now only; whoever signs in with it is linked to this account: "</span>
                    <code class="secret-value">{l.clone()}</code>
                    <CopyButton text=l />
                </div>
            })}
            <button type="button" class="button subtle" on:click=make_link>"Invite to link a sign-in"</button>
        </fieldset>
    }
}
