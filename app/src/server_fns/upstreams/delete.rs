use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::AppError;

/// `POST /api/upstreams/delete` `{upstream_id}`: the upstream and every target on it.
#[server(prefix = "/api", endpoint = "upstreams/delete", input = Json, client = crate::client::Gateway)]
pub async fn delete_upstream(upstream_id: String) -> Result<(), AppError> {
    use crate::server::{api, upstreams::manage};
    api::run(|call| async move {
        let user = call.user().await?;
        manage::delete(&call.services, user.require_admin()?, &upstream_id).await
    })
    .await
}
