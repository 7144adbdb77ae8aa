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
    /// Cohere's, Jina's and Xinference's rerank.
    Rerank = 6,
    AudioTranscriptions = 7,
    AudioTranslations = 8,
    AudioSpeech = 9,
    ImagesGenerations = 10,
    ImagesEdits = 11,
    ImagesVariations = 12,
    Moderations = 13,
    /// A further path an upstream declares (`/tokenize`, `/v1/score`…).
    Passthrough = 14,
}

/// What a request of an endpoint is measured in, beside any tokens its upstream reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Tokens in and out: the answer's length is bounded by the request's own limit.
    Tokens,
    /// Tokens in only (embeddings, moderations).
    PromptTokens,
    /// Rerank's search units: one per query (of up to 100 documents).
    SearchUnits,
    /// Seconds of audio transcribed or translated.
    AudioSeconds,
    /// Characters of text spoken.
    Characters,
    /// Images made.
    Images,
    /// Requests, for paths whose answers are not known here.
    Requests,
}

impl Unit {
    pub fn name(self) -> &'static str {
        match self {
            Self::Tokens | Self::PromptTokens => "tokens",
            Self::SearchUnits => "search units",
            Self::AudioSeconds => "audio seconds",
            Self::Characters => "characters",
            Self::Images => "images",
            Self::Requests => "requests",
        }
    }
}

impl Endpoint {
    /// Every endpoint, in code order.
    pub const ALL: [Self; 14] = [
        Self::ChatCompletions,
        Self::Completions,
        Self::Embeddings,
        Self::Messages,
        Self::Responses,
        Self::Rerank,
        Self::AudioTranscriptions,
        Self::AudioTranslations,
        Self::AudioSpeech,
        Self::ImagesGenerations,
        Self::ImagesEdits,
        Self::ImagesVariations,
        Self::Moderations,
        Self::Passthrough,
    ];

    /// The endpoint called `name` ([`Self::name`]).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.name() == name)
    }

    /// The path under `/v1`, as clients call it and metrics label it.
    pub fn name(self) -> &'static str {
        match self {
            Self::ChatCompletions => "chat/completions",
            Self::Completions => "completions",
            Self::Embeddings => "embeddings",
            Self::Messages => "messages",
            Self::Responses => "responses",
            Self::Rerank => "rerank",
            Self::AudioTranscriptions => "audio/transcriptions",
            Self::AudioTranslations => "audio/translations",
            Self::AudioSpeech => "audio/speech",
            Self::ImagesGenerations => "images/generations",
            Self::ImagesEdits => "images/edits",
            Self::ImagesVariations => "images/variations",
            Self::Moderations => "moderations",
            Self::Passthrough => "passthrough",
        }
    }

    /// What its requests are measured in.
    pub fn unit(self) -> Unit {
        match self {
            Self::ChatCompletions | Self::Completions | Self::Messages | Self::Responses => {
                Unit::Tokens
            }
            Self::Embeddings | Self::Moderations => Unit::PromptTokens,
            Self::Rerank => Unit::SearchUnits,
            Self::AudioTranscriptions | Self::AudioTranslations => Unit::AudioSeconds,
            Self::AudioSpeech => Unit::Characters,
            Self::ImagesGenerations | Self::ImagesEdits | Self::ImagesVariations => Unit::Images,
            Self::Passthrough => Unit::Requests,
        }
    }

    /// Whether its request is a multipart upload rather than JSON.
    pub fn is_upload(self) -> bool {
        matches!(
            self,
            Self::AudioTranscriptions
                | Self::AudioTranslations
                | Self::ImagesEdits
                | Self::ImagesVariations
        )
    }

    /// As stored.
    pub fn from_code(code: i32) -> Option<Self> {
        Some(match code {
            1 => Self::ChatCompletions,
            2 => Self::Completions,
            3 => Self::Embeddings,
            4 => Self::Messages,
            5 => Self::Responses,
            6 => Self::Rerank,
            7 => Self::AudioTranscriptions,
            8 => Self::AudioTranslations,
            9 => Self::AudioSpeech,
            10 => Self::ImagesGenerations,
            11 => Self::ImagesEdits,
            12 => Self::ImagesVariations,
            13 => Self::Moderations,
            14 => Self::Passthrough,
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
    /// What the request used in its endpoint's own unit ([`Endpoint::unit`]) when that is not
    /// tokens: search units, audio seconds, characters, images. 0 where unknown.
    pub units: i64,
}

/// Token counts as OpenAI-compatible servers report them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
pub struct Tokens {
    #[serde(default)]
    pub prompt_tokens: i64,
    #[serde(default)]
    pub completion_tokens: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_endpoint_round_trips_and_the_web_app_lists_them_all() {
        for (i, e) in Endpoint::ALL.into_iter().enumerate() {
            assert_eq!(Endpoint::from_code(e as i32), Some(e));
            assert_eq!(e as usize, i + 1);
            assert_eq!(Endpoint::from_name(e.name()), Some(e));
        }
        let names: Vec<_> = Endpoint::ALL.iter().map(|e| e.name()).collect();
        assert_eq!(names, crate::types::ENDPOINTS);
    }
}
