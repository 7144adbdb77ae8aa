use std::io::{IsTerminal, Read};

use app::server::{
    audit::Actor,
    users::{self, NewUser},
};
use secrecy::{ExposeSecret, SecretString};

use crate::{cli::UserCommand, config::Settings, console};

pub async fn run(settings: &Settings, cmd: UserCommand) -> anyhow::Result<()> {
    let db = super::open_database(settings).await?;
    let result = match cmd {
        UserCommand::Create {
            username,
            role,
            email,
            no_password_change,
        } => {
            let new = NewUser {
                username,
                email,
                role,
                password: password_from_stdin()?,
                must_change_password: !no_password_change,
            };
            let (user, generated) = users::create(&db, Actor::Console, new).await?;
            console::out(&format!(
                "created {} `{}` ({})",
                user.role, user.username, user.user_id
            ));
            print_generated(generated.as_ref());
            Ok(())
        }
        UserCommand::List { search, json } => {
            let list = users::list(&db, search.as_deref(), i64::MAX, 0).await?;
            if json {
                console::out(&serde_json::to_string_pretty(&list)?);
            } else {
                console::out(&format!(
                    "{:<36}  {:<24}  {:<5}  {:<8}  {}",
                    "ID", "USERNAME", "ROLE", "STATE", "EMAIL"
                ));
                for u in list {
                    let state = if u.enabled { "enabled" } else { "disabled" };
                    console::out(&format!(
                        "{:<36}  {:<24}  {:<5}  {:<8}  {}",
                        u.user_id,
                        u.username,
                        u.role,
                        state,
                        u.email.unwrap_or_default()
                    ));
                }
            }
            Ok(())
        }
        UserCommand::ResetPassword { username } => {
            let (user, generated) =
                users::reset_password(&db, Actor::Console, &username, password_from_stdin()?)
                    .await?;
            console::out(&format!(
                "new password set for `{}`; it must be changed at next sign-in, and every session was ended",
                user.username
            ));
            print_generated(generated.as_ref());
            Ok(())
        }
    };
    db.close().await;
    result
}

/// A password piped in (`echo … | portcullis user create …`), or `None` to generate one.
fn password_from_stdin() -> anyhow::Result<Option<SecretString>> {
    let mut stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Ok(None);
    }
    let mut text = String::new();
    stdin.read_to_string(&mut text)?;
    let line = text.lines().next().unwrap_or_default().to_owned();
    Ok((!line.is_empty()).then(|| SecretString::from(line)))
}

fn print_generated(password: Option<&SecretString>) {
    if let Some(p) = password {
        console::out(&format!(
            "one-time password (shown only now): {}",
            p.expose_secret()
        ));
    }
}
