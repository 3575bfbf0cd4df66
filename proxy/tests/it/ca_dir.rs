//! The CA directory (issue 18 item 6): concurrent first runs agree on one
//! CA, a directory or key others could tamper with is refused with a clear
//! error, and a key that does not match the certificate is detected.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Arc, Barrier};

use tempfile::TempDir;
use webinfer_proxy::{CertificateAuthority, ProxyError};
use webinfer_proxy::{CA_CERT_DER, CA_CERT_PEM, CA_KEY, LEAF_KEY};

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn concurrent_first_runs_end_with_one_ca() {
    for round in 0..5 {
        let tmp = TempDir::new().unwrap();
        let dir = tmp.path().join("ca");
        let n = 8;
        let barrier = Arc::new(Barrier::new(n));
        let handles: Vec<_> = (0..n)
            .map(|_| {
                let (dir, barrier) = (dir.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    CertificateAuthority::load_or_create(&dir)
                        .map(|ca| (ca.fingerprint_sha256(), ca.leaf_spki_pin()))
                        .map_err(|e| e.to_string())
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let on_disk = CertificateAuthority::load_or_create(&dir).unwrap();
        let want = (on_disk.fingerprint_sha256(), on_disk.leaf_spki_pin());
        for r in &results {
            assert_eq!(
                r.as_ref(),
                Ok(&want),
                "round {round}: a concurrent first run got another CA or failed: {results:#?}"
            );
        }
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            vec![".lock", CA_CERT_DER, CA_KEY, CA_CERT_PEM, LEAF_KEY],
            "leftover temp files"
        );
    }
}

#[test]
fn a_group_or_world_writable_directory_is_refused() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("ca");
    CertificateAuthority::load_or_create(&dir).unwrap();
    for mode in [0o777, 0o720, 0o702] {
        chmod(&dir, mode);
        let e = CertificateAuthority::load_or_create(&dir).unwrap_err();
        assert!(matches!(e, ProxyError::InsecureCa { .. }), "{e}");
        let msg = e.to_string();
        assert!(
            msg.contains("writable") && msg.contains(&format!("chmod 700 {}", dir.display())),
            "{msg}"
        );
    }
    // Readable by group is not a tampering risk; the default 0700 and 0750 load.
    for mode in [0o750, 0o700] {
        chmod(&dir, mode);
        CertificateAuthority::load_or_create(&dir).unwrap();
    }
}

#[test]
fn a_key_readable_by_others_is_refused() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("ca");
    CertificateAuthority::load_or_create(&dir).unwrap();
    for key in [CA_KEY, LEAF_KEY] {
        let path = dir.join(key);
        chmod(&path, 0o644);
        let e = CertificateAuthority::load_or_create(&dir).unwrap_err();
        let msg = e.to_string();
        assert!(
            matches!(e, ProxyError::InsecureCa { .. })
                && msg.contains(&format!("chmod 600 {}", path.display())),
            "{msg}"
        );
        chmod(&path, 0o600);
        CertificateAuthority::load_or_create(&dir).unwrap();
    }
}

#[test]
fn a_directory_owned_by_someone_else_is_refused() {
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("ca");
    CertificateAuthority::load_or_create(&dir).unwrap();
    let other = if me == 0 { 65534 } else { me };
    if me == 0 {
        std::os::unix::fs::chown(&dir, Some(other), None).unwrap();
        let e = CertificateAuthority::load_or_create(&dir).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains(&format!("owned by uid {other}")) && msg.contains("not by this user"),
            "{msg}"
        );
        std::os::unix::fs::chown(&dir, Some(me), None).unwrap();
    } else {
        // Without root a file cannot be given away; a directory we do not
        // own (the root-owned `/`) must then be refused as a CA directory.
        let e = CertificateAuthority::load_or_create(Path::new("/")).unwrap_err();
        assert!(e.to_string().contains("owned by uid 0"), "{e}");
    }
    CertificateAuthority::load_or_create(&dir).unwrap();
}

#[test]
fn a_key_that_does_not_match_the_certificate_is_detected() {
    let tmp = TempDir::new().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    CertificateAuthority::load_or_create(&a).unwrap();
    CertificateAuthority::load_or_create(&b).unwrap();
    std::fs::copy(b.join(CA_KEY), a.join(CA_KEY)).unwrap();
    let e = CertificateAuthority::load_or_create(&a).unwrap_err();
    assert!(matches!(e, ProxyError::CaMismatch { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains(CA_KEY) && msg.contains(CA_CERT_PEM) && msg.contains("does not match"),
        "{msg}"
    );
}
