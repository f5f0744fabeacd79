//! Test harness: a simulator on 127.0.0.1:0 and a webhook receiver that answers the GET
//! handshake, records every POST byte-for-byte and answers from a script of statuses.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use serde_json::{Value, json};
use switchboard_channels::whatsapp::webhook::{self, ChangeValue, Notification, Status};
use switchboard_channels::whatsapp::{GraphClient, GraphConfig, signature};
use switchboard_simulator::{SimConfig, SimHandle, Simulator};
use tokio::net::TcpListener;

pub const SECRET: &str = "test-app-secret";
pub const VERIFY: &str = "test-verify-token";
pub const TOKEN: &str = "test-access-token";
pub const PHONE_ID: &str = "106000000000001";
pub const WABA_ID: &str = "880000000000001";

#[derive(Clone)]
pub struct Post {
    pub signature: Option<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    pub answered: u16,
}

#[derive(Clone, Default)]
pub struct Receiver {
    pub posts: Arc<Mutex<Vec<Post>>>,
    /// Statuses to answer the next POSTs with; 200 once empty.
    pub script: Arc<Mutex<VecDeque<u16>>>,
    pub handshakes: Arc<Mutex<u32>>,
    /// The verify token this receiver expects.
    pub expected_token: Arc<Mutex<String>>,
}

impl Receiver {
    pub fn posts(&self) -> Vec<Post> {
        self.posts.lock().unwrap().clone()
    }

    /// Bodies answered with 200, parsed (after checking the signature).
    pub fn accepted(&self) -> Vec<Notification> {
        self.posts()
            .into_iter()
            .filter(|p| p.answered == 200)
            .map(|p| {
                signature::verify(SECRET.as_bytes(), p.signature.as_deref(), &p.body).unwrap();
                webhook::parse(&p.body).unwrap()
            })
            .collect()
    }

    pub fn statuses(&self) -> Vec<Status> {
        self.accepted()
            .iter()
            .flat_map(|n| n.entry.iter().flat_map(|e| e.changes.iter()))
            .filter_map(|c| match &c.value {
                ChangeValue::Messages(v) => Some(v.statuses.clone()),
                _ => None,
            })
            .flatten()
            .collect()
    }

    pub fn statuses_of(&self, wamid: &str) -> Vec<Status> {
        self.statuses().into_iter().filter(|s| s.id == wamid).collect()
    }
}

#[derive(serde::Deserialize)]
struct Handshake {
    #[serde(rename = "hub.mode")]
    mode: String,
    #[serde(rename = "hub.challenge")]
    challenge: String,
    #[serde(rename = "hub.verify_token")]
    token: String,
}

async fn verify(State(r): State<Receiver>, Query(q): Query<Handshake>) -> (StatusCode, String) {
    *r.handshakes.lock().unwrap() += 1;
    if q.mode == "subscribe" && q.token == *r.expected_token.lock().unwrap() {
        (StatusCode::OK, q.challenge)
    } else {
        (StatusCode::FORBIDDEN, String::new())
    }
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let answered = r.script.lock().unwrap().pop_front().unwrap_or(200);
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    r.posts.lock().unwrap().push(Post {
        signature: header("x-hub-signature-256"),
        content_type: header("content-type"),
        body: body.to_vec(),
        answered,
    });
    StatusCode::from_u16(answered).unwrap()
}

pub async fn receiver() -> (String, Receiver) {
    let r = Receiver::default();
    *r.expected_token.lock().unwrap() = VERIFY.into();
    let app = Router::new().route("/webhooks/whatsapp", get(verify).post(receive)).with_state(r.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhooks/whatsapp", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, r)
}

pub fn config(webhook_url: &str) -> SimConfig {
    SimConfig {
        webhook_url: webhook_url.into(),
        app_secret: SECRET.into(),
        verify_token: VERIFY.into(),
        access_token: TOKEN.into(),
        status_delays_ms: (10, 20, 30),
        retry_schedule_ms: vec![0, 50, 100],
        template_approval_ms: 50,
        ..SimConfig::default()
    }
}

pub struct Harness {
    pub sim: SimHandle,
    pub receiver: Receiver,
    pub http: reqwest::Client,
}

impl Harness {
    pub async fn start(tune: impl FnOnce(&mut SimConfig)) -> Self {
        let (url, receiver) = receiver().await;
        let mut cfg = config(&url);
        tune(&mut cfg);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sim = Simulator::start(listener, cfg).await.unwrap();
        Self { sim, receiver, http: reqwest::Client::new() }
    }

    pub fn graph(&self, timeout: Duration) -> GraphClient {
        GraphClient::new(GraphConfig {
            base_url: self.sim.base_url.clone(),
            api_version: "v24.0".into(),
            connect_timeout: Duration::from_secs(2),
            timeout,
            media_timeout: timeout,
        })
        .unwrap()
    }

    /// `POST /v24.0/{phone}/messages` with a raw body: (HTTP status, JSON answer).
    pub async fn send_raw(&self, body: &Value) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}/v24.0/{PHONE_ID}/messages", self.sim.base_url))
            .bearer_auth(TOKEN)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn control(&self, path: &str, body: &Value) -> Value {
        let resp = self.http.post(format!("{}/_sim/{path}", self.sim.base_url)).json(body).send().await.unwrap();
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json().await.unwrap()
    }

    pub async fn get(&self, path_and_query: &str) -> Value {
        self.http
            .get(format!("{}/_sim/{path_and_query}", self.sim.base_url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// A customer writes first, opening the 24-hour window.
    pub async fn customer_says(&self, from: &str, text: &str) -> String {
        let answer =
            self.control("inbound", &json!({ "from": from, "name": "Ayşe", "type": "text", "text": text })).await;
        answer["wamids"][0].as_str().unwrap().to_owned()
    }
}

pub fn text_to(to: &str, body: &str) -> Value {
    json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": { "body": body },
    })
}

pub fn template_to(to: &str, name: &str, language: &str, params: &[&str]) -> Value {
    let parameters: Vec<Value> = params.iter().map(|p| json!({ "type": "text", "text": p })).collect();
    json!({
        "messaging_product": "whatsapp",
        "to": to,
        "type": "template",
        "template": {
            "name": name,
            "language": { "code": language },
            "components": [{ "type": "body", "parameters": parameters }],
        },
    })
}

/// Polls `check` until it returns true or `secs` pass.
pub async fn eventually(secs: u64, mut check: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while tokio::time::Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    check()
}
