//! RDS `DescribeDBProxyEndpoints`, which moto 5.2.5 lacks (HTTP 500): each proxy moto knows
//! (asked live with `DescribeDBProxies`, so proxies a test creates show up too) has its default
//! endpoint, plus the custom endpoints in the front's state. Filters `DBProxyName` and
//! `DBProxyEndpointName`, pagination with `MaxRecords` and `Marker`.

use std::fmt::Write as _;

use hyper::StatusCode;
use sha2::{Digest as _, Sha256};

use super::query::{QueryCall, describe_all, error_response, invalid_parameter, page, paging};
use super::state::lock;
use super::{Ctx, FrontRequest, FrontResponse, bad_gateway, response, with_header};
use crate::aws::ids;
use crate::aws::xml::{Element, escape};

/// One proxy as moto describes it.
struct Proxy {
    name: String,
    arn: String,
    vpc_id: String,
    security_group_ids: Vec<String>,
    subnet_ids: Vec<String>,
    endpoint: String,
    created: String,
}

/// One row of the answer.
struct Endpoint<'a> {
    proxy: &'a Proxy,
    name: String,
    host: String,
    target_role: String,
    is_default: bool,
}

/// Answers `DescribeDBProxyEndpoints`.
pub(crate) async fn describe(ctx: &Ctx, request: &FrontRequest, call: &QueryCall) -> FrontResponse {
    let (max_records, offset) = match paging(call, 1) {
        Ok(paging) => paging,
        Err(message) => return invalid_parameter(&message),
    };
    let name = call.param("DBProxyName").map(|name| ("DBProxyName", name));
    let params: Vec<_> = name.into_iter().collect();
    let proxies = match describe_all(ctx, request, "DescribeDBProxies", &params, "DBProxies").await
    {
        Ok(Ok(members)) => members.iter().map(proxy_of).collect::<Vec<_>>(),
        // moto's own error (DBProxyNotFoundFault for an unknown name) is the right answer.
        Ok(Err(moto_error)) => return moto_error,
        Err(err) => return bad_gateway(&err),
    };
    let mut endpoints = Vec::new();
    {
        let state = lock(&ctx.state);
        for proxy in &proxies {
            endpoints.push(Endpoint {
                proxy,
                name: proxy.name.clone(),
                host: proxy.endpoint.clone(),
                target_role: "READ_WRITE".to_owned(),
                is_default: true,
            });
            let custom = state
                .proxy_endpoints
                .iter()
                .filter(|custom| custom.region == call.region && custom.proxy_name == proxy.name);
            for custom in custom {
                endpoints.push(Endpoint {
                    proxy,
                    name: custom.name.clone(),
                    host: custom_endpoint_host(&proxy.endpoint, &custom.name),
                    target_role: custom.target_role.clone(),
                    is_default: false,
                });
            }
        }
    }
    if let Some(wanted) = call.param("DBProxyEndpointName") {
        endpoints.retain(|endpoint| endpoint.name == wanted);
        if endpoints.is_empty() {
            return error_response(
                StatusCode::NOT_FOUND,
                "rds",
                "Sender",
                "DBProxyEndpointNotFoundFault",
                &format!("The DB proxy endpoint {wanted} doesn't exist."),
            );
        }
    }
    let (page, next_marker) = page(&endpoints, max_records, offset);
    answer(&call.region, page, next_marker.as_deref())
}

/// The host name AWS gives a custom endpoint: `<name>.endpoint.proxy-<id>.<region>…`, with the
/// proxy's id taken from its default endpoint (moto: `<proxy>.db-proxy-<id>.<region>…`).
pub(crate) fn custom_endpoint_host(default_endpoint: &str, endpoint_name: &str) -> String {
    let mut labels = default_endpoint.splitn(3, '.');
    let _proxy_name = labels.next();
    let id_label = labels.next().unwrap_or_default();
    let id = id_label
        .strip_prefix("db-proxy-")
        .or_else(|| id_label.strip_prefix("proxy-"))
        .unwrap_or(id_label);
    let domain = labels.next().unwrap_or("us-east-1.rds.amazonaws.com");
    format!("{endpoint_name}.endpoint.proxy-{id}.{domain}")
}

fn proxy_of(member: &Element) -> Proxy {
    Proxy {
        name: member.child_text("DBProxyName").to_owned(),
        arn: member.child_text("DBProxyArn").to_owned(),
        vpc_id: member.child_text("VpcId").to_owned(),
        security_group_ids: member.string_list("VpcSecurityGroupIds"),
        subnet_ids: member.string_list("VpcSubnetIds"),
        endpoint: member.child_text("Endpoint").to_owned(),
        created: member.child_text("CreatedDate").to_owned(),
    }
}

fn answer(region: &str, page: &[Endpoint<'_>], marker: Option<&str>) -> FrontResponse {
    let mut members = String::new();
    for endpoint in page {
        let proxy = endpoint.proxy;
        let account = proxy
            .arn
            .split(':')
            .nth(4)
            .unwrap_or(crate::aws::ACCOUNT_ID);
        let arn = format!(
            "arn:aws:rds:{region}:{account}:db-proxy-endpoint:prx-endpoint-{}",
            endpoint_id(&proxy.arn, &endpoint.name)
        );
        let list = |ids: &[String]| -> String {
            ids.iter().fold(String::new(), |mut out, id| {
                // Writing to a String cannot fail.
                _ = write!(out, "<member>{}</member>", escape(id));
                out
            })
        };
        // Writing to a String cannot fail.
        _ = write!(
            members,
            "\n      <member>\n        <DBProxyEndpointName>{}</DBProxyEndpointName>\n        \
             <DBProxyEndpointArn>{}</DBProxyEndpointArn>\n        \
             <DBProxyName>{}</DBProxyName>\n        <Status>available</Status>\n        \
             <VpcId>{}</VpcId>\n        <VpcSecurityGroupIds>{}</VpcSecurityGroupIds>\n        \
             <VpcSubnetIds>{}</VpcSubnetIds>\n        <Endpoint>{}</Endpoint>\n        \
             <CreatedDate>{}</CreatedDate>\n        <TargetRole>{}</TargetRole>\n        \
             <IsDefault>{}</IsDefault>\n      </member>",
            escape(&endpoint.name),
            escape(&arn),
            escape(&proxy.name),
            escape(&proxy.vpc_id),
            list(&proxy.security_group_ids),
            list(&proxy.subnet_ids),
            escape(&endpoint.host),
            escape(&proxy.created),
            escape(&endpoint.target_role),
            endpoint.is_default,
        );
    }
    let marker = marker.map_or_else(String::new, |marker| {
        format!("\n    <Marker>{}</Marker>", escape(marker))
    });
    let request_id = ids::request_id();
    let body = format!(
        "<DescribeDBProxyEndpointsResponse xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\">\n  \
         <DescribeDBProxyEndpointsResult>\n    <DBProxyEndpoints>{members}\n    \
         </DBProxyEndpoints>{marker}\n  </DescribeDBProxyEndpointsResult>\n  \
         <ResponseMetadata>\n    <RequestId>{request_id}</RequestId>\n  </ResponseMetadata>\n\
         </DescribeDBProxyEndpointsResponse>\n"
    );
    with_header(
        response(StatusCode::OK, "text/xml", body),
        "x-amzn-requestid",
        &request_id,
    )
}

/// 17 lowercase characters, stable per proxy and endpoint name, like AWS's endpoint ids.
fn endpoint_id(proxy_arn: &str, endpoint_name: &str) -> String {
    let digest = Sha256::digest(format!("{proxy_arn}/{endpoint_name}"));
    let mut hex = digest.iter().take(9).fold(String::new(), |mut out, byte| {
        // Writing to a String cannot fail.
        _ = write!(out, "{byte:02x}");
        out
    });
    hex.truncate(17);
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_endpoint_hosts_follow_aws_naming() {
        assert_eq!(
            custom_endpoint_host(
                "sandbox-proxy.db-proxy-3hze3mf9qxcj.us-east-1.rds.amazonaws.com",
                "sandbox-proxy-ro"
            ),
            "sandbox-proxy-ro.endpoint.proxy-3hze3mf9qxcj.us-east-1.rds.amazonaws.com"
        );
        assert_eq!(endpoint_id("arn", "x").len(), 17);
        assert_eq!(endpoint_id("arn", "x"), endpoint_id("arn", "x"));
    }
}
