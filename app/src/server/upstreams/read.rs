//! Reading what an upstream sends, never more than a cap: an upstream that answers without
//! end (by fault or on purpose) must not take the gateway's memory with it.

use bytes::Bytes;
use futures::{Stream, StreamExt};

use super::discovery;

/// Largest whole answer read (an embeddings batch can be tens of MiB).
pub const MAX_ANSWER: usize = 128 << 20;
/// Largest error answer read; past it the error is reported without its body.
pub const MAX_ERROR: usize = 64 << 10;
/// Largest single server-sent event.
pub const MAX_EVENT: usize = 4 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{}", discovery::describe(.0))]
    Transport(#[from] reqwest::Error),
    #[error("the upstream sent more than {0} bytes at once")]
    TooLarge(usize),
}

impl ReadError {
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Transport(e) if e.is_timeout())
    }
}

/// The whole body, if it is at most `cap` bytes.
pub async fn whole(mut response: reqwest::Response, cap: usize) -> Result<Bytes, ReadError> {
    if response
        .content_length()
        .is_some_and(|n| n > u64::try_from(cap).unwrap_or(u64::MAX))
    {
        return Err(ReadError::TooLarge(cap));
    }
    let mut parts: Vec<Bytes> = Vec::new();
    let mut len = 0usize;
    while let Some(part) = response.chunk().await? {
        len = len.saturating_add(part.len());
        if len > cap {
            return Err(ReadError::TooLarge(cap));
        }
        parts.push(part);
    }
    // Most answers arrive in one piece: no copy for them.
    Ok(match parts.len() {
        0 => Bytes::new(),
        1 => parts.swap_remove(0),
        _ => Bytes::from(parts.concat()),
    })
}

/// The body as a stream that fails once one event (the bytes between two blank lines) grows
/// past `cap`, before the event parser would buffer it.
pub fn events(
    response: reqwest::Response,
    cap: usize,
) -> impl Stream<Item = Result<Bytes, ReadError>> + Send + 'static {
    let mut event = EventLength::default();
    response.bytes_stream().map(move |part| {
        let part = part?;
        if event.add(&part) > cap {
            return Err(ReadError::TooLarge(cap));
        }
        Ok(part)
    })
}

/// The length of the event being received, across the chunks it arrives in.
#[derive(Default)]
struct EventLength {
    len: usize,
    /// The last byte other than `\r` was a line feed.
    after_line_feed: bool,
}

impl EventLength {
    fn add(&mut self, part: &[u8]) -> usize {
        for &b in part {
            match b {
                b'\n' if self.after_line_feed => self.len = 0,
                b'\n' => self.after_line_feed = true,
                b'\r' => {}
                _ => {
                    self.after_line_feed = false;
                    self.len += 1;
                }
            }
        }
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_is_measured_across_chunks_and_ends_at_a_blank_line() {
        let mut e = EventLength::default();
        assert_eq!(e.add(b"data: abc\n"), 9);
        assert_eq!(e.add(b"data: de"), 17);
        assert_eq!(e.add(b"f\r\n\r"), 18);
        assert_eq!(e.add(b"\ndata: x"), 7);
        assert_eq!(e.add(b"\n\n"), 0);
    }
}
