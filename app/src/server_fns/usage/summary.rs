use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{
    AppError,
    types::{UsageFilter, UsageSummary},
};

/// `POST /api/usage/summary` `{user_id?, api_key_id?, model?, since?, until?}`: requests and
/// tokens over time (by hour up to two days, else by day) and the top models.
#[server(prefix = "/api", endpoint = "usage/summary", input = Json, client = crate::client::Gateway)]
pub async fn get_usage_summary(
    #[server(flatten)] filter: UsageFilter,
) -> Result<UsageSummary, AppError> {
    use crate::server::{api, usage::report};
    api::run(|call| async move {
        let user = call.user().await?;
        report::summary(&call.services, &user, &filter).await
    })
    .await
}
