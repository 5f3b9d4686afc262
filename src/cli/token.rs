//! `rds-explorer token`: prints an IAM auth token for a database endpoint, signed with a
//! profile's credentials — to paste as a password, or, with `--signing-time`, to reproduce and
//! debug a token byte for byte.
//!
//! The region is never guessed silently wrong: `--region`, else the one in an RDS host name,
//! else the profile's, else an error asking for `--region`.

use std::process::ExitCode;
use std::time::SystemTime;

use aws_smithy_types::date_time::{DateTime, Format};

use super::print;
use crate::auth::endpoint::region_from_host;
use crate::auth::token::{TokenRequest, sign_token_with_config};
use crate::aws::profiles::{AwsFiles, Profile, load_profiles};
use crate::aws::sdk::sdk_config;

/// What `rds-explorer token` was asked for.
#[derive(Clone, Debug)]
pub struct TokenArgs {
    /// The real endpoint DNS name.
    pub host: String,
    /// The endpoint's real port.
    pub port: u16,
    /// The database user.
    pub user: String,
    /// The database's region, if given.
    pub region: Option<String>,
    /// The profile whose credentials sign, if given.
    pub profile: Option<String>,
    /// RFC 3339 time to sign at instead of now.
    pub signing_time: Option<String>,
}

/// Signs and prints the token on stdout (nothing else goes there).
pub fn run(runtime: &tokio::runtime::Runtime, args: &TokenArgs) -> anyhow::Result<ExitCode> {
    let signing_time = args
        .signing_time
        .as_deref()
        .map(parse_signing_time)
        .transpose()?;
    let files = AwsFiles::from_env();
    let list = load_profiles(&files);
    let profile = super::find_profile(&list, &files, args.profile.as_deref())?;
    let region = resolve_region(args.region.as_deref(), &args.host, &profile)?;
    let request = TokenRequest::new(&args.host, args.port, &region, &args.user);
    let token = runtime.block_on(async {
        let config = sdk_config(&profile, &files, &region).await;
        sign_token_with_config(&config, &request, signing_time).await
    });
    let token = token.map_err(|error| anyhow::anyhow!("{error:#}; {}", error.next_step()))?;
    print(token.expose())?;
    Ok(ExitCode::SUCCESS)
}

/// `--region`, else the region in an RDS host name, else the profile's region.
fn resolve_region(explicit: Option<&str>, host: &str, profile: &Profile) -> anyhow::Result<String> {
    explicit
        .map(str::to_owned)
        .or_else(|| region_from_host(host))
        .or_else(|| profile.region.clone())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "no region for \"{host}\": it is not an RDS host name and profile \"{}\" has no \
                 region; pass --region with the database's region",
                profile.name
            )
        })
}

/// An RFC 3339 time: `2024-08-26T22:00:00Z`, or with an offset such as `+02:00`.
fn parse_signing_time(text: &str) -> anyhow::Result<SystemTime> {
    let error = || {
        anyhow::anyhow!(
            "--signing-time \"{text}\" is not an RFC 3339 time; write it like \
             2024-08-26T22:00:00Z"
        )
    };
    // The SDK's parser takes `Z` only; an offset is applied here.
    let (utc_text, offset_secs) = match split_offset(text) {
        Some((local, offset_secs)) => (format!("{local}Z"), offset_secs),
        None => (text.to_owned(), 0),
    };
    let local = DateTime::from_str(&utc_text, Format::DateTime).map_err(|_| error())?;
    let utc = DateTime::from_secs_and_nanos(
        local.secs().checked_sub(offset_secs).ok_or_else(error)?,
        local.subsec_nanos(),
    );
    SystemTime::try_from(utc).map_err(|_| error())
}

/// `("…T00:00:00", 7200)` for `…T00:00:00+02:00`; `None` without a numeric offset.
fn split_offset(text: &str) -> Option<(&str, i64)> {
    let split = text.len().checked_sub(6)?;
    let (local, offset) = (text.get(..split)?, text.get(split..)?);
    let bytes = offset.as_bytes();
    let sign = match bytes.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    if bytes.get(3) != Some(&b':') {
        return None;
    }
    let hours: i64 = offset.get(1..3)?.parse().ok()?;
    let minutes: i64 = offset.get(4..6)?.parse().ok()?;
    local
        .contains('T')
        .then_some((local, sign * (hours * 3600 + minutes * 60)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::profiles::ProfileKind;

    fn profile(region: Option<&str>) -> Profile {
        Profile {
            name: "dev".into(),
            kind: ProfileKind::StaticKeys,
            region: region.map(str::to_owned),
            endpoint_url: None,
            sso: None,
        }
    }

    #[test]
    fn region_order_is_flag_then_host_then_profile() {
        let rds = "db.abc.eu-west-1.rds.amazonaws.com";
        let with_region = profile(Some("us-east-1"));
        assert_eq!(
            resolve_region(Some("ap-south-1"), rds, &with_region).unwrap(),
            "ap-south-1"
        );
        assert_eq!(
            resolve_region(None, rds, &with_region).unwrap(),
            "eu-west-1"
        );
        assert_eq!(
            resolve_region(None, "127.0.0.1", &with_region).unwrap(),
            "us-east-1"
        );
        let error = resolve_region(None, "db.internal", &profile(None)).unwrap_err();
        assert!(error.to_string().contains("pass --region"), "{error}");
    }

    #[test]
    fn signing_time_is_rfc3339() {
        assert_eq!(
            parse_signing_time("2024-08-26T22:00:00Z").unwrap(),
            SystemTime::try_from(DateTime::from_secs(1_724_709_600)).unwrap()
        );
        assert_eq!(
            parse_signing_time("2024-08-27T00:00:00+02:00").unwrap(),
            SystemTime::try_from(DateTime::from_secs(1_724_709_600)).unwrap()
        );
        assert_eq!(
            parse_signing_time("2024-08-26T17:30:00-04:30").unwrap(),
            SystemTime::try_from(DateTime::from_secs(1_724_709_600)).unwrap()
        );
        assert!(parse_signing_time("2024-08-26T22:00:00").is_err());
        let error = parse_signing_time("yesterday").unwrap_err();
        assert!(
            error.to_string().contains("2024-08-26T22:00:00Z"),
            "{error}"
        );
    }
}
