//! The bundled demo app (`web/demo/`): where its files are and how to serve
//! them. `webinfer audit` without a URL serves it under [`DEMO_HOST`] and
//! audits it.
//!
//! The demo is plain HTML/JS using the UMD builds of TF.js and ONNX Runtime
//! Web from `web/node_modules` (no build step); see `web/demo/demo.js` for
//! what it does and its query-string switches.

use std::path::{Path, PathBuf};

use crate::site::{SiteError, SiteServer, DEMO_HOST};

/// Environment variable naming the `web/` folder (holding `demo/` and
/// `node_modules/`), for installed binaries run outside the source tree.
pub const WEB_DIR_ENV: &str = "WEBINFER_WEB_DIR";

/// The `web/` folder: `$WEBINFER_WEB_DIR`, else `./web` when it holds the
/// demo, else the source tree this crate was built from.
pub fn default_web_dir() -> PathBuf {
    if let Some(d) = std::env::var_os(WEB_DIR_ENV) {
        return PathBuf::from(d);
    }
    let cwd = PathBuf::from("web");
    if cwd.join("demo/index.html").is_file() {
        return cwd;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../web")
}

/// Serves `web_dir/demo` at `/` and `web_dir/node_modules` at
/// `/node_modules`, with cross-origin isolation headers (so threaded wasm,
/// `SharedArrayBuffer` and `measureUserAgentSpecificMemory` work).
pub async fn start_demo_site(web_dir: &Path) -> Result<SiteServer, SiteError> {
    SiteServer::builder()
        .mount("/", web_dir.join("demo"))
        .mount("/node_modules", web_dir.join("node_modules"))
        .coop_coep(true)
        .start()
        .await
}

/// The demo's URL under its fake host name, for a browser whose proxy
/// resolves [`DEMO_HOST`]`:port` to the site.
pub fn demo_url(site: &SiteServer, query: &str) -> String {
    let q = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    site.url_for_host(DEMO_HOST, &format!("/{q}"))
}
