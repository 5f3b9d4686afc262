//! Production safety: sessions on resources that match the production tag rules (or saved as
//! read-only) start with `default_transaction_read_only = on` and a `statement_timeout`, and
//! stay that way until the user unlocks the session explicitly. Plain `SET`s after login (not
//! startup options), so it works the same through RDS Proxy.

use std::fmt::Write as _;
use std::time::Duration;

use tokio_postgres::Client;

/// How a session is guarded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Safety {
    /// Transactions are read-only unless the session is unlocked.
    pub read_only: bool,
    /// Statements longer than this are cancelled by the server.
    pub statement_timeout: Option<Duration>,
}

impl Safety {
    /// The guard for a resource: `production` resources get read-only and `timeout`; a
    /// connection saved as read-only is read-only without a timeout.
    pub fn for_connection(production: bool, read_only: bool, timeout: Duration) -> Self {
        Self {
            read_only: production || read_only,
            statement_timeout: (production && !timeout.is_zero()).then_some(timeout),
        }
    }

    /// The `SET` statements that apply it; empty when there is nothing to guard.
    pub fn sql(&self) -> String {
        let mut sql = String::new();
        if self.read_only {
            sql.push_str("SET default_transaction_read_only = on;");
        }
        if let Some(timeout) = self.statement_timeout {
            let _ = write!(sql, " SET statement_timeout = {};", timeout.as_millis());
        }
        sql.trim_start().to_owned()
    }
}

/// Applies `safety` to a fresh session.
pub async fn apply(client: &Client, safety: &Safety) -> Result<(), tokio_postgres::Error> {
    let sql = safety.sql();
    if sql.is_empty() {
        return Ok(());
    }
    client.batch_execute(&sql).await
}

/// Unlocks a guarded session: writes are allowed again; the statement timeout stays.
pub async fn unlock(client: &Client) -> Result<(), tokio_postgres::Error> {
    client
        .batch_execute("SET default_transaction_read_only = off")
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_gets_read_only_and_the_timeout() {
        let timeout = Duration::from_secs(30);
        let production = Safety::for_connection(true, false, timeout);
        assert_eq!(
            production.sql(),
            "SET default_transaction_read_only = on; SET statement_timeout = 30000;"
        );
        assert_eq!(
            Safety::for_connection(false, true, timeout).sql(),
            "SET default_transaction_read_only = on;"
        );
        assert_eq!(Safety::for_connection(false, false, timeout).sql(), "");
        assert_eq!(
            Safety::for_connection(true, false, Duration::ZERO).sql(),
            "SET default_transaction_read_only = on;"
        );
    }
}
