//! The items of the IAM login checklist, each a pure function from what is known (the refused
//! token's signed fields, the endpoint, the caller identity, the resource) to a [`Check`].

use std::time::{Duration, SystemTime};

use super::resource::{DbResource, IamAuthSetting};
use super::token_facts::TokenFacts;
use crate::auth::endpoint::region_from_host;
use crate::auth::token::SIGNING_NAME;
use crate::aws::error::AwsCallError;
use crate::aws::identity::{Identity, MAX_CLOCK_SKEW_SECS};

/// How one check came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckStatus {
    /// Fine: not the cause.
    Pass,
    /// Wrong: a cause of the failure.
    Fail,
    /// Suspicious or undecidable: may be the cause.
    Warn,
    /// Not checked; `detail` says why.
    Skipped,
}

/// Which item of the checklist.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CheckKind {
    /// The password sent is an IAM auth token at all.
    TokenShape,
    /// The token was inside its 15 minutes (and not from the future) when it was used.
    TokenAge,
    /// This computer's clock against AWS's.
    ClockSkew,
    /// The token was signed for the host and real port connected to.
    TokenEndpoint,
    /// The token was signed for the database's region.
    TokenRegion,
    /// The token was signed for the user that logged in.
    TokenUser,
    /// Who the credentials belong to.
    CallerIdentity,
    /// IAM DB authentication is enabled on the resource.
    IamAuthEnabled,
    /// IAM allows `rds-db:connect` on the exact `dbuser` ARN.
    IamPolicy,
    /// The user is a member of `rds_iam` (database side).
    RdsIamMembership,
}

/// One result of the checklist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// Which item.
    pub kind: CheckKind,
    /// Its title, e.g. `Token age`.
    pub name: String,
    /// The outcome.
    pub status: CheckStatus,
    /// What was found.
    pub detail: String,
    /// What to do about it.
    pub next_step: Option<String>,
    /// SQL for an admin to run (with a Copy button in the UI).
    pub sql: Option<String>,
}

impl Check {
    pub(super) fn new(kind: CheckKind, status: CheckStatus, detail: impl Into<String>) -> Self {
        Self {
            kind,
            name: title(kind).to_owned(),
            status,
            detail: detail.into(),
            next_step: None,
            sql: None,
        }
    }

    pub(super) fn with_next_step(mut self, next_step: impl Into<String>) -> Self {
        self.next_step = Some(next_step.into());
        self
    }

    pub(super) fn with_sql(mut self, sql: String) -> Self {
        self.sql = Some(sql);
        self
    }
}

fn title(kind: CheckKind) -> &'static str {
    match kind {
        CheckKind::TokenShape => "IAM auth token",
        CheckKind::TokenAge => "Token age",
        CheckKind::ClockSkew => "Clock",
        CheckKind::TokenEndpoint => "Token host and port",
        CheckKind::TokenRegion => "Token region",
        CheckKind::TokenUser => "Token user",
        CheckKind::CallerIdentity => "AWS identity",
        CheckKind::IamAuthEnabled => "IAM auth on the database",
        CheckKind::IamPolicy => "IAM policy (rds-db:connect)",
        CheckKind::RdsIamMembership => "rds_iam membership",
    }
}

/// How far future `X-Amz-Date`s are tolerated (the same as SigV4 requests).
const FUTURE_TOLERANCE: Duration = Duration::from_mins(5);

/// Whether the token was valid when it was used. `skew_secs` (local minus AWS) turns the local
/// attempt time into AWS's, which is what RDS compares with.
pub(super) fn token_age(
    facts: &TokenFacts,
    attempted_at: SystemTime,
    skew_secs: Option<i64>,
) -> Check {
    let aws_time = match skew_secs {
        Some(skew) if skew >= 0 => attempted_at - Duration::from_secs(skew.unsigned_abs()),
        Some(skew) => attempted_at + Duration::from_secs(skew.unsigned_abs()),
        None => attempted_at,
    };
    let clock = if skew_secs.is_some() {
        "by AWS's clock"
    } else {
        "by this computer's clock"
    };
    let lifetime = minutes(facts.expires_in);
    match aws_time.duration_since(facts.signed_at) {
        Err(ahead) if ahead.duration() > FUTURE_TOLERANCE => Check::new(
            CheckKind::TokenAge,
            CheckStatus::Fail,
            format!(
                "the token is dated {} in the future {clock}",
                minutes(ahead.duration())
            ),
        )
        .with_next_step("Sync this computer's clock (NTP): tokens are dated with it"),
        Err(_) => Check::new(
            CheckKind::TokenAge,
            CheckStatus::Pass,
            format!("signed just now, valid for {lifetime}"),
        ),
        Ok(age) if age >= facts.expires_in => Check::new(
            CheckKind::TokenAge,
            CheckStatus::Fail,
            format!(
                "the token had expired: it was signed {} before it was used ({clock}), and tokens \
                 are accepted for {lifetime}",
                minutes(age)
            ),
        )
        .with_next_step(
            "Sign a fresh token for each new connection (RDS Explorer does; a token copied from \
             earlier or cached too long is refused)",
        ),
        Ok(age) => Check::new(
            CheckKind::TokenAge,
            CheckStatus::Pass,
            format!(
                "signed {} before it was used ({clock}), within its {lifetime}",
                minutes(age)
            ),
        ),
    }
}

/// `14 min 5 s`.
fn minutes(duration: Duration) -> String {
    let secs = duration.as_secs();
    match (secs / 60, secs % 60) {
        (0, secs) => format!("{secs} s"),
        (mins, 0) => format!("{mins} min"),
        (mins, secs) => format!("{mins} min {secs} s"),
    }
}

/// This computer's clock against AWS's (from the STS answer's `Date`).
pub(super) fn clock_skew(identity: Result<&Identity, &AwsCallError>) -> Check {
    let Ok(identity) = identity else {
        return Check::new(
            CheckKind::ClockSkew,
            CheckStatus::Skipped,
            "not measured: STS did not answer (see AWS identity)",
        );
    };
    match identity.clock_skew_secs {
        None => Check::new(
            CheckKind::ClockSkew,
            CheckStatus::Skipped,
            "not measured: the STS answer had no Date header",
        ),
        Some(skew) if skew.abs() > MAX_CLOCK_SKEW_SECS => {
            let direction = if skew > 0 { "ahead of" } else { "behind" };
            Check::new(
                CheckKind::ClockSkew,
                CheckStatus::Fail,
                format!("this computer's clock is {} s {direction} AWS", skew.abs()),
            )
            .with_next_step("Sync the clock (NTP): tokens are dated with it")
        }
        Some(skew) => Check::new(
            CheckKind::ClockSkew,
            CheckStatus::Pass,
            format!("within {} s of AWS", skew.abs()),
        ),
    }
}

/// The host and port signed against those connected to. `real_port` is the endpoint's port,
/// `socket_port` where the socket went (a tunnel's local port).
pub(super) fn token_endpoint(
    facts: &TokenFacts,
    host: &str,
    real_port: u16,
    socket_port: u16,
    resource: Option<&DbResource>,
) -> Check {
    let signed = format!("{}:{}", facts.host, facts.port);
    let wanted = format!("{host}:{real_port}");
    let signed_for_address =
        facts.host.parse::<std::net::IpAddr>().is_ok() || facts.host == "localhost";
    if signed_for_address {
        return Check::new(
            CheckKind::TokenEndpoint,
            CheckStatus::Fail,
            format!("the token was signed for {signed}, a socket address, not for {wanted}"),
        )
        .with_next_step(format!(
            "Sign for the endpoint name and real port ({wanted}) even through a tunnel: the \
             host is inside the signature"
        ));
    }
    if !facts.host.eq_ignore_ascii_case(host) {
        return Check::new(
            CheckKind::TokenEndpoint,
            CheckStatus::Fail,
            format!("the token was signed for {signed} but the connection was to {wanted}"),
        )
        .with_next_step(format!(
            "Sign for the name you connect with ({host}); an alias, a CNAME or another endpoint \
             of the same database does not match"
        ));
    }
    if facts.port != real_port {
        let why = if facts.port == socket_port {
            format!(", the tunnel's local port, not the endpoint's port {real_port}")
        } else {
            format!(", but the endpoint listens on {real_port}")
        };
        return Check::new(
            CheckKind::TokenEndpoint,
            CheckStatus::Fail,
            format!("the token was signed for port {}{why}", facts.port),
        )
        .with_next_step(format!("Sign for {wanted}"));
    }
    let listed = match resource {
        // Aurora instance endpoints are not in the cluster's list, so only these can tell.
        Some(resource @ (DbResource::Instance(_) | DbResource::Proxy(_))) => {
            Some((resource.label(), resource.endpoint_hosts()))
        }
        _ => None,
    };
    if let Some((label, hosts)) = listed
        && !hosts.is_empty()
        && !hosts.contains(&host.to_ascii_lowercase())
    {
        return Check::new(
            CheckKind::TokenEndpoint,
            CheckStatus::Warn,
            format!(
                "signed for {signed}, which the inventory does not list as an endpoint of {label}"
            ),
        )
        .with_next_step(format!(
            "Connect to and sign for one of: {}",
            hosts.join(", ")
        ));
    }
    Check::new(
        CheckKind::TokenEndpoint,
        CheckStatus::Pass,
        format!("signed for {signed}, the endpoint connected to"),
    )
}

/// The region signed against the database's.
pub(super) fn token_region(facts: &TokenFacts, host: &str, resource: Option<&DbResource>) -> Check {
    if facts.service != SIGNING_NAME {
        return Check::new(
            CheckKind::TokenRegion,
            CheckStatus::Fail,
            format!(
                "the token was signed for service \"{}\", not \"{SIGNING_NAME}\"",
                facts.service
            ),
        )
        .with_next_step("Sign an RDS IAM auth token (service rds-db, action connect)");
    }
    let expected = resource
        .map(|resource| resource.region().to_owned())
        .or_else(|| region_from_host(host));
    match expected {
        None => Check::new(
            CheckKind::TokenRegion,
            CheckStatus::Warn,
            format!(
                "signed for {}; the database's region is not known here (\"{host}\" is not an \
                 RDS endpoint name)",
                facts.region
            ),
        )
        .with_next_step("Make sure the token is signed for the database's region"),
        Some(region) if region == facts.region => Check::new(
            CheckKind::TokenRegion,
            CheckStatus::Pass,
            format!("signed for {region}, the database's region"),
        ),
        Some(region) => {
            let hint = if facts.region == "us-east-1" {
                " (the AWS SDK's token generator falls back to us-east-1 when it is given no \
                 region)"
            } else {
                ""
            };
            Check::new(
                CheckKind::TokenRegion,
                CheckStatus::Fail,
                format!(
                    "the token was signed for {} but the database is in {region}{hint}",
                    facts.region
                ),
            )
            .with_next_step(format!(
                "Sign for {region}, not the profile's default region"
            ))
        }
    }
}

/// The user signed against the one that logged in.
pub(super) fn token_user(facts: &TokenFacts, user: &str) -> Check {
    if facts.user == user {
        return Check::new(
            CheckKind::TokenUser,
            CheckStatus::Pass,
            format!("signed for \"{user}\""),
        );
    }
    let detail = if facts.user.eq_ignore_ascii_case(user) {
        format!(
            "the token was signed for \"{}\" but the login was \"{user}\": user names are \
             case-sensitive",
            facts.user
        )
    } else {
        format!(
            "the token was signed for \"{}\" but the login was \"{user}\"",
            facts.user
        )
    };
    Check::new(CheckKind::TokenUser, CheckStatus::Fail, detail).with_next_step(format!(
        "Sign for \"{user}\", exactly as the database spells it"
    ))
}

/// Who the credentials are.
pub(super) fn caller_identity(identity: Result<&Identity, &AwsCallError>) -> Check {
    match identity {
        Ok(identity) => Check::new(
            CheckKind::CallerIdentity,
            CheckStatus::Pass,
            format!("{} (account {})", identity.arn, identity.account),
        ),
        Err(error) => Check::new(
            CheckKind::CallerIdentity,
            CheckStatus::Fail,
            format!("the credentials do not work: {error}"),
        )
        .with_next_step(format!(
            "{} (tokens signed with expired credentials are refused)",
            error.next_step()
        )),
    }
}

/// IAM auth on the resource, or why it could not be looked up.
pub(super) fn iam_auth_enabled(resource: Result<&DbResource, &str>) -> Check {
    let resource = match resource {
        Ok(resource) => resource,
        Err(why) => {
            return Check::new(CheckKind::IamAuthEnabled, CheckStatus::Skipped, why);
        }
    };
    let label = resource.label();
    match resource.iam_auth() {
        IamAuthSetting::Enabled => Check::new(
            CheckKind::IamAuthEnabled,
            CheckStatus::Pass,
            format!("IAM database authentication is enabled on {label}"),
        ),
        IamAuthSetting::Disabled => Check::new(
            CheckKind::IamAuthEnabled,
            CheckStatus::Fail,
            format!("IAM database authentication is off on {label}: tokens are not accepted"),
        )
        .with_next_step(
            "Enable it (modify the instance or Aurora cluster: IAM DB authentication; it applies \
             without a restart, after the modification completes)",
        ),
        IamAuthSetting::ProxyNotRequired { entries } => Check::new(
            CheckKind::IamAuthEnabled,
            CheckStatus::Fail,
            format!(
                "{label} does not require IAM for any of its secrets (IAMAuth: {}) and is not in \
                 end-to-end IAM mode",
                entries.join(", ")
            ),
        )
        .with_next_step("Set IAMAuth to REQUIRED on the proxy's secret for this user"),
    }
}

#[cfg(test)]
mod tests;
