//! A `/v1` request body, read whole within the deadline and the size limit: a client that
//! trickles its body cannot hold a request (and its connection) open for longer.

use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
    http::StatusCode,
};

use super::ApiError;
use crate::AppState;

/// The body as read, or why it could not be.
pub struct Body(pub Result<Bytes, ApiError>);

impl FromRequest<AppState> for Body {
    type Rejection = std::convert::Infallible;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let deadline = state.services.v1_body_timeout;
        let read = match tokio::time::timeout(deadline, Bytes::from_request(req, state)).await {
            Ok(Ok(bytes)) => Ok(bytes),
            Ok(Err(e)) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::PayloadTooLarge)
            }
            Ok(Err(e)) => Err(ApiError::BadRequest {
                message: e.body_text(),
                param: None,
            }),
            Err(_) => Err(ApiError::BodyTimeout),
        };
        Ok(Self(read))
    }
}
