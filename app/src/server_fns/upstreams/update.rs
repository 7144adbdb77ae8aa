use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{
    AppError,
    types::{UpstreamChanges, UpstreamInfo},
};

/// `POST /api/upstreams/update` `{upstream_id, name?, base_url?, credential?: {"set": "…"} |
/// "remove", headers?, connect_timeout_ms?, idle_timeout_ms?, discover_models?, enabled?}`:
/// absent fields stay as they are; `headers` replaces them all.
#[server(prefix = "/api", endpoint = "upstreams/update", input = Json, client = crate::client::Gateway)]
pub async fn update_upstream(
    upstream_id: String,
    #[server(flatten)] changes: UpstreamChanges,
) -> Result<UpstreamInfo, AppError> {
    use crate::server::{api, upstreams::manage};
    api::run(|call| async move {
        let user = call.user().await?;
        manage::update(&call.services, user.require_admin()?, &upstream_id, changes).await
    })
    .await
}
