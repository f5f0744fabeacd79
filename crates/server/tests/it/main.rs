//! The integration tests: real servers on 127.0.0.1:0, each against a fresh database, on SQLite
//! and (when configured) PostgreSQL. One binary, many modules: linking one binary is much faster
//! than linking one per file.

// A panic in a test helper is a failed assertion, as in the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod support;

mod access;
mod api_basics;
mod auth;
mod browser;
mod cli;
mod composer;
mod contacts;
mod inbox;
mod inbox_actions;
mod inbox_teams;
mod invitations;
mod labels;
mod privacy;
mod privacy_bench;
mod privacy_binary;
mod privacy_whatsapp;
mod search;
mod seed;
mod templates_rich;
mod ui;
mod ui_whatsapp;
mod whatsapp;
