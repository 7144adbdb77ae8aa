//! A multipart upload (`/v1/audio/transcriptions`, `…/translations`, `/v1/images/edits`,
//! `…/variations`): read part by part as it arrives, text fields kept (they are small) and
//! files spooled to a private temporary directory, never held whole in memory. Each target
//! then gets the same parts streamed from disk with only `model` replaced, so fail-over can
//! resend them, and a client who sent `model` after its file is served as well as one who
//! sent it first.

use std::path::PathBuf;

use axum::{
    extract::{FromRequest, Request},
    http::header,
};
use futures_util::TryStreamExt;
use tokio::io::AsyncWriteExt;

use super::ApiError;
use crate::AppState;

/// The most a text field may hold; files are what may be large.
const MAX_FIELD: usize = 1 << 20;

enum Part {
    Text {
        name: String,
        value: String,
    },
    File {
        name: String,
        file_name: Option<String>,
        content_type: Option<String>,
        path: PathBuf,
        len: u64,
    },
}

/// An upload, spooled.
pub struct Upload {
    parts: Vec<Part>,
    pub model: String,
    /// `stream=true`: the answer comes as server-sent events.
    pub stream: bool,
    /// Where its files are; deleted with it.
    _dir: tempfile::TempDir,
}

/// An upload as read, or why it could not be.
pub struct Received(pub Result<Upload, ApiError>);

impl FromRequest<AppState> for Received {
    type Rejection = std::convert::Infallible;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let services = &state.services;
        let deadline = services.v1_body_timeout;
        let limit = services.upload_limit;
        let read = tokio::time::timeout(deadline, receive(req, limit))
            .await
            .unwrap_or(Err(ApiError::BodyTimeout));
        Ok(Self(read))
    }
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::BadRequest {
        message: message.into(),
        param: None,
    }
}

async fn receive(req: Request, limit: u64) -> Result<Upload, ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let boundary = multer::parse_boundary(content_type)
        .map_err(|_| bad("the request body must be multipart/form-data, with its boundary"))?;
    let stream = req.into_body().into_data_stream();
    let constraints =
        multer::Constraints::new().size_limit(multer::SizeLimit::new().whole_stream(limit));
    let mut multipart = multer::Multipart::with_constraints(stream, boundary, constraints);
    let dir = tempfile::Builder::new()
        .prefix("portcullis-upload-")
        .tempdir()
        .map_err(ApiError::internal)?;
    let mut parts = Vec::new();
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        if field.file_name().is_none() {
            let mut value = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                value.extend_from_slice(&chunk);
                if value.len() > MAX_FIELD {
                    return Err(bad(format!("the field `{name}` is too long")));
                }
            }
            let value = String::from_utf8(value)
                .map_err(|_| bad(format!("the field `{name}` is not UTF-8 text")))?;
            parts.push(Part::Text { name, value });
            continue;
        }
        let path = dir.path().join(format!("part-{}", parts.len()));
        let mut file = tokio::fs::File::create(&path)
            .await
            .map_err(ApiError::internal)?;
        let mut len = 0u64;
        while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
            len += chunk.len() as u64;
            file.write_all(&chunk).await.map_err(ApiError::internal)?;
        }
        file.flush().await.map_err(ApiError::internal)?;
        parts.push(Part::File {
            name,
            file_name: field.file_name().map(str::to_owned),
            content_type: field.content_type().map(ToString::to_string),
            path,
            len,
        });
    }
    let text = |wanted: &str| {
        parts.iter().find_map(|p| match p {
            Part::Text { name, value } if name == wanted => Some(value.as_str()),
            _ => None,
        })
    };
    // Two `model` fields could be read one way here and another way upstream.
    let models = parts
        .iter()
        .filter(|p| matches!(p, Part::Text { name, .. } if name == "model"))
        .count();
    if models > 1 {
        return Err(bad("the field `model` is given twice"));
    }
    let model = text("model")
        .filter(|m| !m.is_empty())
        .ok_or_else(|| ApiError::BadRequest {
            message: "you must provide a model".into(),
            param: Some("model".into()),
        })?
        .to_owned();
    let stream = match text("stream") {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(ApiError::BadRequest {
                message: "`stream` must be true or false".into(),
                param: Some("stream".into()),
            });
        }
    };
    Ok(Upload {
        parts,
        model,
        stream,
        _dir: dir,
    })
}

fn multipart_error(e: multer::Error) -> ApiError {
    match e {
        multer::Error::StreamSizeExceeded { .. } => ApiError::PayloadTooLarge,
        other => bad(format!("the multipart body is malformed: {other}")),
    }
}

impl Upload {
    /// The value of the text field `name`.
    pub fn field(&self, wanted: &str) -> Option<&str> {
        self.parts.iter().find_map(|p| match p {
            Part::Text { name, value } if name == wanted => Some(value.as_str()),
            _ => None,
        })
    }

    /// Whole seconds of audio in its first file, where its container tells
    /// ([`super::audio_length`]); read on a blocking thread, as it reads the file.
    pub async fn audio_seconds(&self) -> Option<i64> {
        let (path, file_name) = self.parts.iter().find_map(|p| match p {
            Part::File {
                path, file_name, ..
            } => Some((path.clone(), file_name.clone())),
            Part::Text { .. } => None,
        })?;
        let seconds = tokio::task::spawn_blocking(move || {
            super::audio_length::seconds(&path, file_name.as_deref())
        })
        .await
        .ok()??;
        // Recordings last hours at most, far inside i64.
        #[allow(clippy::cast_possible_truncation)]
        Some(seconds.ceil() as i64)
    }

    /// The bytes its files hold together.
    pub fn file_bytes(&self) -> u64 {
        self.parts
            .iter()
            .map(|p| match p {
                Part::File { len, .. } => *len,
                Part::Text { .. } => 0,
            })
            .sum()
    }

    /// The form for a target that knows the model as `upstream_model`: every part in the
    /// order it came, the files streamed from disk.
    pub async fn form(&self, upstream_model: &str) -> Result<reqwest::multipart::Form, ApiError> {
        let mut form = reqwest::multipart::Form::new();
        for part in &self.parts {
            form = match part {
                Part::Text { name, value } if name == "model" => {
                    form.text(name.clone(), upstream_model.to_owned())
                }
                Part::Text { name, value } => form.text(name.clone(), value.clone()),
                Part::File {
                    name,
                    file_name,
                    content_type,
                    path,
                    len,
                } => {
                    let file = tokio::fs::File::open(path)
                        .await
                        .map_err(ApiError::internal)?;
                    let body = reqwest::Body::wrap_stream(
                        tokio_util::io::ReaderStream::new(file).map_err(std::io::Error::other),
                    );
                    let mut p = reqwest::multipart::Part::stream_with_length(body, *len);
                    if let Some(f) = file_name {
                        p = p.file_name(f.clone());
                    }
                    if let Some(ct) = content_type {
                        p = p.mime_str(ct).map_err(|_| {
                            bad(format!("the part `{name}` has an invalid content type"))
                        })?;
                    }
                    form.part(name.clone(), p)
                }
            };
        }
        Ok(form)
    }
}
