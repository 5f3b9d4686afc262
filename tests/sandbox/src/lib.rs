//! Real local stand-ins for RDS Explorer's tests, started and stopped from Rust.
//!
//! For now: a TLS-only Postgres 15 cluster whose certificate names an RDS-like host
//! ([`PgCluster`]). Everything started here is cleaned up on drop, and by a guardian process if
//! the owning process dies (panic, SIGINT, SIGKILL). The `rds-sandbox up` binary starts a
//! [`Sandbox`] for manual testing and prints a [`SandboxInfo`] as JSON.

mod certs;
mod cluster_dir;
mod guard;
mod pg;
mod user;

pub use pg::{PgCluster, PgClusterOptions, PgInfo};

/// Default DNS name in the sandbox server certificate (region `us-east-1`).
pub const DEFAULT_PG_HOST_NAME: &str = "sandboxdb.c0ffee123456.us-east-1.rds.amazonaws.com";

/// Everything `rds-sandbox up` starts; later issues add moto, IAM auth and fake SSM here.
pub struct Sandbox {
    /// The TLS-only Postgres cluster.
    pub pg: PgCluster,
}

/// How to reach each service of a [`Sandbox`]; printed as one JSON line by `rds-sandbox up`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SandboxInfo {
    /// The Postgres cluster.
    pub pg: PgInfo,
}

impl Sandbox {
    /// Starts every sandbox service with default options.
    pub fn up() -> anyhow::Result<Self> {
        let pg = PgCluster::start(&PgClusterOptions::default())?;
        Ok(Self { pg })
    }

    /// How to reach the services.
    pub fn info(&self) -> SandboxInfo {
        SandboxInfo {
            pg: self.pg.info().clone(),
        }
    }

    /// Stops every service and deletes its files; dropping does the same but cannot report errors.
    pub fn stop(self) -> anyhow::Result<()> {
        self.pg.stop()
    }
}
