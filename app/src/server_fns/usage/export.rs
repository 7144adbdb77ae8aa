use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{AppError, types::UsageFilter};

/// `POST /api/usage/export` `{user_id?, api_key_id?, model?, since?, until?}`: the matching
/// requests as CSV text (at most 100,000 rows), newest first.
#[server(prefix = "/api", endpoint = "usage/export", input = Json, client = crate::client::Gateway)]
pub async fn usage_export(#[server(flatten)] filter: UsageFilter) -> Result<String, AppError> {
    use crate::server::{api, usage::report};
    api::run(|call| async move {
        let user = call.user().await?;
        report::export(&call.services, &user, &filter).await
    })
    .await
}
