use std::collections::BTreeMap;

use leptos::{ev::SubmitEvent, prelude::*};

use crate::{
    AppError,
    client::call,
    components::{ErrorNotice, SuccessNotice},
    server_fns::upstreams::{create_upstream, test_upstream, update_upstream},
    types::{CredentialChange, NewUpstream, UpstreamApi, UpstreamChanges, UpstreamInfo},
};

/// Which API the upstream speaks; requests in the other one are translated.
#[component]
fn ApiSelect(id: &'static str, api: RwSignal<UpstreamApi>) -> impl IntoView {
    view! {
        <label for=id>"API"</label>
        <select id=id
            prop:value=move || api.get().as_str()
            on:change=move |ev| api.set(UpstreamApi::parse(&event_target_value(&ev)))>
            <option value="openai">"OpenAI-compatible (vLLM, llama.cpp, Ollama, OpenAI…)"</option>
            <option value="openai_responses">"OpenAI-compatible with the Responses API (OpenAI, vLLM)"</option>
            <option value="anthropic">"Anthropic Messages"</option>
        </select>
    }
}

/// Paths separated by spaces, commas or lines.
fn parse_paths(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `Name: value` lines, one header each.
fn parse_headers(text: &str) -> Result<BTreeMap<String, String>, AppError> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .ok_or_else(|| AppError::invalid("headers", format!("`{l}` is not `Name: value`")))
        })
        .collect()
}

/// Adds an upstream; its credential can be set here and never read back.
#[component]
pub fn UpstreamForm(refresh: Callback<()>) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let base_url = RwSignal::new(String::new());
    let api = RwSignal::new(UpstreamApi::Openai);
    let credential = RwSignal::new(String::new());
    let headers = RwSignal::new(String::new());
    let discover = RwSignal::new(false);
    let paths = RwSignal::new(String::new());
    let error = RwSignal::new(None::<AppError>);
    let message = RwSignal::new(None::<String>);

    let draft = move || -> Result<NewUpstream, AppError> {
        Ok(NewUpstream {
            name: name.get_untracked().trim().to_owned(),
            base_url: base_url.get_untracked().trim().to_owned(),
            api: api.get_untracked(),
            credential: Some(credential.get_untracked()).filter(|c| !c.trim().is_empty()),
            headers: parse_headers(&headers.get_untracked())?,
            connect_timeout_ms: None,
            idle_timeout_ms: None,
            discover_models: discover.get_untracked(),
            enabled: Some(true),
            extra_paths: parse_paths(&paths.get_untracked()),
        })
    };
    let save = Action::new_local(move |_: &()| {
        let d = draft();
        async move {
            let d = d?;
            call(|| create_upstream(d.clone())).await
        }
    });
    let test = Action::new_local(move |_: &()| {
        let d = draft();
        async move {
            let d = d?;
            call(|| test_upstream(None, Some(d.clone()))).await
        }
    });
    Effect::new(move |_| match save.value().get() {
        Some(Ok(u)) => {
            error.set(None);
            message.set(Some(format!(
                "`{}` was added. Map a model onto it above.",
                u.name
            )));
            for s in [name, base_url, credential, headers, paths] {
                s.set(String::new());
            }
            refresh.run(());
        }
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    Effect::new(move |_| match test.value().get() {
        Some(Ok(t)) if t.ok => {
            error.set(None);
            message.set(Some(format!(
                "Connected in {} ms; it lists: {}",
                t.latency_ms,
                t.models.join(", ")
            )));
        }
        Some(Ok(t)) => {
            message.set(None);
            error.set(Some(AppError::Refused(format!(
                "The test failed: {}",
                t.error.unwrap_or_default()
            ))));
        }
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        message.set(None);
        save.dispatch(());
    };
    view! {
        <section class="card">
            <h2>"Add an upstream"</h2>
            <ErrorNotice error=error />
            <SuccessNotice message=message />
            <form on:submit=on_submit class="grid-form">
                <label for="upstream-name">"Name"</label>
                <input id="upstream-name" required placeholder="e.g. local-vllm" bind:value=name />
                <label for="upstream-url">"Base URL"</label>
                <input id="upstream-url" required type="url" placeholder="http://127.0.0.1:8000/v1" bind:value=base_url />
                <ApiSelect id="upstream-api" api=api />
                <label for="upstream-credential">"API key (optional)"</label>
                <input id="upstream-credential" type="password" autocomplete="new-password" bind:value=credential />
                <p class="hint">"Stored encrypted and never shown again; sent upstream as a bearer token (to Anthropic as x-api-key)."</p>
                <label for="upstream-headers">"Extra headers (optional)"</label>
                <textarea id="upstream-headers" rows="2" placeholder="OpenAI-Organization: org-…" bind:value=headers></textarea>
                <label class="check"><input type="checkbox" bind:checked=discover />"Offer every model it lists"</label>
                <label for="upstream-paths">"Extra paths (optional)"</label>
                <input id="upstream-paths" placeholder="/tokenize /v1/score" bind:value=paths />
                <p class="hint">"Further paths of this server that keys may call through the gateway, for models they may use."</p>
                <div class="actions">
                    <button type="button" class="button" disabled=move || test.pending().get()
                        on:click=move |_| { message.set(None); test.dispatch(()); }>
                        {move || if test.pending().get() { "Testing…" } else { "Test connection" }}
                    </button>
                    <button type="submit" class="button primary" disabled=move || save.pending().get()>"Add upstream"</button>
                </div>
            </form>
        </section>
    }
}

/// Changes a saved upstream. The credential is write-only: empty keeps the stored one.
#[component]
pub fn UpstreamEdit(
    upstream: UpstreamInfo,
    refresh: Callback<()>,
    close: Callback<()>,
) -> impl IntoView {
    let id = upstream.upstream_id.clone();
    let base_url = RwSignal::new(upstream.base_url.clone());
    let api = RwSignal::new(upstream.api);
    let credential = RwSignal::new(String::new());
    let remove_credential = RwSignal::new(false);
    let headers = RwSignal::new(String::new());
    let discover = RwSignal::new(upstream.discover_models);
    let paths = RwSignal::new(upstream.extra_paths.join(" "));
    let error = RwSignal::new(None::<AppError>);
    let save = Action::new_local(move |_: &()| {
        let id = id.clone();
        let text = headers.get_untracked();
        let changes = (|| {
            Ok::<_, AppError>(UpstreamChanges {
                base_url: Some(base_url.get_untracked().trim().to_owned()),
                api: Some(api.get_untracked()),
                credential: if remove_credential.get_untracked() {
                    Some(CredentialChange::Remove)
                } else {
                    Some(credential.get_untracked())
                        .filter(|c| !c.trim().is_empty())
                        .map(CredentialChange::Set)
                },
                headers: if text.trim().is_empty() {
                    None
                } else {
                    Some(parse_headers(&text)?)
                },
                discover_models: Some(discover.get_untracked()),
                extra_paths: Some(parse_paths(&paths.get_untracked())),
                ..Default::default()
            })
        })();
        async move {
            let changes = changes?;
            call(|| update_upstream(id.clone(), changes.clone())).await
        }
    });
    Effect::new(move |_| match save.value().get() {
        Some(Ok(_)) => {
            close.run(());
            refresh.run(());
        }
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let name = upstream.name.clone();
    view! {
        <div class="edit-panel" role="group" aria-label=format!("Edit {name}")>
            <ErrorNotice error=error />
            <div class="grid-form">
                <label for="edit-upstream-url">"Base URL"</label>
                <input id="edit-upstream-url" type="url" bind:value=base_url />
                <ApiSelect id="edit-upstream-api" api=api />
                <label for="edit-upstream-credential">"New API key"</label>
                <input id="edit-upstream-credential" type="password" autocomplete="new-password"
                    placeholder=if upstream.has_credential { "set; leave empty to keep it" } else { "none" }
                    bind:value=credential />
                <Show when=move || upstream.has_credential>
                    <label class="check"><input type="checkbox" bind:checked=remove_credential />"Remove the stored API key"</label>
                </Show>
                <label for="edit-upstream-headers">"Replace extra headers"</label>
                <textarea id="edit-upstream-headers" rows="2"
                    placeholder=format!("now: {}; leave empty to keep them", if upstream.header_names.is_empty() { "none".to_owned() } else { upstream.header_names.join(", ") })
                    bind:value=headers></textarea>
                <label class="check"><input type="checkbox" bind:checked=discover />"Offer every model it lists"</label>
                <label for="edit-upstream-paths">"Extra paths"</label>
                <input id="edit-upstream-paths" placeholder="/tokenize /v1/score" bind:value=paths />
            </div>
            <div class="actions">
                <button type="button" class="button primary" disabled=move || save.pending().get()
                    on:click=move |_| { save.dispatch(()); }>"Save"</button>
                <button type="button" class="button subtle" on:click=move |_| close.run(())>"Cancel"</button>
            </div>
        </div>
    }
}
