use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{
    AppError,
    types::{ModelChanges, ModelInfo},
};

/// `POST /api/models/update` `{model_id, name?, enabled?, targets?}`: absent fields stay as
/// they are; `targets` replaces them all (a target that stays keeps its health record).
#[server(prefix = "/api", endpoint = "models/update", input = Json, client = crate::client::Gateway)]
pub async fn update_model(
    model_id: String,
    #[server(flatten)] changes: ModelChanges,
) -> Result<ModelInfo, AppError> {
    use crate::server::{api, models};
    api::run(|call| async move {
        let user = call.user().await?;
        models::update(&call.services, user.require_admin()?, &model_id, changes).await
    })
    .await
}
