//! Reading a `/v1` request and writing it for the upstream with the model renamed: what every
//! proxied request pays after the key check. Run: `cargo bench -p server --bench request_rewrite`.

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use server::v1::request::ProxyRequest;

fn chat_body(turns: usize, stream: bool) -> Bytes {
    let messages: Vec<_> = (0..turns)
        .map(|i| {
            serde_json::json!({
                "role": if i % 2 == 0 { "user" } else { "assistant" },
                "content": "What should we watch to know that our inference gateway is healthy? Name the signals and the thresholds.",
            })
        })
        .collect();
    let mut body = serde_json::json!({"model": "llama-3.1-8b", "messages": messages, "max_tokens": 256, "temperature": 0.7});
    if stream {
        body["stream"] = true.into();
    }
    Bytes::from(body.to_string())
}

fn bench(c: &mut Criterion) {
    for (name, body, stream) in [
        ("chat 1 KiB", chat_body(8, false), false),
        ("chat 1 KiB, stream", chat_body(8, true), true),
        ("chat 64 KiB", chat_body(512, false), false),
    ] {
        c.bench_function(&format!("parse and rewrite: {name}"), |b| {
            b.iter(|| {
                let request = ProxyRequest::parse(body.clone()).expect("valid body");
                request.for_upstream("meta-llama/Llama-3.1-8B-Instruct", stream)
            });
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
