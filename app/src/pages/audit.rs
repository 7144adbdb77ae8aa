//! The audit log (administrators): who did what, to what, when and from where; filtered and
//! paged.

use chrono::Utc;
use leptos::prelude::*;

use crate::{
    client::call,
    components::{Empty, ErrorNotice, Loading, Pager, Protected, format::when, range},
    server_fns::audit::list_audit,
};

const PAGE: i64 = 50;

#[component]
pub fn Audit() -> impl IntoView {
    view! {
        <Protected admin=true>
            <AuditBody />
        </Protected>
    }
}

#[component]
fn AuditBody() -> impl IntoView {
    let action = RwSignal::new(String::new());
    let days = RwSignal::new("30".to_owned());
    let offset = RwSignal::new(0_i64);
    let entries = LocalResource::new(move || {
        let action = Some(action.get()).filter(|a| !a.is_empty());
        let since = range::since(&days.get(), Utc::now());
        let offset = offset.get();
        async move {
            call(|| {
                list_audit(
                    action.clone(),
                    None,
                    None,
                    since,
                    None,
                    Some(PAGE),
                    Some(offset),
                )
            })
            .await
        }
    });
    view! {
        <section class="card">
            <div class="card-head">
                <h1>"Audit log"</h1>
                <div class="filters">
                    <label class="inline">
                        "Action "
                        <input type="search" placeholder="e.g. key.create" aria-label="Action"
                            on:change=move |ev| { action.set(event_target_value(&ev)); offset.set(0); } />
                    </label>
                    <range::RangePicker days />
                </div>
            </div>
            {move || match entries.get() {
                None => view! { <Loading /> }.into_any(),
                Some(Err(e)) => view! { <ErrorNotice error=Signal::derive(move || Some(e.clone())) /> }.into_any(),
                Some(Ok(page)) if page.entries.is_empty() => view! { <Empty text="Nothing was recorded in this period." /> }.into_any(),
                Some(Ok(page)) => {
                    let total = page.total;
                    view! {
                        <div class="table-wrap">
                            <table class="table" data-testid="audit">
                                <thead><tr>
                                    <th scope="col">"When"</th>
                                    <th scope="col">"Who"</th>
                                    <th scope="col">"Action"</th>
                                    <th scope="col">"Target"</th>
                                    <th scope="col">"From"</th>
                                    <th scope="col">"Result"</th>
                                    <th scope="col">"Details"</th>
                                </tr></thead>
                                <tbody>
                                    {page.entries.into_iter().map(|e| view! {
                                        <tr>
                                            <td>{when(e.created_at)}</td>
                                            <td>{e.actor_username.clone().unwrap_or_else(|| "—".to_owned())}{e.impersonated_by.clone().map(|by| format!(" (by {by}, acting as them)"))}</td>
                                            <td><code>{e.action.clone()}</code></td>
                                            <td>{match (&e.target_type, &e.target_id) {
                                                (Some(t), Some(id)) => format!("{t} {id}"),
                                                _ => String::new(),
                                            }}</td>
                                            <td>{e.client_addr.clone().unwrap_or_default()}</td>
                                            <td>{if e.success { "ok" } else { "failed" }}</td>
                                            <td class="details">{e.details.as_ref().map(|d| d.to_string()).unwrap_or_default()}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                        <Pager offset page=PAGE total back="Newer" forward="Older" />
                    }
                    .into_any()
                }
            }}
        </section>
    }
}
