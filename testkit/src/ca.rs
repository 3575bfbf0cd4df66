//! A throw-away certificate authority for loopback origins.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// ALPN of an origin that speaks both HTTP/2 and HTTP/1.1.
pub const ALPN_H2_H1: &[&[u8]] = &[b"h2", b"http/1.1"];
/// ALPN of an HTTP/1.1-only origin.
pub const ALPN_H1: &[&[u8]] = &[b"http/1.1"];

/// A CA made for one test (or one benchmark run), signing leaf
/// certificates for upstream servers. Its key lives only in memory.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl TestCa {
    /// A fresh self-signed CA whose common name is `"{name} test CA"`.
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, format!("{name} test CA"));
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().expect("CA key");
        let issuer = CertifiedIssuer::self_signed(params, key).expect("CA certificate");
        TestCa { issuer }
    }

    /// The CA certificate, PEM.
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// The CA certificate, DER (what a client or the proxy's
    /// `upstream_roots` trusts).
    pub fn der(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }

    /// Writes the CA certificate as `dir/upstream-ca.pem` (for
    /// `--upstream-ca` or curl's `--cacert`) and returns the path.
    pub fn write_pem(&self, dir: &Path) -> PathBuf {
        let p = dir.join("upstream-ca.pem");
        std::fs::write(&p, self.pem()).expect("writing the test CA");
        p
    }

    /// A TLS server config with a leaf for `names` (DNS names or IP
    /// addresses) signed by this CA, ALPN `h2` + `http/1.1`.
    pub fn server_config(&self, names: &[&str]) -> Arc<rustls::ServerConfig> {
        self.leaf_config(names, false, ALPN_H2_H1)
    }

    /// A TLS server config (ALPN `http/1.1`) whose leaf for `names` expired
    /// in 2021 but is otherwise signed by this CA.
    pub fn expired_server_config(&self, names: &[&str]) -> Arc<rustls::ServerConfig> {
        self.leaf_config(names, true, ALPN_H1)
    }

    fn leaf_config(
        &self,
        names: &[&str],
        expired: bool,
        alpn: &[&[u8]],
    ) -> Arc<rustls::ServerConfig> {
        let key = KeyPair::generate().expect("leaf key");
        let mut params =
            CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .expect("leaf params");
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("leaf certificate");
        server_tls(vec![cert.der().clone(), self.der()], &key, alpn)
    }
}

/// A TLS server config (ALPN `http/1.1`) with a self-signed leaf for
/// `names`: no CA a client trusts signed it.
pub fn self_signed_server_config(names: &[&str]) -> Arc<rustls::ServerConfig> {
    let key = KeyPair::generate().expect("leaf key");
    let params = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .expect("leaf params");
    let cert = params.self_signed(&key).expect("self-signed leaf");
    server_tls(vec![cert.der().clone()], &key, ALPN_H1)
}

/// `cfg` with its ALPN replaced by `http/1.1` only.
pub fn http1_only(cfg: Arc<rustls::ServerConfig>) -> Arc<rustls::ServerConfig> {
    let mut cfg = (*cfg).clone();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(cfg)
}

/// A rustls (ring) server config serving `chain` with `key`.
fn server_tls(
    chain: Vec<CertificateDer<'static>>,
    key: &KeyPair,
    alpn: &[&[u8]],
) -> Arc<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(
            chain,
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .expect("TLS server config");
    cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(cfg)
}
