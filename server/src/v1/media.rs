//! The endpoints beyond chat that inference servers serve: rerank, audio, images and
//! moderations, each on the same keys, permissions, routing, fail-over, limits and usage
//! accounting as chat completions, passed to OpenAI-compatible upstreams with only the model
//! rewritten (multipart uploads included, see [`super::upload`]). Each is measured in its own
//! unit ([`app::server::usage::Unit`]) beside any tokens its upstream reports.

use app::server::{keys::Principal, usage::Endpoint};
use axum::{Extension, extract::State, response::Response};

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

json_endpoint!(rerank, Endpoint::Rerank);
json_endpoint!(speech, Endpoint::AudioSpeech);
json_endpoint!(image_generations, Endpoint::ImagesGenerations);
json_endpoint!(moderations, Endpoint::Moderations);
upload_endpoint!(transcriptions, Endpoint::AudioTranscriptions);
upload_endpoint!(translations, Endpoint::AudioTranslations);
upload_endpoint!(image_edits, Endpoint::ImagesEdits);
upload_endpoint!(image_variations, Endpoint::ImagesVariations);
