use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{AppError, types::AvailableModel};

/// `POST /api/models/available` `{}`: the models the caller may use that can be served now.
#[server(prefix = "/api", endpoint = "models/available", input = Json, client = crate::client::Gateway)]
pub async fn available_models() -> Result<Vec<AvailableModel>, AppError> {
    use crate::server::{api, db, models};
    api::run(|call| async move {
        let user = call.user().await?;
        let own = if user.all_models {
            None
        } else {
            Some(db::users::models(&call.services.db, &user.user_id).await?)
        };
        Ok(models::available(&call.services, &user, own.as_deref()))
    })
    .await
}
