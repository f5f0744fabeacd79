//! Log set-up. Spans and events name ids and counts; message text, phone numbers, e-mail
//! addresses, tokens and secrets are never logged (a test scans a full run's output for them).

use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

pub fn init(format: LogFormat) {
    init_or(format, "info,sqlx=warn");
}

/// [`init`] with another filter when `RUST_LOG` is not set (the bench keeps only warnings, so
/// its figures stay readable and a refused request still says why).
pub fn init_or(format: LogFormat, default_filter: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
