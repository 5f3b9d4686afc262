//! IAM Identity Center over HTTP, in the shapes of the SSO OIDC and SSO portal models (REST-JSON;
//! both reached at the profile's `endpoint_url`): `RegisterClient`, `StartDeviceAuthorization`,
//! `CreateToken`, `GetRoleCredentials`, `ListAccounts`, `ListAccountRoles`, `Logout`, plus the
//! device page a person opens at `verificationUriComplete` to approve a code.
//!
//! Errors carry `x-amzn-ErrorType`, which is how the Rust SDK (and botocore) tell REST-JSON
//! errors apart; the body has the model's members (`error`/`error_description` for OIDC,
//! `message` for the portal).

use std::time::{SystemTime, UNIX_EPOCH};

use hyper::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::state::lock;
use super::{Ctx, FrontRequest, FrontResponse, response, with_header};
use crate::aws::identity_center::{DEVICE_CODE_LIFETIME_SECS, OidcError, TokenRequest};
use crate::aws::xml::escape;
use crate::aws::{ACCOUNT_ID, ids};

/// The one account the portal offers.
const ACCOUNT_NAME: &str = "sandbox";
/// Roles the portal offers in it.
pub(crate) const SSO_ROLES: [&str; 2] = ["SandboxAdmin", "SandboxReadOnly"];
/// Lifetime of role credentials (AWS: the permission set's session duration, 1 h by default).
const ROLE_CREDENTIALS_LIFETIME_SECS: u64 = 3600;

/// Answers Identity Center paths; `None` for every other request.
pub(crate) fn handle(ctx: &Ctx, request: &FrontRequest) -> Option<(&'static str, FrontResponse)> {
    let path = request.uri.path();
    let (operation, response) = match (&request.method, path) {
        (&Method::POST, "/client/register") => ("sso-oidc:RegisterClient", register_client(ctx)),
        (&Method::POST, "/device_authorization") => (
            "sso-oidc:StartDeviceAuthorization",
            start_device_authorization(ctx, request),
        ),
        (&Method::POST, "/token") => ("sso-oidc:CreateToken", create_token(ctx, request)),
        (&Method::GET, "/federation/credentials") => {
            ("sso:GetRoleCredentials", get_role_credentials(ctx, request))
        }
        (&Method::GET, "/assignment/accounts") => ("sso:ListAccounts", list_accounts(ctx, request)),
        (&Method::GET, "/assignment/roles") => ("sso:ListAccountRoles", list_roles(ctx, request)),
        (&Method::POST, "/logout") => ("sso:Logout", logout(ctx, request)),
        (&Method::GET | &Method::POST, "/device") => ("sso:DevicePage", device_page(ctx, request)),
        (&Method::GET, "/start") => ("sso:StartPage", start_page()),
        _ => return None,
    };
    Some((operation, response))
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

fn json_ok(value: &Value) -> FrontResponse {
    with_header(
        response(StatusCode::OK, "application/json", value.to_string()),
        "x-amzn-requestid",
        &ids::request_id(),
    )
}

/// A REST-JSON error: status, `x-amzn-ErrorType`, and `body`.
fn rest_error(status: StatusCode, error_type: &str, body: &Value) -> FrontResponse {
    let response = response(status, "application/json", body.to_string());
    let response = with_header(response, "x-amzn-errortype", error_type);
    with_header(response, "x-amzn-requestid", &ids::request_id())
}

fn oidc_error(error: OidcError) -> FrontResponse {
    let (status, error_type, code, description) = match error {
        OidcError::InvalidClient => (
            StatusCode::UNAUTHORIZED,
            "InvalidClientException",
            "invalid_client",
            "Invalid client id or secret, or the registration expired",
        ),
        OidcError::InvalidGrant => (
            StatusCode::BAD_REQUEST,
            "InvalidGrantException",
            "invalid_grant",
            "Invalid grant provided",
        ),
        OidcError::AuthorizationPending => (
            StatusCode::BAD_REQUEST,
            "AuthorizationPendingException",
            "authorization_pending",
            "Authorization is still pending",
        ),
        OidcError::ExpiredToken => (
            StatusCode::BAD_REQUEST,
            "ExpiredTokenException",
            "expired_token",
            "The device code has expired",
        ),
        OidcError::UnsupportedGrantType => (
            StatusCode::BAD_REQUEST,
            "UnsupportedGrantTypeException",
            "unsupported_grant_type",
            "Unsupported grant type",
        ),
    };
    rest_error(
        status,
        error_type,
        &json!({ "error": code, "error_description": description }),
    )
}

fn invalid_request(description: &str) -> FrontResponse {
    rest_error(
        StatusCode::BAD_REQUEST,
        "InvalidRequestException",
        &json!({ "error": "invalid_request", "error_description": description }),
    )
}

fn register_client(ctx: &Ctx) -> FrontResponse {
    let now = now_secs();
    let (client_id, client_secret, expires_at) =
        lock(&ctx.state).identity_center.register_client(now);
    json_ok(&json!({
        "clientId": client_id,
        "clientSecret": client_secret,
        "clientIdIssuedAt": now,
        "clientSecretExpiresAt": expires_at,
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartRequest {
    client_id: String,
    client_secret: String,
}

fn start_device_authorization(ctx: &Ctx, request: &FrontRequest) -> FrontResponse {
    let Ok(body) = serde_json::from_slice::<StartRequest>(&request.body) else {
        return invalid_request("clientId and clientSecret are required");
    };
    let started = lock(&ctx.state).identity_center.start_device_authorization(
        &body.client_id,
        &body.client_secret,
        now_secs(),
    );
    match started {
        Ok((device_code, user_code)) => {
            let page = format!("{}/device", ctx.front_url);
            json_ok(&json!({
                "deviceCode": device_code,
                "userCode": user_code,
                "verificationUri": page,
                "verificationUriComplete": format!("{page}?user_code={user_code}"),
                "expiresIn": DEVICE_CODE_LIFETIME_SECS,
                "interval": 1,
            }))
        }
        Err(error) => oidc_error(error),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateTokenBody {
    client_id: String,
    client_secret: String,
    grant_type: String,
    device_code: Option<String>,
    refresh_token: Option<String>,
}

fn create_token(ctx: &Ctx, request: &FrontRequest) -> FrontResponse {
    let Ok(body) = serde_json::from_slice::<CreateTokenBody>(&request.body) else {
        return invalid_request("clientId, clientSecret and grantType are required");
    };
    let token_request = TokenRequest {
        client_id: &body.client_id,
        client_secret: &body.client_secret,
        grant_type: &body.grant_type,
        device_code: body.device_code.as_deref(),
        refresh_token: body.refresh_token.as_deref(),
    };
    let issued = lock(&ctx.state)
        .identity_center
        .create_token(&token_request, now_secs());
    match issued {
        Ok(token) => json_ok(&json!({
            "accessToken": token.access_token,
            "tokenType": "Bearer",
            "expiresIn": token.expires_in_secs,
            "refreshToken": token.refresh_token,
        })),
        Err(error) => oidc_error(error),
    }
}

/// The portal's check of `x-amz-sso_bearer_token`: the token, if valid.
fn bearer<'a>(ctx: &Ctx, request: &'a FrontRequest) -> Option<&'a str> {
    let token = request.header("x-amz-sso_bearer_token")?;
    lock(&ctx.state)
        .identity_center
        .access_token_valid(token, now_secs())
        .then_some(token)
}

/// What the portal answers for a missing, unknown, expired or revoked token.
fn unauthorized() -> FrontResponse {
    rest_error(
        StatusCode::UNAUTHORIZED,
        "UnauthorizedException",
        &json!({ "message": "Session token not found or invalid" }),
    )
}

fn param(request: &FrontRequest, name: &str) -> Option<String> {
    request
        .query_params()
        .into_iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value)
}

fn get_role_credentials(ctx: &Ctx, request: &FrontRequest) -> FrontResponse {
    if bearer(ctx, request).is_none() {
        return unauthorized();
    }
    let role = param(request, "role_name").unwrap_or_default();
    let account = param(request, "account_id").unwrap_or_default();
    if account != ACCOUNT_ID || !SSO_ROLES.contains(&role.as_str()) {
        // What AWS answers for a role the user is not assigned (not in the model: the SDK
        // reports it as an unhandled error with this code).
        return rest_error(
            StatusCode::FORBIDDEN,
            "ForbiddenException",
            &json!({ "message": "No access" }),
        );
    }
    let expiration_millis = (now_secs() + ROLE_CREDENTIALS_LIFETIME_SECS) * 1000;
    json_ok(&json!({
        "roleCredentials": {
            "accessKeyId": format!("ASIA{}", ids::upper(16)),
            "secretAccessKey": ids::token("").get(..40).unwrap_or_default(),
            "sessionToken": format!("IQoJb3JpZ2luX2VjE{}", ids::token("")),
            "expiration": expiration_millis,
        }
    }))
}

fn list_accounts(ctx: &Ctx, request: &FrontRequest) -> FrontResponse {
    if bearer(ctx, request).is_none() {
        return unauthorized();
    }
    json_ok(&json!({
        "accountList": [{
            "accountId": ACCOUNT_ID,
            "accountName": ACCOUNT_NAME,
            "emailAddress": "sandbox@example.com",
        }]
    }))
}

fn list_roles(ctx: &Ctx, request: &FrontRequest) -> FrontResponse {
    if bearer(ctx, request).is_none() {
        return unauthorized();
    }
    let roles: Vec<Value> = if param(request, "account_id").as_deref() == Some(ACCOUNT_ID) {
        SSO_ROLES
            .iter()
            .map(|role| json!({ "roleName": role, "accountId": ACCOUNT_ID }))
            .collect()
    } else {
        Vec::new()
    };
    json_ok(&json!({ "roleList": roles }))
}

fn logout(ctx: &Ctx, request: &FrontRequest) -> FrontResponse {
    let Some(token) = bearer(ctx, request) else {
        return unauthorized();
    };
    lock(&ctx.state).identity_center.revoke(token);
    response(StatusCode::OK, "application/json", "{}")
}

/// GET: a form showing the code with an Approve button; POST (the button): approves it.
fn device_page(ctx: &Ctx, request: &FrontRequest) -> FrontResponse {
    let form: Vec<(String, String)> = form_urlencoded::parse(&request.body)
        .into_owned()
        .chain(request.query_params())
        .collect();
    let user_code = form
        .iter()
        .find(|(key, _)| key == "user_code")
        .map_or("", |(_, value)| value.as_str());
    let message = if request.method == Method::POST {
        if lock(&ctx.state).identity_center.approve(user_code) {
            format!(
                "<p>Approved {}. You can close this page.</p>",
                escape(user_code)
            )
        } else {
            format!("<p>No pending request with code {}.</p>", escape(user_code))
        }
    } else {
        format!(
            "<form method=\"post\" action=\"/device\"><p>Code: \
             <input name=\"user_code\" value=\"{}\"></p>\
             <button type=\"submit\">Approve</button></form>",
            escape(user_code)
        )
    };
    html(&format!("<h1>RDS Explorer sandbox: sign in</h1>{message}"))
}

fn start_page() -> FrontResponse {
    html(
        "<h1>RDS Explorer sandbox</h1><p>The fake IAM Identity Center start URL. Sign in from \
         the app; approve codes at /device.</p>",
    )
}

fn html(body: &str) -> FrontResponse {
    response(
        StatusCode::OK,
        "text/html; charset=utf-8",
        format!(
            "<!doctype html><html><head><title>rds-sandbox</title></head>\
             <body>{body}</body></html>\n"
        ),
    )
}
