//! OpenAI's Responses API: `POST /v1/responses` on the same keys, routing, fail-over, limits and
//! usage accounting as chat completions. To an upstream that serves the Responses API itself
//! (`api = "openai_responses"`) the request passes with only its model rewritten; to other
//! OpenAI-compatible upstreams it is translated to chat completions ([`to_chat`]) and the answer
//! back ([`from_chat`], [`stream`]); to Anthropic upstreams it goes on from chat completions to
//! Messages, and the answer comes back the same way.
//!
//! State: a request that carries its whole history (`store: false`, as Codex sends it) needs
//! none. When the gateway keeps responses (`--store-responses`), `previous_response_id` and
//! `/v1/responses/{id}` work on them ([`stored`]); otherwise they answer 400 saying so.

pub mod echo;
pub mod from_chat;
pub mod stored;
pub mod stream;
pub mod to_chat;
pub mod usage;

use app::server::{keys::Principal, usage::Endpoint};
use axum::{Extension, extract::State, response::Response};

pub use stored::{Keeper, Turn};

use crate::{
    AppState,
    v1::proxy::{self, Passed},
};

pub async fn create(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    body: crate::v1::body::Body,
) -> Response {
    let (body, turn) = match stored::prepare(&state.services, &who, body).await {
        Ok(prepared) => prepared,
        Err(e) => return axum::response::IntoResponse::into_response(e),
    };
    proxy::routed_turn(
        state,
        who,
        Endpoint::Responses,
        body.into(),
        Passed::none(),
        turn,
    )
    .await
}
