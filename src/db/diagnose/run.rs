//! The IAM login checklist as one async call: STS and the resource lookup run side by side, then
//! the simulation; everything else is computed from the refused token and the endpoint.

use std::time::SystemTime;

use aws_config::SdkConfig;

use super::checks::{self, Check, CheckKind, CheckStatus};
use super::failure::Failure;
use super::policy::iam_policy_check;
use super::resource::DbResource;
use super::sql::membership_check;
use super::token_facts::TokenFacts;
use crate::auth::endpoint::region_from_host;
use crate::aws::identity::caller_identity;
use crate::aws::inventory::fetch_databases;
use crate::db::connect::Endpoint;
use crate::secret::Secret;

/// One refused IAM login, as the connect flow knows it.
#[derive(Clone, Debug)]
pub struct IamLoginAttempt {
    /// Where the connection went: `host` is the real endpoint name; `hostaddr`/`port` may be a
    /// tunnel's.
    pub endpoint: Endpoint,
    /// The endpoint's real port (equal to `endpoint.port` when not tunnelled).
    pub real_port: u16,
    /// The database user.
    pub user: String,
    /// The token that was refused. Only its signed fields are read; it is never shown.
    pub token: Secret,
    /// When the connection was attempted (a token may expire between the attempt and now).
    pub attempted_at: SystemTime,
    /// The resource from the inventory, when the connection was opened from it; otherwise it
    /// is looked up by endpoint name with `DescribeDBInstances`/`Clusters`/`Proxies`.
    pub resource: Option<DbResource>,
}

/// The checklist's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnosis {
    /// Every check, in checklist order.
    pub checks: Vec<Check>,
}

impl Diagnosis {
    /// The checks that failed: the likely causes.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks
            .iter()
            .filter(|check| check.status == CheckStatus::Fail)
    }

    /// The check of one kind.
    pub fn check(&self, kind: CheckKind) -> Option<&Check> {
        self.checks.iter().find(|check| check.kind == kind)
    }

    /// One line for a job's outcome: the first failure, or that nothing was found.
    pub fn summary(&self) -> String {
        match self.failures().next() {
            Some(check) => format!("{}: {}", check.name, check.detail),
            None => "no cause found; see the warnings and skipped checks".to_owned(),
        }
    }
}

/// Runs the checklist for a refused IAM login. `config` is the profile's SDK configuration for
/// the database's region (the one that signed the token). Never fails: what cannot be checked
/// is a [`CheckStatus::Skipped`] check saying why.
pub async fn diagnose_iam_login(
    config: &SdkConfig,
    attempt: &IamLoginAttempt,
    failure: &Failure,
) -> Diagnosis {
    let host = attempt.endpoint.host.as_str();
    let (identity, resource) =
        tokio::join!(caller_identity(config), find_resource(config, attempt));
    let skew_secs = identity
        .as_ref()
        .ok()
        .and_then(|identity| identity.clock_skew_secs);
    let known_resource = resource.as_ref().ok();

    let mut list = Vec::with_capacity(10);
    match TokenFacts::parse(&attempt.token) {
        Ok(facts) => {
            list.push(checks::token_age(&facts, attempt.attempted_at, skew_secs));
            list.push(checks::token_endpoint(
                &facts,
                host,
                attempt.real_port,
                attempt.endpoint.port,
                known_resource,
            ));
            list.push(checks::token_region(&facts, host, known_resource));
            list.push(checks::token_user(&facts, &attempt.user));
        }
        Err(error) => list.push(
            Check::new(CheckKind::TokenShape, CheckStatus::Fail, error.to_string()).with_next_step(
                "Connect with IAM authentication so that a token is signed, or choose \
                     password authentication",
            ),
        ),
    }
    list.push(checks::clock_skew(identity.as_ref()));
    list.push(checks::caller_identity(identity.as_ref()));
    list.push(checks::iam_auth_enabled(
        resource.as_ref().map_err(String::as_str),
    ));
    list.push(
        iam_policy_check(
            config,
            identity.as_ref().ok(),
            known_resource,
            &attempt.user,
        )
        .await,
    );
    list.push(membership_check(failure, &attempt.user));
    Diagnosis { checks: list }
}

/// The attempt's resource, or the one whose endpoint is `host` in the region; `Err` says why
/// there is none.
async fn find_resource(
    config: &SdkConfig,
    attempt: &IamLoginAttempt,
) -> Result<DbResource, String> {
    if let Some(resource) = &attempt.resource {
        return Ok(resource.clone());
    }
    let host = &attempt.endpoint.host;
    // The calls go to the configuration's region, which must be the database's.
    let region = config
        .region()
        .map(ToString::to_string)
        .or_else(|| region_from_host(host))
        .ok_or_else(|| format!("not checked: no region is known for \"{host}\""))?;
    let inventory = fetch_databases(config, &region).await;
    if let Some(resource) = DbResource::find_by_host(&inventory, host) {
        return Ok(resource);
    }
    match inventory.errors.first() {
        Some(error) => Err(format!("not checked: {error}")),
        None => Err(format!(
            "not checked: no instance, cluster or proxy in {region} has the endpoint \"{host}\""
        )),
    }
}
