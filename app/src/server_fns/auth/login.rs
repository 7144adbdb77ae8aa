use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{AppError, types::Session};

/// `POST /api/auth/login` `{username, password}`: a new session.
#[server(prefix = "/api", endpoint = "auth/login", input = Json, client = crate::client::Gateway)]
pub async fn login(username: String, password: String) -> Result<Session, AppError> {
    use crate::server::{api, auth::session};
    api::run(|call| async move {
        let password = secrecy::SecretString::from(password);
        session::login(&call.services, &username, password, &call.client).await
    })
    .await
}
