//! Who an external sign-in is: the linked account, an account linked by an explicit rule, or
//! a new account when the registration mode allows one. Never an account that merely has the
//! same username.

use chrono::Utc;
use serde_json::json;

use super::{ExternalIdentity, ProviderSpec, SsoError, SsoSettings};
use crate::server::{
    Services,
    audit::{self, Actor, Event},
    db::{
        self,
        identities::{NewExternalUser, NewIdentity, Outcome},
        invites::InviteRow,
        users::{UpdateOutcome, UserChanges, UserRow},
    },
    users::check_username,
};
use crate::types::{Registration, Role};

/// The account an external identity signs in to, after the provider's rules were applied.
/// `record` notes the sign-in on the identity: yes for a browser sign-in, no for a bearer
/// token, which may come with every request.
pub async fn sign_in(
    services: &Services,
    spec: &ProviderSpec,
    who: &ExternalIdentity,
    invite_digest: Option<&str>,
    record: bool,
) -> Result<UserRow, SsoError> {
    let settings = &services.sso.settings;
    if !spec.allowed_groups.is_empty()
        && !who.groups.iter().any(|g| spec.allowed_groups.contains(g))
    {
        return Err(SsoError::NotAllowed);
    }
    let now = Utc::now();
    let identity = NewIdentity {
        provider: &spec.name,
        subject: &who.subject,
        email: who.email.as_deref(),
        external_name: who.display_name.as_deref().or(who.username_hint.as_deref()),
        now,
    };
    let db = &services.db;
    let user = match db::identities::find_user(db, &spec.name, &who.subject).await? {
        Some(user) => {
            if record {
                db::identities::touch(db, &identity).await?;
            }
            user
        }
        None => {
            let invite = match invite_digest {
                Some(d) => Some(usable_invite(services, d, who).await?),
                None => None,
            };
            first_sign_in(services, spec, who, &identity, invite).await?
        }
    };
    if user.awaiting_approval {
        return Err(SsoError::Pending);
    }
    if !user.enabled {
        return Err(SsoError::Disabled);
    }
    sync_claims(services, spec, settings, who, user).await
}

/// An invite that may be used by this sign-in, or why not.
async fn usable_invite(
    services: &Services,
    digest: &str,
    who: &ExternalIdentity,
) -> Result<(String, InviteRow), SsoError> {
    let invite = db::invites::find_by_digest(&services.db, digest)
        .await?
        .filter(|i| i.used_at.is_none() && i.revoked_at.is_none() && i.expires_at > Utc::now())
        .ok_or(SsoError::InviteInvalid)?;
    if let Some(wanted) = &invite.email {
        let matches = who.email_verified
            && who
                .email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(wanted));
        if !matches {
            return Err(SsoError::InviteInvalid);
        }
    }
    Ok((digest.to_owned(), invite))
}

async fn first_sign_in(
    services: &Services,
    spec: &ProviderSpec,
    who: &ExternalIdentity,
    identity: &NewIdentity<'_>,
    invite: Option<(String, InviteRow)>,
) -> Result<UserRow, SsoError> {
    let db = &services.db;
    let settings = &services.sso.settings;
    let verified_email = who.email.as_deref().filter(|_| who.email_verified);
    // An administrator's link: the invite names the account.
    if let Some((digest, row)) = &invite
        && let Some(user_id) = &row.user_id
    {
        // The account may have become an administrator's since the invite was made.
        let target = db::users::find_by_id(db, user_id)
            .await?
            .ok_or(SsoError::InviteInvalid)?;
        if target.role == Role::Admin.as_str() {
            return Err(SsoError::InviteInvalid);
        }
        if db::identities::link(db, user_id, identity, Some(digest)).await? == Outcome::InviteGone {
            return Err(SsoError::InviteInvalid);
        }
        record_link(services, spec, who, user_id, "invite").await?;
        return Ok(target);
    }
    // The provider vouches for the email, and this provider is trusted to.
    if spec.link_verified_email
        && let Some(email) = verified_email
        && let Some(user) = db::users::find_by_email(db, email).await?
    {
        db::identities::link(db, &user.user_id, identity, None).await?;
        record_link(services, spec, who, &user.user_id, "verified_email").await?;
        return Ok(user);
    }
    let (awaiting_approval, role) = match (&invite, settings.registration) {
        (Some((_, row)), _) => (false, row.role.parse().unwrap_or(Role::User)),
        (None, Registration::Open) => (false, Role::User),
        (None, Registration::Approval) => (true, Role::User),
        (None, Registration::Invite) => return Err(SsoError::InviteRequired),
        (None, Registration::Closed) => return Err(SsoError::RegistrationClosed),
    };
    if invite.is_none() {
        let email = verified_email.ok_or(SsoError::EmailUnverified)?;
        if !settings.domain_allowed(email) {
            return Err(SsoError::Domain);
        }
    }
    if let Some(email) = who.email.as_deref()
        && db::users::find_by_email(db, email).await?.is_some()
    {
        return Err(SsoError::EmailTaken);
    }
    let role = if verified_email.is_some_and(|e| settings.is_admin_email(e)) {
        Role::Admin
    } else {
        role
    };
    let user_id = uuid::Uuid::now_v7().to_string();
    let mut username = String::new();
    for attempt in 0..20 {
        username = username_for(who, attempt);
        let new = NewExternalUser {
            user_id: &user_id,
            username: &username,
            email: verified_email,
            role: role.as_str(),
            awaiting_approval,
            models: who.models.as_deref(),
        };
        let digest = invite.as_ref().map(|(d, _)| d.as_str());
        match db::identities::register(db, &new, identity, digest).await {
            Ok(Outcome::Done) => break,
            Ok(Outcome::InviteGone) => return Err(SsoError::InviteInvalid),
            // Taken: the next attempt adds a number.
            Err(e) if e.is_unique_violation() && attempt < 19 => continue,
            Err(e) => return Err(e.into()),
        }
    }
    let mut e = Event::new(
        Actor::User {
            user_id: user_id.clone(),
            username: username.clone(),
        },
        "user.register",
    )
    .target("user", &user_id)
    .details(json!({
        "provider": spec.name,
        "role": role,
        "awaiting_approval": awaiting_approval,
        "invite": invite.as_ref().map(|(_, i)| &i.invite_id),
    }));
    e.success = true;
    audit::record(db, &e).await?;
    services.keys.catch_up(db).await?;
    db::users::find_by_id(db, &user_id)
        .await?
        .ok_or_else(|| SsoError::Core(crate::server::CoreError::NotFound("user")))
}

async fn record_link(
    services: &Services,
    spec: &ProviderSpec,
    who: &ExternalIdentity,
    user_id: &str,
    rule: &str,
) -> Result<(), SsoError> {
    let e = Event::new(Actor::System, "user.link_identity")
        .target("user", user_id)
        .details(json!({ "provider": spec.name, "subject": who.subject, "rule": rule }));
    Ok(audit::record(&services.db, &e).await?)
}

/// A username from what the provider offers, made to fit our rules; `attempt` > 0 adds a
/// number, for when the name is taken.
fn username_for(who: &ExternalIdentity, attempt: u32) -> String {
    let from_email = who
        .email
        .as_deref()
        .and_then(|e| e.split('@').next())
        .map(str::to_owned);
    let base = who
        .username_hint
        .clone()
        .or(from_email)
        .unwrap_or_else(|| format!("user-{}", &who.subject));
    let mut name: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@') {
                c
            } else {
                '-'
            }
        })
        .skip_while(|c| !c.is_ascii_alphanumeric())
        .take(56)
        .collect();
    if check_username(&name).is_err() {
        name = format!("user-{name}");
        name.truncate(56);
    }
    if attempt > 0 {
        name = format!("{name}-{}", attempt + 1);
    }
    name
}

/// The provider's claims decide the role and the models when the deployment says so.
async fn sync_claims(
    services: &Services,
    spec: &ProviderSpec,
    settings: &SsoSettings,
    who: &ExternalIdentity,
    user: UserRow,
) -> Result<UserRow, SsoError> {
    let db = &services.db;
    let now = Utc::now();
    let admin_email = who.email_verified
        && who
            .email
            .as_deref()
            .is_some_and(|e| settings.is_admin_email(e));
    let in_admin_group = who.groups.iter().any(|g| spec.admin_groups.contains(g));
    let wanted = if admin_email || in_admin_group {
        Some(Role::Admin)
    } else if !spec.admin_groups.is_empty() {
        Some(Role::User)
    } else {
        None
    };
    let mut changed = false;
    if let Some(role) = wanted
        && user.role()? != role
    {
        let changes = UserChanges {
            role: Some(role),
            enabled: None,
            email: None,
        };
        match db::users::update(db, &user.user_id, &changes, now).await? {
            UpdateOutcome::Updated => {
                changed = true;
                let e = Event::new(Actor::System, "user.update")
                    .target("user", &user.user_id)
                    .details(
                        json!({ "role": role, "by": "identity provider", "provider": spec.name }),
                    );
                audit::record(db, &e).await?;
            }
            // The last administrator stays one, whatever the provider says.
            UpdateOutcome::LastAdmin | UpdateOutcome::NotFound => {}
        }
    }
    if let Some(models) = &who.models {
        let mut models = models.clone();
        models.sort();
        models.dedup();
        let current = db::users::models(db, &user.user_id).await?;
        if user.all_models || current != models {
            db::keys::set_user_permissions(
                db,
                &user.user_id,
                false,
                &models,
                user.may_create_keys,
                now,
            )
            .await?;
            changed = true;
            let e = Event::new(Actor::System, "user.set_permissions")
                .target("user", &user.user_id)
                .details(
                    json!({ "models": models, "by": "identity provider", "provider": spec.name }),
                );
            audit::record(db, &e).await?;
        }
    }
    if !changed {
        return Ok(user);
    }
    services.keys.catch_up(db).await?;
    Ok(db::users::find_by_id(db, &user.user_id)
        .await?
        .unwrap_or(user))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(hint: Option<&str>, email: Option<&str>) -> ExternalIdentity {
        ExternalIdentity {
            subject: "s-1".into(),
            username_hint: hint.map(str::to_owned),
            email: email.map(str::to_owned),
            ..ExternalIdentity::default()
        }
    }

    #[test]
    fn usernames_come_from_what_the_provider_offers_and_always_fit_our_rules() {
        assert_eq!(username_for(&who(Some("octocat"), None), 0), "octocat");
        assert_eq!(username_for(&who(None, Some("jo.ann@x.org")), 0), "jo.ann");
        assert_eq!(
            username_for(&who(Some("Jürgen Müller"), None), 0),
            "J-rgen-M-ller"
        );
        assert_eq!(username_for(&who(Some("__x"), None), 0), "user-x");
        assert_eq!(username_for(&who(None, None), 0), "user-s-1");
        assert_eq!(username_for(&who(Some("sam"), None), 2), "sam-3");
        for w in [who(Some("-"), None), who(Some(&"a".repeat(100)), None)] {
            assert!(check_username(&username_for(&w, 5)).is_ok(), "{w:?}");
        }
    }
}
