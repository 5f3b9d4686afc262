//! TLS trust for database connections: webpki roots (RDS Proxy uses public Amazon certificates)
//! plus an optional user CA file. Certificates and server names are always verified; there is no
//! plaintext and no silent fallback to an unverified connection.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;

/// Which certificate authorities a connection trusts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustConfig {
    /// A PEM file of extra CA certificates (Settings → Extra CA file).
    pub extra_ca_file: Option<PathBuf>,
}

/// The trust store could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The CA file could not be read or holds malformed PEM.
    #[error("cannot read CA certificates from {path}")]
    ReadCa {
        /// The CA file.
        path: PathBuf,
        /// Why.
        #[source]
        source: rustls_pki_types::pem::Error,
    },
    /// The CA file holds no certificate.
    #[error("the CA file {path} holds no PEM certificate")]
    NoCertificates {
        /// The CA file.
        path: PathBuf,
    },
    /// A certificate in the CA file was refused.
    #[error("a certificate in {path} is not a usable CA certificate")]
    BadCertificate {
        /// The CA file.
        path: PathBuf,
        /// Why.
        #[source]
        source: rustls::Error,
    },
    /// The TLS library could not be set up (a build problem).
    #[error("TLS could not be set up")]
    Setup(#[source] rustls::Error),
}

impl TlsError {
    /// What the user can do about it.
    pub fn next_step(&self) -> &'static str {
        match self {
            Self::ReadCa { .. } | Self::NoCertificates { .. } | Self::BadCertificate { .. } => {
                "Fix or clear the extra CA file in Settings; it must hold PEM certificates (-----BEGIN CERTIFICATE-----)"
            }
            Self::Setup(_) => "This is a bug in RDS Explorer; report it with the log",
        }
    }
}

/// Builds the rustls client configuration for database connections.
pub fn client_config(trust: &TrustConfig) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = &trust.extra_ca_file {
        add_pem_file(&mut roots, path)?;
    }
    // An explicit provider: with one installed process-wide by another crate, builder() could panic.
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Setup)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Adds every certificate of a PEM file to `roots`; returns how many.
pub fn add_pem_file(roots: &mut RootCertStore, path: &Path) -> Result<usize, TlsError> {
    let read_error = |source| TlsError::ReadCa {
        path: path.to_path_buf(),
        source,
    };
    let certificates: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(read_error)?
        .collect::<Result<_, _>>()
        .map_err(read_error)?;
    if certificates.is_empty() {
        return Err(TlsError::NoCertificates {
            path: path.to_path_buf(),
        });
    }
    for certificate in &certificates {
        roots
            .add(certificate.clone())
            .map_err(|source| TlsError::BadCertificate {
                path: path.to_path_buf(),
                source,
            })?;
    }
    Ok(certificates.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_empty_ca_files_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let missing = TrustConfig {
            extra_ca_file: Some(dir.path().join("none.pem")),
        };
        assert!(matches!(
            client_config(&missing),
            Err(TlsError::ReadCa { .. })
        ));
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not pem\n").unwrap();
        let error = client_config(&TrustConfig {
            extra_ca_file: Some(empty),
        })
        .unwrap_err();
        assert!(matches!(error, TlsError::NoCertificates { .. }), "{error}");
        assert!(error.next_step().contains("Settings"));
        assert!(client_config(&TrustConfig::default()).is_ok());
    }
}
