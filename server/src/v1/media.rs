//! The endpoints beyond chat that inference servers serve: rerank, audio, images and
//! moderations, each on the same keys, permissions, routing, fail-over, limits and usage
//! accounting as chat completions, passed to OpenAI-compatible upstreams with only the model
//! rewritten (multipart uploads included, see [`super::upload`]). Each is measured in its own
//! unit ([`app::server::usage::Unit`]) beside any tokens its upstream reports.

use app::server::{keys::Principal, usage::Endpoint};
use axum::{
    Extension,
    extract::State,
    response::{IntoResponse, Response},
};

use super::{
    body::Body,
    proxy::{Passed, routed},
    upload::Received,
};
use crate::AppState;

macro_rules! json_endpoint {
    ($name:ident, $kind:expr) => {
        pub async fn $name(
            State(state): State<AppState>,
            Extension(who): Extension<Principal>,
            body: Body,
        ) -> Response {
            routed(state, who, $kind, body, Passed::none()).await
        }
    };
}

macro_rules! upload_endpoint {
    ($name:ident, $kind:expr) => {
        pub async fn $name(
            State(state): State<AppState>,
            Extension(who): Extension<Principal>,
            upload: Received,
        ) -> Response {
            routed(state, who, $kind, upload, Passed::none()).await
        }
    };
}

/// Rerank, its documents made strings where the client sent objects ([`super::rerank`]).
pub async fn rerank(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    body: Body,
) -> Response {
    let body = match body.0 {
        Ok(bytes) => match serde_json::from_slice::<serde_json::Value>(&bytes) {
            // What is not JSON is refused, with its reason, by the proxy's own reading.
            Err(_) => Body(Ok(bytes)),
            Ok(asked) => match super::rerank::request(&asked) {
                Ok(None) => Body(Ok(bytes)),
                Ok(Some(sent)) => Body(Ok(bytes::Bytes::from(sent.to_string()))),
                Err(e) => return e.into_response(),
            },
        },
        Err(e) => Body(Err(e)),
    };
    routed(state, who, Endpoint::Rerank, body, Passed::none()).await
}
json_endpoint!(speech, Endpoint::AudioSpeech);
json_endpoint!(image_generations, Endpoint::ImagesGenerations);
json_endpoint!(moderations, Endpoint::Moderations);
upload_endpoint!(transcriptions, Endpoint::AudioTranscriptions);
upload_endpoint!(translations, Endpoint::AudioTranslations);
upload_endpoint!(image_edits, Endpoint::ImagesEdits);
upload_endpoint!(image_variations, Endpoint::ImagesVariations);
