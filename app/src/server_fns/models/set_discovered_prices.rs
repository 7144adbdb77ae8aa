use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::AppError;

/// `POST /api/models/set_discovered_prices` `{name, input_price_micros, output_price_micros,
/// unit_price_micros, image_prices}`: prices a model that exists only because an upstream lists it, per
/// million prompt and completion tokens and per unit (audio second, 1,000 characters, image,
/// search unit) in micro-units (`null` for all: unpriced again). A model without a price for
/// what a request uses is refused to keys under a spending limit.
#[server(prefix = "/api", endpoint = "models/set_discovered_prices", input = Json, client = crate::client::Gateway)]
pub async fn set_discovered_model_prices(
    name: String,
    input_price_micros: Option<i64>,
    output_price_micros: Option<i64>,
    unit_price_micros: Option<i64>,
    image_prices: Option<std::collections::BTreeMap<String, i64>>,
) -> Result<(), AppError> {
    use crate::server::{api, models};
    api::run(|call| async move {
        let user = call.user().await?;
        models::set_discovered_prices(
            &call.services,
            user.require_admin()?,
            &name,
            input_price_micros,
            output_price_micros,
            unit_price_micros,
            &image_prices.unwrap_or_default(),
        )
        .await
    })
    .await
}
