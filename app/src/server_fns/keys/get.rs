use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{AppError, types::KeyInfo};

/// `POST /api/keys/get` `{api_key_id}`: the key.
#[server(prefix = "/api", endpoint = "keys/get", input = Json, client = crate::client::Gateway)]
pub async fn get_key(api_key_id: String) -> Result<KeyInfo, AppError> {
    use crate::server::{api, keys::manage};
    api::run(|call| async move {
        let user = call.user().await?;
        manage::get(&call.services, &user, &api_key_id).await
    })
    .await
}
