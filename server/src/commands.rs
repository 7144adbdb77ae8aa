//! One module per subcommand.

pub mod check_config;
pub mod import_auth;
pub mod key;
pub mod migrate;
pub mod serve;
pub mod user;

use anyhow::Context;
use app::server::Db;

use crate::{
    cli::{Cli, Command},
    config::Settings,
};

/// Runs the command the user asked for.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::resolve(&cli.global)?;
    crate::telemetry::init(settings.log_format, &settings.log_filter)?;
    match cli.command() {
        Command::Serve(args) => serve::run(&cli.global, &settings, &args).await,
        Command::Migrate => migrate::run(&settings).await,
        Command::User(cmd) => user::run(&settings, cmd).await,
        Command::Key(cmd) => key::run(&cli.global, &settings, cmd).await,
        Command::ImportAuth { file } => import_auth::run(&cli.global, &settings, &file).await,
        Command::CheckConfig => check_config::run(&cli.global, &settings).await,
    }
}

/// The services a console command acts through: the database, up to date, and the secrets.
pub async fn open_services(
    global: &crate::cli::GlobalArgs,
    settings: &Settings,
) -> anyhow::Result<app::server::Services> {
    let backend = settings.database_url.backend();
    let secrets = crate::config::secrets::load(global, backend, &settings.data_dir)?;
    let db = open_database(settings).await?;
    let gateway = app::server::GatewaySettings {
        key_reveal: global.key_reveal.into(),
        ..Default::default()
    };
    Ok(app::server::Services::start(db, secrets, gateway).await?)
}

/// Connects and brings the schema up to date.
pub async fn open_database(settings: &Settings) -> anyhow::Result<Db> {
    let db = Db::connect(&settings.database_url, &settings.pool).await?;
    db.migrate()
        .await
        .with_context(|| format!("cannot migrate `{}`", settings.database_url))?;
    Ok(db)
}
