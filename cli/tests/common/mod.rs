//! Real parts shared by the `webinfer` binary tests: the test kit's CA,
//! origin and CONNECT + TLS client (HTTP/1.1 or HTTP/2 over hyper), an
//! origin route table serving deterministic bodies and HTML pages, and the
//! real proxy binary started on port 0.
#![allow(dead_code, unused_imports)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
pub use webinfer_testkit::client::connect_tunnel_with_host;
pub use webinfer_testkit::data::sha256_hex;
pub use webinfer_testkit::{
    body_bytes, client_tls, connect_tunnel, empty, full, query_u64, Origin, Sender, TestBody,
    TestCa,
};

/// The path of the binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_webinfer");

/// The host name the origin's certificate is made for (routed to loopback
/// with `--resolve`).
pub const ORIGIN_HOST: &str = "origin.test";

/// `len` deterministic pseudo-random bytes for `seed` (the test kit's
/// xorshift64 stream: block `seed` of stream 0).
pub fn det_bytes(seed: u64, len: usize) -> Bytes {
    webinfer_testkit::data::chunk(0, seed, len)
}

/// [`det_bytes`], generated once per (seed, len) and then shared.
pub fn cached_bytes(seed: u64, len: usize) -> Bytes {
    static CACHE: std::sync::OnceLock<Mutex<std::collections::HashMap<(u64, usize), Bytes>>> =
        std::sync::OnceLock::new();
    CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap()
        .entry((seed, len))
        .or_insert_with(|| det_bytes(seed, len))
        .clone()
}

/// The HTML page the origin serves at `/page/{n}`.
pub fn html_page(n: u64) -> String {
    let filler: String = (0..40)
        .map(|i| format!("<p>paragraph {i} of page {n}: lorem ipsum dolor sit amet</p>\n"))
        .collect();
    format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>page {n}</title></head>\
         <body><h1>page {n}</h1>\n{filler}</body></html>\n"
    )
}

/// The origin's routes:
/// - `/bytes?n=N&seed=S`: `N` deterministic bytes (`det_bytes(S, N)`), with
///   a content-length, `application/octet-stream`;
/// - `/page/N`: [`html_page`]`(N)`, `text/html`;
/// - anything else: 404.
async fn route(req: Request<Incoming>) -> Response<TestBody> {
    let path = req.uri().path().to_string();
    let param = |k: &str| query_u64(req.uri(), k);
    if path == "/bytes" {
        let n = param("n").unwrap_or(1024) as usize;
        let seed = param("seed").unwrap_or(1);
        Response::builder()
            .header("content-type", "application/octet-stream")
            .header("content-length", n)
            .body(full(cached_bytes(seed, n)))
            .unwrap()
    } else if let Some(n) = path.strip_prefix("/page/").and_then(|n| n.parse().ok()) {
        Response::builder()
            .header("content-type", "text/html; charset=utf-8")
            .body(full(html_page(n)))
            .unwrap()
    } else {
        Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(full("not found"))
            .unwrap()
    }
}

/// Starts an origin ([`route`]) on loopback; `tls` = None means plain HTTP.
pub async fn start_origin(tls: Option<Arc<rustls::ServerConfig>>) -> Origin {
    Origin::start(tls, route).await.expect("the origin starts")
}

/// A running `webinfer proxy` child process (killed with SIGKILL on drop).
pub struct ProxyProcess {
    child: Child,
    /// The address the proxy reported it listens on.
    pub addr: SocketAddr,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

/// Options of a proxy started by [`ProxyProcess::start`].
pub struct ProxySetup<'a> {
    /// `--ca-dir`.
    pub ca_dir: &'a Path,
    /// `--traces`.
    pub traces: &'a Path,
    /// `--upstream-ca` files.
    pub upstream_ca: Vec<PathBuf>,
    /// `--resolve HOST:PORT:127.0.0.1` for each (host, port).
    pub resolve: Vec<(String, u16)>,
    /// More arguments.
    pub extra: Vec<String>,
    /// Environment variables.
    pub env: Vec<(String, String)>,
}

impl<'a> ProxySetup<'a> {
    /// A setup with just the CA and trace directories.
    pub fn new(ca_dir: &'a Path, traces: &'a Path) -> Self {
        ProxySetup {
            ca_dir,
            traces,
            upstream_ca: Vec::new(),
            resolve: Vec::new(),
            extra: Vec::new(),
            env: Vec::new(),
        }
    }
}

fn pump(
    reader: impl std::io::Read + Send + 'static,
    into: Arc<Mutex<String>>,
    lines: Option<mpsc::Sender<String>>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines() {
            let Ok(line) = line else { break };
            if let Some(tx) = &lines {
                let _ = tx.send(line.clone());
            }
            let mut s = into.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    });
}

impl ProxyProcess {
    /// Starts `webinfer proxy --listen 127.0.0.1:0 …` and waits (at most
    /// 30 s) for its `listening on http://ADDR` line on stdout.
    pub fn start(setup: ProxySetup<'_>) -> ProxyProcess {
        let mut args: Vec<String> = vec![
            "proxy".into(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--ca-dir".into(),
            setup.ca_dir.display().to_string(),
            "--traces".into(),
            setup.traces.display().to_string(),
        ];
        for ca in &setup.upstream_ca {
            args.push("--upstream-ca".into());
            args.push(ca.display().to_string());
        }
        for (host, port) in &setup.resolve {
            args.push("--resolve".into());
            args.push(format!("{host}:{port}:127.0.0.1"));
        }
        args.extend(setup.extra.iter().cloned());
        Self::spawn(&args, &setup.env)
    }

    /// Runs `webinfer ARGS` (which must start a proxy) and waits for its
    /// listening line.
    pub fn spawn(args: &[String], env: &[(String, String)]) -> ProxyProcess {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("the webinfer binary starts");
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        pump(child.stdout.take().unwrap(), stdout.clone(), Some(tx));
        pump(child.stderr.take().unwrap(), stderr.clone(), None);
        let deadline = Instant::now() + Duration::from_secs(30);
        let addr = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(a) = line.strip_prefix("webinfer proxy listening on http://") {
                        break a.trim().parse::<SocketAddr>().expect("a socket address");
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "the proxy did not report its address; stderr:\n{}",
                        stderr.lock().unwrap()
                    );
                }
            }
        };
        ProxyProcess {
            child,
            addr,
            stdout,
            stderr,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the proxy printed on stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    /// Everything the proxy printed on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Resident set size of the proxy process in KiB (`VmRSS` of
    /// `/proc/<pid>/status`).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/<pid>/status")
    }

    /// Sends SIGKILL (`kill -9`) and reaps the process.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// The proxy's CA certificate (DER) from `--ca-dir`.
pub fn proxy_ca_der(ca_dir: &Path) -> Vec<u8> {
    std::fs::read(ca_dir.join("webinfer-ca.der")).expect("the proxy wrote its CA")
}

/// Runs `webinfer ARGS` to completion; returns (success, stdout, stderr).
pub fn run_bin(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args).stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("the webinfer binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A session id the proxy at `proxy` issued: loads `http://{authority}/page/1`
/// (a plain-HTTP [`start_origin`] routed with `--resolve`) through it as a
/// navigation and reads the sid out of the injected hook's config, as the
/// hook does. The trace endpoint stores records only for such ids, posted to
/// `http://{authority}/__webinfer__/trace` (the page's own origin).
pub async fn issue_sid(proxy: SocketAddr, authority: &str) -> String {
    let tcp = TcpStream::connect(proxy).await.unwrap();
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = Request::get(format!("http://{authority}/page/1"))
        .header("host", authority)
        .header("accept", "text/html")
        .header("sec-fetch-dest", "document")
        .body(empty())
        .unwrap();
    let resp = send.send_request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&body);
    let at = text.find("\"sid\":\"").expect("an injected config") + 7;
    let end = at + text[at..].find('"').unwrap();
    text[at..end].to_owned()
}
