use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{
    AppError,
    types::{Expiry, KeyInfo},
};

/// `POST /api/keys/update` `{api_key_id, name?, enabled?, expires_at?, allowed_cidrs?, models?}`:
/// absent fields stay; `expires_at` is an RFC 3339 time or `"never"`; an empty list of models
/// means every model the owner may use, an empty list of ranges any address.
#[server(prefix = "/api", endpoint = "keys/update", input = Json, client = crate::client::Gateway)]
pub async fn update_key(
    api_key_id: String,
    name: Option<String>,
    enabled: Option<bool>,
    expires_at: Option<Expiry>,
    allowed_cidrs: Option<Vec<String>>,
    models: Option<Vec<String>>,
) -> Result<KeyInfo, AppError> {
    use crate::server::{api, keys::manage};
    api::run(|call| async move {
        let user = call.user().await?;
        let update = manage::KeyUpdate {
            name,
            enabled,
            expires_at: expires_at.map(Expiry::at),
            allowed_cidrs,
            models,
        };
        manage::update(&call.services, &user, &api_key_id, update).await
    })
    .await
}
