//! Relays a streamed answer event by event while watching it for usage, so every stream ends
//! as exactly one usage event: completed, cancelled by the client, or failed upstream.
//!
//! In the same API on both sides, upstream events are forwarded as they came; a copy is parsed
//! only to read usage and to count the answer text relayed. The usage-only chunk Portcullis
//! asked an OpenAI-compatible upstream for is kept from clients that did not ask for it. Between
//! the two APIs each event is translated as it arrives. A transport error, an idle upstream, or a stream that closes without its end
//! marker (`[DONE]`, `message_stop`) becomes a final error event in the client's API, then the
//! stream ends cleanly. Whatever ends it, what was used is charged ([`Used`]).

use std::{
    convert::Infallible,
    pin::Pin,
    task::{Context, Poll, ready},
    time::Instant,
};

use app::server::{
    metrics::ModelLabels,
    upstreams::{read::ReadError, registry::InFlight},
    usage::{Outcome, Tokens, UsageEvent},
};
use bytes::Bytes;
use eventsource_stream::{Event, EventStreamError};
use futures_util::Stream;
use serde::Deserialize;

pub use self::delivered::Counted;
pub use self::relay::Relay;
use super::accounting::{Accounting, Used};

mod delivered;
pub mod relay;

pub type UpstreamEvents =
    Pin<Box<dyn Stream<Item = Result<Event, EventStreamError<ReadError>>> + Send>>;

pub struct Tapped {
    inner: UpstreamEvents,
    accounting: Accounting,
    event: Option<UsageEvent>,
    first_byte_seen: bool,
    started: Instant,
    relay: Relay,
    done: bool,
    counted: Counted,
    in_flight: InFlight,
}

#[derive(Deserialize)]
struct Probe {
    usage: Option<Tokens>,
    #[serde(default)]
    choices: Vec<serde::de::IgnoredAny>,
}

/// The token counts a chunk reports, and whether it reports nothing else (the usage-only
/// chunk `stream_options.include_usage` asks for).
pub fn usage_in(data: &str) -> Option<(Tokens, bool)> {
    // Nearly every chunk carries no usage: not parsing those is most of the tap's cost.
    if !data.contains("\"usage\"") {
        return None;
    }
    let probe = serde_json::from_str::<Probe>(data).ok()?;
    probe.usage.map(|t| (t, probe.choices.is_empty()))
}

/// The token counts of a whole (not streamed) answer.
pub fn usage_in_answer(body: &[u8]) -> Option<Tokens> {
    #[derive(Deserialize)]
    struct Answer {
        usage: Option<Tokens>,
    }
    closing_usage(body).or_else(|| serde_json::from_slice::<Answer>(body).ok()?.usage)
}

/// `usage` when it is the last member of the outermost object, where OpenAI-compatible servers
/// put it: read from the end, without scanning the rest (an embedding's thousands of numbers
/// cost ten times more to skip than the whole proxying of a chat answer). The value must be
/// followed by nothing but the closing brace of the document, which proves it is top level.
fn closing_usage(body: &[u8]) -> Option<Tokens> {
    const KEY: &[u8] = b"\"usage\"";
    let at = memchr::memmem::rfind(body, KEY)?;
    // An odd run of backslashes before it: the quote is escaped, the "key" is inside a string.
    let backslashes = body[..at].iter().rev().take_while(|b| **b == b'\\').count();
    if backslashes % 2 == 1 {
        return None;
    }
    let rest = body[at + KEY.len()..]
        .trim_ascii_start()
        .strip_prefix(b":")?;
    let mut values = serde_json::Deserializer::from_slice(rest).into_iter::<Tokens>();
    let tokens = values.next()?.ok()?;
    let tail = &rest[values.byte_offset()..];
    (tail.trim_ascii() == b"}").then_some(tokens)
}

impl Tapped {
    pub fn new(
        inner: UpstreamEvents,
        accounting: Accounting,
        event: UsageEvent,
        started: Instant,
        relay: Relay,
        in_flight: InFlight,
    ) -> Self {
        Self {
            inner,
            accounting,
            event: Some(event),
            first_byte_seen: false,
            started,
            relay,
            done: false,
            counted: Counted::default(),
            in_flight,
        }
    }

    fn on_event(&mut self, ev: Result<Event, EventStreamError<ReadError>>) -> Option<Bytes> {
        let ev = match ev {
            Ok(ev) => ev,
            Err(e) => {
                // The detail (host names, the OS's words) is for the log, not for clients.
                let (message, code, detail) = match &e {
                    EventStreamError::Transport(t) if t.is_timeout() => (
                        "the upstream stopped sending before the answer was complete",
                        "upstream_timeout",
                        "timed out".to_owned(),
                    ),
                    EventStreamError::Transport(t) => (
                        "the upstream stream failed before the answer was complete",
                        "upstream_stream_error",
                        t.to_string(),
                    ),
                    other => (
                        "the upstream sent a malformed stream",
                        "upstream_stream_error",
                        other.to_string(),
                    ),
                };
                return Some(self.fail(message, code, detail));
            }
        };
        let (out, end) = self.relay.event(&ev, &mut self.counted);
        if let Some(outcome) = end {
            self.finish(outcome);
        }
        out
    }

    /// The upstream closed the stream without its end marker: the answer may be cut short,
    /// and only the end marker tells a client it is not.
    fn on_end(&mut self) -> Option<Bytes> {
        Some(self.fail(
            "the upstream closed the stream before the answer was complete",
            "upstream_stream_error",
            "closed without its end marker".to_owned(),
        ))
    }

    /// Ends the stream as an upstream failure: logged, counted in the target's health, and
    /// told to the client as a final error event in its API.
    fn fail(&mut self, message: &str, code: &str, detail: String) -> Bytes {
        tracing::warn!(model = ?self.event.as_ref().map(|e| &e.model), error = %detail, "upstream stream failed");
        self.in_flight
            .health()
            .failed(format!("{message}: {detail}"), None);
        self.finish(Outcome::UpstreamError);
        self.relay.error_event(message, code)
    }

    /// Records the one usage event of this stream: the upstream's count for a complete answer,
    /// else what was used so far (nothing, for a failure before any answer text).
    fn finish(&mut self, outcome: Outcome) {
        self.done = true;
        if let Some(mut ev) = self.event.take() {
            ev.outcome = outcome;
            let reported = self.counted.reported;
            let used = match (outcome, reported) {
                (Outcome::Completed, Some(t)) => Used::Reported(t),
                (Outcome::UpstreamError, None) if self.counted.delivered == 0 => Used::Nothing,
                _ => Used::Partial {
                    reported,
                    delivered: self.counted.delivered,
                },
            };
            ev.total_ms = i64::try_from(self.started.elapsed().as_millis()).unwrap_or(i64::MAX);
            self.accounting.finish(ev, used);
        }
    }
}

impl Tapped {
    fn first_byte(&self) {
        let Some(ev) = &self.event else {
            return;
        };
        self.accounting
            .metrics()
            .stream_first_byte
            .get_or_create(&ModelLabels {
                model: ev.model.clone(),
            })
            .observe(self.started.elapsed().as_secs_f64());
    }
}

impl Stream for Tapped {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if self.done {
                return Poll::Ready(None);
            }
            match ready!(self.inner.as_mut().poll_next(cx)) {
                None => {
                    let out = self.on_end();
                    return Poll::Ready(out.map(Ok));
                }
                Some(ev) => {
                    if let Some(out) = self.on_event(ev) {
                        if !self.first_byte_seen {
                            self.first_byte_seen = true;
                            self.first_byte();
                        }
                        return Poll::Ready(Some(Ok(out)));
                    }
                }
            }
        }
    }
}

impl Drop for Tapped {
    fn drop(&mut self) {
        // Dropped before the end: the client went away; dropping the upstream response with
        // us closes its connection, which stops the generation.
        self.finish(Outcome::ClientCancelled);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_of_a_whole_answer_wherever_it_is() {
        let t = |p, c| {
            Some(Tokens {
                prompt_tokens: p,
                completion_tokens: c,
            })
        };
        let last = br#"{"data":[{"embedding":[0.1,-2e-3]}], "usage" : {"prompt_tokens":8,"total_tokens":8} }"#;
        assert_eq!(usage_in_answer(last), t(8, 0));
        let first = br#"{"usage":{"prompt_tokens":3,"completion_tokens":4},"choices":[{"message":{"content":"x"}}]}"#;
        assert_eq!(usage_in_answer(first), t(3, 4));
        // A later, nested `usage` is not the answer's: the top-level one counts.
        let nested = br#"{"usage":{"prompt_tokens":3},"choices":[{"usage":{"prompt_tokens":99}}]}"#;
        assert_eq!(usage_in_answer(nested), t(3, 0));
        // Inside a string, the key is escaped and never matches.
        let quoted = br#"{"choices":[{"text":"say \"usage\": {\"prompt_tokens\": 5}"}]}"#;
        assert_eq!(usage_in_answer(quoted), None);
        let escaped_key = br#"{"x \"usage": {"prompt_tokens":5}}"#;
        assert_eq!(usage_in_answer(escaped_key), None);
        assert_eq!(usage_in_answer(br#"{"usage":null}"#), None);
        assert_eq!(usage_in_answer(b"not json"), None);
    }
}
