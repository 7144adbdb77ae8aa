//! One upstream server as the gateway talks to it: its base URL, the API it speaks, its
//! credential (unsealed in memory only), extra headers and its own connection pool.

use std::{collections::HashMap, time::Duration};

use reqwest::{
    RequestBuilder,
    header::{self, HeaderMap, HeaderName, HeaderValue},
};
use secrecy::{ExposeSecret, SecretString};

use crate::{
    server::{CoreError, db::routing::UpstreamRow, seal, secrets::Keyring, usage::Endpoint},
    types::UpstreamApi,
};

pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(120);

/// The paths called on every upstream, whose URLs are worth parsing once: each endpoint's own
/// (but a declared path, which is the client's), and these.
const OTHER_PATHS: [&str; 2] = ["models", "messages/count_tokens"];

/// The `anthropic-version` sent to an Anthropic upstream when the client named none (a request
/// translated from chat completions): the version whose shapes the translation writes.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

#[derive(Debug)]
pub struct Upstream {
    pub upstream_id: String,
    pub name: String,
    /// Without a trailing slash, e.g. `http://127.0.0.1:8000/v1`.
    pub base_url: String,
    pub api: UpstreamApi,
    /// The credential (marked sensitive, so `Debug` hides it) and the extra headers, ready to
    /// send: built once, not for every request.
    headers: HeaderMap,
    /// The paths the proxy calls, joined to the base URL and parsed once.
    urls: Vec<(&'static str, reqwest::Url)>,
    pub discover_models: bool,
    /// Further paths clients may call on it through the gateway ([`super::paths`]).
    pub extra_paths: Vec<String>,
    /// Its own connection pool, with its connect timeout and a per-read idle timeout (never a
    /// whole-request timeout: a long stream is not a slow one).
    client: reqwest::Client,
}

/// How to reach an upstream, its credential in the clear.
pub struct Settings<'a> {
    pub upstream_id: &'a str,
    pub name: &'a str,
    pub base_url: &'a str,
    pub api: UpstreamApi,
    pub credential: Option<SecretString>,
    pub headers: Vec<(String, String)>,
    pub connect_timeout: Duration,
    pub idle_timeout: Duration,
    pub discover_models: bool,
    pub extra_paths: Vec<String>,
}

impl Upstream {
    pub fn new(s: Settings<'_>) -> Result<Self, CoreError> {
        let client = reqwest::Client::builder()
            .connect_timeout(s.connect_timeout)
            .read_timeout(s.idle_timeout)
            .tcp_nodelay(true)
            // An inference API has no business redirecting; following one would resend the
            // body, and the credential, somewhere else. Not following also spares every
            // request the redirect layer's work.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| CoreError::Internal(format!("HTTP client: {e}")))?;
        let invalid =
            |what: &str| CoreError::Config(format!("upstream `{}`: invalid {what}", s.name));
        let mut headers = HeaderMap::new();
        for (name, value) in &s.headers {
            headers.insert(
                HeaderName::try_from(name.as_str()).map_err(|_| invalid("header name"))?,
                HeaderValue::try_from(value.as_str()).map_err(|_| invalid("header value"))?,
            );
        }
        if let Some(credential) = &s.credential {
            // Anthropic takes its key as `x-api-key`; everyone else as a bearer token.
            let (name, value) = match s.api {
                UpstreamApi::Openai | UpstreamApi::OpenaiResponses => (
                    header::AUTHORIZATION,
                    format!("Bearer {}", credential.expose_secret()),
                ),
                UpstreamApi::Anthropic => (
                    HeaderName::from_static("x-api-key"),
                    credential.expose_secret().to_owned(),
                ),
            };
            let mut value = HeaderValue::try_from(value).map_err(|_| invalid("credential"))?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        if s.api == UpstreamApi::Anthropic && !headers.contains_key("anthropic-version") {
            headers.insert(
                "anthropic-version",
                HeaderValue::from_static(ANTHROPIC_VERSION),
            );
        }
        let base_url = s.base_url.trim_end_matches('/').to_owned();
        let urls = Endpoint::ALL
            .iter()
            .filter(|e| **e != Endpoint::Passthrough)
            .map(|e| e.name())
            .chain(OTHER_PATHS)
            .filter_map(|path| {
                Some((
                    path,
                    reqwest::Url::parse(&format!("{base_url}/{path}")).ok()?,
                ))
            })
            .collect();
        Ok(Self {
            upstream_id: s.upstream_id.to_owned(),
            name: s.name.to_owned(),
            base_url,
            api: s.api,
            headers,
            urls,
            discover_models: s.discover_models,
            extra_paths: s.extra_paths,
            client,
        })
    }

    /// From its database row, unsealing the credential.
    pub fn from_row(row: &UpstreamRow, keyring: &Keyring) -> Result<Self, CoreError> {
        let credential = row
            .credential_sealed
            .as_deref()
            .map(|s| seal::open(keyring, &seal_context(&row.upstream_id), s))
            .transpose()?;
        Self::new(Settings {
            upstream_id: &row.upstream_id,
            name: &row.name,
            base_url: &row.base_url,
            api: UpstreamApi::parse(&row.api),
            credential,
            headers: parse_headers(row.extra_headers.as_deref(), &row.name)?,
            connect_timeout: millis(row.connect_timeout_ms, DEFAULT_CONNECT_TIMEOUT),
            idle_timeout: millis(row.idle_timeout_ms, DEFAULT_IDLE_TIMEOUT),
            discover_models: row.discover_models,
            extra_paths: parse_paths(row.extra_paths.as_deref(), &row.name)?,
        })
    }

    /// A request to `path` under the base URL, with the upstream's credential and headers. The
    /// client's own credentials are never passed on.
    pub fn request(&self, method: reqwest::Method, path: &str) -> RequestBuilder {
        let req = match self.urls.iter().find(|(p, _)| *p == path) {
            Some((_, url)) => self.client.request(method, url.clone()),
            None => self
                .client
                .request(method, format!("{}/{path}", self.base_url)),
        };
        req.headers(self.headers.clone())
    }
}

impl Upstream {
    /// A request to `path` at the server's root rather than under its API root: the base URL
    /// without a final `/v1`, where vLLM serves `/tokenize`.
    pub fn root_request(&self, method: reqwest::Method, path: &str) -> RequestBuilder {
        let root = self.base_url.strip_suffix("/v1").unwrap_or(&self.base_url);
        self.client
            .request(method, format!("{root}/{path}"))
            .headers(self.headers.clone())
    }
}

/// What a sealed upstream credential is bound to: its own row.
pub fn seal_context(upstream_id: &str) -> String {
    format!("upstream:{upstream_id}")
}

/// The stored JSON list of extra paths.
pub fn parse_paths(json: Option<&str>, upstream: &str) -> Result<Vec<String>, CoreError> {
    json.map(serde_json::from_str)
        .transpose()
        .map_err(|e| CoreError::Internal(format!("upstream `{upstream}` extra paths: {e}")))
        .map(Option::unwrap_or_default)
}

/// The stored JSON object of extra headers.
pub fn parse_headers(
    json: Option<&str>,
    upstream: &str,
) -> Result<Vec<(String, String)>, CoreError> {
    let headers: HashMap<String, String> = json
        .map(serde_json::from_str)
        .transpose()
        .map_err(|e| CoreError::Internal(format!("upstream `{upstream}` headers: {e}")))?
        .unwrap_or_default();
    let mut headers: Vec<_> = headers.into_iter().collect();
    headers.sort();
    Ok(headers)
}

fn millis(ms: i64, default: Duration) -> Duration {
    u64::try_from(ms).map_or(default, Duration::from_millis)
}
