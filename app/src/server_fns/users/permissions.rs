use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{AppError, types::UserPermissions};

/// `POST /api/users/permissions` `{user_id}`: which models the user may use, and whether they
/// may create keys.
#[server(prefix = "/api", endpoint = "users/permissions", input = Json, client = crate::client::Gateway)]
pub async fn get_user_permissions(user_id: String) -> Result<UserPermissions, AppError> {
    use crate::server::{api, users};
    api::run(|call| async move {
        let user = call.user().await?;
        users::permissions(&call.services, user.require_admin()?, &user_id).await
    })
    .await
}
