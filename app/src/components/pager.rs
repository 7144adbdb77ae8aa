//! Paging through a long list: back, where we are, forward.

use leptos::prelude::*;

#[component]
pub fn Pager(
    offset: RwSignal<i64>,
    page: i64,
    total: i64,
    /// The labels of the two buttons, e.g. "Previous" and "Next", or "Newer" and "Older".
    back: &'static str,
    forward: &'static str,
) -> impl IntoView {
    view! {
        <nav class="pager" aria-label="Pages">
            <button type="button" class="button subtle" disabled=move || offset.get() == 0
                on:click=move |_| offset.update(|o| *o = (*o - page).max(0))>{back}</button>
            <span>{move || format!("{}–{} of {total}", offset.get() + 1, (offset.get() + page).min(total))}</span>
            <button type="button" class="button subtle" disabled=move || { offset.get() + page >= total }
                on:click=move |_| offset.update(|o| *o += page)>{forward}</button>
        </nav>
    }
}
