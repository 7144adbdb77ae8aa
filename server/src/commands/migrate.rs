use app::server::Db;

use crate::{config::Settings, console};

pub async fn run(settings: &Settings) -> anyhow::Result<()> {
    let db = super::open_database(settings).await?;
    let version = db.latest_applied_migration().await?.unwrap_or(0);
    console::out(&format!(
        "{} ({}) is at schema version {version}",
        settings.database_url,
        db.backend()
    ));
    Db::close(&db).await;
    Ok(())
}
