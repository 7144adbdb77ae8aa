use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::AppError;

/// `POST /api/invites/revoke` `{invite_id}`: the invite's link stops working.
#[server(prefix = "/api", endpoint = "invites/revoke", input = Json, client = crate::client::Gateway)]
pub async fn revoke_invite(invite_id: String) -> Result<(), AppError> {
    use crate::server::{api, sso::invites};
    api::run(|call| async move {
        let user = call.user().await?;
        invites::revoke(&call.services, user.require_admin()?, &invite_id).await
    })
    .await
}
