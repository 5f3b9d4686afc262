//! Fills a fresh moto with the sandbox account, by running `seed.py` (embedded) with the venv's
//! Python and boto3 against moto directly.
//!
//! Python rather than HTTP from Rust: boto3 already speaks every protocol moto does, and one
//! process creating 130 instances takes about 2 s. The seed starts as soon as moto is up and
//! waits for the Postgres port on stdin only for the last steps ([`SeedRun`]), so most of it
//! overlaps the Postgres start. The script's JSON answer becomes
//! [`SeedInfo`]; what the front needs from it (instances with an SSM agent, custom proxy and
//! cluster endpoints) is handed over by the caller.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};

/// The seed script, run with `python -I -c`.
const SCRIPT: &str = include_str!("seed.py");

/// What the seed created in moto (region `us-east-1`); part of [`crate::AwsInfo`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SeedInfo {
    /// The seeded region.
    pub region: String,
    /// The default VPC everything is in.
    pub vpc_id: String,
    /// Its default subnets, one per availability zone, sorted by zone.
    pub subnet_ids: Vec<String>,
    /// The DB subnet group over those subnets (`sandbox-subnets`) every seeded instance and
    /// cluster is in (so `DescribeDBInstances` reports the VPC and subnets, as RDS always does).
    pub db_subnet_group: String,
    /// Security group `sandbox-db` in the VPC: the `VpcSecurityGroups` of every seeded instance,
    /// cluster and proxy.
    pub security_group_id: String,
    /// `DBInstanceIdentifier`s: `sandboxdb`, `legacy-mysql`, `orders-1`, `orders-2`.
    pub db_instances: Vec<String>,
    /// The Aurora clusters (`orders`).
    pub db_clusters: Vec<SeededCluster>,
    /// The RDS proxies (`sandbox-proxy`).
    pub db_proxies: Vec<SeededProxy>,
    /// EC2 instances (`bastion` with an SSM agent, `worker` without).
    pub ec2_instances: Vec<SeededEc2Instance>,
    /// `sandboxdb`'s RDS-managed master user secret (`MasterUserSecret.SecretArn`), holding the
    /// sandbox PostgreSQL's `admin` login as `{"username","password"}`.
    #[serde(default)]
    pub sandboxdb_master_secret_arn: String,
    /// An RDS-format secret (`sandbox/sandboxdb/app`) with the password user `app`'s login, host,
    /// port and database.
    #[serde(default)]
    pub app_secret_arn: String,
}

/// A seeded Aurora cluster.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeededCluster {
    /// `DBClusterIdentifier`.
    pub identifier: String,
    /// Writer endpoint (random part chosen by moto).
    pub endpoint: String,
    /// Reader endpoint.
    pub reader_endpoint: String,
    /// Custom endpoints (`orders-analytics`), served by the front (moto has none).
    pub custom_endpoints: Vec<SeededClusterEndpoint>,
}

/// A custom Aurora cluster endpoint the front reports in `DescribeDBClusterEndpoints` (after the
/// cluster's `WRITER` and `READER` endpoints).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeededClusterEndpoint {
    /// `DBClusterEndpointIdentifier`.
    pub identifier: String,
    /// Host name, `<identifier>.cluster-custom-<id>.<region>.rds.amazonaws.com` as on AWS, `<id>`
    /// being that of the cluster's writer endpoint (filled in from it, not by the seed script).
    #[serde(default)]
    pub endpoint: String,
    /// `CustomEndpointType`: `READER` or `ANY`.
    pub custom_endpoint_type: String,
    /// `StaticMembers`: DB instance identifiers.
    pub static_members: Vec<String>,
}

/// A seeded RDS proxy.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeededProxy {
    /// `DBProxyName`, also the name of its default endpoint.
    pub name: String,
    /// `DBProxyArn`.
    pub arn: String,
    /// The default endpoint's host name (random part chosen by moto).
    pub endpoint: String,
    /// Endpoints besides the default one, served by the front (moto has none).
    pub custom_endpoints: Vec<SeededProxyEndpoint>,
}

/// A custom RDS proxy endpoint the front reports in `DescribeDBProxyEndpoints`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeededProxyEndpoint {
    /// `DBProxyEndpointName`.
    pub name: String,
    /// Host name, `<name>.endpoint.proxy-<id>.<region>.rds.amazonaws.com` as on AWS.
    pub endpoint: String,
    /// `READ_WRITE` or `READ_ONLY`.
    pub target_role: String,
}

/// A seeded EC2 instance.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeededEc2Instance {
    /// Its `Name` tag.
    pub name: String,
    /// `i-…`, random.
    pub instance_id: String,
    /// Private IPv4 address, random.
    pub private_ip: String,
    /// `ip-….ec2.internal`, also what SSM reports as its computer name.
    pub private_dns_name: String,
    /// Whether SSM knows the instance.
    pub ssm_agent: SsmAgent,
}

/// Whether an EC2 instance runs an SSM agent that reports to SSM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SsmAgent {
    /// Listed by `DescribeInstanceInformation` with `PingStatus` `Online`.
    Online,
    /// Unknown to SSM.
    None,
}

/// The Python interpreter of a venv, and the directory its runs may write to.
#[derive(Debug, Clone)]
pub(crate) struct Python {
    /// `<venv>/bin/python`.
    program: PathBuf,
    /// `HOME` for the run: botocore must not find the developer's `~/.aws`.
    home: PathBuf,
}

impl Python {
    /// The venv's Python, after checking it is there; runs get `home` as `HOME`.
    pub(crate) fn new(venv: &Path, home: &Path) -> anyhow::Result<Self> {
        let program = venv.join("bin/python");
        if !program.is_file() {
            bail!(
                "no Python venv with moto at {} ({} is missing); run scripts/install-test-deps, \
                 or point RDS_SANDBOX_VENV at a venv with moto[server] 5.2.5",
                venv.display(),
                program.display()
            );
        }
        Ok(Self {
            program,
            home: home.to_owned(),
        })
    }

    /// Starts seeding the account; [`SeedRun::finish`] gives it the port for `sandboxdb`'s
    /// endpoint and waits for the rest.
    pub(crate) fn start_seed(&self, moto_url: &str) -> anyhow::Result<SeedRun> {
        let child = self
            .command(&["seed", moto_url])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("running {}", self.program.display()))?;
        Ok(SeedRun { child: Some(child) })
    }

    /// Creates `count` PostgreSQL instances `<prefix>-<n>` (n from 1, zero-padded) in `region`.
    pub(crate) fn create_instances(
        &self,
        moto_url: &str,
        region: &str,
        prefix: &str,
        count: usize,
    ) -> anyhow::Result<Vec<String>> {
        #[derive(Deserialize)]
        struct Created {
            db_instances: Vec<String>,
        }
        let output = self.run(&["instances", moto_url, region, prefix, &count.to_string()])?;
        let created: Created = serde_json::from_str(&output)
            .with_context(|| format!("the seed script printed unexpected JSON: {output}"))?;
        Ok(created.db_instances)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.program);
        command
            .arg("-I")
            .arg("-c")
            .arg(SCRIPT)
            .args(args)
            // Nothing from the caller's AWS setup may leak in (profile, region, endpoints).
            .env_clear()
            .env("HOME", &self.home)
            .env("LANG", "C.UTF-8")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .current_dir(&self.home);
        command
    }

    fn run(&self, args: &[&str]) -> anyhow::Result<String> {
        let output = self
            .command(args)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {}", self.program.display()))?;
        script_output(args.first().copied().unwrap_or_default(), &output)
    }
}

/// A running `seed` waiting for the `sandboxdb` port. Dropping it unfinished kills it.
pub(crate) struct SeedRun {
    child: Option<Child>,
}

impl SeedRun {
    /// Sends `sandboxdb_port` and waits for the seed to end.
    pub(crate) fn finish(mut self, sandboxdb_port: u16) -> anyhow::Result<SeedInfo> {
        let mut child = self.child.take().context("the seed already finished")?;
        if let Some(mut stdin) = child.stdin.take() {
            // If the script died already, its exit status below says why.
            _ = writeln!(stdin, "{sandboxdb_port}");
        }
        let output = child
            .wait_with_output()
            .context("waiting for the seed script")?;
        let stdout = script_output("seed", &output)?;
        serde_json::from_str(&stdout)
            .with_context(|| format!("the seed script printed unexpected JSON: {stdout}"))
    }
}

impl Drop for SeedRun {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Only reached when the start failed elsewhere; the seed's result no longer matters.
            _ = child.kill();
            _ = child.wait();
        }
    }
}

/// The script's stdout, or an error quoting its stderr.
fn script_output(command: &str, output: &Output) -> anyhow::Result<String> {
    if !output.status.success() {
        bail!(
            "the moto seed script ({command}) failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim_end()
        );
    }
    String::from_utf8(output.stdout.clone()).context("the seed script printed invalid UTF-8")
}
