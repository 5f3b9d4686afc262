//! End-to-end tests of the sandbox AWS account: boto3 (from the moto venv) through the front with
//! the `sandbox` profile, exactly as a client configured by the written AWS files; fault
//! injection; the Identity Center device flow; cleanup on drop and after SIGKILL.
//!
//! Each test starts its own moto and front on free ports, so they run in parallel.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failure should fail the test loudly"
)]

#[path = "../common/mod.rs"]
mod common;

mod cluster_endpoints;
mod faults;
mod helpers;
mod lifecycle;
mod rds;
mod sso;
