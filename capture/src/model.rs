//! Model artifacts passing through: a [`ModelBody`] (an [`InspectBody`]
//! with a [`ModelTap`]) hashes (SHA-256) the
//! upstream body of a model artifact ([`crate::artifact`]) as it streams and,
//! with `--save-models`, tees it into `DIR/.partial-*`, renamed to
//! `DIR/<sha256><ext>` at its end. A body cut short leaves no file behind and
//! no digest. Nothing here buffers a whole body.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use sha2::{Digest, Sha256};
use webinfer_proxy::{Body, BodyEnd, Inspect, InspectBody};

/// What a [`ModelBody`] found, read when the exchange is reported.
#[derive(Debug, Default)]
pub struct ModelDigest {
    sha256: Mutex<Option<String>>,
    saved: Mutex<Option<PathBuf>>,
}

impl ModelDigest {
    /// Lower-case hex SHA-256 of the whole body (set at its end; `None`
    /// when the body was cut short).
    pub fn sha256(&self) -> Option<String> {
        self.sha256
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Where the body was saved (with `--save-models`), once complete.
    pub fn saved(&self) -> Option<PathBuf> {
        self.saved.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Tees a body into `DIR/.partial-*`, renamed to `DIR/<sha256><ext>` at the end.
struct Tee {
    file: fs::File,
    tmp: PathBuf,
    dir: PathBuf,
    ext: &'static str,
}

impl Tee {
    fn create(dir: &Path, ext: &'static str, id: u64) -> std::io::Result<Tee> {
        fs::create_dir_all(dir)?;
        let tmp = dir.join(format!(".partial-{}-{id}{ext}", std::process::id()));
        let file = fs::File::create(&tmp)?;
        Ok(Tee {
            file,
            tmp,
            dir: dir.to_path_buf(),
            ext,
        })
    }

    fn discard(self) {
        drop(self.file);
        let _ = fs::remove_file(&self.tmp);
    }
}

/// Hashes a model artifact's body and optionally tees it to disk, streaming.
pub type ModelBody = InspectBody<ModelTap>;

/// What a [`ModelBody`] does with the body: hash it, tee it to disk, and
/// publish the digest (and the saved file) at its end.
pub struct ModelTap {
    digest: Arc<ModelDigest>,
    hasher: Option<Sha256>,
    tee: Option<Tee>,
}

impl ModelTap {
    /// Wraps `inner`, the body of exchange `id`; with `save` = `(dir, ext)`
    /// the body is also saved as `dir/<sha256><ext>`. Returns the body and
    /// the digest it fills in.
    pub fn wrap(
        inner: Body,
        save: Option<(&Path, &'static str)>,
        id: u64,
    ) -> (ModelBody, Arc<ModelDigest>) {
        let digest = Arc::new(ModelDigest::default());
        let tee = save.and_then(|(dir, ext)| match Tee::create(dir, ext, id) {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot save model artifact");
                None
            }
        });
        let tap = ModelTap {
            digest: digest.clone(),
            hasher: Some(Sha256::new()),
            tee,
        };
        (InspectBody::new(inner, tap), digest)
    }

    fn finish(&mut self) {
        if let Some(hasher) = self.hasher.take() {
            let hex = hex::encode(hasher.finalize());
            if let Some(tee) = self.tee.take() {
                let target = tee.dir.join(format!("{hex}{}", tee.ext));
                let result = tee.file.sync_all().and_then(|_| {
                    drop(tee.file);
                    fs::rename(&tee.tmp, &target)
                });
                match result {
                    Ok(()) => {
                        *self.digest.saved.lock().unwrap_or_else(|p| p.into_inner()) = Some(target)
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot save model artifact");
                        let _ = fs::remove_file(&tee.tmp);
                    }
                }
            }
            *self.digest.sha256.lock().unwrap_or_else(|p| p.into_inner()) = Some(hex);
        }
    }

    fn fail(&mut self) {
        if let Some(tee) = self.tee.take() {
            tee.discard();
        }
        self.hasher = None;
    }
}

impl Inspect for ModelTap {
    fn data(&mut self, data: &Bytes) {
        if let Some(h) = self.hasher.as_mut() {
            h.update(data);
        }
        if let Some(tee) = self.tee.as_mut() {
            if let Err(e) = tee.file.write_all(data) {
                tracing::warn!(error = %e, "cannot save model artifact");
                self.tee.take().expect("tee present").discard();
            }
        }
    }

    fn end(&mut self, end: BodyEnd<'_>) {
        match end {
            BodyEnd::Complete => self.finish(),
            BodyEnd::Failed(_) | BodyEnd::Dropped => self.fail(),
        }
    }
}
