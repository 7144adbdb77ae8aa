use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{AppError, types::KeyWithSecret};

/// `POST /api/keys/create` `{name, user_id?, models?, expires_at?, allowed_cidrs?}`: the key and
/// its secret, shown in full only now (and on reveal, where allowed).
#[server(prefix = "/api", endpoint = "keys/create", input = Json, client = crate::client::Gateway)]
pub async fn create_key(
    name: String,
    user_id: Option<String>,
    models: Option<Vec<String>>,
    expires_at: Option<DateTime<Utc>>,
    allowed_cidrs: Option<Vec<String>>,
) -> Result<KeyWithSecret, AppError> {
    use crate::server::{api, keys::manage};
    api::run(|call| async move {
        let user = call.user().await?;
        let req = manage::NewKeyRequest {
            name,
            user_id,
            models: models.unwrap_or_default(),
            expires_at,
            allowed_cidrs: allowed_cidrs.unwrap_or_default(),
        };
        manage::create(&call.services, &user, req).await
    })
    .await
}
