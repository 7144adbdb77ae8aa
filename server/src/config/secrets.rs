//! Where the deployment's secrets come from: a flag or variable, a `*_FILE`, or — only for the
//! embedded SQLite database — a file generated once in the data directory. PostgreSQL means
//! replicas may share the database, so they must share explicit secrets too.

use std::{
    io::Write,
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::Path,
};

use anyhow::{Context, bail};
use app::server::{
    Backend,
    secrets::{JwtSecret, Keyring, Secrets},
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::cli::GlobalArgs;

pub const GENERATED_FILE: &str = "secrets.toml";

const JWT_HINT: &str = "set PORTCULLIS_JWT_SECRET or PORTCULLIS_JWT_SECRET_FILE \
    (generate one with `openssl rand -base64 48`)";
const KEYS_HINT: &str = "set PORTCULLIS_ENCRYPTION_KEYS or PORTCULLIS_ENCRYPTION_KEYS_FILE \
    (generate one with `echo k1:$(openssl rand -base64 32)`)";

/// What the generated file holds; written once, owner-readable only.
#[derive(Serialize, Deserialize)]
struct GeneratedSecrets {
    jwt_secret: String,
    encryption_keys: String,
}

/// Resolves the secrets, generating the missing ones where that is allowed (SQLite).
pub fn load(args: &GlobalArgs, backend: Backend, data_dir: &Path) -> anyhow::Result<Secrets> {
    resolve(args, backend, data_dir, true)?
        .ok_or_else(|| anyhow::anyhow!("secrets were neither configured nor generated"))
}

/// Like [`load`] but never writes: `None` means they would be generated at first start.
pub fn check(
    args: &GlobalArgs,
    backend: Backend,
    data_dir: &Path,
) -> anyhow::Result<Option<Secrets>> {
    resolve(args, backend, data_dir, false)
}

fn resolve(
    args: &GlobalArgs,
    backend: Backend,
    data_dir: &Path,
    generate: bool,
) -> anyhow::Result<Option<Secrets>> {
    let jwt = explicit(
        args.jwt_secret.as_ref(),
        args.jwt_secret_file.as_deref(),
        "JWT secret",
    )?;
    let keys = explicit(
        args.encryption_keys.as_ref(),
        args.encryption_keys_file.as_deref(),
        "encryption keys",
    )?;
    let (jwt, keys) = match (jwt, keys) {
        (Some(jwt), Some(keys)) => (jwt, keys),
        (jwt, keys) if backend == Backend::Postgres => {
            let mut missing = Vec::new();
            if jwt.is_none() {
                missing.push(JWT_HINT);
            }
            if keys.is_none() {
                missing.push(KEYS_HINT);
            }
            bail!(
                "with PostgreSQL every replica must use the same secrets, so none are generated: {}",
                missing.join("; and ")
            );
        }
        (jwt, keys) => {
            let path = data_dir.join(GENERATED_FILE);
            if !generate && !path.exists() {
                return Ok(None);
            }
            let generated = load_or_generate(&path)?;
            (
                jwt.unwrap_or_else(|| SecretString::from(generated.jwt_secret.clone())),
                keys.unwrap_or_else(|| SecretString::from(generated.encryption_keys.clone())),
            )
        }
    };
    Ok(Some(Secrets {
        jwt: JwtSecret::parse(&jwt).map_err(|e| anyhow::anyhow!("{e}; {JWT_HINT}"))?,
        keyring: Keyring::parse(&keys).map_err(|e| anyhow::anyhow!("{e}; {KEYS_HINT}"))?,
    }))
}

fn explicit(
    value: Option<&SecretString>,
    file: Option<&Path>,
    what: &str,
) -> anyhow::Result<Option<SecretString>> {
    if let Some(v) = value {
        return Ok(Some(v.clone()));
    }
    let Some(path) = file else { return Ok(None) };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the {what} file `{}`", path.display()))?;
    Ok(Some(SecretString::from(text.trim().to_owned())))
}

fn load_or_generate(path: &Path) -> anyhow::Result<GeneratedSecrets> {
    if path.exists() {
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            bail!(
                "`{}` holds secrets but other users may read it (mode {:o}); run `chmod 600 {}`",
                path.display(),
                mode & 0o777,
                path.display()
            );
        }
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        return toml::from_str(&text).with_context(|| format!("`{}` is malformed", path.display()));
    }
    let generated = GeneratedSecrets {
        jwt_secret: JwtSecret::generate().expose_secret().to_owned(),
        encryption_keys: Keyring::generate().expose_secret().to_owned(),
    };
    if !write_private(path, &generated)? {
        // Another process created it first; use what it wrote.
        return load_or_generate(path);
    }
    tracing::warn!(
        path = %path.display(),
        "no secrets configured: generated a JWT secret and an encryption key and stored them in \
         this file, readable only by its owner. Back it up with the database: stored credentials \
         cannot be decrypted without it"
    );
    Ok(generated)
}

/// Returns false when the file already existed. The file appears complete or not at all: it is
/// written under a temporary name and then linked into place, which fails if another process
/// got there first.
fn write_private(path: &Path, secrets: &GeneratedSecrets) -> anyhow::Result<bool> {
    if let Some(dir) = path.parent() {
        app::server::private_fs::create_dir(dir)
            .with_context(|| format!("cannot create the data directory `{}`", dir.display()))?;
    }
    let body = format!(
        "# Generated by Portcullis on first start. Keep it private and back it up with the database.\n{}",
        toml::to_string(secrets)?
    );
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot create `{}`", tmp.display()))?;
    file.write_all(body.as_bytes())?;
    file.sync_all()?;
    let linked = std::fs::hard_link(&tmp, path);
    std::fs::remove_file(&tmp).ok();
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e).with_context(|| format!("cannot create `{}`", path.display())),
    }
}
