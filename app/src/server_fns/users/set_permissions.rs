use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{AppError, types::UserPermissions};

/// `POST /api/users/set_permissions` `{user_id, all_models, models, may_create_keys}`: which
/// models the user may use (all, or the list) and whether they may create keys. Their keys
/// narrow with them at once.
#[server(prefix = "/api", endpoint = "users/set_permissions", input = Json, client = crate::client::Gateway)]
pub async fn set_user_permissions(
    user_id: String,
    all_models: bool,
    models: Option<Vec<String>>,
    may_create_keys: bool,
) -> Result<UserPermissions, AppError> {
    use crate::server::{api, users};
    api::run(|call| async move {
        let user = call.user().await?;
        let p = UserPermissions {
            user_id,
            all_models,
            models: models.unwrap_or_default(),
            may_create_keys,
        };
        users::set_permissions(&call.services, user.require_admin()?, p).await
    })
    .await
}
