use leptos::prelude::*;

use crate::{
    AppError,
    client::call,
    components::{ConfirmButton, CopyButton, LimitsEditor, describe, format::when_or},
    server_fns::keys::{delete_key, reveal_key, revoke_key, rotate_key, update_key},
    types::{KeyInfo, LimitHolder},
};

/// What a row is doing: nothing, or an action's outcome to show under it.
#[derive(Clone)]
enum Outcome {
    Secret { title: &'static str, secret: String },
    Failed(AppError),
}

#[component]
pub fn KeyRow(key: KeyInfo, show_owner: bool, refresh: Callback<()>) -> impl IntoView {
    let id = key.api_key_id.clone();
    let outcome = RwSignal::new(None::<Outcome>);
    let busy = RwSignal::new(false);
    let grace = RwSignal::new("0".to_owned());
    let limits_open = RwSignal::new(false);

    // Runs one action on this key; a secret it returns is shown once, under the row.
    let act = move |title: &'static str, id: String, what: &'static str| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = match what {
                "reveal" => call(|| reveal_key(id.clone()))
                    .await
                    .map(|k| Some(k.secret)),
                "rotate" => {
                    let g = grace.get_untracked().parse::<i64>().ok();
                    call(|| rotate_key(id.clone(), g))
                        .await
                        .map(|k| Some(k.secret))
                }
                "enable" | "disable" => {
                    call(|| update_key(id.clone(), None, Some(what == "enable"), None, None, None))
                        .await
                        .map(|_| None)
                }
                "revoke" => call(|| revoke_key(id.clone())).await.map(|_| None),
                _ => call(|| delete_key(id.clone())).await.map(|()| None),
            };
            busy.set(false);
            match result {
                Ok(Some(secret)) => outcome.set(Some(Outcome::Secret { title, secret })),
                Ok(None) => {
                    outcome.set(None);
                    refresh.run(());
                }
                Err(e) => outcome.set(Some(Outcome::Failed(e))),
            }
        });
    };

    let status = if key.revoked_at.is_some() {
        ("Revoked", "badge danger")
    } else if !key.enabled {
        ("Disabled", "badge muted")
    } else {
        ("Active", "badge ok")
    };
    let live = key.revoked_at.is_none();
    let name = key.name.clone();
    let models = if key.models.is_empty() {
        "All allowed".to_owned()
    } else {
        key.models.join(", ")
    };
    let columns = if show_owner { 8 } else { 7 };
    let (id1, id2, id3, id4, id5, id6) = (
        id.clone(),
        id.clone(),
        id.clone(),
        id.clone(),
        id.clone(),
        id,
    );
    let enabled = key.enabled;
    view! {
        <tr data-key-name=key.name.clone()>
            <th scope="row">{key.name.clone()}</th>
            <td><code>{key.display.clone()}</code></td>
            {show_owner.then(|| view! { <td>{key.owner.clone()}</td> })}
            <td>{models}</td>
            <td>{when_or(key.expires_at, "Never")}</td>
            <td>{when_or(key.last_used_at, "Never")}</td>
            <td>
                <span class=status.1>{status.0}</span>
                {key.managed_by_admin.then(|| view! {
                    " "
                    <span class="badge muted" title="An administrator set what this key may do; only an administrator can lift it">
                        "Managed"
                    </span>
                })}
            </td>
            <td class="row-actions">
                <Show when=move || live>
                    <button type="button" class="button subtle" aria-expanded=move || limits_open.get().to_string()
                        on:click=move |_| limits_open.update(|o| *o = !*o)>"Limits"</button>
                    <button type="button" class="button subtle" disabled=move || busy.get()
                        on:click={ let id = id1.clone(); move |_| act("The key", id.clone(), "reveal") }>
                        "Reveal"
                    </button>
                    <span class="rotate">
                        <select aria-label="Old secret keeps working for" on:change=move |ev| grace.set(event_target_value(&ev))>
                            <option value="0">"old secret stops now"</option>
                            <option value="3600">"old secret works 1 hour"</option>
                            <option value="86400">"old secret works 1 day"</option>
                        </select>
                        <button type="button" class="button subtle" disabled=move || busy.get()
                            on:click={ let id = id2.clone(); move |_| act("The new key", id.clone(), "rotate") }>
                            "Rotate"
                        </button>
                    </span>
                    <button type="button" class="button subtle" disabled=move || busy.get()
                        on:click={ let id = id3.clone(); move |_| act("", id.clone(), if enabled { "disable" } else { "enable" }) }>
                        {if enabled { "Disable" } else { "Enable" }}
                    </button>
                    <ConfirmButton
                        label="Revoke"
                        question=format!("Revoke `{name}` for good? Programs using it stop working.")
                        disabled=busy
                        on_confirm={ let id = id4.clone(); move || act("", id.clone(), "revoke") }
                    />
                </Show>
                <ConfirmButton
                    label="Delete"
                    question=format!("Delete `{}` and its record?", key.name)
                    disabled=busy
                    on_confirm={ let id = id5.clone(); move || act("", id.clone(), "delete") }
                />
            </td>
        </tr>
        {move || limits_open.get().then(|| view! {
            <tr class="row-detail">
                <td colspan=columns>
                    <LimitsEditor holder=LimitHolder::Key id=id6.clone() editable=true />
                </td>
            </tr>
        })}
        {move || outcome.get().map(|o| view! {
            <tr class="row-detail">
                <td colspan=columns>
                    {match o {
                        Outcome::Secret { title, secret } => view! {
                            <div class="secret" role="status">
                                <span>{format!("{title}, shown now only: ")}</span>
                                <code class="secret-value">{secret.clone()}</code>
                                <CopyButton text=secret.clone() />
                                <button type="button" class="button subtle" on:click=move |_| outcome.set(None)>"Hide"</button>
                            </div>
                        }.into_any(),
                        Outcome::Failed(e) => view! { <p class="notice error" role="alert">{describe(&e)}</p> }.into_any(),
                    }}
                </td>
            </tr>
        })}
    }
}
