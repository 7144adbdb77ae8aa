use leptos::prelude::*;

use super::{model_form::ModelEdit, prices::ModelPrices};
use crate::{
    AppError,
    client::call,
    components::{ConfirmButton, Empty, ErrorNotice, Loading, describe, format::when_or},
    server_fns::models::{delete_model, update_model},
    types::{ModelChanges, ModelInfo, Source, TargetHealth, UpstreamInfo},
};

fn health_text(h: &Option<TargetHealth>) -> String {
    let Some(h) = h else {
        return "not routed".to_owned();
    };
    let mut parts = vec![format!("{} ok, {} failed", h.successes, h.failures)];
    if h.in_flight > 0 {
        parts.push(format!("{} in flight", h.in_flight));
    }
    if let Some(ms) = h.cooling_down_ms {
        parts.push(format!("cooling down {}s", ms.div_ceil(1000)));
    }
    if let Some(f) = &h.last_failure {
        parts.push(format!(
            "last failure {}: {f}",
            when_or(h.last_failure_at, "")
        ));
    }
    parts.join(" · ")
}

#[component]
pub fn ModelList(
    models: LocalResource<Result<Vec<ModelInfo>, AppError>>,
    upstreams: LocalResource<Result<Vec<UpstreamInfo>, AppError>>,
    refresh: Callback<()>,
) -> impl IntoView {
    let error = RwSignal::new(None::<AppError>);
    let editing = RwSignal::new(None::<String>);
    let act = move |id: String, enable: Option<bool>| {
        leptos::task::spawn_local(async move {
            let result = match enable {
                Some(on) => call(|| {
                    update_model(
                        id.clone(),
                        ModelChanges {
                            enabled: Some(on),
                            ..Default::default()
                        },
                    )
                })
                .await
                .map(|_| ()),
                None => call(|| delete_model(id.clone())).await,
            };
            match result {
                Ok(()) => {
                    error.set(None);
                    refresh.run(());
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <ErrorNotice error=error />
        {move || match models.get() {
            None => view! { <Loading /> }.into_any(),
            Some(Err(e)) => view! { <p class="notice error" role="alert">{describe(&e)}</p> }.into_any(),
            Some(Ok(list)) if list.is_empty() => view! { <Empty text="No models yet. Add an upstream, then map a model name onto it." /> }.into_any(),
            Some(Ok(list)) => view! {
                <div class="table-wrap">
                    <table class="table" data-testid="models">
                        <thead><tr>
                            <th scope="col">"Model"</th>
                            <th scope="col">"Served by"</th>
                            <th scope="col">"Status"</th>
                            <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                        </tr></thead>
                        <tbody>
                            {list.into_iter().map(|m| {
                                let editable = m.source == Source::Admin;
                                let id = m.model_id.clone().unwrap_or_default();
                                let (id1, id2, open, shown) = (id.clone(), id.clone(), id.clone(), id);
                                let info = m.clone();
                                let enabled = m.enabled;
                                view! {
                                    <tr data-model=m.name.clone()>
                                        <th scope="row">{m.name.clone()}</th>
                                        <td>
                                            <ul class="targets">
                                                {m.targets.iter().map(|t| view! {
                                                    <li>
                                                        <strong>{t.upstream_name.clone()}</strong>
                                                        {format!(" as {} (weight {}){}", t.upstream_model, t.weight, if t.enabled { "" } else { ", disabled" })}
                                                        <br />
                                                        <span class="hint">{health_text(&t.health)}</span>
                                                    </li>
                                                }).collect_view()}
                                            </ul>
                                        </td>
                                        <td>
                                            {if m.enabled { "Enabled" } else { "Disabled" }}
                                            <br />
                                            <span class="hint">{match m.source {
                                                Source::Config => "from the configuration file",
                                                Source::Discovered => "discovered",
                                                Source::Admin => "added here",
                                            }}</span>
                                            {m.model_id.is_some().then(|| view! { <ModelPrices model=m.clone() /> })}
                                        </td>
                                        <td class="row-actions">
                                            <Show when=move || editable>
                                                <button type="button" class="button subtle"
                                                    on:click={ let id = open.clone(); move |_| editing.set(Some(id.clone())) }>"Edit"</button>
                                                <button type="button" class="button subtle"
                                                    on:click={ let id = id1.clone(); move |_| act(id.clone(), Some(!enabled)) }>
                                                    {if enabled { "Disable" } else { "Enable" }}
                                                </button>
                                                <ConfirmButton label="Delete"
                                                    question="Delete this model? Clients asking for it get 404."
                                                    on_confirm={ let id = id2.clone(); move || act(id.clone(), None) } />
                                            </Show>
                                        </td>
                                    </tr>
                                    {move || (editing.get().as_deref() == Some(shown.as_str())).then(|| {
                                        let info = info.clone();
                                        view! {
                                            <tr class="row-detail"><td colspan="4">
                                                <ModelEdit model=info upstreams refresh close=Callback::new(move |()| editing.set(None)) />
                                            </td></tr>
                                        }
                                    })}
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            }
            .into_any(),
        }}
    }
}
