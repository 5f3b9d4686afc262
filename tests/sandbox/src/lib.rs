//! Real local stand-ins for RDS Explorer's tests, started and stopped from Rust.
//!
//! - [`PgCluster`]: a TLS-only Postgres 15 cluster whose certificate names the RDS endpoint of
//!   the seeded instance `sandboxdb` ([`DEFAULT_PG_HOST_NAME`]).
//! - [`AwsSandbox`]: an AWS account on loopback. moto serves RDS, EC2, IAM, STS…; in front of it
//!   an HTTP server (the profiles' `endpoint_url`) adds what moto lacks (RDS proxy and Aurora
//!   cluster endpoints, SSM instance information, an IAM Identity Center device flow and
//!   portal, a Session Manager with its websocket data channel and agent forwarding to local
//!   ports) and fault injection ([`AwsSandbox::deny`], [`AwsSandbox::set_ssm_faults`]). A seed creates `sandboxdb`
//!   (PostgreSQL, IAM auth, on the cluster's port), `legacy-mysql`, the Aurora cluster `orders`
//!   (custom endpoint `orders-analytics`), all in the default VPC's DB subnet group
//!   `sandbox-subnets` with security group `sandbox-db`, the proxy `sandbox-proxy` and the EC2
//!   instances `bastion` (SSM agent online) and `worker`.
//!
//! Everything started here is cleaned up on drop, and by guardian processes if the owning
//! process dies (panic, SIGINT, SIGKILL). The `rds-sandbox up` binary starts a [`Sandbox`] for
//! manual testing and prints a [`SandboxInfo`] as JSON.

mod aws;
mod certs;
mod cluster_dir;
mod guard;
mod iam;
mod pg;
mod user;

pub use aws::{
    ACCOUNT_ID, AwsInfo, AwsOptions, AwsSandbox, DEFAULT_REGION, DeviceApproval,
    SANDBOX_ACCESS_KEY_ID, SANDBOX_SECRET_ACCESS_KEY, SeedInfo, SeededCluster,
    SeededClusterEndpoint, SeededEc2Instance, SeededProxy, SeededProxyEndpoint, SsmAgent,
    SsmFaults, SsmSessionRecord, dbi_resource_id, plugin_stub_main,
};
pub use iam::{IAM_USER, MAX_CLOCK_SKEW_SECS, PgIamInfo, RDS_IAM_ROLE};
pub use pg::{PgCluster, PgClusterOptions, PgInfo};

/// Default DNS name in the sandbox server certificate: the endpoint moto gives the seeded
/// instance `sandboxdb` in `us-east-1`, so verify-full against the RDS endpoint works.
pub const DEFAULT_PG_HOST_NAME: &str = "sandboxdb.aaaaaaaaaa.us-east-1.rds.amazonaws.com";

/// Which services [`Sandbox::start`] starts: `None` skips one.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// The Postgres cluster.
    pub pg: Option<PgClusterOptions>,
    /// The AWS account (its `sandboxdb_port` is replaced by the cluster's port when both run).
    pub aws: Option<AwsOptions>,
}

impl Default for SandboxOptions {
    /// Both, with default options.
    fn default() -> Self {
        Self {
            pg: Some(PgClusterOptions::default()),
            aws: Some(AwsOptions::default()),
        }
    }
}

impl SandboxOptions {
    /// Only the Postgres cluster.
    pub fn pg_only() -> Self {
        Self {
            aws: None,
            ..Self::default()
        }
    }

    /// Only the AWS account (`sandboxdb` then claims port 5432).
    pub fn aws_only() -> Self {
        Self {
            pg: None,
            ..Self::default()
        }
    }
}

/// Everything `rds-sandbox up` starts.
pub struct Sandbox {
    /// The TLS-only Postgres cluster, if started.
    pub pg: Option<PgCluster>,
    /// The AWS account, if started.
    pub aws: Option<AwsSandbox>,
}

/// How to reach each service of a [`Sandbox`]; printed as one JSON line by `rds-sandbox up`.
/// A service not started is left out.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SandboxInfo {
    /// The Postgres cluster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pg: Option<PgInfo>,
    /// The AWS account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws: Option<AwsInfo>,
}

impl Sandbox {
    /// Starts every sandbox service with default options.
    pub fn up() -> anyhow::Result<Self> {
        Self::start(&SandboxOptions::default())
    }

    /// Starts the services `options` asks for; Postgres and moto start side by side, then the
    /// seed runs with the cluster's port. About 3 s warm for both.
    pub fn start(options: &SandboxOptions) -> anyhow::Result<Self> {
        let (pg, aws) = std::thread::scope(|scope| {
            let pg_thread = options.pg.as_ref().map(|pg_options| {
                std::thread::Builder::new()
                    .name("rds-sandbox-pg-start".to_owned())
                    .spawn_scoped(scope, || PgCluster::start(pg_options))
            });
            let aws = options.aws.as_ref().map(AwsSandbox::launch).transpose();
            let pg = match pg_thread {
                None => Ok(None),
                Some(Err(err)) => {
                    Err(anyhow::Error::new(err).context("starting a thread for PostgreSQL"))
                }
                Some(Ok(thread)) => match thread.join() {
                    Ok(started) => started.map(Some),
                    Err(_) => Err(anyhow::anyhow!("starting PostgreSQL panicked")),
                },
            };
            (pg, aws)
        });
        // On an error the other service is dropped, and so stopped, here.
        let (pg, mut aws) = (pg?, aws?);
        if let (Some(aws), Some(aws_options)) = (aws.as_mut(), options.aws.as_ref()) {
            let port = pg
                .as_ref()
                .map_or(aws_options.sandboxdb_port, |pg| pg.info().port);
            aws.seed(port)?;
        }
        Ok(Self { pg, aws })
    }

    /// How to reach the services.
    pub fn info(&self) -> SandboxInfo {
        SandboxInfo {
            pg: self.pg.as_ref().map(|pg| pg.info().clone()),
            aws: self.aws.as_ref().map(|aws| aws.info().clone()),
        }
    }

    /// Stops every service and deletes its files; dropping does the same but cannot report errors.
    pub fn stop(self) -> anyhow::Result<()> {
        let aws = self.aws.map_or(Ok(()), AwsSandbox::stop);
        let pg = self.pg.map_or(Ok(()), PgCluster::stop);
        aws.and(pg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn handles_can_be_shared_with_async_tests() {
        assert_send_sync::<Sandbox>();
        assert_send_sync::<AwsSandbox>();
        assert_send_sync::<SandboxInfo>();
    }
}
