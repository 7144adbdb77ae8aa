use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{AppError, types::SignInOptions};

/// `POST /api/auth/sign_in_methods` `{}`: whether passwords are accepted and which identity
/// providers to offer. Needs no sign-in: the sign-in page asks it.
#[server(prefix = "/api", endpoint = "auth/sign_in_methods", input = Json, client = crate::client::Gateway)]
pub async fn sign_in_methods() -> Result<SignInOptions, AppError> {
    use crate::server::api;
    api::run(|call| async move { Ok(call.services.sso.sign_in_options()) }).await
}
