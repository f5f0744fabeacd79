//! `switchboard`: one binary for the server, migrations, administration and the Meta simulator.

use std::process::ExitCode;

use clap::Parser;
use switchboard_server::cli::{Cli, Command};
use switchboard_server::{admin, demo, launch, logging, settings};

fn main() -> ExitCode {
    switchboard_server::allocator::tune();
    let cli = Cli::parse();
    logging::init(cli.log_format);
    switchboard_server::install_crypto_provider();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => launch::serve_until_signal(args).await,
            Command::Migrate(args) => settings::migrate(&args).await,
            Command::Admin(cmd) => admin::run(cmd).await,
            Command::Audit(cmd) => admin::audit(cmd).await,
            Command::Seed(args) => admin::seed(args).await,
            Command::Sim(args) => demo::run_simulator(args).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
