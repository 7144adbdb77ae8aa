use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::AppError;

/// `POST /api/users/delete` `{user_id}`: the user, their keys and sessions are removed; their
/// usage history and audit entries stay.
#[server(prefix = "/api", endpoint = "users/delete", input = Json, client = crate::client::Gateway)]
pub async fn delete_user(user_id: String) -> Result<(), AppError> {
    use crate::server::{api, users};
    api::run(|call| async move {
        let user = call.user().await?;
        users::delete(&call.services, user.require_admin()?, &user_id).await
    })
    .await
}
