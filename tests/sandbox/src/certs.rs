//! The sandbox certificate authority and the Postgres server certificate it signs.
//!
//! The server certificate carries an RDS-like DNS name, so a client can use
//! `sslmode=verify-full` with `host=<RDS name>` while its TCP connection goes to
//! `hostaddr=127.0.0.1`, exactly as it does through an SSM tunnel to a real RDS endpoint.
//! This module only makes PEM text; writing files with the right owner is the caller's job.

use std::net::{IpAddr, Ipv4Addr};

use anyhow::Context as _;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SanType,
};

/// Subject common name of the sandbox CA.
pub(crate) const CA_COMMON_NAME: &str = "RDS Explorer Sandbox Root CA";

/// PEM text of the sandbox CA certificate and of the server certificate and key it signed.
pub(crate) struct TlsPem {
    /// CA certificate: what clients pass as `sslrootcert`.
    pub ca_cert: String,
    /// Server certificate (leaf only; the CA is the client's trust anchor).
    pub server_cert: String,
    /// Server private key, PKCS#8.
    pub server_key: String,
}

/// DNS names the server certificate is valid for, sorted as written into the certificate.
///
/// Besides `host_name` this has a wildcard for the instance endpoints the AWS mock invents
/// (`<id>.aaaaaaaaaa.<region>.rds.amazonaws.com`), with the region taken from the third label of
/// `host_name`, and `localhost`.
pub(crate) fn server_dns_names(host_name: &str) -> Vec<String> {
    let mut names = vec![host_name.to_owned()];
    if let Some(region) = host_name.split('.').nth(2) {
        names.push(format!("*.aaaaaaaaaa.{region}.rds.amazonaws.com"));
    }
    names.push("localhost".to_owned());
    names
}

/// Makes a fresh EC P-256 CA and a server certificate for `host_name` signed by it.
pub(crate) fn generate(host_name: &str) -> anyhow::Result<TlsPem> {
    let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).context("generating the CA key")?;
    let ca_params = ca_params();
    let ca_cert = ca_params
        .self_signed(&ca_key)
        .context("self-signing the sandbox CA certificate")?;
    let issuer = Issuer::new(ca_params, &ca_key);

    let server_key =
        KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).context("generating the server key")?;
    let server_cert = server_params(host_name)?
        .signed_by(&server_key, &issuer)
        .with_context(|| format!("signing the server certificate for {host_name}"))?;

    Ok(TlsPem {
        ca_cert: ca_cert.pem(),
        server_cert: server_cert.pem(),
        server_key: server_key.serialize_pem(),
    })
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, CA_COMMON_NAME);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    set_validity(&mut params);
    params
}

fn server_params(host_name: &str) -> anyhow::Result<CertificateParams> {
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, host_name);
    params.subject_alt_names = server_dns_names(host_name)
        .into_iter()
        .map(|name| {
            let ia5 = name
                .as_str()
                .try_into()
                .with_context(|| format!("{name:?} is not a valid DNS name"))?;
            Ok(SanType::DnsName(ia5))
        })
        .collect::<anyhow::Result<_>>()?;
    params
        .subject_alt_names
        .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    set_validity(&mut params);
    Ok(params)
}

/// A fixed, wide validity window: sandbox certificates live minutes, but the machine's clock may
/// be odd in CI containers, and rcgen's default (1975 to 4096) looks suspicious in a dump.
fn set_validity(params: &mut CertificateParams) {
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2100, 1, 1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_wildcard_comes_from_the_third_label() {
        assert_eq!(
            server_dns_names("db.abc.eu-west-2.rds.amazonaws.com"),
            [
                "db.abc.eu-west-2.rds.amazonaws.com",
                "*.aaaaaaaaaa.eu-west-2.rds.amazonaws.com",
                "localhost",
            ]
        );
        assert_eq!(server_dns_names("plainhost"), ["plainhost", "localhost"]);
    }

    #[test]
    fn generates_pem() {
        let pem = generate(crate::DEFAULT_PG_HOST_NAME).unwrap();
        assert!(pem.ca_cert.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(pem.server_cert.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(pem.server_key.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert_ne!(pem.ca_cert, pem.server_cert);
    }
}
