use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{AppError, types::ModelInfo};

/// `POST /api/models/set_prices` `{model_id, input_price_micros, output_price_micros,
/// unit_price_micros, image_prices}`: what a million prompt and completion tokens of the model cost, and one
/// unit of a non-token endpoint (an audio second, 1,000 characters spoken, an image, a search
/// unit), in micro-units of the deployment's currency (`null`: unpriced). Usage is priced, and
/// cost budgets charged, from then on.
#[server(prefix = "/api", endpoint = "models/set_prices", input = Json, client = crate::client::Gateway)]
pub async fn set_model_prices(
    model_id: String,
    input_price_micros: Option<i64>,
    output_price_micros: Option<i64>,
    unit_price_micros: Option<i64>,
    image_prices: Option<std::collections::BTreeMap<String, i64>>,
) -> Result<ModelInfo, AppError> {
    use crate::server::{api, models};
    api::run(|call| async move {
        let user = call.user().await?;
        models::set_prices(
            &call.services,
            user.require_admin()?,
            &model_id,
            input_price_micros,
            output_price_micros,
            unit_price_micros,
            &image_prices.unwrap_or_default(),
        )
        .await
    })
    .await
}
