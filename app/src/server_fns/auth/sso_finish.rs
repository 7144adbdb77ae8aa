use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{AppError, types::SsoSession};

/// `POST /api/auth/sso_finish` `{code}`: trades the one-time code an external sign-in left
/// for a session.
#[server(prefix = "/api", endpoint = "auth/sso_finish", input = Json, client = crate::client::Gateway)]
pub async fn sso_finish(code: String) -> Result<SsoSession, AppError> {
    use crate::server::{api, sso::flow};
    api::run(|call| async move { flow::finish(&call.services, &code, &call.client).await }).await
}
