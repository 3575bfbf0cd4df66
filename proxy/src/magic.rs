//! The magic host `webinfer.ca` (http and https), answered by the proxy
//! itself like mitm.it: the CA certificate for download and how to install it.

use http::{header, Method, Response, StatusCode};

use crate::ca::CertificateAuthority;
use crate::error_page::escape;
use crate::filter::{full, Body};

/// The magic host name.
pub const MAGIC_HOST: &str = "webinfer.ca";

/// Whether `host` is the magic host.
pub fn is_magic_host(host: &str) -> bool {
    host.trim_end_matches('.').eq_ignore_ascii_case(MAGIC_HOST)
}

/// Answers a request to the magic host: `/` (install page), `/webinfer-ca.pem`,
/// `/webinfer-ca.der` (also `/cert.pem`, `/cert.der`).
pub fn serve(ca: &CertificateAuthority, method: &Method, path: &str) -> Response<Body> {
    if method != Method::GET && method != Method::HEAD {
        return simple(StatusCode::METHOD_NOT_ALLOWED, "text/plain", "GET only\n");
    }
    match path {
        "/webinfer-ca.pem" | "/cert.pem" => download(
            ca.cert_pem().as_bytes().to_vec(),
            "application/x-pem-file",
            "webinfer-ca.pem",
        ),
        "/webinfer-ca.der" | "/cert.der" | "/webinfer-ca.crt" => download(
            ca.cert_der().to_vec(),
            "application/x-x509-ca-cert",
            "webinfer-ca.der",
        ),
        "/" | "/index.html" => simple(StatusCode::OK, "text/html; charset=utf-8", &page(ca)),
        _ => simple(StatusCode::NOT_FOUND, "text/plain", "not found\n"),
    }
}

fn simple(status: StatusCode, ctype: &str, body: &str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, ctype)
        .header(header::CONTENT_LENGTH, body.len())
        .header(header::CACHE_CONTROL, "no-store")
        .body(full(body.to_string()))
        .expect("static response parts")
}

fn download(data: Vec<u8>, ctype: &str, name: &str) -> Response<Body> {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, ctype)
        .header(header::CONTENT_LENGTH, data.len())
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        )
        .body(full(data))
        .expect("static response parts")
}

fn page(ca: &CertificateAuthority) -> String {
    let fp = escape(&ca.fingerprint_sha256());
    let pin = escape(&ca.leaf_spki_pin());
    format!(
        r#"<!doctype html>
<html><head><meta charset="utf-8"><title>webinfer CA</title></head>
<body style="font-family:sans-serif;max-width:55em;margin:2em auto">
<h1>webinfer proxy certificate authority</h1>
<p>This page is served by your local webinfer proxy. The CA was generated on this machine;
its private key never leaves it. Trust it only in browsers or profiles you use for measuring.</p>
<p>SHA-256 fingerprint: <code>{fp}</code></p>
<p>Download: <a href="/webinfer-ca.pem">webinfer-ca.pem</a> (PEM) ·
<a href="/webinfer-ca.der">webinfer-ca.der</a> (DER)</p>
<h2>Chromium without installing anything</h2>
<pre>chromium --proxy-server=http://127.0.0.1:8080 --ignore-certificate-errors-spki-list={pin}</pre>
<h2>Debian / Ubuntu</h2>
<pre>curl -x http://127.0.0.1:8080 -o webinfer-ca.pem http://webinfer.ca/webinfer-ca.pem
sudo cp webinfer-ca.pem /usr/local/share/ca-certificates/webinfer-ca.crt
sudo update-ca-certificates</pre>
<h2>Fedora / RHEL</h2>
<pre>sudo cp webinfer-ca.pem /etc/pki/ca-trust/source/anchors/webinfer-ca.pem
sudo update-ca-trust</pre>
<h2>macOS</h2>
<pre>sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain webinfer-ca.pem</pre>
<h2>Windows (administrator PowerShell)</h2>
<pre>certutil -addstore -f Root webinfer-ca.der</pre>
<h2>Firefox (its own store; NSS certutil from libnss3-tools)</h2>
<pre>certutil -A -n webinfer -t "C,," -i webinfer-ca.pem -d sql:$HOME/.mozilla/firefox/PROFILE</pre>
<p>Or open Settings → Privacy &amp; Security → Certificates → View Certificates → Authorities → Import.</p>
<h2>Removing it</h2>
<p>Delete the file you copied and run the same update command; in Firefox delete the
<code>webinfer</code> authority. <code>webinfer ca path</code> shows where the CA lives.</p>
</body></html>
"#
    )
}
