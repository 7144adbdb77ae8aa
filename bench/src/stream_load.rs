//! The streaming load: general HTTP load generators time a response as a whole, but a
//! streamed chat answer is judged by its first token and by each token after it. Each worker
//! keeps one keep-alive connection and sends requests back to back until the time is up.

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, StatusCode, client::conn::http1, header};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::mock::now_us;

/// Where a load goes: the same request body, straight to the mock or through the gateway.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub path: String,
    pub bearer: Option<String>,
    pub body: Bytes,
}

impl Target {
    pub fn url(&self) -> String {
        format!("http://{}{}", self.addr, self.path)
    }
}

/// Every request's times, in microseconds.
#[derive(Debug, Default)]
pub struct StreamRun {
    /// From sending the request to the first bytes of its body.
    pub first_byte: Vec<u64>,
    /// From sending the request to the end of its body.
    pub end: Vec<u64>,
    /// For each content chunk: from the mock sending it to its arrival here.
    pub chunk_delay: Vec<u64>,
    pub errors: u64,
    pub elapsed: Duration,
}

impl StreamRun {
    pub fn requests_per_second(&self) -> f64 {
        self.end.len() as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    fn absorb(&mut self, other: Self) {
        self.first_byte.extend(other.first_byte);
        self.end.extend(other.end);
        self.chunk_delay.extend(other.chunk_delay);
        self.errors += other.errors;
    }
}

pub async fn run(
    target: Arc<Target>,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<StreamRun> {
    let started = Instant::now();
    let deadline = started + duration;
    let workers: Vec<_> = (0..concurrency)
        .map(|_| tokio::spawn(worker(target.clone(), deadline)))
        .collect();
    let mut all = StreamRun::default();
    for w in workers {
        all.absorb(w.await.context("a load worker panicked")??);
    }
    all.elapsed = started.elapsed();
    Ok(all)
}

async fn worker(target: Arc<Target>, deadline: Instant) -> anyhow::Result<StreamRun> {
    let mut out = StreamRun::default();
    'connections: while Instant::now() < deadline {
        let tcp = TcpStream::connect(target.addr)
            .await
            .with_context(|| format!("cannot connect to {}", target.addr))?;
        tcp.set_nodelay(true)?;
        let (mut sender, conn) = http1::handshake(TokioIo::new(tcp)).await?;
        tokio::spawn(conn);
        while Instant::now() < deadline {
            if sender.ready().await.is_err() {
                out.errors += 1;
                continue 'connections;
            }
            let mut req = Request::post(target.path.as_str())
                .header(header::HOST, target.addr.to_string())
                .header(header::CONTENT_TYPE, "application/json");
            if let Some(bearer) = &target.bearer {
                req = req.header(header::AUTHORIZATION, format!("Bearer {bearer}"));
            }
            let req = req.body(Full::new(target.body.clone()))?;
            let sent = Instant::now();
            let Ok(res) = sender.send_request(req).await else {
                out.errors += 1;
                continue 'connections;
            };
            let ok = res.status() == StatusCode::OK;
            let mut body = res.into_body();
            let mut first = None;
            let mut pending = Vec::with_capacity(4096);
            let mut delays = Vec::new();
            while let Some(frame) = body.frame().await {
                let Ok(frame) = frame else {
                    out.errors += 1;
                    continue 'connections;
                };
                let Some(data) = frame.data_ref() else {
                    continue;
                };
                let arrived = now_us();
                first.get_or_insert_with(|| sent.elapsed());
                pending.extend_from_slice(data);
                drain_events(&mut pending, arrived, &mut delays);
            }
            if !ok {
                out.errors += 1;
                continue;
            }
            let Some(first) = first else {
                out.errors += 1;
                continue;
            };
            out.first_byte.push(micros(first));
            out.end.push(micros(sent.elapsed()));
            out.chunk_delay.extend(delays);
        }
        break;
    }
    Ok(out)
}

/// Takes the complete server-sent events off the front of `pending`, noting how late each
/// timestamped one arrived.
fn drain_events(pending: &mut Vec<u8>, arrived_us: u64, delays: &mut Vec<u64>) {
    const MARK: &[u8] = b"\"x_sent_us\":";
    let mut consumed = 0;
    while let Some(end) = find(&pending[consumed..], b"\n\n") {
        let event = &pending[consumed..consumed + end];
        if let Some(at) = find(event, MARK) {
            let digits: Vec<u8> = event[at + MARK.len()..]
                .iter()
                .copied()
                .take_while(u8::is_ascii_digit)
                .collect();
            if let Some(sent) = std::str::from_utf8(&digits)
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
            {
                delays.push(arrived_us.saturating_sub(sent));
            }
        }
        consumed += end + 2;
    }
    pending.drain(..consumed);
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_across_frames_are_timed_once_complete() {
        let mut pending = b"data: {\"x_sent_us\":100,\"a\":1}\n\ndata: {\"x_sent".to_vec();
        let mut delays = Vec::new();
        drain_events(&mut pending, 150, &mut delays);
        assert_eq!(delays, vec![50]);
        pending.extend_from_slice(b"_us\":120}\n\ndata: [DONE]\n\n");
        drain_events(&mut pending, 200, &mut delays);
        assert_eq!(delays, vec![50, 80]);
        assert!(pending.is_empty());
    }
}
