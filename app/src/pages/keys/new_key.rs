use chrono::{NaiveDate, TimeZone, Utc};
use leptos::{ev::SubmitEvent, prelude::*};

use crate::{
    AppError,
    client::call,
    components::{CopyButton, ErrorNotice},
    server_fns::{keys::create_key, models::available_models, users::get_user_permissions},
    session::use_session,
    types::{KeyWithSecret, UserInfo},
};

/// The form that creates a key, and the new key, shown once.
#[component]
pub fn NewKey(users: LocalResource<Vec<UserInfo>>, refresh: Callback<()>) -> impl IntoView {
    let session = use_session();
    let name = RwSignal::new(String::new());
    // "" is the caller.
    let owner = RwSignal::new(String::new());
    let chosen = RwSignal::new(Vec::<String>::new());
    let expiry = RwSignal::new(String::new());
    let cidrs = RwSignal::new(String::new());
    let error = RwSignal::new(None::<AppError>);
    let created = RwSignal::new(None::<KeyWithSecret>);

    // The picker offers what the key's owner may use.
    let offered = LocalResource::new(move || {
        let owner = owner.get();
        async move {
            let mine = call(available_models)
                .await?
                .into_iter()
                .map(|m| m.name)
                .collect::<Vec<_>>();
            if owner.is_empty() {
                return Ok(mine);
            }
            let p = call(|| get_user_permissions(owner.clone())).await?;
            Ok::<_, AppError>(if p.all_models {
                mine
            } else {
                mine.into_iter().filter(|m| p.models.contains(m)).collect()
            })
        }
    });

    let submit = Action::new_local(move |_: &()| {
        let name = name.get_untracked();
        let owner = Some(owner.get_untracked()).filter(|o| !o.is_empty());
        let models = chosen.get_untracked();
        let ranges: Vec<String> = cidrs
            .get_untracked()
            .split([',', ' ', '\n'])
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect();
        let expires_at = NaiveDate::parse_from_str(&expiry.get_untracked(), "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(23, 59, 59))
            .map(|t| Utc.from_utc_datetime(&t));
        async move {
            call(|| {
                create_key(
                    name.clone(),
                    owner.clone(),
                    Some(models.clone()),
                    expires_at,
                    Some(ranges.clone()),
                )
            })
            .await
        }
    });
    Effect::new(move |_| match submit.value().get() {
        Some(Ok(k)) => {
            error.set(None);
            created.set(Some(k));
            name.set(String::new());
            chosen.set(Vec::new());
            refresh.run(());
        }
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        submit.dispatch(());
    };
    let toggle = move |model: String, on: bool| {
        chosen.update(|c| {
            c.retain(|m| *m != model);
            if on {
                c.push(model);
            }
        });
    };

    view! {
        <section class="card">
            <h2>"Create a key"</h2>
            {move || created.get().map(|k| view! {
                <div class="secret" role="status" data-testid="new-key">
                    <p>
                        {format!("Your new key `{}`. Copy it now: ", k.key.name)}
                    </p>
                    <code class="secret-value">{k.secret.clone()}</code>
                    <CopyButton text=k.secret.clone() />
                    <button type="button" class="button subtle" on:click=move |_| created.set(None)>"Done"</button>
                </div>
            })}
            <ErrorNotice error=error />
            <form on:submit=on_submit class="grid-form">
                <label for="key-name">"Name"</label>
                <input id="key-name" required maxlength="100" placeholder="e.g. ci-pipeline" bind:value=name />
                <Show when=move || session.is_admin()>
                    <label for="key-owner">"Owner"</label>
                    <select id="key-owner" on:change=move |ev| { owner.set(event_target_value(&ev)); chosen.set(Vec::new()); }>
                        <option value="">"Me"</option>
                        {move || users.get().unwrap_or_default().into_iter().map(|u| view! {
                            <option value=u.user_id.clone()>{u.username.clone()}</option>
                        }).collect_view()}
                    </select>
                </Show>
                <fieldset class="models">
                    <legend>"Models"</legend>
                    <p class="hint">"None ticked: every model the owner may use, now and later."</p>
                    {move || match offered.get() {
                        None => view! { <p class="hint">"Loading models…"</p> }.into_any(),
                        Some(Err(_)) => view! { <p class="hint">"The model list is not available."</p> }.into_any(),
                        Some(Ok(list)) if list.is_empty() => view! { <p class="hint">"No models are available to this owner."</p> }.into_any(),
                        Some(Ok(list)) => list.into_iter().map(|m| {
                            let id = format!("model-{m}");
                            let (m1, m2) = (m.clone(), m.clone());
                            view! {
                                <label class="check">
                                    <input type="checkbox" id=id
                                        prop:checked=move || chosen.get().contains(&m1)
                                        on:change=move |ev| toggle(m2.clone(), event_target_checked(&ev)) />
                                    {m}
                                </label>
                            }
                        }).collect_view().into_any(),
                    }}
                </fieldset>
                <label for="key-expiry">"Expires"</label>
                <input id="key-expiry" type="date" bind:value=expiry />
                <p class="hint">"Empty: never. The key stops working at the end of that day (UTC)."</p>
                <label for="key-cidrs">"Address ranges"</label>
                <input id="key-cidrs" placeholder="e.g. 10.0.0.0/8, 192.168.1.7" bind:value=cidrs />
                <p class="hint">"Empty: any address."</p>
                <button type="submit" class="button primary" disabled=move || submit.pending().get()>
                    {move || if submit.pending().get() { "Creating…" } else { "Create key" }}
                </button>
            </form>
        </section>
    }
}
