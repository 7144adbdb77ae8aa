use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{AppError, types::KeyInfo};

/// `POST /api/keys/list` `{user_id?, limit?, offset?}`: the caller's keys, oldest first;
/// administrators see everyone's, or one user's with `user_id`. At most `limit` (default and
/// most 1000) from `offset`.
#[server(prefix = "/api", endpoint = "keys/list", input = Json, client = crate::client::Gateway)]
pub async fn list_keys(
    user_id: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
) -> Result<Vec<KeyInfo>, AppError> {
    use crate::server::{api, keys::manage};
    api::run(|call| async move {
        let user = call.user().await?;
        let page = manage::Page::new(limit, offset);
        manage::list(&call.services, &user, user_id.as_deref(), page).await
    })
    .await
}
