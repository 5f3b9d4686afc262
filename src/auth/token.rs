//! The IAM database auth token: a SigV4 presigned `GET` of `connect` for service `rds-db`, without
//! its `https://` prefix, sent to RDS / Aurora / RDS Proxy as the password.
//!
//! [`sign_token`] is pure (credentials and signing time are inputs), so a token can be reproduced
//! byte for byte (`rds-explorer token --signing-time`), and it is identical to what boto3's
//! `generate_db_auth_token` prints at the same time, parameter order included. Unlike the Rust
//! SDK's `AuthTokenGenerator`, the user name is percent-encoded with the SigV4 set, so `a+b`,
//! `a&b`, `a#b` or `a b` sign what the server checks (the SDK signs `a b` for `a+b` and panics on
//! a space), and the region is always the caller's: there is no silent `us-east-1`.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials as _;
use aws_credential_types::provider::error::CredentialsError;
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::jobs::UserError;
use crate::secret::Secret;

/// How long a token is accepted: RDS takes tokens for 15 minutes, and the SDKs never sign longer.
pub const TOKEN_LIFETIME: Duration = Duration::from_mins(15);

/// The SigV4 service name in the credential scope.
pub const SIGNING_NAME: &str = "rds-db";

/// SigV4 `UriEncode`: everything but `A-Z a-z 0-9 - _ . ~` is percent-encoded (so `+` is `%2B`
/// and a space `%20`, never `+`), as botocore and the server do.
const SIGV4_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The signature parameter; botocore puts it last, after a session token.
const SIGNATURE_PARAM: &str = "X-Amz-Signature";

/// What a token is signed for. All four are inside the signature: a token for another host, port,
/// region or user is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRequest {
    /// The real endpoint DNS name (instance, cluster, custom or proxy endpoint) — never a tunnel's
    /// `127.0.0.1` or a CNAME of your own.
    pub host: String,
    /// The endpoint's real port (not a local tunnel port).
    pub port: u16,
    /// The database's region, e.g. `eu-west-1`.
    pub region: String,
    /// The database user, exact case.
    pub user: String,
}

impl TokenRequest {
    /// A request for `user` at `host:port` in `region`.
    pub fn new(
        host: impl Into<String>,
        port: u16,
        region: impl Into<String>,
        user: impl Into<String>,
    ) -> Self {
        Self {
            host: host.into(),
            port,
            region: region.into(),
            user: user.into(),
        }
    }

    /// Checks the fields before anything is signed (or credentials are fetched).
    pub fn validate(&self) -> Result<(), TokenError> {
        check_host(&self.host)?;
        if self.port == 0 {
            return Err(TokenError::InvalidPort {
                host: self.host.clone(),
            });
        }
        if self.region.is_empty() {
            return Err(TokenError::EmptyRegion {
                host: self.host.clone(),
            });
        }
        let region_ok = self.region.starts_with(|c: char| c.is_ascii_lowercase())
            && self
                .region
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !region_ok {
            return Err(TokenError::InvalidRegion {
                region: self.region.clone(),
            });
        }
        if self.user.is_empty() {
            return Err(TokenError::EmptyUser {
                host: self.host.clone(),
            });
        }
        Ok(())
    }
}

/// Why no token was signed.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The host name is empty.
    #[error("cannot sign an IAM auth token: the endpoint host name is empty")]
    EmptyHost,
    /// The host name is not a bare DNS name.
    #[error("cannot sign an IAM auth token for host \"{host}\": {reason}")]
    InvalidHost {
        /// The host as given.
        host: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Port 0.
    #[error("cannot sign an IAM auth token for {host}: the port is 0")]
    InvalidPort {
        /// The host.
        host: String,
    },
    /// No region.
    #[error("cannot sign an IAM auth token for {host}: no region given")]
    EmptyRegion {
        /// The host.
        host: String,
    },
    /// A region that cannot be a region name.
    #[error("cannot sign an IAM auth token: \"{region}\" is not a region name")]
    InvalidRegion {
        /// The region as given.
        region: String,
    },
    /// No user name.
    #[error("cannot sign an IAM auth token for {host}: the database user name is empty")]
    EmptyUser {
        /// The host.
        host: String,
    },
    /// The SDK configuration has no credentials provider.
    #[error("cannot sign an IAM auth token: the AWS configuration has no credentials")]
    NoCredentialsProvider,
    /// The credentials provider failed (expired SSO session, bad profile, …).
    #[error("cannot sign an IAM auth token: no AWS credentials")]
    Credentials(#[source] CredentialsError),
    /// The credentials expired before the signing time.
    #[error("cannot sign an IAM auth token: the AWS credentials expired before the signing time")]
    CredentialsExpired,
    /// The SigV4 signer refused the request.
    #[error("cannot sign an IAM auth token for {host}: SigV4 signing failed")]
    Signing {
        /// The host.
        host: String,
        /// The signer's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl TokenError {
    /// What the user can do about it.
    pub fn next_step(&self) -> String {
        match self {
            Self::EmptyHost | Self::InvalidHost { .. } => {
                "give the bare DNS name of the RDS endpoint (no scheme, port or path), e.g. \
                 mydb.abc123xyz.eu-west-1.rds.amazonaws.com; sign the real endpoint, not a tunnel \
                 address or an alias"
                    .to_owned()
            }
            Self::InvalidPort { .. } => {
                "give the endpoint's real port (5432 for PostgreSQL, 3306 for MySQL unless changed)"
                    .to_owned()
            }
            Self::EmptyRegion { .. } | Self::InvalidRegion { .. } => {
                "give the database's region, e.g. `--region eu-west-1`; a token signed for another \
                 region is refused"
                    .to_owned()
            }
            Self::EmptyUser { .. } => "give the database user name (exact case)".to_owned(),
            Self::NoCredentialsProvider | Self::Credentials(_) | Self::CredentialsExpired => {
                "check the profile's credentials; for an SSO profile sign in again \
                 (`rds-explorer sso-login`)"
                    .to_owned()
            }
            Self::Signing { .. } => {
                "this is a bug in RDS Explorer; please report it with the host and user name"
                    .to_owned()
            }
        }
    }

    /// The error as shown in the jobs panel.
    pub fn to_user_error(&self) -> UserError {
        UserError::from_error(self, self.next_step())
    }
}

/// Signs the token for `request` with `credentials` at `signing_time`.
///
/// The result is the same, byte for byte, as boto3's `generate_db_auth_token` at that time:
/// `host:port/?Action=connect&DBUser=…&X-Amz-Algorithm=…&X-Amz-Credential=…&X-Amz-Date=…&
/// X-Amz-Expires=900&X-Amz-SignedHeaders=host[&X-Amz-Security-Token=…]&X-Amz-Signature=…`.
pub fn sign_token(
    request: &TokenRequest,
    credentials: &Credentials,
    signing_time: SystemTime,
) -> Result<Secret, TokenError> {
    request.validate()?;
    if credentials
        .expiry()
        .is_some_and(|expiry| expiry <= signing_time)
    {
        return Err(TokenError::CredentialsExpired);
    }
    let signing_error = |source: Box<dyn std::error::Error + Send + Sync>| TokenError::Signing {
        host: request.host.clone(),
        source,
    };

    let identity = Identity::from(credentials.clone());
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(TOKEN_LIFETIME);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&request.region)
        .name(SIGNING_NAME)
        .time(signing_time)
        .settings(settings)
        .build()
        .map_err(|error| signing_error(error.into()))?
        .into();

    // The `host` header (the only signed one) is `host:port`, taken from this URL.
    let host_port = format!("{}:{}", request.host, request.port);
    let user = utf8_percent_encode(&request.user, SIGV4_ENCODE).to_string();
    let operation = format!("{host_port}/?Action=connect&DBUser={user}");
    let url = format!("https://{operation}");
    let signable = SignableRequest::new("GET", &url, std::iter::empty(), SignableBody::Bytes(&[]))
        .map_err(|error| signing_error(error.into()))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|error| signing_error(error.into()))?
        .into_parts();

    // aws-sigv4 lists the session token after the signature, botocore before it; the server
    // sorts the parameters anyway, and botocore's order makes our tokens comparable with its.
    let mut token = operation;
    let mut signature: Option<&Cow<'_, str>> = None;
    for (name, value) in instructions.params() {
        if *name == SIGNATURE_PARAM {
            signature = Some(value);
        } else {
            push_param(&mut token, name, value);
        }
    }
    let signature = signature.ok_or_else(|| signing_error("no signature was produced".into()))?;
    push_param(&mut token, SIGNATURE_PARAM, signature);
    Ok(Secret::new(token))
}

/// Resolves the credentials of `config` (its profile's provider: static keys, SSO, assume-role…)
/// and signs the token at `signing_time`, or by default at the configuration's clock.
pub async fn sign_token_with_config(
    config: &SdkConfig,
    request: &TokenRequest,
    signing_time: Option<SystemTime>,
) -> Result<Secret, TokenError> {
    // Before fetching credentials: a typo should not wait for an SSO or STS round trip.
    request.validate()?;
    let (credentials, now) = resolve_credentials(config).await?;
    sign_token(request, &credentials, signing_time.unwrap_or(now))
}

/// The credentials of `config` (static keys, SSO, assume-role…) and the configuration's clock.
pub async fn resolve_credentials(
    config: &SdkConfig,
) -> Result<(Credentials, SystemTime), TokenError> {
    let provider = config
        .credentials_provider()
        .ok_or(TokenError::NoCredentialsProvider)?;
    let credentials = provider
        .provide_credentials()
        .await
        .map_err(TokenError::Credentials)?;
    let now = config
        .time_source()
        .map_or_else(SystemTime::now, |clock| clock.now());
    Ok((credentials, now))
}

fn check_host(host: &str) -> Result<(), TokenError> {
    if host.is_empty() {
        return Err(TokenError::EmptyHost);
    }
    let reason = if host.contains("://") {
        Some("it includes a scheme")
    } else if host.contains(':') {
        Some("it includes a port; give the port separately")
    } else if host.contains('/') {
        Some("it includes a path")
    } else if host.chars().any(char::is_whitespace) {
        Some("it contains white space")
    } else if !host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
    {
        Some("it is not a DNS name")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(TokenError::InvalidHost {
            host: host.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

fn push_param(token: &mut String, name: &str, value: &str) {
    token.push('&');
    token.push_str(name);
    token.push('=');
    token.extend(utf8_percent_encode(value, SIGV4_ENCODE));
}

#[cfg(test)]
mod tests {
    use aws_smithy_types::DateTime;

    use super::*;

    /// The reference vectors' time, 2024-08-26T22:00:00Z.
    fn vector_time() -> SystemTime {
        SystemTime::try_from(DateTime::from_secs(1_724_709_600)).unwrap()
    }

    fn akid(session_token: Option<&str>) -> Credentials {
        let mut builder = Credentials::builder()
            .access_key_id("akid")
            .secret_access_key("secret")
            .provider_name("test");
        builder.set_session_token(session_token.map(str::to_owned));
        builder.build()
    }

    fn token(host: &str, port: u16, user: &str, session_token: Option<&str>) -> String {
        let request = TokenRequest::new(host, port, "us-east-1", user);
        sign_token(&request, &akid(session_token), vector_time())
            .unwrap()
            .expose()
            .clone()
    }

    const PROD: &str = "prod-instance.us-east-1.rds.amazonaws.com";
    const SCOPE: &str = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=akid%2F20240826%2Fus-east-1%2Frds-db%2Faws4_request&X-Amz-Date=20240826T220000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host";

    #[test]
    fn reference_vector_a_whole_token() {
        assert_eq!(
            token(PROD, 3306, "peccy", None),
            format!(
                "{PROD}:3306/?Action=connect&DBUser=peccy&{SCOPE}&X-Amz-Signature=dd0cba843009474347af724090233265628ace491ea17ce3eb3da098b983ad89"
            )
        );
    }

    #[test]
    fn session_token_is_signed_and_placed_before_the_signature_as_botocore_does() {
        assert_eq!(
            token(PROD, 5432, "peccy", Some("FQoGZXIvYXdzE+abc/def==")),
            format!(
                "{PROD}:5432/?Action=connect&DBUser=peccy&{SCOPE}&X-Amz-Security-Token=FQoGZXIvYXdzE%2Babc%2Fdef%3D%3D&X-Amz-Signature=be71ae1e79f871fd845621e1ab85dbfbc31496792e25b4bed6d288ea98da1da2"
            )
        );
    }

    #[test]
    fn odd_user_names_are_encoded_as_sigv4_wants() {
        // (user, port, encoded, signature) from the reference (port 5432) and botocore 1.44.5.
        let cases = [
            (
                "a+b",
                5432,
                "a%2Bb",
                "47614683540e393ba14d541348d65e9e28fc656ab0aae3e6c4cc7443304ef13b",
            ),
            (
                "a b",
                5432,
                "a%20b",
                "4df8ae239ade47ee65e372201a25ef54128c9544a0fef6e68d81e97340db9f85",
            ),
            (
                "a@b.com",
                5432,
                "a%40b.com",
                "e5fd967e59d622a20869e5f6a246337bad10f31e6cac476d447805d869547b82",
            ),
            (
                "a&b",
                3306,
                "a%26b",
                "1ea6ca2d8429fa724644a8ff9cf9a0b086d949823e6c33da6a0d34fc0c7f82f3",
            ),
            (
                "a#b",
                3306,
                "a%23b",
                "d82b798d41162023fd8e3368c415159483389320d4fb0b679ff2f32a667f6b3e",
            ),
            (
                "\u{dc}n\u{ef}",
                3306,
                "%C3%9Cn%C3%AF",
                "2a1b8287a4f29fdd1eb358c7df61384af771555e4f3c5e3f3b79799dbbf249fc",
            ),
            (
                "a%b",
                3306,
                "a%25b",
                "9bb6858a4a56ca584d706e42c5b4cc838d32483f6aac1e44e833915ff9398f3c",
            ),
            (
                "a/b",
                3306,
                "a%2Fb",
                "a1c4a1e7ea5bad461daa3eae5fd7a26117a67ebd1047498086beaea191b70538",
            ),
            (
                "a=b",
                3306,
                "a%3Db",
                "a2559088356503aa3fd56d0275ee0bfe7a54066a7f426056643417f669229632",
            ),
            (
                "~x-_.",
                3306,
                "~x-_.",
                "74580643203f7d2c51e01fa59111feb9e78224d869228219ea523d4650f59576",
            ),
        ];
        for (user, port, encoded, signature) in cases {
            assert_eq!(
                token(PROD, port, user, None),
                format!(
                    "{PROD}:{port}/?Action=connect&DBUser={encoded}&{SCOPE}&X-Amz-Signature={signature}"
                ),
                "user {user:?}"
            );
        }
    }

    #[test]
    fn a_tunnel_address_signs_something_else() {
        // botocore 1.44.5's signature. The reference's vector E prints `…0a1e3e…` where botocore
        // and this signer give `…0a3e1e…`: a transposition in the document.
        assert!(token("127.0.0.1", 15432, "peccy", None).ends_with(
            "X-Amz-Signature=550d780a3e1e534021848ec4227e7d444ad3219b8bd1b0b1afb51945e2c3556a"
        ));
    }

    #[test]
    fn bad_requests_are_refused_with_a_next_step() {
        let good = TokenRequest::new(PROD, 5432, "us-east-1", "app");
        let with = |change: fn(&mut TokenRequest)| {
            let mut request = good.clone();
            change(&mut request);
            sign_token(&request, &akid(None), vector_time()).unwrap_err()
        };
        assert!(matches!(with(|r| r.host.clear()), TokenError::EmptyHost));
        assert!(matches!(
            with(|r| r.user.clear()),
            TokenError::EmptyUser { .. }
        ));
        assert!(matches!(
            with(|r| r.region.clear()),
            TokenError::EmptyRegion { .. }
        ));
        assert!(matches!(
            with(|r| r.port = 0),
            TokenError::InvalidPort { .. }
        ));
        assert!(matches!(
            with(|r| r.region = "US East".into()),
            TokenError::InvalidRegion { .. }
        ));
        for (host, reason) in [
            ("https://db.example.com", "scheme"),
            ("db.example.com:5432", "port"),
            ("db.example.com/x", "path"),
            ("db example.com", "white space"),
            ("db@example.com", "not a DNS name"),
        ] {
            let mut request = good.clone();
            request.host = host.to_owned();
            let error = sign_token(&request, &akid(None), vector_time()).unwrap_err();
            assert!(error.to_string().contains(reason), "{error}");
            assert!(error.to_user_error().next_step.contains("bare DNS name"));
        }
        let error = with(|r| r.region.clear()).to_user_error();
        assert!(error.next_step.contains("--region"), "{error}");
    }

    #[test]
    fn expired_credentials_are_refused() {
        let credentials = Credentials::builder()
            .access_key_id("akid")
            .secret_access_key("secret")
            .session_token("t")
            .expiry(vector_time())
            .provider_name("test")
            .build();
        let request = TokenRequest::new(PROD, 5432, "us-east-1", "app");
        assert!(matches!(
            sign_token(&request, &credentials, vector_time()),
            Err(TokenError::CredentialsExpired)
        ));
        let earlier = vector_time() - Duration::from_secs(1);
        assert!(sign_token(&request, &credentials, earlier).is_ok());
    }

    #[test]
    fn the_token_is_hidden_from_debug_and_display() {
        let request = TokenRequest::new(PROD, 5432, "us-east-1", "app");
        let secret = sign_token(&request, &akid(None), vector_time()).unwrap();
        assert_eq!(format!("{secret:?} {secret}"), "*** ***");
    }

    #[tokio::test]
    async fn credentials_come_from_the_config() {
        use aws_credential_types::provider::SharedCredentialsProvider;
        let config = SdkConfig::builder()
            .credentials_provider(SharedCredentialsProvider::new(akid(None)))
            .build();
        let request = TokenRequest::new(PROD, 3306, "us-east-1", "peccy");
        let signed = sign_token_with_config(&config, &request, Some(vector_time()))
            .await
            .unwrap();
        assert_eq!(signed.expose(), &token(PROD, 3306, "peccy", None));

        let no_credentials = SdkConfig::builder().build();
        assert!(matches!(
            sign_token_with_config(&no_credentials, &request, None).await,
            Err(TokenError::NoCredentialsProvider)
        ));
    }
}
