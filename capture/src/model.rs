//! Model artifacts passing through: [`ModelBody`] hashes (SHA-256) the
//! upstream body of a model artifact ([`crate::artifact`]) as it streams and,
//! with `--save-models`, tees it into `DIR/.partial-*`, renamed to
//! `DIR/<sha256><ext>` at its end. A body cut short leaves no file behind and
//! no digest. Nothing here buffers a whole body.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use sha2::{Digest, Sha256};
use webinfer_proxy::filter::{Body, BodyError};

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
pub struct ModelBody {
    inner: Body,
    digest: Arc<ModelDigest>,
    hasher: Option<Sha256>,
    tee: Option<Tee>,
    finished: bool,
}

impl ModelBody {
    /// Wraps `inner`, the body of exchange `id`; with `save` = `(dir, ext)`
    /// the body is also saved as `dir/<sha256><ext>`. Returns the body and
    /// the digest it fills in.
    pub fn new(
        inner: Body,
        save: Option<(&Path, &'static str)>,
        id: u64,
    ) -> (Self, Arc<ModelDigest>) {
        let digest = Arc::new(ModelDigest::default());
        let tee = save.and_then(|(dir, ext)| match Tee::create(dir, ext, id) {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot save model artifact");
                None
            }
        });
        let mut body = ModelBody {
            inner,
            digest: digest.clone(),
            hasher: Some(Sha256::new()),
            tee,
            finished: false,
        };
        if body.inner.is_end_stream() {
            body.finish();
        }
        (body, digest)
    }

    fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
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
        if self.finished {
            return;
        }
        self.finished = true;
        if let Some(tee) = self.tee.take() {
            tee.discard();
        }
        self.hasher = None;
    }
}

impl HttpBody for ModelBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = &mut *self;
        match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    if let Some(h) = this.hasher.as_mut() {
                        h.update(data);
                    }
                    if let Some(tee) = this.tee.as_mut() {
                        if let Err(e) = tee.file.write_all(data) {
                            tracing::warn!(error = %e, "cannot save model artifact");
                            this.tee.take().expect("tee present").discard();
                        }
                    }
                }
                if this.inner.is_end_stream() {
                    this.finish();
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Some(Err(e)) => {
                this.fail();
                Poll::Ready(Some(Err(e)))
            }
            None => {
                this.finish();
                Poll::Ready(None)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for ModelBody {
    fn drop(&mut self) {
        if !self.finished {
            if self.inner.is_end_stream() {
                self.finish();
            } else {
                self.fail();
            }
        }
    }
}
