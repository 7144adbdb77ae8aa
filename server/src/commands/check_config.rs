use app::server::Db;

use crate::{
    cli::GlobalArgs,
    config::{Settings, secrets},
    console,
};

/// Reports on each part of the configuration; fails if any part is wrong. Writes nothing.
pub async fn run(global: &GlobalArgs, settings: &Settings) -> anyhow::Result<()> {
    let backend = settings.database_url.backend();
    console::out(&format!(
        "database:   {} ({backend})",
        settings.database_url
    ));
    console::out(&format!("data dir:   {}", settings.data_dir.display()));
    match secrets::check(global, backend, &settings.data_dir)? {
        Some(s) => console::out(&format!(
            "secrets:    ok (encryption key in use: `{}`)",
            s.keyring.current().id
        )),
        None => console::out(&format!(
            "secrets:    none configured; they will be generated at first start in {}",
            settings.data_dir.join(secrets::GENERATED_FILE).display()
        )),
    }
    let upstreams = settings
        .file
        .upstreams
        .iter()
        .map(|u| u.resolve())
        .collect::<anyhow::Result<Vec<_>>>()?;
    app::server::upstreams::config::check(&upstreams, &settings.file.models)?;
    console::out(&format!(
        "routing:    {} upstream(s), {} model(s) declared",
        upstreams.len(),
        settings.file.models.len()
    ));
    let sso = settings.file.auth.resolve()?;
    console::out(&format!(
        "sign-in:    passwords {}, {} identity provider(s), registration {}",
        if sso.password_login { "on" } else { "off" },
        sso.providers.len(),
        sso.registration.as_str()
    ));
    let db = Db::connect(&settings.database_url, &settings.pool).await?;
    let applied = db
        .latest_applied_migration()
        .await
        .ok()
        .flatten()
        .unwrap_or(0);
    let known = db.latest_known_migration();
    db.close().await;
    if applied < known {
        console::out(&format!(
            "schema:     version {applied}, {known} available; `portcullis serve` or `portcullis migrate` will apply it"
        ));
    } else {
        console::out(&format!("schema:     version {applied}, up to date"));
    }
    console::out("configuration ok");
    Ok(())
}
