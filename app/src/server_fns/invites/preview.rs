use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{AppError, types::InvitePreview};

/// `POST /api/invites/preview` `{token}`: whether an invite link can still be used, for the
/// page it opens. Needs no sign-in: holding the link is the point.
#[server(prefix = "/api", endpoint = "invites/preview", input = Json, client = crate::client::Gateway)]
pub async fn preview_invite(token: String) -> Result<InvitePreview, AppError> {
    use crate::server::{api, sso::invites};
    api::run(|call| async move { invites::preview(&call.services, &token).await }).await
}
