use leptos::{ev::SubmitEvent, prelude::*};

use crate::{
    AppError,
    client::call,
    components::{ErrorNotice, SuccessNotice},
    server_fns::models::create_model,
    types::{NewModel, NewTarget, UpstreamInfo},
};

#[derive(Clone, Default)]
struct Row {
    upstream_id: String,
    upstream_model: String,
    weight: String,
}

/// Maps a public model name onto one or more upstreams.
#[component]
pub fn ModelForm(
    upstreams: LocalResource<Result<Vec<UpstreamInfo>, AppError>>,
    refresh: Callback<()>,
) -> impl IntoView {
    let name = RwSignal::new(String::new());
    // The values change as people type without redrawing the inputs; only adding a row redraws.
    let rows = RwSignal::new(vec![Row {
        weight: "1".into(),
        ..Row::default()
    }]);
    let shown = RwSignal::new(1_usize);
    let error = RwSignal::new(None::<AppError>);
    let saved = RwSignal::new(None::<String>);
    let submit = Action::new_local(move |_: &()| {
        let model = NewModel {
            name: name.get_untracked().trim().to_owned(),
            enabled: Some(true),
            targets: rows
                .get_untracked()
                .into_iter()
                .map(|r| NewTarget {
                    upstream_id: r.upstream_id,
                    upstream_model: Some(r.upstream_model.trim().to_owned())
                        .filter(|m| !m.is_empty()),
                    weight: r.weight.trim().parse().ok(),
                    enabled: Some(true),
                })
                .collect(),
        };
        async move { call(|| create_model(model.clone())).await }
    });
    Effect::new(move |_| match submit.value().get() {
        Some(Ok(m)) => {
            error.set(None);
            saved.set(Some(format!("`{}` is served now.", m.name)));
            name.set(String::new());
            rows.set(vec![Row {
                weight: "1".into(),
                ..Row::default()
            }]);
            shown.set(1);
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
    let options = move || match upstreams.get() {
        Some(Ok(list)) => list,
        _ => Vec::new(),
    };
    view! {
        <section class="card">
            <h2>"Add a model"</h2>
            <ErrorNotice error=error />
            <SuccessNotice message=saved />
            <form on:submit=on_submit class="grid-form">
                <label for="model-name">"Name clients use"</label>
                <input id="model-name" required placeholder="e.g. llama-3.1-8b" bind:value=name />
                <fieldset>
                    <legend>"Served by"</legend>
                    {move || (0..shown.get()).map(|i| {
                        let field = move |f: fn(&mut Row) -> &mut String| move |ev| {
                            let v = event_target_value(&ev);
                            rows.update_untracked(|r| *f(&mut r[i]) = v);
                        };
                        view! {
                            <div class="target-row">
                                <select aria-label=format!("Upstream {}", i + 1) required on:change=field(|r| &mut r.upstream_id)>
                                    <option value="">"Choose an upstream"</option>
                                    {options().into_iter().map(|u| view! { <option value=u.upstream_id.clone()>{u.name.clone()}</option> }).collect_view()}
                                </select>
                                <input aria-label=format!("Name upstream {} knows it by", i + 1) placeholder="its name there (default: the same)"
                                    on:input=field(|r| &mut r.upstream_model) />
                                <input aria-label=format!("Weight {}", i + 1) type="number" min="1" max="1000" value="1"
                                    on:input=field(|r| &mut r.weight) />
                            </div>
                        }
                    }).collect_view()}
                    <button type="button" class="button subtle"
                        on:click=move |_| {
                            rows.update_untracked(|r| r.push(Row { weight: "1".into(), ..Row::default() }));
                            shown.update(|n| *n += 1);
                        }>
                        "Add another upstream"
                    </button>
                </fieldset>
                <button type="submit" class="button primary" disabled=move || submit.pending().get()>"Add model"</button>
            </form>
        </section>
    }
}
