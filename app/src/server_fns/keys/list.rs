use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{AppError, types::KeyInfo};

/// `POST /api/keys/list` `{user_id?}`: the caller's keys; administrators see everyone's, or one
/// user's with `user_id`.
#[server(prefix = "/api", endpoint = "keys/list", input = Json, client = crate::client::Gateway)]
pub async fn list_keys(user_id: Option<String>) -> Result<Vec<KeyInfo>, AppError> {
    use crate::server::{api, keys::manage};
    api::run(|call| async move {
        let user = call.user().await?;
        manage::list(&call.services, &user, user_id.as_deref()).await
    })
    .await
}
