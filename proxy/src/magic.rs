//! The magic host `webinfer.invalid` (http and https), answered by the proxy
//! itself like mitm.it: the CA certificate for download and how to install it.
//!
//! The name is under `.invalid` (RFC 6761), which never resolves publicly:
//! a browser that is not actually using the proxy gets a DNS error instead
//! of sending the request to whoever owns the name. The former name
//! `webinfer.ca` (a registrable `.ca` domain) is still answered, but only
//! through the proxy, and is no longer advertised. The page tells the user
//! to compare its fingerprint with `webinfer ca show`, and its commands name
//! the address the proxy really listens on.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use http::{header, Method, Response, StatusCode};

use crate::ca::CertificateAuthority;
use crate::error_page::escape;
use crate::types::{full, Body};

/// The magic host name (never resolves outside the proxy).
pub const MAGIC_HOST: &str = "webinfer.invalid";

/// The former magic host name, still answered through the proxy only.
pub const LEGACY_MAGIC_HOST: &str = "webinfer.ca";

/// The URL of the CA page, as printed and documented.
pub const MAGIC_URL: &str = "http://webinfer.invalid/";

/// Whether `host` is the magic host (or its former name).
pub fn is_magic_host(host: &str) -> bool {
    let h = host.trim_end_matches('.');
    h.eq_ignore_ascii_case(MAGIC_HOST) || h.eq_ignore_ascii_case(LEGACY_MAGIC_HOST)
}

/// The address to give clients for a proxy listening on `listen`: an
/// unspecified address (`0.0.0.0`, `::`) becomes the loopback address of
/// its family, which reaches the same listener.
pub fn client_facing(listen: SocketAddr) -> SocketAddr {
    match listen.ip() {
        IpAddr::V4(a) if a.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), listen.port())
        }
        IpAddr::V6(a) if a.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), listen.port())
        }
        _ => listen,
    }
}

/// Answers a request to the magic host: `/` (install page), `/webinfer-ca.pem`,
/// `/webinfer-ca.der` (also `/cert.pem`, `/cert.der`). `proxy` is the
/// proxy's client-facing address (see [`client_facing`]), used in the
/// page's commands.
pub fn serve(
    ca: &CertificateAuthority,
    proxy: SocketAddr,
    method: &Method,
    path: &str,
) -> Response<Body> {
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
        "/" | "/index.html" => simple(StatusCode::OK, "text/html; charset=utf-8", &page(ca, proxy)),
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

fn page(ca: &CertificateAuthority, proxy: SocketAddr) -> String {
    let fp = escape(&ca.fingerprint_sha256());
    let pin = escape(&ca.leaf_spki_pin());
    let proxy = escape(&proxy.to_string());
    format!(
        r#"<!doctype html>
<html><head><meta charset="utf-8"><title>webinfer CA</title></head>
<body style="font-family:sans-serif;max-width:55em;margin:2em auto">
<h1>webinfer proxy certificate authority</h1>
<p>This page is served by your local webinfer proxy. The CA was generated on this machine;
its private key never leaves it. Trust it only in browsers or profiles you use for measuring.</p>
<p>SHA-256 fingerprint: <code>{fp}</code></p>
<p><strong>Before trusting this certificate, compare that fingerprint with the
<code>sha256:</code> line <code>webinfer ca show</code> prints on the machine running the
proxy.</strong> If they differ, this page did not come from your proxy (for example because the
browser is not using it): do not install anything.</p>
<p>Download: <a href="/webinfer-ca.pem">webinfer-ca.pem</a> (PEM) ·
<a href="/webinfer-ca.der">webinfer-ca.der</a> (DER)</p>
<h2>Chromium without installing anything</h2>
<pre>chromium --proxy-server=http://{proxy} --ignore-certificate-errors-spki-list={pin}</pre>
<h2>Debian / Ubuntu</h2>
<pre>curl -x http://{proxy} -o webinfer-ca.pem http://{MAGIC_HOST}/webinfer-ca.pem
webinfer ca show   # the sha256 line must match the fingerprint above
openssl x509 -in webinfer-ca.pem -noout -fingerprint -sha256
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_listen_addresses_are_shown_as_loopback() {
        let a = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert_eq!(client_facing(a("0.0.0.0:18996")), a("127.0.0.1:18996"));
        assert_eq!(client_facing(a("[::]:18996")), a("[::1]:18996"));
        assert_eq!(client_facing(a("192.0.2.7:80")), a("192.0.2.7:80"));
    }

    #[test]
    fn both_names_are_magic() {
        for h in [
            "webinfer.invalid",
            "WEBINFER.INVALID.",
            "webinfer.ca",
            "WebInfer.CA.",
        ] {
            assert!(is_magic_host(h), "{h}");
        }
        assert!(!is_magic_host("webinfer.ca.evil.test"));
    }
}
