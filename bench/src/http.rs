//! One request on a connection of its own: what the benchmarks need besides the load
//! generators, with nothing between them and the gateway.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::{Request, header};

async fn send<B>(addr: SocketAddr, req: Request<B>) -> anyhow::Result<(u16, Bytes)>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp)).await?;
    tokio::spawn(conn);
    let res = sender.send_request(req).await?;
    let status = res.status().as_u16();
    Ok((status, res.into_body().collect().await?.to_bytes()))
}

/// `GET path`, with a bearer if given: the status, or `None` when the gateway cannot be reached.
pub async fn status(addr: SocketAddr, path: &str, bearer: Option<&str>) -> Option<u16> {
    let mut req = Request::get(path).header(header::HOST, addr.to_string());
    if let Some(b) = bearer {
        req = req.header(header::AUTHORIZATION, format!("Bearer {b}"));
    }
    let req = req.body(Empty::<Bytes>::new()).ok()?;
    send(addr, req).await.ok().map(|(s, _)| s)
}

/// `POST path` with a JSON body: the status and the JSON answer.
pub async fn post_json(
    addr: SocketAddr,
    path: &str,
    body: &serde_json::Value,
    bearer: Option<&str>,
) -> anyhow::Result<(u16, serde_json::Value)> {
    let mut req = Request::post(path)
        .header(header::HOST, addr.to_string())
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(b) = bearer {
        req = req.header(header::AUTHORIZATION, format!("Bearer {b}"));
    }
    let req = req.body(Full::new(Bytes::from(body.to_string())))?;
    let (status, bytes) = send(addr, req).await?;
    Ok((status, serde_json::from_slice(&bytes).unwrap_or_default()))
}
