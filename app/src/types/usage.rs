use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Which usage to look at. Users see only their own: their `user_id` is implied.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageFilter {
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub api_key_id: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    /// One of [`ENDPOINTS`]. Filters single requests only: the totals over time are kept per
    /// model, not per endpoint.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Defaults to seven days before `until`.
    #[serde(default)]
    pub since: Option<DateTime<Utc>>,
    /// Defaults to now.
    #[serde(default)]
    pub until: Option<DateTime<Utc>>,
}

/// Requests and tokens over time, by hour (ranges up to two days) or by day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageSummary {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// `hour` or `day`.
    pub bucket: String,
    pub series: Vec<UsagePoint>,
    /// Models by tokens used, most first (at most ten).
    pub top_models: Vec<ModelUsage>,
    pub requests: i64,
    pub errors: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    /// At the models' prices, in micro-units of the deployment's currency.
    #[serde(default)]
    pub cost_micros: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsagePoint {
    pub start: DateTime<Utc>,
    pub requests: i64,
    pub errors: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    #[serde(default)]
    pub cost_micros: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelUsage {
    pub model: String,
    pub requests: i64,
    pub tokens: i64,
}

/// The `/v1` endpoints usage is recorded under, as the usage table names them.
pub const ENDPOINTS: [&str; 14] = [
    "chat/completions",
    "completions",
    "embeddings",
    "messages",
    "responses",
    "rerank",
    "audio/transcriptions",
    "audio/translations",
    "audio/speech",
    "images/generations",
    "images/edits",
    "images/variations",
    "moderations",
    "passthrough",
];

/// One `/v1` request, as the usage table shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageEventInfo {
    pub created_at: DateTime<Utc>,
    pub user_id: String,
    /// `None` once the user is deleted.
    pub username: Option<String>,
    pub api_key_id: Option<String>,
    pub key_name: Option<String>,
    pub model: String,
    /// One of [`ENDPOINTS`].
    pub endpoint: String,
    pub status: i32,
    /// `completed`, `upstream_error`, `client_cancelled` or `unreachable`.
    pub outcome: String,
    pub streamed: bool,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub total_ms: i64,
    pub ttfb_ms: Option<i64>,
    #[serde(default)]
    pub cost_micros: i64,
    /// What it used in its endpoint's own unit, when that is not tokens.
    #[serde(default)]
    pub units: i64,
    /// That unit (`audio seconds`, `characters`, `images`, `search units`); empty for tokens.
    #[serde(default)]
    pub unit: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsagePage {
    pub events: Vec<UsageEventInfo>,
    pub total: i64,
}
