//! Webhooks from the fake Meta to Switchboard: payload shapes, signing, the GET handshake and
//! delivery with retries.

pub(crate) mod delivery;
pub(crate) mod payload;
