use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{
    AppError,
    types::{UsageFilter, UsagePage},
};

/// `POST /api/usage/events` `{user_id?, api_key_id?, model?, since?, until?, limit?, offset?}`:
/// single requests, newest first.
#[server(prefix = "/api", endpoint = "usage/events", input = Json, client = crate::client::Gateway)]
pub async fn usage_events(
    #[server(flatten)] filter: UsageFilter,
    limit: Option<i64>,
    offset: Option<i64>,
) -> Result<UsagePage, AppError> {
    use crate::server::{api, usage::report};
    api::run(|call| async move {
        let user = call.user().await?;
        report::events(&call.services, &user, &filter, limit, offset).await
    })
    .await
}
