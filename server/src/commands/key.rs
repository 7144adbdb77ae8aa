use anyhow::Context;
use app::server::{
    audit::Actor,
    db,
    keys::manage::{self, NewKeyRequest},
};

use crate::{
    cli::{GlobalArgs, KeyCommand},
    config::Settings,
    console,
};

pub async fn run(global: &GlobalArgs, settings: &Settings, cmd: KeyCommand) -> anyhow::Result<()> {
    let services = super::open_services(global, settings).await?;
    let result = match cmd {
        KeyCommand::Create { user, models, name } => {
            async {
                let owner = db::users::find_by_username(&services.db, &user)
                    .await?
                    .with_context(|| format!("there is no user `{user}`"))?;
                let req = NewKeyRequest {
                    name,
                    user_id: None,
                    models,
                    expires_at: None,
                    allowed_cidrs: Vec::new(),
                };
                let created = manage::create_for(&services, Actor::Console, &owner, req).await?;
                console::err(&format!(
                    "created key `{}` ({}) for `{}`",
                    created.key.name, created.key.api_key_id, owner.username
                ));
                // The key alone on standard output, so scripts can capture it.
                console::out(&created.secret);
                Ok(())
            }
            .await
        }
    };
    services.db.close().await;
    result
}
