//! The CA and leaf certificates: file permissions, reuse across restarts,
//! SAN rules, validity limits. Certificates are parsed with x509-parser.

use std::os::unix::fs::PermissionsExt;

use tempfile::TempDir;
use webinfer_proxy::leaf_certificate;
use webinfer_proxy::CertificateAuthority;
use webinfer_proxy::{CA_CERT_DER, CA_CERT_PEM, CA_KEY, LEAF_KEY};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::*;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn keys_are_private_and_certs_exist_in_pem_and_der() {
    let dir = TempDir::new().unwrap();
    let ca_dir = dir.path().join("nested/ca");
    let ca = CertificateAuthority::load_or_create(&ca_dir).unwrap();
    assert_eq!(mode(&ca_dir.join(CA_KEY)), 0o600);
    assert_eq!(mode(&ca_dir.join(LEAF_KEY)), 0o600);
    assert_eq!(mode(&ca_dir), 0o700);
    let pem = std::fs::read_to_string(ca_dir.join(CA_CERT_PEM)).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(
        std::fs::read(ca_dir.join(CA_CERT_DER)).unwrap(),
        ca.cert_der()
    );
    let (_, cert) = X509Certificate::from_der(ca.cert_der()).unwrap();
    assert!(cert.is_ca());
    assert_eq!(ca.fingerprint_sha256().len(), 32 * 3 - 1);
}

#[test]
fn restarts_reuse_the_same_ca_and_leaf_pin() {
    let dir = TempDir::new().unwrap();
    let first = CertificateAuthority::load_or_create(dir.path()).unwrap();
    let second = CertificateAuthority::load_or_create(dir.path()).unwrap();
    assert_eq!(first.fingerprint_sha256(), second.fingerprint_sha256());
    assert_eq!(first.cert_der(), second.cert_der());
    assert_eq!(first.leaf_spki_pin(), second.leaf_spki_pin());
    // The pin is the SPKI hash of the leaf certificates actually served.
    let leaf = leaf_certificate(&second, "example.com").unwrap();
    let (_, cert) = X509Certificate::from_der(&leaf).unwrap();
    use base64::Engine;
    use sha2::Digest;
    let spki_hash = sha2::Sha256::digest(cert.public_key().raw);
    assert_eq!(
        base64::engine::general_purpose::STANDARD.encode(spki_hash),
        first.leaf_spki_pin()
    );
    // A different directory is a different CA.
    let other = TempDir::new().unwrap();
    let third = CertificateAuthority::load_or_create(other.path()).unwrap();
    assert_ne!(third.fingerprint_sha256(), first.fingerprint_sha256());
    assert_ne!(third.leaf_spki_pin(), first.leaf_spki_pin());
}

#[test]
fn leaves_have_the_right_sans_issuer_and_validity() {
    let dir = TempDir::new().unwrap();
    let ca = CertificateAuthority::load_or_create(dir.path()).unwrap();
    let (_, ca_cert) = X509Certificate::from_der(ca.cert_der()).unwrap();
    for (host, want) in [
        ("www.example.com", "dns:www.example.com"),
        ("127.0.0.1", "ip:127.0.0.1"),
        ("::1", "ip:0:0:0:0:0:0:0:1"),
        ("[::1]", "ip:0:0:0:0:0:0:0:1"),
    ] {
        let der = leaf_certificate(&ca, host).unwrap();
        let (_, cert) = X509Certificate::from_der(&der).unwrap();
        let sans: Vec<String> = cert
            .subject_alternative_name()
            .unwrap()
            .unwrap()
            .value
            .general_names
            .iter()
            .map(|n| match n {
                GeneralName::DNSName(d) => format!("dns:{d}"),
                GeneralName::IPAddress(b) => {
                    let ip: std::net::IpAddr = match b.len() {
                        4 => <[u8; 4]>::try_from(*b).unwrap().into(),
                        16 => <[u8; 16]>::try_from(*b).unwrap().into(),
                        _ => panic!("bad ip"),
                    };
                    let s = match ip {
                        std::net::IpAddr::V6(v6) => v6
                            .segments()
                            .iter()
                            .map(|x| format!("{x:x}"))
                            .collect::<Vec<_>>()
                            .join(":"),
                        v4 => v4.to_string(),
                    };
                    format!("ip:{s}")
                }
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(sans, vec![want.to_string()], "{host}");
        assert!(!cert.is_ca());
        assert_eq!(cert.issuer(), ca_cert.subject());
        let nb = cert.validity().not_before.timestamp();
        let na = cert.validity().not_after.timestamp();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        assert!(na - nb <= 397 * 86400, "validity must be at most 397 days");
        assert!(
            now - nb >= 86400 - 60,
            "not_before is backdated about a day"
        );
        assert!(na > now + 300 * 86400);
    }
}

#[test]
fn a_corrupt_key_file_is_a_clear_error() {
    let dir = TempDir::new().unwrap();
    CertificateAuthority::load_or_create(dir.path()).unwrap();
    std::fs::write(dir.path().join(CA_KEY), "not a key").unwrap();
    let err = CertificateAuthority::load_or_create(dir.path()).unwrap_err();
    assert!(err.to_string().contains("certificate error"), "{err}");
}
