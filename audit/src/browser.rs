//! Finding and launching unmodified browsers (Chromium, Firefox ESR) with a
//! fresh temporary profile that sends everything through the proxy.
//!
//! **Chromium** gets `--user-data-dir=<temp>`, the proxy
//! (`--proxy-server`, `--proxy-bypass-list=<-loopback>` so loopback goes
//! through it too), trust in the proxy's leaf key
//! (`--ignore-certificate-errors-spki-list=<pin>`, no system store change),
//! background networking off (`--disable-background-networking
//! --disable-component-update --disable-sync --no-first-run …`), no
//! throttling of background tabs, SwiftShader for WebGL, and
//! `--remote-debugging-port=0` for the DevTools protocol ([`crate::cdp`]).
//!
//! **Firefox** gets a temporary profile (`--profile DIR --no-remote
//! --new-instance`) whose `user.js` sets the proxy (`network.proxy.type=1`,
//! HTTP and SSL proxy host/port, `allow_hijacking_localhost`, empty
//! `no_proxies_on`) and turns off telemetry, updates, captive-portal and
//! connectivity checks, Safe Browsing, Normandy/studies and new-tab feeds; the
//! proxy's CA is imported into the profile's NSS database with
//! `certutil -A -n webinfer -t "C,," -i ca.pem -d sql:PROFILE`.
//!
//! Both run in their own process group; [`RunningBrowser::stop`] ends the
//! whole tree (SIGTERM, then SIGKILL after a grace period).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::error::AuditError;
use crate::memory;
use crate::variant::{merge_js_flags, Pref};

/// Which engine family a browser executable belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrowserKind {
    /// Chromium or Chrome.
    Chromium,
    /// Firefox (ESR or release).
    Firefox,
}

impl BrowserKind {
    /// `"chromium"` or `"firefox"` (as recorded in `session.browser.name`).
    pub fn name(self) -> &'static str {
        match self {
            BrowserKind::Chromium => "chromium",
            BrowserKind::Firefox => "firefox",
        }
    }
}

/// A browser executable.
#[derive(Debug, Clone)]
pub struct Browser {
    /// Its engine family.
    pub kind: BrowserKind,
    /// The executable.
    pub exe: PathBuf,
}

const CHROMIUM_NAMES: &[&str] = &["chromium", "chromium-browser", "google-chrome", "chrome"];
const FIREFOX_NAMES: &[&str] = &["firefox-esr", "firefox"];

impl Browser {
    /// Finds `spec`: `chromium`, `firefox`, or a path to an executable (its
    /// file name tells the family: names containing `firefox` are Firefox,
    /// everything else is treated as Chromium).
    pub fn find(spec: &str) -> Result<Browser, AuditError> {
        let (kind, names): (BrowserKind, &[&str]) = match spec {
            "chromium" | "chrome" => (BrowserKind::Chromium, CHROMIUM_NAMES),
            "firefox" | "firefox-esr" => (BrowserKind::Firefox, FIREFOX_NAMES),
            path => {
                let p = PathBuf::from(path);
                let exe = which::which(&p).map_err(|e| AuditError::BrowserNotFound {
                    spec: spec.to_owned(),
                    reason: e.to_string(),
                })?;
                let file = p
                    .file_name()
                    .map(|f| f.to_string_lossy().to_lowercase())
                    .unwrap_or_default();
                let kind = if file.contains("firefox") {
                    BrowserKind::Firefox
                } else {
                    BrowserKind::Chromium
                };
                return Ok(Browser { kind, exe });
            }
        };
        for n in names {
            if let Ok(exe) = which::which(n) {
                return Ok(Browser { kind, exe });
            }
        }
        Err(AuditError::BrowserNotFound {
            spec: spec.to_owned(),
            reason: format!(
                "none of {} is on PATH; pass --browser PATH",
                names.join(", ")
            ),
        })
    }

    /// The version reported by `--version` (e.g. `156.0.8078.114`, `140.5.0esr`).
    pub async fn version(&self) -> Result<String, AuditError> {
        let out = Command::new(&self.exe)
            .arg("--version")
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output()
            .await
            .map_err(|e| self.err(format!("running --version: {e}")))?;
        let text = String::from_utf8_lossy(&out.stdout);
        parse_version(&text)
            .ok_or_else(|| self.err(format!("unexpected --version output {text:?}")))
    }

    fn err(&self, reason: String) -> AuditError {
        AuditError::Browser {
            browser: self.exe.display().to_string(),
            reason,
        }
    }
}

/// The first token of `--version` output that starts with a digit.
fn parse_version(text: &str) -> Option<String> {
    text.split_whitespace()
        .find(|t| t.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .map(str::to_owned)
}

/// How to launch one browser run.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The proxy's address.
    pub proxy: SocketAddr,
    /// Base64 SHA-256 of the proxy's leaf SubjectPublicKeyInfo (Chromium).
    pub proxy_spki_pin: String,
    /// The proxy CA certificate, PEM (Firefox imports it).
    pub proxy_ca_pem: PathBuf,
    /// Run without a window.
    pub headless: bool,
    /// Extra Chromium switches (variant and user), in order.
    pub chromium_args: Vec<String>,
    /// Extra Firefox preferences (variant).
    pub firefox_prefs: Vec<(String, Pref)>,
    /// Extra Firefox command-line arguments (user).
    pub firefox_args: Vec<String>,
    /// The page to open.
    pub url: String,
}

impl Launch {
    /// A headless launch on `url` behind `proxy` (its leaf pin and CA file), with no extra
    /// switches, preferences or arguments.
    pub fn headless(proxy: &webinfer_proxy::ProxyHandle, url: &str) -> Launch {
        Launch {
            proxy: proxy.addr(),
            proxy_spki_pin: proxy.ca().leaf_spki_pin(),
            proxy_ca_pem: proxy.ca().cert_pem_path(),
            headless: true,
            chromium_args: Vec::new(),
            firefox_prefs: Vec::new(),
            firefox_args: Vec::new(),
            url: url.to_owned(),
        }
    }
}

/// A launched browser; [`RunningBrowser::stop`] ends it.
#[derive(Debug)]
pub struct RunningBrowser {
    kind: BrowserKind,
    child: Child,
    pid: u32,
    profile: tempfile::TempDir,
    flags: Vec<String>,
    log: PathBuf,
}

/// Chromium switches every audit run gets (besides profile, proxy and pin).
pub const CHROMIUM_BASE_ARGS: &[&str] = &[
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-breakpad",
    "--metrics-recording-only",
    "--disable-renderer-backgrounding",
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
    "--disable-dev-shm-usage",
    "--enable-unsafe-swiftshader",
    "--autoplay-policy=no-user-gesture-required",
    "--window-size=1280,900",
    "--remote-debugging-port=0",
];

/// Firefox preferences every audit profile gets (besides the proxy ones).
pub fn firefox_base_prefs() -> Vec<(&'static str, Pref)> {
    use Pref::{Bool, Int, Str};
    vec![
        ("browser.shell.checkDefaultBrowser", Bool(false)),
        (
            "browser.startup.homepage_override.mstone",
            Str("ignore".into()),
        ),
        ("startup.homepage_welcome_url", Str(String::new())),
        (
            "startup.homepage_welcome_url.additional",
            Str(String::new()),
        ),
        ("browser.aboutwelcome.enabled", Bool(false)),
        ("browser.startup.page", Int(0)),
        ("browser.sessionstore.resume_from_crash", Bool(false)),
        ("toolkit.startup.max_resumed_crashes", Int(-1)),
        ("datareporting.healthreport.uploadEnabled", Bool(false)),
        ("datareporting.policy.dataSubmissionEnabled", Bool(false)),
        ("datareporting.policy.firstRunURL", Str(String::new())),
        ("toolkit.telemetry.enabled", Bool(false)),
        ("toolkit.telemetry.unified", Bool(false)),
        ("toolkit.telemetry.archive.enabled", Bool(false)),
        ("toolkit.telemetry.server", Str(String::new())),
        ("browser.ping-centre.telemetry", Bool(false)),
        ("app.update.auto", Bool(false)),
        ("app.update.checkInstallTime", Bool(false)),
        ("app.normandy.enabled", Bool(false)),
        ("app.normandy.api_url", Str(String::new())),
        ("app.shield.optoutstudies.enabled", Bool(false)),
        ("network.captive-portal-service.enabled", Bool(false)),
        ("network.connectivity-service.enabled", Bool(false)),
        ("network.dns.disablePrefetch", Bool(true)),
        ("network.prefetch-next", Bool(false)),
        ("network.http.speculative-parallel-limit", Int(0)),
        ("browser.safebrowsing.malware.enabled", Bool(false)),
        ("browser.safebrowsing.phishing.enabled", Bool(false)),
        ("browser.safebrowsing.downloads.enabled", Bool(false)),
        ("browser.safebrowsing.downloads.remote.enabled", Bool(false)),
        ("browser.safebrowsing.blockedURIs.enabled", Bool(false)),
        ("browser.safebrowsing.update.enabled", Bool(false)),
        ("extensions.update.enabled", Bool(false)),
        ("extensions.getAddons.cache.enabled", Bool(false)),
        ("extensions.blocklist.enabled", Bool(false)),
        ("extensions.systemAddon.update.enabled", Bool(false)),
        ("browser.newtabpage.enabled", Bool(false)),
        (
            "browser.newtabpage.activity-stream.feeds.topsites",
            Bool(false),
        ),
        (
            "browser.newtabpage.activity-stream.feeds.section.topstories",
            Bool(false),
        ),
        ("browser.newtabpage.activity-stream.telemetry", Bool(false)),
        ("browser.topsites.contile.enabled", Bool(false)),
        ("browser.search.update", Bool(false)),
        ("browser.region.update.enabled", Bool(false)),
        ("browser.region.network.url", Str(String::new())),
        ("media.gmp-manager.updateEnabled", Bool(false)),
        ("media.gmp-gmpopenh264.enabled", Bool(false)),
        ("media.autoplay.default", Int(0)),
        ("security.enterprise_roots.enabled", Bool(false)),
        ("dom.security.https_only_mode", Bool(false)),
    ]
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

impl Browser {
    /// Starts the browser for one run.
    pub async fn launch(&self, l: &Launch) -> Result<RunningBrowser, AuditError> {
        let profile = tempfile::Builder::new()
            .prefix(&format!("webinfer-{}-", self.kind.name()))
            .tempdir()
            .map_err(|e| AuditError::io("creating a profile folder in", std::env::temp_dir(), e))?;
        let (args, flags) = match self.kind {
            BrowserKind::Chromium => chromium_args(l, profile.path()),
            BrowserKind::Firefox => {
                prepare_firefox_profile(l, profile.path()).await?;
                firefox_args(l, profile.path())
            }
        };
        let log = profile.path().join("browser.log");
        let log_file =
            std::fs::File::create(&log).map_err(|e| AuditError::io("creating", log.clone(), e))?;
        let log_err = log_file
            .try_clone()
            .map_err(|e| AuditError::io("opening", log.clone(), e))?;
        let mut cmd = Command::new(&self.exe);
        cmd.args(&args)
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(log_err)
            .process_group(0)
            .kill_on_drop(true);
        if self.kind == BrowserKind::Firefox {
            // Keep Firefox from finding a running instance or a desktop session's profile.
            cmd.env("MOZ_NO_REMOTE", "1")
                .env("MOZ_CRASHREPORTER_DISABLE", "1");
        }
        tracing::debug!(exe = %self.exe.display(), ?args, "launching browser");
        let child = cmd
            .spawn()
            .map_err(|e| self.err(format!("starting: {e}")))?;
        let pid = child
            .id()
            .ok_or_else(|| self.err("exited at once".into()))?;
        Ok(RunningBrowser {
            kind: self.kind,
            child,
            pid,
            profile,
            flags,
            log,
        })
    }
}

/// Chromium's full argument list and the flags recorded for the session.
fn chromium_args(l: &Launch, profile: &Path) -> (Vec<String>, Vec<String>) {
    let mut flags: Vec<String> = vec![
        format!("--proxy-server=http://{}", l.proxy),
        "--proxy-bypass-list=<-loopback>".into(),
        format!("--ignore-certificate-errors-spki-list={}", l.proxy_spki_pin),
    ];
    flags.extend(CHROMIUM_BASE_ARGS.iter().map(|s| s.to_string()));
    if l.headless {
        flags.push("--headless".into());
    }
    if is_root() {
        flags.push("--no-sandbox".into());
    }
    flags.extend(l.chromium_args.iter().cloned());
    let flags = merge_js_flags(flags);
    let mut args = vec![format!("--user-data-dir={}", profile.display())];
    args.extend(flags.iter().cloned());
    args.push(l.url.clone());
    (args, flags)
}

/// Firefox's argument list and the flags recorded for the session (command
/// line plus the variant's preferences as `pref:NAME=VALUE`).
fn firefox_args(l: &Launch, profile: &Path) -> (Vec<String>, Vec<String>) {
    let mut flags = vec!["--no-remote".to_owned(), "--new-instance".to_owned()];
    if l.headless {
        flags.push("--headless".into());
    }
    flags.push("--window-size=1280,900".into());
    flags.extend(l.firefox_args.iter().cloned());
    let mut args = vec!["--profile".to_owned(), profile.display().to_string()];
    args.extend(flags.iter().cloned());
    args.push(l.url.clone());
    let mut recorded = flags;
    recorded.extend(
        l.firefox_prefs
            .iter()
            .map(|(k, v)| format!("pref:{k}={}", v.to_js())),
    );
    (args, recorded)
}

/// Writes `user.js` and imports the proxy CA into the profile's NSS store.
async fn prepare_firefox_profile(l: &Launch, profile: &Path) -> Result<(), AuditError> {
    let host = l.proxy.ip().to_string();
    let port = i64::from(l.proxy.port());
    let mut prefs: Vec<(String, Pref)> = vec![
        ("network.proxy.type".into(), Pref::Int(1)),
        ("network.proxy.http".into(), Pref::Str(host.clone())),
        ("network.proxy.http_port".into(), Pref::Int(port)),
        ("network.proxy.ssl".into(), Pref::Str(host)),
        ("network.proxy.ssl_port".into(), Pref::Int(port)),
        (
            "network.proxy.allow_hijacking_localhost".into(),
            Pref::Bool(true),
        ),
        (
            "network.proxy.no_proxies_on".into(),
            Pref::Str(String::new()),
        ),
        (
            "network.proxy.share_proxy_settings".into(),
            Pref::Bool(false),
        ),
    ];
    prefs.extend(
        firefox_base_prefs()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v)),
    );
    prefs.extend(l.firefox_prefs.iter().cloned());
    let mut js = String::from("// written by webinfer audit\n");
    for (k, v) in &prefs {
        js.push_str(&format!(
            "user_pref({}, {});\n",
            Pref::Str(k.clone()).to_js(),
            v.to_js()
        ));
    }
    let user_js = profile.join("user.js");
    tokio::fs::write(&user_js, js)
        .await
        .map_err(|e| AuditError::io("writing", user_js, e))?;

    let db = format!("sql:{}", profile.display());
    let certutil = which::which("certutil").map_err(|_| AuditError::BrowserNotFound {
        spec: "certutil".into(),
        reason: "Firefox audits import the proxy CA with NSS certutil (Debian: libnss3-tools)"
            .into(),
    })?;
    for args in [
        vec!["-N", "-d", &db, "--empty-password"],
        vec![
            "-A",
            "-n",
            "webinfer",
            "-t",
            "C,,",
            "-i",
            l.proxy_ca_pem.to_str().unwrap_or_default(),
            "-d",
            &db,
        ],
    ] {
        let out = Command::new(&certutil)
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .await
            .map_err(|e| AuditError::Browser {
                browser: "certutil".into(),
                reason: e.to_string(),
            })?;
        if !out.status.success() {
            return Err(AuditError::Browser {
                browser: "certutil".into(),
                reason: format!(
                    "certutil {} failed: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            });
        }
    }
    Ok(())
}

impl RunningBrowser {
    /// The launched process id (the root of the browser's process tree).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The browser family.
    pub fn kind(&self) -> BrowserKind {
        self.kind
    }

    /// The temporary profile folder (deleted when this value is dropped).
    pub fn profile_dir(&self) -> &Path {
        self.profile.path()
    }

    /// The switches (Chromium) or switches and preferences (Firefox) of this
    /// run, as recorded in `session.browser.flags`.
    pub fn flags(&self) -> &[String] {
        &self.flags
    }

    /// The last `max` bytes of the browser's stdout/stderr, for error messages.
    pub fn log_tail(&self, max: usize) -> String {
        let text = std::fs::read(&self.log).unwrap_or_default();
        let start = text.len().saturating_sub(max);
        String::from_utf8_lossy(&text[start..]).into_owned()
    }

    /// `Some(status)` once the browser process has exited.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits for Chromium's `DevToolsActivePort` file and returns the browser
    /// target's WebSocket URL.
    pub async fn devtools_url(&mut self, timeout: Duration) -> Result<String, AuditError> {
        if self.kind != BrowserKind::Chromium {
            return Err(AuditError::Unsupported(
                "the DevTools protocol is only used with Chromium".into(),
            ));
        }
        let file = self.profile.path().join("DevToolsActivePort");
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Ok(text) = tokio::fs::read_to_string(&file).await {
                let mut lines = text.lines();
                if let (Some(port), Some(path)) = (lines.next(), lines.next()) {
                    if let Ok(port) = port.trim().parse::<u16>() {
                        return Ok(format!("ws://127.0.0.1:{port}{}", path.trim()));
                    }
                }
            }
            if let Some(st) = self.exited() {
                return Err(AuditError::Browser {
                    browser: "chromium".into(),
                    reason: format!(
                        "exited ({st}) before DevTools started: {}",
                        self.log_tail(2000)
                    ),
                });
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(AuditError::Cdp(format!(
                    "{} did not appear within {timeout:?}",
                    file.display()
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Ends the browser and every process it started: SIGTERM to the process
    /// group and the descendants, up to `grace` to exit, then SIGKILL.
    pub async fn stop(mut self, grace: Duration) {
        let mut pids = memory::descendants(self.pid);
        signal_all(self.pid, &pids, libc::SIGTERM);
        let deadline = tokio::time::Instant::now() + grace;
        loop {
            let exited = self.exited().is_some();
            pids.retain(|p| memory::is_alive(*p));
            if exited && pids.is_empty() {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                signal_all(self.pid, &pids, libc::SIGKILL);
                let _ = self.child.kill().await;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = self.child.wait().await;
    }
}

/// Sends `sig` to the process group `pgid` and to each of `pids`.
fn signal_all(pgid: u32, pids: &[u32], sig: libc::c_int) {
    // SAFETY: kill(2) with a negative pid signals a process group; both calls
    // only take plain integers and report failure through the return value.
    unsafe {
        libc::kill(-(pgid as libc::pid_t), sig);
        for p in pids {
            libc::kill(*p as libc::pid_t, sig);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn launch() -> Launch {
        Launch {
            proxy: "127.0.0.1:9999".parse().unwrap(),
            proxy_spki_pin: "PIN=".into(),
            proxy_ca_pem: "/tmp/ca.pem".into(),
            headless: true,
            chromium_args: vec![
                "--js-flags=--no-enable-sse4-1".into(),
                "--js-flags=--x".into(),
            ],
            firefox_prefs: vec![("webgl.disabled".into(), Pref::Bool(true))],
            firefox_args: vec![],
            url: "https://site.test/".into(),
        }
    }

    #[test]
    fn chromium_command_line() {
        let (args, flags) = chromium_args(&launch(), Path::new("/tmp/prof"));
        assert_eq!(args[0], "--user-data-dir=/tmp/prof");
        assert_eq!(args.last().unwrap(), "https://site.test/");
        for f in [
            "--proxy-server=http://127.0.0.1:9999",
            "--proxy-bypass-list=<-loopback>",
            "--ignore-certificate-errors-spki-list=PIN=",
            "--disable-background-networking",
            "--headless",
            "--js-flags=--no-enable-sse4-1 --x",
        ] {
            assert!(flags.iter().any(|a| a == f), "{f} missing from {flags:?}");
        }
        assert_eq!(
            flags.iter().filter(|a| a.starts_with("--js-flags")).count(),
            1
        );
    }

    #[test]
    fn firefox_command_line_records_prefs() {
        let (args, flags) = firefox_args(&launch(), Path::new("/tmp/prof"));
        assert_eq!(&args[..2], ["--profile", "/tmp/prof"]);
        assert!(args.contains(&"--headless".to_owned()));
        assert!(flags.contains(&"pref:webgl.disabled=true".to_owned()));
    }

    #[test]
    fn versions_parse() {
        assert_eq!(
            parse_version("Chromium 156.0.8078.114 built on Debian GNU/Linux 12 (bookworm)\n")
                .as_deref(),
            Some("156.0.8078.114")
        );
        assert_eq!(
            parse_version("Mozilla Firefox 140.5.0esr\n").as_deref(),
            Some("140.5.0esr")
        );
        assert_eq!(parse_version("garbage"), None);
    }
}
