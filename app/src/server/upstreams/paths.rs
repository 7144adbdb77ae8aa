//! Further paths an upstream serves that clients may call through the gateway (vLLM's
//! `/tokenize`, `/detokenize`, `/v1/score`, `/pooling`…): declared per upstream, called at the
//! same path on the gateway under a key, with the model permission check. Nothing else is
//! forwarded: an undeclared path stays 404.

use crate::server::CoreError;

/// Paths the gateway answers itself: a declared path may not shadow them.
const RESERVED_PREFIXES: [&str; 5] = ["/api/", "/auth/", "/pkg/", "/v1/models", "/v1/messages"];
const RESERVED: [&str; 20] = [
    "/",
    "/healthz",
    "/readyz",
    "/metrics",
    "/rerank",
    "/v2/rerank",
    "/v1/chat/completions",
    "/v1/completions",
    "/v1/embeddings",
    "/v1/responses",
    "/v1/rerank",
    "/v1/audio/transcriptions",
    "/v1/audio/translations",
    "/v1/audio/speech",
    "/v1/images/generations",
    "/v1/images/edits",
    "/v1/images/variations",
    "/v1/moderations",
    "/login",
    "/logout",
];

/// At most this many a upstream.
const MAX_PATHS: usize = 32;

/// Checks declared paths: absolute, plain segments (letters, digits, `.`, `_`, `-`; no `..`),
/// and none the gateway serves itself.
pub fn check(paths: &[String]) -> Result<(), CoreError> {
    if paths.len() > MAX_PATHS {
        return Err(CoreError::invalid(
            "extra_paths",
            format!("declare at most {MAX_PATHS} paths"),
        ));
    }
    for path in paths {
        let plain = path.starts_with('/')
            && path.len() <= 200
            && path[1..].split('/').all(|segment| {
                !segment.is_empty()
                    && segment != "."
                    && segment != ".."
                    && segment
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
            });
        if !plain {
            return Err(CoreError::invalid(
                "extra_paths",
                format!("`{path}` is not a plain absolute path such as /tokenize"),
            ));
        }
        let reserved = RESERVED.contains(&path.as_str())
            || RESERVED_PREFIXES
                .iter()
                .any(|p| path.starts_with(p) || path == p.trim_end_matches('/'));
        if reserved {
            return Err(CoreError::invalid(
                "extra_paths",
                format!("`{path}` is served by the gateway itself"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_paths_the_gateway_does_not_serve_may_be_declared() {
        let ok = |p: &[&str]| check(&p.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
        assert!(
            ok(&[
                "/tokenize",
                "/detokenize",
                "/v1/score",
                "/pooling",
                "/v1/x-y_z.1"
            ])
            .is_ok()
        );
        for bad in [
            "tokenize",
            "/",
            "/a//b",
            "/a/../b",
            "/a?x=1",
            "/a b",
            "/v1/chat/completions",
            "/v1/models/x",
            "/api/users/list",
            "/metrics",
        ] {
            assert!(ok(&[bad]).is_err(), "{bad}");
        }
    }
}
