//! Asking IAM itself whether an identity may `rds-db:connect`: `iam:SimulatePrincipalPolicy` for
//! the principal behind the caller's ARN, on one exact `dbuser` ARN. The simulator knows the
//! identity's policies, its permissions boundary and the organisation's SCPs, but not session
//! policies; conditions it cannot resolve come back as missing context, never as a guess.

use aws_config::SdkConfig;
use aws_sdk_iam::types::{EvaluationResult, PolicyEvaluationDecisionType};

use super::error::AwsCallError;

/// The only action of the `rds-db` service.
pub const RDS_CONNECT_ACTION: &str = "rds-db:connect";

/// Which principal to simulate for a caller ARN from STS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicySource {
    /// An IAM user: simulate it as is.
    User(String),
    /// A role session: simulate the role. `arn` has no path yet; [`role_arn`] looks it up.
    Role {
        /// The role's name.
        name: String,
        /// `arn:<partition>:iam::<account>:role/<name>` (without the role's path).
        arn: String,
    },
    /// A principal the simulator cannot take (root user, federated user); why.
    Unsupported(String),
}

impl PolicySource {
    /// The principal behind `caller_arn` (`GetCallerIdentity`'s ARN).
    pub fn of_caller(caller_arn: &str) -> Self {
        let mut parts = caller_arn.splitn(6, ':');
        let (Some("arn"), Some(partition), Some(service), Some(_), Some(account), Some(resource)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Self::Unsupported(format!("\"{caller_arn}\" is not an ARN"));
        };
        match (service, resource.split_once('/')) {
            (_, None) if resource == "root" => Self::Unsupported(
                "the account's root user cannot be simulated; it may connect unless an SCP \
                 denies it"
                    .to_owned(),
            ),
            ("iam", Some(("user", _))) => Self::User(caller_arn.to_owned()),
            ("sts", Some(("assumed-role", rest))) => {
                let name = rest.split('/').next().unwrap_or_default().to_owned();
                Self::Role {
                    arn: format!("arn:{partition}:iam::{account}:role/{name}"),
                    name,
                }
            }
            ("sts", Some(("federated-user", _))) => Self::Unsupported(
                "a federated user's session policy decides, which the simulator cannot see"
                    .to_owned(),
            ),
            _ => Self::Unsupported(format!("\"{caller_arn}\" is not a user or role session")),
        }
    }
}

/// How IAM decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Some policy allows it and nothing denies it.
    Allowed,
    /// A `Deny` statement (identity policy, boundary or SCP) matched.
    ExplicitDeny,
    /// No policy allows it.
    ImplicitDeny,
}

/// The simulator's answer for one action on one resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Simulation {
    /// The principal simulated.
    pub policy_source_arn: String,
    /// The resource ARN.
    pub resource_arn: String,
    /// The decision.
    pub decision: Decision,
    /// The policies whose statements decided (`SourcePolicyId`s), sorted.
    pub matched_policies: Vec<String>,
    /// Condition keys the decision depends on but the simulator had no value for, sorted.
    pub missing_context: Vec<String>,
    /// `false` when an SCP blocks it.
    pub allowed_by_organizations: Option<bool>,
    /// `false` when the permissions boundary blocks it.
    pub allowed_by_boundary: Option<bool>,
}

/// The role's ARN with its path (SSO roles live under `/aws-reserved/sso.amazonaws.com/`),
/// from `iam:GetRole`.
pub async fn role_arn(config: &SdkConfig, role_name: &str) -> Result<String, AwsCallError> {
    let region = config.region().map(ToString::to_string).unwrap_or_default();
    let output = aws_sdk_iam::Client::new(config)
        .get_role()
        .role_name(role_name)
        .send()
        .await
        .map_err(|error| AwsCallError::from_sdk("iam:GetRole", &region, &error))?;
    Ok(output
        .role()
        .map(|role| role.arn().to_owned())
        .unwrap_or_default())
}

/// Simulates `rds-db:connect` by `policy_source_arn` on `resource_arn`.
pub async fn simulate_rds_connect(
    config: &SdkConfig,
    policy_source_arn: &str,
    resource_arn: &str,
) -> Result<Simulation, AwsCallError> {
    const API: &str = "iam:SimulatePrincipalPolicy";
    let region = config.region().map(ToString::to_string).unwrap_or_default();
    let output = aws_sdk_iam::Client::new(config)
        .simulate_principal_policy()
        .policy_source_arn(policy_source_arn)
        .action_names(RDS_CONNECT_ACTION)
        .resource_arns(resource_arn)
        .send()
        .await
        .map_err(|error| AwsCallError::from_sdk(API, &region, &error))?;
    let result = output
        .evaluation_results()
        .iter()
        .find(|result| {
            result
                .eval_action_name()
                .eq_ignore_ascii_case(RDS_CONNECT_ACTION)
        })
        .ok_or_else(|| AwsCallError {
            api: API.to_owned(),
            region: region.clone(),
            kind: super::error::AwsErrorKind::Other,
            message: "the simulation returned no result for rds-db:connect".to_owned(),
        })?;
    Ok(simulation(policy_source_arn, resource_arn, result))
}

/// Reads one `EvaluationResult`, preferring the per-resource result: the simulator's top-level
/// decision is the most restrictive over all resources it was given.
fn simulation(
    policy_source_arn: &str,
    resource_arn: &str,
    result: &EvaluationResult,
) -> Simulation {
    let specific = result
        .resource_specific_results()
        .iter()
        .find(|specific| specific.eval_resource_name() == resource_arn);
    let (decision, statements, missing) = match specific {
        Some(specific) => (
            specific.eval_resource_decision(),
            specific.matched_statements(),
            specific.missing_context_values(),
        ),
        None => (
            result.eval_decision(),
            result.matched_statements(),
            result.missing_context_values(),
        ),
    };
    let mut matched_policies: Vec<String> = statements
        .iter()
        .filter_map(|statement| statement.source_policy_id().map(str::to_owned))
        .collect();
    matched_policies.sort();
    matched_policies.dedup();
    let mut missing_context = missing.to_vec();
    missing_context.sort();
    Simulation {
        policy_source_arn: policy_source_arn.to_owned(),
        resource_arn: resource_arn.to_owned(),
        decision: match decision {
            PolicyEvaluationDecisionType::Allowed => Decision::Allowed,
            PolicyEvaluationDecisionType::ExplicitDeny => Decision::ExplicitDeny,
            // Unknown future decisions are not an allow.
            _ => Decision::ImplicitDeny,
        },
        matched_policies,
        missing_context,
        allowed_by_organizations: result
            .organizations_decision_detail()
            .map(aws_sdk_iam::types::OrganizationsDecisionDetail::allowed_by_organizations),
        allowed_by_boundary: result.permissions_boundary_decision_detail().map(
            aws_sdk_iam::types::PermissionsBoundaryDecisionDetail::allowed_by_permissions_boundary,
        ),
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_iam::types::{ResourceSpecificResult, Statement};

    use super::*;

    #[test]
    fn callers_map_to_the_principal_to_simulate() {
        assert_eq!(
            PolicySource::of_caller("arn:aws:iam::111122223333:user/dev/alice"),
            PolicySource::User("arn:aws:iam::111122223333:user/dev/alice".into())
        );
        assert_eq!(
            PolicySource::of_caller(
                "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Dev_0123/alice@example.com"
            ),
            PolicySource::Role {
                name: "AWSReservedSSO_Dev_0123".into(),
                arn: "arn:aws:iam::111122223333:role/AWSReservedSSO_Dev_0123".into(),
            }
        );
        assert_eq!(
            PolicySource::of_caller("arn:aws-cn:sts::1:assumed-role/R/s"),
            PolicySource::Role {
                name: "R".into(),
                arn: "arn:aws-cn:iam::1:role/R".into()
            }
        );
        for unsupported in [
            "arn:aws:iam::1:root",
            "arn:aws:sts::1:federated-user/bob",
            "not-an-arn",
        ] {
            assert!(
                matches!(
                    PolicySource::of_caller(unsupported),
                    PolicySource::Unsupported(_)
                ),
                "{unsupported}"
            );
        }
    }

    fn statement(policy: &str) -> Statement {
        Statement::builder().source_policy_id(policy).build()
    }

    #[test]
    fn the_per_resource_decision_wins_over_the_aggregate() {
        let arn = "arn:aws:rds-db:us-east-1:1:dbuser:db-A/app";
        let result = EvaluationResult::builder()
            .eval_action_name("rds-db:connect")
            .eval_decision(PolicyEvaluationDecisionType::ImplicitDeny)
            .resource_specific_results(
                ResourceSpecificResult::builder()
                    .eval_resource_name(arn)
                    .eval_resource_decision(PolicyEvaluationDecisionType::Allowed)
                    .matched_statements(statement("db-connect"))
                    .matched_statements(statement("admin"))
                    .matched_statements(statement("db-connect"))
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        let simulated = simulation("arn:aws:iam::1:user/u", arn, &result);
        assert_eq!(simulated.decision, Decision::Allowed);
        assert_eq!(simulated.matched_policies, ["admin", "db-connect"]);

        let aggregate = EvaluationResult::builder()
            .eval_action_name("rds-db:connect")
            .eval_decision(PolicyEvaluationDecisionType::ExplicitDeny)
            .missing_context_values("aws:ResourceTag/env")
            .build()
            .unwrap();
        let simulated = simulation("p", arn, &aggregate);
        assert_eq!(simulated.decision, Decision::ExplicitDeny);
        assert_eq!(simulated.missing_context, ["aws:ResourceTag/env"]);
        assert_eq!(simulated.allowed_by_organizations, None);
    }
}
