//! Opening a session for a saved (or command-line) connection: pick the password by auth mode,
//! connect over verified TLS to the real endpoint name (through a tunnel's local port when there
//! is one), guard production sessions, and — when an IAM login is refused — hand back what the
//! diagnosis checklist needs. Shared by the window's backend and `rds-explorer query`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;

use super::connect::{ConnectError, ConnectParams, Endpoint, connect};
use super::diagnose::{
    CredentialKind, Failure, FailureContext, IamLoginAttempt, diagnose_iam_login,
};
use super::safety::{self, Safety};
use crate::auth::keyring::Keyring;
use crate::auth::login::{Login, LoginError, LoginTarget, resolve_login};
use crate::auth::token_cache::TokenCache;
use crate::jobs::{UserError, error_chain};
use crate::secret::Secret;
use crate::store::SavedConnection;

/// How long a connection attempt may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// One connection attempt's inputs besides the saved connection.
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    /// Where the socket goes instead of the endpoint (a tunnel's `127.0.0.1:port`).
    pub via: Option<SocketAddr>,
    /// A password the user just typed (password mode).
    pub typed_password: Option<Secret>,
    /// Read-only and timeout guard.
    pub safety: Safety,
}

/// Why a session did not open.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// No password or token.
    #[error(transparent)]
    Login(#[from] LoginError),
    /// The server could not be reached or refused the login or the TLS handshake.
    #[error(transparent)]
    Connect(Box<RefusedConnect>),
    /// The production guard could not be set.
    #[error("the session opened but could not be made read-only")]
    Safety(#[source] tokio_postgres::Error),
}

/// A failed connection with what the diagnosis needs.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct RefusedConnect {
    /// The driver's error with endpoint and user.
    #[source]
    pub error: ConnectError,
    /// What kind of password was sent.
    pub credential: CredentialKind,
    /// For refused IAM logins: the attempt, for [`diagnose_iam_login`].
    pub iam_attempt: Option<IamLoginAttempt>,
}

impl RefusedConnect {
    /// The failure's name.
    pub fn failure(&self) -> Failure {
        self.error.failure()
    }

    /// The error with what to do next, knowing what kind of password was sent.
    pub fn to_user_error(&self) -> UserError {
        let mut context = FailureContext::of(&self.error);
        context.credential = Some(self.credential);
        self.failure()
            .explain(&context, &error_chain(&self.error.source))
    }

    /// Runs the IAM checklist when the failure calls for it (a refused IAM login).
    pub async fn diagnose(&self, sdk: &SdkConfig) -> Option<super::diagnose::Diagnosis> {
        let failure = self.failure();
        if !failure.wants_iam_checklist(Some(self.credential)) {
            return None;
        }
        let attempt = self.iam_attempt.as_ref()?;
        Some(diagnose_iam_login(sdk, attempt, &failure).await)
    }
}

impl OpenError {
    /// The error with what to do next.
    pub fn to_user_error(&self) -> UserError {
        match self {
            Self::Login(error) => error.to_user_error(),
            Self::Connect(refused) => refused.to_user_error(),
            Self::Safety(error) => UserError::from_error(
                error,
                "Reconnect; if it repeats, the server refuses SET default_transaction_read_only",
            ),
        }
    }
}

/// The login target of a saved connection.
pub fn login_target(connection: &SavedConnection) -> LoginTarget {
    LoginTarget {
        connection: (!connection.name.is_empty()).then(|| connection.name.clone()),
        host: connection.host.clone(),
        port: connection.port,
        region: connection.region.clone(),
        user: connection.user.clone(),
    }
}

/// A login ready to be sent: the connection parameters with the password or token.
#[derive(Debug)]
pub struct Prepared {
    /// Where and as whom, with the password.
    pub params: ConnectParams,
    /// The login that was picked.
    pub login: Login,
    /// The endpoint's real port (the token is signed for it).
    pub real_port: u16,
    /// When the login was prepared (a token may expire before the server checks it).
    pub prepared_at: SystemTime,
}

impl Prepared {
    /// Wraps a refused connection with what the diagnosis needs. A refused IAM token is also
    /// dropped from `tokens`, so a retry signs a fresh one.
    pub fn refused(&self, error: ConnectError, tokens: &TokenCache) -> RefusedConnect {
        let iam = self.login.kind == CredentialKind::IamToken;
        if iam {
            tokens.clear();
        }
        RefusedConnect {
            error,
            credential: self.login.kind,
            iam_attempt: iam.then(|| IamLoginAttempt {
                endpoint: self.params.endpoint.clone(),
                real_port: self.real_port,
                user: self.login.user.clone(),
                token: self.login.password.clone(),
                attempted_at: self.prepared_at,
                resource: None,
            }),
        }
    }
}

/// Picks the password for `connection` and builds the connection parameters: the socket goes to
/// `options.via` (a tunnel), else the connection's `hostaddr`, else the endpoint itself.
pub async fn prepare(
    connection: &SavedConnection,
    options: &OpenOptions,
    sdk: Option<&SdkConfig>,
    tokens: &TokenCache,
    keyring: &Keyring,
) -> Result<Prepared, LoginError> {
    let target = login_target(connection);
    let login = resolve_login(
        &connection.auth,
        &target,
        sdk,
        tokens,
        keyring,
        options.typed_password.clone(),
    )
    .await?;
    let via = options.via.or_else(|| {
        connection
            .hostaddr
            .map(|addr| SocketAddr::new(addr, connection.port))
    });
    let endpoint = Endpoint {
        host: connection.host.clone(),
        hostaddr: via.map(|via| via.ip()),
        port: via.map_or(connection.port, |via| via.port()),
    };
    Ok(Prepared {
        params: ConnectParams {
            endpoint,
            database: connection.database.clone(),
            user: login.user.clone(),
            password: login.password.clone(),
            timeout: CONNECT_TIMEOUT,
        },
        login,
        real_port: connection.port,
        prepared_at: SystemTime::now(),
    })
}

/// Opens a session for `connection` (the CLI's path; the window's backend keeps sessions in its
/// registry with [`prepare`] and [`Prepared::refused`]). `sdk` is its profile's configuration
/// (IAM and Secrets Manager modes need it).
pub async fn open_session(
    connection: &SavedConnection,
    options: OpenOptions,
    sdk: Option<&SdkConfig>,
    tls: Arc<rustls::ClientConfig>,
    tokens: &TokenCache,
    keyring: &Keyring,
) -> Result<(tokio_postgres::Client, Login), OpenError> {
    let prepared = prepare(connection, &options, sdk, tokens, keyring).await?;
    let client = connect(&prepared.params, tls)
        .await
        .map_err(|error| OpenError::Connect(Box::new(prepared.refused(error, tokens))))?;
    safety::apply(&client, &options.safety)
        .await
        .map_err(OpenError::Safety)?;
    Ok((client, prepared.login))
}
