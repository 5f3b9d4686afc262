//! The SQL an admin runs to see whether a user logs in with IAM: RDS sends members of `rds_iam`
//! (directly or through group roles, whatever INHERIT says) to IAM auth, everyone else to
//! password auth. Adapted from the reference's tested `pg_iam_users.sql`, for one role.

use super::checks::{Check, CheckKind, CheckStatus};
use super::failure::Failure;

/// A query listing each membership chain from `user` up to `rds_iam` (`app → writers → rds_iam`);
/// no row means `user` is not an IAM user. Needs only an ordinary login (reads `pg_roles` and
/// `pg_auth_members`). The name is embedded as a quoted literal.
pub fn rds_iam_membership_sql(user: &str) -> String {
    let literal = user.replace('\'', "''");
    format!(
        "WITH RECURSIVE up(member, path) AS (\n  \
           SELECT oid, ARRAY[oid] FROM pg_roles WHERE rolname = '{literal}'\n  \
           UNION ALL\n  \
           SELECT m.roleid, up.path || m.roleid FROM up\n  \
           JOIN pg_auth_members m ON m.member = up.member\n  \
           WHERE m.roleid <> ALL (up.path)\n\
         )\n\
         SELECT DISTINCT array_to_string(ARRAY(\n  \
           SELECT r.rolname FROM unnest(up.path) WITH ORDINALITY AS u(oid, n)\n  \
           JOIN pg_roles r ON r.oid = u.oid ORDER BY u.n), ' -> ') AS iam_login_via\n\
         FROM up JOIN pg_roles target ON target.oid = up.member\n\
         WHERE target.rolname = 'rds_iam';"
    )
}

/// What the server's answer says about `user`'s membership in `rds_iam`, with the SQL to confirm.
pub(super) fn membership_check(failure: &Failure, user: &str) -> Check {
    let check = match failure {
        Failure::IamTokenRefused => Check::new(
            CheckKind::RdsIamMembership,
            CheckStatus::Pass,
            format!(
                "the server sent \"{user}\" to IAM authentication (PAM), so it is a member of \
                 rds_iam, directly or through a group"
            ),
        )
        .with_next_step("To confirm, an admin can run the SQL below"),
        Failure::PasswordRefused => Check::new(
            CheckKind::RdsIamMembership,
            CheckStatus::Fail,
            format!(
                "the server used password authentication for \"{user}\": it is not a member of \
                 rds_iam (or IAM auth is off for the database), so the token was compared as a \
                 password"
            ),
        )
        .with_next_step(format!(
            "An admin runs {} (then \"{user}\" can no longer log in with a password); the SQL \
             below lists its membership",
            grant_rds_iam_sql(user)
        )),
        _ => Check::new(
            CheckKind::RdsIamMembership,
            CheckStatus::Skipped,
            "the server did not get as far as choosing an authentication method",
        ),
    };
    check.with_sql(rds_iam_membership_sql(user))
}

/// The statement that makes `user` an IAM user.
pub fn grant_rds_iam_sql(user: &str) -> String {
    format!("GRANT rds_iam TO \"{}\";", user.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_quoted_for_sql() {
        let sql = rds_iam_membership_sql("o'brien");
        assert!(sql.contains("rolname = 'o''brien'"), "{sql}");
        assert!(sql.trim_end().ends_with(';'));
        assert_eq!(grant_rds_iam_sql("A\"b"), "GRANT rds_iam TO \"A\"\"b\";");
    }

    #[test]
    fn the_server_s_choice_of_method_tells_membership() {
        let pam = membership_check(&Failure::IamTokenRefused, "iam_user");
        assert_eq!(pam.status, CheckStatus::Pass);
        assert!(pam.sql.as_deref().unwrap().contains("'iam_user'"));
        let password = membership_check(&Failure::PasswordRefused, "app");
        assert_eq!(password.status, CheckStatus::Fail);
        assert!(
            password
                .next_step
                .unwrap()
                .contains("GRANT rds_iam TO \"app\";")
        );
        let other = membership_check(&Failure::NoHbaEntry, "app");
        assert_eq!(other.status, CheckStatus::Skipped);
    }
}
