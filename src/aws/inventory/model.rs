//! What the inventory holds: instances, Aurora clusters with their endpoints, RDS Proxies with
//! their endpoints and targets, SSM targets, and the errors of the calls that failed. Plain data,
//! serialisable (the cache and `rds-explorer inventory --format json` use the same shapes).

use serde::{Deserialize, Serialize};

use crate::aws::error::AwsCallError;

/// A resource tag.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    /// Tag key.
    pub key: String,
    /// Tag value.
    pub value: String,
}

/// A DB instance (RDS or an Aurora cluster member).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbInstance {
    /// `DBInstanceIdentifier`.
    pub id: String,
    /// Region it lives in.
    pub region: String,
    /// `postgres`, `mysql`, `aurora-postgresql`, …
    pub engine: String,
    /// Engine version.
    pub engine_version: String,
    /// `available`, `stopped`, …
    pub status: String,
    /// `db.t4g.micro`, …
    pub instance_class: String,
    /// Endpoint DNS name (absent while creating).
    pub endpoint: Option<String>,
    /// Endpoint port.
    pub port: Option<u16>,
    /// `IAMDatabaseAuthenticationEnabled`.
    pub iam_auth_enabled: bool,
    /// `DbiResourceId`, the id in `rds-db:connect` ARNs.
    pub dbi_resource_id: String,
    /// The Aurora cluster it belongs to.
    pub cluster_id: Option<String>,
    /// VPC.
    pub vpc_id: Option<String>,
    /// Subnets of its subnet group.
    pub subnets: Vec<String>,
    /// VPC security groups.
    pub security_groups: Vec<String>,
    /// `PubliclyAccessible`.
    pub publicly_accessible: bool,
    /// Master user name.
    pub master_username: Option<String>,
    /// The database created with the resource (`DBName` / `DatabaseName`), if any.
    #[serde(default)]
    pub db_name: Option<String>,
    /// ARN of the RDS-managed master user secret.
    pub master_user_secret_arn: Option<String>,
    /// Tags.
    pub tags: Vec<Tag>,
}

/// Which kind of cluster endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndpointRole {
    /// The cluster (writer) endpoint.
    Writer,
    /// The reader endpoint.
    Reader,
    /// A custom endpoint.
    Custom,
}

/// An Aurora cluster endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterEndpoint {
    /// Writer, reader or custom.
    pub role: EndpointRole,
    /// Custom endpoint identifier (`None` for writer/reader).
    pub name: Option<String>,
    /// DNS name.
    pub address: String,
    /// Port.
    pub port: Option<u16>,
    /// Status.
    pub status: String,
}

/// An Aurora cluster member.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterMember {
    /// Instance id.
    pub instance_id: String,
    /// Whether it is the writer.
    pub is_writer: bool,
}

/// An Aurora (or Multi-AZ) DB cluster.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbCluster {
    /// `DBClusterIdentifier`.
    pub id: String,
    /// Region.
    pub region: String,
    /// Engine.
    pub engine: String,
    /// Engine version.
    pub engine_version: String,
    /// Status.
    pub status: String,
    /// Port.
    pub port: Option<u16>,
    /// `IAMDatabaseAuthenticationEnabled`.
    pub iam_auth_enabled: bool,
    /// `DbClusterResourceId`, the id in `rds-db:connect` ARNs.
    pub cluster_resource_id: String,
    /// Writer, reader and custom endpoints.
    pub endpoints: Vec<ClusterEndpoint>,
    /// Member instances.
    pub members: Vec<ClusterMember>,
    /// VPC (taken from its member instances).
    pub vpc_id: Option<String>,
    /// Subnets (taken from its member instances).
    pub subnets: Vec<String>,
    /// VPC security groups.
    pub security_groups: Vec<String>,
    /// `PubliclyAccessible` (Multi-AZ clusters; Aurora sets it per instance).
    pub publicly_accessible: bool,
    /// Master user name.
    pub master_username: Option<String>,
    /// The database created with the resource (`DBName` / `DatabaseName`), if any.
    #[serde(default)]
    pub db_name: Option<String>,
    /// ARN of the RDS-managed master user secret.
    pub master_user_secret_arn: Option<String>,
    /// Tags.
    pub tags: Vec<Tag>,
}

/// One `Auth` entry of a proxy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyAuth {
    /// `SECRETS`.
    pub auth_scheme: Option<String>,
    /// `IAMAuth`: `REQUIRED`, `ENABLED` or `DISABLED`.
    pub iam_auth: Option<String>,
    /// The secret holding the database credentials.
    pub secret_arn: Option<String>,
    /// `ClientPasswordAuthType`.
    pub client_password_auth_type: Option<String>,
    /// Description.
    pub description: Option<String>,
}

/// A proxy endpoint (the default one or a custom one).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyEndpoint {
    /// `DBProxyEndpointName`.
    pub name: String,
    /// DNS name.
    pub endpoint: Option<String>,
    /// `READ_WRITE` or `READ_ONLY`.
    pub target_role: Option<String>,
    /// The proxy's own endpoint.
    pub is_default: bool,
    /// Status.
    pub status: Option<String>,
    /// VPC.
    pub vpc_id: Option<String>,
}

/// A database behind a proxy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyTarget {
    /// Target group name.
    pub target_group: String,
    /// `RDS_INSTANCE`, `RDS_SERVERLESS_ENDPOINT`, `TRACKED_CLUSTER`.
    pub target_type: Option<String>,
    /// Instance or cluster id.
    pub rds_resource_id: Option<String>,
    /// Target endpoint, when reported.
    pub endpoint: Option<String>,
    /// Port.
    pub port: Option<u16>,
    /// `AVAILABLE`, `UNAVAILABLE`, …
    pub health: Option<String>,
}

/// An RDS Proxy.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbProxy {
    /// `DBProxyName`.
    pub name: String,
    /// Region.
    pub region: String,
    /// ARN; its last part (`prx-…`) is the id in `rds-db:connect` ARNs.
    pub arn: String,
    /// `POSTGRESQL`, `MYSQL`, `SQLSERVER`.
    pub engine_family: String,
    /// Status.
    pub status: String,
    /// Default endpoint DNS name.
    pub endpoint: Option<String>,
    /// VPC.
    pub vpc_id: Option<String>,
    /// Subnets.
    pub subnets: Vec<String>,
    /// VPC security groups.
    pub security_groups: Vec<String>,
    /// `RequireTLS`.
    pub require_tls: bool,
    /// `DefaultAuthScheme` (`IAM_AUTH` or `NONE`).
    pub default_auth_scheme: Option<String>,
    /// `Auth` entries.
    pub auth: Vec<ProxyAuth>,
    /// IAM role the proxy uses to read secrets.
    pub role_arn: Option<String>,
    /// Default and custom endpoints.
    pub endpoints: Vec<ProxyEndpoint>,
    /// Databases behind it.
    pub targets: Vec<ProxyTarget>,
}

impl DbProxy {
    /// The proxy id (`prx-…`) used in `rds-db:connect` ARNs.
    pub fn proxy_id(&self) -> &str {
        self.arn.rsplit(':').next().unwrap_or_default()
    }
}

/// An EC2 instance whose SSM agent is online: a possible tunnel target.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsmTarget {
    /// `i-…`.
    pub instance_id: String,
    /// Region.
    pub region: String,
    /// `Name` tag or computer name.
    pub name: Option<String>,
    /// VPC.
    pub vpc_id: Option<String>,
    /// Subnet.
    pub subnet_id: Option<String>,
    /// Private IP address.
    pub private_ip: Option<String>,
    /// `Online`, `ConnectionLost`, …
    pub ping_status: Option<String>,
    /// `Linux`, `Windows`.
    pub platform: Option<String>,
    /// SSM agent version.
    pub agent_version: Option<String>,
}

/// Everything found in one region of one profile.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionInventory {
    /// The profile.
    pub profile: String,
    /// The region.
    pub region: String,
    /// When it was fetched, Unix seconds.
    pub fetched_at_secs: i64,
    /// DB instances, sorted by id.
    pub instances: Vec<DbInstance>,
    /// DB clusters, sorted by id.
    pub clusters: Vec<DbCluster>,
    /// RDS Proxies, sorted by name.
    pub proxies: Vec<DbProxy>,
    /// SSM targets, sorted by instance id.
    pub ssm_targets: Vec<SsmTarget>,
    /// Calls that failed; everything else is still listed.
    pub errors: Vec<AwsCallError>,
}

/// Several regions merged, as `rds-explorer inventory --format json` prints it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    /// DB instances.
    pub instances: Vec<DbInstance>,
    /// DB clusters.
    pub clusters: Vec<DbCluster>,
    /// RDS Proxies.
    pub proxies: Vec<DbProxy>,
    /// SSM targets.
    pub ssm_targets: Vec<SsmTarget>,
    /// Failed calls.
    pub errors: Vec<AwsCallError>,
}

impl Inventory {
    /// Merges regions in the order given.
    pub fn merge(regions: impl IntoIterator<Item = RegionInventory>) -> Self {
        let mut all = Self::default();
        for region in regions {
            all.instances.extend(region.instances);
            all.clusters.extend(region.clusters);
            all.proxies.extend(region.proxies);
            all.ssm_targets.extend(region.ssm_targets);
            all.errors.extend(region.errors);
        }
        all
    }
}

/// SSM targets in the same VPC as `vpc_id` first, then the rest (for tunnel suggestions).
pub fn suggest_targets<'a>(
    targets: &'a [SsmTarget],
    region: &str,
    vpc_id: Option<&str>,
) -> Vec<&'a SsmTarget> {
    let mut suggested: Vec<&SsmTarget> = targets
        .iter()
        .filter(|target| target.region == region)
        .collect();
    suggested.sort_by_key(|target| {
        (
            vpc_id.is_none() || target.vpc_id.as_deref() != vpc_id,
            target.instance_id.clone(),
        )
    });
    suggested
}
