//! AWS call errors as the user needs them: which API failed in which region, what kind of failure
//! it was (access denied, expired SSO session, no network …) and what to do next.
//!
//! SDK errors are turned into [`AwsCallError`] at the `aws/` boundary; nothing above sees an
//! `SdkError`.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::jobs::{UserError, error_chain};

/// What kind of failure an AWS call met; decides the next step shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AwsErrorKind {
    /// The identity may not call this API (IAM policy, SCP, permission boundary).
    AccessDenied,
    /// The SSO access token is missing or expired: the user must sign in.
    SsoSignInNeeded,
    /// Temporary credentials expired (assume-role, session token).
    CredentialsExpired,
    /// No credentials could be found for the profile.
    NoCredentials,
    /// The endpoint could not be reached (DNS, proxy, offline, VPC endpoint).
    Network,
    /// The service throttled us.
    Throttled,
    /// The API is not available here (region not enabled, moto lacking it, …).
    Unsupported,
    /// Anything else.
    Other,
}

/// One failed AWS call.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[error("{api} in {region} failed: {message}")]
pub struct AwsCallError {
    /// `service:Action`, e.g. `rds:DescribeDBProxies` (the IAM action name, so it can be granted).
    pub api: String,
    /// The region the call went to.
    pub region: String,
    /// The failure class.
    pub kind: AwsErrorKind,
    /// The service's or SDK's message.
    pub message: String,
}

impl AwsCallError {
    /// Classifies an SDK error.
    pub fn from_sdk<E>(api: &str, region: &str, error: &SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let (kind, message) = match error {
            SdkError::ServiceError(service) => {
                let inner = service.err();
                let code = inner.code().unwrap_or_default();
                let message = match (code, inner.message()) {
                    (code, Some(message)) if !code.is_empty() => format!("{code}: {message}"),
                    (_, Some(message)) => message.to_owned(),
                    // No code and no message (e.g. an HTML error page): say what the HTTP status was.
                    (code, None) if !code.is_empty() => code.to_owned(),
                    (_, None) => format!("HTTP {} with no error details", service.raw().status()),
                };
                (kind_from_code(code), message)
            }
            SdkError::DispatchFailure(failure) => {
                let text = error_chain(error);
                let kind = if failure.is_io() || failure.is_timeout() {
                    AwsErrorKind::Network
                } else {
                    kind_from_text(&text)
                };
                (kind, text)
            }
            SdkError::TimeoutError(_) => (AwsErrorKind::Network, error_chain(error)),
            _ => {
                let text = error_chain(error);
                (kind_from_text(&text), text)
            }
        };
        Self {
            api: api.to_owned(),
            region: region.to_owned(),
            kind,
            message,
        }
    }

    /// What the user can do about it.
    pub fn next_step(&self) -> String {
        match self.kind {
            AwsErrorKind::AccessDenied => {
                format!("Your role may not call {}; ask an admin to allow it, or ignore this part", self.api)
            }
            AwsErrorKind::SsoSignInNeeded => "SSO session expired: Sign in".to_owned(),
            AwsErrorKind::CredentialsExpired => "Credentials expired: refresh them (or Sign in for SSO) and retry".to_owned(),
            AwsErrorKind::NoCredentials => {
                "No credentials for this profile: add keys, SSO or a role to it in the AWS config".to_owned()
            }
            AwsErrorKind::Network => {
                "Could not reach AWS: check the network, proxy settings and the profile's endpoint_url".to_owned()
            }
            AwsErrorKind::Throttled => "AWS is throttling requests: wait a moment and refresh".to_owned(),
            AwsErrorKind::Unsupported => format!("{} is not available in {}", self.api, self.region),
            AwsErrorKind::Other => "Refresh to retry; the log has details".to_owned(),
        }
    }

    /// As a user error for a job result.
    pub fn to_user_error(&self) -> UserError {
        UserError::new(self.to_string(), self.next_step())
    }
}

fn kind_from_code(code: &str) -> AwsErrorKind {
    match code {
        "AccessDenied"
        | "AccessDeniedException"
        | "UnauthorizedOperation"
        | "UnauthorizedException"
        | "AuthFailure" => AwsErrorKind::AccessDenied,
        "ExpiredToken" | "ExpiredTokenException" | "RequestExpired" => {
            AwsErrorKind::CredentialsExpired
        }
        "Throttling"
        | "ThrottlingException"
        | "TooManyRequestsException"
        | "RequestLimitExceeded" => AwsErrorKind::Throttled,
        "InvalidAction" | "OptInRequired" | "UnrecognizedClientException" => {
            AwsErrorKind::Unsupported
        }
        _ => AwsErrorKind::Other,
    }
}

/// Credential-provider failures reach us as text inside construction/dispatch failures.
fn kind_from_text(text: &str) -> AwsErrorKind {
    let lower = text.to_ascii_lowercase();
    // The SSO portal answers GetRoleCredentials with UnauthorizedException ("Session token not
    // found or invalid") once the session ended; it surfaces while loading credentials.
    let portal_refused =
        lower.contains("loading credentials") && lower.contains("unauthorizedexception");
    let sso_expired = lower.contains("sso")
        && (lower.contains("expired") || lower.contains("token") || lower.contains("sign in"));
    if portal_refused || sso_expired {
        AwsErrorKind::SsoSignInNeeded
    } else if lower.contains("expired") {
        AwsErrorKind::CredentialsExpired
    } else if lower.contains("no credentials")
        || lower.contains("did not contain credential information")
        || lower.contains("credentials provider was not properly configured")
        || lower.contains("credential provider was not enabled")
        || lower.contains("credentialsnotloaded")
        || lower.contains("credentials not loaded")
    {
        AwsErrorKind::NoCredentials
    } else if lower.contains("dns error")
        || lower.contains("connection refused")
        || lower.contains("timed out")
    {
        AwsErrorKind::Network
    } else {
        AwsErrorKind::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_texts_map_to_kinds() {
        assert_eq!(kind_from_code("AccessDenied"), AwsErrorKind::AccessDenied);
        assert_eq!(
            kind_from_code("AccessDeniedException"),
            AwsErrorKind::AccessDenied
        );
        assert_eq!(
            kind_from_code("ExpiredTokenException"),
            AwsErrorKind::CredentialsExpired
        );
        assert_eq!(kind_from_code("Throttling"), AwsErrorKind::Throttled);
        assert_eq!(kind_from_code("DBInstanceNotFound"), AwsErrorKind::Other);
        assert_eq!(
            kind_from_text(
                "the SSO session associated with this profile has expired or is otherwise invalid"
            ),
            AwsErrorKind::SsoSignInNeeded
        );
        assert_eq!(
            kind_from_text("failed to load credentials: CredentialsNotLoaded"),
            AwsErrorKind::NoCredentials
        );
        assert_eq!(
            kind_from_text("io error: dns error: failed to lookup"),
            AwsErrorKind::Network
        );
    }

    #[test]
    fn next_steps_name_the_api() {
        let error = AwsCallError {
            api: "rds:DescribeDBProxies".into(),
            region: "eu-west-1".into(),
            kind: AwsErrorKind::AccessDenied,
            message: "AccessDenied: not authorized".into(),
        };
        assert_eq!(
            error.to_string(),
            "rds:DescribeDBProxies in eu-west-1 failed: AccessDenied: not authorized"
        );
        assert!(error.next_step().contains("rds:DescribeDBProxies"));
        let sso = AwsCallError {
            kind: AwsErrorKind::SsoSignInNeeded,
            ..error
        };
        assert_eq!(sso.next_step(), "SSO session expired: Sign in");
    }
}
