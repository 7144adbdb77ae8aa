//! Picking a time range: the last day, week, month or quarter.

use chrono::{DateTime, Duration, Utc};
use leptos::prelude::*;

/// Days back from now; `None` when the choice is not understood.
pub fn since(days: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    days.parse::<i64>().ok().map(|d| now - Duration::days(d))
}

#[component]
pub fn RangePicker(days: RwSignal<String>) -> impl IntoView {
    view! {
        <label class="inline">
            "Period "
            <select on:change=move |ev| days.set(event_target_value(&ev)) prop:value=move || days.get()>
                <option value="1">"Last 24 hours"</option>
                <option value="7">"Last 7 days"</option>
                <option value="30">"Last 30 days"</option>
                <option value="90">"Last 90 days"</option>
            </select>
        </label>
    }
}
