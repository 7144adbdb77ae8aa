//! A destructive action asks first, inline: the button becomes "are you sure?" with the real
//! action and a way back, both reachable by keyboard.

use leptos::prelude::*;

#[component]
pub fn ConfirmButton(
    /// What the first button says, e.g. "Delete".
    #[prop(into)]
    label: String,
    /// The question, e.g. "Delete the key `ci`? This cannot be undone."
    #[prop(into)]
    question: String,
    /// Runs once confirmed.
    on_confirm: impl Fn() + Send + Sync + 'static,
    #[prop(optional, into)] disabled: Signal<bool>,
) -> impl IntoView {
    let asking = RwSignal::new(false);
    let confirm_label = label.clone();
    let on_confirm = std::sync::Arc::new(on_confirm);
    view! {
        <Show
            when=move || asking.get()
            fallback=move || {
                let label = label.clone();
                view! {
                    <button
                        type="button"
                        class="button danger subtle"
                        disabled=move || disabled.get()
                        on:click=move |_| asking.set(true)
                    >
                        {label}
                    </button>
                }
            }
        >
            <span class="confirm" role="group" aria-label="Confirm">
                <span class="confirm-question">{question.clone()}</span>
                <button
                    type="button"
                    class="button danger"
                    on:click={
                        let on_confirm = on_confirm.clone();
                        move |_| {
                            asking.set(false);
                            on_confirm();
                        }
                    }
                >
                    {format!("Yes, {}", confirm_label.to_lowercase())}
                </button>
                <button type="button" class="button subtle" on:click=move |_| asking.set(false)>
                    "Cancel"
                </button>
            </span>
        </Show>
    }
}
