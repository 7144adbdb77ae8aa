//! What a `/v1` request carries to its upstream: a JSON body (rewritten in place, or
//! translated), or a multipart upload spooled to disk ([`super::upload`]).

use app::server::usage::{Endpoint, Tokens, Unit};
use axum::http::header;
use serde_json::Value;

use super::{
    ApiError,
    exchange::{Exchange, Translated},
    limits,
    request::ProxyRequest,
    upload::{Received, Upload},
};

/// A request as its handler got it, not yet read.
pub enum Incoming {
    Json(super::body::Body),
    Upload(Received),
}

impl From<super::body::Body> for Incoming {
    fn from(b: super::body::Body) -> Self {
        Self::Json(b)
    }
}

impl From<Received> for Incoming {
    fn from(u: Received) -> Self {
        Self::Upload(u)
    }
}

pub enum Payload {
    Json(ProxyRequest),
    Upload(Upload),
}

impl Payload {
    /// Reads and checks the request.
    pub fn read(incoming: Incoming) -> Result<Self, ApiError> {
        match incoming {
            Incoming::Json(b) => Ok(Self::Json(ProxyRequest::parse(b.0?)?)),
            Incoming::Upload(u) => Ok(Self::Upload(u.0?)),
        }
    }

    pub fn model(&self) -> &str {
        match self {
            Self::Json(r) => &r.model,
            Self::Upload(u) => &u.model,
        }
    }

    pub fn json(&self) -> Option<&ProxyRequest> {
        match self {
            Self::Json(r) => Some(r),
            Self::Upload(_) => None,
        }
    }

    /// Whether the answer comes as server-sent events.
    pub fn streamed(&self, kind: Endpoint) -> bool {
        match self {
            Self::Json(r) => r.stream && !matches!(kind, Endpoint::Embeddings | Endpoint::Rerank),
            Self::Upload(u) => u.stream,
        }
    }

    pub fn client_wants_usage(&self) -> bool {
        self.json().is_some_and(|r| r.client_wants_usage)
    }

    /// The tokens reserved against limits until the real count is known. Uploads (audio,
    /// images) are measured in their own units, which token limits do not bound.
    pub fn estimate(&self, kind: Endpoint, default_max_tokens: i64) -> Tokens {
        match self {
            Self::Json(r) => limits::estimate(r, kind, default_max_tokens),
            Self::Upload(_) => Tokens::default(),
        }
    }

    /// What the request itself says it will use in its endpoint's unit: the characters of
    /// text to speak. Other units are known only from the answer.
    pub fn requested_units(&self, kind: Endpoint) -> Result<i64, ApiError> {
        let (Endpoint::AudioSpeech, Self::Json(r)) = (kind, self) else {
            return Ok(0);
        };
        let input = r
            .value()?
            .get("input")
            .and_then(Value::as_str)
            .map(|s| s.chars().count())
            .ok_or_else(|| ApiError::BadRequest {
                message: "`input` must be the text to speak".into(),
                param: Some("input".into()),
            })?;
        Ok(i64::try_from(input).unwrap_or(i64::MAX))
    }

    /// The `quality` and `size` of the images asked for, where the request names them.
    pub fn image_variant(&self) -> (Option<String>, Option<String>) {
        let field = |name: &str| match self {
            Self::Json(r) => r
                .value()
                .ok()?
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned),
            Self::Upload(u) => u.field(name).map(str::to_owned),
        };
        (field("quality"), field("size"))
    }

    /// Whole seconds of audio uploaded, where the file's header tells.
    pub async fn audio_seconds(&self) -> Option<i64> {
        match self {
            Self::Upload(u) => u.audio_seconds().await,
            Self::Json(_) => None,
        }
    }

    /// The units the request is expected to use, reserved against spending limits until the
    /// answer says: the characters to speak, the images asked for (`n`), one search, the
    /// seconds of audio its header tells (`asked`, for audio).
    pub fn expected_units(&self, kind: Endpoint, asked: i64) -> i64 {
        let n = match self {
            Self::Json(r) => r.n,
            Self::Upload(u) => u.field("n").and_then(|n| n.parse().ok()),
        };
        match kind.unit() {
            Unit::Characters | Unit::AudioSeconds => asked,
            Unit::Images => n.unwrap_or(1).clamp(1, 128),
            Unit::SearchUnits | Unit::Requests => 1,
            Unit::Tokens | Unit::PromptTokens => 0,
        }
    }

    /// The request to a target reached through `exchange` that knows the model as
    /// `upstream_model`, with its body.
    pub async fn attach(
        &self,
        req: reqwest::RequestBuilder,
        exchange: Exchange,
        usage_asked: bool,
        upstream_model: &str,
        translated: &Translated,
    ) -> Result<reqwest::RequestBuilder, ApiError> {
        match self {
            Self::Upload(u) => Ok(req.multipart(u.form(upstream_model).await?)),
            Self::Json(r) => {
                let body = match exchange {
                    Exchange::Direct => r.for_upstream(upstream_model, usage_asked),
                    // Prepared for every exchange that translates.
                    _ => translated
                        .for_model(exchange, upstream_model)
                        .unwrap_or_default(),
                };
                Ok(req
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(body))
            }
        }
    }
}
