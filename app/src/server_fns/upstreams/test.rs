use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::{
    AppError,
    types::{ConnectionTest, NewUpstream},
};

/// `POST /api/upstreams/test` `{upstream_id}` for a saved upstream, or `{draft: {name,
/// base_url, credential?, headers?, connect_timeout_ms?}}` for settings not saved yet: lists
/// the upstream's models and says how long it took, or what went wrong.
#[server(prefix = "/api", endpoint = "upstreams/test", input = Json, client = crate::client::Gateway)]
pub async fn test_upstream(
    upstream_id: Option<String>,
    draft: Option<NewUpstream>,
) -> Result<ConnectionTest, AppError> {
    use crate::server::{
        CoreError, api,
        upstreams::manage::{self, TestSubject},
    };
    api::run(|call| async move {
        let user = call.user().await?;
        let admin = user.require_admin()?;
        let subject = match (upstream_id, draft) {
            (Some(id), None) => TestSubject::Saved(id),
            (None, Some(d)) => TestSubject::Draft(d),
            _ => {
                return Err(CoreError::invalid(
                    "upstream_id",
                    "give either a saved upstream's id or a draft, not both",
                ));
            }
        };
        manage::test(&call.services, admin, subject).await
    })
    .await
}
