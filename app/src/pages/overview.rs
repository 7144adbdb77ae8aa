use leptos::prelude::*;
use leptos_router::components::A;

use crate::{
    client::call,
    components::{Loading, Protected, format::count},
    pages::usage::SummaryView,
    server_fns::{keys::list_keys, models::available_models, usage::get_usage_summary},
    session::use_session,
    types::UsageFilter,
};

/// The start page: the caller's keys and models at a glance.
#[component]
pub fn Overview() -> impl IntoView {
    view! {
        <Protected>
            <OverviewBody />
        </Protected>
    }
}

#[component]
fn OverviewBody() -> impl IntoView {
    let session = use_session();
    let me = move || session.me();
    let keys = LocalResource::new(move || async move {
        call(|| list_keys(me().map(|m| m.user.user_id), None, None)).await
    });
    let models = LocalResource::new(|| async { call(available_models).await });
    // The caller's own usage, administrators included.
    let usage = LocalResource::new(move || async move {
        let filter = UsageFilter {
            user_id: me().map(|m| m.user.user_id),
            ..UsageFilter::default()
        };
        call(|| get_usage_summary(filter.clone())).await
    });
    view! {
        <section class="card">
            <h1>{move || me().map(|m| format!("Welcome, {}", m.user.username))}</h1>
            <div class="stats">
                <div class="stat">
                    <span class="stat-label">"Your API keys"</span>
                    <span class="stat-value" data-testid="key-count">
                        {move || keys.get().map(|k| count(k.map(|k| k.len() as i64).unwrap_or_default()))}
                    </span>
                    <A href="/keys">"Manage keys"</A>
                </div>
                <div class="stat">
                    <span class="stat-label">"Models you may use"</span>
                    <span class="stat-value">
                        {move || models.get().map(|m| count(m.map(|m| m.len() as i64).unwrap_or_default()))}
                    </span>
                    <A href="/playground">"Try one"</A>
                </div>
            </div>
        </section>
        <section class="card">
            <h2>"Your usage, last 7 days"</h2>
            {move || match usage.get() {
                None => view! { <Loading /> }.into_any(),
                Some(Ok(s)) => view! { <SummaryView s /> }.into_any(),
                Some(Err(e)) => view! { <p class="notice error" role="alert">{crate::components::describe(&e)}</p> }.into_any(),
            }}
        </section>
    }
}
