//! What an IAM auth token says about itself: the host, port, user, region and signing time it was
//! signed for. Reading the token that was actually sent (rather than what the caller meant to
//! sign) is what makes the diagnosis trustworthy. The signature and session token are never kept.

use std::time::{Duration, SystemTime};

use percent_encoding::percent_decode_str;

use crate::secret::Secret;

/// The signed fields of a token, none of them secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenFacts {
    /// The host name signed (the `host` header, without the port).
    pub host: String,
    /// The port signed.
    pub port: u16,
    /// `DBUser`, percent-decoded.
    pub user: String,
    /// The region of the credential scope.
    pub region: String,
    /// The service of the credential scope (`rds-db` for a good token).
    pub service: String,
    /// `X-Amz-Date`.
    pub signed_at: SystemTime,
    /// `X-Amz-Expires`.
    pub expires_in: Duration,
    /// The last four characters of the access key id: enough to tell two identities apart in a
    /// message, not enough to be a key id.
    pub access_key_tail: String,
    /// Whether the token carries a session token (temporary credentials: SSO, assume-role).
    pub has_session_token: bool,
}

/// The text sent as a password is not an IAM auth token.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the password sent is not an IAM auth token: {reason}")]
pub struct TokenParseError {
    /// What is missing or malformed (never the text itself).
    pub reason: &'static str,
}

impl TokenFacts {
    /// Parses `host:port/?Action=connect&DBUser=…&X-Amz-…` (the shape every SDK produces).
    pub fn parse(token: &Secret) -> Result<Self, TokenParseError> {
        let error = |reason| TokenParseError { reason };
        let text = token.expose();
        let (host_port, query) = text
            .split_once("/?")
            .ok_or_else(|| error("no `host:port/?` prefix"))?;
        let (host, port) = host_port
            .rsplit_once(':')
            .ok_or_else(|| error("no port after the host"))?;
        let port = port
            .parse::<u16>()
            .map_err(|_| error("the port is not a number"))?;
        let mut facts = Partial::default();
        for pair in query.split('&') {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decoded = || {
                percent_decode_str(value)
                    .decode_utf8()
                    .map(std::borrow::Cow::into_owned)
                    .map_err(|_| error("a parameter is not UTF-8"))
            };
            match name {
                "Action" if value != "connect" => return Err(error("`Action` is not `connect`")),
                "DBUser" => facts.user = Some(decoded()?),
                "X-Amz-Credential" => facts.credential = Some(decoded()?),
                "X-Amz-Date" => facts.date = Some(decoded()?),
                "X-Amz-Expires" => {
                    facts.expires_secs = Some(
                        value
                            .parse()
                            .map_err(|_| error("`X-Amz-Expires` is not a number"))?,
                    );
                }
                "X-Amz-Security-Token" => facts.has_session_token = true,
                _ => {}
            }
        }
        let credential = facts
            .credential
            .ok_or_else(|| error("no `X-Amz-Credential`"))?;
        // <access key id>/<yyyymmdd>/<region>/<service>/aws4_request
        let parts: Vec<&str> = credential.split('/').collect();
        let [access_key, _day, region, service, "aws4_request"] = parts.as_slice() else {
            return Err(error("`X-Amz-Credential` is not a SigV4 credential scope"));
        };
        let date = facts.date.ok_or_else(|| error("no `X-Amz-Date`"))?;
        Ok(Self {
            host: host.to_owned(),
            port,
            user: facts.user.ok_or_else(|| error("no `DBUser`"))?,
            region: (*region).to_owned(),
            service: (*service).to_owned(),
            signed_at: parse_amz_date(&date)
                .ok_or_else(|| error("`X-Amz-Date` is not yyyymmddThhmmssZ"))?,
            expires_in: Duration::from_secs(
                facts
                    .expires_secs
                    .ok_or_else(|| error("no `X-Amz-Expires`"))?,
            ),
            access_key_tail: tail(access_key, 4),
            has_session_token: facts.has_session_token,
        })
    }

    /// When the token stops being accepted.
    pub fn expires_at(&self) -> SystemTime {
        self.signed_at + self.expires_in
    }
}

#[derive(Default)]
struct Partial {
    user: Option<String>,
    credential: Option<String>,
    date: Option<String>,
    expires_secs: Option<u64>,
    has_session_token: bool,
}

fn tail(text: &str, count: usize) -> String {
    let skip = text.chars().count().saturating_sub(count);
    text.chars().skip(skip).collect()
}

/// `20240826T220000Z` → that instant.
fn parse_amz_date(text: &str) -> Option<SystemTime> {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let parsed = time::PrimitiveDateTime::parse(text, format).ok()?;
    let unix_secs = u64::try_from(parsed.assume_utc().unix_timestamp()).ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(unix_secs))
}

#[cfg(test)]
mod tests {
    use aws_credential_types::Credentials;

    use super::*;
    use crate::auth::token::{TokenRequest, sign_token};

    fn vector_time() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_hours(479_086)
    }

    fn sign(user: &str, session_token: Option<&str>) -> Secret {
        let mut credentials = Credentials::builder()
            .access_key_id("AKIAEXAMPLEKEY1234")
            .secret_access_key("secret")
            .provider_name("test");
        credentials.set_session_token(session_token.map(str::to_owned));
        let request = TokenRequest::new(
            "prod.abc.eu-west-1.rds.amazonaws.com",
            5433,
            "eu-west-1",
            user,
        );
        sign_token(&request, &credentials.build(), vector_time()).unwrap()
    }

    #[test]
    fn a_signed_token_gives_back_what_was_signed() {
        let facts = TokenFacts::parse(&sign("a+b c", Some("FQoG+abc/def=="))).unwrap();
        assert_eq!(
            facts,
            TokenFacts {
                host: "prod.abc.eu-west-1.rds.amazonaws.com".into(),
                port: 5433,
                user: "a+b c".into(),
                region: "eu-west-1".into(),
                service: "rds-db".into(),
                signed_at: vector_time(),
                expires_in: Duration::from_mins(15),
                access_key_tail: "1234".into(),
                has_session_token: true,
            }
        );
        assert_eq!(facts.expires_at(), vector_time() + Duration::from_mins(15));
        assert!(
            !TokenFacts::parse(&sign("app", None))
                .unwrap()
                .has_session_token
        );
    }

    #[test]
    fn reference_vector_a_parses() {
        let token = Secret::from(
            "prod-instance.us-east-1.rds.amazonaws.com:3306/?Action=connect&DBUser=peccy&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=akid%2F20240826%2Fus-east-1%2Frds-db%2Faws4_request&X-Amz-Date=20240826T220000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=dd0cba843009474347af724090233265628ace491ea17ce3eb3da098b983ad89",
        );
        let facts = TokenFacts::parse(&token).unwrap();
        assert_eq!(
            (facts.port, facts.user.as_str(), facts.region.as_str()),
            (3306, "peccy", "us-east-1")
        );
        assert_eq!(facts.signed_at, vector_time());
        assert_eq!(facts.access_key_tail, "akid");
    }

    #[test]
    fn passwords_and_mangled_tokens_are_named_without_being_shown() {
        let good = sign("app", None).expose().clone();
        let cases = [
            ("hunter2".to_owned(), "host:port"),
            (good.replace(":5433/", ":x/"), "port"),
            (good.replace("Action=connect", "Action=other"), "Action"),
            (good.replace("X-Amz-Date=", "X-Amz-Dait="), "X-Amz-Date"),
            (good.replace("%2Frds-db%2F", "%2F"), "credential scope"),
            (good.replace("T220000Z", "T22Z"), "yyyymmdd"),
        ];
        for (text, reason) in cases {
            let error = TokenFacts::parse(&Secret::new(text)).unwrap_err();
            assert!(error.to_string().contains(reason), "{error} ({reason})");
            assert!(!error.to_string().contains("hunter2"));
        }
    }
}
