//! The SSO sign-in command: a Job that starts the device authorization, hands the code and page
//! to the UI, waits for the approval, caches the token, drops the profile's SDK configurations
//! (so the next calls pick the new token up) and opens the profile again.

use std::sync::Arc;

use super::{Event, Outbox, Shared};
use crate::aws::sso;
use crate::jobs::{Progress, UserError};

/// Starts the sign-in job for `profile`.
pub(super) fn sign_in(shared: &Arc<Shared>, outbox: &Outbox, profile: &str) {
    let Some(profile) = super::inventory::find_profile(shared, profile) else {
        return;
    };
    let (shared_job, outbox) = (Arc::clone(shared), outbox.clone());
    shared.jobs.spawn(format!("Sign in to {}", profile.name), move |ctx| async move {
        let Some(login) = profile.sso.clone() else {
            return Err(UserError::new(
                format!("profile \"{}\" has no SSO settings", profile.name),
                "Add sso_session (or sso_start_url and sso_region) to the profile in the AWS config",
            ));
        };
        let cache_dir = sso::default_cache_dir()
            .ok_or_else(|| UserError::new("no home directory for ~/.aws/sso/cache", "Set HOME and retry"))?;
        let endpoint = profile.endpoint_url.as_deref();
        ctx.progress(Progress::Indeterminate, "registering with IAM Identity Center");
        let authorization = sso::start(&login, endpoint).await.map_err(|error| error.to_user_error())?;
        ctx.progress(Progress::Indeterminate, format!("waiting for approval of code {}", authorization.user_code));
        outbox
            .send(Event::SignInCode {
                profile: profile.name.clone(),
                job: ctx.id(),
                user_code: authorization.user_code.clone(),
                url: authorization.url().to_owned(),
            })
            .await;
        let result = sso::finish(&login, endpoint, &authorization, &cache_dir, ctx.cancel_token()).await;
        let signed_in = result.is_ok();
        if signed_in {
            shared_job.sdk_configs.lock().await.retain(|(name, _), _| name != &profile.name);
        }
        outbox.send(Event::SignInFinished { profile: profile.name.clone(), signed_in }).await;
        if signed_in {
            super::inventory::refresh_all_known(&shared_job, &outbox, &profile.name).await;
        }
        result.map(|path| format!("token cached in {}", path.display())).map_err(|error| error.to_user_error())
    });
}
