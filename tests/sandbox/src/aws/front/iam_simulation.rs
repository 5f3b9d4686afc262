//! IAM `SimulatePrincipalPolicy`, which moto lacks: the front reads the account's users, groups,
//! roles and managed policies from moto (`GetAccountAuthorizationDetails`) and evaluates the
//! identity policies of the principal the way IAM does for identity policies alone — an explicit
//! `Deny` wins, else an `Allow` allows, else an implicit deny; actions match as case-insensitive
//! globs, resources as case-sensitive ones; a statement with a `Condition` that would decide is
//! reported through `MissingContextValues`, as the simulator does for keys it was not given.
//! The answer has today's shape: one result per action, its decision the most restrictive over
//! the resources, and per-resource `ResourceSpecificResults`.
//!
//! Not modelled: permissions boundaries, SCPs, session policies, policy variables, `NotPrincipal`.

use std::fmt::Write as _;

use bytes::Bytes;
use hyper::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use hyper::{Method, StatusCode};
use serde_json::Value;

use super::query::{QueryCall, error_response};
use super::{Ctx, FrontRequest, FrontResponse, bad_gateway, response, with_header};
use crate::aws::ids;
use crate::aws::xml::{self, Element, escape};

/// A statement of one of the principal's policies.
#[derive(Debug, Clone)]
struct Statement {
    /// `SourcePolicyId`: the inline policy's name or the managed policy's name.
    policy_id: String,
    /// `SourcePolicyType`: `user`, `group`, `role` or `user-managed`/`aws-managed`.
    policy_type: &'static str,
    allow: bool,
    actions: Patterns,
    resources: Patterns,
    /// Condition keys, when the statement has a `Condition`.
    condition_keys: Vec<String>,
}

/// `Action`/`Resource` (`include`) or `NotAction`/`NotResource` (`!include`).
#[derive(Debug, Clone)]
struct Patterns {
    include: bool,
    patterns: Vec<String>,
}

impl Patterns {
    fn matches(&self, value: &str, case_insensitive: bool) -> bool {
        let any = self.patterns.iter().any(|pattern| {
            if case_insensitive {
                glob(&pattern.to_ascii_lowercase(), &value.to_ascii_lowercase())
            } else {
                glob(pattern, value)
            }
        });
        any == self.include
    }
}

/// IAM's wildcard match: `*` any run of characters (including `:` and `/`), `?` one character.
fn glob(pattern: &str, value: &str) -> bool {
    let (pattern, value): (Vec<char>, Vec<char>) =
        (pattern.chars().collect(), value.chars().collect());
    let (mut p, mut v) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while v < value.len() {
        match pattern.get(p) {
            Some('*') => {
                backtrack = Some((p, v));
                p += 1;
            }
            Some(&c) if c == '?' || c == value[v] => {
                p += 1;
                v += 1;
            }
            _ => match backtrack {
                Some((star, at)) => {
                    p = star + 1;
                    v = at + 1;
                    backtrack = Some((star, at + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// Answers `SimulatePrincipalPolicy` from moto's IAM data.
pub(crate) async fn simulate(ctx: &Ctx, request: &FrontRequest, call: &QueryCall) -> FrontResponse {
    let Some(principal) = call.param("PolicySourceArn") else {
        return invalid_input("PolicySourceArn is required");
    };
    let actions = members(call, "ActionNames");
    let resources = members(call, "ResourceArns");
    if actions.is_empty() {
        return invalid_input("ActionNames is required");
    }
    let details = match authorization_details(ctx, request).await {
        Ok(details) => details,
        Err(err) => return bad_gateway(&err),
    };
    let Some(statements) = statements_of(&details, principal) else {
        return error_response(
            StatusCode::NOT_FOUND,
            "iam",
            "Sender",
            "NoSuchEntity",
            &format!("The principal {principal} cannot be found."),
        );
    };
    let resources = if resources.is_empty() {
        vec!["*".to_owned()]
    } else {
        resources
    };
    let results: String = actions
        .iter()
        .map(|action| evaluation_result(&statements, action, &resources))
        .collect();
    let request_id = ids::request_id();
    let body = format!(
        "<SimulatePrincipalPolicyResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\n\
         <SimulatePrincipalPolicyResult><IsTruncated>false</IsTruncated>\
         <EvaluationResults>{results}</EvaluationResults></SimulatePrincipalPolicyResult>\n\
         <ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>\n\
         </SimulatePrincipalPolicyResponse>\n"
    );
    with_header(
        response(StatusCode::OK, "text/xml", body),
        "x-amzn-requestid",
        &request_id,
    )
}

fn invalid_input(message: &str) -> FrontResponse {
    error_response(
        StatusCode::BAD_REQUEST,
        "iam",
        "Sender",
        "InvalidInput",
        message,
    )
}

/// `Name.member.1`, `Name.member.2`, … in order.
fn members(call: &QueryCall, name: &str) -> Vec<String> {
    let prefix = format!("{name}.member.");
    let mut numbered: Vec<(usize, String)> = call
        .params
        .iter()
        .filter_map(|(key, value)| {
            let index = key.strip_prefix(&prefix)?.parse().ok()?;
            Some((index, value.clone()))
        })
        .collect();
    numbered.sort_by_key(|(index, _)| *index);
    numbered.into_iter().map(|(_, value)| value).collect()
}

/// One `<member>` of `EvaluationResults` for `action`.
fn evaluation_result(statements: &[Statement], action: &str, resources: &[String]) -> String {
    let mut specific = String::new();
    let mut worst = "allowed";
    for resource in resources {
        let (decision, matched, missing) = decide(statements, action, resource);
        worst = match (worst, decision) {
            (_, "explicitDeny") | ("explicitDeny", _) => "explicitDeny",
            (_, "implicitDeny") | ("implicitDeny", _) => "implicitDeny",
            _ => "allowed",
        };
        // Writing to a String cannot fail.
        _ = write!(
            specific,
            "<member><EvalResourceName>{}</EvalResourceName>\
             <EvalResourceDecision>{decision}</EvalResourceDecision>\
             <MatchedStatements>{}</MatchedStatements>\
             <MissingContextValues>{}</MissingContextValues></member>",
            escape(resource),
            matched_xml(&matched),
            missing_xml(&missing)
        );
    }
    format!(
        "<member><EvalActionName>{}</EvalActionName><EvalDecision>{worst}</EvalDecision>\
         <MatchedStatements/><MissingContextValues/>\
         <ResourceSpecificResults>{specific}</ResourceSpecificResults></member>",
        escape(action)
    )
}

fn matched_xml(statements: &[&Statement]) -> String {
    statements.iter().fold(String::new(), |mut out, statement| {
        _ = write!(
            out,
            "<member><SourcePolicyId>{}</SourcePolicyId>\
             <SourcePolicyType>{}</SourcePolicyType></member>",
            escape(&statement.policy_id),
            statement.policy_type
        );
        out
    })
}

fn missing_xml(keys: &[String]) -> String {
    keys.iter().fold(String::new(), |mut out, key| {
        _ = write!(out, "<member>{}</member>", escape(key));
        out
    })
}

/// The decision for one action on one resource, the deciding statements and missing keys.
fn decide<'a>(
    statements: &'a [Statement],
    action: &str,
    resource: &str,
) -> (&'static str, Vec<&'a Statement>, Vec<String>) {
    let matching: Vec<&Statement> = statements
        .iter()
        .filter(|statement| {
            statement.actions.matches(action, true) && statement.resources.matches(resource, false)
        })
        .collect();
    let missing = |chosen: &[&Statement]| {
        let mut keys: Vec<String> = chosen
            .iter()
            .flat_map(|statement| statement.condition_keys.iter().cloned())
            .collect();
        keys.sort();
        keys.dedup();
        keys
    };
    let denies: Vec<&Statement> = matching.iter().copied().filter(|s| !s.allow).collect();
    if denies
        .iter()
        .any(|statement| statement.condition_keys.is_empty())
    {
        let unconditional: Vec<&Statement> = denies
            .into_iter()
            .filter(|statement| statement.condition_keys.is_empty())
            .collect();
        return ("explicitDeny", unconditional, Vec::new());
    }
    let allows: Vec<&Statement> = matching.iter().copied().filter(|s| s.allow).collect();
    // Conditions are never given (no ContextEntries): like IAM, such a statement does not apply
    // and its keys come back as missing context.
    let mut keys = missing(&allows);
    keys.extend(missing(&denies));
    keys.sort();
    keys.dedup();
    let unconditional: Vec<&Statement> = allows
        .into_iter()
        .filter(|statement| statement.condition_keys.is_empty())
        .collect();
    if unconditional.is_empty() {
        ("implicitDeny", Vec::new(), keys)
    } else {
        ("allowed", unconditional, keys)
    }
}

/// moto's `GetAccountAuthorizationDetails`, every page, as the `Result` elements.
async fn authorization_details(ctx: &Ctx, request: &FrontRequest) -> anyhow::Result<Vec<Element>> {
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
    let mut pages = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let body = details_form(marker.as_deref());
        let moto = ctx
            .call_moto(Method::POST, "/", &headers, Bytes::from(body))
            .await?;
        let text = std::str::from_utf8(&moto.body)?;
        if !moto.status.is_success() {
            anyhow::bail!("moto's GetAccountAuthorizationDetails failed: {text}");
        }
        let result = xml::parse(text)?
            .child("GetAccountAuthorizationDetailsResult")
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("moto's answer has no result: {text}"))?;
        marker = (result.child_text("IsTruncated") == "true")
            .then(|| result.child_text("Marker").to_owned());
        pages.push(result);
        if marker.is_none() {
            return Ok(pages);
        }
    }
}

fn details_form(marker: Option<&str>) -> String {
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("Action", "GetAccountAuthorizationDetails")
        .append_pair("Version", "2010-05-08");
    if let Some(marker) = marker {
        form.append_pair("Marker", marker);
    }
    form.finish()
}

/// Every statement that applies to `principal` (a user or role ARN); `None` if it is unknown.
fn statements_of(pages: &[Element], principal: &str) -> Option<Vec<Statement>> {
    let list = |name: &str| -> Vec<&Element> {
        pages
            .iter()
            .filter_map(|page| page.child(name))
            .flat_map(|list| list.children.iter())
            .collect()
    };
    let managed = list("Policies");
    let mut out = Vec::new();
    let add_managed = |owner: &Element, out: &mut Vec<Statement>| {
        for attached in owner
            .child("AttachedManagedPolicies")
            .map(|list| list.children.as_slice())
            .unwrap_or_default()
        {
            let arn = attached.child_text("PolicyArn");
            let Some(policy) = managed
                .iter()
                .find(|policy| policy.child_text("Arn") == arn)
            else {
                continue;
            };
            let default = policy.child_text("DefaultVersionId");
            let document = policy
                .child("PolicyVersionList")
                .and_then(|versions| {
                    versions
                        .children
                        .iter()
                        .find(|version| version.child_text("VersionId") == default)
                })
                .map_or("", |version| version.child_text("Document"));
            let kind = if arn.starts_with("arn:aws:iam::aws:") {
                "aws-managed"
            } else {
                "user-managed"
            };
            out.extend(parse_document(
                policy.child_text("PolicyName"),
                kind,
                document,
            ));
        }
    };
    let inline =
        |owner: &Element, list_name: &str, kind: &'static str, out: &mut Vec<Statement>| {
            for policy in owner
                .child(list_name)
                .map(|list| list.children.as_slice())
                .unwrap_or_default()
            {
                out.extend(parse_document(
                    policy.child_text("PolicyName"),
                    kind,
                    policy.child_text("PolicyDocument"),
                ));
            }
        };
    if let Some(user) = list("UserDetailList")
        .into_iter()
        .find(|user| user.child_text("Arn") == principal)
    {
        inline(user, "UserPolicyList", "user", &mut out);
        add_managed(user, &mut out);
        let groups = user.string_list("GroupList");
        for group in list("GroupDetailList").into_iter().filter(|group| {
            groups
                .iter()
                .any(|name| name == group.child_text("GroupName"))
        }) {
            inline(group, "GroupPolicyList", "group", &mut out);
            add_managed(group, &mut out);
        }
        return Some(out);
    }
    let role = list("RoleDetailList")
        .into_iter()
        .find(|role| role.child_text("Arn") == principal)?;
    inline(role, "RolePolicyList", "role", &mut out);
    add_managed(role, &mut out);
    Some(out)
}

/// The statements of a policy document (URL-encoded JSON as IAM returns it, or plain JSON).
fn parse_document(policy_id: &str, kind: &'static str, document: &str) -> Vec<Statement> {
    let decoded = if document.trim_start().starts_with('{') {
        document.to_owned()
    } else {
        percent_decode(document)
    };
    let Ok(json) = serde_json::from_str::<Value>(&decoded) else {
        return Vec::new();
    };
    let statements = match json.get("Statement") {
        Some(Value::Array(items)) => items.clone(),
        Some(item @ Value::Object(_)) => vec![item.clone()],
        _ => Vec::new(),
    };
    statements
        .iter()
        .filter_map(|statement| {
            let strings = |name: &str| match statement.get(name) {
                Some(Value::String(one)) => Some(vec![one.clone()]),
                Some(Value::Array(many)) => Some(
                    many.iter()
                        .filter_map(|item| item.as_str().map(str::to_owned))
                        .collect(),
                ),
                _ => None,
            };
            let either = |positive: &str, negative: &str| {
                strings(positive)
                    .map(|patterns| Patterns {
                        include: true,
                        patterns,
                    })
                    .or_else(|| {
                        strings(negative).map(|patterns| Patterns {
                            include: false,
                            patterns,
                        })
                    })
            };
            let condition_keys = statement
                .get("Condition")
                .and_then(Value::as_object)
                .map(|operators| {
                    operators
                        .values()
                        .filter_map(Value::as_object)
                        .flat_map(|keys| keys.keys().cloned())
                        .collect()
                })
                .unwrap_or_default();
            Some(Statement {
                policy_id: policy_id.to_owned(),
                policy_type: kind,
                allow: match statement.get("Effect")?.as_str()? {
                    "Allow" => true,
                    "Deny" => false,
                    _ => return None,
                },
                actions: either("Action", "NotAction")?,
                resources: either("Resource", "NotResource")?,
                condition_keys,
            })
        })
        .collect()
}

/// RFC 3986 percent-decoding (`+` stays `+`).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let hex = bytes
            .get(index + 1..index + 3)
            .and_then(|pair| std::str::from_utf8(pair).ok())
            .and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match (bytes[index], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                index += 3;
            }
            (byte, _) => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_as_iam_does() {
        assert!(glob("rds-db:*", "rds-db:connect"));
        assert!(glob("rds-db:?onnect", "rds-db:connect"));
        assert!(glob(
            "arn:aws:rds-db:*:*:dbuser:*/admin",
            "arn:aws:rds-db:us-east-1:1:dbuser:db-A/admin"
        ));
        assert!(!glob(
            "arn:aws:rds-db:*:*:dbuser:*/admin",
            "arn:aws:rds-db:us-east-1:1:dbuser:db-A/app"
        ));
        assert!(glob("*", ""));
        assert!(!glob("a", "ab"));
    }

    fn statements(document: &str) -> Vec<Statement> {
        parse_document(
            "p",
            "user",
            &document.replace('{', "%7B").replace('"', "%22"),
        )
    }

    #[test]
    fn deny_beats_allow_and_conditions_are_missing_context() {
        let resource = "arn:aws:rds-db:us-east-1:1:dbuser:db-A/admin";
        let policy = statements(
            r#"{"Version":"2012-10-17","Statement":[
                {"Effect":"Allow","Action":"rds-db:connect","Resource":"*"},
                {"Effect":"Deny","Action":"RDS-DB:*","Resource":"arn:aws:rds-db:*:*:dbuser:*/admin"}]}"#,
        );
        assert_eq!(
            decide(&policy, "rds-db:connect", resource).0,
            "explicitDeny"
        );
        assert_eq!(decide(&policy, "rds-db:connect", "arn:x/app").0, "allowed");
        assert_eq!(
            decide(&policy, "s3:GetObject", "arn:x/app").0,
            "implicitDeny"
        );

        let conditional = statements(
            r#"{"Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*",
                "Condition":{"StringEquals":{"aws:ResourceTag/env":"dev"}}}}"#,
        );
        let (decision, matched, missing) = decide(&conditional, "rds-db:connect", resource);
        assert_eq!((decision, matched.len()), ("implicitDeny", 0));
        assert_eq!(missing, ["aws:ResourceTag/env"]);
        assert_eq!(decide(&conditional, "iam:GetRole", "*").0, "implicitDeny");
    }
}
