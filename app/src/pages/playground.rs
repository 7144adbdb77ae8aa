//! The playground: chat with one of your models through `/v1`, exactly as a program would,
//! with a key you choose; the answer streams in token by token.

mod stream;

use leptos::{ev::SubmitEvent, prelude::*};

use crate::{
    AppError,
    client::call,
    components::{ErrorNotice, Protected},
    server_fns::{
        keys::{list_keys, reveal_key},
        models::available_models,
    },
    session::use_session,
};

#[derive(Clone, PartialEq)]
struct Turn {
    role: &'static str,
    content: String,
}

#[component]
pub fn Playground() -> impl IntoView {
    view! {
        <Protected>
            <PlaygroundBody />
        </Protected>
    }
}

#[component]
fn PlaygroundBody() -> impl IntoView {
    let session = use_session();
    let models = LocalResource::new(|| async { call(available_models).await.unwrap_or_default() });
    let keys = LocalResource::new(move || async move {
        let me = session.me().map(|m| m.user.user_id);
        call(|| list_keys(me.clone(), None, None))
            .await
            .map(|k| {
                k.into_iter()
                    .filter(|k| k.enabled && k.revoked_at.is_none())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    });
    let model = RwSignal::new(String::new());
    // Held in memory only, for this page.
    let secret = RwSignal::new(String::new());
    let prompt = RwSignal::new(String::new());
    let turns = RwSignal::new(Vec::<Turn>::new());
    let answer = RwSignal::new(String::new());
    let streaming = RwSignal::new(false);
    let error = RwSignal::new(None::<AppError>);

    let use_key = move |id: String| {
        if id.is_empty() {
            return;
        }
        leptos::task::spawn_local(async move {
            match call(|| reveal_key(id.clone())).await {
                Ok(k) => {
                    error.set(None);
                    secret.set(k.secret);
                }
                Err(e) => error.set(Some(AppError::Refused(format!(
                    "{} Paste the key instead.",
                    crate::components::describe(&e)
                )))),
            }
        });
    };
    let send = move |ev: SubmitEvent| {
        ev.prevent_default();
        let chosen = model.get_untracked();
        let chosen = if chosen.is_empty() {
            models
                .get_untracked()
                .and_then(|m| m.first().map(|m| m.name.clone()))
                .unwrap_or_default()
        } else {
            chosen
        };
        let text = prompt.get_untracked();
        if text.trim().is_empty() {
            return;
        }
        if secret.get_untracked().is_empty() {
            error.set(Some(AppError::invalid(
                "key",
                "choose one of your keys, or paste one",
            )));
            return;
        }
        error.set(None);
        turns.update(|t| {
            t.push(Turn {
                role: "user",
                content: text,
            })
        });
        prompt.set(String::new());
        answer.set(String::new());
        streaming.set(true);
        let history: Vec<(String, String)> = turns
            .get_untracked()
            .into_iter()
            .map(|t| (t.role.to_owned(), t.content))
            .collect();
        let key = secret.get_untracked();
        leptos::task::spawn_local(async move {
            let result = stream::chat(&key, &chosen, &history, move |delta| {
                answer.update(|a| a.push_str(&delta))
            })
            .await;
            streaming.set(false);
            let text = answer.get_untracked();
            if !text.is_empty() {
                turns.update(|t| {
                    t.push(Turn {
                        role: "assistant",
                        content: text,
                    })
                });
                answer.set(String::new());
            }
            if let Err(message) = result {
                error.set(Some(AppError::Refused(message)));
            }
        });
    };

    view! {
        <section class="card">
            <h1>"Playground"</h1>
            <div class="filters">
                <label class="inline">"Model "
                    <select aria-label="Model" on:change=move |ev| model.set(event_target_value(&ev))>
                        {move || models.get().unwrap_or_default().into_iter().map(|m| view! {
                            <option value=m.name.clone()>{m.name.clone()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label class="inline">"Key "
                    <select aria-label="Key" on:change=move |ev| use_key(event_target_value(&ev))>
                        <option value="">"Choose one of your keys"</option>
                        {move || keys.get().unwrap_or_default().into_iter().map(|k| view! {
                            <option value=k.api_key_id.clone()>{k.name.clone()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label class="inline">"or paste one "
                    <input type="password" aria-label="API key" placeholder="sk-pc-…" autocomplete="off" bind:value=secret />
                </label>
            </div>
            <ErrorNotice error=error />
            <div class="chat" aria-live="polite" data-testid="chat">
                {move || turns.get().into_iter().map(|t| view! {
                    <div class=format!("turn {}", t.role)><span class="who">{if t.role == "user" { "You" } else { "Model" }}</span><p>{t.content}</p></div>
                }).collect_view()}
                <Show when=move || streaming.get()>
                    <div class="turn assistant streaming"><span class="who">"Model"</span><p data-testid="streaming">{move || answer.get()}</p></div>
                </Show>
            </div>
            <form on:submit=send class="chat-form">
                <label for="prompt" class="visually-hidden">"Message"</label>
                <textarea id="prompt" rows="3" placeholder="Say something…" bind:value=prompt></textarea>
                <div class="actions">
                    <button type="submit" class="button primary" disabled=move || streaming.get()>
                        {move || if streaming.get() { "Answering…" } else { "Send" }}
                    </button>
                    <button type="button" class="button subtle" on:click=move |_| turns.set(Vec::new())>"Clear"</button>
                </div>
            </form>
        </section>
    }
}
