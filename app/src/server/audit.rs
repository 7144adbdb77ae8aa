//! The audit log: who did what to which target, when, and from where. Callers describe the
//! event; nothing secret may be put in `details`.

use chrono::Utc;

use super::{CoreError, Db, db};

/// Who acted.
#[derive(Debug, Clone)]
pub enum Actor {
    /// A signed-in user.
    User { user_id: String, username: String },
    /// A signed-in user whose session an administrator opened, to act as them.
    Impersonated {
        user_id: String,
        username: String,
        by_user_id: String,
        by_username: String,
    },
    /// Someone at the server's console (the `portcullis` CLI).
    Console,
    /// The gateway itself (start-up, background tasks).
    System,
}

#[derive(Debug, Clone)]
pub struct Event {
    pub actor: Actor,
    pub action: &'static str,
    pub target_type: Option<&'static str>,
    pub target_id: Option<String>,
    pub client_addr: Option<String>,
    pub success: bool,
    pub details: Option<serde_json::Value>,
}

impl Event {
    pub fn new(actor: Actor, action: &'static str) -> Self {
        Self {
            actor,
            action,
            target_type: None,
            target_id: None,
            client_addr: None,
            success: true,
            details: None,
        }
    }

    pub fn target(mut self, kind: &'static str, id: impl Into<String>) -> Self {
        self.target_type = Some(kind);
        self.target_id = Some(id.into());
        self
    }

    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }
}

/// The longest text kept of any one field a client could have supplied (a username typed at
/// sign-in, a provider's name in a URL, a note); the rest is cut, marked with an ellipsis.
const MAX_FIELD_CHARS: usize = 256;
/// The most string values kept in one entry's details.
const MAX_DETAIL_STRINGS: usize = 64;

/// `s` cut to [`MAX_FIELD_CHARS`].
fn clip(s: &str) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(MAX_FIELD_CHARS) {
        None => s.into(),
        Some((at, _)) => format!("{}…", &s[..at]).into(),
    }
}

/// Every string in `v` clipped, and strings past [`MAX_DETAIL_STRINGS`] dropped: an entry's
/// size is bounded whatever a request carried.
fn clip_details(v: &serde_json::Value, budget: &mut usize) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::String(s) => {
            if *budget == 0 {
                return Value::String("…".into());
            }
            *budget -= 1;
            Value::String(clip(s).into_owned())
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .take(MAX_DETAIL_STRINGS)
                .map(|i| clip_details(i, budget))
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .take(MAX_DETAIL_STRINGS)
                .map(|(k, i)| (clip(k).into_owned(), clip_details(i, budget)))
                .collect(),
        ),
        other => other.clone(),
    }
}

pub async fn record(db: &Db, e: &Event) -> Result<(), CoreError> {
    let (user_id, username, by_id, by_name) = match &e.actor {
        Actor::User { user_id, username } => {
            (Some(user_id.as_str()), Some(username.as_str()), None, None)
        }
        Actor::Impersonated {
            user_id,
            username,
            by_user_id,
            by_username,
        } => (
            Some(user_id.as_str()),
            Some(username.as_str()),
            Some(by_user_id.as_str()),
            Some(by_username.as_str()),
        ),
        Actor::Console => (None, Some("console"), None, None),
        Actor::System => (None, Some("system"), None, None),
    };
    db::audit::insert(
        db,
        &db::audit::NewAuditRow {
            created_at: Utc::now(),
            actor_user_id: user_id,
            actor_username: username.map(clip).as_deref(),
            action: e.action,
            target_type: e.target_type,
            target_id: e.target_id.as_deref().map(clip).as_deref(),
            client_addr: e.client_addr.as_deref().map(clip).as_deref(),
            success: e.success,
            details: e
                .details
                .as_ref()
                .map(|d| clip_details(d, &mut { MAX_DETAIL_STRINGS }).to_string()),
            impersonator_user_id: by_id,
            impersonator_username: by_name,
        },
    )
    .await
}

/// A page of the audit log for an administrator.
pub async fn page(
    db: &Db,
    _admin: super::auth::Admin<'_>,
    q: &crate::types::AuditQuery,
) -> Result<crate::types::AuditPage, CoreError> {
    super::dates::optional("since", q.since)?;
    super::dates::optional("until", q.until)?;
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let offset = q.offset.unwrap_or(0).max(0);
    let (rows, total) = db::audit::query(db, q, limit, offset).await?;
    let entries = rows
        .into_iter()
        .map(|r| crate::types::AuditEntry {
            audit_id: r.audit_id,
            created_at: r.created_at,
            actor_user_id: r.actor_user_id,
            actor_username: r.actor_username,
            action: r.action,
            target_type: r.target_type,
            target_id: r.target_id,
            client_addr: r.client_addr,
            success: r.success,
            details: r.details.and_then(|d| serde_json::from_str(&d).ok()),
            impersonated_by: r.impersonator_username,
        })
        .collect();
    Ok(crate::types::AuditPage { entries, total })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_supplied_text_is_bounded() {
        let long = "x".repeat(20_000);
        assert_eq!(clip(&long).chars().count(), MAX_FIELD_CHARS + 1);
        assert_eq!(clip("short"), "short");
        let details = serde_json::json!({ "username": long, "list": vec!["y"; 1000] });
        let clipped = clip_details(&details, &mut { MAX_DETAIL_STRINGS }).to_string();
        assert!(clipped.len() < 2_000, "{}", clipped.len());
    }
}
