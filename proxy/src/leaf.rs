//! Leaf certificates for intercepted hosts: signed by the CA, all sharing the
//! CA directory's one leaf key, cached per host as ready rustls configs.
//!
//! Rules: the SAN is the ClientHello SNI, falling back to the CONNECT
//! authority; IP hosts get an IP SAN; validity is 396 days (≤ 397, the limit
//! browsers enforce) with `not_before` backdated one day against clock skew.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::ServerConfig;

use crate::ca::{random_serial, CertificateAuthority};
use crate::error::ProxyError;

/// How many hosts' configs are kept before the cache is emptied.
const MAX_CACHED: usize = 4096;

/// Days a leaf certificate is valid in total (`not_after - not_before`).
pub const LEAF_VALIDITY_DAYS: i64 = 396;

/// A per-host cache of TLS server configs with CA-signed leaf certificates.
pub struct LeafCache {
    ca: Arc<CertificateAuthority>,
    provider: Arc<rustls::crypto::CryptoProvider>,
    cache: Mutex<HashMap<String, Arc<ServerConfig>>>,
}

impl LeafCache {
    /// A cache signing with `ca`.
    pub fn new(ca: Arc<CertificateAuthority>) -> Self {
        LeafCache {
            ca,
            provider: Arc::new(rustls::crypto::ring::default_provider()),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The server config for `host` (ALPN `h2`, `http/1.1`), creating and
    /// caching its leaf certificate on first use.
    pub fn server_config(&self, host: &str) -> Result<Arc<ServerConfig>, ProxyError> {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if let Some(cfg) = self.cache.lock().expect("leaf cache lock").get(&host) {
            return Ok(cfg.clone());
        }
        let cert = leaf_certificate(&self.ca, &host)?;
        let key =
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.ca.leaf_key().serialize_der()));
        let chain = vec![cert, CertificateDer::from(self.ca.cert_der().to_vec())];
        let mut cfg = ServerConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let cfg = Arc::new(cfg);
        let mut cache = self.cache.lock().expect("leaf cache lock");
        if cache.len() >= MAX_CACHED {
            cache.clear();
        }
        cache.insert(host, cfg.clone());
        Ok(cfg)
    }
}

/// Issues a leaf certificate for `host` (DNS name or IP literal) signed by `ca`.
pub fn leaf_certificate(
    ca: &CertificateAuthority,
    host: &str,
) -> Result<CertificateDer<'static>, ProxyError> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let mut params = CertificateParams::default();
    let san = match host.parse::<IpAddr>() {
        Ok(ip) => SanType::IpAddress(ip),
        Err(_) => SanType::DnsName(host.to_string().try_into()?),
    };
    params.subject_alt_names = vec![san];
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, host);
    dn.push(DnType::OrganizationName, "webinfer");
    params.distinguished_name = dn;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = params.not_before + time::Duration::days(LEAF_VALIDITY_DAYS);
    params.serial_number = Some(random_serial());
    let cert = params.signed_by(ca.leaf_key(), ca.issuer())?;
    Ok(cert.der().clone())
}
