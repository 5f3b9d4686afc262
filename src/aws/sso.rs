//! IAM Identity Center sign-in inside the app: the OIDC device authorization flow
//! (`RegisterClient` → `StartDeviceAuthorization` → the user approves in a browser → `CreateToken`),
//! then the token is written to the standard SSO cache file, so the AWS CLI and every SDK (and
//! our own SDK configurations, once rebuilt) share the session.

use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_config::Region;
use aws_sdk_ssooidc::operation::create_token::CreateTokenError;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::error::{AwsCallError, AwsErrorKind};
use super::profiles::SsoLogin;
use super::sdk::behavior_version;
use crate::secret::Secret;
use crate::store::write_atomic;

/// OAuth grant type of the device flow.
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// What the user must do to approve the sign-in.
#[derive(Clone, Debug)]
pub struct DeviceAuthorization {
    /// Code to confirm in the browser.
    pub user_code: String,
    /// Page to open.
    pub verification_uri: String,
    /// Page with the code already filled in, when the service offers one.
    pub verification_uri_complete: Option<String>,
    /// How long the code is valid.
    pub expires_in_secs: i32,
    interval_secs: u64,
    device_code: Secret,
    client_id: String,
    client_secret: Secret,
    client_expires_at_secs: i64,
}

impl DeviceAuthorization {
    /// The page to open in the browser.
    pub fn url(&self) -> &str {
        self.verification_uri_complete
            .as_deref()
            .unwrap_or(&self.verification_uri)
    }
}

/// Registers a client and starts a device authorization for `login`.
pub async fn start(
    login: &SsoLogin,
    endpoint_url: Option<&str>,
) -> Result<DeviceAuthorization, AwsCallError> {
    let client = oidc_client(login, endpoint_url);
    let region = &login.region;
    let registered = client
        .register_client()
        .client_name("rds-explorer")
        .client_type("public")
        .set_scopes(Some(login.scopes.clone()))
        .send()
        .await
        .map_err(|error| AwsCallError::from_sdk("sso-oauth:RegisterClient", region, &error))?;
    let client_id = registered.client_id().unwrap_or_default().to_owned();
    let client_secret = Secret::from(registered.client_secret().unwrap_or_default());
    let device = client
        .start_device_authorization()
        .client_id(&client_id)
        .client_secret(client_secret.expose())
        .start_url(&login.start_url)
        .send()
        .await
        .map_err(|error| {
            AwsCallError::from_sdk("sso-oauth:StartDeviceAuthorization", region, &error)
        })?;
    Ok(DeviceAuthorization {
        user_code: device.user_code().unwrap_or_default().to_owned(),
        verification_uri: device.verification_uri().unwrap_or_default().to_owned(),
        verification_uri_complete: device.verification_uri_complete().map(str::to_owned),
        expires_in_secs: device.expires_in(),
        interval_secs: u64::try_from(device.interval()).unwrap_or(1).max(1),
        device_code: Secret::from(device.device_code().unwrap_or_default()),
        client_id,
        client_secret,
        client_expires_at_secs: registered.client_secret_expires_at(),
    })
}

/// Polls until the user approved (or the code expired, or `cancel` fired), then writes the
/// token to the SSO cache in `cache_dir` and returns the file written.
pub async fn finish(
    login: &SsoLogin,
    endpoint_url: Option<&str>,
    authorization: &DeviceAuthorization,
    cache_dir: &Path,
    cancel: &CancellationToken,
) -> Result<PathBuf, AwsCallError> {
    let client = oidc_client(login, endpoint_url);
    let region = &login.region;
    let mut interval = Duration::from_secs(authorization.interval_secs);
    let deadline = tokio::time::Instant::now()
        + Duration::from_secs(u64::try_from(authorization.expires_in_secs).unwrap_or(600));
    loop {
        let result = client
            .create_token()
            .client_id(&authorization.client_id)
            .client_secret(authorization.client_secret.expose())
            .grant_type(DEVICE_GRANT)
            .device_code(authorization.device_code.expose())
            .send()
            .await;
        match result {
            Ok(token) => {
                let now = time::OffsetDateTime::now_utc();
                let entry = CacheEntry {
                    start_url: &login.start_url,
                    region: &login.region,
                    access_token: token.access_token().unwrap_or_default(),
                    expires_at: rfc3339(
                        now + time::Duration::seconds(i64::from(token.expires_in())),
                    ),
                    client_id: &authorization.client_id,
                    client_secret: authorization.client_secret.expose(),
                    registration_expires_at: rfc3339(
                        time::OffsetDateTime::from_unix_timestamp(
                            authorization.client_expires_at_secs,
                        )
                        .unwrap_or(now),
                    ),
                    refresh_token: token.refresh_token(),
                };
                return write_cache(cache_dir, &login.cache_file_name(), &entry).map_err(|error| {
                    AwsCallError {
                        api: "sso:WriteTokenCache".into(),
                        region: region.clone(),
                        kind: AwsErrorKind::Other,
                        message: format!(
                            "could not write the SSO token cache in {}: {error}",
                            cache_dir.display()
                        ),
                    }
                });
            }
            Err(error) => {
                let service = error.as_service_error();
                if service.is_some_and(CreateTokenError::is_authorization_pending_exception) {
                    // Not approved yet.
                } else if service.is_some_and(CreateTokenError::is_slow_down_exception) {
                    interval += Duration::from_secs(5);
                } else {
                    let mut error = AwsCallError::from_sdk("sso-oauth:CreateToken", region, &error);
                    if service.is_some_and(CreateTokenError::is_expired_token_exception) {
                        error.message = "the sign-in code expired before it was approved".into();
                        error.kind = AwsErrorKind::SsoSignInNeeded;
                    }
                    return Err(error);
                }
            }
        }
        if tokio::time::Instant::now() + interval > deadline {
            return Err(AwsCallError {
                api: "sso-oauth:CreateToken".into(),
                region: region.clone(),
                kind: AwsErrorKind::SsoSignInNeeded,
                message: "the sign-in code expired before it was approved".into(),
            });
        }
        tokio::select! {
            () = cancel.cancelled() => {
                return Err(AwsCallError {
                    api: "sso-oauth:CreateToken".into(),
                    region: region.clone(),
                    kind: AwsErrorKind::SsoSignInNeeded,
                    message: "sign-in cancelled".into(),
                });
            }
            () = tokio::time::sleep(interval) => {}
        }
    }
}

/// The SSO token cache directory the AWS CLI and SDKs use: `~/.aws/sso/cache`.
pub fn default_cache_dir() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|dirs| dirs.home_dir().join(".aws").join("sso").join("cache"))
}

fn oidc_client(login: &SsoLogin, endpoint_url: Option<&str>) -> aws_sdk_ssooidc::Client {
    // OIDC calls are unsigned: no credentials, only the Identity Center region (and the
    // profile's endpoint_url, for sandboxes and VPC endpoints).
    let mut config = aws_sdk_ssooidc::Config::builder()
        .behavior_version(behavior_version())
        .region(Region::new(login.region.clone()));
    if let Some(url) = endpoint_url {
        config = config.endpoint_url(url);
    }
    aws_sdk_ssooidc::Client::from_conf(config.build())
}

/// The SSO cache file format shared with the AWS CLI and SDKs.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CacheEntry<'a> {
    start_url: &'a str,
    region: &'a str,
    access_token: &'a str,
    expires_at: String,
    client_id: &'a str,
    client_secret: &'a str,
    registration_expires_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
}

fn rfc3339(at: time::OffsetDateTime) -> String {
    at.replace_nanosecond(0)
        .ok()
        .and_then(|at| {
            at.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Writes the cache entry readable by the user only (it holds a bearer token).
fn write_cache(dir: &Path, name: &str, entry: &CacheEntry<'_>) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(name);
    let json = serde_json::to_vec_pretty(entry).map_err(std::io::Error::other)?;
    write_atomic(&path, &json)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(path)
}
