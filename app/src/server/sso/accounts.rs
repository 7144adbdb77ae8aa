//! What administrators do with accounts that came from identity providers: approve them,
//! see and remove their linked identities.

use chrono::Utc;
use serde_json::json;

use crate::server::{
    CoreError, Services,
    audit::{self, Event},
    auth::Admin,
    db,
};
use crate::types::{IdentityInfo, UserInfo};

/// Enables a user who registered while registration needed approval.
pub async fn approve(
    services: &Services,
    admin: Admin<'_>,
    user_id: &str,
) -> Result<UserInfo, CoreError> {
    admin.user().may_act_on(user_id)?;
    let db = &services.db;
    if !db::identities::approve(db, user_id, Utc::now()).await? {
        return match db::users::find_by_id(db, user_id).await? {
            None => Err(CoreError::NotFound("user")),
            Some(_) => Err(CoreError::Refused(
                "the user is not awaiting approval".into(),
            )),
        };
    }
    let e = Event::new(admin.user().actor(), "user.approve").target("user", user_id);
    audit::record(db, &e).await?;
    services.keys.catch_up(db).await?;
    db::users::find_by_id(db, user_id)
        .await?
        .ok_or(CoreError::NotFound("user"))?
        .into_info()
}

pub async fn identities(
    services: &Services,
    _admin: Admin<'_>,
    user_id: &str,
) -> Result<Vec<IdentityInfo>, CoreError> {
    db::users::find_by_id(&services.db, user_id)
        .await?
        .ok_or(CoreError::NotFound("user"))?;
    Ok(db::identities::list_for_user(&services.db, user_id)
        .await?
        .into_iter()
        .map(|i| IdentityInfo {
            provider: i.provider,
            subject: i.subject,
            email: i.email,
            external_name: i.external_name,
            linked_at: i.linked_at,
            last_login_at: i.last_login_at,
        })
        .collect())
}

/// Removes a link: that external identity no longer signs in to this account. Its open
/// sessions stay; disable the account to end those.
pub async fn unlink(
    services: &Services,
    admin: Admin<'_>,
    user_id: &str,
    provider: &str,
    subject: &str,
) -> Result<(), CoreError> {
    admin.user().may_act_on(user_id)?;
    if !db::identities::unlink(&services.db, user_id, provider, subject).await? {
        return Err(CoreError::NotFound("identity"));
    }
    let e = Event::new(admin.user().actor(), "user.unlink_identity")
        .target("user", user_id)
        .details(json!({ "provider": provider, "subject": subject }));
    audit::record(&services.db, &e).await?;
    // The unlink moved the access revision (a trigger): provider tokens cached for this user
    // end here at once, elsewhere within the poll.
    services.keys.catch_up(&services.db).await.map(drop)
}
