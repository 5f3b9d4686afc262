//! TLS trust for database connections: the bundled RDS CA bundle, the downloaded current bundle
//! ("Update CA bundle", see [`super::ca_update`]) when present, webpki roots (RDS Proxy uses
//! public Amazon certificates) and an optional user CA file. Certificates and server names are
//! always verified; there is no plaintext and no silent fallback to an unverified connection. The
//! only way around verification is an explicit per-connection switch ([`Verification::Off`]),
//! which the UI shows in red.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;

/// The RDS CA bundle shipped in the binary (see `assets/README.md` for its provenance).
pub const BUNDLED_RDS_CA: &[u8] = include_bytes!("../../assets/rds-ca-bundle.pem");

/// Whether the server's certificate is checked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Verification {
    /// Chain to a trusted root and the real host name (libpq's `verify-full`).
    #[default]
    Full,
    /// Encrypted but unverified: an explicit, visible per-connection choice for odd setups.
    Off,
}

/// Which certificate authorities a connection trusts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustConfig {
    /// A PEM file of extra CA certificates (Settings → Extra CA file).
    pub extra_ca_file: Option<PathBuf>,
    /// The bundle downloaded by "Update CA bundle", added when the file exists.
    pub downloaded_bundle: Option<PathBuf>,
    /// Whether certificates are verified.
    pub verification: Verification,
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
    let (added, _) = roots.add_parsable_certificates(
        CertificateDer::pem_slice_iter(BUNDLED_RDS_CA).filter_map(Result::ok),
    );
    debug_assert!(added > 100, "the bundled RDS CA bundle is in the binary");
    if let Some(path) = &trust.downloaded_bundle
        && path.exists()
    {
        // A bad download must not take the bundled roots with it: log and go on without it.
        if let Err(error) = add_pem_file(&mut roots, path) {
            tracing::warn!(path = %path.display(), %error, "ignoring the downloaded RDS CA bundle");
        }
    }
    if let Some(path) = &trust.extra_ca_file {
        add_pem_file(&mut roots, path)?;
    }
    // An explicit provider: with one installed process-wide by another crate, builder() could panic.
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Setup)?;
    let config = match trust.verification {
        Verification::Full => builder.with_root_certificates(roots).with_no_client_auth(),
        Verification::Off => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(unverified::AcceptAnyCertificate(provider)))
            .with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// The verifier behind [`Verification::Off`]: any certificate, any name; handshake signatures
/// are still checked so the session is at least bound to the key the server presented.
mod unverified {
    use std::sync::Arc;

    use rustls::DigitallySignedStruct;
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::CryptoProvider;
    use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

    #[derive(Debug)]
    pub(super) struct AcceptAnyCertificate(pub(super) Arc<CryptoProvider>);

    impl ServerCertVerifier for AcceptAnyCertificate {
        fn verify_server_cert(
            &self,
            _end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _server_name: &ServerName<'_>,
            _ocsp_response: &[u8],
            _now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }
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
            ..TrustConfig::default()
        };
        assert!(matches!(
            client_config(&missing),
            Err(TlsError::ReadCa { .. })
        ));
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not pem\n").unwrap();
        let error = client_config(&TrustConfig {
            extra_ca_file: Some(empty),
            ..TrustConfig::default()
        })
        .unwrap_err();
        assert!(matches!(error, TlsError::NoCertificates { .. }), "{error}");
        assert!(error.next_step().contains("Settings"));
        assert!(client_config(&TrustConfig::default()).is_ok());
    }

    #[test]
    fn the_bundled_rds_bundle_parses_whole() {
        let certificates: Vec<_> = CertificateDer::pem_slice_iter(BUNDLED_RDS_CA)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(certificates.len(), 120);
        let mut roots = RootCertStore::empty();
        let (added, ignored) = roots.add_parsable_certificates(certificates);
        assert_eq!((added, ignored), (120, 0));
    }

    #[test]
    fn a_broken_downloaded_bundle_is_ignored_but_a_broken_extra_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let broken = dir.path().join("bundle.pem");
        std::fs::write(&broken, "-----BEGIN CERTIFICATE-----\nnot base64\n").unwrap();
        let trust = TrustConfig {
            downloaded_bundle: Some(broken.clone()),
            ..TrustConfig::default()
        };
        assert!(client_config(&trust).is_ok());
        let trust = TrustConfig {
            extra_ca_file: Some(broken),
            ..TrustConfig::default()
        };
        assert!(client_config(&trust).is_err());
    }
}
