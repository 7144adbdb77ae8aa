use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::AppError;

/// `POST /api/keys/delete` `{api_key_id}`: removes the key; its usage history stays.
#[server(prefix = "/api", endpoint = "keys/delete", input = Json, client = crate::client::Gateway)]
pub async fn delete_key(api_key_id: String) -> Result<(), AppError> {
    use crate::server::{api, keys::manage};
    api::run(|call| async move {
        let user = call.user().await?;
        manage::delete(&call.services, &user, &api_key_id).await
    })
    .await
}
