//! The RDS resource behind an endpoint, as IAM sees it: which resource id goes into the
//! `rds-db:connect` ARN (an instance's `db-…`, an Aurora cluster's `cluster-…` even for an
//! instance endpoint, a proxy's `prx-…`), whether IAM auth is on, and its security groups.

use crate::aws::inventory::{DbCluster, DbInstance, DbProxy, RegionInventory};

/// An instance, Aurora cluster or RDS Proxy from the inventory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DbResource {
    /// A DB instance that is not an Aurora cluster member.
    Instance(DbInstance),
    /// An Aurora (or Multi-AZ) cluster: its endpoints and its members' endpoints.
    Cluster(DbCluster),
    /// An RDS Proxy (default or custom endpoint).
    Proxy(DbProxy),
}

/// Whether a resource accepts IAM auth tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IamAuthSetting {
    /// `IAMDatabaseAuthenticationEnabled` (instance, cluster), or a proxy that requires IAM.
    Enabled,
    /// Off: every token is compared as a password.
    Disabled,
    /// A proxy whose `Auth` entries do not require IAM (`IAMAuth` of each).
    ProxyNotRequired {
        /// `IAMAuth` of each entry (`DISABLED`, …).
        entries: Vec<String>,
    },
}

impl DbResource {
    /// What it is, e.g. `DB instance sandboxdb`.
    pub fn label(&self) -> String {
        match self {
            Self::Instance(instance) => format!("DB instance {}", instance.id),
            Self::Cluster(cluster) => format!("DB cluster {}", cluster.id),
            Self::Proxy(proxy) => format!("RDS Proxy {}", proxy.name),
        }
    }

    /// Its region.
    pub fn region(&self) -> &str {
        match self {
            Self::Instance(instance) => &instance.region,
            Self::Cluster(cluster) => &cluster.region,
            Self::Proxy(proxy) => &proxy.region,
        }
    }

    /// The id in `rds-db:connect` ARNs: `db-…`, `cluster-…` or `prx-…`; `None` when unknown.
    pub fn iam_resource_id(&self) -> Option<&str> {
        let id = match self {
            Self::Instance(instance) => instance.dbi_resource_id.as_str(),
            Self::Cluster(cluster) => cluster.cluster_resource_id.as_str(),
            Self::Proxy(proxy) => proxy.proxy_id(),
        };
        (!id.is_empty()).then_some(id)
    }

    /// The `rds-db:connect` resource ARN for `user` in `account`.
    pub fn dbuser_arn(&self, account: &str, user: &str) -> Option<String> {
        let region = self.region();
        let partition = partition_of(region);
        let id = self.iam_resource_id()?;
        Some(format!(
            "arn:{partition}:rds-db:{region}:{account}:dbuser:{id}/{user}"
        ))
    }

    /// Whether IAM tokens are accepted.
    pub fn iam_auth(&self) -> IamAuthSetting {
        let enabled = match self {
            Self::Instance(instance) => instance.iam_auth_enabled,
            Self::Cluster(cluster) => cluster.iam_auth_enabled,
            Self::Proxy(proxy) => {
                let end_to_end = proxy.default_auth_scheme.as_deref() == Some("IAM_AUTH");
                let required = proxy
                    .auth
                    .iter()
                    .any(|auth| matches!(auth.iam_auth.as_deref(), Some("REQUIRED" | "ENABLED")));
                if !(end_to_end || required) {
                    return IamAuthSetting::ProxyNotRequired {
                        entries: proxy
                            .auth
                            .iter()
                            .map(|auth| auth.iam_auth.clone().unwrap_or_default())
                            .collect(),
                    };
                }
                true
            }
        };
        if enabled {
            IamAuthSetting::Enabled
        } else {
            IamAuthSetting::Disabled
        }
    }

    /// Its VPC security groups.
    pub fn security_groups(&self) -> &[String] {
        match self {
            Self::Instance(instance) => &instance.security_groups,
            Self::Cluster(cluster) => &cluster.security_groups,
            Self::Proxy(proxy) => &proxy.security_groups,
        }
    }

    /// The endpoint host names of the resource that the inventory knows (lower case).
    pub fn endpoint_hosts(&self) -> Vec<String> {
        let hosts: Vec<&str> = match self {
            Self::Instance(instance) => instance.endpoint.iter().map(String::as_str).collect(),
            Self::Cluster(cluster) => cluster
                .endpoints
                .iter()
                .map(|endpoint| endpoint.address.as_str())
                .collect(),
            Self::Proxy(proxy) => proxy
                .endpoint
                .iter()
                .map(String::as_str)
                .chain(proxy.endpoints.iter().filter_map(|e| e.endpoint.as_deref()))
                .collect(),
        };
        hosts.into_iter().map(str::to_ascii_lowercase).collect()
    }

    /// The endpoint's real port when the inventory has it.
    pub fn port(&self) -> Option<u16> {
        match self {
            Self::Instance(instance) => instance.port,
            Self::Cluster(cluster) => cluster.port,
            // Proxies listen on the engine's default port.
            Self::Proxy(proxy) => match proxy.engine_family.as_str() {
                "POSTGRESQL" => Some(5432),
                "MYSQL" => Some(3306),
                "SQLSERVER" => Some(1433),
                _ => None,
            },
        }
    }

    /// The resource an endpoint host belongs to in `inventory`: an Aurora member instance's
    /// endpoint resolves to its cluster (the IAM resource of Aurora).
    pub fn find_by_host(inventory: &RegionInventory, host: &str) -> Option<Self> {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let same = |candidate: Option<&str>| {
            candidate.is_some_and(|name| name.eq_ignore_ascii_case(&host))
        };
        if let Some(instance) = inventory
            .instances
            .iter()
            .find(|instance| same(instance.endpoint.as_deref()))
        {
            let cluster = instance.cluster_id.as_deref().and_then(|cluster_id| {
                inventory
                    .clusters
                    .iter()
                    .find(|cluster| cluster.id == cluster_id)
            });
            return Some(match cluster {
                Some(cluster) => Self::Cluster(cluster.clone()),
                None => Self::Instance(instance.clone()),
            });
        }
        if let Some(cluster) = inventory.clusters.iter().find(|cluster| {
            cluster
                .endpoints
                .iter()
                .any(|endpoint| same(Some(&endpoint.address)))
        }) {
            return Some(Self::Cluster(cluster.clone()));
        }
        inventory
            .proxies
            .iter()
            .find(|proxy| {
                same(proxy.endpoint.as_deref())
                    || proxy
                        .endpoints
                        .iter()
                        .any(|endpoint| same(endpoint.endpoint.as_deref()))
            })
            .map(|proxy| Self::Proxy(proxy.clone()))
    }
}

/// `aws`, `aws-cn` or `aws-us-gov`.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::inventory::{ClusterEndpoint, EndpointRole, ProxyAuth};

    fn inventory() -> RegionInventory {
        RegionInventory {
            region: "eu-west-1".into(),
            instances: vec![
                DbInstance {
                    id: "solo".into(),
                    region: "eu-west-1".into(),
                    endpoint: Some("solo.abc.eu-west-1.rds.amazonaws.com".into()),
                    port: Some(5432),
                    iam_auth_enabled: true,
                    dbi_resource_id: "db-SOLO".into(),
                    ..DbInstance::default()
                },
                DbInstance {
                    id: "orders-1".into(),
                    region: "eu-west-1".into(),
                    endpoint: Some("orders-1.abc.eu-west-1.rds.amazonaws.com".into()),
                    dbi_resource_id: "db-MEMBER".into(),
                    cluster_id: Some("orders".into()),
                    ..DbInstance::default()
                },
            ],
            clusters: vec![DbCluster {
                id: "orders".into(),
                region: "eu-west-1".into(),
                cluster_resource_id: "cluster-ORDERS".into(),
                endpoints: vec![ClusterEndpoint {
                    role: EndpointRole::Reader,
                    name: None,
                    address: "orders.cluster-ro-abc.eu-west-1.rds.amazonaws.com".into(),
                    port: Some(5432),
                    status: "available".into(),
                }],
                ..DbCluster::default()
            }],
            proxies: vec![DbProxy {
                name: "px".into(),
                region: "eu-west-1".into(),
                arn: "arn:aws:rds:eu-west-1:111122223333:db-proxy:prx-0abc".into(),
                engine_family: "POSTGRESQL".into(),
                endpoint: Some("px.proxy-abc.eu-west-1.rds.amazonaws.com".into()),
                auth: vec![ProxyAuth {
                    auth_scheme: Some("SECRETS".into()),
                    iam_auth: Some("DISABLED".into()),
                    secret_arn: None,
                    client_password_auth_type: None,
                    description: None,
                }],
                ..DbProxy::default()
            }],
            ..RegionInventory::default()
        }
    }

    #[test]
    fn endpoints_resolve_to_the_iam_resource() {
        let inventory = inventory();
        let find = |host| DbResource::find_by_host(&inventory, host).unwrap();
        let solo = find("SOLO.abc.eu-west-1.rds.amazonaws.com.");
        assert_eq!(
            solo.dbuser_arn("111122223333", "app").as_deref(),
            Some("arn:aws:rds-db:eu-west-1:111122223333:dbuser:db-SOLO/app")
        );
        assert_eq!(solo.iam_auth(), IamAuthSetting::Enabled);
        assert_eq!(solo.port(), Some(5432));

        // An Aurora instance endpoint: the cluster's resource id, never the instance's.
        let member = find("orders-1.abc.eu-west-1.rds.amazonaws.com");
        assert_eq!(member.iam_resource_id(), Some("cluster-ORDERS"));
        assert_eq!(member.iam_auth(), IamAuthSetting::Disabled);
        let reader = find("orders.cluster-ro-abc.eu-west-1.rds.amazonaws.com");
        assert_eq!(reader.label(), "DB cluster orders");

        let proxy = find("px.proxy-abc.eu-west-1.rds.amazonaws.com");
        assert_eq!(proxy.iam_resource_id(), Some("prx-0abc"));
        assert_eq!(
            proxy.iam_auth(),
            IamAuthSetting::ProxyNotRequired {
                entries: vec!["DISABLED".into()]
            }
        );
        assert_eq!(proxy.port(), Some(5432));
        assert!(DbResource::find_by_host(&inventory, "other.example").is_none());
    }

    #[test]
    fn partitions_follow_the_region() {
        assert_eq!(partition_of("cn-north-1"), "aws-cn");
        assert_eq!(partition_of("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition_of("eu-west-1"), "aws");
        let mut instance = DbInstance {
            region: "cn-north-1".into(),
            dbi_resource_id: "db-X".into(),
            ..DbInstance::default()
        };
        assert_eq!(
            DbResource::Instance(instance.clone())
                .dbuser_arn("1", "u")
                .unwrap(),
            "arn:aws-cn:rds-db:cn-north-1:1:dbuser:db-X/u"
        );
        instance.dbi_resource_id.clear();
        assert_eq!(DbResource::Instance(instance).dbuser_arn("1", "u"), None);
    }
}
