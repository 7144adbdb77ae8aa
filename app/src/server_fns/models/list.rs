use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{AppError, types::ModelInfo};

/// `POST /api/models/list` `{}`: every model, declared or discovered, with its targets and
/// their health as the answering instance sees it.
#[server(prefix = "/api", endpoint = "models/list", input = Json, client = crate::client::Gateway)]
pub async fn list_models() -> Result<Vec<ModelInfo>, AppError> {
    use crate::server::{api, models};
    api::run(|call| async move {
        let user = call.user().await?;
        models::list(&call.services, user.require_admin()?).await
    })
    .await
}
