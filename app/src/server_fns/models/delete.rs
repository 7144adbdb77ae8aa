use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::AppError;

/// `POST /api/models/delete` `{model_id}`.
#[server(prefix = "/api", endpoint = "models/delete", input = Json, client = crate::client::Gateway)]
pub async fn delete_model(model_id: String) -> Result<(), AppError> {
    use crate::server::{api, models};
    api::run(|call| async move {
        let user = call.user().await?;
        models::delete(&call.services, user.require_admin()?, &model_id).await
    })
    .await
}
