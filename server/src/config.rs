//! Settings: flags and `PORTCULLIS_*` variables first, then the optional TOML file, then defaults.

pub mod auth;
pub mod secrets;

use std::path::{Path, PathBuf};

use app::server::{DatabaseUrl, db::PoolSettings};
use serde::Deserialize;

use crate::cli::{GlobalArgs, LogFormat};

pub const DEFAULT_DATA_DIR: &str = "data";
pub const DEFAULT_LOG_FILTER: &str = "info";

/// The TOML file given with `--config`. Unknown keys are refused, so a typo is an error rather
/// than a silently ignored setting.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default)]
    pub server: FileServer,
    #[serde(default)]
    pub database: FileDatabase,
    #[serde(default)]
    pub log: FileLog,
    #[serde(default)]
    pub auth: auth::FileAuth,
    #[serde(default)]
    pub upstreams: Vec<FileUpstream>,
    #[serde(default)]
    pub models: Vec<app::server::upstreams::config::ModelSpec>,
}

/// An `[[upstreams]]` entry. The credential is never written in the file itself: it names the
/// environment variable or file that holds it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileUpstream {
    pub name: String,
    /// For example `http://127.0.0.1:8000/v1` or `https://api.openai.com/v1`.
    pub base_url: String,
    /// `openai` (the default), `openai_responses` (the same, and the Responses API too) or
    /// `anthropic`: the API the upstream speaks.
    #[serde(default)]
    pub api: app::types::UpstreamApi,
    pub credential_env: Option<String>,
    pub credential_file: Option<PathBuf>,
    #[serde(default)]
    pub headers: std::collections::HashMap<String, String>,
    #[serde(default, with = "humantime_serde_opt")]
    pub connect_timeout: Option<std::time::Duration>,
    #[serde(default, with = "humantime_serde_opt")]
    pub idle_timeout: Option<std::time::Duration>,
    /// Offer every model the upstream lists at its own `/models`.
    #[serde(default)]
    pub discover_models: bool,
    /// Further paths clients may call on it through the gateway, under a key
    /// (`["/tokenize", "/v1/score"]`).
    #[serde(default)]
    pub extra_paths: Vec<String>,
}

/// A secret the file points to: an environment variable or a file, never the file itself.
pub fn read_secret(
    what: &str,
    env: Option<&str>,
    file: Option<&Path>,
) -> anyhow::Result<Option<String>> {
    Ok(match (env, file) {
        (Some(_), Some(_)) => {
            anyhow::bail!("{what}: give the secret's environment variable or its file, not both")
        }
        (Some(var), None) => Some(std::env::var(var).map_err(|_| {
            anyhow::anyhow!(
                "{what}: the environment variable `{var}` holding its secret is not set"
            )
        })?),
        (None, Some(path)) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("{what}: cannot read `{}`: {e}", path.display()))?
                .trim()
                .to_owned(),
        ),
        (None, None) => None,
    })
}

/// Durations written as `5s`, `2m`.
mod humantime_serde_opt {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<std::time::Duration>, D::Error> {
        let s: Option<String> = Option::deserialize(d)?;
        s.map(|s| humantime::parse_duration(&s).map_err(serde::de::Error::custom))
            .transpose()
    }
}

impl FileUpstream {
    /// The upstream with its credential read from where the file points.
    pub fn resolve(&self) -> anyhow::Result<app::server::upstreams::config::UpstreamSpec> {
        let credential = read_secret(
            &format!("upstream `{}`", self.name),
            self.credential_env.as_deref(),
            self.credential_file.as_deref(),
        )?;
        Ok(app::server::upstreams::config::UpstreamSpec {
            name: self.name.clone(),
            base_url: self.base_url.clone(),
            api: self.api,
            credential: credential.map(secrecy::SecretString::from),
            headers: self.headers.clone(),
            connect_timeout: self
                .connect_timeout
                .unwrap_or(app::server::upstreams::upstream::DEFAULT_CONNECT_TIMEOUT),
            idle_timeout: self
                .idle_timeout
                .unwrap_or(app::server::upstreams::upstream::DEFAULT_IDLE_TIMEOUT),
            discover_models: self.discover_models,
            extra_paths: self.extra_paths.clone(),
        })
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileServer {
    pub data_dir: Option<PathBuf>,
    pub listen: Option<std::net::SocketAddr>,
    pub leptos_config: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileDatabase {
    #[serde(default, deserialize_with = "de_database_url")]
    pub url: Option<DatabaseUrl>,
    pub max_connections: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileLog {
    pub format: Option<LogFormat>,
    pub filter: Option<String>,
}

fn de_database_url<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<DatabaseUrl>, D::Error> {
    let s: Option<String> = Option::deserialize(d)?;
    s.map(|s| s.parse().map_err(serde::de::Error::custom))
        .transpose()
}

impl FileConfig {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            anyhow::anyhow!(
                "cannot read the configuration file `{}`: {e}",
                path.display()
            )
        })?;
        toml::from_str(&text)
            .map_err(|e| anyhow::anyhow!("invalid configuration file `{}`: {e}", path.display()))
    }
}

/// Settings every command shares, resolved.
#[derive(Debug)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub database_url: DatabaseUrl,
    pub pool: PoolSettings,
    pub log_format: LogFormat,
    pub log_filter: String,
    pub file: FileConfig,
}

impl Settings {
    pub fn resolve(args: &GlobalArgs) -> anyhow::Result<Self> {
        let file = match &args.config {
            Some(path) => FileConfig::load(path)?,
            None => FileConfig::default(),
        };
        let data_dir = args
            .data_dir
            .clone()
            .or_else(|| file.server.data_dir.clone())
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let database_url = match args
            .database_url
            .clone()
            .or_else(|| file.database.url.clone())
        {
            Some(url) => url,
            None => default_sqlite_url(&data_dir)?,
        };
        let mut pool = PoolSettings::default();
        if let Some(n) = args
            .database_max_connections
            .or(file.database.max_connections)
        {
            anyhow::ensure!(n > 0, "the database needs at least one connection");
            pool.max_connections = n;
        }
        Ok(Self {
            database_url,
            pool,
            log_format: args
                .log_format
                .or(file.log.format)
                .unwrap_or(LogFormat::Text),
            log_filter: args
                .log
                .clone()
                .or_else(|| file.log.filter.clone())
                .unwrap_or_else(|| DEFAULT_LOG_FILTER.to_owned()),
            data_dir,
            file,
        })
    }
}

fn default_sqlite_url(data_dir: &Path) -> anyhow::Result<DatabaseUrl> {
    let path = data_dir.join("portcullis.db");
    let path = path
        .to_str()
        .ok_or_else(|| anyhow::anyhow!("the data directory path must be valid UTF-8"))?;
    format!("sqlite://{path}")
        .parse()
        .map_err(anyhow::Error::msg)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::Cli;

    fn resolve(args: &[&str]) -> anyhow::Result<Settings> {
        let mut argv = vec!["portcullis"];
        argv.extend_from_slice(args);
        Settings::resolve(&Cli::try_parse_from(argv)?.global)
    }

    #[test]
    fn defaults_to_sqlite_in_the_data_directory() {
        let s = resolve(&[]).unwrap();
        assert_eq!(s.database_url.expose(), "sqlite://data/portcullis.db");
        let s = resolve(&["--data-dir", "/var/lib/pc"]).unwrap();
        assert_eq!(
            s.database_url.expose(),
            "sqlite:///var/lib/pc/portcullis.db"
        );
    }

    #[test]
    fn flags_override_the_file_and_the_file_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("portcullis.toml");
        std::fs::write(
            &path,
            "[database]\nurl = \"postgres://u:p@localhost/db\"\nmax_connections = 3\n[log]\nformat = \"json\"\n",
        )
        .unwrap();
        let p = path.to_str().unwrap();
        let s = resolve(&["--config", p]).unwrap();
        assert_eq!(s.database_url.expose(), "postgres://u:p@localhost/db");
        assert_eq!(s.pool.max_connections, 3);
        assert_eq!(s.log_format, LogFormat::Json);
        let s = resolve(&[
            "--config",
            p,
            "--database-url",
            "sqlite://x.db",
            "--log-format",
            "text",
        ])
        .unwrap();
        assert_eq!(s.database_url.expose(), "sqlite://x.db");
        assert_eq!(s.log_format, LogFormat::Text);
    }

    #[test]
    fn a_typo_in_the_file_is_an_error_that_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "[database]\nurll = \"sqlite://x\"\n").unwrap();
        let e = resolve(&["--config", path.to_str().unwrap()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("urll"), "{e}");
    }
}
