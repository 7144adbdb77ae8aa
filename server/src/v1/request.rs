//! A `/v1` request body as the proxy needs it: the few top-level fields it reads, found without
//! building a tree of the rest, and the body for an upstream with only `model` replaced (and,
//! for a stream, usage asked for). Every other byte goes out exactly as the client sent it, so
//! numbers keep their digits, keys their order, and fields Portcullis does not know pass.

use std::{borrow::Cow, fmt, ops::Range};

use bytes::Bytes;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::{Value, value::RawValue};

/// What the proxy reads from a request body.
#[derive(Debug)]
pub struct ProxyRequest {
    body: Bytes,
    pub model: String,
    model_span: Range<usize>,
    pub stream: bool,
    pub client_wants_usage: bool,
    stream_options: Option<(Range<usize>, Value)>,
    /// `max_completion_tokens`, else `max_tokens`.
    pub max_tokens: Option<i64>,
    /// The Responses API's own limit, the only one it reads.
    pub max_output_tokens: Option<i64>,
    pub n: Option<i64>,
}

/// Why a body cannot be forwarded; `param` names the field at fault.
#[derive(Debug, PartialEq, Eq)]
pub struct Rejection {
    pub message: String,
    pub param: Option<Cow<'static, str>>,
}

/// The top-level fields, each as its raw text inside the body.
#[derive(Default)]
struct Fields<'a> {
    model: Option<&'a RawValue>,
    stream: Option<&'a RawValue>,
    stream_options: Option<&'a RawValue>,
    max_tokens: Option<&'a RawValue>,
    max_completion_tokens: Option<&'a RawValue>,
    max_output_tokens: Option<&'a RawValue>,
    n: Option<&'a RawValue>,
    /// A key that is not one of these but that a case-insensitive reader takes for one.
    look_alike: Option<Rejection>,
}

/// The top-level fields Portcullis decides on, as [`Fields`] holds them.
const READ: [&str; 7] = [
    "model",
    "stream",
    "stream_options",
    "max_tokens",
    "max_completion_tokens",
    "max_output_tokens",
    "n",
];

impl ProxyRequest {
    pub fn parse(body: Bytes) -> Result<Self, Rejection> {
        let fields = parse_fields(&body)?;
        let model_raw = fields.model.ok_or_else(no_model)?;
        let model = serde_json::from_str::<String>(model_raw.get())
            .ok()
            .filter(|m| !m.is_empty())
            .ok_or_else(no_model)?;
        let model_span = span(&body, model_raw);
        let stream = typed::<bool>(fields.stream, "stream", "a boolean")?.unwrap_or(false);
        let stream_options = match fields.stream_options {
            Some(raw) if raw.get() != "null" => {
                let value = serde_json::from_str::<Value>(raw.get()).map_err(not_json)?;
                Some((span(&body, raw), stream_options(value)?))
            }
            _ => None,
        };
        let client_wants_usage = stream_options
            .as_ref()
            .is_some_and(|(_, v)| v.get("include_usage") == Some(&Value::Bool(true)));
        let max_tokens = typed::<i64>(
            fields.max_completion_tokens,
            "max_completion_tokens",
            "an integer",
        )?
        .or(typed::<i64>(fields.max_tokens, "max_tokens", "an integer")?);
        let max_output_tokens =
            typed::<i64>(fields.max_output_tokens, "max_output_tokens", "an integer")?;
        let n = typed::<i64>(fields.n, "n", "an integer")?;
        Ok(Self {
            model,
            model_span,
            stream,
            client_wants_usage,
            stream_options,
            max_tokens,
            max_output_tokens,
            n,
            body,
        })
    }

    /// The whole body as a JSON tree, for the requests that must be translated.
    pub fn value(&self) -> Result<Value, Rejection> {
        serde_json::from_slice(&self.body).map_err(not_json)
    }

    /// The body's size as the client sent it.
    pub fn body_len(&self) -> usize {
        self.body.len()
    }

    /// The body to send to an upstream that knows the model as `upstream_model`. A stream
    /// always asks for usage, which is how its tokens are counted.
    pub fn for_upstream(&self, upstream_model: &str, streamed: bool) -> Bytes {
        let model = Value::String(upstream_model.to_owned()).to_string();
        let mut splices: Vec<(Range<usize>, Cow<'_, str>)> =
            vec![(self.model_span.clone(), model.into())];
        if streamed && !self.client_wants_usage {
            match &self.stream_options {
                Some((range, value)) => {
                    let mut options = match value {
                        Value::Object(o) => o.clone(),
                        _ => serde_json::Map::new(),
                    };
                    options.insert("include_usage".into(), Value::Bool(true));
                    splices.push((range.clone(), Value::Object(options).to_string().into()));
                }
                // Right after the model's value is a place where a member may always follow.
                None => splices.push((
                    self.model_span.end..self.model_span.end,
                    r#","stream_options":{"include_usage":true}"#.into(),
                )),
            }
        }
        if splices.len() == 1 && self.body[self.model_span.clone()] == *splices[0].1.as_bytes() {
            return self.body.clone();
        }
        splices.sort_by_key(|(range, _)| range.start);
        let extra: usize = splices.iter().map(|(_, s)| s.len()).sum();
        let mut out = Vec::with_capacity(self.body.len() + extra);
        let mut at = 0;
        for (range, text) in splices {
            out.extend_from_slice(&self.body[at..range.start]);
            out.extend_from_slice(text.as_bytes());
            at = range.end;
        }
        out.extend_from_slice(&self.body[at..]);
        Bytes::from(out)
    }
}

fn no_model() -> Rejection {
    Rejection {
        message: "you must provide a model".into(),
        param: Some("model".into()),
    }
}

/// A field a decision rests on, read only in its exact JSON type (or `null`, as absent): a lax
/// upstream that reads `"stream": "true"` or `"max_tokens": 1e5` as a stream or a number would
/// otherwise act on a request Portcullis read differently.
fn typed<T: serde::de::DeserializeOwned>(
    raw: Option<&RawValue>,
    name: &'static str,
    kind: &str,
) -> Result<Option<T>, Rejection> {
    let Some(raw) = raw.filter(|r| r.get() != "null") else {
        return Ok(None);
    };
    serde_json::from_str::<T>(raw.get())
        .map(Some)
        .map_err(|_| Rejection {
            message: format!("`{name}` must be {kind}"),
            param: Some(name.into()),
        })
}

/// `stream_options` as an object whose `include_usage`, if any, is a boolean spelled exactly.
fn stream_options(value: Value) -> Result<Value, Rejection> {
    let Value::Object(options) = &value else {
        return Err(Rejection {
            message: "`stream_options` must be an object".into(),
            param: Some("stream_options".into()),
        });
    };
    for key in options.keys() {
        if key != "include_usage" && folds_to(key, "include_usage") {
            return Err(look_alike(format!("stream_options.{key}"), "include_usage"));
        }
    }
    match options.get("include_usage") {
        None | Some(Value::Null | Value::Bool(_)) => Ok(value),
        Some(_) => Err(Rejection {
            message: "`stream_options.include_usage` must be a boolean".into(),
            param: Some("stream_options.include_usage".into()),
        }),
    }
}

/// Whether `key` and `field` are equal as Go's `encoding/json` matches object keys (Ollama and
/// LocalAI read JSON with it): ASCII case folded, and the Kelvin sign and the long s, which
/// Unicode folds to `k` and `s`.
fn folds_to(key: &str, field: &str) -> bool {
    let mut field = field.bytes();
    for c in key.chars() {
        let folded = match c {
            '\u{212A}' => b'k',
            '\u{017F}' => b's',
            c if c.is_ascii() => (c as u8).to_ascii_lowercase(),
            _ => return false,
        };
        if field.next() != Some(folded) {
            return false;
        }
    }
    field.next().is_none()
}

fn look_alike(key: String, field: &str) -> Rejection {
    Rejection {
        message: format!(
            "`{key}` is read as `{field}` by some servers: spell it `{field}` exactly"
        ),
        param: Some(key.into()),
    }
}

/// Where `raw`, borrowed from `body`, lies in it.
fn span(body: &[u8], raw: &RawValue) -> Range<usize> {
    let start = (raw.get().as_ptr() as usize).saturating_sub(body.as_ptr() as usize);
    start..start + raw.get().len()
}

fn parse_fields(body: &[u8]) -> Result<Fields<'_>, Rejection> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let mut fields = de
        .deserialize_map(FieldsVisitor)
        .and_then(|f| {
            de.end()?;
            Ok(f)
        })
        .map_err(not_json)?;
    match fields.look_alike.take() {
        Some(rejection) => Err(rejection),
        None => Ok(fields),
    }
}

fn not_json(e: serde_json::Error) -> Rejection {
    Rejection {
        message: format!("the request body is not valid JSON: {e}"),
        param: None,
    }
}

struct FieldsVisitor;

impl<'de> Visitor<'de> for FieldsVisitor {
    type Value = Fields<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = Fields::default();
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            let slot = match key.as_ref() {
                "model" => &mut fields.model,
                "stream" => &mut fields.stream,
                "stream_options" => &mut fields.stream_options,
                "max_tokens" => &mut fields.max_tokens,
                "max_completion_tokens" => &mut fields.max_completion_tokens,
                "max_output_tokens" => &mut fields.max_output_tokens,
                "n" => &mut fields.n,
                other => {
                    if let Some(field) = READ.iter().find(|f| folds_to(other, f)) {
                        fields.look_alike = Some(look_alike(other.to_owned(), field));
                    }
                    map.next_value::<de::IgnoredAny>()?;
                    continue;
                }
            };
            // Two `model`s could be read one way here and another way upstream.
            if slot.is_some() {
                return Err(de::Error::custom(format_args!("duplicate field `{key}`")));
            }
            *slot = Some(map.next_value::<&'de RawValue>()?);
        }
        Ok(fields)
    }
}

/// An object key, borrowed from the body unless it had escapes to decode.
struct Key<'a>(Cow<'a, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(body: &str) -> ProxyRequest {
        ProxyRequest::parse(Bytes::from(body.to_owned())).expect("parses")
    }

    fn rewritten(body: &str, model: &str, streamed: bool) -> String {
        String::from_utf8(parsed(body).for_upstream(model, streamed).to_vec()).expect("utf-8")
    }

    #[test]
    fn only_the_model_changes() {
        let body = r#"{ "temperature": 0.70, "model" : "public", "messages":[{"role":"user","content":"hi \"there\""}], "seed": 12345678901234567890 }"#;
        assert_eq!(
            rewritten(body, "org/upstream-7b", false),
            r#"{ "temperature": 0.70, "model" : "org/upstream-7b", "messages":[{"role":"user","content":"hi \"there\""}], "seed": 12345678901234567890 }"#
        );
        // The same name: the client's bytes as they were.
        assert_eq!(rewritten(body, "public", false), body);
    }

    #[test]
    fn a_stream_always_asks_for_usage() {
        let plain = rewritten(r#"{"model":"m","stream":true}"#, "u", true);
        assert_eq!(
            plain,
            r#"{"model":"u","stream_options":{"include_usage":true},"stream":true}"#
        );
        let refused = rewritten(
            r#"{"stream_options":{"include_usage":false,"x":1},"model":"m","stream":true}"#,
            "u",
            true,
        );
        let v: Value = serde_json::from_str(&refused).expect("json");
        assert_eq!(
            v["stream_options"],
            serde_json::json!({"include_usage": true, "x": 1})
        );
        assert_eq!(v["model"], "u");
        let asked =
            parsed(r#"{"model":"m","stream":true,"stream_options":{"include_usage":true}}"#);
        assert!(asked.stream && asked.client_wants_usage);
    }

    #[test]
    fn reads_the_fields_limits_need() {
        let r = parsed(r#"{"model":"m","max_tokens":10,"max_completion_tokens":20,"n":3}"#);
        assert_eq!((r.max_tokens, r.n), (Some(20), Some(3)));
        let r = parsed(r#"{"model":"m","max_tokens":10,"n":null,"stream":null}"#);
        assert_eq!((r.max_tokens, r.n, r.stream), (Some(10), None, false));
    }

    fn param_of(body: &str) -> Option<String> {
        ProxyRequest::parse(Bytes::from(body.to_owned()))
            .expect_err("rejected")
            .param
            .map(Cow::into_owned)
    }

    #[test]
    fn fields_decided_on_must_have_their_exact_type() {
        // What pydantic's lax mode would read as a stream or a number.
        for (body, param) in [
            (r#"{"model":"m","stream":1}"#, "stream"),
            (r#"{"model":"m","stream":"true"}"#, "stream"),
            (r#"{"model":"m","max_tokens":"100000"}"#, "max_tokens"),
            (r#"{"model":"m","max_tokens":1e5}"#, "max_tokens"),
            (r#"{"model":"m","max_tokens":100.0}"#, "max_tokens"),
            (
                r#"{"model":"m","max_completion_tokens":true}"#,
                "max_completion_tokens",
            ),
            (r#"{"model":"m","n":"2"}"#, "n"),
            (
                r#"{"model":"m","max_output_tokens":"9"}"#,
                "max_output_tokens",
            ),
            (r#"{"model":"m","stream_options":true}"#, "stream_options"),
            (
                r#"{"model":"m","stream_options":{"include_usage":"false"}}"#,
                "stream_options.include_usage",
            ),
        ] {
            assert_eq!(param_of(body).as_deref(), Some(param), "{body}");
        }
    }

    #[test]
    fn keys_a_case_insensitive_reader_would_take_for_ours_are_refused() {
        for (body, param) in [
            (r#"{"model":"allowed","MODEL":"other"}"#, "MODEL"),
            (r#"{"model":"allowed","Model":"other"}"#, "Model"),
            (
                r#"{"Stream_Options":{"include_usage":false},"model":"m"}"#,
                "Stream_Options",
            ),
            (r#"{"model":"m","Max_Tokens":5}"#, "Max_Tokens"),
            (r#"{"model":"m","N":5}"#, "N"),
            // Go folds the Kelvin sign to k and the long s to s.
            (
                "{\"model\":\"m\",\"max_to\u{212A}ens\":5}",
                "max_to\u{212A}ens",
            ),
            ("{\"model\":\"m\",\"\u{017F}tream\":true}", "\u{017F}tream"),
            (r#"{"model":"m","mod\u0045l":"x"}"#, "modEl"),
            (
                r#"{"model":"m","stream":true,"stream_options":{"include_usage":true,"INCLUDE_USAGE":false}}"#,
                "stream_options.INCLUDE_USAGE",
            ),
        ] {
            assert_eq!(param_of(body).as_deref(), Some(param), "{body}");
        }
        // Keys that only look alike to a person pass.
        let r = parsed(r#"{"model":"m","models":["x"],"max_tokens_":1,"streams":2}"#);
        assert_eq!(r.model, "m");
    }

    #[test]
    fn escaped_model_names_are_decoded() {
        assert_eq!(parsed(r#"{"model":"a\u002fb"}"#).model, "a/b");
        assert_eq!(parsed(r#"{"mod\u0065l":"m"}"#).model, "m");
    }

    #[test]
    fn bad_bodies_are_rejected_with_the_field_at_fault() {
        let reject =
            |b: &str| ProxyRequest::parse(Bytes::from(b.to_owned())).expect_err("rejected");
        assert_eq!(reject(r#"{"messages":[]}"#).param, Some("model".into()));
        assert_eq!(reject(r#"{"model":""}"#).param, Some("model".into()));
        assert_eq!(reject(r#"{"model":7}"#).param, Some("model".into()));
        for bad in [
            r#"{"model":"m""#,
            "[1]",
            r#"{"model":"m"} x"#,
            r#"{"model":"a","model":"b"}"#,
        ] {
            let r = reject(bad);
            assert_eq!(r.param, None, "{bad}");
            assert!(
                r.message.starts_with("the request body is not valid JSON"),
                "{bad}: {}",
                r.message
            );
        }
        assert!(
            reject(r#"{"model":"a","model":"b"}"#)
                .message
                .contains("duplicate field `model`")
        );
    }
}
