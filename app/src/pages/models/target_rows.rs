//! The list of targets a model is served by, as form rows: upstream, the name it knows the model
//! by, weight, enabled. Values change as people type without redrawing the inputs; only adding a
//! row redraws.

use leptos::prelude::*;

use crate::types::{NewTarget, TargetInfo, UpstreamInfo};

#[derive(Clone)]
pub struct Row {
    upstream_id: String,
    upstream_model: String,
    weight: String,
    enabled: bool,
}

impl Default for Row {
    fn default() -> Self {
        Self {
            upstream_id: String::new(),
            upstream_model: String::new(),
            weight: "1".to_owned(),
            enabled: true,
        }
    }
}

impl From<&TargetInfo> for Row {
    fn from(t: &TargetInfo) -> Self {
        Self {
            upstream_id: t.upstream_id.clone(),
            upstream_model: t.upstream_model.clone(),
            weight: t.weight.to_string(),
            enabled: t.enabled,
        }
    }
}

/// The rows being edited and how many are drawn.
#[derive(Clone, Copy)]
pub struct Targets {
    rows: RwSignal<Vec<Row>>,
    shown: RwSignal<usize>,
}

impl Targets {
    pub fn new(rows: Vec<Row>) -> Self {
        let rows = if rows.is_empty() {
            vec![Row::default()]
        } else {
            rows
        };
        Self {
            shown: RwSignal::new(rows.len()),
            rows: RwSignal::new(rows),
        }
    }

    pub fn reset(self) {
        self.rows.set(vec![Row::default()]);
        self.shown.set(1);
    }

    /// The targets as the API takes them; rows without an upstream are left out.
    pub fn collect(self) -> Vec<NewTarget> {
        self.rows
            .get_untracked()
            .into_iter()
            .filter(|r| !r.upstream_id.is_empty())
            .map(|r| NewTarget {
                upstream_id: r.upstream_id,
                upstream_model: Some(r.upstream_model.trim().to_owned()).filter(|m| !m.is_empty()),
                weight: r.weight.trim().parse().ok(),
                enabled: Some(r.enabled),
            })
            .collect()
    }
}

#[component]
pub fn TargetRows(
    targets: Targets,
    #[prop(into)] upstreams: Signal<Vec<UpstreamInfo>>,
) -> impl IntoView {
    let Targets { rows, shown } = targets;
    view! {
        <fieldset>
            <legend>"Served by"</legend>
            {move || (0..shown.get()).map(|i| {
                let current = rows.with_untracked(|r| r.get(i).cloned()).unwrap_or_default();
                let set = move |f: fn(&mut Row, String)| move |ev| {
                    let v = event_target_value(&ev);
                    rows.update_untracked(|r| f(&mut r[i], v));
                };
                let chosen = current.upstream_id.clone();
                view! {
                    <div class="target-row">
                        <select aria-label=format!("Upstream {}", i + 1) on:change=set(|r, v| r.upstream_id = v)>
                            <option value="">"Choose an upstream"</option>
                            {move || upstreams.get().into_iter().map(|u| {
                                let selected = u.upstream_id == chosen;
                                view! { <option value=u.upstream_id.clone() selected=selected>{u.name.clone()}</option> }
                            }).collect_view()}
                        </select>
                        <input aria-label=format!("Name upstream {} knows it by", i + 1)
                            placeholder="its name there (default: the same)"
                            prop:value=current.upstream_model.clone()
                            on:input=set(|r, v| r.upstream_model = v) />
                        <input aria-label=format!("Weight {}", i + 1) type="number" min="1" max="1000"
                            prop:value=current.weight.clone()
                            on:input=set(|r, v| r.weight = v) />
                        <label class="check">
                            <input type="checkbox" prop:checked=current.enabled
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    rows.update_untracked(|r| r[i].enabled = on);
                                } />
                            "enabled"
                        </label>
                    </div>
                }
            }).collect_view()}
            <button type="button" class="button subtle"
                on:click=move |_| {
                    rows.update_untracked(|r| r.push(Row::default()));
                    shown.update(|n| *n += 1);
                }>
                "Add another upstream"
            </button>
        </fieldset>
    }
}
