use leptos::prelude::*;
use leptos_router::components::A;

use crate::{
    client::call,
    components::{Loading, Protected, format::count},
    server_fns::{keys::list_keys, models::available_models},
    session::use_session,
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
        call(|| list_keys(me().map(|m| m.user.user_id))).await
    });
    let models = LocalResource::new(|| async { call(available_models).await });
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
            {move || models.get().is_none().then(|| view! { <Loading /> })}
        </section>
    }
}
