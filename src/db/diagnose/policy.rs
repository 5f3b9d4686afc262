//! The IAM side of the checklist: may the caller `rds-db:connect` as this user on this resource?
//! Answered by IAM's own simulator on the exact `dbuser` ARN when the caller may run it; when it
//! may not, the check is skipped and says which ARN an admin should look at.

use aws_config::SdkConfig;

use super::checks::{Check, CheckKind, CheckStatus};
use super::resource::DbResource;
use crate::aws::error::{AwsCallError, AwsErrorKind};
use crate::aws::iam_simulation::{
    Decision, PolicySource, Simulation, role_arn, simulate_rds_connect,
};
use crate::aws::identity::Identity;

/// Simulates `rds-db:connect` for `identity` as `user` on `resource`.
pub(super) async fn iam_policy_check(
    config: &SdkConfig,
    identity: Option<&Identity>,
    resource: Option<&DbResource>,
    user: &str,
) -> Check {
    let skipped = |detail: String| Check::new(CheckKind::IamPolicy, CheckStatus::Skipped, detail);
    let Some(identity) = identity else {
        return skipped("not checked: the AWS identity is unknown".to_owned());
    };
    let Some(resource) = resource else {
        return skipped(format!(
            "not checked: the database's resource id is unknown; an admin can check \
             rds-db:connect on arn:aws:rds-db:<region>:{}:dbuser:<DbiResourceId>/{user}",
            identity.account
        ));
    };
    let Some(resource_arn) = resource.dbuser_arn(&identity.account, user) else {
        return skipped(format!(
            "not checked: the inventory has no resource id for {}",
            resource.label()
        ));
    };
    let policy_source = match PolicySource::of_caller(&identity.arn) {
        PolicySource::User(arn) => arn,
        PolicySource::Role { name, arn } => match role_arn(config, &name).await {
            Ok(with_path) if !with_path.is_empty() => with_path,
            // Without iam:GetRole the path is unknown; roles without one still simulate.
            _ => arn,
        },
        PolicySource::Unsupported(why) => return skipped(format!("not simulated: {why}")),
    };
    match simulate_rds_connect(config, &policy_source, &resource_arn).await {
        Ok(simulation) => from_simulation(&simulation),
        Err(error) => not_simulated(&error, &policy_source, &resource_arn),
    }
}

fn not_simulated(error: &AwsCallError, principal: &str, resource_arn: &str) -> Check {
    let why = if error.kind == AwsErrorKind::AccessDenied {
        "your identity may not call iam:SimulatePrincipalPolicy".to_owned()
    } else {
        format!("the simulation failed: {error}")
    };
    Check::new(
        CheckKind::IamPolicy,
        CheckStatus::Skipped,
        format!("not simulated: {why}"),
    )
    .with_next_step(format!(
        "Ask an admin to check that {principal} may rds-db:connect on {resource_arn} (with the \
         DbiResourceId, cluster-… or prx-… id, never the instance name), and that no Deny, \
         permissions boundary or SCP blocks it"
    ))
}

/// The simulator's answer as a check.
pub(super) fn from_simulation(simulation: &Simulation) -> Check {
    let Simulation {
        policy_source_arn: principal,
        resource_arn,
        ..
    } = simulation;
    let policies = if simulation.matched_policies.is_empty() {
        String::new()
    } else {
        format!(" (by {})", simulation.matched_policies.join(", "))
    };
    match simulation.decision {
        Decision::Allowed | Decision::ImplicitDeny if !simulation.missing_context.is_empty() => {
            Check::new(
                CheckKind::IamPolicy,
                CheckStatus::Warn,
                format!(
                    "rds-db:connect on {resource_arn} depends on conditions on {}, which the \
                     simulator could not evaluate (IAM DB authentication may not support them)",
                    simulation.missing_context.join(", ")
                ),
            )
            .with_next_step(format!(
                "Check the Condition of the statements about rds-db:connect on {resource_arn}"
            ))
        }
        Decision::Allowed => Check::new(
            CheckKind::IamPolicy,
            CheckStatus::Pass,
            format!("{principal} may rds-db:connect on {resource_arn}{policies}"),
        ),
        Decision::ExplicitDeny => {
            let by = match (
                simulation.allowed_by_organizations,
                simulation.allowed_by_boundary,
            ) {
                (Some(false), _) => " by a service control policy (SCP)".to_owned(),
                (_, Some(false)) => " by the permissions boundary".to_owned(),
                _ => policies.clone(),
            };
            Check::new(
                CheckKind::IamPolicy,
                CheckStatus::Fail,
                format!("{principal} is explicitly denied rds-db:connect on {resource_arn}{by}"),
            )
            .with_next_step("Ask an admin to remove or narrow the Deny; it beats every Allow")
        }
        Decision::ImplicitDeny => {
            let detail = match simulation.allowed_by_boundary {
                Some(false) => format!(
                    "{principal}'s permissions boundary does not allow rds-db:connect on \
                     {resource_arn}"
                ),
                _ => format!("no policy of {principal} allows rds-db:connect on {resource_arn}"),
            };
            Check::new(CheckKind::IamPolicy, CheckStatus::Fail, detail).with_next_step(format!(
                "Ask an admin to allow rds-db:connect on {resource_arn}: the resource id is the \
                 DbiResourceId (db-…), an Aurora cluster's cluster-… id or a proxy's prx-… id, \
                 never the instance name"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn simulation(decision: Decision) -> Simulation {
        Simulation {
            policy_source_arn: "arn:aws:iam::1:user/dev".into(),
            resource_arn: "arn:aws:rds-db:us-east-1:1:dbuser:db-A/app".into(),
            decision,
            matched_policies: vec!["db-connect".into()],
            missing_context: Vec::new(),
            allowed_by_organizations: None,
            allowed_by_boundary: None,
        }
    }

    #[test]
    fn decisions_become_checks() {
        let allowed = from_simulation(&simulation(Decision::Allowed));
        assert_eq!(allowed.status, CheckStatus::Pass);
        assert!(
            allowed.detail.contains("(by db-connect)"),
            "{}",
            allowed.detail
        );

        let mut conditional = simulation(Decision::ImplicitDeny);
        conditional.missing_context = vec!["aws:ResourceTag/env".into()];
        assert_eq!(from_simulation(&conditional).status, CheckStatus::Warn);

        let denied = from_simulation(&simulation(Decision::ImplicitDeny));
        assert_eq!(denied.status, CheckStatus::Fail);
        assert!(denied.next_step.unwrap().contains("DbiResourceId"));

        let mut scp = simulation(Decision::ExplicitDeny);
        scp.allowed_by_organizations = Some(false);
        assert!(
            from_simulation(&scp)
                .detail
                .contains("service control policy")
        );
    }

    #[test]
    fn a_refused_simulation_is_skipped_with_the_arn_to_check() {
        let error = AwsCallError {
            api: "iam:SimulatePrincipalPolicy".into(),
            region: "us-east-1".into(),
            kind: AwsErrorKind::AccessDenied,
            message: "AccessDenied".into(),
        };
        let check = not_simulated(&error, "arn:aws:iam::1:user/dev", "arn:…:dbuser:db-A/app");
        assert_eq!(check.status, CheckStatus::Skipped);
        assert!(
            check
                .detail
                .contains("may not call iam:SimulatePrincipalPolicy")
        );
        assert!(check.next_step.unwrap().contains("arn:…:dbuser:db-A/app"));
    }
}
