use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{AppError, types::KeyWithSecret};

/// `POST /api/keys/reveal` `{api_key_id}`: the key's secret again, where the deployment allows it.
#[server(prefix = "/api", endpoint = "keys/reveal", input = Json, client = crate::client::Gateway)]
pub async fn reveal_key(api_key_id: String) -> Result<KeyWithSecret, AppError> {
    use crate::server::{api, keys::manage};
    api::run(|call| async move {
        let user = call.user().await?;
        manage::reveal(&call.services, &user, &api_key_id).await
    })
    .await
}
