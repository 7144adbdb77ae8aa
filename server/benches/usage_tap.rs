//! The usage tap's look at each streamed chunk, for a content chunk (nearly all of them) and
//! for the usage chunk that ends a stream. Run: `cargo bench -p server --bench usage_tap`.

use criterion::{Criterion, criterion_group, criterion_main};
use server::v1::usage_tap::usage_in;

fn bench(c: &mut Criterion) {
    let content = r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"llama-3.1-8b","system_fingerprint":null,"choices":[{"index":0,"delta":{"content":" healthy"},"logprobs":null,"finish_reason":null}]}"#;
    let usage = r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"llama-3.1-8b","choices":[],"usage":{"prompt_tokens":812,"completion_tokens":256,"total_tokens":1068}}"#;
    c.bench_function("usage tap: content chunk", |b| {
        b.iter(|| usage_in(std::hint::black_box(content)));
    });
    c.bench_function("usage tap: usage chunk", |b| {
        b.iter(|| usage_in(std::hint::black_box(usage)));
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
