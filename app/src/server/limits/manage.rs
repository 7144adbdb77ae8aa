//! Reading and setting limits. Administrators set users' limits; a key's owner may tighten the
//! key's (never raise or lift one already set). Everyone may read their own; an id the caller
//! may not see is not found.

use chrono::Utc;
use serde_json::json;

use super::{Limits, Metric};
use crate::server::{
    CoreError, Services,
    audit::{self, Event},
    auth::CurrentUser,
    db::{self, limits::limits_of},
};
use crate::types::{LimitHolder, LimitsView, Role};

pub async fn get(
    services: &Services,
    caller: &CurrentUser,
    holder: LimitHolder,
    id: &str,
) -> Result<LimitsView, CoreError> {
    owner_seen(services, caller, holder, id).await?;
    view(services, holder, id).await
}

pub async fn set(
    services: &Services,
    caller: &CurrentUser,
    holder: LimitHolder,
    id: &str,
    limits: Limits,
) -> Result<LimitsView, CoreError> {
    let owner = owner_seen(services, caller, holder, id).await?;
    if holder == LimitHolder::User {
        caller.require_admin()?;
    }
    // An administrator acting as someone never reaches their own account, keys included.
    caller.may_act_on(&owner)?;
    if caller.role != Role::Admin {
        only_tighter(services, holder, id, &limits).await?;
    }
    if let Some((field, message)) = limits.invalid() {
        return Err(CoreError::invalid(field, message));
    }
    if !db::limits::set_limits(&services.db, holder, id, &limits, Utc::now()).await? {
        return Err(not_found(holder));
    }
    let (action, target) = match holder {
        LimitHolder::User => ("user.set_limits", "user"),
        LimitHolder::Key => ("api_key.set_limits", "api_key"),
    };
    let event = Event::new(caller.actor(), action)
        .target(target, id)
        .details(json!(limits));
    audit::record(&services.db, &event).await?;
    if holder == LimitHolder::Key && crate::server::keys::manage::by_admin(caller, &owner) {
        db::keys::mark_managed(&services.db, id).await?;
    }
    services.keys.catch_up(&services.db).await?;
    view(services, holder, id).await
}

/// An owner may tighten their key's limits, never raise or lift one already set (perhaps by an
/// administrator).
async fn only_tighter(
    services: &Services,
    holder: LimitHolder,
    id: &str,
    new: &Limits,
) -> Result<(), CoreError> {
    let current = limits_of(&services.db, holder, id)
        .await?
        .ok_or_else(|| not_found(holder))?;
    for m in Metric::ALL {
        if let Some(now) = m.limit(&current)
            && m.limit(new).is_none_or(|n| n > now)
        {
            return Err(CoreError::invalid(
                m.name(),
                format!("only an administrator can raise or remove this limit (now {now})"),
            ));
        }
    }
    Ok(())
}

async fn view(services: &Services, holder: LimitHolder, id: &str) -> Result<LimitsView, CoreError> {
    let limits = limits_of(&services.db, holder, id)
        .await?
        .ok_or_else(|| not_found(holder))?;
    let now = Utc::now();
    let (day_start, _) = Metric::TokensPerDay.window(now);
    let (month_start, _) = Metric::TokensPerMonth.window(now);
    let (tokens_today, tokens_this_month, cost_this_month_micros) =
        db::limits::spent(&services.db, holder, id, day_start, month_start).await?;
    Ok(LimitsView {
        holder,
        id: id.to_owned(),
        limits,
        tokens_today,
        tokens_this_month,
        cost_this_month_micros,
    })
}

/// The user a limit belongs to (a key's owner, for a key), if the caller may see it: users
/// see their own limits, key owners their keys'; administrators everyone's.
async fn owner_seen(
    services: &Services,
    caller: &CurrentUser,
    holder: LimitHolder,
    id: &str,
) -> Result<String, CoreError> {
    let owner = match holder {
        LimitHolder::User => id.to_owned(),
        LimitHolder::Key => {
            db::keys::find(&services.db, id)
                .await?
                .ok_or_else(|| not_found(holder))?
                .user_id
        }
    };
    if caller.role == Role::Admin || owner == caller.user_id {
        Ok(owner)
    } else {
        Err(not_found(holder))
    }
}

fn not_found(holder: LimitHolder) -> CoreError {
    CoreError::NotFound(match holder {
        LimitHolder::User => "user",
        LimitHolder::Key => "API key",
    })
}
