//! Properties of everything that reads what clients and upstreams send: arbitrary bytes and
//! arbitrary JSON never panic, and a request body Portcullis accepts is read the same way by a
//! case-insensitive, last-key-wins reader (Go's `encoding/json`, which Ollama and LocalAI use).

use app::server::usage::Endpoint;
use eventsource_stream::Event;
use proptest::prelude::*;
use serde_json::{Map, Value};

use super::{
    anthropic::{from_chat, from_messages, to_chat, to_messages, usage},
    exchange::{Exchange, Translated},
    request::ProxyRequest,
    responses,
    usage_tap::{self, Relay},
};

/// Any JSON value, a few levels deep.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
        prop::sample::select(vec!["user", "assistant", "system", "tool", "text", "image"])
            .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Keys the readers know, in any case, and others.
fn key() -> impl Strategy<Value = String> {
    let known = prop::sample::select(vec![
        "model",
        "stream",
        "stream_options",
        "include_usage",
        "max_tokens",
        "max_completion_tokens",
        "n",
        "messages",
        "role",
        "content",
        "type",
        "text",
        "system",
        "tools",
        "tool_calls",
        "choices",
        "delta",
        "usage",
        "prompt_tokens",
        "completion_tokens",
        "input_tokens",
        "output_tokens",
        "index",
        "content_block",
        "message",
        "error",
    ]);
    prop_oneof![
        4 => known.clone().prop_map(str::to_owned),
        2 => (known, any::<u8>()).prop_map(|(k, mask)| {
            k.chars()
                .enumerate()
                .map(|(i, c)| if mask & (1 << (i % 8)) != 0 { c.to_ascii_uppercase() } else { c })
                .collect()
        }),
        1 => "[a-zA-Z_]{1,8}",
    ]
}

/// A request body as a client may write it: members in order, duplicates and case variants
/// of the fields Portcullis reads included.
fn request_body() -> impl Strategy<Value = String> {
    let member = prop_oneof![
        (key(), json()),
        json().prop_map(|v| ("model".to_owned(), v)),
        ".{1,8}".prop_map(|m| ("model".to_owned(), Value::String(m))),
        any::<bool>().prop_map(|b| ("stream".to_owned(), Value::Bool(b))),
        (0i64..100_000).prop_map(|n| ("max_tokens".to_owned(), Value::from(n))),
    ];
    prop::collection::vec(member, 0..8).prop_map(|members| {
        let inner: Vec<String> = members
            .iter()
            .map(|(k, v)| format!("{}:{v}", Value::String(k.clone())))
            .collect();
        format!("{{{}}}", inner.join(","))
    })
}

/// What Go's decoder reads for `field`: the last member whose key equals it ignoring ASCII case.
fn go_reads<'a>(members: &'a [(String, Value)], field: &str) -> Option<&'a Value> {
    members
        .iter()
        .rev()
        .find(|(k, _)| k.eq_ignore_ascii_case(field))
        .map(|(_, v)| v)
}

/// The members of a JSON object in document order, duplicates kept.
fn members(body: &str) -> Vec<(String, Value)> {
    struct Ordered(Vec<(String, Value)>);
    impl<'de> serde::Deserialize<'de> for Ordered {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> serde::de::Visitor<'de> for V {
                type Value = Ordered;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> Result<Ordered, A::Error> {
                    let mut out = Vec::new();
                    while let Some((k, v)) = map.next_entry::<String, Value>()? {
                        out.push((k, v));
                    }
                    Ok(Ordered(out))
                }
            }
            d.deserialize_map(V)
        }
    }
    serde_json::from_str::<Ordered>(body).map_or_else(|_| Vec::new(), |o| o.0)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_request_reader_never_panics_on_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = ProxyRequest::parse(bytes.into());
    }

    #[test]
    fn an_accepted_body_reads_the_same_to_a_case_insensitive_reader(body in request_body()) {
        let Ok(ours) = ProxyRequest::parse(body.clone().into()) else {
            return Ok(());
        };
        let read = members(&body);
        prop_assert_eq!(go_reads(&read, "model"), Some(&Value::String(ours.model.clone())));
        let stream = go_reads(&read, "stream").and_then(Value::as_bool).unwrap_or(false);
        prop_assert_eq!(stream, ours.stream);
        let max = go_reads(&read, "max_completion_tokens")
            .filter(|v| !v.is_null())
            .or_else(|| go_reads(&read, "max_tokens").filter(|v| !v.is_null()))
            .and_then(Value::as_i64);
        prop_assert_eq!(max, ours.max_tokens);
        // What goes upstream says the same: one model, the one routed on.
        let out = ours.for_upstream("upstream-name", ours.stream);
        let sent = members(std::str::from_utf8(&out).unwrap());
        prop_assert_eq!(go_reads(&sent, "model"), Some(&Value::String("upstream-name".into())));
        if ours.stream {
            let usage = go_reads(&sent, "stream_options")
                .and_then(|o| o.as_object())
                .and_then(|o| o.iter().rev().find(|(k, _)| k.eq_ignore_ascii_case("include_usage")))
                .map(|(_, v)| v.clone());
            prop_assert_eq!(usage, Some(Value::Bool(true)));
        }
    }

    #[test]
    fn both_translations_never_panic_on_any_json(v in json(), max in 1i64..10_000) {
        let _ = to_chat::request(&v, "m", true);
        let _ = to_messages::request(&v, "m", max);
        let _ = from_chat::response(&v, "m");
        let _ = from_messages::response(&v, "m");
        let _ = from_messages::error(&v);
        let _ = usage::of(&v);
        let _ = responses::to_chat::request(&v, "m");
        let echo = responses::echo::Echo::of(&v, "m", false);
        let _ = responses::from_chat::response(&v, &echo);
    }

    #[test]
    fn stream_translators_never_panic_on_any_events(
        events in prop::collection::vec((key(), json()), 0..12),
    ) {
        let mut to_anthropic = from_chat::StreamTranslator::new("m");
        let mut to_openai = from_messages::StreamTranslator::new("m", true);
        let mut to_responses = responses::stream::StreamTranslator::new(
            responses::echo::Echo::of(&Value::Null, "m", false),
        );
        for (name, data) in &events {
            let _ = to_anthropic.chunk(data);
            let _ = to_openai.event(name, data);
            let _ = to_responses.chunk(data);
        }
        let _ = to_anthropic.finish();
        let _ = to_responses.finish();
    }

    #[test]
    fn the_relay_never_panics_on_any_event(
        events in prop::collection::vec((".{0,16}", ".{0,64}"), 0..12),
        as_json in prop::collection::vec(json(), 0..6),
    ) {
        let exchanges = [
            Exchange::Direct,
            Exchange::MessagesViaChat,
            Exchange::ChatViaMessages,
            Exchange::ResponsesViaChat,
            Exchange::ResponsesViaMessages,
        ];
        for exchange in exchanges {
            for kind in [Endpoint::ChatCompletions, Endpoint::Messages, Endpoint::Responses] {
                let translated = Translated::default();
                let mut relay: Relay = exchange.relay(kind, true, "m", &translated, None);
                let mut counted = usage_tap::Counted::default();
                let all = events
                    .iter()
                    .cloned()
                    .chain(as_json.iter().map(|v| ("content_block_delta".to_owned(), v.to_string())));
                for (event, data) in all {
                    let ev = Event { event, data, ..Event::default() };
                    let _ = relay.event(&ev, &mut counted);
                }
                let _ = relay.error_event("failed", "upstream_error");
            }
        }
        for (_, data) in &events {
            let _ = usage_tap::usage_in(data);
            let _ = usage_tap::usage_in_answer(data.as_bytes());
        }
    }
}
