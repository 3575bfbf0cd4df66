//! Shared code of the browser end-to-end tests: the repository paths, the build step of the
//! test pages (`web/e2e/build.mjs`), a headless Chromium process that is killed when dropped,
//! the audit's own Chromium with a DevTools connection, trace reading, and ([`e2e`]) the test
//! site with the hook-injecting proxy in front.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use webinfer_audit::browser::{Browser, Launch, RunningBrowser};
use webinfer_audit::cdp::Cdp;

pub mod e2e;

/// The workspace root (the parent of `audit/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("audit/ has a parent")
        .to_path_buf()
}

/// Runs `node web/e2e/build.mjs` once per test binary (concatenated hook + esbuild bundles).
pub fn build_e2e_assets() {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let r = BUILT.get_or_init(|| {
        let script = repo_root().join("web/e2e/build.mjs");
        let out = Command::new("node").arg(&script).output().map_err(|e| {
            format!(
                "running node {}: {e} (is Node.js installed?)",
                script.display()
            )
        })?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "node {} failed ({}): {}{} (is web/node_modules installed? run `npm ci` in web/)",
                script.display(),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    });
    if let Err(e) = r {
        panic!("{e}");
    }
}

/// Serialises browser runs inside the test binary: the machine has 2 cores, and timing
/// records of two concurrent Chromiums would measure each other. The same lock as the
/// async tests' [`crate::common_audit::BROWSER`]; call it outside a Tokio runtime.
pub fn browser_lock() -> tokio::sync::MutexGuard<'static, ()> {
    crate::common_audit::BROWSER.blocking_lock()
}

/// The runtime the browser tests drive their proxy, site and browser on: two workers,
/// like the machine's two cores.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a Tokio runtime")
}

/// One browser test: builds the e2e assets, holds [`browser_lock`] (outside the
/// runtime) and runs `test` on [`runtime`].
pub fn run_browser_test<F: std::future::Future>(test: F) -> F::Output {
    build_e2e_assets();
    let _lock = browser_lock();
    runtime().block_on(test)
}

/// A headless Chromium showing one URL; killed (and its profile deleted) on drop.
pub struct Chromium {
    child: Child,
    _profile: tempfile::TempDir,
    log: PathBuf,
}

/// The Chromium binary: `$CHROMIUM` or `/usr/bin/chromium`.
pub fn chromium_path() -> PathBuf {
    std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

impl Chromium {
    /// Starts Chromium on `url` with the standard headless flags plus `extra`.
    pub fn launch(url: &str, extra: &[String]) -> Chromium {
        let profile = tempfile::tempdir().expect("temp profile dir");
        let log = profile.path().join("chromium.log");
        let log_file = std::fs::File::create(&log).expect("chromium log file");
        let mut cmd = Command::new(chromium_path());
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--enable-unsafe-swiftshader",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().expect("clone log handle"))
        .stderr(log_file);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", chromium_path().display()));
        Chromium {
            child,
            _profile: profile,
            log,
        }
    }

    /// The process id of the browser's main process.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The last `n` bytes of Chromium's output (for failure messages).
    pub fn log_tail(&self, n: usize) -> String {
        let s = std::fs::read_to_string(&self.log).unwrap_or_default();
        s[s.len().saturating_sub(n)..].to_string()
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Chromium as the audit finds it: `$CHROMIUM`, else `chromium` on the `PATH`.
pub fn find_chromium() -> Browser {
    let spec = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".to_owned());
    Browser::find(&spec).expect("chromium")
}

/// [`find_chromium`] launched with `launch`, with a DevTools connection.
pub async fn chromium_cdp(launch: &Launch) -> (RunningBrowser, Cdp) {
    let mut b = find_chromium()
        .launch(launch)
        .await
        .expect("launch chromium");
    let ws = b
        .devtools_url(Duration::from_secs(20))
        .await
        .expect("devtools");
    let cdp = Cdp::connect(&ws).await.expect("cdp");
    (b, cdp)
}

/// Every record of every `*.jsonl` file under `dir` (recursively); torn lines are skipped.
pub fn read_traces(dir: &Path) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "jsonl") {
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                out.extend(
                    text.lines()
                        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()),
                );
            }
        }
    }
    out
}
