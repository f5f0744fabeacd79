//! WhatsApp Business Cloud API (PROTOCOLS.md §1–§3): webhook signatures and payloads, send
//! bodies, the Graph API client and the error-code taxonomy shared by all of them.

pub mod codes;
pub mod graph;
pub mod outbound;
pub mod signature;
pub mod webhook;

pub use codes::ErrorKind;
pub use graph::{BuildError, GraphClient, GraphConfig, GraphError, MediaInfo, SendResponse};
pub use outbound::{Content, MarkRead, OutboundMessage};
pub use webhook::{Notification, ParseError, parse};
