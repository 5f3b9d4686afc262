//! The shared AWS config and credentials files of the sandbox: a static-key profile `sandbox`
//! and an IAM Identity Center profile `sandbox-sso`, both with `endpoint_url` at the front, so
//! the app reaches the sandbox through the same code path as a real account.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::aws::{ACCOUNT_ID, DEFAULT_REGION, SANDBOX_ACCESS_KEY_ID, SANDBOX_SECRET_ACCESS_KEY};

/// The static-key profile.
pub(crate) const PROFILE: &str = "sandbox";
/// The Identity Center profile.
pub(crate) const SSO_PROFILE: &str = "sandbox-sso";
/// Its `sso-session` section.
pub(crate) const SSO_SESSION: &str = "sandbox";
/// The role the SSO profile asks for.
pub(crate) const SSO_ROLE: &str = "SandboxAdmin";

/// Writes `<dir>/aws/config` and `<dir>/aws/credentials`; returns their paths.
pub(crate) fn write(dir: &Path, endpoint_url: &str) -> anyhow::Result<(PathBuf, PathBuf)> {
    let aws_dir = dir.join("aws");
    std::fs::create_dir(&aws_dir).with_context(|| format!("creating {}", aws_dir.display()))?;
    let config_file = aws_dir.join("config");
    let credentials_file = aws_dir.join("credentials");
    std::fs::write(&config_file, config(endpoint_url))
        .with_context(|| format!("writing {}", config_file.display()))?;
    std::fs::write(&credentials_file, credentials())
        .with_context(|| format!("writing {}", credentials_file.display()))?;
    Ok((config_file, credentials_file))
}

/// The `sso_start_url` of the sandbox's `sso-session`.
pub(crate) fn sso_start_url(endpoint_url: &str) -> String {
    format!("{endpoint_url}/start")
}

fn config(endpoint_url: &str) -> String {
    let start_url = sso_start_url(endpoint_url);
    format!(
        "[profile {PROFILE}]\n\
         region = {DEFAULT_REGION}\n\
         endpoint_url = {endpoint_url}\n\
         output = json\n\
         \n\
         [profile {SSO_PROFILE}]\n\
         sso_session = {SSO_SESSION}\n\
         sso_account_id = {ACCOUNT_ID}\n\
         sso_role_name = {SSO_ROLE}\n\
         region = {DEFAULT_REGION}\n\
         endpoint_url = {endpoint_url}\n\
         \n\
         [sso-session {SSO_SESSION}]\n\
         sso_start_url = {start_url}\n\
         sso_region = {DEFAULT_REGION}\n\
         sso_registration_scopes = sso:account:access\n"
    )
}

fn credentials() -> String {
    format!(
        "[{PROFILE}]\n\
         aws_access_key_id = {SANDBOX_ACCESS_KEY_ID}\n\
         aws_secret_access_key = {SANDBOX_SECRET_ACCESS_KEY}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_has_both_profiles_and_the_session() {
        let text = config("http://127.0.0.1:4321");
        assert!(text.contains(
            "[profile sandbox]\nregion = us-east-1\nendpoint_url = http://127.0.0.1:4321\n"
        ));
        assert!(text.contains("[profile sandbox-sso]\nsso_session = sandbox\n"));
        assert!(text.contains("sso_start_url = http://127.0.0.1:4321/start\n"));
        assert!(credentials().starts_with("[sandbox]\naws_access_key_id = "));
    }
}
