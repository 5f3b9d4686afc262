//! `Secret`: a wrapper for tokens, passwords and SSO access tokens that never prints its content.
//!
//! `Debug` and `Display` both print `***`, so a secret inside an error, a log line or a `{:?}` of a
//! larger struct stays hidden. The value is reachable only through [`Secret::expose`], which makes
//! every use greppable. It is not serializable on purpose: secrets never reach disk.

use std::fmt;

/// A value that must not reach logs, files, error messages or `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T = String>(T);

impl<T> Secret<T> {
    /// Wraps a secret value.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The secret itself. Call only where the value is really needed (a connection, a signature).
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[derive(Debug)]
    struct Login {
        #[expect(dead_code, reason = "only printed through Debug")]
        user: String,
        #[expect(dead_code, reason = "only printed through Debug")]
        password: Secret,
    }

    #[test]
    fn debug_and_display_hide_the_value() {
        let secret = Secret::from("hunter2");
        assert_eq!(format!("{secret}"), "***");
        assert_eq!(format!("{secret:?}"), "***");
        let login = Login {
            user: "app".into(),
            password: secret.clone(),
        };
        let printed = format!("{login:?} {login:#?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(printed.contains("app"));
        assert_eq!(secret.expose(), "hunter2");
    }
}
