use leptos::{ev::SubmitEvent, prelude::*};

use super::target_rows::{Row, TargetRows, Targets};
use crate::{
    AppError,
    client::call,
    components::{ErrorNotice, SuccessNotice},
    server_fns::models::{create_model, update_model},
    types::{ModelChanges, ModelInfo, NewModel, UpstreamInfo},
};

fn listed(
    upstreams: LocalResource<Result<Vec<UpstreamInfo>, AppError>>,
) -> Signal<Vec<UpstreamInfo>> {
    Signal::derive(move || match upstreams.get() {
        Some(Ok(list)) => list,
        _ => Vec::new(),
    })
}

/// Maps a public model name onto one or more upstreams.
#[component]
pub fn ModelForm(
    upstreams: LocalResource<Result<Vec<UpstreamInfo>, AppError>>,
    refresh: Callback<()>,
) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let targets = Targets::new(Vec::new());
    let error = RwSignal::new(None::<AppError>);
    let saved = RwSignal::new(None::<String>);
    let submit = Action::new_local(move |_: &()| {
        let model = NewModel {
            name: name.get_untracked().trim().to_owned(),
            enabled: Some(true),
            targets: targets.collect(),
        };
        async move { call(|| create_model(model.clone())).await }
    });
    Effect::new(move |_| match submit.value().get() {
        Some(Ok(m)) => {
            error.set(None);
            saved.set(Some(format!("`{}` is served now.", m.name)));
            name.set(String::new());
            targets.reset();
            refresh.run(());
        }
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        saved.set(None);
        submit.dispatch(());
    };
    view! {
        <section class="card">
            <h2>"Add a model"</h2>
            <ErrorNotice error=error />
            <SuccessNotice message=saved />
            <form on:submit=on_submit class="grid-form">
                <label for="model-name">"Name clients use"</label>
                <input id="model-name" required placeholder="e.g. llama-3.1-8b" bind:value=name />
                <TargetRows targets upstreams=listed(upstreams) />
                <button type="submit" class="button primary" disabled=move || submit.pending().get()>"Add model"</button>
            </form>
        </section>
    }
}

/// Changes an administrator's model: its name and where it is served.
#[component]
pub fn ModelEdit(
    model: ModelInfo,
    upstreams: LocalResource<Result<Vec<UpstreamInfo>, AppError>>,
    refresh: Callback<()>,
    close: Callback<()>,
) -> impl IntoView {
    let id = model.model_id.clone().unwrap_or_default();
    let name = RwSignal::new(model.name.clone());
    let targets = Targets::new(model.targets.iter().map(Row::from).collect());
    let error = RwSignal::new(None::<AppError>);
    let save = Action::new_local(move |_: &()| {
        let id = id.clone();
        let changes = ModelChanges {
            name: Some(name.get_untracked().trim().to_owned()),
            enabled: None,
            targets: Some(targets.collect()),
        };
        async move { call(|| update_model(id.clone(), changes.clone())).await }
    });
    Effect::new(move |_| match save.value().get() {
        Some(Ok(_)) => {
            close.run(());
            refresh.run(());
        }
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    view! {
        <div class="edit-panel" role="group" aria-label=format!("Edit {}", model.name)>
            <ErrorNotice error=error />
            <div class="grid-form">
                <label for="edit-model-name">"Name clients use"</label>
                <input id="edit-model-name" bind:value=name />
                <TargetRows targets upstreams=listed(upstreams) />
            </div>
            <div class="actions">
                <button type="button" class="button primary" disabled=move || save.pending().get()
                    on:click=move |_| { save.dispatch(()); }>"Save"</button>
                <button type="button" class="button subtle" on:click=move |_| close.run(())>"Cancel"</button>
            </div>
        </div>
    }
}
