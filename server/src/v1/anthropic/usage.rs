//! Token counts in Anthropic's answers. Its `input_tokens` leaves out what was written to or
//! read from its prompt cache; all three are prompt tokens here, as OpenAI counts them.

use app::server::usage::Tokens;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
struct Usage {
    input_tokens: Option<i64>,
    output_tokens: Option<i64>,
    cache_creation_input_tokens: Option<i64>,
    cache_read_input_tokens: Option<i64>,
}

impl Usage {
    /// Folds these counts into what was seen before: a later report (`message_delta`, whose
    /// counts are running totals) replaces the fields it carries.
    fn fold_into(&self, tokens: &mut Option<Tokens>) {
        let prompt = [
            self.input_tokens,
            self.cache_creation_input_tokens,
            self.cache_read_input_tokens,
        ];
        if prompt.iter().all(Option::is_none) && self.output_tokens.is_none() {
            return;
        }
        let t = tokens.get_or_insert_with(Tokens::default);
        if prompt.iter().any(Option::is_some) {
            t.prompt_tokens = prompt.iter().flatten().sum();
        }
        if let Some(n) = self.output_tokens {
            t.completion_tokens = n;
        }
    }
}

/// The counts in one of Anthropic's `usage` objects.
pub fn of(usage: &serde_json::Value) -> Tokens {
    let mut tokens = None;
    if let Ok(u) = Usage::deserialize(usage) {
        u.fold_into(&mut tokens);
    }
    tokens.unwrap_or_default()
}

/// The counts of a whole answer (`{"usage": …}` at its top level).
pub fn in_answer(body: &[u8]) -> Option<Tokens> {
    #[derive(Deserialize)]
    struct Answer {
        usage: Option<Usage>,
    }
    let mut tokens = None;
    serde_json::from_slice::<Answer>(body)
        .ok()?
        .usage?
        .fold_into(&mut tokens);
    tokens
}

/// Folds the counts a stream event reports into `tokens`: `message_start` carries the prompt's,
/// `message_delta` the answer's so far. Other events are not parsed.
pub fn in_event(name: &str, data: &str, tokens: &mut Option<Tokens>) {
    #[derive(Deserialize)]
    struct Start {
        message: Message,
    }
    #[derive(Deserialize)]
    struct Message {
        #[serde(default)]
        usage: Usage,
    }
    #[derive(Deserialize)]
    struct Delta {
        #[serde(default)]
        usage: Usage,
    }
    match name {
        "message_start" => {
            if let Ok(s) = serde_json::from_str::<Start>(data) {
                s.message.usage.fold_into(tokens);
            }
        }
        "message_delta" => {
            if let Ok(d) = serde_json::from_str::<Delta>(data) {
                d.usage.fold_into(tokens);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(prompt_tokens: i64, completion_tokens: i64) -> Option<Tokens> {
        Some(Tokens {
            prompt_tokens,
            completion_tokens,
        })
    }

    #[test]
    fn cached_prompt_tokens_are_prompt_tokens() {
        let body = br#"{"id":"msg_1","type":"message","content":[],"usage":{"input_tokens":5,"cache_creation_input_tokens":100,"cache_read_input_tokens":20,"output_tokens":7}}"#;
        assert_eq!(in_answer(body), t(125, 7));
        assert_eq!(in_answer(br#"{"usage":null}"#), None);
        assert_eq!(in_answer(b"nope"), None);
    }

    #[test]
    fn a_stream_reports_the_prompt_first_and_running_answer_totals_after() {
        let mut tokens = None;
        in_event(
            "message_start",
            r#"{"type":"message_start","message":{"id":"m","usage":{"input_tokens":25,"output_tokens":1}}}"#,
            &mut tokens,
        );
        assert_eq!(tokens, t(25, 1));
        in_event(
            "content_block_delta",
            r#"{"usage":{"output_tokens":999}}"#,
            &mut tokens,
        );
        in_event(
            "message_delta",
            r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":15}}"#,
            &mut tokens,
        );
        assert_eq!(tokens, t(25, 15));
        // Newer servers repeat the prompt's counts at the end; they replace the first ones.
        in_event(
            "message_delta",
            r#"{"type":"message_delta","usage":{"input_tokens":30,"cache_read_input_tokens":2,"output_tokens":16}}"#,
            &mut tokens,
        );
        assert_eq!(tokens, t(32, 16));
    }
}
