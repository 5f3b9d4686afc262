//! JSON-protocol calls (`X-Amz-Target: AmazonSSM.DescribeInstanceInformation`, …): denied
//! actions answer `AccessDeniedException`; SSM `DescribeInstanceInformation`, which moto lacks,
//! lists the instances whose SSM agent the seed made "online"; the session calls go to the fake
//! Session Manager (`../ssm_fake/api.rs`). The rest goes to moto.

use std::time::{SystemTime, UNIX_EPOCH};

use hyper::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::query::CALLER_ARN;
use super::state::{SsmManagedInstance, lock};
use super::{Ctx, FrontRequest, FrontResponse, bad_gateway, response, with_header};
use crate::aws::{ACCOUNT_ID, DEFAULT_REGION, ids};

/// The JSON 1.1 content type SSM speaks.
const JSON_1_1: &str = "application/x-amz-json-1.1";
/// `MaxResults` bounds of `DescribeInstanceInformation` (the API's, for EC2 compatibility).
const MIN_RESULTS: usize = 5;
const MAX_RESULTS: usize = 50;

/// Answers a JSON-protocol call with target `target` (`<Prefix>.<Action>`).
pub(crate) async fn handle(ctx: &Ctx, request: &FrontRequest, target: &str) -> FrontResponse {
    let action = target.rsplit_once('.').map_or(target, |(_, action)| action);
    let (region, service) = request.signing_scope().unwrap_or_else(|| {
        let service = if target.starts_with("AmazonSSM.") {
            "ssm"
        } else {
            ""
        };
        (DEFAULT_REGION.to_owned(), service.to_owned())
    });
    if lock(&ctx.state).is_denied(&service, action) {
        let message = format!(
            "User: {CALLER_ARN} is not authorized to perform: {service}:{action} on resource: \
             arn:aws:{service}:{region}:{ACCOUNT_ID}:* because no identity-based policy allows \
             the {service}:{action} action"
        );
        return json_error(StatusCode::BAD_REQUEST, "AccessDeniedException", &message);
    }
    if target.starts_with("AmazonSSM.") {
        let answer = crate::aws::ssm_fake::api::handle(
            &mut lock(&ctx.state),
            action,
            &region,
            &request.body,
        );
        match answer {
            Some(Ok(body)) => {
                return with_header(
                    response(StatusCode::OK, JSON_1_1, body.to_string()),
                    "x-amzn-requestid",
                    &ids::request_id(),
                );
            }
            Some(Err(error)) => {
                return json_error(StatusCode::BAD_REQUEST, error.error_type, &error.message);
            }
            None => {}
        }
    }
    if target == "AmazonSSM.DescribeInstanceInformation" {
        let instances: Vec<SsmManagedInstance> = lock(&ctx.state)
            .ssm_instances
            .iter()
            .filter(|instance| instance.region == region)
            .cloned()
            .collect();
        return describe_instance_information(&request.body, &instances);
    }
    match ctx.forward(request).await {
        Ok(moto) => moto.into_response(),
        Err(err) => bad_gateway(&err),
    }
}

/// An AWS JSON-protocol error.
pub(crate) fn json_error(status: StatusCode, error_type: &str, message: &str) -> FrontResponse {
    let request_id = ids::request_id();
    let body = json!({ "__type": error_type, "message": message }).to_string();
    with_header(
        response(status, JSON_1_1, body),
        "x-amzn-requestid",
        &request_id,
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DescribeRequest {
    #[serde(rename = "InstanceInformationFilterList")]
    old_filters: Vec<OldFilter>,
    #[serde(rename = "Filters")]
    filters: Vec<StringFilter>,
    #[serde(rename = "MaxResults")]
    max_results: Option<usize>,
    #[serde(rename = "NextToken")]
    next_token: Option<String>,
}

#[derive(Deserialize)]
struct OldFilter {
    key: String,
    #[serde(rename = "valueSet")]
    values: Vec<String>,
}

#[derive(Deserialize)]
struct StringFilter {
    #[serde(rename = "Key")]
    key: String,
    #[serde(rename = "Values")]
    values: Vec<String>,
}

fn describe_instance_information(body: &[u8], instances: &[SsmManagedInstance]) -> FrontResponse {
    let request: DescribeRequest = if body.iter().all(u8::is_ascii_whitespace) {
        DescribeRequest::default()
    } else {
        match serde_json::from_slice(body) {
            Ok(request) => request,
            Err(err) => {
                return json_error(
                    StatusCode::BAD_REQUEST,
                    "SerializationException",
                    &format!("invalid request body: {err}"),
                );
            }
        }
    };
    let max_results = request.max_results.unwrap_or(MAX_RESULTS);
    if !(MIN_RESULTS..=MAX_RESULTS).contains(&max_results) {
        return json_error(
            StatusCode::BAD_REQUEST,
            "ValidationException",
            &format!(
                "1 validation error detected: Value '{max_results}' at 'maxResults' failed to \
                 satisfy constraint: Member must have value between {MIN_RESULTS} and {MAX_RESULTS}"
            ),
        );
    }
    let offset = match request.next_token.as_deref().map(str::parse::<usize>) {
        None => 0,
        Some(Ok(offset)) => offset,
        Some(Err(_)) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                "InvalidNextToken",
                "The specified token isn't valid.",
            );
        }
    };
    let filters: Vec<(&str, &[String])> = request
        .old_filters
        .iter()
        .map(|filter| (filter.key.as_str(), filter.values.as_slice()))
        .chain(
            request
                .filters
                .iter()
                .map(|filter| (filter.key.as_str(), filter.values.as_slice())),
        )
        .collect();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |elapsed| elapsed.as_secs_f64().floor());
    let matching: Vec<Value> = instances
        .iter()
        .map(|instance| information(instance, now))
        .filter(|info| {
            filters
                .iter()
                .all(|(key, values)| matches(info, key, values))
        })
        .collect();
    let end = matching.len().min(offset.saturating_add(max_results));
    let mut answer = json!({
        "InstanceInformationList": matching.get(offset..end).unwrap_or_default(),
    });
    if end < matching.len() {
        answer["NextToken"] = Value::String(end.to_string());
    }
    let request_id = ids::request_id();
    with_header(
        response(StatusCode::OK, JSON_1_1, answer.to_string()),
        "x-amzn-requestid",
        &request_id,
    )
}

/// What SSM reports for an EC2 instance with a current agent (timestamps: epoch seconds).
fn information(instance: &SsmManagedInstance, now: f64) -> Value {
    json!({
        "InstanceId": instance.instance_id,
        "PingStatus": "Online",
        "LastPingDateTime": now,
        "AgentVersion": "3.3.1142.0",
        "IsLatestVersion": false,
        "PlatformType": "Linux",
        "PlatformName": "Amazon Linux",
        "PlatformVersion": "2023",
        "ResourceType": "EC2Instance",
        "IPAddress": instance.ip_address,
        "ComputerName": instance.computer_name,
        "SourceId": instance.instance_id,
        "SourceType": "AWS::EC2::Instance",
    })
}

/// Filter keys of both filter styles; keys we do not model (tags, associations) match all.
fn matches(info: &Value, key: &str, values: &[String]) -> bool {
    let field = match key {
        "InstanceIds" => "InstanceId",
        "PingStatus" => "PingStatus",
        "PlatformTypes" | "PlatformType" => "PlatformType",
        "ResourceType" => "ResourceType",
        "AgentVersion" => "AgentVersion",
        _ => return true,
    };
    info[field]
        .as_str()
        .is_some_and(|actual| values.iter().any(|value| value == actual))
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt as _;

    use super::*;

    fn instance(id: &str) -> SsmManagedInstance {
        SsmManagedInstance {
            region: "us-east-1".to_owned(),
            instance_id: id.to_owned(),
            ip_address: "10.0.0.1".to_owned(),
            computer_name: "ip-10-0-0-1.ec2.internal".to_owned(),
        }
    }

    fn answer(body: &str, instances: &[SsmManagedInstance]) -> (StatusCode, Value) {
        let response = describe_instance_information(body.as_bytes(), instances);
        let status = response.status();
        let bytes = futures_body(response);
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    fn futures_body(response: FrontResponse) -> bytes::Bytes {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async { response.into_body().collect().await.unwrap().to_bytes() })
    }

    #[test]
    fn pages_and_filters() {
        let instances: Vec<_> = (0..7).map(|n| instance(&format!("i-{n}"))).collect();
        let (status, first) = answer(r#"{"MaxResults": 5}"#, &instances);
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            first["InstanceInformationList"].as_array().unwrap().len(),
            5
        );
        let next = first["NextToken"].as_str().unwrap();
        let (_, second) = answer(
            &format!(r#"{{"MaxResults":5,"NextToken":"{next}"}}"#),
            &instances,
        );
        assert_eq!(
            second["InstanceInformationList"].as_array().unwrap().len(),
            2
        );
        assert!(second.get("NextToken").is_none());

        let (_, filtered) = answer(
            r#"{"Filters":[{"Key":"InstanceIds","Values":["i-3"]}]}"#,
            &instances,
        );
        assert_eq!(filtered["InstanceInformationList"][0]["InstanceId"], "i-3");
        assert_eq!(
            filtered["InstanceInformationList"]
                .as_array()
                .unwrap()
                .len(),
            1
        );

        let (status, error) = answer(r#"{"MaxResults": 2}"#, &instances);
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(error["__type"], "ValidationException");
        let (_, empty) = answer("", &[]);
        assert_eq!(empty["InstanceInformationList"], json!([]));
    }
}
