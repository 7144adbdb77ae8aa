use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::{AppError, types::GatewayStatus};

/// `GET /api/status`: version and readiness; needs no sign-in.
#[server(prefix = "/api", endpoint = "status", input = GetUrl, client = crate::client::Gateway)]
pub async fn get_status() -> Result<GatewayStatus, AppError> {
    let services = crate::server::services()?;
    Ok(GatewayStatus {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        ready: services.db.check_ready().await.is_ok(),
    })
}
