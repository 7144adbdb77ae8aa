use leptos::prelude::*;

use super::upstream_form::UpstreamEdit;
use crate::{
    AppError,
    client::call,
    components::{ConfirmButton, Empty, ErrorNotice, Loading, describe, format::when_or},
    server_fns::upstreams::{delete_upstream, discover_models, test_upstream, update_upstream},
    types::{ConnectionTest, Source, UpstreamApi, UpstreamChanges, UpstreamInfo},
};

fn test_text(t: &ConnectionTest) -> String {
    if t.ok {
        format!(
            "Connected in {} ms; it lists {} model(s): {}",
            t.latency_ms,
            t.models.len(),
            t.models.join(", ")
        )
    } else {
        format!(
            "Failed after {} ms: {}",
            t.latency_ms,
            t.error.clone().unwrap_or_default()
        )
    }
}

#[component]
pub fn UpstreamList(
    upstreams: LocalResource<Result<Vec<UpstreamInfo>, AppError>>,
    refresh: Callback<()>,
) -> impl IntoView {
    let error = RwSignal::new(None::<AppError>);
    // Upstream id → what its last test found.
    let tests = RwSignal::new(Vec::<(String, ConnectionTest)>::new());
    let busy = RwSignal::new(false);
    let editing = RwSignal::new(None::<String>);
    let act = move |id: String, what: &'static str| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = match what {
                "test" => match call(|| test_upstream(Some(id.clone()), None)).await {
                    Ok(t) => {
                        tests.update(|all| {
                            all.retain(|(i, _)| *i != id);
                            all.push((id.clone(), t));
                        });
                        Ok(())
                    }
                    Err(e) => Err(e),
                },
                "discover" => call(|| discover_models(id.clone())).await.map(|_| ()),
                "enable" | "disable" => call(|| {
                    update_upstream(
                        id.clone(),
                        UpstreamChanges {
                            enabled: Some(what == "enable"),
                            ..Default::default()
                        },
                    )
                })
                .await
                .map(|_| ()),
                _ => call(|| delete_upstream(id.clone())).await,
            };
            busy.set(false);
            match result {
                Ok(()) => {
                    error.set(None);
                    if what != "test" {
                        refresh.run(());
                    }
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <ErrorNotice error=error />
        {move || match upstreams.get() {
            None => view! { <Loading /> }.into_any(),
            Some(Err(e)) => view! { <p class="notice error" role="alert">{describe(&e)}</p> }.into_any(),
            Some(Ok(list)) if list.is_empty() => view! { <Empty text="No upstreams yet. Add one below." /> }.into_any(),
            Some(Ok(list)) => view! {
                <div class="table-wrap">
                    <table class="table" data-testid="upstreams">
                        <thead><tr>
                            <th scope="col">"Name"</th>
                            <th scope="col">"Address"</th>
                            <th scope="col">"Credential"</th>
                            <th scope="col">"Discovery"</th>
                            <th scope="col">"Status"</th>
                            <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                        </tr></thead>
                        <tbody>
                            {list.into_iter().map(|u| {
                                let editable = u.source == Source::Admin;
                                let discovers = u.discover_models;
                                let enabled = u.enabled;
                                let id = u.upstream_id.clone();
                                let (i1, i2, i3, i4, i5) = (id.clone(), id.clone(), id.clone(), id.clone(), id.clone());
                                let (open, shown) = (id.clone(), id);
                                let info = u.clone();
                                view! {
                                    <tr data-upstream=u.name.clone()>
                                        <th scope="row">{u.name.clone()}
                                            {(u.source == Source::Config).then(|| view! { <br /><span class="hint">"from the configuration file"</span> })}
                                        </th>
                                        <td><code>{u.base_url.clone()}</code>
                                            {match u.api {
                                                UpstreamApi::Anthropic => Some(view! { <br /><span class="hint">"Anthropic Messages API"</span> }),
                                                UpstreamApi::OpenaiResponses => Some(view! { <br /><span class="hint">"with the Responses API"</span> }),
                                                UpstreamApi::Openai => None,
                                            }}
                                        </td>
                                        <td>{if u.has_credential { "Set (hidden)" } else { "None" }}</td>
                                        <td>{if !discovers {
                                            "Off".to_owned()
                                        } else if let Some(e) = &u.discovery_error {
                                            format!("Failed: {e}")
                                        } else {
                                            format!("{} model(s), {}", u.discovered_models.len(), when_or(u.discovered_at, "not yet"))
                                        }}</td>
                                        <td>{if enabled { "Enabled" } else { "Disabled" }}</td>
                                        <td class="row-actions">
                                            <button type="button" class="button subtle" disabled=move || busy.get()
                                                on:click={ let id = i1.clone(); move |_| act(id.clone(), "test") }>"Test connection"</button>
                                            <Show when=move || discovers>
                                                <button type="button" class="button subtle" disabled=move || busy.get()
                                                    on:click={ let id = i2.clone(); move |_| act(id.clone(), "discover") }>"Discover now"</button>
                                            </Show>
                                            <Show when=move || editable>
                                                <button type="button" class="button subtle"
                                                    on:click={ let id = open.clone(); move |_| editing.set(Some(id.clone())) }>"Edit"</button>
                                                <button type="button" class="button subtle" disabled=move || busy.get()
                                                    on:click={ let id = i3.clone(); move |_| act(id.clone(), if enabled { "disable" } else { "enable" }) }>
                                                    {if enabled { "Disable" } else { "Enable" }}
                                                </button>
                                                <ConfirmButton label="Delete"
                                                    question="Delete this upstream and every model target on it?"
                                                    on_confirm={ let id = i4.clone(); move || act(id.clone(), "delete") } />
                                            </Show>
                                        </td>
                                    </tr>
                                    {move || (editing.get().as_deref() == Some(shown.as_str())).then(|| {
                                        let info = info.clone();
                                        view! {
                                            <tr class="row-detail"><td colspan="6">
                                                <UpstreamEdit upstream=info refresh close=Callback::new(move |()| editing.set(None)) />
                                            </td></tr>
                                        }
                                    })}
                                    {move || tests.get().into_iter().find(|(i, _)| *i == i5).map(|(_, t)| view! {
                                        <tr class="row-detail"><td colspan="6">
                                            <p class=if t.ok { "notice success" } else { "notice error" } role="status">{test_text(&t)}</p>
                                        </td></tr>
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
