use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{AppError, types::KeyWithSecret};

/// `POST /api/keys/rotate` `{api_key_id, grace_seconds?}`: a new secret for the same key; the old
/// one keeps working for `grace_seconds` (default 0, at most 7 days).
#[server(prefix = "/api", endpoint = "keys/rotate", input = Json, client = crate::client::Gateway)]
pub async fn rotate_key(
    api_key_id: String,
    grace_seconds: Option<i64>,
) -> Result<KeyWithSecret, AppError> {
    use crate::server::{api, dates, keys::manage};
    api::run(|call| async move {
        let user = call.user().await?;
        let grace = dates::seconds(
            "grace_seconds",
            grace_seconds.unwrap_or(0),
            manage::MAX_GRACE,
        )?;
        manage::rotate(&call.services, &user, &api_key_id, grace).await
    })
    .await
}
