//! Copies a value to the clipboard, and says so.

use leptos::prelude::*;

#[component]
pub fn CopyButton(
    #[prop(into)] text: Signal<String>,
    #[prop(optional, into)] label: Option<String>,
) -> impl IntoView {
    let copied = RwSignal::new(false);
    let label = label.unwrap_or_else(|| "Copy".to_owned());
    let copy = move |_| {
        #[cfg(not(feature = "hydrate"))]
        let _ = text;
        #[cfg(feature = "hydrate")]
        if let Some(window) = web_sys::window() {
            let promise = window
                .navigator()
                .clipboard()
                .write_text(&text.get_untracked());
            leptos::task::spawn_local(async move {
                if wasm_bindgen_futures::JsFuture::from(promise).await.is_ok() {
                    copied.set(true);
                }
            });
        }
    };
    view! {
        <button type="button" class="button subtle" on:click=copy>
            {move || if copied.get() { "Copied".to_owned() } else { label.clone() }}
        </button>
    }
}
