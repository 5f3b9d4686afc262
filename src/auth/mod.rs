//! Database authentication with AWS identities: signing the IAM auth token that RDS, Aurora and
//! RDS Proxy accept as a password (`token`), for the region the endpoint is in (`endpoint`).
//!
//! Signing is pure computation over credentials and a clock reading; resolving credentials from a
//! profile's SDK configuration is the only part that may wait (SSO, assume-role). Tokens leave
//! this module wrapped in [`crate::secret::Secret`]; nothing here logs or stores them. Passwords
//! for password auth are kept in the OS keyring (`keyring`), never in a file. `login` picks the
//! password of one connection from its auth mode; `token_cache` reuses tokens for a while.

pub mod endpoint;
pub mod keyring;
pub mod login;
pub mod token;
pub mod token_cache;
