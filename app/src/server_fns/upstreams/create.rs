use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{
    AppError,
    types::{NewUpstream, UpstreamInfo},
};

/// `POST /api/upstreams/create` `{name, base_url, credential?, headers?, connect_timeout_ms?,
/// idle_timeout_ms?, discover_models?, enabled?}`.
#[server(prefix = "/api", endpoint = "upstreams/create", input = Json, client = crate::client::Gateway)]
pub async fn create_upstream(
    #[server(flatten)] upstream: NewUpstream,
) -> Result<UpstreamInfo, AppError> {
    use crate::server::{api, upstreams::manage};
    api::run(|call| async move {
        let user = call.user().await?;
        manage::create(&call.services, user.require_admin()?, upstream).await
    })
    .await
}
