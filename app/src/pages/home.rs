use leptos::prelude::*;

use crate::server_fns::get_status;

/// The start page: says what this is and whether the gateway is healthy.
#[component]
pub fn Home() -> impl IntoView {
    // Effects run only in the browser, so this flips once the WASM client has taken over.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));

    let check = Action::new(|_: &()| get_status());
    let status_line = move || match check.value().get() {
        None if check.pending().get() => "Checking…".to_owned(),
        None => "Not checked yet.".to_owned(),
        Some(Ok(s)) if s.ready => format!("Portcullis {} is ready.", s.version),
        Some(Ok(s)) => format!(
            "Portcullis {} is running but its database is not ready.",
            s.version
        ),
        Some(Err(e)) => format!("The gateway did not answer: {e}"),
    };

    view! {
        <section class="card" id="status" data-hydrated=move || hydrated.get().to_string()>
            <h1>"Portcullis"</h1>
            <p class="lead">
                "One front door for your inference servers: accounts, API keys and per-model permissions in front of an OpenAI-compatible API."
            </p>
            <div class="status-row">
                <button
                    id="check-status"
                    class="button"
                    on:click=move |_| {
                        check.dispatch(());
                    }
                    disabled=move || !hydrated.get() || check.pending().get()
                >
                    "Check gateway status"
                </button>
                <output id="status-result" aria-live="polite">
                    {status_line}
                </output>
            </div>
        </section>
    }
}
