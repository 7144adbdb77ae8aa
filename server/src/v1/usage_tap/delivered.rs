//! How much of an answer a stream has relayed, for the estimate charged when the upstream's own
//! count never arrives (the client hung up, the stream was cut short). Each event that carries
//! answer text (content, reasoning, tool-call arguments) counts as at least one token, and as a
//! token per four bytes of its JSON text beyond that.

use serde::Deserialize;
use serde_json::value::RawValue;

use app::server::usage::Tokens;

/// Bytes of text per token, as the prompt estimate assumes.
const BYTES_PER_TOKEN: usize = 4;

/// What a stream has reported of its usage and relayed of its answer so far.
#[derive(Debug, Default)]
pub struct Counted {
    /// The upstream's own figures, as far as it sent them.
    pub reported: Option<Tokens>,
    /// Completion tokens relayed, estimated from the text.
    pub delivered: i64,
}

impl Counted {
    fn add<'a>(&mut self, texts: impl IntoIterator<Item = Option<&'a RawValue>>) {
        for raw in texts.into_iter().flatten() {
            let text = raw.get();
            // A string's quotes are not text; an empty string or `null` carries none.
            let len = if text.starts_with('"') {
                text.len().saturating_sub(2)
            } else if text == "null" {
                0
            } else {
                text.len()
            };
            if len > 0 {
                let tokens = len.div_ceil(BYTES_PER_TOKEN).max(1);
                self.delivered = self
                    .delivered
                    .saturating_add(i64::try_from(tokens).unwrap_or(i64::MAX));
            }
        }
    }

    /// Notes the answer text in an OpenAI chunk (chat or completions).
    pub fn openai_chunk(&mut self, data: &str) {
        #[derive(Deserialize)]
        struct Chunk<'a> {
            #[serde(borrow, default)]
            choices: Vec<Choice<'a>>,
        }
        #[derive(Deserialize)]
        struct Choice<'a> {
            #[serde(borrow)]
            delta: Option<Delta<'a>>,
            /// Completions stream their text here.
            #[serde(borrow)]
            text: Option<&'a RawValue>,
        }
        #[derive(Deserialize, Default)]
        struct Delta<'a> {
            #[serde(borrow)]
            content: Option<&'a RawValue>,
            #[serde(borrow)]
            reasoning_content: Option<&'a RawValue>,
            #[serde(borrow)]
            reasoning: Option<&'a RawValue>,
            #[serde(borrow)]
            tool_calls: Option<&'a RawValue>,
        }
        let Ok(chunk) = serde_json::from_str::<Chunk<'_>>(data) else {
            return;
        };
        for c in chunk.choices {
            let d = c.delta.unwrap_or_default();
            self.add([
                c.text,
                d.content,
                d.reasoning_content,
                d.reasoning,
                d.tool_calls,
            ]);
        }
    }

    /// Notes the answer text in an Anthropic event (`content_block_delta`).
    pub fn anthropic_event(&mut self, name: &str, data: &str) {
        #[derive(Deserialize)]
        struct BlockDelta<'a> {
            #[serde(borrow)]
            delta: Delta<'a>,
        }
        #[derive(Deserialize)]
        struct Delta<'a> {
            #[serde(borrow)]
            text: Option<&'a RawValue>,
            #[serde(borrow)]
            thinking: Option<&'a RawValue>,
            #[serde(borrow)]
            partial_json: Option<&'a RawValue>,
        }
        if name != "content_block_delta" {
            return;
        }
        if let Ok(b) = serde_json::from_str::<BlockDelta<'_>>(data) {
            self.add([b.delta.text, b.delta.thinking, b.delta.partial_json]);
        }
    }

    /// Notes the answer text in a Responses event (the `delta` of text, reasoning and
    /// function-call argument events).
    pub fn responses_event(&mut self, name: &str, data: &str) {
        #[derive(Deserialize)]
        struct Delta<'a> {
            #[serde(borrow)]
            delta: Option<&'a RawValue>,
        }
        if !name.ends_with(".delta") {
            return;
        }
        if let Ok(d) = serde_json::from_str::<Delta<'_>>(data) {
            self.add([d.delta]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_event_counts_and_long_ones_by_their_length() {
        let mut c = Counted::default();
        c.openai_chunk(r#"{"choices":[{"index":0,"delta":{"content":"Hel"}}]}"#);
        c.openai_chunk(r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}"#);
        c.openai_chunk(r#"{"choices":[],"usage":{"prompt_tokens":3}}"#);
        assert_eq!(c.delivered, 1);
        c.openai_chunk(&format!(
            r#"{{"choices":[{{"delta":{{"reasoning_content":"{}"}}}}]}}"#,
            "x".repeat(40)
        ));
        assert_eq!(c.delivered, 11);
        c.openai_chunk(r#"{"choices":[{"index":0,"text":"abcde"}]}"#);
        assert_eq!(c.delivered, 13);
        c.anthropic_event(
            "content_block_delta",
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}"#,
        );
        c.anthropic_event("ping", r#"{"type":"ping"}"#);
        c.openai_chunk("not json");
        assert_eq!(c.delivered, 14);
        c.responses_event(
            "response.output_text.delta",
            r#"{"type":"response.output_text.delta","delta":"abcdefgh"}"#,
        );
        c.responses_event("response.created", r#"{"delta":"not counted"}"#);
        assert_eq!(c.delivered, 16);
    }
}
