use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{
    AppError,
    types::{CreatedInvite, NewInviteRequest},
};

/// `POST /api/invites/create` `{invite: {role, email?, user_id?, note?, expires_in_hours?}}`:
/// a new invite and its link, shown only this once.
#[server(prefix = "/api", endpoint = "invites/create", input = Json, client = crate::client::Gateway)]
pub async fn create_invite(invite: NewInviteRequest) -> Result<CreatedInvite, AppError> {
    use crate::server::{api, sso::invites};
    api::run(|call| async move {
        let user = call.user().await?;
        invites::create(&call.services, user.require_admin()?, invite).await
    })
    .await
}
