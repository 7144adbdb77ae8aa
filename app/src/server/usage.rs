//! Usage accounting: one event per `/v1` request, queued in memory and written in batches by a
//! background task, so no request waits for the database. Rollups per hour and per day are
//! updated in the same transaction as the events they sum.

pub mod report;
pub mod retention;
pub mod writer;

pub use writer::{UsageRecorder, UsageWriter};

/// Which endpoint served a request; stored as a small integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    ChatCompletions = 1,
    Completions = 2,
    Embeddings = 3,
    /// Anthropic's Messages API, whatever the upstream spoke.
    Messages = 4,
    /// OpenAI's Responses API, whatever the upstream spoke.
    Responses = 5,
}

impl Endpoint {
    /// The path under `/v1`, as clients call it and metrics label it.
    pub fn name(self) -> &'static str {
        match self {
            Self::ChatCompletions => "chat/completions",
            Self::Completions => "completions",
            Self::Embeddings => "embeddings",
            Self::Messages => "messages",
            Self::Responses => "responses",
        }
    }

    /// As stored.
    pub fn from_code(code: i32) -> Option<Self> {
        Some(match code {
            1 => Self::ChatCompletions,
            2 => Self::Completions,
            3 => Self::Embeddings,
            4 => Self::Messages,
            5 => Self::Responses,
            _ => return None,
        })
    }
}

/// How a request ended; stored as a small integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Completed = 0,
    /// The upstream answered with an error, or failed mid-stream.
    UpstreamError = 1,
    /// The client went away before the answer was complete.
    ClientCancelled = 2,
    /// No upstream could be reached.
    Unreachable = 3,
}

/// One `/v1` request, attributed to its user, key, model and target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageEvent {
    pub created_ms: i64,
    pub user_id: String,
    pub api_key_id: Option<String>,
    pub model: String,
    pub target_id: Option<String>,
    pub endpoint: Endpoint,
    pub status: u16,
    pub outcome: Outcome,
    pub streamed: bool,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub total_ms: i64,
    pub ttfb_ms: Option<i64>,
    /// At the model's prices when the request was made; 0 for an unpriced model.
    pub cost_micros: i64,
    /// The tokens are Portcullis's estimate, not the upstream's count.
    pub estimated: bool,
}

/// Token counts as OpenAI-compatible servers report them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
pub struct Tokens {
    #[serde(default)]
    pub prompt_tokens: i64,
    #[serde(default)]
    pub completion_tokens: i64,
}
