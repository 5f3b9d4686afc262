//! RDS Explorer: discover Amazon RDS / Aurora / RDS Proxy databases, connect to them with IAM auth
//! over verified TLS (directly or through SSM tunnels), query them, and analyse who can access them.
//!
//! Layering (arrows point down only): `main.rs` → `cli` | `ui` → `backend` + `jobs` → core
//! (`aws`, `db`, `store`, plus `secret` and `logging`). Only `ui` and `main.rs` may use egui/eframe;
//! a test enforces that.

pub mod auth;
pub mod aws;
pub mod backend;
pub mod cli;
pub mod db;
pub mod jobs;
pub mod logging;
pub mod query;
pub mod secret;
pub mod store;
pub mod tunnel;
pub mod ui;

/// The version string shown by `--version` and the About box: crate version plus git commit.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("RDSX_GIT_HASH"), ")");
