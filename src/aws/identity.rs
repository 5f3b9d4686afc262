//! Identity preflight: who a profile is (STS `GetCallerIdentity`) and whether this machine's clock
//! is off. IAM auth tokens are signed with the local clock, so a skew over a few minutes makes
//! every database login fail with a baffling "PAM authentication failed"; we warn first.

use std::sync::{Arc, Mutex, PoisonError};

use aws_config::SdkConfig;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::date_time::{DateTime, Format};

use super::error::AwsCallError;

/// Skew above which IAM tokens and SigV4 requests start to fail.
pub const MAX_CLOCK_SKEW_SECS: i64 = 4 * 60;

/// Who a profile is.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Identity {
    /// AWS account id.
    pub account: String,
    /// Caller ARN (user, assumed role, …).
    pub arn: String,
    /// Unique id of the caller.
    pub user_id: String,
    /// Local clock minus the service's clock, in seconds, when the response carried a `Date`.
    pub clock_skew_secs: Option<i64>,
}

impl Identity {
    /// A warning when the clock is off by more than [`MAX_CLOCK_SKEW_SECS`].
    pub fn clock_warning(&self) -> Option<String> {
        let skew = self.clock_skew_secs?;
        (skew.abs() > MAX_CLOCK_SKEW_SECS).then(|| {
            let direction = if skew > 0 { "ahead of" } else { "behind" };
            format!(
                "This computer's clock is {} s {direction} AWS: IAM database tokens will be refused. Sync the clock (NTP).",
                skew.abs()
            )
        })
    }
}

/// Calls STS `GetCallerIdentity` with `config` (which carries the region).
pub async fn caller_identity(config: &SdkConfig) -> Result<Identity, AwsCallError> {
    let region = config.region().map(ToString::to_string).unwrap_or_default();
    let date = Arc::new(Mutex::new(None));
    let output = aws_sdk_sts::Client::new(config)
        .get_caller_identity()
        .customize()
        .interceptor(ServerDate {
            date: Arc::clone(&date),
        })
        .send()
        .await
        .map_err(|error| AwsCallError::from_sdk("sts:GetCallerIdentity", &region, &error))?;
    let server_secs = *date.lock().unwrap_or_else(PoisonError::into_inner);
    let local_secs = time::OffsetDateTime::now_utc().unix_timestamp();
    Ok(Identity {
        account: output.account().unwrap_or_default().to_owned(),
        arn: output.arn().unwrap_or_default().to_owned(),
        user_id: output.user_id().unwrap_or_default().to_owned(),
        clock_skew_secs: server_secs.map(|server| local_secs - server),
    })
}

/// Records the `Date` header of the response (seconds since the epoch).
#[derive(Debug)]
struct ServerDate {
    date: Arc<Mutex<Option<i64>>>,
}

impl Intercept for ServerDate {
    fn name(&self) -> &'static str {
        "ServerDate"
    }

    fn read_after_transmit(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let parsed = context
            .response()
            .headers()
            .get("date")
            .and_then(|value| DateTime::from_str(value, Format::HttpDate).ok());
        if let Some(date) = parsed {
            *self.date.lock().unwrap_or_else(PoisonError::into_inner) = Some(date.secs());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warns_only_past_four_minutes() {
        let identity = |skew| Identity {
            account: "1".into(),
            arn: "a".into(),
            user_id: "u".into(),
            clock_skew_secs: skew,
        };
        assert_eq!(identity(None).clock_warning(), None);
        assert_eq!(identity(Some(240)).clock_warning(), None);
        assert!(
            identity(Some(241))
                .clock_warning()
                .unwrap()
                .contains("241 s ahead of AWS")
        );
        assert!(
            identity(Some(-600))
                .clock_warning()
                .unwrap()
                .contains("600 s behind")
        );
    }
}
