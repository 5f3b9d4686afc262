//! Opening a PostgreSQL connection over verified TLS. The server name checked against the
//! certificate is always the real endpoint name (`host`); the socket may go elsewhere (`hostaddr`,
//! e.g. a tunnel's `127.0.0.1` port) — exactly `sslmode=verify-full` with `hostaddr` in libpq.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::db::diagnose::{self, Failure, FailureContext};
use crate::jobs::{UserError, error_chain};
use crate::secret::Secret;

/// Where a database listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The real DNS name: used for the certificate check and for IAM token signing.
    pub host: String,
    /// Where the socket actually goes when that differs from `host` (a tunnel's 127.0.0.1).
    pub hostaddr: Option<IpAddr>,
    /// TCP port of the socket.
    pub port: u16,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.hostaddr {
            Some(addr) => write!(f, "{}:{} (via {addr})", self.host, self.port),
            None => write!(f, "{}:{}", self.host, self.port),
        }
    }
}

/// Everything needed to open one session.
#[derive(Clone, Debug)]
pub struct ConnectParams {
    /// Where to connect.
    pub endpoint: Endpoint,
    /// Database name.
    pub database: String,
    /// Database user.
    pub user: String,
    /// Password or IAM token.
    pub password: Secret,
    /// Connect timeout.
    pub timeout: Duration,
}

/// A connection could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot connect to {endpoint} as \"{user}\"")]
pub struct ConnectError {
    /// Where we tried to go.
    pub endpoint: Endpoint,
    /// As whom.
    pub user: String,
    /// The driver's error.
    #[source]
    pub source: tokio_postgres::Error,
}

impl ConnectError {
    /// What went wrong, named from the error values (see [`diagnose`]).
    pub fn failure(&self) -> Failure {
        diagnose::classify(self)
    }

    /// The error with what to do next, worked out from the cause. With more context (what was
    /// sent, the security groups from the inventory) use [`Failure::explain`] directly.
    pub fn to_user_error(&self) -> UserError {
        self.failure()
            .explain(&FailureContext::of(self), &error_chain(&self.source))
    }
}

/// Opens a session and spawns the task that drives it; the task ends when the client is dropped.
/// The server's notices are only logged: use [`connect_with_notices`] to keep them.
pub async fn connect(
    params: &ConnectParams,
    tls: Arc<rustls::ClientConfig>,
) -> Result<tokio_postgres::Client, ConnectError> {
    connect_driven(params, tls, None).await
}

/// Opens a session whose connection task queues the server's notices (`RAISE NOTICE`, warnings)
/// in `notices`, as the query editor shows them; the task ends when the client is dropped.
pub async fn connect_with_notices(
    params: &ConnectParams,
    tls: Arc<rustls::ClientConfig>,
    notices: crate::query::NoticeQueue,
) -> Result<tokio_postgres::Client, ConnectError> {
    connect_driven(params, tls, Some(notices)).await
}

async fn connect_driven(
    params: &ConnectParams,
    tls: Arc<rustls::ClientConfig>,
    notices: Option<crate::query::NoticeQueue>,
) -> Result<tokio_postgres::Client, ConnectError> {
    let mut config = tokio_postgres::Config::new();
    config
        .host(&params.endpoint.host)
        .port(params.endpoint.port)
        .dbname(&params.database)
        .user(&params.user)
        .password(params.password.expose())
        .application_name("rds-explorer")
        .connect_timeout(params.timeout)
        // Require: the handshake must succeed; rustls then verifies chain and name (verify-full).
        .ssl_mode(tokio_postgres::config::SslMode::Require);
    if let Some(addr) = params.endpoint.hostaddr {
        config.hostaddr(addr);
    }
    let make_tls = tokio_postgres_rustls::MakeRustlsConnect::new(Arc::unwrap_or_clone(tls));
    let error = |source| ConnectError {
        endpoint: params.endpoint.clone(),
        user: params.user.clone(),
        source,
    };
    let (client, connection) = config.connect(make_tls).await.map_err(error)?;
    let endpoint = params.endpoint.to_string();
    tokio::spawn(async move {
        let result = match notices {
            Some(notices) => crate::query::drive_connection(connection, notices).await,
            None => connection.await,
        };
        if let Err(error) = result {
            tracing::warn!(%endpoint, %error, "database connection closed with an error");
        }
    });
    Ok(client)
}
