use std::path::Path;

use anyhow::Context;
use app::server::import;

use crate::{cli::GlobalArgs, config::Settings, console};

pub async fn run(global: &GlobalArgs, settings: &Settings, file: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read `{}`", file.display()))?;
    let services = super::open_services(global, settings).await?;
    let result = import::xinference(&services, &text).await;
    services.db.close().await;
    let report = result.with_context(|| format!("nothing imported from `{}`", file.display()))?;
    for u in &report.users {
        let models = if u.all_models {
            "all models"
        } else {
            "no models yet"
        };
        let note = if u.must_change_password {
            "; password too short here, must be changed at first sign-in"
        } else {
            ""
        };
        console::out(&format!(
            "  {} ({}, {models}, {} key(s){note})",
            u.username, u.role, u.keys
        ));
    }
    console::out(&format!(
        "imported {} user(s) and {} API key(s)",
        report.users.len(),
        report.keys()
    ));
    Ok(())
}
