//! An administrator acting as another user, to see what they see. The administrator gets a
//! session of the user's own, marked with who opened it: every action in it is audited as the
//! user's, by the administrator; it lasts an hour at most, ends when the administrator stops
//! being one, and cannot change passwords, make administrators or touch the administrator's
//! own account.

use std::time::Duration;

use serde_json::json;

use super::{Admin, ClientInfo, session};
use crate::server::{
    CoreError, Services,
    audit::{self, Event},
    db,
};
use crate::types::Session;

/// The longest an administrator may act as someone in one go.
pub const MAX_AGE: Duration = Duration::from_secs(3600);

pub async fn start(
    services: &Services,
    admin: Admin<'_>,
    user_id: &str,
    client: &ClientInfo,
) -> Result<Session, CoreError> {
    let me = admin.user();
    me.refuse_if_impersonated("acting as a third user")?;
    if me.user_id == user_id {
        return Err(CoreError::Refused("you cannot act as yourself".into()));
    }
    let target = db::users::find_by_id(&services.db, user_id)
        .await?
        .ok_or(CoreError::NotFound("user"))?;
    if !target.enabled {
        return Err(CoreError::Refused(
            "the user is disabled: there is nothing they could see".into(),
        ));
    }
    let max_age = MAX_AGE.min(services.auth.session_max_age);
    let session =
        session::open_session(services, user_id, client, Some(&me.user_id), max_age).await?;
    let mut e = Event::new(me.actor(), "auth.impersonate_start")
        .target("user", user_id)
        .details(json!({ "username": target.username }));
    e.client_addr = client.addr_string();
    audit::record(&services.db, &e).await?;
    tracing::info!(admin = %me.username, user = %target.username, "administrator acting as a user");
    Ok(session)
}
