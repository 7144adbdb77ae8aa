//! Token counts in the Responses API's own answers (from an upstream that serves it): a whole
//! answer's top-level `usage`, or the `usage` of the response a stream's last event carries.
//! `input_tokens` already includes the cached ones.

use app::server::usage::Tokens;
use serde::Deserialize;

#[derive(Deserialize)]
struct Usage {
    #[serde(default)]
    input_tokens: i64,
    #[serde(default)]
    output_tokens: i64,
}

impl From<Usage> for Tokens {
    fn from(u: Usage) -> Self {
        Tokens {
            prompt_tokens: u.input_tokens,
            completion_tokens: u.output_tokens,
        }
    }
}

#[derive(Deserialize)]
struct Answer {
    usage: Option<Usage>,
}

/// The counts of a whole answer.
pub fn in_answer(body: &[u8]) -> Option<Tokens> {
    Some(serde_json::from_slice::<Answer>(body).ok()?.usage?.into())
}

/// The counts an event reports: only the final ones (`response.completed`, `…incomplete`,
/// `…failed`) carry them, in their `response`; the others are not parsed.
pub fn in_event(name: &str, data: &str) -> Option<Tokens> {
    #[derive(Deserialize)]
    struct Final {
        response: Answer,
    }
    if !matches!(
        name,
        "response.completed" | "response.incomplete" | "response.failed"
    ) {
        return None;
    }
    Some(
        serde_json::from_str::<Final>(data)
            .ok()?
            .response
            .usage?
            .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_come_from_the_answer_or_its_final_event() {
        let t = |p, c| Tokens {
            prompt_tokens: p,
            completion_tokens: c,
        };
        let whole = br#"{"id":"resp_1","output":[],"usage":{"input_tokens":12,"input_tokens_details":{"cached_tokens":4},"output_tokens":3,"total_tokens":15}}"#;
        assert_eq!(in_answer(whole), Some(t(12, 3)));
        assert_eq!(in_answer(br#"{"usage":null}"#), None);
        let done = r#"{"type":"response.completed","response":{"usage":{"input_tokens":7,"output_tokens":2}}}"#;
        assert_eq!(in_event("response.completed", done), Some(t(7, 2)));
        assert_eq!(in_event("response.output_text.delta", done), None);
        assert_eq!(in_event("response.completed", "{}"), None);
    }
}
