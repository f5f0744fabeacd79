//! Load generation over plain HTTP/1.1 keep-alive connections (hyper's client connection,
//! no pool): a closed loop (each connection sends its next request when the previous one is
//! answered, like `wrk -c N`) and an open loop at a fixed rate.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::stats::Samples;

/// One request to make: method, path, body and extra headers.
pub struct Call {
    pub method: Method,
    pub path: String,
    pub body: Bytes,
    pub headers: Vec<(&'static str, String)>,
}

impl Call {
    #[must_use]
    pub fn post_json(path: String, body: Bytes) -> Self {
        Self { method: Method::POST, path, body, headers: Vec::new() }
    }

    #[must_use]
    pub fn header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }
}

pub struct Conn {
    send: SendRequest<Full<Bytes>>,
    host: String,
}

impl Conn {
    pub async fn open(addr: SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr).await.with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        let (send, conn) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Self { send, host: addr.to_string() })
    }

    /// Sends `call` and reads the whole answer.
    pub async fn call(&mut self, call: Call) -> anyhow::Result<(StatusCode, Bytes)> {
        let mut req = Request::builder()
            .method(call.method)
            .uri(call.path)
            .header("host", &self.host)
            .header("content-type", "application/json");
        for (name, value) in call.headers {
            req = req.header(name, value);
        }
        self.send.ready().await?;
        let res = self.send.send_request(req.body(Full::new(call.body))?).await?;
        let status = res.status();
        let body = res.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }
}

/// What a load run saw.
#[derive(Default)]
pub struct Outcome {
    pub ok: u64,
    /// Answers other than 2xx, with the first one kept for the report.
    pub failed: u64,
    pub first_failure: Option<String>,
    pub latency: Samples,
    pub elapsed: Duration,
}

impl Outcome {
    fn merge(&mut self, other: Outcome) {
        self.ok += other.ok;
        self.failed += other.failed;
        if self.first_failure.is_none() {
            self.first_failure = other.first_failure;
        }
        self.latency.extend(other.latency);
    }

    /// Successful requests per second.
    #[must_use]
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Makes the `seq`-th request of connection `conn`.
pub type MakeCall = Arc<dyn Fn(usize, u64) -> Call + Send + Sync>;

/// `connections` connections each send request after request until `duration` has passed.
pub async fn closed_loop(
    addr: SocketAddr,
    connections: usize,
    duration: Duration,
    make: MakeCall,
) -> anyhow::Result<Outcome> {
    run(addr, connections, duration, make, None).await
}

/// Requests at `rate` per second in total, spread evenly over `connections` connections, for
/// `duration`. A connection whose previous answer is late sends its next request as soon as
/// it can (the schedule is kept, latency includes the wait).
pub async fn open_loop(
    addr: SocketAddr,
    connections: usize,
    rate: u32,
    duration: Duration,
    make: MakeCall,
) -> anyhow::Result<Outcome> {
    let period = Duration::from_secs_f64(connections as f64 / f64::from(rate.max(1)));
    run(addr, connections, duration, make, Some(period)).await
}

async fn run(
    addr: SocketAddr,
    connections: usize,
    duration: Duration,
    make: MakeCall,
    period: Option<Duration>,
) -> anyhow::Result<Outcome> {
    let mut conns = Vec::with_capacity(connections);
    for _ in 0..connections {
        conns.push(Conn::open(addr).await?);
    }
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for (i, mut conn) in conns.into_iter().enumerate() {
        let make = make.clone();
        tasks.spawn(async move {
            let mut out = Outcome::default();
            let mut next = period.map(|p| start + p.mul_f64(i as f64 / connections as f64));
            let mut seq = 0u64;
            loop {
                if let (Some(at), Some(p)) = (next, period) {
                    tokio::time::sleep_until(at.into()).await;
                    next = Some(at + p);
                }
                let sent = next.map_or_else(Instant::now, |n| n - period.unwrap_or_default());
                if sent >= deadline {
                    break;
                }
                let (status, body) = conn.call(make(i, seq)).await?;
                seq += 1;
                if status.is_success() {
                    out.ok += 1;
                    out.latency.push(sent.elapsed());
                } else {
                    out.failed += 1;
                    if out.first_failure.is_none() {
                        out.first_failure = Some(format!("{status}: {}", String::from_utf8_lossy(&body)));
                    }
                }
            }
            anyhow::Ok(out)
        });
    }
    let mut total = Outcome::default();
    while let Some(r) = tasks.join_next().await {
        total.merge(r??);
    }
    total.elapsed = start.elapsed();
    Ok(total)
}
