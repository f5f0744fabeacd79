//! The `switchboard` binary's library half: command line, configuration, wiring and start-up.
//! `main.rs` only parses arguments and dispatches; tests start servers through [`launch`].

pub mod admin;
pub mod allocator;
pub mod cli;
pub mod demo;
pub mod housekeeping;
pub mod launch;
pub mod logging;
pub mod settings;

pub use launch::{Running, launch};

/// Installs ring as the process's TLS crypto provider (every client: database, Graph API,
/// tests). Safe to call more than once.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
