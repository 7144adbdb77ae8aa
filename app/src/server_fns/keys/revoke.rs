use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{AppError, types::KeyInfo};

/// `POST /api/keys/revoke` `{api_key_id}`: revokes the key for good; the next request with it fails.
#[server(prefix = "/api", endpoint = "keys/revoke", input = Json, client = crate::client::Gateway)]
pub async fn revoke_key(api_key_id: String) -> Result<KeyInfo, AppError> {
    use crate::server::{api, keys::manage};
    api::run(|call| async move {
        let user = call.user().await?;
        manage::revoke(&call.services, &user, &api_key_id).await
    })
    .await
}
