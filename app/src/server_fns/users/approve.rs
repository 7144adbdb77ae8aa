use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{AppError, types::UserInfo};

/// `POST /api/users/approve` `{user_id}`: enables a user who registered while registration
/// needed approval.
#[server(prefix = "/api", endpoint = "users/approve", input = Json, client = crate::client::Gateway)]
pub async fn approve_user(user_id: String) -> Result<UserInfo, AppError> {
    use crate::server::{api, sso::accounts};
    api::run(|call| async move {
        let user = call.user().await?;
        accounts::approve(&call.services, user.require_admin()?, &user_id).await
    })
    .await
}
