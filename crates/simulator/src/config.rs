//! What the simulator is told at start, and the parts of it that can change while it runs
//! (`POST /_sim/config`, `POST /_sim/faults`).

use serde::{Deserialize, Serialize};

/// Everything the fake Meta needs to know. `..SimConfig::default()` fills the rest.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Where webhooks are POSTed (Switchboard's `/webhooks/whatsapp[/{channel_id}]`).
    pub webhook_url: String,
    /// Signs every webhook POST (`X-Hub-Signature-256`).
    pub app_secret: String,
    /// Sent in the GET handshake as `hub.verify_token`.
    pub verify_token: String,
    /// The only bearer token the Graph API accepts; anything else gets error 190 / HTTP 401.
    pub access_token: String,
    pub phone_number_id: String,
    pub waba_id: String,
    pub display_phone_number: String,
    /// Accepted sends per second for the phone number before 130429. 0 = unlimited. Meta's
    /// levels are 80 (default) and 1,000.
    pub throughput_per_sec: u32,
    /// Per-recipient burst before 131056.
    pub pair_rate: PairRate,
    /// Delays after an accepted send before the `sent`, `delivered` and `read` webhooks.
    pub status_delays_ms: (u64, u64, u64),
    /// Fraction of accepted sends that end in a `failed` status (131026) instead.
    pub failure_rate: f64,
    pub emit_read: bool,
    /// Delay before each delivery attempt, measured from the previous attempt (the first entry
    /// is the delay before the first attempt). After the last entry, attempts repeat at the
    /// last interval until `max_retry_age_ms` after the webhook was created.
    pub retry_schedule_ms: Vec<u64>,
    pub max_retry_age_ms: u64,
    /// How long a created template stays PENDING before its status webhook.
    pub template_approval_ms: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            webhook_url: "http://127.0.0.1:8080/webhooks/whatsapp".into(),
            app_secret: "sim-app-secret".into(),
            verify_token: "sim-verify-token".into(),
            access_token: "sim-access-token".into(),
            phone_number_id: "106000000000001".into(),
            waba_id: "880000000000001".into(),
            display_phone_number: "15550001111".into(),
            throughput_per_sec: 80,
            pair_rate: PairRate::default(),
            status_delays_ms: (50, 150, 400),
            failure_rate: 0.0,
            emit_read: true,
            retry_schedule_ms: vec![0, 200, 1_000, 5_000, 15_000, 60_000],
            max_retry_age_ms: 3_600_000,
            template_approval_ms: 300,
        }
    }
}

/// Meta's pair rate (PROTOCOLS §3.5), simplified to a fixed window per recipient: at most
/// `burst` accepted messages per `window_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairRate {
    pub burst: u32,
    pub window_ms: u64,
}

impl Default for PairRate {
    fn default() -> Self {
        Self { burst: 45, window_ms: 6_000 }
    }
}

/// The runtime-changeable part of [`SimConfig`]; secrets and ids are fixed at start.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Tunables {
    pub webhook_url: String,
    pub throughput_per_sec: u32,
    pub pair_rate: PairRate,
    pub status_delays_ms: (u64, u64, u64),
    pub failure_rate: f64,
    pub emit_read: bool,
    pub retry_schedule_ms: Vec<u64>,
    pub max_retry_age_ms: u64,
    pub template_approval_ms: u64,
}

/// A partial update of [`Tunables`] (`POST /_sim/config`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TunablesPatch {
    webhook_url: Option<String>,
    throughput_per_sec: Option<u32>,
    pair_rate: Option<PairRate>,
    status_delays_ms: Option<(u64, u64, u64)>,
    failure_rate: Option<f64>,
    emit_read: Option<bool>,
    retry_schedule_ms: Option<Vec<u64>>,
    max_retry_age_ms: Option<u64>,
    template_approval_ms: Option<u64>,
}

impl Tunables {
    pub(crate) fn from_config(cfg: &SimConfig) -> Self {
        Self {
            webhook_url: cfg.webhook_url.clone(),
            throughput_per_sec: cfg.throughput_per_sec,
            pair_rate: cfg.pair_rate,
            status_delays_ms: cfg.status_delays_ms,
            failure_rate: cfg.failure_rate,
            emit_read: cfg.emit_read,
            retry_schedule_ms: cfg.retry_schedule_ms.clone(),
            max_retry_age_ms: cfg.max_retry_age_ms,
            template_approval_ms: cfg.template_approval_ms,
        }
    }

    pub(crate) fn apply(&mut self, p: TunablesPatch) {
        let TunablesPatch {
            webhook_url,
            throughput_per_sec,
            pair_rate,
            status_delays_ms,
            failure_rate,
            emit_read,
            retry_schedule_ms,
            max_retry_age_ms,
            template_approval_ms,
        } = p;
        if let Some(v) = webhook_url {
            self.webhook_url = v;
        }
        if let Some(v) = throughput_per_sec {
            self.throughput_per_sec = v;
        }
        if let Some(v) = pair_rate {
            self.pair_rate = v;
        }
        if let Some(v) = status_delays_ms {
            self.status_delays_ms = v;
        }
        if let Some(v) = failure_rate {
            self.failure_rate = v;
        }
        if let Some(v) = emit_read {
            self.emit_read = v;
        }
        if let Some(v) = retry_schedule_ms {
            self.retry_schedule_ms = v;
        }
        if let Some(v) = max_retry_age_ms {
            self.max_retry_age_ms = v;
        }
        if let Some(v) = template_approval_ms {
            self.template_approval_ms = v;
        }
    }
}

/// Fault injection on the Graph API (`POST /_sim/faults`). Replaced as a whole on each POST.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// Added before every Graph API answer.
    #[serde(default)]
    pub latency_ms: u64,
    /// Fraction of Graph API calls answered HTTP 503 with error 131016 (nothing is done).
    #[serde(default)]
    pub error_rate: f64,
    /// Fraction of sends that are accepted (counted, statuses emitted) but never answered:
    /// the client times out not knowing whether the message went out.
    #[serde(default)]
    pub drop_response_rate: f64,
    /// Errors to apply to the next sends, one each, in order.
    #[serde(default)]
    pub fail_next: Vec<ForcedError>,
}

/// One forced error: answered synchronously, or (with `async: true`) accepted and then
/// reported through a `failed` status webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForcedError {
    pub code: i64,
    #[serde(default, rename = "async")]
    pub asynchronous: bool,
}
