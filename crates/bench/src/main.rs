//! `switchboard-bench`: measures the hot paths against a real server started in this process
//! (and the Meta simulator), and prints the figures that go into docs/PERFORMANCE.md.
//!
//! Run in release mode: `cargo run --release -p switchboard-bench -- <command>`. PostgreSQL
//! runs use `--pg postgres://…` (a fresh database is created and dropped).

mod env;
mod inbox;
mod load;
mod payload;
mod runs;
mod stats;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "switchboard-bench", about = "Benchmarks of Switchboard's hot paths")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Seal + open throughput of personal values, per core.
    Crypto {
        #[arg(long, default_value_t = 3)]
        seconds: u64,
    },
    /// Latency of POST /api/v1/contacts.
    Contacts {
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Concurrent requests; one run per value.
        #[arg(long, value_delimiter = ',', default_value = "1,16")]
        concurrency: Vec<usize>,
        #[arg(long)]
        pg: Option<String>,
    },
    /// Signed text webhooks, unique wamids: acknowledged-and-durable rate, ack latency, and the
    /// ceiling of the same HTTP path (verify + parse) without storage.
    Ingest {
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        #[arg(long, default_value_t = 64)]
        connections: usize,
        #[arg(long, default_value_t = 1000)]
        contacts: usize,
        #[arg(long)]
        pg: Option<String>,
    },
    /// Template messages to distinct users through the simulator at a configured rate.
    Send {
        #[arg(long, default_value_t = 100_000)]
        messages: usize,
        #[arg(long, default_value_t = 1000)]
        rate: u32,
        #[arg(long)]
        pg: Option<String>,
    },
    /// Seeds a tenant (`switchboard seed`), then the inbox: list p50/p99 under several filters,
    /// a conversation page, search by name, phone and message words, the list's weight.
    Inbox {
        #[arg(long, default_value_t = 100_000)]
        contacts: u64,
        #[arg(long, default_value_t = 1_000_000)]
        messages: u64,
        #[arg(long, default_value_t = 50)]
        agents: u32,
        /// Requests per measured case.
        #[arg(long, default_value_t = 200)]
        requests: usize,
        #[arg(long)]
        pg: Option<String>,
    },
    /// Webhook received → event on the bus, at a fixed inbound rate.
    Latency {
        #[arg(long, default_value_t = 1000)]
        rate: u32,
        #[arg(long, default_value_t = 30)]
        seconds: u64,
        #[arg(long)]
        pg: Option<String>,
    },
}

fn main() -> ExitCode {
    switchboard_server::allocator::tune();
    switchboard_server::install_crypto_provider();
    switchboard_server::logging::init_or(switchboard_server::cli::LogFormat::Text, "warn");
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let cli = Cli::parse();
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Crypto { seconds } => runs::crypto(seconds),
            Command::Contacts { seconds, concurrency, pg } => runs::contacts(seconds, &concurrency, pg).await,
            Command::Ingest { seconds, connections, contacts, pg } => {
                runs::ingest(seconds, connections, contacts, pg).await
            }
            Command::Send { messages, rate, pg } => runs::send(messages, rate, pg).await,
            Command::Latency { rate, seconds, pg } => runs::latency(rate, seconds, pg).await,
            Command::Inbox { contacts, messages, agents, requests, pg } => {
                inbox::inbox(inbox::InboxRun { contacts, messages, agents, requests, pg }).await
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
