//! "Update CA bundle": downloads AWS's current RDS CA bundle (all commercial regions, including
//! the ones the bundled copy predates) into the config dir, where [`super::tls`] adds it to the
//! trust store. Only on request; never needed for regions the bundled copy covers.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt as _, Empty, Limited};
use hyper::body::Bytes;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;

use crate::jobs::UserError;
use crate::store::write_atomic;

/// AWS's global RDS CA bundle.
pub const GLOBAL_BUNDLE_URL: &str =
    "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem";

/// File name of the downloaded bundle in the config dir.
pub const DOWNLOADED_BUNDLE_FILE: &str = "rds-ca-bundle.pem";

/// The bundle is about 200 KB; anything much larger is not a CA bundle.
const MAX_BYTES: usize = 4 * 1024 * 1024;
const TIMEOUT: Duration = Duration::from_secs(30);

/// The downloaded bundle's path under `config_dir`.
pub fn downloaded_bundle_path(config_dir: &Path) -> PathBuf {
    config_dir.join(DOWNLOADED_BUNDLE_FILE)
}

/// What an update did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaUpdate {
    /// Where the bundle was written.
    pub path: PathBuf,
    /// How many certificates it holds.
    pub certificates: usize,
}

/// The download failed; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum CaUpdateError {
    /// Only `https://` (and `http://` to a loopback address, for tests) is accepted.
    #[error("refusing to download CA certificates from {0}: it must be an https:// URL")]
    InsecureUrl(String),
    /// The URL does not parse.
    #[error("{0} is not a valid URL")]
    BadUrl(String),
    /// The request failed.
    #[error("could not download {url}: {message}")]
    Download {
        /// The URL.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The server answered with an error status.
    #[error("{url} answered HTTP {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The body is not a PEM bundle of certificates.
    #[error("{url} did not return PEM CA certificates")]
    NotPem {
        /// The URL.
        url: String,
    },
    /// Writing the file failed.
    #[error("could not write {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl CaUpdateError {
    /// The error with what to do next.
    pub fn to_user_error(&self) -> UserError {
        let next = match self {
            Self::InsecureUrl(_) | Self::BadUrl(_) => "Use the https:// URL of the RDS truststore",
            Self::Download { .. } | Self::Status { .. } => {
                "Check the network or proxy; or download global-bundle.pem by hand and choose it as the extra CA file in Settings"
            }
            Self::NotPem { .. } => {
                "The URL must serve a PEM bundle; download it by hand and choose it as the extra CA file in Settings"
            }
            Self::Write { .. } => "Check that the config directory is writable",
        };
        UserError::new(self.to_string(), next)
    }
}

/// Downloads `url` (normally [`GLOBAL_BUNDLE_URL`]) with `tls` and, if it holds certificates,
/// writes it atomically to `dest`.
pub async fn update_ca_bundle(
    url: &str,
    dest: &Path,
    tls: Arc<rustls::ClientConfig>,
) -> Result<CaUpdate, CaUpdateError> {
    let uri: hyper::Uri = url
        .parse()
        .map_err(|_| CaUpdateError::BadUrl(url.to_owned()))?;
    check_scheme(&uri, url)?;
    let download = |message: String| CaUpdateError::Download {
        url: url.to_owned(),
        message,
    };
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(Arc::unwrap_or_clone(tls))
        .https_or_http()
        .enable_http1()
        .build();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build::<_, Empty<Bytes>>(connector);
    let response = tokio::time::timeout(TIMEOUT, client.get(uri))
        .await
        .map_err(|_| download("timed out".to_owned()))?
        .map_err(|error| download(crate::jobs::error_chain(&error)))?;
    let status = response.status();
    if !status.is_success() {
        return Err(CaUpdateError::Status {
            url: url.to_owned(),
            status: status.as_u16(),
        });
    }
    let body = tokio::time::timeout(
        TIMEOUT,
        Limited::new(response.into_body(), MAX_BYTES).collect(),
    )
    .await
    .map_err(|_| download("timed out".to_owned()))?
    .map_err(|error| download(error.to_string()))?
    .to_bytes();
    let certificates = CertificateDer::pem_slice_iter(&body)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| CaUpdateError::NotPem {
            url: url.to_owned(),
        })?;
    if certificates.is_empty() {
        return Err(CaUpdateError::NotPem {
            url: url.to_owned(),
        });
    }
    if let Some(dir) = dest.parent() {
        std::fs::create_dir_all(dir).map_err(|source| CaUpdateError::Write {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    write_atomic(dest, &body).map_err(|source| CaUpdateError::Write {
        path: dest.to_path_buf(),
        source,
    })?;
    Ok(CaUpdate {
        path: dest.to_path_buf(),
        certificates: certificates.len(),
    })
}

/// `https://` anywhere; `http://` only to a loopback address (the test sandbox).
fn check_scheme(uri: &hyper::Uri, url: &str) -> Result<(), CaUpdateError> {
    let loopback = uri.host().is_some_and(|host| {
        host == "localhost"
            || host
                .trim_matches(['[', ']'])
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    });
    match uri.scheme_str() {
        Some("https") => Ok(()),
        Some("http") if loopback => Ok(()),
        _ => Err(CaUpdateError::InsecureUrl(url.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http_is_accepted() {
        let ok = |url: &str| check_scheme(&url.parse().unwrap(), url).is_ok();
        assert!(ok(GLOBAL_BUNDLE_URL));
        assert!(ok("http://127.0.0.1:8080/global-bundle.pem"));
        assert!(ok("http://[::1]:8080/global-bundle.pem"));
        assert!(!ok(
            "http://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"
        ));
        assert!(!ok("ftp://127.0.0.1/x.pem"));
    }
}
