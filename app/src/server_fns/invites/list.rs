use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{AppError, types::InviteInfo};

/// `POST /api/invites/list` `{}`: the newest 500 invites, used or not.
#[server(prefix = "/api", endpoint = "invites/list", input = Json, client = crate::client::Gateway)]
pub async fn list_invites() -> Result<Vec<InviteInfo>, AppError> {
    use crate::server::{api, sso::invites};
    api::run(|call| async move {
        let user = call.user().await?;
        invites::list(&call.services, user.require_admin()?).await
    })
    .await
}
