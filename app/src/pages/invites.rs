//! Invites (administrators): create single-use, expiring invite links, see what became of
//! them, revoke those still open.

mod new_invite;

use leptos::prelude::*;

use crate::{
    client::call,
    components::{ConfirmButton, Empty, ErrorNotice, Loading, Protected, format::when},
    server_fns::invites::{list_invites, revoke_invite},
    types::{InviteInfo, InviteStatus},
};
use new_invite::NewInvite;

#[component]
pub fn Invites() -> impl IntoView {
    view! {
        <Protected admin=true>
            <InvitesBody />
        </Protected>
    }
}

fn status_text(s: InviteStatus) -> &'static str {
    match s {
        InviteStatus::Pending => "Open",
        InviteStatus::Used => "Used",
        InviteStatus::Expired => "Expired",
        InviteStatus::Revoked => "Revoked",
    }
}

#[component]
fn InvitesBody() -> impl IntoView {
    let invites = LocalResource::new(|| call(list_invites));
    let refresh = Callback::new(move |()| invites.refetch());
    let error = RwSignal::new(None);
    let row = move |i: InviteInfo| {
        let id = i.invite_id.clone();
        let revoke = move || {
            let id = id.clone();
            leptos::task::spawn_local(async move {
                match call(|| revoke_invite(id.clone())).await {
                    Ok(()) => invites.refetch(),
                    Err(e) => error.set(Some(e)),
                }
            });
        };
        let who = match (&i.username, &i.email) {
            (Some(u), _) => format!("links a sign-in to {u}"),
            (None, Some(e)) => format!("for {e}"),
            (None, None) => "anyone with the link".to_owned(),
        };
        view! {
            <tr>
                <td>{when(i.created_at)}</td>
                <td>{who}</td>
                <td>{i.role.to_string()}</td>
                <td>{i.note.clone().unwrap_or_default()}</td>
                <td>{when(i.expires_at)}</td>
                <td>{status_text(i.status)}{i.used_by.clone().map(|u| format!(" by {u}"))}</td>
                <td class="row-actions">
                    {(i.status == InviteStatus::Pending).then(|| view! {
                        <ConfirmButton label="Revoke" question="Revoke this invite? Its link stops working." on_confirm=revoke />
                    })}
                </td>
            </tr>
        }
    };
    view! {
        <section class="card">
            <h1>"Invites"</h1>
            <p class="hint">"An invite link lets one person sign in through an identity provider and get an account, whatever the registration mode. Each link works once, until it expires."</p>
            <ErrorNotice error=error />
            {move || match invites.get() {
                None => view! { <Loading /> }.into_any(),
                Some(Err(e)) => view! { <ErrorNotice error=Signal::derive(move || Some(e.clone())) /> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! { <Empty text="No invites yet." /> }.into_any(),
                Some(Ok(list)) => view! {
                    <div class="table-wrap">
                        <table class="table" data-testid="invites">
                            <thead><tr>
                                <th scope="col">"Created"</th>
                                <th scope="col">"Who"</th>
                                <th scope="col">"Role"</th>
                                <th scope="col">"Note"</th>
                                <th scope="col">"Expires"</th>
                                <th scope="col">"Status"</th>
                                <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                            </tr></thead>
                            <tbody>{list.into_iter().map(row).collect_view()}</tbody>
                        </table>
                    </div>
                }.into_any(),
            }}
        </section>
        <NewInvite refresh />
    }
}
