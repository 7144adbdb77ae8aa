//! The command line: every option also reads a `PORTCULLIS_*` environment variable.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use app::server::DatabaseUrl;
use app::types::Role;
use clap::{Args, Parser, Subcommand, ValueEnum};
use secrecy::SecretString;

#[derive(Debug, Parser)]
#[command(
    name = "portcullis",
    version,
    about = "Self-hosted gateway: accounts, API keys and per-model permissions in front of LLM inference servers",
    long_about = None,
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub global: GlobalArgs,
}

impl Cli {
    /// The subcommand, `serve` with its defaults when none was given.
    pub fn command(&self) -> Command {
        self.command
            .clone()
            .unwrap_or(Command::Serve(ServeArgs::default()))
    }
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Optional TOML configuration file; flags and environment variables override it
    #[arg(long, env = "PORTCULLIS_CONFIG", global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Directory for the embedded SQLite database and the generated secrets [default: ./data]
    #[arg(long, env = "PORTCULLIS_DATA_DIR", global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Database: `sqlite://PATH` or `postgres://USER:PASSWORD@HOST:PORT/DB`
    /// [default: sqlite://DATA_DIR/portcullis.db]
    #[arg(
        long,
        env = "PORTCULLIS_DATABASE_URL",
        global = true,
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: Option<DatabaseUrl>,

    /// Largest number of pooled database connections [default: 16]
    #[arg(
        long,
        env = "PORTCULLIS_DATABASE_MAX_CONNECTIONS",
        global = true,
        value_name = "N"
    )]
    pub database_max_connections: Option<u32>,

    /// Key that signs access tokens, at least 32 characters (prefer the environment or the _FILE
    /// form: command lines are visible to other local users)
    #[arg(
        long,
        env = "PORTCULLIS_JWT_SECRET",
        global = true,
        hide_env_values = true,
        value_name = "SECRET",
        conflicts_with = "jwt_secret_file"
    )]
    pub jwt_secret: Option<SecretString>,

    /// File holding the access-token signing key
    #[arg(
        long,
        env = "PORTCULLIS_JWT_SECRET_FILE",
        global = true,
        value_name = "FILE"
    )]
    pub jwt_secret_file: Option<PathBuf>,

    /// AES-256-GCM keys sealing stored credentials: `id:BASE64[,id:BASE64…]`, the first one
    /// encrypts; each key is 32 bytes (`openssl rand -base64 32`)
    #[arg(
        long,
        env = "PORTCULLIS_ENCRYPTION_KEYS",
        global = true,
        hide_env_values = true,
        value_name = "KEYS",
        conflicts_with = "encryption_keys_file"
    )]
    pub encryption_keys: Option<SecretString>,

    /// File holding the encryption keys
    #[arg(
        long,
        env = "PORTCULLIS_ENCRYPTION_KEYS_FILE",
        global = true,
        value_name = "FILE"
    )]
    pub encryption_keys_file: Option<PathBuf>,

    /// Who may reveal an API key's secret again after creation: the key's `owner` (and
    /// administrators), `admins` only, or nobody (`off`: secrets are not even stored sealed)
    #[arg(
        long,
        env = "PORTCULLIS_KEY_REVEAL",
        value_enum,
        default_value = "owner",
        global = true
    )]
    pub key_reveal: KeyReveal,

    /// Log format [default: text]
    #[arg(long, env = "PORTCULLIS_LOG_FORMAT", global = true, value_enum)]
    pub log_format: Option<LogFormat>,

    /// Log filter, in `tracing` syntax (for example `info,portcullis=debug`) [default: info]
    #[arg(long, env = "PORTCULLIS_LOG", global = true, value_name = "FILTER")]
    pub log: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines
    Text,
    /// One JSON object per line
    Json,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum KeyReveal {
    /// The key's owner and administrators
    #[default]
    Owner,
    /// Administrators only
    Admins,
    /// Nobody
    Off,
}

#[derive(Debug, Clone, Subcommand)]
#[expect(
    clippy::large_enum_variant,
    reason = "parsed once at start; boxing would only complicate clap's derive"
)]
pub enum Command {
    /// Run the gateway: web UI, management API and the /v1 proxy (the default)
    Serve(ServeArgs),
    /// Apply pending database migrations, then exit
    Migrate,
    /// Manage user accounts from the console
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API keys from the console
    #[command(subcommand)]
    Key(KeyCommand),
    /// Import users (their passwords hashed on import), permissions and API keys from
    /// Xinference's JSON auth configuration file; a malformed file changes nothing
    ImportAuth {
        /// The Xinference auth configuration (JSON)
        file: PathBuf,
    },
    /// Check the configuration, the secrets and the database connection, then exit
    CheckConfig,
}

#[derive(Debug, Clone, Subcommand)]
pub enum KeyCommand {
    /// Create an API key for a user and print it (the only time it is shown in full, unless
    /// revealing keys is allowed)
    Create {
        /// The owner's username
        #[arg(long)]
        user: String,
        /// Models the key may use, comma-separated (within the owner's); default: all of the owner's
        #[arg(long, value_delimiter = ',')]
        models: Vec<String>,
        /// A name to recognise the key by
        #[arg(long, default_value = "console")]
        name: String,
    },
}

impl From<KeyReveal> for app::server::keys::RevealPolicy {
    fn from(k: KeyReveal) -> Self {
        match k {
            KeyReveal::Owner => Self::Owner,
            KeyReveal::Admins => Self::Admins,
            KeyReveal::Off => Self::Off,
        }
    }
}

#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: `site-addr` in the Leptos configuration, 127.0.0.1:3000]
    #[arg(long, env = "PORTCULLIS_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,

    /// The Leptos configuration: where the compiled web app is served from [default: Leptos.toml]
    #[arg(long, env = "PORTCULLIS_LEPTOS_CONFIG", value_name = "FILE")]
    pub leptos_config: Option<PathBuf>,

    /// Lifetime of access tokens, for example `15m` or `90s` [default: 15m]
    #[arg(long, env = "PORTCULLIS_ACCESS_TOKEN_TTL", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub access_token_ttl: Option<Duration>,

    /// Lifetime of a refresh token before it must be rotated [default: 7days]
    #[arg(long, env = "PORTCULLIS_REFRESH_TOKEN_TTL", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub refresh_token_ttl: Option<Duration>,

    /// Longest a sign-in lasts, however often it is refreshed [default: 30days]
    #[arg(long, env = "PORTCULLIS_SESSION_MAX_AGE", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub session_max_age: Option<Duration>,

    /// Failed sign-ins per username within the throttle window before further attempts wait [default: 5]
    #[arg(long, env = "PORTCULLIS_LOGIN_MAX_FAILURES_PER_USER", value_name = "N")]
    pub login_max_failures_per_user: Option<usize>,

    /// Failed sign-ins per client address within the throttle window [default: 20]
    #[arg(
        long,
        env = "PORTCULLIS_LOGIN_MAX_FAILURES_PER_ADDRESS",
        value_name = "N"
    )]
    pub login_max_failures_per_address: Option<usize>,

    /// Reverse proxies (comma-separated addresses or CIDR ranges) whose `X-Forwarded-For` header
    /// is believed for the client's address; by default none is
    #[arg(long, env = "PORTCULLIS_TRUSTED_PROXIES", value_name = "CIDRS", value_delimiter = ',', value_parser = parse_net)]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// Usage events that may wait to be written; beyond that they are dropped and counted,
    /// never delaying a request
    #[arg(
        long,
        env = "PORTCULLIS_USAGE_QUEUE",
        value_name = "N",
        default_value_t = 10_000
    )]
    pub usage_queue: usize,

    /// Largest /v1 request body; larger ones get 413 (e.g. 32MiB, 100MB)
    #[arg(
        long,
        env = "PORTCULLIS_MAX_REQUEST_BODY",
        value_name = "SIZE",
        default_value = "32MiB"
    )]
    pub max_request_body: bytesize::ByteSize,

    /// Largest multipart upload to /v1 (audio to transcribe, images to edit), spooled to the
    /// temporary directory rather than held in memory
    #[arg(
        long,
        env = "PORTCULLIS_MAX_UPLOAD_SIZE",
        value_name = "SIZE",
        default_value = "100MiB"
    )]
    pub max_upload_size: bytesize::ByteSize,

    /// Time a client has to send a request's head, and the longest a kept-alive connection may
    /// sit idle; slower clients are disconnected
    #[arg(
        long,
        env = "PORTCULLIS_HEADER_READ_TIMEOUT",
        value_name = "DURATION",
        value_parser = humantime::parse_duration,
        default_value = "30s"
    )]
    pub header_read_timeout: Duration,

    /// Time a client has to send a whole /v1 request body; slower ones get 408
    #[arg(
        long,
        env = "PORTCULLIS_REQUEST_BODY_TIMEOUT",
        value_name = "DURATION",
        value_parser = humantime::parse_duration,
        default_value = "60s"
    )]
    pub request_body_timeout: Duration,

    /// Connections served at once; beyond that new ones wait to be accepted
    #[arg(
        long,
        env = "PORTCULLIS_MAX_CONNECTIONS",
        value_name = "N",
        default_value_t = 10_000
    )]
    pub max_connections: usize,

    /// How often upstreams with model discovery are asked for their model list
    #[arg(
        long,
        env = "PORTCULLIS_DISCOVERY_INTERVAL",
        value_name = "DURATION",
        value_parser = humantime::parse_duration,
        default_value = "5m"
    )]
    pub discovery_interval: std::time::Duration,

    /// Also accept signed-in users' access tokens on /v1, not only API keys
    #[arg(long, env = "PORTCULLIS_ALLOW_JWT_ON_V1")]
    pub allow_jwt_on_v1: bool,

    /// Window over which failed sign-ins are counted [default: 15m]
    #[arg(long, env = "PORTCULLIS_LOGIN_THROTTLE_WINDOW", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub login_throttle_window: Option<Duration>,

    /// When the limit ledger (the database) cannot be reached: `closed` refuses requests that
    /// have limits (503), `open` lets them through on this instance's own count [default: closed]
    #[arg(long, env = "PORTCULLIS_LIMITS_ON_DATABASE_ERROR", value_enum)]
    pub limits_on_database_error: Option<FailMode>,

    /// A limit lease slower than this counts as the database being unreachable [default: 500ms]
    #[arg(long, env = "PORTCULLIS_LIMIT_LEASE_TIMEOUT", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub limit_lease_timeout: Option<Duration>,

    /// Tokens reserved against token limits for an answer whose request sets no max_tokens,
    /// until the real count is known [default: 4096]
    #[arg(long, env = "PORTCULLIS_DEFAULT_MAX_TOKENS", value_name = "N")]
    pub default_max_tokens: Option<i64>,

    /// How long raw usage events are kept (hourly and daily rollups are kept forever); 0 keeps
    /// them forever [default: 90d]
    #[arg(long, env = "PORTCULLIS_USAGE_RETENTION", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub usage_retention: Option<Duration>,

    /// Keys one user may have in use (not revoked) at once
    #[arg(
        long,
        env = "PORTCULLIS_MAX_KEYS_PER_USER",
        value_name = "N",
        default_value_t = 100
    )]
    pub max_keys_per_user: i64,

    /// How long audit log entries are kept; 0 keeps them forever [default: 400d]
    #[arg(long, env = "PORTCULLIS_AUDIT_RETENTION", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub audit_retention: Option<Duration>,

    /// Keep Responses API answers this long, so that `previous_response_id`,
    /// `GET /v1/responses/{id}`, its `input_items` and `DELETE` work; each is visible only to the
    /// user whose key made it. Unset, none are kept and those answer 400 [default: unset]
    #[arg(long, env = "PORTCULLIS_STORE_RESPONSES", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub store_responses: Option<Duration>,

    /// How long ended sign-in sessions (signed out, revoked, expired) are kept [default: 30d]
    #[arg(long, env = "PORTCULLIS_SESSION_RETENTION", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub session_retention: Option<Duration>,

    /// Bearer token that /metrics requires; unset, /metrics is open
    #[arg(
        long,
        env = "PORTCULLIS_METRICS_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub metrics_token: Option<SecretString>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailMode {
    /// Refuse requests whose limits cannot be checked
    Closed,
    /// Let them through on this instance's own count
    Open,
}

impl From<FailMode> for app::server::limits::FailMode {
    fn from(m: FailMode) -> Self {
        match m {
            FailMode::Closed => Self::Closed,
            FailMode::Open => Self::Open,
        }
    }
}

#[derive(Debug, Clone, Subcommand)]
pub enum UserCommand {
    /// Create a user. The password is read from standard input when it is not a terminal;
    /// otherwise (or when the input is empty) a random one is generated and printed once
    Create {
        /// Username: 2 to 64 letters, digits and . _ - @ (unique, case-insensitive)
        #[arg(long)]
        username: String,
        /// Role of the new user
        #[arg(long, default_value = "user", value_parser = parse_role)]
        role: Role,
        /// Email address
        #[arg(long)]
        email: Option<String>,
        /// Let the user keep this password instead of changing it at first sign-in
        #[arg(long)]
        no_password_change: bool,
    },
    /// List users
    List {
        /// Only users whose username or email contains this text
        #[arg(long)]
        search: Option<String>,
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Set a new password, to be changed at next sign-in, and end all of the user's sessions.
    /// The password is read from standard input when it is not a terminal; otherwise (or when
    /// the input is empty) a random one is generated and printed once
    ResetPassword {
        /// The user's username
        username: String,
    },
}

/// An address range, or a single address as a /32 or /128 range.
fn parse_net(s: &str) -> Result<ipnet::IpNet, String> {
    let s = s.trim();
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("`{s}` is neither an IP address nor a CIDR range"))
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn definition_is_consistent() {
        <Cli as CommandFactory>::command().debug_assert();
    }

    #[test]
    fn no_subcommand_means_serve() {
        let cli = Cli::try_parse_from(["portcullis"]).unwrap();
        assert!(matches!(cli.command(), Command::Serve(_)));
    }

    #[test]
    fn secret_and_secret_file_conflict() {
        let r = Cli::try_parse_from([
            "portcullis",
            "--jwt-secret",
            "x",
            "--jwt-secret-file",
            "/tmp/x",
        ]);
        assert!(r.is_err());
    }

    #[test]
    fn bad_database_url_is_refused_with_the_accepted_forms() {
        let e = Cli::try_parse_from(["portcullis", "--database-url", "mysql://x", "migrate"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("sqlite://") && e.contains("postgres://"), "{e}");
    }

    #[test]
    fn roles_parse() {
        let cli = Cli::try_parse_from([
            "portcullis",
            "user",
            "create",
            "--username",
            "a",
            "--role",
            "admin",
        ])
        .unwrap();
        let Some(Command::User(UserCommand::Create { role, .. })) = cli.command else {
            panic!("parsed {cli:?}");
        };
        assert_eq!(role, Role::Admin);
        assert!(
            Cli::try_parse_from([
                "portcullis",
                "user",
                "create",
                "--username",
                "a",
                "--role",
                "root"
            ])
            .is_err()
        );
    }
}
