//! Channel adapters: the wire formats of the messaging platforms Switchboard speaks, and the
//! HTTP clients that call them. This crate owns parsing, signature checks and request bodies;
//! it knows nothing of the database or the web framework, so the server, the job runner and the
//! simulator can all share it.

pub mod whatsapp;
