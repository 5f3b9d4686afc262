//! `rds-explorer sso-login`: the device authorization flow for an SSO profile, printing the code
//! and the page to open (no browser is started), then caching the token for the CLI and SDKs.

use std::process::ExitCode;

use tokio_util::sync::CancellationToken;

use super::print;
use crate::aws::profiles::{AwsFiles, load_profiles};
use crate::aws::sso;

/// Signs in; exit code 0 once the token is cached.
pub fn run(runtime: &tokio::runtime::Runtime, profile: Option<&str>) -> anyhow::Result<ExitCode> {
    let files = AwsFiles::from_env();
    let list = load_profiles(&files);
    let profile = super::find_profile(&list, &files, profile)?;
    let Some(login) = profile.sso.clone() else {
        anyhow::bail!(
            "profile \"{}\" is not an SSO profile (it needs sso_session, or sso_start_url and sso_region)",
            profile.name
        );
    };
    let cache_dir = sso::default_cache_dir()
        .ok_or_else(|| anyhow::anyhow!("no home directory for ~/.aws/sso/cache"))?;
    let endpoint = profile.endpoint_url.as_deref();
    let path = runtime.block_on(async {
        let authorization = sso::start(&login, endpoint)
            .await
            .map_err(|e| anyhow::anyhow!("{e}; {}", e.next_step()))?;
        print(&format!(
            "To sign in to \"{}\", open {}\nand confirm the code {}",
            profile.name,
            authorization.url(),
            authorization.user_code
        ))?;
        let cancel = CancellationToken::new();
        let stop = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                stop.cancel();
            }
        });
        sso::finish(&login, endpoint, &authorization, &cache_dir, &cancel)
            .await
            .map_err(|e| anyhow::anyhow!("{e}; {}", e.next_step()))
    })?;
    print(&format!("Signed in. Token cached in {}", path.display()))?;
    Ok(ExitCode::SUCCESS)
}
