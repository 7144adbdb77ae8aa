//! Invites: single-use, expiring links an administrator hands to someone, who then signs in
//! through an identity provider. An invite for an existing account links the sign-in to it.

use std::time::Duration;

use chrono::Utc;
use serde_json::json;

use super::random_token;
use crate::server::{
    CoreError, Services,
    audit::{self, Event},
    auth::{Admin, refresh::digest},
    db::{self, invites::InviteRow},
};
use crate::types::{
    CreatedInvite, InviteInfo, InvitePreview, InviteStatus, NewInviteRequest, Role,
};

/// Recognisable in logs and by secret scanners.
const PREFIX: &str = "pci_";
pub const DEFAULT_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
pub const MAX_TTL: Duration = Duration::from_secs(90 * 24 * 3600);

impl InviteRow {
    pub fn into_info(self) -> InviteInfo {
        let now = Utc::now();
        let status = if self.revoked_at.is_some() {
            InviteStatus::Revoked
        } else if self.used_at.is_some() {
            InviteStatus::Used
        } else if self.expires_at <= now {
            InviteStatus::Expired
        } else {
            InviteStatus::Pending
        };
        InviteInfo {
            role: self.role.parse().unwrap_or(Role::User),
            invite_id: self.invite_id,
            email: self.email,
            user_id: self.user_id,
            username: self.username,
            note: self.note,
            created_by: self.created_by,
            created_at: self.created_at,
            expires_at: self.expires_at,
            used_at: self.used_at,
            used_by: self.used_by,
            status,
        }
    }
}

pub async fn create(
    services: &Services,
    admin: Admin<'_>,
    req: NewInviteRequest,
) -> Result<CreatedInvite, CoreError> {
    if req.role == Role::Admin {
        admin
            .user()
            .refuse_if_impersonated("inviting an administrator")?;
    }
    if let Some(id) = &req.user_id {
        admin.user().may_act_on(id)?;
    }
    let sso = &services.sso;
    if sso.settings.providers.is_empty() {
        return Err(CoreError::Refused(
            "invites are used by signing in through an identity provider, and none is configured"
                .into(),
        ));
    }
    let ttl = req
        .expires_in_hours
        .map_or(DEFAULT_TTL, |h| Duration::from_secs(h.saturating_mul(3600)));
    if ttl.is_zero() || ttl > MAX_TTL {
        return Err(CoreError::invalid(
            "expires_in_hours",
            "must be between 1 hour and 90 days",
        ));
    }
    let email = req
        .email
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty());
    if email.is_some_and(|e| !e.contains('@')) {
        return Err(CoreError::invalid("email", "is not a valid email address"));
    }
    let user_id = req.user_id.as_deref().filter(|u| !u.is_empty());
    if let Some(id) = user_id {
        let target = db::users::find_by_id(&services.db, id)
            .await?
            .ok_or(CoreError::NotFound("user"))?;
        // A link would be a second, unseen way into an administrator's account.
        if target.role == Role::Admin.as_str() {
            return Err(CoreError::Refused(
                "an administrator's account cannot be linked through an invite; they link their \
                 own sign-ins"
                    .into(),
            ));
        }
    }
    let note = req.note.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > 200) {
        return Err(CoreError::invalid("note", "must be at most 200 characters"));
    }
    let token = format!("{PREFIX}{}", random_token());
    let invite_id = uuid::Uuid::now_v7().to_string();
    let now = Utc::now();
    db::invites::insert(
        &services.db,
        &db::invites::NewInvite {
            invite_id: &invite_id,
            token_digest: &digest(&token),
            created_by: &admin.user().user_id,
            role: req.role.as_str(),
            email,
            user_id,
            note,
            now,
            expires_at: now + ttl,
        },
    )
    .await?;
    let e = Event::new(admin.user().actor(), "invite.create")
        .target("invite", &invite_id)
        .details(json!({ "role": req.role, "email": email, "user_id": user_id, "expires_at": now + ttl }));
    audit::record(&services.db, &e).await?;
    let invite = db::invites::find(&services.db, &invite_id)
        .await?
        .ok_or(CoreError::NotFound("invite"))?
        .into_info();
    Ok(CreatedInvite {
        invite,
        link: format!(
            "{}/invite/{token}",
            sso.settings.public_url.trim_end_matches('/')
        ),
    })
}

pub async fn list(services: &Services, _admin: Admin<'_>) -> Result<Vec<InviteInfo>, CoreError> {
    Ok(db::invites::list(&services.db, 500)
        .await?
        .into_iter()
        .map(InviteRow::into_info)
        .collect())
}

pub async fn revoke(
    services: &Services,
    admin: Admin<'_>,
    invite_id: &str,
) -> Result<(), CoreError> {
    if !db::invites::revoke(&services.db, invite_id, Utc::now()).await? {
        return match db::invites::find(&services.db, invite_id).await? {
            None => Err(CoreError::NotFound("invite")),
            Some(_) => Err(CoreError::Refused(
                "the invite was already used or revoked".into(),
            )),
        };
    }
    let e = Event::new(admin.user().actor(), "invite.revoke").target("invite", invite_id);
    audit::record(&services.db, &e).await
}

/// What the invite page shows; says no more than whether the link can still be used.
pub async fn preview(services: &Services, token: &str) -> Result<InvitePreview, CoreError> {
    let row = db::invites::find_by_digest(&services.db, &digest(token)).await?;
    let usable = row.as_ref().is_some_and(|i| {
        i.used_at.is_none() && i.revoked_at.is_none() && i.expires_at > Utc::now()
    });
    Ok(InvitePreview {
        usable,
        for_existing_account: usable && row.as_ref().is_some_and(|i| i.user_id.is_some()),
        expires_at: row.filter(|_| usable).map(|i| i.expires_at),
        providers: services.sso.buttons(),
    })
}
