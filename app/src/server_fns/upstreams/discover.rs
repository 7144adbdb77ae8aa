use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{AppError, types::UpstreamInfo};

/// `POST /api/upstreams/discover` `{upstream_id}`: refreshes the upstream's discovered models
/// now instead of at the next periodic refresh.
#[server(prefix = "/api", endpoint = "upstreams/discover", input = Json, client = crate::client::Gateway)]
pub async fn discover_models(upstream_id: String) -> Result<UpstreamInfo, AppError> {
    use crate::server::{api, upstreams::manage};
    api::run(|call| async move {
        let user = call.user().await?;
        manage::discover(&call.services, user.require_admin()?, &upstream_id).await
    })
    .await
}
