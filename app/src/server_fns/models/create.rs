use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{
    AppError,
    types::{ModelInfo, NewModel},
};

/// `POST /api/models/create` `{name, enabled?, targets: [{upstream_id, upstream_model?,
/// weight?, enabled?}]}`.
#[server(prefix = "/api", endpoint = "models/create", input = Json, client = crate::client::Gateway)]
pub async fn create_model(#[server(flatten)] model: NewModel) -> Result<ModelInfo, AppError> {
    use crate::server::{api, models};
    api::run(|call| async move {
        let user = call.user().await?;
        models::create(&call.services, user.require_admin()?, model).await
    })
    .await
}
