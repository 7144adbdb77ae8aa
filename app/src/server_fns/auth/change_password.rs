use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{AppError, types::Session};

/// `POST /api/auth/change_password` `{current_password, new_password}`: every other session
/// ends; the answer is a fresh session for the caller.
#[server(prefix = "/api", endpoint = "auth/change_password", input = Json, client = crate::client::Gateway)]
pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<Session, AppError> {
    use crate::server::{api, auth::session};
    use secrecy::SecretString;
    api::run(|call| async move {
        let user = call.user_allowing_password_change().await?;
        let (current, new) = (
            SecretString::from(current_password),
            SecretString::from(new_password),
        );
        session::change_password(&call.services, &user, current, new, &call.client).await
    })
    .await
}
