//! Database passwords in the OS keyring (the Secret Service on Linux: GNOME Keyring, `KWallet`),
//! one entry per (saved connection, database user), under the service name `rds-explorer`.
//!
//! When there is no keyring (no session bus, no Secret Service, a locked or refusing one — as on
//! CI and on most servers) the answer is [`PasswordLookup::AskEachTime`] with the reason: the
//! password is asked for each time and kept in memory only. There is deliberately no fallback to a
//! file. Every call talks to D-Bus and may block: call from `spawn_blocking`, never from the UI.

use std::sync::Arc;

use keyring_core::api::CredentialStore;
use keyring_core::{Entry, Error as KeyringError};

use crate::jobs::UserError;
use crate::secret::Secret;

/// The keyring service name of every entry.
pub const SERVICE: &str = "rds-explorer";

/// Where saved passwords live, or why nowhere.
#[derive(Clone)]
pub struct Keyring {
    store: Result<Arc<CredentialStore>, String>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.store {
            Ok(store) => write!(f, "Keyring({})", store.vendor()),
            Err(reason) => write!(f, "Keyring(unavailable: {reason})"),
        }
    }
}

/// The result of looking a password up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PasswordLookup {
    /// The saved password.
    Saved(Secret),
    /// The keyring works but holds nothing for this connection and user: ask, and offer to save.
    NotSaved,
    /// There is no usable keyring: ask each time (never written anywhere). Why, for the dialog.
    AskEachTime {
        /// E.g. `no D-Bus session bus`.
        reason: String,
    },
}

/// A keyring operation failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyringFailure {
    /// There is no usable keyring.
    #[error("no keyring is available ({reason})")]
    Unavailable {
        /// Why.
        reason: String,
    },
    /// The keyring refused or failed.
    #[error("the keyring failed for connection \"{connection}\", user \"{user}\": {reason}")]
    Failed {
        /// The saved connection.
        connection: String,
        /// The database user.
        user: String,
        /// The keyring's error (never holds the password).
        reason: String,
    },
}

impl KeyringFailure {
    /// What the user can do about it.
    pub fn next_step(&self) -> &'static str {
        match self {
            Self::Unavailable { .. } => {
                "The password will be asked for each time and is never written to a file; to \
                 remember it, run a Secret Service (GNOME Keyring, KWallet) in your session"
            }
            Self::Failed { .. } => {
                "Unlock the keyring (your login keyring) and try again, or type the password"
            }
        }
    }

    /// As shown in the jobs panel.
    pub fn to_user_error(&self) -> UserError {
        UserError::new(self.to_string(), self.next_step())
    }
}

impl Keyring {
    /// Connects to the session's Secret Service. Never fails: without one, every lookup says
    /// [`PasswordLookup::AskEachTime`] with the reason.
    pub fn open() -> Self {
        let store = zbus_secret_service_keyring_store::Store::new()
            .map(|store| -> Arc<CredentialStore> { store })
            .map_err(|error| unavailable_reason(&error));
        if let Err(reason) = &store {
            tracing::info!(reason, "no keyring: passwords will be asked for each time");
        }
        Self { store }
    }

    /// A keyring over `store` (tests use keyring-core's mock store).
    pub fn with_store(store: Arc<CredentialStore>) -> Self {
        Self { store: Ok(store) }
    }

    /// No keyring, for `reason`.
    pub fn unavailable(reason: impl Into<String>) -> Self {
        Self {
            store: Err(reason.into()),
        }
    }

    /// `None` when passwords can be saved; else why not.
    pub fn unavailable_reason(&self) -> Option<&str> {
        self.store.as_ref().err().map(String::as_str)
    }

    /// The saved password of `user` for the saved connection `connection`.
    pub fn lookup(&self, connection: &str, user: &str) -> PasswordLookup {
        match self.get(connection, user) {
            Ok(Some(password)) => PasswordLookup::Saved(password),
            Ok(None) => PasswordLookup::NotSaved,
            Err(KeyringFailure::Unavailable { reason } | KeyringFailure::Failed { reason, .. }) => {
                PasswordLookup::AskEachTime { reason }
            }
        }
    }

    /// The saved password, `None` if there is none.
    pub fn get(&self, connection: &str, user: &str) -> Result<Option<Secret>, KeyringFailure> {
        let entry = self.entry(connection, user)?;
        match entry.get_password() {
            Ok(password) => Ok(Some(Secret::new(password))),
            Err(KeyringError::NoEntry) => Ok(None),
            Err(error) => Err(self.failure(connection, user, &error)),
        }
    }

    /// Saves (or replaces) the password.
    pub fn set(
        &self,
        connection: &str,
        user: &str,
        password: &Secret,
    ) -> Result<(), KeyringFailure> {
        self.entry(connection, user)?
            .set_password(password.expose())
            .map_err(|error| self.failure(connection, user, &error))
    }

    /// Deletes the saved password; `false` if there was none.
    pub fn delete(&self, connection: &str, user: &str) -> Result<bool, KeyringFailure> {
        match self.entry(connection, user)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(KeyringError::NoEntry) => Ok(false),
            Err(error) => Err(self.failure(connection, user, &error)),
        }
    }

    fn entry(&self, connection: &str, user: &str) -> Result<Entry, KeyringFailure> {
        let store = self
            .store
            .as_ref()
            .map_err(|reason| KeyringFailure::Unavailable {
                reason: reason.clone(),
            })?;
        store
            .build(SERVICE, &account(connection, user), None)
            .map_err(|error| self.failure(connection, user, &error))
    }

    fn failure(&self, connection: &str, user: &str, error: &KeyringError) -> KeyringFailure {
        match error {
            KeyringError::NoStorageAccess(_) | KeyringError::PlatformFailure(_) => {
                KeyringFailure::Failed {
                    connection: connection.to_owned(),
                    user: user.to_owned(),
                    reason: reason_text(error),
                }
            }
            _ if self.store.is_err() => KeyringFailure::Unavailable {
                reason: reason_text(error),
            },
            _ => KeyringFailure::Failed {
                connection: connection.to_owned(),
                user: user.to_owned(),
                reason: reason_text(error),
            },
        }
    }
}

/// The keyring account of a (connection, user) pair: both parts, so two connections with the
/// same user name keep their own passwords.
fn account(connection: &str, user: &str) -> String {
    format!("{user}@{connection}")
}

/// Why a store could not be opened, in a user's words.
fn unavailable_reason(error: &KeyringError) -> String {
    let text = reason_text(error);
    let lower = text.to_ascii_lowercase();
    let no_bus = lower.contains("dbus_session_bus_address")
        || lower.contains("session bus")
        || lower.contains("failed to connect to address");
    if no_bus {
        format!("no D-Bus session bus ({text})")
    } else if lower.contains("org.freedesktop.secrets") || lower.contains("serviceunknown") {
        format!("no Secret Service on the session bus ({text})")
    } else {
        text
    }
}

/// The error and its sources; keyring errors never carry the password (`BadEncoding` and
/// `BadDataFormat` carry bytes, which are not printed by their `Display`).
fn reason_text(error: &KeyringError) -> String {
    crate::jobs::error_chain(error)
}

#[cfg(test)]
mod tests {
    use keyring_core::mock;

    use super::*;

    fn mock_keyring() -> Keyring {
        let store: Arc<CredentialStore> = mock::Store::new().unwrap();
        Keyring::with_store(store)
    }

    #[test]
    fn passwords_round_trip_per_connection_and_user() {
        let keyring = mock_keyring();
        assert_eq!(keyring.lookup("prod", "app"), PasswordLookup::NotSaved);
        keyring.set("prod", "app", &Secret::from("s3cret")).unwrap();
        keyring.set("dev", "app", &Secret::from("other")).unwrap();
        assert_eq!(
            keyring.lookup("prod", "app"),
            PasswordLookup::Saved(Secret::from("s3cret"))
        );
        assert_eq!(
            keyring.get("dev", "app").unwrap(),
            Some(Secret::from("other"))
        );
        assert!(keyring.delete("prod", "app").unwrap());
        assert!(!keyring.delete("prod", "app").unwrap());
        assert_eq!(keyring.get("prod", "app").unwrap(), None);
        assert!(keyring.unavailable_reason().is_none());
    }

    #[test]
    fn without_a_keyring_every_call_says_ask_each_time() {
        let keyring = Keyring::unavailable("no D-Bus session bus");
        assert_eq!(
            keyring.lookup("prod", "app"),
            PasswordLookup::AskEachTime {
                reason: "no D-Bus session bus".into()
            }
        );
        let error = keyring
            .set("prod", "app", &Secret::from("s3cret"))
            .unwrap_err();
        assert!(matches!(error, KeyringFailure::Unavailable { .. }));
        let shown = error.to_user_error().to_string();
        assert!(shown.contains("asked for each time"), "{shown}");
        assert!(shown.contains("never written to a file"), "{shown}");
        assert!(!shown.contains("s3cret"));
        assert!(format!("{keyring:?}").contains("unavailable"));
    }

    #[test]
    fn a_locked_or_failing_store_is_reported_and_lookups_fall_back_to_asking() {
        let keyring = mock_keyring();
        let failure = keyring.failure(
            "prod",
            "app",
            &KeyringError::NoStorageAccess("collection is locked".into()),
        );
        assert!(matches!(failure, KeyringFailure::Failed { .. }));
        assert!(failure.to_string().contains("collection is locked"));
        assert!(failure.next_step().contains("Unlock"));
        let reason = unavailable_reason(&KeyringError::PlatformFailure(
            "D-Bus error: DBUS_SESSION_BUS_ADDRESS not set".into(),
        ));
        assert!(reason.starts_with("no D-Bus session bus"), "{reason}");
        let reason = unavailable_reason(&KeyringError::PlatformFailure(
            "zbus error: Failed to connect to address `unix:path=/run/user/0/bus`".into(),
        ));
        assert!(reason.starts_with("no D-Bus session bus"), "{reason}");
    }
}
