//! Query-protocol calls (RDS, EC2, IAM, STS: form-encoded `Action=…`): denied actions answer
//! `AccessDenied` as AWS does, RDS `DescribeDBProxyEndpoints` and `DescribeDBClusterEndpoints`
//! are served here (with [`describe_all`] asking moto what exists), and RDS responses get a
//! distinct `DbiResourceId` per instance. IAM `SimulatePrincipalPolicy` is served by
//! `iam_simulation.rs`, and STS `GetCallerIdentity` names moto's user with its IAM ARN. The rest
//! goes to moto unchanged.

use bytes::Bytes;
use hyper::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use hyper::{Method, StatusCode};

use super::state::lock;
use super::{
    Ctx, FrontRequest, FrontResponse, bad_gateway, cluster_endpoints, iam_simulation,
    proxy_endpoints, response, with_header,
};
use crate::aws::ids::{self, MOTO_DBI_RESOURCE_ID, dbi_resource_id};
use crate::aws::xml::{self, Element, escape};
use crate::aws::{ACCOUNT_ID, DEFAULT_REGION};

/// The caller every `AccessDenied` names: moto's identity for any access key.
pub(crate) const CALLER_ARN: &str = "arn:aws:iam::123456789012:user/moto";
/// What moto itself answers `GetCallerIdentity` with for a key it did not issue.
const MOTO_CALLER_ARN: &str = "arn:aws:sts::123456789012:user/moto";

/// One query-protocol call.
pub(crate) struct QueryCall {
    pub(crate) action: String,
    /// The `SigV4` signing name (`rds`, `ec2`, …), else guessed from `Version`.
    pub(crate) service: String,
    pub(crate) region: String,
    /// Query string and form body parameters, in order.
    pub(crate) params: Vec<(String, String)>,
}

impl QueryCall {
    /// The call in `request`, if it has an `Action` (in the form body or the query string).
    pub(crate) fn parse(request: &FrontRequest) -> Option<Self> {
        let mut params = request.query_params();
        let is_form = request
            .header("content-type")
            .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
        if is_form {
            params.extend(form_urlencoded::parse(&request.body).into_owned());
        }
        let action = params
            .iter()
            .find(|(name, _)| name == "Action")
            .map(|(_, value)| value.clone())?;
        let (region, service) = request.signing_scope().unwrap_or_else(|| {
            let version = params
                .iter()
                .find(|(name, _)| name == "Version")
                .map_or("", |(_, value)| value.as_str());
            (
                DEFAULT_REGION.to_owned(),
                service_of_version(version).to_owned(),
            )
        });
        Some(Self {
            action,
            service,
            region,
            params,
        })
    }

    /// The first value of parameter `name`.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Services by API version, for unsigned calls (rare: `AssumeRoleWithWebIdentity`).
fn service_of_version(version: &str) -> &'static str {
    match version {
        "2014-10-31" => "rds",
        "2016-11-15" => "ec2",
        "2010-05-08" => "iam",
        "2011-06-15" => "sts",
        _ => "",
    }
}

/// Answers a query-protocol call.
pub(crate) async fn handle(ctx: &Ctx, request: &FrontRequest, call: &QueryCall) -> FrontResponse {
    if lock(&ctx.state).is_denied(&call.service, &call.action) {
        return access_denied(call);
    }
    if call.service == "iam" && call.action == "SimulatePrincipalPolicy" {
        return iam_simulation::simulate(ctx, request, call).await;
    }
    if call.service == "rds" {
        match call.action.as_str() {
            "DescribeDBProxyEndpoints" => {
                return proxy_endpoints::describe(ctx, request, call).await;
            }
            "DescribeDBClusterEndpoints" => {
                return cluster_endpoints::describe(ctx, request, call).await;
            }
            _ => {}
        }
    }
    match ctx.forward(request).await {
        Ok(mut moto) => {
            if call.service == "rds"
                && let Some(body) = std::str::from_utf8(&moto.body)
                    .ok()
                    .and_then(rewrite_dbi_resource_ids)
            {
                moto.body = body.into();
            }
            if call.service == "sts"
                && call.action == "GetCallerIdentity"
                && let Ok(body) = std::str::from_utf8(&moto.body)
            {
                // moto names its default caller `arn:aws:sts::…:user/moto`; STS names an IAM user
                // with its IAM ARN, which is also what every AccessDenied here says.
                moto.body = body.replace(MOTO_CALLER_ARN, CALLER_ARN).into();
            }
            moto.into_response()
        }
        Err(err) => bad_gateway(&err),
    }
}

/// An RDS-style error response (`<ErrorResponse>`), as RDS, IAM and STS send.
pub(crate) fn error_response(
    status: StatusCode,
    service: &str,
    fault: &str,
    code: &str,
    message: &str,
) -> FrontResponse {
    let request_id = ids::request_id();
    let namespace = match service {
        "iam" => "https://iam.amazonaws.com/doc/2010-05-08/",
        "sts" => "https://sts.amazonaws.com/doc/2011-06-15/",
        _ => "http://rds.amazonaws.com/doc/2014-10-31/",
    };
    let body = format!(
        "<ErrorResponse xmlns=\"{namespace}\">\n  <Error>\n    <Type>{fault}</Type>\n    \
         <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  \
         <RequestId>{request_id}</RequestId>\n</ErrorResponse>\n",
        escape(code),
        escape(message)
    );
    with_header(
        response(status, "text/xml", body),
        "x-amzn-requestid",
        &request_id,
    )
}

/// RDS's `InvalidParameterValue` (HTTP 400).
pub(crate) fn invalid_parameter(message: &str) -> FrontResponse {
    error_response(
        StatusCode::BAD_REQUEST,
        "rds",
        "Sender",
        "InvalidParameterValue",
        message,
    )
}

/// `MaxRecords` when the caller gives none: the default and maximum of RDS's describe calls.
const DEFAULT_MAX_RECORDS: usize = 100;

/// `(MaxRecords, offset)` of a describe call the front serves, its `Marker` being the offset of
/// the page; `MaxRecords` must be `min_records..=100` (RDS: 20 for most calls). `Err` is the
/// message of RDS's `InvalidParameterValue` answer ([`invalid_parameter`]).
pub(crate) fn paging(call: &QueryCall, min_records: usize) -> Result<(usize, usize), String> {
    let max_records = match call.param("MaxRecords").map(str::parse::<usize>) {
        None => DEFAULT_MAX_RECORDS,
        Some(Ok(max)) if (min_records..=DEFAULT_MAX_RECORDS).contains(&max) => max,
        Some(_) => {
            return Err(format!(
                "MaxRecords must be between {min_records} and {DEFAULT_MAX_RECORDS}"
            ));
        }
    };
    match call.param("Marker").map(str::parse::<usize>) {
        None => Ok((max_records, 0)),
        Some(Ok(offset)) => Ok((max_records, offset)),
        Some(Err(_)) => Err("The marker is not valid".to_owned()),
    }
}

/// The page of `items` from `offset`, and the `Marker` of the next one if there is more.
pub(crate) fn page<T>(items: &[T], max_records: usize, offset: usize) -> (&[T], Option<String>) {
    let end = items.len().min(offset.saturating_add(max_records));
    let next_marker = (end < items.len()).then(|| end.to_string());
    (items.get(offset..end).unwrap_or_default(), next_marker)
}

/// Every member of the list `list` in moto's answer to the query-protocol `action` (`params`
/// narrow it), following its `Marker` pages. Sent with the caller's signature headers: their
/// credential scope carries the region moto must use (moto checks nothing else). `Ok(Err(…))` is
/// moto's error answer (`DBClusterNotFoundFault` for an unknown name and the like), to pass on.
pub(crate) async fn describe_all(
    ctx: &Ctx,
    request: &FrontRequest,
    action: &str,
    params: &[(&str, &str)],
    list: &str,
) -> anyhow::Result<Result<Vec<Element>, FrontResponse>> {
    let mut headers = HeaderMap::new();
    for header in ["authorization", "x-amz-date", "x-amz-security-token"] {
        if let Some(value) = request.headers.get(header) {
            headers.insert(header, value.clone());
        }
    }
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"),
    );
    let result_name = format!("{action}Result");
    let mut members = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let body = Bytes::from(describe_form(action, params, marker.as_deref()));
        let moto = ctx.call_moto(Method::POST, "/", &headers, body).await?;
        if !moto.status.is_success() {
            return Ok(Err(moto.into_response()));
        }
        let text = std::str::from_utf8(&moto.body)?;
        let document = xml::parse(text)?;
        let result = document
            .child(&result_name)
            .ok_or_else(|| anyhow::anyhow!("moto's {action} answer has no result: {text}"))?;
        if let Some(list) = result.child(list) {
            members.extend(list.children.iter().cloned());
        }
        marker = Some(result.child_text("Marker").to_owned()).filter(|next| !next.is_empty());
        if marker.is_none() {
            return Ok(Ok(members));
        }
    }
}

/// The form of one page of `action` (not held across an `await`: the serializer is not `Send`).
fn describe_form(action: &str, params: &[(&str, &str)], marker: Option<&str>) -> String {
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("Action", action)
        .append_pair("Version", "2014-10-31")
        .append_pair("MaxRecords", "100");
    for (name, value) in params {
        form.append_pair(name, value);
    }
    if let Some(marker) = marker {
        form.append_pair("Marker", marker);
    }
    form.finish()
}

/// `AccessDenied` as AWS words it for a caller without an allowing policy.
fn access_denied(call: &QueryCall) -> FrontResponse {
    let (service, action, region) = (&call.service, &call.action, &call.region);
    let permission = format!("{service}:{action}");
    if service == "ec2" {
        let request_id = ids::request_id();
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error>\
             <Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this \
             operation. User: {CALLER_ARN} is not authorized to perform: {permission} because no \
             identity-based policy allows the {permission} action</Message></Error></Errors>\
             <RequestID>{request_id}</RequestID></Response>"
        );
        return response(StatusCode::FORBIDDEN, "text/xml;charset=UTF-8", body);
    }
    let message = format!(
        "User: {CALLER_ARN} is not authorized to perform: {permission} on resource: \
         arn:aws:{service}:{region}:{ACCOUNT_ID}:* because no identity-based policy allows the \
         {permission} action"
    );
    error_response(
        StatusCode::FORBIDDEN,
        service,
        "Sender",
        "AccessDenied",
        &message,
    )
}

/// Gives each `<DBInstance>` its own `DbiResourceId` in place of moto's constant one, derived
/// from its `DBInstanceIdentifier`; every other byte stays. `None` when there is nothing to do.
pub(crate) fn rewrite_dbi_resource_ids(body: &str) -> Option<String> {
    const OPEN: &str = "<DBInstance>";
    const CLOSE: &str = "</DBInstance>";
    if !body.contains(MOTO_DBI_RESOURCE_ID) {
        return None;
    }
    let moto_element = format!("<DbiResourceId>{MOTO_DBI_RESOURCE_ID}</DbiResourceId>");
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(start) = rest.find(OPEN) {
        let Some(length) = rest[start..].find(CLOSE) else {
            break;
        };
        let end = start + length + CLOSE.len();
        out.push_str(&rest[..start]);
        let block = &rest[start..end];
        match element_text(block, "DBInstanceIdentifier") {
            Some(identifier) => {
                let ours = format!(
                    "<DbiResourceId>{}</DbiResourceId>",
                    dbi_resource_id(identifier)
                );
                out.push_str(&block.replacen(&moto_element, &ours, 1));
            }
            None => out.push_str(block),
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    Some(out)
}

/// The text of the first `<name>…</name>` in `xml` (exact tag, no attributes).
fn element_text<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let length = xml[start..].find(&format!("</{name}>"))?;
    Some(&xml[start..start + length])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_each_instance_and_nothing_else() {
        let moto = MOTO_DBI_RESOURCE_ID;
        let body = format!(
            "<R><DBInstances><DBInstance><DBInstanceIdentifier>a</DBInstanceIdentifier>\
             <ReadReplicaSourceDBInstanceIdentifier>x</ReadReplicaSourceDBInstanceIdentifier>\
             <DbiResourceId>{moto}</DbiResourceId></DBInstance>\n<DBInstance>\
             <DBInstanceIdentifier>b</DBInstanceIdentifier><DbiResourceId>{moto}</DbiResourceId>\
             </DBInstance></DBInstances><Other>{moto}</Other></R>"
        );
        let rewritten = rewrite_dbi_resource_ids(&body).unwrap();
        let (a, b) = (dbi_resource_id("a"), dbi_resource_id("b"));
        assert_eq!(
            rewritten,
            body.replacen(moto, &a, 1).replacen(
                &format!("<DbiResourceId>{moto}"),
                &format!("<DbiResourceId>{b}"),
                1
            )
        );
        assert_eq!(rewritten.len(), body.len());
        assert!(rewritten.ends_with(&format!("<Other>{moto}</Other></R>")));
        assert_eq!(rewrite_dbi_resource_ids("<R></R>"), None);
    }

    #[test]
    fn versions_name_services() {
        assert_eq!(service_of_version("2014-10-31"), "rds");
        assert_eq!(service_of_version("2099-01-01"), "");
    }
}
