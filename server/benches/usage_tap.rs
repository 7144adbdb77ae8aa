//! The usage tap's look at each streamed chunk, for a content chunk (nearly all of them) and
//! for the usage chunk that ends a stream; and its read of a whole answer's usage. Run: `cargo bench -p server --bench usage_tap`.

use criterion::{Criterion, criterion_group, criterion_main};
use server::v1::usage_tap::{usage_in, usage_in_answer};

fn bench(c: &mut Criterion) {
    let content = r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"llama-3.1-8b","system_fingerprint":null,"choices":[{"index":0,"delta":{"content":" healthy"},"logprobs":null,"finish_reason":null}]}"#;
    let usage = r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"llama-3.1-8b","choices":[],"usage":{"prompt_tokens":812,"completion_tokens":256,"total_tokens":1068}}"#;
    c.bench_function("usage tap: content chunk", |b| {
        b.iter(|| usage_in(std::hint::black_box(content)));
    });
    c.bench_function("usage tap: usage chunk", |b| {
        b.iter(|| usage_in(std::hint::black_box(usage)));
    });
    // A plain answer is read whole: an embedding of 1,024 dimensions is the largest common one.
    let vector: Vec<f64> = (0..1024)
        .map(|i| f64::from(i * 7919 % 2000) / 31_337.0 - 0.03)
        .collect();
    let embedding = serde_json::json!({"object": "list", "model": "bge-m3",
        "data": [{"object": "embedding", "index": 0, "embedding": vector}],
        "usage": {"prompt_tokens": 8, "total_tokens": 8}})
    .to_string();
    c.bench_function("usage of a whole answer: 1,024-dimension embedding", |b| {
        b.iter(|| usage_in_answer(std::hint::black_box(embedding.as_bytes())));
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
