//! A new connection for a resource of the inventory, filled in as far as the inventory knows:
//! the endpoint and port, the region, the master user, IAM auth when the resource has it enabled
//! (else its RDS-managed master secret, else a password), production from the tag rules (then
//! read-only and a red bar), and for a private resource an SSM tunnel through a suggested target
//! in the same VPC.

use super::model::{RegionInventory, Tag, suggest_targets};
use crate::store::{AuthMode, ProductionRules, Route, SavedConnection};

/// The bar colour of production connections.
pub const PRODUCTION_COLOR: &str = "#d03030";

/// Which resource of a region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResourceRef {
    /// A DB instance by id.
    Instance(String),
    /// An Aurora cluster by id (its writer endpoint).
    Cluster(String),
    /// An RDS Proxy by name (its default endpoint).
    Proxy(String),
}

/// PostgreSQL's port, for resources that do not report one (proxies).
const POSTGRES_PORT: u16 = 5432;

/// What the draft needs of a resource.
struct Found<'a> {
    id: &'a str,
    host: String,
    port: u16,
    iam: bool,
    user: Option<&'a str>,
    database: Option<&'a str>,
    secret: Option<&'a str>,
    tags: &'a [Tag],
    vpc: Option<&'a str>,
    public: bool,
}

/// The fields of `resource` in `inventory` that a connection needs.
fn find<'a>(inventory: &'a RegionInventory, resource: &ResourceRef) -> Option<Found<'a>> {
    let found = match resource {
        ResourceRef::Instance(id) => {
            let db = inventory.instances.iter().find(|db| &db.id == id)?;
            Found {
                id: &db.id,
                host: db.endpoint.clone()?,
                port: db.port.unwrap_or(POSTGRES_PORT),
                iam: db.iam_auth_enabled,
                user: db.master_username.as_deref(),
                database: db.db_name.as_deref(),
                secret: db.master_user_secret_arn.as_deref(),
                tags: &db.tags,
                vpc: db.vpc_id.as_deref(),
                public: db.publicly_accessible,
            }
        }
        ResourceRef::Cluster(id) => {
            let cluster = inventory.clusters.iter().find(|c| &c.id == id)?;
            let writer = cluster
                .endpoints
                .iter()
                .find(|e| e.role == super::model::EndpointRole::Writer)?;
            Found {
                id: &cluster.id,
                host: writer.address.clone(),
                port: writer.port.or(cluster.port).unwrap_or(POSTGRES_PORT),
                iam: cluster.iam_auth_enabled,
                user: cluster.master_username.as_deref(),
                database: cluster.db_name.as_deref(),
                secret: cluster.master_user_secret_arn.as_deref(),
                tags: &cluster.tags,
                vpc: cluster.vpc_id.as_deref(),
                public: cluster.publicly_accessible,
            }
        }
        ResourceRef::Proxy(name) => {
            let proxy = inventory.proxies.iter().find(|p| &p.name == name)?;
            // Clients log in to a proxy with IAM when it requires it; the user is a database
            // user the proxy has a secret for, which the inventory does not name.
            let iam = proxy.default_auth_scheme.as_deref() == Some("IAM_AUTH")
                || proxy
                    .auth
                    .iter()
                    .any(|auth| auth.iam_auth.as_deref() == Some("REQUIRED"));
            Found {
                id: &proxy.name,
                host: proxy.endpoint.clone()?,
                port: POSTGRES_PORT,
                iam,
                user: None,
                database: None,
                secret: None,
                tags: &[],
                vpc: proxy.vpc_id.as_deref(),
                public: false,
            }
        }
    };
    Some(found)
}

/// The draft for `resource`, or `None` when it is not in `inventory` or has no endpoint yet.
pub fn connection_draft(
    profile: &str,
    inventory: &RegionInventory,
    resource: &ResourceRef,
    rules: &ProductionRules,
) -> Option<SavedConnection> {
    let found = find(inventory, resource)?;
    let production = rules.matches(
        found
            .tags
            .iter()
            .map(|tag| (tag.key.as_str(), tag.value.as_str())),
    );
    let auth = match (found.iam, found.secret) {
        (true, _) => AuthMode::Iam,
        (false, Some(secret)) => AuthMode::Secret {
            secret_id: secret.to_owned(),
        },
        (false, None) => AuthMode::Password,
    };
    // A private resource is reached through a tunnel when a target in its VPC is online.
    let route = if found.public {
        Route::Direct
    } else {
        suggest_targets(&inventory.ssm_targets, &inventory.region, found.vpc)
            .into_iter()
            .find(|target| found.vpc.is_some() && target.vpc_id.as_deref() == found.vpc)
            .map_or(Route::Direct, |target| Route::SsmTunnel {
                target: target.instance_id.clone(),
                local_port: 0,
                client: None,
            })
    };
    Some(SavedConnection {
        name: found.id.to_owned(),
        profile: Some(profile.to_owned()),
        region: Some(inventory.region.clone()),
        resource: Some(found.id.to_owned()),
        host: found.host,
        port: found.port,
        hostaddr: None,
        database: found.database.unwrap_or("postgres").to_owned(),
        user: found.user.unwrap_or("postgres").to_owned(),
        auth,
        route,
        color: production.then(|| PRODUCTION_COLOR.to_owned()),
        read_only: production,
        production,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::inventory::{DbInstance, SsmTarget};

    fn inventory() -> RegionInventory {
        RegionInventory {
            profile: "p".into(),
            region: "eu-west-1".into(),
            instances: vec![
                DbInstance {
                    id: "orders".into(),
                    region: "eu-west-1".into(),
                    endpoint: Some("orders.abc.eu-west-1.rds.amazonaws.com".into()),
                    port: Some(5433),
                    iam_auth_enabled: true,
                    master_username: Some("admin".into()),
                    vpc_id: Some("vpc-1".into()),
                    tags: vec![Tag {
                        key: "Environment".into(),
                        value: "Production".into(),
                    }],
                    ..DbInstance::default()
                },
                DbInstance {
                    id: "scratch".into(),
                    region: "eu-west-1".into(),
                    endpoint: Some("scratch.abc.eu-west-1.rds.amazonaws.com".into()),
                    master_user_secret_arn: Some(
                        "arn:aws:secretsmanager:eu-west-1:1:secret:x".into(),
                    ),
                    publicly_accessible: true,
                    ..DbInstance::default()
                },
            ],
            ssm_targets: vec![
                SsmTarget {
                    instance_id: "i-other".into(),
                    region: "eu-west-1".into(),
                    vpc_id: Some("vpc-2".into()),
                    ..SsmTarget::default()
                },
                SsmTarget {
                    instance_id: "i-same".into(),
                    region: "eu-west-1".into(),
                    vpc_id: Some("vpc-1".into()),
                    ..SsmTarget::default()
                },
            ],
            ..RegionInventory::default()
        }
    }

    #[test]
    fn a_private_production_instance_gets_iam_a_tunnel_and_read_only() {
        let draft = connection_draft(
            "p",
            &inventory(),
            &ResourceRef::Instance("orders".into()),
            &ProductionRules::default(),
        )
        .unwrap();
        assert_eq!(draft.host, "orders.abc.eu-west-1.rds.amazonaws.com");
        assert_eq!(draft.port, 5433);
        assert_eq!(draft.user, "admin");
        assert_eq!(draft.auth, AuthMode::Iam);
        assert_eq!(
            draft.route,
            Route::SsmTunnel {
                target: "i-same".into(),
                local_port: 0,
                client: None,
            }
        );
        assert!(draft.production && draft.read_only);
        assert_eq!(draft.color.as_deref(), Some(PRODUCTION_COLOR));
    }

    #[test]
    fn a_public_instance_without_iam_uses_its_master_secret_directly() {
        let draft = connection_draft(
            "p",
            &inventory(),
            &ResourceRef::Instance("scratch".into()),
            &ProductionRules::default(),
        )
        .unwrap();
        assert_eq!(
            draft.auth,
            AuthMode::Secret {
                secret_id: "arn:aws:secretsmanager:eu-west-1:1:secret:x".into()
            }
        );
        assert_eq!(draft.route, Route::Direct);
        assert_eq!(draft.port, 5432);
        assert!(!draft.production && !draft.read_only);
        assert!(
            connection_draft(
                "p",
                &inventory(),
                &ResourceRef::Instance("gone".into()),
                &ProductionRules::default()
            )
            .is_none()
        );
    }
}
