//! The password of one physical connection, from the connection's auth mode: an IAM token signed
//! for the real endpoint (from the [`TokenCache`]), the `username`/`password` of a Secrets
//! Manager secret, or a password from the OS keyring — or typed, when there is no keyring or it
//! holds none. Used the same way by the window and by `rds-explorer query`.

use std::time::SystemTime;

use aws_config::Region;
use aws_config::SdkConfig;

use super::keyring::{Keyring, KeyringFailure, PasswordLookup};
use super::token::{TokenError, TokenRequest, resolve_credentials};
use super::token_cache::TokenCache;
use crate::aws::secrets::{SecretError, fetch_db_credentials, region_of_secret_arn};
use crate::db::diagnose::CredentialKind;
use crate::jobs::UserError;
use crate::secret::Secret;
use crate::store::AuthMode;

/// Who logs in where, as far as the password depends on it.
#[derive(Clone, Debug)]
pub struct LoginTarget {
    /// The saved connection's name (the keyring entry), if it is one.
    pub connection: Option<String>,
    /// The real endpoint DNS name (never a tunnel's 127.0.0.1).
    pub host: String,
    /// The endpoint's real port.
    pub port: u16,
    /// The database's region (IAM signing region; Secrets Manager region for a secret name).
    pub region: Option<String>,
    /// The database user.
    pub user: String,
}

/// The credentials to log in with.
#[derive(Clone, Debug)]
pub struct Login {
    /// The user (a secret's `username` replaces the connection's user).
    pub user: String,
    /// The password or token.
    pub password: Secret,
    /// What kind of password it is (for the diagnosis of a refused login).
    pub kind: CredentialKind,
    /// When an IAM token was signed.
    pub token_signed_at: Option<SystemTime>,
    /// Where the password came from, for the connection log ("IAM token", "keyring", …).
    pub source: &'static str,
}

/// No password could be found.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// IAM or Secrets Manager auth needs AWS credentials, and the connection has no profile.
    #[error("{mode} authentication needs an AWS profile, and none was chosen")]
    NoProfile {
        /// The mode's label.
        mode: &'static str,
    },
    /// IAM auth needs the database's region.
    #[error("no region is known for {host}")]
    NoRegion {
        /// The endpoint.
        host: String,
    },
    /// The token could not be signed.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The secret could not be read or parsed.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// Password mode: there is no saved password and none was typed.
    #[error("a password is needed for \"{user}\" ({why})")]
    PasswordNeeded {
        /// The user.
        user: String,
        /// Why it was not found (`not saved in the keyring`, `no keyring: …`).
        why: String,
    },
    /// The keyring failed (not "empty", not "unavailable").
    #[error(transparent)]
    Keyring(#[from] KeyringFailure),
}

impl LoginError {
    /// What to do next.
    pub fn next_step(&self) -> String {
        match self {
            Self::NoProfile { .. } => {
                "Choose the AWS profile of the database's account in the connection".into()
            }
            Self::NoRegion { .. } => "Set the database's region in the connection".into(),
            Self::Token(error) => error.next_step(),
            Self::Secret(error) => error.next_step(),
            Self::PasswordNeeded { .. } => {
                "Type the password (it is saved in the OS keyring when one is available)".into()
            }
            Self::Keyring(error) => error.next_step().into(),
        }
    }

    /// The error with what to do next.
    pub fn to_user_error(&self) -> UserError {
        UserError::new(self.to_string(), self.next_step())
    }
}

/// Finds the password for `target` by `mode`.
///
/// `sdk` is the profile's configuration (any region: the database's or the secret's region is
/// set here). `typed` is a password the user just typed (password mode only; it wins over the
/// keyring).
pub async fn resolve_login(
    mode: &AuthMode,
    target: &LoginTarget,
    sdk: Option<&SdkConfig>,
    tokens: &TokenCache,
    keyring: &Keyring,
    typed: Option<Secret>,
) -> Result<Login, LoginError> {
    match mode {
        AuthMode::Iam => {
            let sdk = sdk.ok_or(LoginError::NoProfile { mode: mode.label() })?;
            let region = target.region.clone().ok_or_else(|| LoginError::NoRegion {
                host: target.host.clone(),
            })?;
            let request = TokenRequest::new(&target.host, target.port, region, &target.user);
            // Before fetching credentials: a typo should not wait for an SSO or STS round trip.
            request.validate()?;
            let (credentials, now) = resolve_credentials(sdk).await?;
            let cached = tokens.get_or_sign(&request, &credentials, now)?;
            Ok(Login {
                user: target.user.clone(),
                password: cached.token,
                kind: CredentialKind::IamToken,
                token_signed_at: Some(cached.signed_at),
                source: "IAM token",
            })
        }
        AuthMode::Secret { secret_id } => {
            let sdk = sdk.ok_or(LoginError::NoProfile { mode: mode.label() })?;
            // An ARN names its region; a bare name lives in the database's region.
            let region = region_of_secret_arn(secret_id)
                .map(str::to_owned)
                .or_else(|| target.region.clone());
            let config = match region {
                Some(region) => sdk.to_builder().region(Region::new(region)).build(),
                None => sdk.clone(),
            };
            let credentials = fetch_db_credentials(&config, secret_id).await?;
            Ok(Login {
                user: credentials.user,
                password: credentials.password,
                kind: CredentialKind::Password,
                token_signed_at: None,
                source: "Secrets Manager",
            })
        }
        AuthMode::Password => {
            let password = |password, source| Login {
                user: target.user.clone(),
                password,
                kind: CredentialKind::Password,
                token_signed_at: None,
                source,
            };
            if let Some(typed) = typed {
                return Ok(password(typed, "typed"));
            }
            let Some(connection) = &target.connection else {
                return Err(LoginError::PasswordNeeded {
                    user: target.user.clone(),
                    why: "the connection is not saved, so nothing is in the keyring".into(),
                });
            };
            match keyring.lookup(connection, &target.user) {
                PasswordLookup::Saved(saved) => Ok(password(saved, "keyring")),
                PasswordLookup::NotSaved => Err(LoginError::PasswordNeeded {
                    user: target.user.clone(),
                    why: "not saved in the keyring".into(),
                }),
                PasswordLookup::AskEachTime { reason } => Err(LoginError::PasswordNeeded {
                    user: target.user.clone(),
                    why: format!("no keyring: {reason}"),
                }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(connection: Option<&str>) -> LoginTarget {
        LoginTarget {
            connection: connection.map(str::to_owned),
            host: "db.abc.eu-west-1.rds.amazonaws.com".into(),
            port: 5432,
            region: Some("eu-west-1".into()),
            user: "app".into(),
        }
    }

    async fn resolve(
        mode: &AuthMode,
        target: &LoginTarget,
        keyring: &Keyring,
        typed: Option<Secret>,
    ) -> Result<Login, LoginError> {
        resolve_login(mode, target, None, &TokenCache::new(), keyring, typed).await
    }

    #[tokio::test]
    async fn aws_modes_without_a_profile_say_so() {
        let keyring = Keyring::unavailable("test");
        for mode in [
            AuthMode::Iam,
            AuthMode::Secret {
                secret_id: "s".into(),
            },
        ] {
            let error = resolve(&mode, &target(Some("c")), &keyring, None)
                .await
                .unwrap_err();
            assert!(matches!(error, LoginError::NoProfile { .. }), "{error}");
            assert!(error.next_step().contains("profile"));
        }
    }

    #[tokio::test]
    async fn password_mode_uses_the_typed_password_else_asks() {
        let keyring = Keyring::unavailable("no D-Bus session bus");
        let typed = resolve(
            &AuthMode::Password,
            &target(Some("c")),
            &keyring,
            Some(Secret::new("pw".to_owned())),
        )
        .await
        .unwrap();
        assert_eq!(typed.password.expose(), "pw");
        assert_eq!(typed.kind, CredentialKind::Password);
        let error = resolve(&AuthMode::Password, &target(Some("c")), &keyring, None)
            .await
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("no keyring: no D-Bus session bus"),
            "{error}"
        );
        let error = resolve(&AuthMode::Password, &target(None), &keyring, None)
            .await
            .unwrap_err();
        assert!(error.to_string().contains("not saved"), "{error}");
    }
}
