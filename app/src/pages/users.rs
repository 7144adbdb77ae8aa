//! Users (administrators): search and page through them, create, edit, set model permissions,
//! reset a password, delete.

mod edit_user;
mod identities;
mod new_user;

use leptos::prelude::*;

use crate::{
    client::call,
    components::{Empty, ErrorNotice, Loading, Pager, Protected, SuccessNotice, format::when_or},
    server_fns::{models::available_models, users::list_users},
};
use edit_user::EditUser;
use new_user::NewUser;

const PAGE: i64 = 25;

#[component]
pub fn Users() -> impl IntoView {
    view! {
        <Protected admin=true>
            <UsersBody />
        </Protected>
    }
}

#[component]
fn UsersBody() -> impl IntoView {
    let search = RwSignal::new(String::new());
    let offset = RwSignal::new(0_i64);
    let editing = RwSignal::new(None::<String>);
    let users = LocalResource::new(move || {
        let (q, o) = (search.get(), offset.get());
        async move {
            call(|| {
                list_users(
                    Some(q.clone()).filter(|q| !q.is_empty()),
                    Some(PAGE),
                    Some(o),
                )
            })
            .await
        }
    });
    let models = LocalResource::new(|| async {
        call(available_models)
            .await
            .map(|m| m.into_iter().map(|m| m.name).collect::<Vec<_>>())
            .unwrap_or_default()
    });
    let refresh = Callback::new(move |()| users.refetch());
    let saved = RwSignal::new(None::<String>);

    view! {
        <section class="card">
            <div class="card-head">
                <h1>"Users"</h1>
                <input
                    type="search"
                    aria-label="Search users"
                    placeholder="Search by name or email"
                    on:input=move |ev| { search.set(event_target_value(&ev)); offset.set(0); }
                />
            </div>
            <SuccessNotice message=saved />
            {move || match users.get() {
                None => view! { <Loading /> }.into_any(),
                Some(Err(e)) => view! { <ErrorNotice error=Signal::derive(move || Some(e.clone())) /> }.into_any(),
                Some(Ok(page)) if page.users.is_empty() => view! { <Empty text="No users match." /> }.into_any(),
                Some(Ok(page)) => {
                    let total = page.total;
                    view! {
                        <div class="table-wrap">
                            <table class="table" data-testid="users">
                                <thead><tr>
                                    <th scope="col">"Username"</th>
                                    <th scope="col">"Email"</th>
                                    <th scope="col">"Role"</th>
                                    <th scope="col">"Status"</th>
                                    <th scope="col">"Last sign-in"</th>
                                    <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                                </tr></thead>
                                <tbody>
                                    {page.users.into_iter().map(|u| {
                                        let id = u.user_id.clone();
                                        let open = id.clone();
                                        view! {
                                            <tr data-username=u.username.clone()>
                                                <th scope="row">{u.username.clone()}</th>
                                                <td>{u.email.clone().unwrap_or_default()}</td>
                                                <td>{u.role.to_string()}</td>
                                                <td>{if u.awaiting_approval { "Awaiting approval" } else if !u.enabled { "Disabled" } else if u.must_change_password { "Must change password" } else { "Active" }}</td>
                                                <td>{when_or(u.last_login_at, "Never")}</td>
                                                <td class="row-actions">
                                                    <button type="button" class="button subtle"
                                                        on:click=move |_| { saved.set(None); editing.set(Some(open.clone())); }>
                                                        "Edit"
                                                    </button>
                                                </td>
                                            </tr>
                                            {move || (editing.get().as_deref() == Some(id.as_str())).then(|| {
                                                let u = u.clone();
                                                view! {
                                                    <tr class="row-detail"><td colspan="6">
                                                        <EditUser user=u models refresh saved close=Callback::new(move |()| editing.set(None)) />
                                                    </td></tr>
                                                }
                                            })}
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                        <Pager offset page=PAGE total back="Previous" forward="Next" />
                    }
                    .into_any()
                }
            }}
        </section>
        <NewUser refresh />
    }
}
