use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{
    AppError,
    types::{LimitHolder, LimitsView},
};

/// `POST /api/limits/get` `{holder: "user"|"key", id}`: the limits of a user or key and what
/// it has used of its daily and monthly ones. Users may read their own and their keys'.
#[server(prefix = "/api", endpoint = "limits/get", input = Json, client = crate::client::Gateway)]
pub async fn get_limits(holder: LimitHolder, id: String) -> Result<LimitsView, AppError> {
    use crate::server::{api, limits::manage};
    api::run(|call| async move {
        let user = call.user().await?;
        manage::get(&call.services, &user, holder, &id).await
    })
    .await
}
