use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::AppError;

/// `POST /api/users/unlink_identity` `{user_id, provider, subject}`: that external identity
/// no longer signs in to the user.
#[server(prefix = "/api", endpoint = "users/unlink_identity", input = Json, client = crate::client::Gateway)]
pub async fn unlink_identity(
    user_id: String,
    provider: String,
    subject: String,
) -> Result<(), AppError> {
    use crate::server::{api, sso::accounts};
    api::run(|call| async move {
        let user = call.user().await?;
        accounts::unlink(
            &call.services,
            user.require_admin()?,
            &user_id,
            &provider,
            &subject,
        )
        .await
    })
    .await
}
