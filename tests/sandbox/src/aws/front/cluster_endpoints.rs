//! RDS `DescribeDBClusterEndpoints`, which moto 5.2.5 lacks (HTTP 500): each Aurora cluster moto
//! knows (asked live with `DescribeDBClusters`, so clusters a test creates show up too) has its
//! `WRITER` and `READER` endpoints, plus the custom endpoints in the front's state. Narrowed by
//! `DBClusterIdentifier` (unknown: moto's `DBClusterNotFoundFault`, as RDS answers),
//! `DBClusterEndpointIdentifier` and the four `Filters` RDS documents; pagination with
//! `MaxRecords` (20 to 100, as RDS) and `Marker`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use hyper::StatusCode;

use super::query::{QueryCall, describe_all, invalid_parameter, page, paging};
use super::state::lock;
use super::{Ctx, FrontRequest, FrontResponse, bad_gateway, response, with_header};
use crate::aws::ids;
use crate::aws::xml::{Element, escape};

/// The smallest `MaxRecords` RDS accepts here.
const MIN_MAX_RECORDS: usize = 20;

/// The filters RDS knows for this call.
const FILTER_NAMES: [&str; 4] = [
    "db-cluster-endpoint-type",
    "db-cluster-endpoint-custom-type",
    "db-cluster-endpoint-id",
    "db-cluster-endpoint-status",
];

/// One row of the answer.
struct ClusterEndpoint {
    identifier: String,
    cluster: String,
    resource_id: String,
    host: String,
    /// `WRITER`, `READER` or `CUSTOM`.
    endpoint_type: &'static str,
    /// For `CUSTOM` ones: `CustomEndpointType`, `StaticMembers` and the ARN.
    custom: Option<Custom>,
}

/// What only custom endpoints have.
struct Custom {
    /// `CustomEndpointType`.
    kind: String,
    static_members: Vec<String>,
    arn: String,
}

/// Answers `DescribeDBClusterEndpoints`.
pub(crate) async fn describe(ctx: &Ctx, request: &FrontRequest, call: &QueryCall) -> FrontResponse {
    let (max_records, offset) = match paging(call, MIN_MAX_RECORDS) {
        Ok(paging) => paging,
        Err(message) => return invalid_parameter(&message),
    };
    let filters = filters(call);
    if let Some((name, _)) = filters
        .iter()
        .find(|(name, _)| !FILTER_NAMES.contains(&name.as_str()))
    {
        return invalid_parameter(&format!("Unrecognized filter name: {name}"));
    }
    let cluster = call
        .param("DBClusterIdentifier")
        .map(|name| ("DBClusterIdentifier", name));
    let params: Vec<_> = cluster.into_iter().collect();
    let clusters =
        match describe_all(ctx, request, "DescribeDBClusters", &params, "DBClusters").await {
            Ok(Ok(clusters)) => clusters,
            // moto's DBClusterNotFoundFault (404) for an unknown cluster is RDS's answer too.
            Ok(Err(moto_error)) => return moto_error,
            Err(err) => return bad_gateway(&err),
        };
    let mut endpoints = endpoints_of(ctx, &call.region, &clusters);
    if let Some(wanted) = call.param("DBClusterEndpointIdentifier") {
        // RDS answers an empty list, not a fault, for an identifier nobody has.
        endpoints.retain(|endpoint| endpoint.identifier.eq_ignore_ascii_case(wanted));
    }
    endpoints.retain(|endpoint| {
        filters.iter().all(|(name, values)| {
            let value = filter_value(endpoint, name);
            values
                .iter()
                .any(|wanted| wanted.eq_ignore_ascii_case(value))
        })
    });
    let (page, next_marker) = page(&endpoints, max_records, offset);
    answer(page, next_marker.as_deref())
}

/// The endpoints of `clusters` (moto's `<DBCluster>` elements) in `region`, cluster by cluster:
/// writer, reader, then the custom ones.
fn endpoints_of(ctx: &Ctx, region: &str, clusters: &[Element]) -> Vec<ClusterEndpoint> {
    let state = lock(&ctx.state);
    let mut endpoints = Vec::new();
    for cluster in clusters {
        let identifier = cluster.child_text("DBClusterIdentifier");
        let arn = cluster.child_text("DBClusterArn");
        let writer = cluster.child_text("Endpoint");
        let defaults = [
            ("WRITER", writer),
            ("READER", cluster.child_text("ReaderEndpoint")),
        ];
        for (endpoint_type, host) in defaults {
            if host.is_empty() {
                continue;
            }
            endpoints.push(ClusterEndpoint {
                identifier: identifier.to_owned(),
                cluster: identifier.to_owned(),
                resource_id: ids::cluster_endpoint_resource_id(&format!(
                    "{arn}/{endpoint_type}/{identifier}"
                )),
                host: host.to_owned(),
                endpoint_type,
                custom: None,
            });
        }
        let account = arn.split(':').nth(4).unwrap_or(crate::aws::ACCOUNT_ID);
        let customs = state
            .cluster_endpoints
            .iter()
            .filter(|custom| custom.region == region && custom.cluster_identifier == identifier);
        for custom in customs {
            endpoints.push(ClusterEndpoint {
                identifier: custom.identifier.clone(),
                cluster: identifier.to_owned(),
                resource_id: ids::cluster_endpoint_resource_id(&format!(
                    "{arn}/CUSTOM/{}",
                    custom.identifier
                )),
                host: custom_endpoint_host(writer, &custom.identifier),
                endpoint_type: "CUSTOM",
                custom: Some(Custom {
                    kind: custom.custom_type.clone(),
                    static_members: custom.static_members.clone(),
                    arn: format!(
                        "arn:aws:rds:{region}:{account}:cluster-endpoint:{}",
                        custom.identifier
                    ),
                }),
            });
        }
    }
    endpoints
}

/// The host name AWS gives a custom endpoint: `<name>.cluster-custom-<id>.<region>…`, with the
/// cluster's id taken from its writer endpoint (`<cluster>.cluster-<id>.<region>…`).
pub(crate) fn custom_endpoint_host(writer_endpoint: &str, endpoint_name: &str) -> String {
    let mut labels = writer_endpoint.splitn(3, '.');
    let _cluster_name = labels.next();
    let id_label = labels.next().unwrap_or_default();
    let id = id_label.strip_prefix("cluster-").unwrap_or(id_label);
    let domain = labels.next().unwrap_or("us-east-1.rds.amazonaws.com");
    format!("{endpoint_name}.cluster-custom-{id}.{domain}")
}

/// `Filters` as `(name, values)`: `Filters.Filter.<n>.Name`, `Filters.Filter.<n>.Values.Value.<m>`.
fn filters(call: &QueryCall) -> Vec<(String, Vec<String>)> {
    let mut filters: BTreeMap<&str, (String, Vec<String>)> = BTreeMap::new();
    for (key, value) in &call.params {
        let Some((index, field)) = key
            .strip_prefix("Filters.Filter.")
            .and_then(|rest| rest.split_once('.'))
        else {
            continue;
        };
        let filter = filters.entry(index).or_default();
        if field == "Name" {
            filter.0.clone_from(value);
        } else if field.starts_with("Values.") {
            filter.1.push(value.clone());
        }
    }
    filters.into_values().collect()
}

/// The value filter `name` (one of [`FILTER_NAMES`]) compares, ignoring case, for `endpoint`.
fn filter_value<'a>(endpoint: &'a ClusterEndpoint, name: &str) -> &'a str {
    match name {
        "db-cluster-endpoint-type" => endpoint.endpoint_type,
        "db-cluster-endpoint-custom-type" => endpoint
            .custom
            .as_ref()
            .map_or("", |custom| custom.kind.as_str()),
        "db-cluster-endpoint-id" => &endpoint.identifier,
        "db-cluster-endpoint-status" => "available",
        _ => "",
    }
}

fn answer(page: &[ClusterEndpoint], marker: Option<&str>) -> FrontResponse {
    let mut members = String::new();
    for endpoint in page {
        // Writing to a String cannot fail.
        _ = write!(
            members,
            "\n      <DBClusterEndpointList>\n        \
             <DBClusterEndpointIdentifier>{}</DBClusterEndpointIdentifier>\n        \
             <DBClusterIdentifier>{}</DBClusterIdentifier>\n        \
             <DBClusterEndpointResourceIdentifier>{}</DBClusterEndpointResourceIdentifier>\n        \
             <Endpoint>{}</Endpoint>\n        <Status>available</Status>\n        \
             <EndpointType>{}</EndpointType>",
            escape(&endpoint.identifier),
            escape(&endpoint.cluster),
            escape(&endpoint.resource_id),
            escape(&endpoint.host),
            endpoint.endpoint_type,
        );
        if let Some(custom) = &endpoint.custom {
            let static_members = custom
                .static_members
                .iter()
                .fold(String::new(), |mut out, id| {
                    _ = write!(out, "<member>{}</member>", escape(id));
                    out
                });
            _ = write!(
                members,
                "\n        <CustomEndpointType>{}</CustomEndpointType>\n        \
                 <StaticMembers>{static_members}</StaticMembers>\n        \
                 <ExcludedMembers/>\n        \
                 <DBClusterEndpointArn>{}</DBClusterEndpointArn>",
                escape(&custom.kind),
                escape(&custom.arn),
            );
        }
        members.push_str("\n      </DBClusterEndpointList>");
    }
    let marker = marker.map_or_else(String::new, |marker| {
        format!("\n    <Marker>{}</Marker>", escape(marker))
    });
    let request_id = ids::request_id();
    let body = format!(
        "<DescribeDBClusterEndpointsResponse xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\">\
         \n  <DescribeDBClusterEndpointsResult>\n    <DBClusterEndpoints>{members}\n    \
         </DBClusterEndpoints>{marker}\n  </DescribeDBClusterEndpointsResult>\n  \
         <ResponseMetadata>\n    <RequestId>{request_id}</RequestId>\n  </ResponseMetadata>\n\
         </DescribeDBClusterEndpointsResponse>\n"
    );
    with_header(
        response(StatusCode::OK, "text/xml", body),
        "x-amzn-requestid",
        &request_id,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_endpoint_hosts_follow_aws_naming() {
        assert_eq!(
            custom_endpoint_host(
                "orders.cluster-ytvcwcj3nepc.us-east-1.rds.amazonaws.com",
                "orders-analytics"
            ),
            "orders-analytics.cluster-custom-ytvcwcj3nepc.us-east-1.rds.amazonaws.com"
        );
    }

    #[test]
    fn filters_group_names_and_values_by_index() {
        let params = [
            ("Action", "DescribeDBClusterEndpoints"),
            ("Filters.Filter.1.Name", "db-cluster-endpoint-type"),
            ("Filters.Filter.1.Values.Value.1", "reader"),
            ("Filters.Filter.1.Values.Value.2", "custom"),
            ("Filters.Filter.2.Name", "db-cluster-endpoint-id"),
            ("Filters.Filter.2.Values.Value.1", "orders"),
        ];
        let call = QueryCall {
            action: "DescribeDBClusterEndpoints".to_owned(),
            service: "rds".to_owned(),
            region: "us-east-1".to_owned(),
            params: params
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
        };
        assert_eq!(
            filters(&call),
            [
                (
                    "db-cluster-endpoint-type".to_owned(),
                    vec!["reader".to_owned(), "custom".to_owned()]
                ),
                (
                    "db-cluster-endpoint-id".to_owned(),
                    vec!["orders".to_owned()]
                ),
            ]
        );
    }
}
