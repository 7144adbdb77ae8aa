use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{AppError, types::OneTimePassword};

/// `POST /api/users/reset_password` `{user_id}`: a generated one-time password, shown once;
/// the user must change it at next sign-in, and every session of theirs ends.
#[server(prefix = "/api", endpoint = "users/reset_password", input = Json, client = crate::client::Gateway)]
pub async fn reset_user_password(user_id: String) -> Result<OneTimePassword, AppError> {
    use crate::server::{api, users};
    use secrecy::ExposeSecret;
    api::run(|call| async move {
        let user = call.user().await?;
        let password =
            users::admin_reset_password(&call.services.db, user.require_admin()?, &user_id).await?;
        Ok(OneTimePassword {
            password: password.expose_secret().to_owned(),
        })
    })
    .await
}
