//! A declared model's prices per million prompt and completion tokens, and per unit of a
//! non-token endpoint, which usage costs and monthly budgets are computed from.

use leptos::prelude::*;

use crate::{
    AppError,
    client::call,
    components::{
        ErrorNotice, SuccessNotice,
        format::{money, parse_money},
    },
    server_fns::models::set_model_prices,
    types::ModelInfo,
};

#[component]
pub fn ModelPrices(model: ModelInfo) -> impl IntoView {
    let id = model.model_id.clone().unwrap_or_default();
    let shown = |p: Option<i64>| p.map(money).unwrap_or_default();
    let input = RwSignal::new(shown(model.input_price_micros));
    let output = RwSignal::new(shown(model.output_price_micros));
    let unit = RwSignal::new(shown(model.unit_price_micros));
    let images = RwSignal::new(
        model
            .image_prices
            .iter()
            .map(|(k, v)| format!("{k}={}", money(*v)))
            .collect::<Vec<_>>()
            .join(" "),
    );
    let error = RwSignal::new(None::<AppError>);
    let saved = RwSignal::new(None::<String>);
    let save = Action::new_local(move |_: &()| {
        let id = id.clone();
        let prices = parse_money(&input.get_untracked())
            .map_err(|m| AppError::invalid("input_price", m))
            .and_then(|i| {
                parse_money(&output.get_untracked())
                    .map_err(|m| AppError::invalid("output_price", m))
                    .map(|o| (i, o))
            })
            .and_then(|(i, o)| {
                parse_money(&unit.get_untracked())
                    .map_err(|m| AppError::invalid("unit_price", m))
                    .map(|u| (i, o, u))
            })
            .and_then(|(i, o, u)| {
                parse_image_prices(&images.get_untracked())
                    .map_err(|m| AppError::invalid("image_prices", m))
                    .map(|p| (i, o, u, p))
            });
        async move {
            let (i, o, u, p) = prices?;
            call(|| set_model_prices(id.clone(), i, o, u, Some(p.clone()))).await
        }
    });
    Effect::new(move |_| match save.value().get() {
        Some(Ok(_)) => {
            error.set(None);
            saved.set(Some("Prices saved.".to_owned()));
        }
        Some(Err(e)) => {
            saved.set(None);
            error.set(Some(e));
        }
        None => {}
    });
    let name = model.name.clone();
    view! {
        <div class="prices" role="group" aria-label=format!("Prices of {name}")>
            <label>"Prompt, per 1M tokens"
                <input type="text" inputmode="decimal" placeholder="unpriced" bind:value=input />
            </label>
            <label>"Completion, per 1M tokens"
                <input type="text" inputmode="decimal" placeholder="unpriced" bind:value=output />
            </label>
            <label title="Per audio second transcribed, 1,000 characters spoken, image made or rerank search unit, as the model's endpoint measures it">
                "Per unit (audio second, 1K characters, image, search)"
                <input type="text" inputmode="decimal" placeholder="unpriced" bind:value=unit />
            </label>
            <label title="Per image of a quality, a size or both, as the answer (or request) names them; others cost the unit price">
                "Per image by quality/size"
                <input type="text" placeholder="high/1024x1536=0.25 1024x1024=0.04" bind:value=images />
            </label>
            <button type="button" class="button subtle" disabled=move || save.pending().get()
                on:click=move |_| { saved.set(None); save.dispatch(()); }>"Save prices"</button>
        </div>
        <ErrorNotice error=error />
        <SuccessNotice message=saved />
    }
}

/// `key=price` pairs separated by spaces or commas, prices in the currency.
fn parse_image_prices(text: &str) -> Result<std::collections::BTreeMap<String, i64>, String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (key, price) = pair
                .split_once('=')
                .ok_or_else(|| format!("`{pair}` is not quality/size=price"))?;
            let micros = parse_money(price)?.ok_or_else(|| format!("`{pair}` has no price"))?;
            Ok((key.trim().to_owned(), micros))
        })
        .collect()
}
