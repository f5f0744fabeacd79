//! The command-line contract. Other tools and tests rely on these names; every option also
//! reads from its `SWITCHBOARD_…` environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(name = "switchboard", version, about = "Self-hosted, privacy-first customer messaging")]
pub struct Cli {
    /// Log output format.
    #[arg(long, global = true, env = "SWITCHBOARD_LOG_FORMAT", default_value = "text")]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate(StorageArgs),
    /// Create tenants, users and API keys.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Check the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Run the Meta simulator (Graph API and webhooks) on its own.
    Sim(SimArgs),
    /// Fills a tenant with realistic, sealed and searchable data (benchmarks, demos).
    Seed(SeedArgs),
}

#[derive(Args, Debug, Clone)]
pub struct SeedArgs {
    /// The tenant to fill; a new tenant is created when absent.
    #[arg(long)]
    pub tenant: Option<String>,
    #[arg(long, default_value_t = 1000)]
    pub contacts: u64,
    /// Spread evenly over the contacts, one conversation each.
    #[arg(long, default_value_t = 10_000)]
    pub messages: u64,
    #[arg(long, default_value_t = 5)]
    pub agents: u32,
    /// Contacts per transaction.
    #[arg(long, default_value_t = 500)]
    pub batch: u64,
    #[command(flatten)]
    pub storage: StorageArgs,
}

/// Where data lives: shared by every command that touches the database.
#[derive(Args, Debug, Clone)]
pub struct StorageArgs {
    /// Directory for the SQLite database, the master key and stored media.
    #[arg(long, env = "SWITCHBOARD_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// `sqlite:PATH` or `postgres://…`. Default: a SQLite file in the data directory.
    #[arg(long, env = "SWITCHBOARD_DATABASE_URL")]
    pub database_url: Option<String>,
    /// File holding the master key (64 hex characters). Default: DATA_DIR/master.key,
    /// created on first start.
    #[arg(long, env = "SWITCHBOARD_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
    /// Database connections per node (PostgreSQL pool, or SQLite readers).
    #[arg(long, env = "SWITCHBOARD_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    #[arg(long, env = "SWITCHBOARD_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub storage: StorageArgs,
    /// Seed (once) a demo tenant with an owner account and print how to log in.
    #[arg(long)]
    pub demo: bool,
    /// The URL users reach the server at; defaults to http://LISTEN. An https URL makes
    /// cookies `Secure` with the `__Host-` prefix.
    #[arg(long, env = "SWITCHBOARD_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Proxies (CIDR) whose X-Forwarded-For is believed. Repeat or comma-separate.
    #[arg(long = "trusted-proxy", env = "SWITCHBOARD_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<String>,
    /// Largest API request body, in bytes.
    #[arg(long, env = "SWITCHBOARD_API_BODY_LIMIT", default_value_t = 1024 * 1024)]
    pub api_body_limit: usize,
    /// Largest webhook body, in bytes (Meta sends up to 3 MB).
    #[arg(long, env = "SWITCHBOARD_WEBHOOK_BODY_LIMIT", default_value_t = 3 * 1024 * 1024)]
    pub webhook_body_limit: usize,
    /// A Graph API base URL tenants may connect numbers against, besides Meta's (e.g. a
    /// simulator). Repeat or comma-separate.
    #[arg(long, env = "SWITCHBOARD_ALLOW_GRAPH_URL", value_delimiter = ',')]
    pub allow_graph_url: Vec<String>,
    /// Where `--demo` runs its built-in Meta simulator.
    #[arg(long, env = "SWITCHBOARD_SIM_LISTEN", default_value = "127.0.0.1:8089")]
    pub sim_listen: SocketAddr,
    /// Days between a tenant's deletion request and the purge of its data.
    #[arg(long, env = "SWITCHBOARD_TENANT_PURGE_DAYS", default_value_t = 30)]
    pub tenant_purge_days: u32,
    /// Days between a WhatsApp number's disconnect and the purge of its Meta data.
    #[arg(long, env = "SWITCHBOARD_CHANNEL_PURGE_DAYS", default_value_t = 30)]
    pub channel_purge_days: u32,
}

/// `switchboard sim`: the Meta simulator on its own (see docs/SIMULATOR.md).
#[derive(Args, Debug, Clone)]
pub struct SimArgs {
    #[arg(long, env = "SWITCHBOARD_SIM_LISTEN", default_value = "127.0.0.1:8089")]
    pub listen: SocketAddr,
    /// Where to deliver webhooks (Switchboard's /webhooks/whatsapp/{channel_id}).
    #[arg(long)]
    pub webhook_url: String,
    /// Signs every webhook (X-Hub-Signature-256).
    #[arg(long, env = "SWITCHBOARD_SIM_APP_SECRET")]
    pub app_secret: String,
    #[arg(long, env = "SWITCHBOARD_SIM_VERIFY_TOKEN")]
    pub verify_token: String,
    #[arg(long, default_value = "106000000000001")]
    pub phone_number_id: String,
    #[arg(long, default_value = "880000000000001")]
    pub waba_id: String,
    #[arg(long, default_value = "15550001111")]
    pub display_phone_number: String,
    /// The bearer token the fake Graph API accepts.
    #[arg(long, env = "SWITCHBOARD_SIM_ACCESS_TOKEN", default_value = "sim-access-token")]
    pub access_token: String,
    /// Sends per second accepted before 130429.
    #[arg(long, default_value_t = 80)]
    pub throughput: u32,
    /// Share of accepted sends that end in a `failed` status webhook.
    #[arg(long, default_value_t = 0.0)]
    pub failure_rate: f64,
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Create a tenant; prints {"tenant_id": …}.
    CreateTenant {
        #[arg(long)]
        name: String,
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Create a user; prints {"user_id": …} (and the password when none was given).
    CreateUser {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        role: String,
        /// Read the password from this file (first line). Without it a password is generated.
        #[arg(long)]
        password_file: Option<PathBuf>,
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Create an API key; prints {"api_key_id": …, "key": …}. The key is shown only here.
    CreateApiKey {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        name: String,
        /// A permission scope such as contacts:read. Repeat for several; default all.
        #[arg(long = "scope")]
        scopes: Vec<String>,
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Delete a tenant: deactivated now (sessions ended, API keys revoked), purged after the
    /// grace period by the running server. Prints {"tenant_id": …, "purge_after": …}.
    DeleteTenant {
        #[arg(long)]
        tenant: String,
        /// Days until the purge (as the server's --tenant-purge-days).
        #[arg(long, env = "SWITCHBOARD_TENANT_PURGE_DAYS", default_value_t = 30)]
        tenant_purge_days: u32,
        #[command(flatten)]
        storage: StorageArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Exit 0 when every chain is intact; otherwise exit 1 naming the first broken entry.
    Verify {
        /// Only this tenant (default: all tenants).
        #[arg(long)]
        tenant: Option<String>,
        #[command(flatten)]
        storage: StorageArgs,
    },
}
