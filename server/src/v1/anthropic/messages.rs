//! `POST /v1/messages`: Anthropic's Messages API on the same keys, routing, fail-over, limits
//! and usage accounting as `/v1/chat/completions`. To an Anthropic upstream the request passes
//! as it came (the model renamed, the upstream's key put in); to an OpenAI-compatible one it is
//! translated to chat completions and the answer back (see [`crate::v1::exchange`]).

use app::server::{keys::Principal, usage::Endpoint};
use axum::{
    Extension,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::Response,
};

use super::errors::anthropic_error;
use crate::{
    AppState,
    v1::proxy::{self, Passed},
};

pub async fn create(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    headers: HeaderMap,
    body: crate::v1::body::Body,
) -> Response {
    if let Some(refused) = require_version(&headers) {
        return refused;
    }
    proxy::routed(
        state,
        who,
        Endpoint::Messages,
        body,
        Passed::anthropic(&headers),
    )
    .await
}

/// The refusal of a request without a version, as Anthropic refuses it; clients that speak
/// the API always send one.
pub fn require_version(headers: &HeaderMap) -> Option<Response> {
    (!headers.contains_key("anthropic-version")).then(|| {
        anthropic_error(
            StatusCode::BAD_REQUEST,
            "anthropic-version: header is required",
        )
    })
}
