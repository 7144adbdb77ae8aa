//! What a whole answer of a non-chat endpoint says it used: tokens where the upstream counts
//! them (in whichever of the field names servers use), and the endpoint's own unit (search
//! units, audio seconds, images) where the answer carries it.

use app::server::usage::{Endpoint, Tokens, Unit};
use serde::Deserialize;
use serde_json::Value;

/// The tokens and units an answer reports.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Measured {
    pub tokens: Option<Tokens>,
    pub units: i64,
    /// For images: the `quality` and `size` the answer names (gpt-image answers do).
    pub variant: Option<(Option<String>, Option<String>)>,
}

#[derive(Deserialize, Default)]
struct Usage {
    prompt_tokens: Option<i64>,
    completion_tokens: Option<i64>,
    input_tokens: Option<i64>,
    output_tokens: Option<i64>,
    total_tokens: Option<i64>,
    /// OpenAI's transcription usage of type `duration`.
    seconds: Option<f64>,
}

impl Usage {
    fn tokens(&self) -> Option<Tokens> {
        let prompt = self.prompt_tokens.or(self.input_tokens);
        let completion = self.completion_tokens.or(self.output_tokens);
        if prompt.is_none() && completion.is_none() {
            // Rerank servers (vLLM, Jina) report only a total: it is all input.
            return self.total_tokens.map(|t| Tokens {
                prompt_tokens: t,
                completion_tokens: 0,
            });
        }
        Some(Tokens {
            prompt_tokens: prompt.unwrap_or(0),
            completion_tokens: completion.unwrap_or(0),
        })
    }
}

/// Whole seconds, rounded up: a started second of audio is a second transcribed.
fn seconds(s: f64) -> i64 {
    if s.is_finite() && s > 0.0 {
        // Audio lasts hours at most, far inside i64.
        #[allow(clippy::cast_possible_truncation)]
        let whole = s.ceil() as i64;
        whole
    } else {
        0
    }
}

/// What the whole answer `body` of a `kind` request reports.
pub fn answer(kind: Endpoint, body: &[u8]) -> Measured {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        // Text, SRT or VTT transcripts carry no figures; a request is a request.
        let units = i64::from(kind.unit() == Unit::Requests);
        return Measured {
            tokens: None,
            units,
            variant: None,
        };
    };
    let usage = v
        .get("usage")
        .and_then(|u| Usage::deserialize(u).ok())
        .unwrap_or_default();
    let tokens = usage
        .tokens()
        .or_else(|| {
            // Cohere and Xinference report a rerank's tokens in `meta`.
            let meta = v.get("meta")?;
            let input = meta
                .pointer("/billed_units/input_tokens")
                .or_else(|| meta.pointer("/tokens/input_tokens"))?
                .as_i64()?;
            Some(Tokens {
                prompt_tokens: input,
                completion_tokens: 0,
            })
        })
        .filter(|t| t.prompt_tokens > 0 || t.completion_tokens > 0);
    let units = match kind.unit() {
        Unit::Images => v
            .get("data")
            .and_then(Value::as_array)
            .map_or(0, |d| i64::try_from(d.len()).unwrap_or(i64::MAX)),
        Unit::AudioSeconds => usage
            .seconds
            .or_else(|| v.get("duration").and_then(Value::as_f64))
            .map_or(0, seconds),
        // Cohere bills per search unit and says how many; a server that does not say served one.
        Unit::SearchUnits => v
            .pointer("/meta/billed_units/search_units")
            .and_then(Value::as_i64)
            .unwrap_or(1),
        Unit::Requests => 1,
        Unit::Tokens | Unit::PromptTokens | Unit::Characters => 0,
    };
    let variant = (kind.unit() == Unit::Images).then(|| {
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        (text("quality"), text("size"))
    });
    Measured {
        tokens,
        units,
        variant,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(p: i64, c: i64) -> Option<Tokens> {
        Some(Tokens {
            prompt_tokens: p,
            completion_tokens: c,
        })
    }

    #[test]
    fn each_servers_figures_are_read() {
        let vllm_rerank = br#"{"id":"r","results":[{"index":0,"relevance_score":0.9}],"usage":{"total_tokens":42}}"#;
        assert_eq!(
            answer(Endpoint::Rerank, vllm_rerank),
            Measured {
                tokens: t(42, 0),
                units: 1,
                variant: None,
            }
        );
        let cohere = br#"{"results":[],"meta":{"billed_units":{"search_units":2}}}"#;
        assert_eq!(
            answer(Endpoint::Rerank, cohere),
            Measured {
                tokens: None,
                units: 2,
                variant: None,
            }
        );
        let whisper = br#"{"text":"hi","duration":3.2}"#;
        assert_eq!(answer(Endpoint::AudioTranscriptions, whisper).units, 4);
        let duration = br#"{"text":"hi","usage":{"type":"duration","seconds":7}}"#;
        assert_eq!(answer(Endpoint::AudioTranslations, duration).units, 7);
        let tokens = br#"{"text":"hi","usage":{"type":"tokens","input_tokens":14,"output_tokens":3,"total_tokens":17}}"#;
        assert_eq!(
            answer(Endpoint::AudioTranscriptions, tokens).tokens,
            t(14, 3)
        );
        let images = br#"{"created":1,"quality":"high","size":"1024x1536","data":[{"b64_json":"AA"},{"b64_json":"AA"}],"usage":{"input_tokens":5,"output_tokens":100}}"#;
        assert_eq!(
            answer(Endpoint::ImagesGenerations, images),
            Measured {
                tokens: t(5, 100),
                units: 2,
                variant: Some((Some("high".into()), Some("1024x1536".into()))),
            }
        );
        assert_eq!(
            answer(Endpoint::AudioTranscriptions, b"1\n00:00:00,000 --> x"),
            Measured::default()
        );
        assert_eq!(
            answer(Endpoint::Moderations, br#"{"results":[]}"#),
            Measured::default()
        );
    }
}
