//! Shows, and where the viewer may, edits the limits of a user or an API key, with what has
//! been used of the daily and monthly ones.

use leptos::prelude::*;

use crate::{
    AppError,
    client::call,
    components::{
        ErrorNotice, Loading, SuccessNotice, describe,
        format::{count, money, parse_count, parse_money},
    },
    server_fns::limits::{get_limits, set_limits},
    types::{LimitHolder, Limits, LimitsView},
};

/// The form's text fields, as typed.
#[derive(Clone, Copy)]
struct Fields {
    rpm: RwSignal<String>,
    tpm: RwSignal<String>,
    tpd: RwSignal<String>,
    tpmo: RwSignal<String>,
    budget: RwSignal<String>,
}

impl Fields {
    fn new() -> Self {
        Self {
            rpm: RwSignal::new(String::new()),
            tpm: RwSignal::new(String::new()),
            tpd: RwSignal::new(String::new()),
            tpmo: RwSignal::new(String::new()),
            budget: RwSignal::new(String::new()),
        }
    }

    fn show(&self, l: &Limits) {
        let n = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
        self.rpm.set(n(l.requests_per_minute));
        self.tpm.set(n(l.tokens_per_minute));
        self.tpd.set(n(l.tokens_per_day));
        self.tpmo.set(n(l.tokens_per_month));
        self.budget
            .set(l.cost_per_month_micros.map(money).unwrap_or_default());
    }

    /// The limits as typed, or what is wrong with them, field by field.
    fn read(&self) -> Result<Limits, AppError> {
        let field =
            |name: &str, r: Result<Option<i64>, String>| r.map_err(|m| AppError::invalid(name, m));
        Ok(Limits {
            requests_per_minute: field(
                "requests_per_minute",
                parse_count(&self.rpm.get_untracked()),
            )?,
            tokens_per_minute: field("tokens_per_minute", parse_count(&self.tpm.get_untracked()))?,
            tokens_per_day: field("tokens_per_day", parse_count(&self.tpd.get_untracked()))?,
            tokens_per_month: field("tokens_per_month", parse_count(&self.tpmo.get_untracked()))?,
            cost_per_month_micros: field(
                "monthly_budget",
                parse_money(&self.budget.get_untracked()),
            )?,
        })
    }
}

#[component]
pub fn LimitsEditor(
    holder: LimitHolder,
    #[prop(into)] id: String,
    /// False: shown read-only (a user looking at their own limits).
    editable: bool,
) -> impl IntoView {
    let fields = Fields::new();
    let error = RwSignal::new(None::<AppError>);
    let saved = RwSignal::new(None::<String>);
    let current = RwSignal::new(None::<LimitsView>);
    let load_id = id.clone();
    let loaded = LocalResource::new(move || {
        let id = load_id.clone();
        async move { call(|| get_limits(holder, id.clone())).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(v)) = loaded.get() {
            fields.show(&v.limits);
            current.set(Some(v));
        }
    });
    let save = Action::new_local(move |_: &()| {
        let id = id.clone();
        let limits = fields.read();
        async move {
            let limits = limits?;
            call(|| set_limits(holder, id.clone(), limits)).await
        }
    });
    Effect::new(move |_| match save.value().get() {
        Some(Ok(v)) => {
            error.set(None);
            fields.show(&v.limits);
            current.set(Some(v));
            saved.set(Some(
                "Limits saved; they apply from the next request.".to_owned(),
            ));
        }
        Some(Err(e)) => {
            saved.set(None);
            error.set(Some(e));
        }
        None => {}
    });
    let prefix = match holder {
        LimitHolder::User => "user-limit",
        LimitHolder::Key => "key-limit",
    };
    let input = move |name: &'static str,
                      label: &'static str,
                      value: RwSignal<String>,
                      hint: &'static str| {
        let input_id = format!("{prefix}-{name}");
        view! {
            <label for=input_id.clone()>{label}</label>
            <div>
                <input id=input_id type="text" inputmode="decimal" placeholder="no limit"
                    disabled=!editable bind:value=value />
                <p class="hint">{hint}</p>
            </div>
        }
    };
    view! {
        <fieldset class="limits">
            <legend>{match holder {
                LimitHolder::User => "Limits for this user (all their keys together)",
                LimitHolder::Key => "Limits for this key (its owner's limits apply too)",
            }}</legend>
            {move || match loaded.get() {
                None => view! { <Loading /> }.into_any(),
                Some(Err(e)) => view! { <p class="notice error" role="alert">{describe(&e)}</p> }.into_any(),
                Some(Ok(_)) => view! {
                    <div class="grid-form">
                        {input("rpm", "Requests per minute", fields.rpm, "")}
                        {input("tpm", "Tokens per minute", fields.tpm, "")}
                        {input("tpd", "Tokens per day", fields.tpd, "UTC days")}
                        {input("tpmo", "Tokens per month", fields.tpmo, "UTC calendar months")}
                        {input("budget", "Monthly budget", fields.budget, "in your currency, from the models' prices")}
                    </div>
                    {move || current.get().map(|v| view! {
                        <p class="hint" data-testid="limits-used">{format!(
                            "Used: {} tokens today, {} this month, costing {} this month.",
                            count(v.tokens_today), count(v.tokens_this_month), money(v.cost_this_month_micros),
                        )}</p>
                    })}
                }.into_any(),
            }}
            <ErrorNotice error=error />
            <SuccessNotice message=saved />
            <Show when=move || editable>
                <div class="actions">
                    <button type="button" class="button" disabled=move || save.pending().get()
                        on:click=move |_| { saved.set(None); save.dispatch(()); }>"Save limits"</button>
                </div>
            </Show>
        </fieldset>
    }
}
