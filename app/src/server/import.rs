//! Moving over from Xinference: its JSON auth configuration holds users with plain-text
//! passwords, permissions and API keys. Everything is checked before anything is written, so a
//! malformed file, or one that clashes with existing users or keys, changes nothing.

use std::collections::HashSet;

use chrono::Utc;
use secrecy::SecretString;
use serde::Deserialize;

use super::{
    CoreError, Services,
    audit::{self, Actor, Event},
    db,
    keys::{format, manage},
    password, users,
};
use crate::types::Role;

#[derive(Debug, Deserialize)]
struct XinferenceFile {
    user_config: Vec<XinferenceUser>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct XinferenceUser {
    username: String,
    password: String,
    #[serde(default)]
    permissions: Vec<String>,
    #[serde(default)]
    api_keys: Vec<String>,
}

/// What an import did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub users: Vec<ImportedUser>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct ImportedUser {
    pub username: String,
    pub role: Role,
    pub all_models: bool,
    pub keys: usize,
    /// The imported password is shorter than this gateway accepts: it must be changed at the
    /// first sign-in.
    pub must_change_password: bool,
}

impl ImportReport {
    pub fn keys(&self) -> usize {
        self.users.iter().map(|u| u.keys).sum()
    }
}

/// Parses and checks the whole file; nothing is written.
fn check(text: &str) -> Result<Vec<XinferenceUser>, CoreError> {
    let file: XinferenceFile = serde_json::from_str(text).map_err(|e| {
        CoreError::invalid("file", format!("not a Xinference auth configuration: {e}"))
    })?;
    if file.user_config.is_empty() {
        return Err(CoreError::invalid("user_config", "lists no users"));
    }
    let mut names = HashSet::new();
    let mut keys = HashSet::new();
    for u in &file.user_config {
        users::check_username(&u.username).map_err(|e| {
            CoreError::invalid("user_config", format!("user `{}`: {e}", u.username))
        })?;
        if !names.insert(u.username.to_ascii_lowercase()) {
            return Err(CoreError::invalid(
                "user_config",
                format!("user `{}` appears twice", u.username),
            ));
        }
        if u.password.is_empty() || u.password.chars().count() > password::MAX_LEN {
            return Err(CoreError::invalid(
                "user_config",
                format!("user `{}` has an empty or oversized password", u.username),
            ));
        }
        for k in &u.api_keys {
            if k.trim().len() < 8 || k.chars().any(char::is_whitespace) {
                return Err(CoreError::invalid(
                    "api_keys",
                    format!("user `{}` has a malformed API key", u.username),
                ));
            }
            if !keys.insert(k.clone()) {
                return Err(CoreError::invalid(
                    "api_keys",
                    format!("an API key of `{}` appears twice", u.username),
                ));
            }
        }
    }
    Ok(file.user_config)
}

/// Imports users, their permissions and API keys from a Xinference auth configuration.
pub async fn xinference(services: &Services, text: &str) -> Result<ImportReport, CoreError> {
    let entries = check(text)?;
    for u in &entries {
        if db::users::find_by_username(&services.db, &u.username)
            .await?
            .is_some()
        {
            return Err(CoreError::Conflict(format!(
                "a user named `{}`",
                u.username
            )));
        }
    }
    let mut report = ImportReport::default();
    for u in entries {
        let role = if u.permissions.iter().any(|p| p == "admin") {
            Role::Admin
        } else {
            Role::User
        };
        // Xinference grants model use through `models:*` permissions; without any, the user
        // could use no model there, and can use none here until an administrator grants some.
        let all_models =
            role == Role::Admin || u.permissions.iter().any(|p| p.starts_with("models:"));
        let short = password::check_policy(&SecretString::from(u.password.clone())).is_err();
        let hash = password::hash(SecretString::from(u.password)).await?;
        let user_id = uuid::Uuid::now_v7().to_string();
        let now = Utc::now();
        db::users::insert(
            &services.db,
            &db::users::NewUserRow {
                user_id: &user_id,
                username: &u.username,
                email: None,
                password_hash: Some(&hash),
                role,
                must_change_password: short,
                now,
            },
        )
        .await?;
        db::keys::set_user_permissions(&services.db, &user_id, all_models, &[], true, now).await?;
        for key in &u.api_keys {
            let api_key_id = uuid::Uuid::now_v7().to_string();
            let public_id = format::generate().public_id;
            let sealed = manage::seal_secret(services, &api_key_id, key)?;
            db::keys::insert(
                &services.db,
                &db::keys::NewKeyRow {
                    api_key_id: &api_key_id,
                    public_id: &public_id,
                    user_id: &user_id,
                    name: "imported from Xinference",
                    format: "imported",
                    secret_digest: &format::to_hex(&format::foreign_digest(key)),
                    secret_sealed: sealed.as_deref(),
                    expires_at: None,
                    allowed_cidrs: None,
                    models: &[],
                    managed_by_admin: false,
                    now,
                },
                None,
            )
            .await?;
        }
        let event = Event::new(Actor::Console, "user.import")
            .target("user", &user_id)
            .details(serde_json::json!({
                "from": "xinference", "username": u.username, "role": role, "keys": u.api_keys.len(),
            }));
        audit::record(&services.db, &event).await?;
        report.users.push(ImportedUser {
            username: u.username,
            role,
            all_models,
            keys: u.api_keys.len(),
            must_change_password: short,
        });
    }
    services.keys.catch_up(&services.db).await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_files_are_refused_with_a_reason() {
        for (text, expected) in [
            ("{", "not a Xinference auth configuration"),
            (r#"{"user_config": []}"#, "lists no users"),
            (
                r#"{"user_config": [{"username": "a b", "password": "x"}]}"#,
                "user `a b`: username",
            ),
            (
                r#"{"user_config": [{"username": "ab", "password": "x"}, {"username": "AB", "password": "y"}]}"#,
                "appears twice",
            ),
            (
                r#"{"user_config": [{"username": "ab", "password": ""}]}"#,
                "empty or oversized password",
            ),
            (
                r#"{"user_config": [{"username": "ab", "password": "x", "api_keys": ["short"]}]}"#,
                "malformed API key",
            ),
            (
                r#"{"user_config": [{"username": "ab", "password": "x", "api_keys": ["sk-12345678"]}, {"username": "cd", "password": "x", "api_keys": ["sk-12345678"]}]}"#,
                "appears twice",
            ),
            (
                r#"{"user_config": [{"username": "ab", "password": "x", "role": "admin"}]}"#,
                "unknown field `role`",
            ),
        ] {
            let e = check(text).unwrap_err().to_string();
            assert!(e.contains(expected), "{text}: {e}");
        }
    }
}
