use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{AppError, types::UserPage};

/// `POST /api/users/list` `{search?, limit?, offset?}`: users by username, and the total.
#[server(prefix = "/api", endpoint = "users/list", input = Json, client = crate::client::Gateway)]
pub async fn list_users(
    search: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
) -> Result<UserPage, AppError> {
    use crate::server::{api, users};
    api::run(|call| async move {
        let user = call.user().await?;
        users::page(
            &call.services.db,
            user.require_admin()?,
            search.as_deref(),
            limit,
            offset,
        )
        .await
    })
    .await
}
