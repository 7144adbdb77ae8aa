//! API keys: the caller's own (administrators: everyone's, with an owner filter), created,
//! revealed, rotated, disabled, revoked and deleted here.

mod key_row;
mod new_key;

use leptos::prelude::*;

use crate::{
    client::call,
    components::{Empty, ErrorNotice, Loading, Protected},
    server_fns::{keys::list_keys, users::list_users},
    session::use_session,
};
use key_row::KeyRow;
use new_key::NewKey;

#[component]
pub fn Keys() -> impl IntoView {
    view! {
        <Protected>
            <KeysBody />
        </Protected>
    }
}

#[component]
fn KeysBody() -> impl IntoView {
    let session = use_session();
    let admin = move || session.is_admin();
    // Administrators: "" is everyone, otherwise one user's id.
    let owner = RwSignal::new(String::new());
    let keys = LocalResource::new(move || {
        let owner = Some(owner.get()).filter(|o| !o.is_empty());
        async move { call(|| list_keys(owner.clone(), None, None)).await }
    });
    let users = LocalResource::new(move || async move {
        if session.is_admin() {
            call(|| list_users(None, Some(500), None))
                .await
                .map(|p| p.users)
                .unwrap_or_default()
        } else {
            Vec::new()
        }
    });
    let refresh = Callback::new(move |()| keys.refetch());

    view! {
        <section class="card">
            <div class="card-head">
                <h1>"API keys"</h1>
                <Show when=admin>
                    <label class="inline">
                        "Owner "
                        <select
                            aria-label="Owner"
                            on:change=move |ev| owner.set(event_target_value(&ev))
                        >
                            <option value="">"Everyone"</option>
                            {move || users.get().unwrap_or_default().into_iter().map(|u| view! {
                                <option value=u.user_id.clone()>{u.username.clone()}</option>
                            }).collect_view()}
                        </select>
                    </label>
                </Show>
            </div>
            <p class="lead">
                "Programs call " <code>"/v1"</code> " with a key: "
                <code>"Authorization: Bearer sk-pc-…"</code>
                ". Each key can be limited to some models, an expiry and address ranges."
            </p>
            {move || match keys.get() {
                None => view! { <Loading /> }.into_any(),
                Some(Err(e)) => view! { <ErrorNotice error=Signal::derive(move || Some(e.clone())) /> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! { <Empty text="No keys yet. Create one below." /> }.into_any(),
                Some(Ok(list)) => {
                    let show_owner = admin();
                    view! {
                        <div class="table-wrap">
                            <table class="table" data-testid="keys">
                                <thead>
                                    <tr>
                                        <th scope="col">"Name"</th>
                                        <th scope="col">"Key"</th>
                                        {show_owner.then(|| view! { <th scope="col">"Owner"</th> })}
                                        <th scope="col">"Models"</th>
                                        <th scope="col">"Expires"</th>
                                        <th scope="col">"Last used"</th>
                                        <th scope="col">"Status"</th>
                                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {list.into_iter().map(|k| view! { <KeyRow key=k show_owner refresh /> }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }
                    .into_any()
                }
            }}
        </section>
        <NewKey users refresh />
    }
}
