use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{
    AppError,
    types::{Role, UserInfo},
};

/// `POST /api/users/update` `{user_id, role?, enabled?, email?}`: absent fields stay as they
/// are; an empty email removes it. Disabling ends the user's sessions at once.
#[server(prefix = "/api", endpoint = "users/update", input = Json, client = crate::client::Gateway)]
pub async fn update_user(
    user_id: String,
    role: Option<Role>,
    enabled: Option<bool>,
    email: Option<String>,
) -> Result<UserInfo, AppError> {
    use crate::server::{api, users};
    use crate::types::UserUpdate;
    api::run(|call| async move {
        let user = call.user().await?;
        let changes = UserUpdate {
            role,
            enabled,
            email,
        };
        users::update(&call.services, user.require_admin()?, &user_id, changes).await
    })
    .await
}
