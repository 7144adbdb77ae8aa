use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{AppError, types::UpstreamInfo};

/// `POST /api/upstreams/list` `{}`: every upstream, with what discovery last found.
#[server(prefix = "/api", endpoint = "upstreams/list", input = Json, client = crate::client::Gateway)]
pub async fn list_upstreams() -> Result<Vec<UpstreamInfo>, AppError> {
    use crate::server::{api, upstreams::manage};
    api::run(|call| async move {
        let user = call.user().await?;
        manage::list(&call.services, user.require_admin()?).await
    })
    .await
}
