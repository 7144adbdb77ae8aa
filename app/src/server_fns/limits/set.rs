use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{
    AppError,
    types::{LimitHolder, Limits, LimitsView},
};

/// `POST /api/limits/set` `{holder, id, limits: {requests_per_minute, tokens_per_minute,
/// tokens_per_day, tokens_per_month, cost_per_month_micros}}`: replaces them all (`null` or
/// absent: unlimited). Users' limits need an administrator; a key's owner may set the key's.
#[server(prefix = "/api", endpoint = "limits/set", input = Json, client = crate::client::Gateway)]
pub async fn set_limits(
    holder: LimitHolder,
    id: String,
    limits: Limits,
) -> Result<LimitsView, AppError> {
    use crate::server::{api, limits::manage};
    api::run(|call| async move {
        let user = call.user().await?;
        manage::set(&call.services, &user, holder, &id, limits).await
    })
    .await
}
