//! End-to-end tests: one binary of modules (as ripgrep does), each over real parts — the real
//! binary, the real backend and runtime behind the window, a real TLS PostgreSQL.

#![expect(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

mod app_ui;
mod cli;
mod connect_errors;
mod connect_ui;
mod diagnose;
mod grid_bench;
mod iam_auth;
mod inventory;
mod keyring;
mod layering;
mod query_backend;
mod query_cli;
mod query_ui;
mod query_values;
mod sandbox_tls;
mod secrets_manager;
mod secrets_scan;
mod sso;
mod token;
mod tunnel;
mod tunnel_cli;
mod tunnel_faults;
mod tunnel_plugin;
mod tunnel_supervisor;
mod tunnel_throughput;
mod util;
