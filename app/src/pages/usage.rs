//! Usage: requests and tokens over time, top models, single requests, CSV export. Users see
//! their own; administrators anyone's, filtered by user, key, model and period, and single
//! requests by endpoint.

use chrono::Utc;
use leptos::prelude::*;

use crate::{
    AppError,
    client::call,
    components::{
        BarChart, Empty, ErrorNotice, Loading, Pager, Protected, download,
        format::{count, money, when},
        range,
    },
    server_fns::{
        keys::list_keys,
        models::available_models,
        usage::{get_usage_summary, usage_events, usage_export},
        users::list_users,
    },
    session::use_session,
    types::{ENDPOINTS, UsageFilter, UsageSummary},
};

const PAGE: i64 = 50;

#[component]
pub fn Usage() -> impl IntoView {
    view! {
        <Protected>
            <UsageBody />
        </Protected>
    }
}

#[component]
fn UsageBody() -> impl IntoView {
    let session = use_session();
    let user = RwSignal::new(String::new());
    let key = RwSignal::new(String::new());
    let model = RwSignal::new(String::new());
    let endpoint = RwSignal::new(String::new());
    let days = RwSignal::new("7".to_owned());
    let offset = RwSignal::new(0_i64);
    let error = RwSignal::new(None::<AppError>);
    let filter = Memo::new(move |_| UsageFilter {
        user_id: Some(user.get()).filter(|u| !u.is_empty()),
        api_key_id: Some(key.get()).filter(|k| !k.is_empty()),
        model: Some(model.get()).filter(|m| !m.is_empty()),
        endpoint: Some(endpoint.get()).filter(|e| !e.is_empty()),
        since: range::since(&days.get(), Utc::now()),
        until: None,
    });
    let summary = LocalResource::new(move || {
        // The totals are kept per model, not per endpoint: the endpoint filters requests only.
        let f = UsageFilter {
            endpoint: None,
            ..filter.get()
        };
        async move { call(|| get_usage_summary(f.clone())).await }
    });
    let events = LocalResource::new(move || {
        let (f, o) = (filter.get(), offset.get());
        async move { call(|| usage_events(f.clone(), Some(PAGE), Some(o))).await }
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
    let keys = LocalResource::new(move || {
        let owner = Some(user.get()).filter(|u| !u.is_empty());
        async move {
            call(|| list_keys(owner.clone(), None, None))
                .await
                .unwrap_or_default()
        }
    });
    let models = LocalResource::new(|| async { call(available_models).await.unwrap_or_default() });
    let export = move |_| {
        let f = filter.get_untracked();
        leptos::task::spawn_local(async move {
            match call(|| usage_export(f.clone())).await {
                Ok(csv) => download::save_text("portcullis-usage.csv", "text/csv", &csv),
                Err(e) => error.set(Some(e)),
            }
        });
    };

    view! {
        <section class="card">
            <div class="card-head">
                <h1>"Usage"</h1>
                <button type="button" class="button" on:click=export>"Export CSV"</button>
            </div>
            <div class="filters">
                <Show when=move || session.is_admin()>
                    <label class="inline">"User "
                        <select on:change=move |ev| { user.set(event_target_value(&ev)); key.set(String::new()); offset.set(0); }>
                            <option value="">"Everyone"</option>
                            {move || users.get().unwrap_or_default().into_iter().map(|u| view! {
                                <option value=u.user_id.clone()>{u.username.clone()}</option>
                            }).collect_view()}
                        </select>
                    </label>
                </Show>
                <label class="inline">"Key "
                    <select on:change=move |ev| { key.set(event_target_value(&ev)); offset.set(0); }>
                        <option value="">"Any"</option>
                        {move || keys.get().unwrap_or_default().into_iter().map(|k| view! {
                            <option value=k.api_key_id.clone()>{k.name.clone()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label class="inline">"Model "
                    <select on:change=move |ev| { model.set(event_target_value(&ev)); offset.set(0); }>
                        <option value="">"Any"</option>
                        {move || models.get().unwrap_or_default().into_iter().map(|m| view! {
                            <option value=m.name.clone()>{m.name.clone()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <range::RangePicker days />
            </div>
            <ErrorNotice error=error />
            {move || match summary.get() {
                None => view! { <Loading /> }.into_any(),
                Some(Err(e)) => view! { <ErrorNotice error=Signal::derive(move || Some(e.clone())) /> }.into_any(),
                Some(Ok(s)) => view! { <SummaryView s /> }.into_any(),
            }}
        </section>
        <section class="card">
            <div class="card-head">
                <h2>"Requests"</h2>
                <label class="inline">"Endpoint "
                    <select on:change=move |ev| { endpoint.set(event_target_value(&ev)); offset.set(0); }>
                        <option value="">"Any"</option>
                        {ENDPOINTS.iter().map(|e| view! { <option value=*e>{*e}</option> }).collect_view()}
                    </select>
                </label>
            </div>
            {move || match events.get() {
                None => view! { <Loading /> }.into_any(),
                Some(Err(e)) => view! { <ErrorNotice error=Signal::derive(move || Some(e.clone())) /> }.into_any(),
                Some(Ok(page)) if page.events.is_empty() => view! { <Empty text="No requests in this period." /> }.into_any(),
                Some(Ok(page)) => {
                    let total = page.total;
                    view! {
                        <div class="table-wrap">
                            <table class="table" data-testid="usage-events">
                                <thead><tr>
                                    <th scope="col">"When"</th>
                                    <th scope="col">"User"</th>
                                    <th scope="col">"Key"</th>
                                    <th scope="col">"Model"</th>
                                    <th scope="col">"Endpoint"</th>
                                    <th scope="col">"Status"</th>
                                    <th scope="col">"Tokens in / out"</th>
                                    <th scope="col">"Units"</th>
                                    <th scope="col">"Time"</th>
                                </tr></thead>
                                <tbody>
                                    {page.events.into_iter().map(|e| view! {
                                        <tr>
                                            <td>{when(e.created_at)}</td>
                                            <td>{e.username.clone().unwrap_or_else(|| "(deleted)".to_owned())}</td>
                                            <td>{e.key_name.clone().unwrap_or_else(|| "—".to_owned())}</td>
                                            <td>{e.model.clone()}</td>
                                            <td>{format!("{}{}", e.endpoint, if e.streamed { " (streamed)" } else { "" })}</td>
                                            <td>{format!("{} {}", e.status, e.outcome.replace('_', " "))}</td>
                                            <td>{format!("{} / {}", count(e.prompt_tokens), count(e.completion_tokens))}</td>
                                            <td>{if e.unit.is_empty() { "—".to_owned() } else { format!("{} {}", count(e.units), e.unit) }}</td>
                                            <td>{format!("{} ms", e.total_ms)}</td>
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

/// Totals, the charts and the top models of a summary.
#[component]
pub fn SummaryView(s: UsageSummary) -> impl IntoView {
    let label = |t: chrono::DateTime<Utc>| {
        if s.bucket == "hour" {
            t.format("%d %b %H:00").to_string()
        } else {
            t.format("%d %b").to_string()
        }
    };
    let requests: Vec<(String, f64)> = s
        .series
        .iter()
        .map(|p| (label(p.start), p.requests as f64))
        .collect();
    let tokens: Vec<(String, f64)> = s
        .series
        .iter()
        .map(|p| {
            (
                label(p.start),
                (p.prompt_tokens + p.completion_tokens) as f64,
            )
        })
        .collect();
    view! {
        <div class="stats">
            <div class="stat"><span class="stat-label">"Requests"</span><span class="stat-value" data-testid="usage-requests">{count(s.requests)}</span></div>
            <div class="stat"><span class="stat-label">"Failed"</span><span class="stat-value">{count(s.errors)}</span></div>
            <div class="stat"><span class="stat-label">"Tokens in"</span><span class="stat-value">{count(s.prompt_tokens)}</span></div>
            <div class="stat"><span class="stat-label">"Tokens out"</span><span class="stat-value">{count(s.completion_tokens)}</span></div>
            <div class="stat"><span class="stat-label">"Cost"</span><span class="stat-value">{money(s.cost_micros)}</span></div>
        </div>
        {if s.series.is_empty() {
            view! { <Empty text="No requests in this period." /> }.into_any()
        } else {
            view! {
                <div class="charts">
                    <BarChart title=format!("Requests per {}", s.bucket) bars=requests unit="requests" />
                    <BarChart title=format!("Tokens per {}", s.bucket) bars=tokens unit="tokens" />
                </div>
            }
            .into_any()
        }}
        {(!s.top_models.is_empty()).then(|| view! {
            <h2>"Top models"</h2>
            <ol class="top-models">
                {s.top_models.iter().map(|m| view! {
                    <li><strong>{m.model.clone()}</strong>{format!(" — {} requests, {} tokens", count(m.requests), count(m.tokens))}</li>
                }).collect_view()}
            </ol>
        })}
    }
}
