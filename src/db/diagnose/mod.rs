//! Why a database connection failed, and what to do about it.
//!
//! Two layers. [`classify`] is pure: it reads a [`ConnectError`] (the server's SQLSTATE and
//! message, the rustls error inside the TLS failure, the socket error) and names the cause as a
//! [`Failure`], which [`Failure::explain`] turns into a [`UserError`] whose next step fits that
//! cause (the missing region root and "Update CA bundle", the TLS name that was used, the security
//! groups to check). [`diagnose_iam_login`] is the checklist run after `PAM authentication
//! failed` (or a token taken as a password): it parses the refused token, asks STS who the
//! credentials belong to and how far the clock is off, reads the resource's IAM setting, simulates
//! `rds-db:connect` on the exact `dbuser` ARN, and returns one [`Check`] per item of the
//! reference checklist, with the SQL an admin can run for `rds_iam` membership.
//!
//! Nothing here shows a token or a password: the token is parsed for its signed fields only, and
//! every message names fields (host, port, region, user, signing time), never values of secrets.

mod checks;
mod failure;
mod network;
mod policy;
mod resource;
mod run;
mod sql;
mod tls;
mod token_facts;

pub use checks::{Check, CheckKind, CheckStatus};
pub use failure::{CredentialKind, Failure, FailureContext, classify, classify_source};
pub use network::NetworkFailure;
pub use resource::{DbResource, IamAuthSetting};
pub use run::{Diagnosis, IamLoginAttempt, diagnose_iam_login};
pub use sql::{grant_rds_iam_sql, rds_iam_membership_sql};
pub use tls::{BUNDLED_CA_REGIONS, TlsFailure};
pub use token_facts::{TokenFacts, TokenParseError};

#[cfg(doc)]
use crate::db::connect::ConnectError;
#[cfg(doc)]
use crate::jobs::UserError;
