use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{AppError, types::AuditPage};

/// `POST /api/audit/list` `{action?, actor_user_id?, target_id?, since?, until?, limit?,
/// offset?}`: entries newest first, and how many match.
#[server(prefix = "/api", endpoint = "audit/list", input = Json, client = crate::client::Gateway)]
pub async fn list_audit(
    action: Option<String>,
    actor_user_id: Option<String>,
    target_id: Option<String>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    limit: Option<i64>,
    offset: Option<i64>,
) -> Result<AuditPage, AppError> {
    use crate::server::{api, audit};
    use crate::types::AuditQuery;
    api::run(|call| async move {
        let user = call.user().await?;
        let q = AuditQuery {
            action,
            actor_user_id,
            target_id,
            since,
            until,
            limit,
            offset,
        };
        audit::page(&call.services.db, user.require_admin()?, &q).await
    })
    .await
}
