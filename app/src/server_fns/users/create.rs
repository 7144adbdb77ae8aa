use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{
    AppError,
    types::{CreatedUser, Role},
};

/// `POST /api/users/create` `{username, email?, role?, password?}`: the new user, and the
/// generated one-time password when none was given.
#[server(prefix = "/api", endpoint = "users/create", input = Json, client = crate::client::Gateway)]
pub async fn create_user(
    username: String,
    email: Option<String>,
    role: Option<Role>,
    password: Option<String>,
) -> Result<CreatedUser, AppError> {
    use crate::server::{api, users};
    use crate::types::NewUserRequest;
    api::run(|call| async move {
        let user = call.user().await?;
        let req = NewUserRequest {
            username,
            email,
            role: role.unwrap_or(Role::User),
            password,
        };
        users::admin_create(&call.services.db, user.require_admin()?, req).await
    })
    .await
}
