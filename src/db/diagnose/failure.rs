//! Naming the cause of a failed connection from the error values themselves: the server's
//! SQLSTATE and message, the rustls error inside a TLS failure, the socket error's kind.

use std::error::Error;

use tokio_postgres::error::{DbError, SqlState};

use super::network::NetworkFailure;
use super::tls::TlsFailure;
use crate::db::connect::{ConnectError, Endpoint};
use crate::jobs::{UserError, error_chain};

/// Why a connection failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// `PAM authentication failed`: the user is an IAM user (a member of `rds_iam`) and the token
    /// was refused. [`super::diagnose_iam_login`] finds out why.
    IamTokenRefused,
    /// `password authentication failed`: the server used password auth. With an IAM token this
    /// means the user is not a member of `rds_iam`, or IAM auth is off for the database.
    PasswordRefused,
    /// `no pg_hba.conf entry`: the server has no rule for this user/database/address/encryption.
    NoHbaEntry,
    /// `role "…" does not exist`.
    RoleDoesNotExist,
    /// `role "…" is not permitted to log in` (a NOLOGIN group role).
    LoginNotPermitted,
    /// Authentication worked, but the user lacks CONNECT on the database.
    NoConnectPrivilege,
    /// The database does not exist.
    DatabaseDoesNotExist,
    /// The server is at its connection limit.
    TooManyConnections,
    /// The TLS handshake failed.
    Tls(TlsFailure),
    /// The socket could not be opened or was cut.
    Network(NetworkFailure),
    /// Another server error: its SQLSTATE and message.
    Server {
        /// SQLSTATE.
        code: String,
        /// The server's message.
        message: String,
    },
    /// Anything else: the error's text.
    Other(String),
}

/// What was sent, so the next step can tell an IAM problem from a password one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialKind {
    /// An IAM auth token.
    IamToken,
    /// A password (typed, from the keyring or from Secrets Manager).
    Password,
}

/// What the explanation may mention besides the error itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailureContext {
    /// Where the connection went.
    pub endpoint: Endpoint,
    /// As whom.
    pub user: String,
    /// What was sent as the password, when known.
    pub credential: Option<CredentialKind>,
    /// The resource's VPC security groups (from the inventory), for network hints.
    pub security_groups: Vec<String>,
}

impl FailureContext {
    /// The context a [`ConnectError`] carries by itself.
    pub fn of(error: &ConnectError) -> Self {
        Self {
            endpoint: error.endpoint.clone(),
            user: error.user.clone(),
            credential: None,
            security_groups: Vec::new(),
        }
    }

    fn through_tunnel(&self) -> bool {
        self.endpoint
            .hostaddr
            .is_some_and(|addr| addr.is_loopback())
    }
}

/// Names the cause of a failed connection.
pub fn classify(error: &ConnectError) -> Failure {
    classify_source(&error.source)
}

/// Names the cause from any error chain holding a tokio-postgres error.
pub fn classify_source(error: &(dyn Error + 'static)) -> Failure {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(db) = error.downcast_ref::<DbError>() {
            return from_server(db.code(), db.message());
        }
        if let Some(io) = error.downcast_ref::<std::io::Error>() {
            // io::Error::source() skips the wrapped error itself, so look inside here.
            if let Some(tls) = io
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            {
                return Failure::Tls(TlsFailure::from_rustls(tls));
            }
            if let Some(network) = NetworkFailure::from_io(io) {
                return Failure::Network(network);
            }
        }
        if let Some(tls) = error.downcast_ref::<rustls::Error>() {
            return Failure::Tls(TlsFailure::from_rustls(tls));
        }
        // tokio-postgres's own words when the server answers the SSLRequest with "N".
        if error.to_string() == "server does not support TLS" {
            return Failure::Tls(TlsFailure::ServerWithoutTls);
        }
        current = error.source();
    }
    Failure::Other(error_chain(error))
}

/// Names the cause of a server error from its SQLSTATE and message.
pub fn from_server(code: &SqlState, message: &str) -> Failure {
    // PostgreSQL reports a PAM refusal with 28000, a password one with 28P01.
    if message.starts_with("PAM authentication failed") {
        return Failure::IamTokenRefused;
    }
    if *code == SqlState::INVALID_PASSWORD && message.starts_with("password authentication failed")
    {
        return Failure::PasswordRefused;
    }
    if *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION {
        if message.starts_with("no pg_hba.conf entry") {
            return Failure::NoHbaEntry;
        }
        if message.ends_with("does not exist") && message.starts_with("role ") {
            return Failure::RoleDoesNotExist;
        }
        if message.ends_with("is not permitted to log in") {
            return Failure::LoginNotPermitted;
        }
    }
    if *code == SqlState::INSUFFICIENT_PRIVILEGE
        && message.starts_with("permission denied for database")
    {
        return Failure::NoConnectPrivilege;
    }
    if *code == SqlState::INVALID_CATALOG_NAME {
        return Failure::DatabaseDoesNotExist;
    }
    if *code == SqlState::TOO_MANY_CONNECTIONS {
        return Failure::TooManyConnections;
    }
    Failure::Server {
        code: code.code().to_owned(),
        message: message.to_owned(),
    }
}

impl Failure {
    /// Whether the IAM checklist ([`super::diagnose_iam_login`]) applies: the token was refused,
    /// or taken as a password.
    pub fn wants_iam_checklist(&self, credential: Option<CredentialKind>) -> bool {
        match self {
            Self::IamTokenRefused => true,
            Self::PasswordRefused => credential == Some(CredentialKind::IamToken),
            _ => false,
        }
    }

    /// The error as the user sees it: what failed, why, and what to do next. `detail` is the
    /// driver's own text (shown in brackets, for the log and bug reports).
    pub fn explain(&self, context: &FailureContext, detail: &str) -> UserError {
        let host = &context.endpoint.host;
        let user = &context.user;
        let port = context.endpoint.port;
        let tunnel = context.through_tunnel();
        let (cause, next_step) = match self {
            Self::IamTokenRefused => (
                format!("IAM authentication failed for \"{user}\""),
                "The token was refused: it expired, was signed for another host, port, region \
                 or user, or your IAM identity may not rds-db:connect as this user. Run Diagnose \
                 for the IAM checklist"
                    .to_owned(),
            ),
            Self::PasswordRefused => (
                format!("password authentication failed for \"{user}\""),
                match context.credential {
                    Some(CredentialKind::IamToken) => format!(
                        "The server took the IAM token as a password: \"{user}\" is not a member \
                         of rds_iam, or IAM auth is off for the database. Run Diagnose for the \
                         IAM checklist"
                    ),
                    _ => format!(
                        "Check the password of \"{user}\" (and that IAM is not required: a \
                         member of rds_iam can only log in with an IAM token)"
                    ),
                },
            ),
            Self::NoHbaEntry => (
                format!("the server has no access rule for \"{user}\" from this address"),
                "Ask the database admin: pg_hba.conf (on RDS: the parameter group) has no rule \
                 for this user, database and address over TLS"
                    .to_owned(),
            ),
            Self::RoleDoesNotExist => (
                format!("the database has no user \"{user}\""),
                "Check the user name and its case (PostgreSQL folds unquoted names to lower case \
                 at CREATE USER)"
                    .to_owned(),
            ),
            Self::LoginNotPermitted => (
                format!("\"{user}\" is a group role without LOGIN"),
                format!("Log in as a member of \"{user}\", or ask an admin to ALTER ROLE … LOGIN"),
            ),
            Self::NoConnectPrivilege => (
                format!("\"{user}\" logged in but may not connect to this database"),
                format!(
                    "Ask an admin to GRANT CONNECT ON DATABASE … TO \"{user}\" (with NOINHERIT, a \
                     group's CONNECT does not count)"
                ),
            ),
            Self::DatabaseDoesNotExist => (
                "the database does not exist".to_owned(),
                "Check the database name (RDS creates only the one named at creation, and \
                 postgres)"
                    .to_owned(),
            ),
            Self::TooManyConnections => (
                "the server has no free connection slots".to_owned(),
                "Close idle sessions or raise max_connections; try again in a moment".to_owned(),
            ),
            Self::Tls(tls) => (tls.summary(host), tls.next_step(host, tunnel)),
            Self::Network(network) => (
                network.summary(&context.endpoint.to_string()),
                network.next_step(port, &context.security_groups, tunnel),
            ),
            Self::Server { code, message } => (
                format!("the server refused: {message} (SQLSTATE {code})"),
                "Check the connection settings; the server's message says what it wants".to_owned(),
            ),
            Self::Other(_) => (
                "the connection failed".to_owned(),
                "Check the host, port and route, then try again; the log has details".to_owned(),
            ),
        };
        let endpoint = &context.endpoint;
        UserError::new(
            format!("cannot connect to {endpoint} as \"{user}\": {cause} ({detail})"),
            next_step,
        )
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Error as IoError, ErrorKind};
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;

    #[test]
    fn server_errors_are_told_apart_by_code_and_message() {
        let cases = [
            (
                SqlState::INVALID_AUTHORIZATION_SPECIFICATION,
                "PAM authentication failed for user \"iam_user\"",
                Failure::IamTokenRefused,
            ),
            (
                SqlState::INVALID_PASSWORD,
                "password authentication failed for user \"app\"",
                Failure::PasswordRefused,
            ),
            (
                SqlState::INVALID_AUTHORIZATION_SPECIFICATION,
                "no pg_hba.conf entry for host \"127.0.0.1\", user \"u\", database \"d\", no encryption",
                Failure::NoHbaEntry,
            ),
            (
                SqlState::INVALID_AUTHORIZATION_SPECIFICATION,
                "role \"App\" does not exist",
                Failure::RoleDoesNotExist,
            ),
            (
                SqlState::INVALID_AUTHORIZATION_SPECIFICATION,
                "role \"writers\" is not permitted to log in",
                Failure::LoginNotPermitted,
            ),
            (
                SqlState::INSUFFICIENT_PRIVILEGE,
                "permission denied for database \"app\"",
                Failure::NoConnectPrivilege,
            ),
            (
                SqlState::INVALID_CATALOG_NAME,
                "database \"nope\" does not exist",
                Failure::DatabaseDoesNotExist,
            ),
            (
                SqlState::TOO_MANY_CONNECTIONS,
                "sorry, too many clients already",
                Failure::TooManyConnections,
            ),
        ];
        for (code, message, expected) in cases {
            assert_eq!(from_server(&code, message), expected, "{message}");
        }
        assert_eq!(
            from_server(&SqlState::ADMIN_SHUTDOWN, "terminating"),
            Failure::Server {
                code: "57P01".into(),
                message: "terminating".into()
            }
        );
    }

    #[test]
    fn tls_and_socket_errors_are_found_inside_the_chain() {
        let rustls_inside_io = IoError::new(
            ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        assert_eq!(
            classify_source(&rustls_inside_io),
            Failure::Tls(TlsFailure::UnknownIssuer)
        );
        assert_eq!(
            classify_source(&IoError::from(ErrorKind::ConnectionRefused)),
            Failure::Network(NetworkFailure::Refused)
        );
        let no_tls: Box<dyn Error + Send + Sync> = "server does not support TLS".into();
        assert_eq!(
            classify_source(no_tls.as_ref()),
            Failure::Tls(TlsFailure::ServerWithoutTls)
        );
        assert!(matches!(
            classify_source(&IoError::from(ErrorKind::PermissionDenied)),
            Failure::Other(_)
        ));
    }

    fn context(credential: Option<CredentialKind>) -> FailureContext {
        FailureContext {
            endpoint: Endpoint {
                host: "db.abc.us-east-1.rds.amazonaws.com".into(),
                hostaddr: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
                port: 15432,
            },
            user: "app".into(),
            credential,
            security_groups: vec!["sg-1".into()],
        }
    }

    #[test]
    fn explanations_name_the_cause_and_the_next_step() {
        let shown = Failure::IamTokenRefused.explain(&context(None), "db error");
        assert!(
            shown.message.contains("IAM authentication failed"),
            "{shown}"
        );
        assert!(shown.message.ends_with("(db error)"), "{shown}");
        assert!(shown.next_step.contains("Diagnose"), "{shown}");

        let as_password =
            Failure::PasswordRefused.explain(&context(Some(CredentialKind::IamToken)), "db error");
        assert!(as_password.next_step.contains("rds_iam"), "{as_password}");
        assert!(
            Failure::PasswordRefused.wants_iam_checklist(Some(CredentialKind::IamToken))
                && !Failure::PasswordRefused.wants_iam_checklist(Some(CredentialKind::Password))
        );

        let network = Failure::Network(NetworkFailure::Refused).explain(&context(None), "x");
        assert!(network.message.contains("(via 127.0.0.1)"), "{network}");
        assert!(network.next_step.contains("tunnel"), "{network}");
    }
}
