use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Who owns a routing row: the configuration file (read-only here), an administrator, or
/// discovery from the upstream's own model list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Config,
    Admin,
    Discovered,
}

/// The API an upstream speaks. Requests in the other API are translated on their way to it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpstreamApi {
    /// OpenAI's chat completions, completions, embeddings and models (vLLM, llama.cpp, Ollama…).
    #[default]
    Openai,
    /// The same, and the Responses API as well (OpenAI, vLLM): Responses requests pass through
    /// instead of being translated to chat completions.
    OpenaiResponses,
    /// Anthropic's Messages API.
    Anthropic,
}

impl UpstreamApi {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Openai => "openai",
            Self::OpenaiResponses => "openai_responses",
            Self::Anthropic => "anthropic",
        }
    }

    /// As stored; anything unknown reads as the default.
    pub fn parse(s: &str) -> Self {
        match s {
            "anthropic" => Self::Anthropic,
            "openai_responses" => Self::OpenaiResponses,
            _ => Self::Openai,
        }
    }

    /// Whether it speaks OpenAI's chat completions (with or without the Responses API).
    pub fn is_openai(self) -> bool {
        self != Self::Anthropic
    }
}

/// An upstream as the management API shows it: whether it has a credential, never the
/// credential; the names of its extra headers, never their values (they often carry keys).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpstreamInfo {
    pub upstream_id: String,
    pub name: String,
    pub base_url: String,
    pub api: UpstreamApi,
    pub has_credential: bool,
    pub header_names: Vec<String>,
    pub connect_timeout_ms: u64,
    pub idle_timeout_ms: u64,
    pub discover_models: bool,
    pub enabled: bool,
    pub source: Source,
    /// Further paths clients may call on it through the gateway (`/tokenize`, `/v1/score`…).
    #[serde(default)]
    pub extra_paths: Vec<String>,
    /// What discovery last found at the upstream's `/models`.
    pub discovered_models: Vec<String>,
    pub discovered_at: Option<DateTime<Utc>>,
    pub discovery_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new upstream. Timeouts default to 5 s to connect and 120 s of silence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewUpstream {
    pub name: String,
    /// The API root, e.g. `http://127.0.0.1:8000/v1` or `https://api.anthropic.com/v1`.
    pub base_url: String,
    #[serde(default)]
    pub api: UpstreamApi,
    /// Sent upstream as `Authorization: Bearer …` (as `x-api-key` to an Anthropic upstream);
    /// stored encrypted.
    #[serde(default)]
    pub credential: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub connect_timeout_ms: Option<u64>,
    #[serde(default)]
    pub idle_timeout_ms: Option<u64>,
    #[serde(default)]
    pub discover_models: bool,
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Further paths clients may call on it through the gateway, under a key.
    #[serde(default)]
    pub extra_paths: Vec<String>,
}

/// Changes to an upstream; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpstreamChanges {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default)]
    pub api: Option<UpstreamApi>,
    #[serde(default)]
    pub credential: Option<CredentialChange>,
    /// Replaces every extra header.
    #[serde(default)]
    pub headers: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub connect_timeout_ms: Option<u64>,
    #[serde(default)]
    pub idle_timeout_ms: Option<u64>,
    #[serde(default)]
    pub discover_models: Option<bool>,
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Replaces every extra path.
    #[serde(default)]
    pub extra_paths: Option<Vec<String>>,
}

/// `{"set": "…"}` or `"remove"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialChange {
    Set(String),
    Remove,
}

/// What a connection test found: the upstream's `/models`, how long it took to answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionTest {
    pub ok: bool,
    /// The HTTP status, when the upstream answered at all.
    pub status: Option<u16>,
    pub latency_ms: u64,
    pub models: Vec<String>,
    pub error: Option<String>,
}

/// A public model name and where it is served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// `None` for a model that exists only through discovery.
    pub model_id: Option<String>,
    pub name: String,
    pub enabled: bool,
    pub source: Source,
    pub created_at: DateTime<Utc>,
    pub targets: Vec<TargetInfo>,
    /// Micro-units of the deployment's currency per million prompt tokens; `None`: unpriced.
    #[serde(default)]
    pub input_price_micros: Option<i64>,
    /// The same, per million completion tokens.
    #[serde(default)]
    pub output_price_micros: Option<i64>,
    /// The same, per unit of a non-token endpoint: an audio second transcribed, 1,000
    /// characters spoken, an image, a search unit.
    #[serde(default)]
    pub unit_price_micros: Option<i64>,
    /// The same, per image, by `quality/size` (`high/1024x1536`), `size` or `quality`, where an
    /// image's answer (or request) names them; an image none matches costs the unit price.
    #[serde(default)]
    pub image_prices: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetInfo {
    pub target_id: String,
    pub upstream_id: String,
    pub upstream_name: String,
    /// The name the upstream knows the model by.
    pub upstream_model: String,
    pub weight: u32,
    pub enabled: bool,
    /// As this gateway instance sees it; `None` while the target is not routed (disabled).
    pub health: Option<TargetHealth>,
}

/// A target's recent record on the instance that answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetHealth {
    pub in_flight: u64,
    /// Set while the target is out of rotation after a failure.
    pub cooling_down_ms: Option<u64>,
    pub successes: u64,
    pub failures: u64,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_failure_at: Option<DateTime<Utc>>,
    pub last_failure: Option<String>,
}

/// A new model, or a model's whole new target list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewModel {
    pub name: String,
    #[serde(default)]
    pub enabled: Option<bool>,
    pub targets: Vec<NewTarget>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTarget {
    pub upstream_id: String,
    /// Defaults to the public name.
    #[serde(default)]
    pub upstream_model: Option<String>,
    #[serde(default)]
    pub weight: Option<u32>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelChanges {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Replaces every target.
    #[serde(default)]
    pub targets: Option<Vec<NewTarget>>,
}

/// A model the caller may use, for pickers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AvailableModel {
    pub name: String,
    pub created_at: DateTime<Utc>,
}
