//! The inbox with a seeded tenant (issue 4's targets: the list of 50 rows p99 ≤ 15 ms under any
//! filter, a conversation page p99 ≤ 10 ms, search p99 ≤ 100 ms, the page ≤ 200 KB). Requests go
//! one at a time over loopback to the server in this process, so a latency is the server's
//! time plus a loopback round trip.

use std::time::Instant;

use anyhow::{anyhow, ensure};
use serde_json::Value;
use switchboard_app::seed::SeedPlan;
use switchboard_simulator::SimConfig;

use crate::env::{Env, app_config};
use crate::stats::Samples;

/// Contacts, messages and agents to seed; requests per case.
pub struct InboxRun {
    pub contacts: u64,
    pub messages: u64,
    pub agents: u32,
    pub requests: usize,
    pub pg: Option<String>,
}

struct Client {
    http: reqwest::Client,
    base: String,
    auth: String,
}

impl Client {
    /// GETs `path`: (body, bytes on the wire uncompressed, time).
    async fn get(&self, path: &str) -> anyhow::Result<(Value, usize, std::time::Duration)> {
        let started = Instant::now();
        let res = self.http.get(format!("{}{path}", self.base)).header("authorization", &self.auth).send().await?;
        let status = res.status();
        let bytes = res.bytes().await?;
        let took = started.elapsed();
        ensure!(status.is_success(), "{path}: {status} {}", String::from_utf8_lossy(&bytes));
        Ok((serde_json::from_slice(&bytes)?, bytes.len(), took))
    }

    /// `n` requests to the paths `path(i)` yields; prints and returns the latencies.
    async fn measure(&self, label: &str, n: usize, path: impl Fn(usize) -> String) -> anyhow::Result<Samples> {
        let mut samples = Samples::default();
        let mut rows = 0;
        for i in 0..n {
            let (body, _, took) = self.get(&path(i)).await?;
            rows += body["items"].as_array().map_or(0, Vec::len);
            samples.push(took);
        }
        println!("  {label}: {}; {:.1} rows per answer", samples.line(), rows as f64 / n.max(1) as f64);
        Ok(samples)
    }
}

fn encode(q: &str) -> String {
    q.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

pub async fn inbox(run: InboxRun) -> anyhow::Result<()> {
    let env = Env::start(run.pg.as_deref(), app_config(), SimConfig::default()).await?;
    println!(
        "inbox on {}: seeding {} contacts, {} messages, {} agents",
        env.backend(),
        run.contacts,
        run.messages,
        run.agents
    );
    let plan = SeedPlan { contacts: run.contacts, messages: run.messages, agents: run.agents, batch: 500 };
    let started = Instant::now();
    let report = env
        .app()
        .seed(env.tenant, plan, |_, done, of| {
            if done % 10_000 == 0 || done == of {
                eprintln!("  seeded {done}/{of} contacts in {:.0} s", started.elapsed().as_secs_f64());
            }
        })
        .await
        .map_err(|e| anyhow!("seeding: {e}"))?;
    println!(
        "  seed: {} contacts, {} conversations, {} messages, {} search documents in {:.1} s = {:.0} rows/s",
        report.contacts,
        report.conversations,
        report.messages,
        report.search_docs,
        report.seconds,
        report.rows_per_second
    );
    let c = Client { http: reqwest::Client::new(), base: env.server.url(), auth: format!("Bearer {}", env.key) };
    let n = run.requests;

    println!("conversation list, 50 rows ({n} requests each)");
    let (first, bytes, _) = c.get("/api/v1/conversations?limit=50").await?;
    let channel = report.channel_id.clone();
    for (label, query) in [
        ("all", String::new()),
        ("open", "&status=open".into()),
        ("resolved", "&status=resolved".into()),
        ("unassigned", "&assignee=none".into()),
        ("open, unassigned, on the number", format!("&status=open&assignee=none&channel_id={channel}")),
    ] {
        c.measure(label, n, |_| format!("/api/v1/conversations?limit=50{query}")).await?;
    }
    // Deeper pages: follow the cursor of the first.
    if let Some(cursor) = first["next_cursor"].as_str() {
        let cursor = encode(cursor);
        c.measure("second page", n, |_| format!("/api/v1/conversations?limit=50&cursor={cursor}")).await?;
    }
    println!("  weight of the 50-row list: {:.1} KB of JSON (uncompressed)", bytes as f64 / 1024.0);

    let items = first["items"].as_array().cloned().unwrap_or_default();
    ensure!(!items.is_empty(), "the seeded inbox is empty");
    let ids: Vec<String> = items.iter().filter_map(|i| i["id"].as_str().map(str::to_owned)).collect();
    println!("conversation page, 50 messages ({n} requests)");
    c.measure("messages", n, |i| format!("/api/v1/conversations/{}/messages?limit=50", ids[i % ids.len()])).await?;

    let contact = items[0]["contact"]["id"].as_str().unwrap_or_default().to_owned();
    let (card, _, _) = c.get(&format!("/api/v1/contacts/{contact}")).await?;
    let phone = card["phone"].as_str().unwrap_or_default().to_owned();
    let name = card["name"].as_str().unwrap_or_default().to_owned();
    let prefix: String = name.chars().take(3).collect();
    println!("search, 50 rows ({n} requests each)");
    for (label, q) in [
        ("name prefix", prefix),
        ("full name", name.clone()),
        ("phone, last 4 digits", phone.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect()),
        ("phone, national", format!("0{}", phone.trim_start_matches("+90"))),
        ("message word (common)", "merhaba".into()),
        ("message word (rare)", "faturamı".into()),
        ("two words", "kargo takip".into()),
    ] {
        let q = encode(&q);
        c.measure(label, n, |_| format!("/api/v1/conversations?limit=50&q={q}")).await?;
    }
    let two = encode(&name.chars().take(2).collect::<String>());
    c.measure("contacts by name prefix", n, |_| format!("/api/v1/contacts?limit=50&q={two}")).await?;
    env.stop().await;
    Ok(())
}
