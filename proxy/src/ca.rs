//! The proxy's certificate authority: generated once per install, persisted
//! with its private key (mode 0600), plus the ONE leaf key pair shared by all
//! host certificates so the Chromium SPKI pin stays stable across restarts.
//!
//! Files in the CA directory:
//! - `webinfer-ca.pem` / `webinfer-ca.der`: the CA certificate (public),
//! - `webinfer-ca.key`: the CA private key (PKCS#8 PEM, 0600),
//! - `webinfer-leaf.key`: the shared leaf private key (PKCS#8 PEM, 0600),
//! - `.lock`: held (`flock`) while a process creates or loads the CA, so two
//!   first runs at once end up with one CA, not two half-written ones.
//!
//! On load the directory must be owned by the current user and not group-
//! or world-writable, the keys must be owned by the user and not readable by
//! group or others (else [`ProxyError::InsecureCa`], naming the `chmod` to
//! run), and the CA key must match the CA certificate
//! ([`ProxyError::CaMismatch`]).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PublicKeyData,
};
use sha2::{Digest, Sha256};

use crate::error::ProxyError;

/// File name of the CA certificate (PEM).
pub const CA_CERT_PEM: &str = "webinfer-ca.pem";
/// File name of the CA certificate (DER).
pub const CA_CERT_DER: &str = "webinfer-ca.der";
/// File name of the CA private key.
pub const CA_KEY: &str = "webinfer-ca.key";
/// File name of the shared leaf private key.
pub const LEAF_KEY: &str = "webinfer-leaf.key";

/// The loaded CA and the shared leaf key.
pub struct CertificateAuthority {
    dir: PathBuf,
    cert_pem: String,
    cert_der: Vec<u8>,
    issuer: Issuer<'static, KeyPair>,
    leaf_key: KeyPair,
}

impl std::fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("dir", &self.dir)
            .field("fingerprint", &self.fingerprint_sha256())
            .finish_non_exhaustive()
    }
}

/// The default CA directory: `<user data dir>/webinfer/ca`
/// (e.g. `~/.local/share/webinfer/ca` on Linux).
pub fn default_dir() -> Result<PathBuf, ProxyError> {
    let dirs = directories::ProjectDirs::from("", "", "webinfer").ok_or(ProxyError::NoDataDir)?;
    Ok(dirs.data_dir().join("ca"))
}

impl CertificateAuthority {
    /// Loads the CA from `dir`, generating the CA and the leaf key on first use.
    pub fn load_or_create(dir: &Path) -> Result<Self, ProxyError> {
        create_private_dir(dir)?;
        check_private(dir, true)?;
        let _lock = DirLock::acquire(dir)?;
        let ca_key_path = dir.join(CA_KEY);
        let ca_pem_path = dir.join(CA_CERT_PEM);
        let (ca_key, cert_pem) = if ca_key_path.exists() && ca_pem_path.exists() {
            check_private(&ca_key_path, false)?;
            let key = KeyPair::from_pem(&read(&ca_key_path)?)?;
            (key, read(&ca_pem_path)?)
        } else {
            let key = KeyPair::generate()?;
            let cert = ca_params().self_signed(&key)?;
            write_private(&ca_key_path, key.serialize_pem().as_bytes())?;
            write_public(&ca_pem_path, cert.pem().as_bytes())?;
            write_public(&dir.join(CA_CERT_DER), cert.der())?;
            tracing::info!(dir = %dir.display(), "generated a new webinfer CA");
            (key, cert.pem())
        };
        let cert_der = pem_to_der(&cert_pem).ok_or_else(|| ProxyError::BadPem {
            path: ca_pem_path.clone(),
            reason: "no CERTIFICATE block".into(),
        })?;
        let spki = ca_key.subject_public_key_info();
        if !cert_der.windows(spki.len()).any(|w| w == spki.as_slice()) {
            return Err(ProxyError::CaMismatch {
                key: ca_key_path,
                cert: ca_pem_path,
                reason: "the certificate's public key is not this key's; restore the pair from \
                         a backup, or delete the directory to make a new CA (and re-install \
                         it wherever the old one was trusted)"
                    .into(),
            });
        }
        let der_path = dir.join(CA_CERT_DER);
        if fs::read(&der_path).ok().as_deref() != Some(cert_der.as_slice()) {
            if der_path.exists() {
                tracing::warn!(path = %der_path.display(),
                    "the DER copy of the CA certificate differed from the PEM; rewritten");
            }
            write_public(&der_path, &cert_der)?;
        }
        let issuer = Issuer::from_ca_cert_der(&cert_der.clone().into(), ca_key)?;
        let leaf_path = dir.join(LEAF_KEY);
        let leaf_key = if leaf_path.exists() {
            check_private(&leaf_path, false)?;
            KeyPair::from_pem(&read(&leaf_path)?)?
        } else {
            let key = KeyPair::generate()?;
            write_private(&leaf_path, key.serialize_pem().as_bytes())?;
            key
        };
        Ok(CertificateAuthority {
            dir: dir.to_path_buf(),
            cert_pem,
            cert_der,
            issuer,
            leaf_key,
        })
    }

    /// The directory holding the CA files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Path of the CA certificate in PEM.
    pub fn cert_pem_path(&self) -> PathBuf {
        self.dir.join(CA_CERT_PEM)
    }

    /// Path of the CA certificate in DER.
    pub fn cert_der_path(&self) -> PathBuf {
        self.dir.join(CA_CERT_DER)
    }

    /// The CA certificate, PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA certificate, DER.
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// SHA-256 of the CA certificate's DER, upper-case hex pairs joined by `:`.
    pub fn fingerprint_sha256(&self) -> String {
        let digest = Sha256::digest(&self.cert_der);
        digest
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":")
    }

    /// Base64 of SHA-256 of the shared leaf key's SubjectPublicKeyInfo: the
    /// value for Chromium's `--ignore-certificate-errors-spki-list` (Chromium
    /// matches it against the leaf certificate, never the CA).
    pub fn leaf_spki_pin(&self) -> String {
        let spki = self.leaf_key.subject_public_key_info();
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(spki))
    }

    /// The issuer used to sign leaf certificates.
    pub(crate) fn issuer(&self) -> &Issuer<'static, KeyPair> {
        &self.issuer
    }

    /// The shared leaf key pair.
    pub(crate) fn leaf_key(&self) -> &KeyPair {
        &self.leaf_key
    }
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "webinfer");
    let host = std::env::var("HOSTNAME").unwrap_or_default();
    let cn = if host.is_empty() {
        "webinfer local interception CA".to_string()
    } else {
        format!("webinfer local interception CA ({host})")
    };
    dn.push(DnType::CommonName, cn);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(3650);
    params.serial_number = Some(random_serial());
    params
}

/// A random positive 16-byte serial number.
pub(crate) fn random_serial() -> rcgen::SerialNumber {
    let mut bytes = [0u8; 16];
    getrandom_fill(&mut bytes);
    bytes[0] &= 0x7f;
    rcgen::SerialNumber::from_slice(&bytes)
}

/// Fills `buf` from the OS random source (serials must be unique, not secret).
fn getrandom_fill(buf: &mut [u8]) {
    use std::io::Read;
    match fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(buf)) {
        Ok(()) => {}
        Err(_) => {
            // Fall back to hashing the time, a counter and the process id.
            static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            let digest = Sha256::digest(format!("{t}-{n}-{}", std::process::id()));
            for (b, d) in buf.iter_mut().zip(digest.iter()) {
                *b = *d;
            }
        }
    }
}

/// Extracts the first CERTIFICATE block of a PEM string as DER.
pub(crate) fn pem_to_der(pem: &str) -> Option<Vec<u8>> {
    certs_from_pem(pem).into_iter().next()
}

/// All CERTIFICATE blocks of a PEM string, as DER.
pub(crate) fn certs_from_pem(pem: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = pem;
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    while let Some(start) = rest.find(BEGIN) {
        let after = &rest[start + BEGIN.len()..];
        let Some(end) = after.find(END) else { break };
        let b64: String = after[..end]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(b64) {
            out.push(der);
        }
        rest = &after[end + END.len()..];
    }
    out
}

fn read(path: &Path) -> Result<String, ProxyError> {
    fs::read_to_string(path).map_err(|e| ProxyError::io("reading", path, e))
}

fn create_private_dir(dir: &Path) -> Result<(), ProxyError> {
    if dir.is_dir() {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| ProxyError::io("creating", dir, e))
    }
    #[cfg(not(unix))]
    {
        fs::create_dir_all(dir).map_err(|e| ProxyError::io("creating", dir, e))
    }
}

/// An exclusive `flock` on `<dir>/.lock`, released on drop.
struct DirLock {
    #[cfg(unix)]
    _file: fs::File,
}

impl DirLock {
    fn acquire(dir: &Path) -> Result<Self, ProxyError> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            use std::os::unix::io::AsRawFd;
            let path = dir.join(".lock");
            let file = fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(&path)
                .map_err(|e| ProxyError::io("opening", &path, e))?;
            loop {
                // SAFETY: flock on a descriptor we own; it is released when
                // the file is closed.
                if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
                    break;
                }
                let e = std::io::Error::last_os_error();
                if e.kind() != std::io::ErrorKind::Interrupted {
                    return Err(ProxyError::io("locking", &path, e));
                }
            }
            Ok(DirLock { _file: file })
        }
        #[cfg(not(unix))]
        {
            let _ = dir;
            Ok(DirLock {})
        }
    }
}

/// Refuses a CA directory (`is_dir`) that is not owned by this user or is
/// group/world-writable, and a key file not owned by this user or readable
/// by group or others.
fn check_private(path: &Path, is_dir: bool) -> Result<(), ProxyError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = fs::metadata(path).map_err(|e| ProxyError::io("checking", path, e))?;
        let mode = meta.mode() & 0o7777;
        // SAFETY: geteuid has no preconditions.
        let me = unsafe { libc::geteuid() };
        let bad = |reason: String| ProxyError::InsecureCa {
            path: path.to_path_buf(),
            reason,
        };
        if meta.uid() != me {
            return Err(bad(format!(
                "it is owned by uid {}, not by this user (uid {me}); someone else could have \
                 replaced the CA. Use a directory of your own (--ca-dir) or `chown` it",
                meta.uid()
            )));
        }
        if is_dir && mode & 0o022 != 0 {
            return Err(bad(format!(
                "the directory is group- or world-writable (mode {mode:o}), so others could \
                 swap the CA key; run `chmod 700 {}`",
                path.display()
            )));
        }
        if !is_dir && mode & 0o077 != 0 {
            return Err(bad(format!(
                "the private key is accessible to group or others (mode {mode:o}); run \
                 `chmod 600 {}` (and consider the key leaked: delete the directory to make a \
                 new CA)",
                path.display()
            )));
        }
    }
    #[cfg(not(unix))]
    let _ = (path, is_dir);
    Ok(())
}

/// Writes a secret atomically: a temp file (unique per process and call)
/// created with mode 0600, then renamed.
fn write_private(path: &Path, data: &[u8]) -> Result<(), ProxyError> {
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp.{}.{n}", std::process::id()));
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(&tmp)
        .map_err(|e| ProxyError::io("creating", &tmp, e))?;
    f.write_all(data)
        .and_then(|_| f.sync_all())
        .map_err(|e| ProxyError::io("writing", &tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| ProxyError::io("renaming", path, e))
}

fn write_public(path: &Path, data: &[u8]) -> Result<(), ProxyError> {
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp.{}.{n}", std::process::id()));
    fs::write(&tmp, data).map_err(|e| ProxyError::io("writing", &tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| ProxyError::io("renaming", path, e))
}
