use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{AppError, types::IdentityInfo};

/// `POST /api/users/identities` `{user_id}`: the external identities that sign in to the user.
#[server(prefix = "/api", endpoint = "users/identities", input = Json, client = crate::client::Gateway)]
pub async fn user_identities(user_id: String) -> Result<Vec<IdentityInfo>, AppError> {
    use crate::server::{api, sso::accounts};
    api::run(|call| async move {
        let user = call.user().await?;
        accounts::identities(&call.services, user.require_admin()?, &user_id).await
    })
    .await
}
