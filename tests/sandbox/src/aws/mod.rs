//! The sandbox AWS account on loopback: moto for the APIs it has, the AWS front (`front/`) for
//! what it lacks (proxy and cluster endpoints, SSM instance information, Identity Center), fault
//! injection, a seed that fills the account, and AWS config files with profiles pointing at the
//! front. [`AwsSandbox`] owns all of it; dropping it stops moto and the front and deletes the
//! files, and a guardian does the same if the process dies.

mod files;
mod front;
mod identity_center;
mod ids;
mod moto;
mod seed;
mod ssm_fake;
mod xml;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context as _, bail};
use serde::Serialize;

use front::Front;
use front::state::{
    CustomClusterEndpoint, CustomProxyEndpoint, FrontState, SharedState, SsmManagedInstance, lock,
};
use moto::MotoServer;

pub use identity_center::DeviceApproval;
pub use ids::dbi_resource_id;
pub use seed::{
    SeedInfo, SeededCluster, SeededClusterEndpoint, SeededEc2Instance, SeededProxy,
    SeededProxyEndpoint, SsmAgent,
};
pub use ssm_fake::plugin_stub::plugin_stub_main;
pub use ssm_fake::{SsmFaults, SsmSessionRecord};

/// moto's one account.
pub const ACCOUNT_ID: &str = "123456789012";
/// The region the seed fills and the profiles use.
pub const DEFAULT_REGION: &str = "us-east-1";
/// Access key id of the `sandbox` profile (moto accepts any).
pub const SANDBOX_ACCESS_KEY_ID: &str = "AKIASANDBOXEXAMPLE01";
/// Secret access key of the `sandbox` profile.
pub const SANDBOX_SECRET_ACCESS_KEY: &str = "sandbox/secret/access/key/0123456789abcdef";

/// How to build an [`AwsSandbox`].
#[derive(Debug, Clone)]
pub struct AwsOptions {
    /// Python venv with `moto[server]` 5.2.5 (and so boto3).
    pub venv: PathBuf,
    /// Whether SSO device authorizations wait for an approval.
    pub device_approval: DeviceApproval,
    /// Port in `sandboxdb`'s endpoint; [`crate::Sandbox`] puts its Postgres port here.
    pub sandboxdb_port: u16,
}

impl Default for AwsOptions {
    /// The venv from `RDS_SANDBOX_VENV`, else `$RDSX_CACHE/venv`, else
    /// `${XDG_CACHE_HOME:-$HOME/.cache}/rds-explorer/venv` (as `scripts/lib/env.sh`); manual
    /// approval; port 5432.
    fn default() -> Self {
        Self {
            venv: default_venv(),
            device_approval: DeviceApproval::Manual,
            sandboxdb_port: 5432,
        }
    }
}

fn default_venv() -> PathBuf {
    let var = |name| std::env::var_os(name).filter(|value| !value.is_empty());
    if let Some(venv) = var("RDS_SANDBOX_VENV") {
        return venv.into();
    }
    let cache = var("RDSX_CACHE").map_or_else(
        || {
            var("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| var("HOME").map(|home| Path::new(&home).join(".cache")))
                .unwrap_or_else(|| PathBuf::from("/root/.cache"))
                .join("rds-explorer")
        },
        PathBuf::from,
    );
    cache.join("venv")
}

/// How to reach the sandbox AWS account; part of [`crate::SandboxInfo`].
#[derive(Debug, Clone, Serialize)]
pub struct AwsInfo {
    /// The front, `http://127.0.0.1:<port>`: what the profiles' `endpoint_url` says.
    pub endpoint_url: String,
    /// moto itself (bypasses the front: no fakes, no fault injection).
    pub moto_url: String,
    /// moto's process id (also its process group).
    pub moto_pid: u32,
    /// `AWS_CONFIG_FILE` with the profiles.
    pub config_file: PathBuf,
    /// `AWS_SHARED_CREDENTIALS_FILE` with the `sandbox` keys.
    pub credentials_file: PathBuf,
    /// Static-key profile.
    pub profile: String,
    /// IAM Identity Center profile (device flow against the front).
    pub sso_profile: String,
    /// `sso_start_url` of the `sandbox` sso-session.
    pub sso_start_url: String,
    /// Roles the fake portal offers.
    pub sso_roles: Vec<String>,
    /// Region of the profiles and the seed.
    pub region: String,
    /// The account id.
    pub account_id: String,
    /// Access key id of the `sandbox` profile.
    pub access_key_id: String,
    /// Secret access key of the `sandbox` profile.
    pub secret_access_key: String,
    /// Whether device authorizations wait for an approval.
    pub device_approval: DeviceApproval,
    /// Directory with the files and logs (`moto.log`, `front.log`); deleted on stop.
    pub dir: PathBuf,
    /// What the seed created.
    pub seeded: SeedInfo,
}

/// A running sandbox AWS account: moto, the front, the seed and the AWS files.
pub struct AwsSandbox {
    info: AwsInfo,
    state: SharedState,
    python: seed::Python,
    /// The seed started by `launch`, until `seed` finishes it.
    seed_run: Option<seed::SeedRun>,
    // Declared before `moto`: on drop the front stops before the server it forwards to.
    front: Front,
    moto: MotoServer,
}

impl AwsSandbox {
    /// Starts moto and the front, seeds the account and writes the AWS files. About 2.5 s warm.
    pub fn start(options: &AwsOptions) -> anyhow::Result<Self> {
        let mut sandbox = Self::launch(options)?;
        sandbox.seed(options.sandboxdb_port)?;
        Ok(sandbox)
    }

    /// Starts moto and the front, writes the files and starts the seed, which then waits for
    /// [`AwsSandbox::seed`] to give it the Postgres port (Postgres starts meanwhile).
    pub(crate) fn launch(options: &AwsOptions) -> anyhow::Result<Self> {
        let moto = MotoServer::start(&options.venv)?;
        let python = seed::Python::new(&options.venv, moto.dir())?;
        let seed_run = python.start_seed(&moto.url())?;
        let state = Arc::new(Mutex::new(FrontState::new(options.device_approval)));
        let front = Front::start(
            Arc::clone(&state),
            moto.port(),
            &moto.dir().join("front.log"),
        )?;
        let endpoint_url = format!("http://127.0.0.1:{}", front.port());
        let (config_file, credentials_file) = files::write(moto.dir(), &endpoint_url)?;
        let info = AwsInfo {
            sso_start_url: files::sso_start_url(&endpoint_url),
            endpoint_url,
            moto_url: moto.url(),
            moto_pid: moto.pid(),
            config_file,
            credentials_file,
            profile: files::PROFILE.to_owned(),
            sso_profile: files::SSO_PROFILE.to_owned(),
            sso_roles: front::sso_roles(),
            region: DEFAULT_REGION.to_owned(),
            account_id: ACCOUNT_ID.to_owned(),
            access_key_id: SANDBOX_ACCESS_KEY_ID.to_owned(),
            secret_access_key: SANDBOX_SECRET_ACCESS_KEY.to_owned(),
            device_approval: options.device_approval,
            dir: moto.dir().to_owned(),
            seeded: SeedInfo::default(),
        };
        Ok(Self {
            info,
            state,
            python,
            seed_run: Some(seed_run),
            front,
            moto,
        })
    }

    /// Finishes the seed (see the crate docs) with `sandboxdb` on `sandboxdb_port` and tells
    /// the front about the custom proxy and cluster endpoints and the instances with an SSM
    /// agent.
    pub(crate) fn seed(&mut self, sandboxdb_port: u16) -> anyhow::Result<()> {
        let mut seeded = self
            .seed_run
            .take()
            .context("the account is seeded already")?
            .finish(sandboxdb_port)
            .context("seeding moto")?;
        let mut state = lock(&self.state);
        for proxy in &mut seeded.db_proxies {
            let custom = SeededProxyEndpoint {
                name: format!("{}-ro", proxy.name),
                endpoint: front::proxy_endpoints::custom_endpoint_host(
                    &proxy.endpoint,
                    &format!("{}-ro", proxy.name),
                ),
                target_role: "READ_ONLY".to_owned(),
            };
            state.proxy_endpoints.push(CustomProxyEndpoint {
                region: seeded.region.clone(),
                proxy_name: proxy.name.clone(),
                name: custom.name.clone(),
                target_role: custom.target_role.clone(),
            });
            proxy.custom_endpoints.push(custom);
        }
        for cluster in &mut seeded.db_clusters {
            for custom in &mut cluster.custom_endpoints {
                custom.endpoint = front::cluster_endpoints::custom_endpoint_host(
                    &cluster.endpoint,
                    &custom.identifier,
                );
                state.cluster_endpoints.push(CustomClusterEndpoint {
                    region: seeded.region.clone(),
                    cluster_identifier: cluster.identifier.clone(),
                    identifier: custom.identifier.clone(),
                    custom_type: custom.custom_endpoint_type.clone(),
                    static_members: custom.static_members.clone(),
                });
            }
        }
        for instance in &seeded.ec2_instances {
            if instance.ssm_agent == SsmAgent::Online {
                state.ssm_instances.push(SsmManagedInstance {
                    region: seeded.region.clone(),
                    instance_id: instance.instance_id.clone(),
                    ip_address: instance.private_ip.clone(),
                    computer_name: instance.private_dns_name.clone(),
                });
            }
        }
        drop(state);
        self.info.seeded = seeded;
        Ok(())
    }

    /// How to reach the account.
    pub fn info(&self) -> &AwsInfo {
        &self.info
    }

    /// From now on `action` answers as AWS does without permission (RDS/IAM/STS: HTTP 403
    /// `AccessDenied`; EC2: `UnauthorizedOperation`; JSON services like SSM: HTTP 400
    /// `AccessDeniedException`). `action` is the API name (`DescribeDBProxies`), optionally with
    /// the service's signing name (`rds:DescribeDBProxies`) to deny it in one service only.
    pub fn deny(&self, action: &str) {
        lock(&self.state).deny(action);
    }

    /// Undoes [`AwsSandbox::deny`] (same spelling).
    pub fn allow(&self, action: &str) {
        lock(&self.state).allow(action);
    }

    /// Approves the pending SSO device authorization showing `user_code`, as a person would in
    /// the browser; an error if there is none.
    pub fn approve(&self, user_code: &str) -> anyhow::Result<()> {
        if !lock(&self.state).identity_center.approve(user_code) {
            bail!("no pending SSO device authorization with user code {user_code:?}");
        }
        Ok(())
    }

    /// Approves every pending SSO device authorization; returns how many there were.
    pub fn approve_all_pending(&self) -> usize {
        lock(&self.state).identity_center.approve_all_pending()
    }

    /// Ends every SSO session: all issued access and refresh tokens stop working, so the portal
    /// answers 401 `UnauthorizedException` and a new device flow is needed.
    pub fn expire_tokens(&self) {
        lock(&self.state).identity_center.expire_tokens();
    }

    /// Creates `count` PostgreSQL 15.4 instances `<prefix>-<n>` (n from 1, zero-padded to the
    /// width of `count`) in `region` directly in moto, for pagination tests; returns their
    /// identifiers. About 1 s plus 15 ms per instance.
    pub fn seed_instances(
        &self,
        region: &str,
        prefix: &str,
        count: usize,
    ) -> anyhow::Result<Vec<String>> {
        self.python
            .create_instances(&self.info.moto_url, region, prefix, count)
            .with_context(|| format!("creating {count} instances {prefix}-… in {region}"))
    }

    /// Sets the fake Session Manager's fault knobs for sessions started from now on.
    pub fn set_ssm_faults(&self, faults: SsmFaults) {
        lock(&self.state).ssm.faults = faults;
    }

    /// What happened to every Session Manager session so far, sorted by session id.
    pub fn ssm_sessions(&self) -> Vec<SsmSessionRecord> {
        lock(&self.state).ssm.records()
    }

    /// Stops the front and moto and deletes the directory. Also done by `Drop`.
    pub fn stop(mut self) -> anyhow::Result<()> {
        let front = self.front.stop();
        let moto = self.moto.shutdown();
        front.and(moto)
    }
}
