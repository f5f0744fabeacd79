//! One module per area of the web app; each registers its pages with their access rules.

pub mod auth;
pub mod contacts;
pub mod inbox;
pub mod invite;
pub mod privacy;
pub mod privacy_controls;
pub mod profile;
pub mod settings;
