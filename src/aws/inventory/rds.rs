//! RDS inventory calls for one region: instances, clusters with their endpoints, proxies with
//! their endpoints and targets. Every list is paginated to the end; a failed call becomes an
//! [`AwsCallError`] and the rest of the region is still returned.

use aws_sdk_rds::Client;
use aws_sdk_rds::types as rds;

use super::model::{
    ClusterEndpoint, ClusterMember, DbCluster, DbInstance, DbProxy, EndpointRole, ProxyAuth,
    ProxyEndpoint, ProxyTarget, Tag,
};
use crate::aws::error::AwsCallError;

/// Page size for describe calls (AWS allows 20–100).
const PAGE: i32 = 100;

fn port(value: Option<i32>) -> Option<u16> {
    value.and_then(|port| u16::try_from(port).ok())
}

fn tags(list: &[rds::Tag]) -> Vec<Tag> {
    list.iter()
        .map(|tag| Tag {
            key: tag.key().unwrap_or_default().to_owned(),
            value: tag.value().unwrap_or_default().to_owned(),
        })
        .collect()
}

fn security_groups(list: &[rds::VpcSecurityGroupMembership]) -> Vec<String> {
    list.iter()
        .filter_map(|group| group.vpc_security_group_id().map(str::to_owned))
        .collect()
}

/// All DB instances of the region, sorted by id.
pub async fn instances(client: &Client, region: &str) -> Result<Vec<DbInstance>, AwsCallError> {
    let mut pages = client
        .describe_db_instances()
        .max_records(PAGE)
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page
            .map_err(|error| AwsCallError::from_sdk("rds:DescribeDBInstances", region, &error))?;
        out.extend(page.db_instances().iter().map(|db| instance(db, region)));
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

fn instance(db: &rds::DbInstance, region: &str) -> DbInstance {
    let subnet_group = db.db_subnet_group();
    DbInstance {
        id: db.db_instance_identifier().unwrap_or_default().to_owned(),
        region: region.to_owned(),
        engine: db.engine().unwrap_or_default().to_owned(),
        engine_version: db.engine_version().unwrap_or_default().to_owned(),
        status: db.db_instance_status().unwrap_or_default().to_owned(),
        instance_class: db.db_instance_class().unwrap_or_default().to_owned(),
        endpoint: db.endpoint().and_then(|e| e.address()).map(str::to_owned),
        port: port(db.endpoint().and_then(rds::Endpoint::port)),
        iam_auth_enabled: db.iam_database_authentication_enabled().unwrap_or(false),
        dbi_resource_id: db.dbi_resource_id().unwrap_or_default().to_owned(),
        cluster_id: db.db_cluster_identifier().map(str::to_owned),
        vpc_id: subnet_group
            .and_then(|group| group.vpc_id())
            .map(str::to_owned),
        subnets: subnet_group
            .map(|group| {
                group
                    .subnets()
                    .iter()
                    .filter_map(|s| s.subnet_identifier().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        security_groups: security_groups(db.vpc_security_groups()),
        publicly_accessible: db.publicly_accessible().unwrap_or(false),
        master_username: db.master_username().map(str::to_owned),
        db_name: db.db_name().map(str::to_owned),
        master_user_secret_arn: db
            .master_user_secret()
            .and_then(|secret| secret.secret_arn())
            .map(str::to_owned),
        tags: tags(db.tag_list()),
    }
}

/// All DB clusters of the region with writer, reader and custom endpoints, sorted by id.
/// Custom endpoint details come from `DescribeDBClusterEndpoints`; if that call fails, the
/// clusters are still returned (with writer/reader only) together with its error.
pub async fn clusters(
    client: &Client,
    region: &str,
) -> Result<(Vec<DbCluster>, Option<AwsCallError>), AwsCallError> {
    let mut pages = client
        .describe_db_clusters()
        .max_records(PAGE)
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|error| AwsCallError::from_sdk("rds:DescribeDBClusters", region, &error))?;
        out.extend(
            page.db_clusters()
                .iter()
                .map(|cluster| self::cluster(cluster, region)),
        );
    }
    if out.is_empty() {
        return Ok((out, None));
    }
    let custom_error = match custom_endpoints(client, region).await {
        Ok(endpoints) => {
            for (cluster_id, endpoint) in endpoints {
                if let Some(cluster) = out.iter_mut().find(|cluster| cluster.id == cluster_id) {
                    cluster.endpoints.push(endpoint);
                }
            }
            None
        }
        Err(error) => Some(error),
    };
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok((out, custom_error))
}

fn cluster(cluster: &rds::DbCluster, region: &str) -> DbCluster {
    let status = cluster.status().unwrap_or_default().to_owned();
    let port = port(cluster.port());
    let endpoint = |role, address: Option<&str>| {
        address.map(|address| ClusterEndpoint {
            role,
            name: None,
            address: address.to_owned(),
            port,
            status: status.clone(),
        })
    };
    DbCluster {
        id: cluster
            .db_cluster_identifier()
            .unwrap_or_default()
            .to_owned(),
        region: region.to_owned(),
        engine: cluster.engine().unwrap_or_default().to_owned(),
        engine_version: cluster.engine_version().unwrap_or_default().to_owned(),
        port,
        iam_auth_enabled: cluster
            .iam_database_authentication_enabled()
            .unwrap_or(false),
        cluster_resource_id: cluster
            .db_cluster_resource_id()
            .unwrap_or_default()
            .to_owned(),
        endpoints: [
            endpoint(EndpointRole::Writer, cluster.endpoint()),
            endpoint(EndpointRole::Reader, cluster.reader_endpoint()),
        ]
        .into_iter()
        .flatten()
        .collect(),
        members: cluster
            .db_cluster_members()
            .iter()
            .map(|member| ClusterMember {
                instance_id: member
                    .db_instance_identifier()
                    .unwrap_or_default()
                    .to_owned(),
                is_writer: member.is_cluster_writer().unwrap_or(false),
            })
            .collect(),
        vpc_id: None,
        subnets: Vec::new(),
        security_groups: security_groups(cluster.vpc_security_groups()),
        publicly_accessible: cluster.publicly_accessible().unwrap_or(false),
        master_username: cluster.master_username().map(str::to_owned),
        db_name: cluster.database_name().map(str::to_owned),
        master_user_secret_arn: cluster
            .master_user_secret()
            .and_then(|secret| secret.secret_arn())
            .map(str::to_owned),
        tags: tags(cluster.tag_list()),
        status,
    }
}

async fn custom_endpoints(
    client: &Client,
    region: &str,
) -> Result<Vec<(String, ClusterEndpoint)>, AwsCallError> {
    let mut pages = client
        .describe_db_cluster_endpoints()
        .max_records(PAGE)
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| {
            AwsCallError::from_sdk("rds:DescribeDBClusterEndpoints", region, &error)
        })?;
        for endpoint in page.db_cluster_endpoints() {
            if endpoint.endpoint_type() != Some("CUSTOM") {
                continue;
            }
            let (Some(cluster_id), Some(address)) =
                (endpoint.db_cluster_identifier(), endpoint.endpoint())
            else {
                continue;
            };
            out.push((
                cluster_id.to_owned(),
                ClusterEndpoint {
                    role: EndpointRole::Custom,
                    name: endpoint.db_cluster_endpoint_identifier().map(str::to_owned),
                    address: address.to_owned(),
                    port: None,
                    status: endpoint.status().unwrap_or_default().to_owned(),
                },
            ));
        }
    }
    Ok(out)
}

/// Fills each cluster's VPC and subnets from its member instances (the cluster API lacks them).
pub fn fill_cluster_networks(clusters: &mut [DbCluster], instances: &[DbInstance]) {
    for cluster in clusters {
        let member = instances
            .iter()
            .find(|instance| instance.cluster_id.as_deref() == Some(cluster.id.as_str()));
        if let Some(member) = member {
            cluster.vpc_id.clone_from(&member.vpc_id);
            cluster.subnets.clone_from(&member.subnets);
        }
        // Custom endpoints share the cluster port.
        for endpoint in &mut cluster.endpoints {
            endpoint.port = endpoint.port.or(cluster.port);
        }
    }
}

/// All RDS Proxies of the region with endpoints and targets, sorted by name, plus the errors of
/// the per-proxy calls that failed (a proxy is still listed without its endpoints or targets).
pub async fn proxies(
    client: &Client,
    region: &str,
) -> Result<(Vec<DbProxy>, Vec<AwsCallError>), AwsCallError> {
    let mut pages = client
        .describe_db_proxies()
        .max_records(PAGE)
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|error| AwsCallError::from_sdk("rds:DescribeDBProxies", region, &error))?;
        out.extend(
            page.db_proxies()
                .iter()
                .map(|proxy| self::proxy(proxy, region)),
        );
    }
    let mut errors = Vec::new();
    if out.is_empty() {
        return Ok((out, errors));
    }
    match proxy_endpoints(client, region).await {
        Ok(endpoints) => {
            for (proxy_name, endpoint) in endpoints {
                if let Some(proxy) = out.iter_mut().find(|proxy| proxy.name == proxy_name) {
                    proxy.endpoints.push(endpoint);
                }
            }
        }
        Err(error) => errors.push(error),
    }
    for proxy in &mut out {
        match proxy_targets(client, region, &proxy.name).await {
            Ok(targets) => proxy.targets = targets,
            Err(error) => errors.push(error),
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((out, errors))
}

fn proxy(proxy: &rds::DbProxy, region: &str) -> DbProxy {
    DbProxy {
        name: proxy.db_proxy_name().unwrap_or_default().to_owned(),
        region: region.to_owned(),
        arn: proxy.db_proxy_arn().unwrap_or_default().to_owned(),
        engine_family: proxy.engine_family().unwrap_or_default().to_owned(),
        status: proxy
            .status()
            .map(|status| status.as_str().to_owned())
            .unwrap_or_default(),
        endpoint: proxy.endpoint().map(str::to_owned),
        vpc_id: proxy.vpc_id().map(str::to_owned),
        subnets: proxy.vpc_subnet_ids().to_vec(),
        security_groups: proxy.vpc_security_group_ids().to_vec(),
        require_tls: proxy.require_tls().unwrap_or(false),
        default_auth_scheme: proxy.default_auth_scheme().map(str::to_owned),
        auth: proxy
            .auth()
            .iter()
            .map(|auth| ProxyAuth {
                auth_scheme: auth.auth_scheme().map(|scheme| scheme.as_str().to_owned()),
                iam_auth: auth.iam_auth().map(|iam| iam.as_str().to_owned()),
                secret_arn: auth.secret_arn().map(str::to_owned),
                client_password_auth_type: auth
                    .client_password_auth_type()
                    .map(|kind| kind.as_str().to_owned()),
                description: auth.description().map(str::to_owned),
            })
            .collect(),
        role_arn: proxy.role_arn().map(str::to_owned),
        endpoints: Vec::new(),
        targets: Vec::new(),
    }
}

async fn proxy_endpoints(
    client: &Client,
    region: &str,
) -> Result<Vec<(String, ProxyEndpoint)>, AwsCallError> {
    let mut pages = client
        .describe_db_proxy_endpoints()
        .max_records(PAGE)
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| {
            AwsCallError::from_sdk("rds:DescribeDBProxyEndpoints", region, &error)
        })?;
        for endpoint in page.db_proxy_endpoints() {
            out.push((
                endpoint.db_proxy_name().unwrap_or_default().to_owned(),
                ProxyEndpoint {
                    name: endpoint
                        .db_proxy_endpoint_name()
                        .unwrap_or_default()
                        .to_owned(),
                    endpoint: endpoint.endpoint().map(str::to_owned),
                    target_role: endpoint.target_role().map(|role| role.as_str().to_owned()),
                    is_default: endpoint.is_default().unwrap_or(false),
                    status: endpoint.status().map(|status| status.as_str().to_owned()),
                    vpc_id: endpoint.vpc_id().map(str::to_owned),
                },
            ));
        }
    }
    Ok(out)
}

async fn proxy_targets(
    client: &Client,
    region: &str,
    proxy_name: &str,
) -> Result<Vec<ProxyTarget>, AwsCallError> {
    let mut groups = Vec::new();
    let mut pages = client
        .describe_db_proxy_target_groups()
        .db_proxy_name(proxy_name)
        .max_records(PAGE)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| {
            AwsCallError::from_sdk("rds:DescribeDBProxyTargetGroups", region, &error)
        })?;
        groups.extend(
            page.target_groups()
                .iter()
                .filter_map(|group| group.target_group_name().map(str::to_owned)),
        );
    }
    let mut out = Vec::new();
    for group in groups {
        let mut pages = client
            .describe_db_proxy_targets()
            .db_proxy_name(proxy_name)
            .target_group_name(&group)
            .max_records(PAGE)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|error| {
                AwsCallError::from_sdk("rds:DescribeDBProxyTargets", region, &error)
            })?;
            out.extend(page.targets().iter().map(|target| {
                ProxyTarget {
                    target_group: group.clone(),
                    target_type: target.r#type().map(|kind| kind.as_str().to_owned()),
                    rds_resource_id: target.rds_resource_id().map(str::to_owned),
                    endpoint: target.endpoint().map(str::to_owned),
                    port: port(target.port()),
                    health: target
                        .target_health()
                        .and_then(|health| health.state())
                        .map(|state| state.as_str().to_owned()),
                }
            }));
        }
    }
    Ok(out)
}
