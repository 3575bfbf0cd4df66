//! The hook script: the JavaScript embedded from `injector/js/` at build time
//! (see `build.rs` and `injector/CONFIG.md`) plus a per-copy configuration
//! prefix, rendered as pure ASCII so it means the same in every
//! ASCII-compatible document encoding and is safe inside `<script>`.

use std::sync::Arc;

use base64::Engine as _;
use serde::Serialize;
use sha2::{Digest, Sha256};

include!(concat!(env!("OUT_DIR"), "/hook_files.rs"));

/// The global the config prefix assigns.
pub const CONFIG_GLOBAL: &str = "globalThis.__WEBINFER_CONFIG__";

/// The default same-origin path the hook sends records to.
pub const DEFAULT_ENDPOINT: &str = "/__webinfer__/trace";

/// Where an injected copy runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// An HTML document (top-level page or frame).
    Document,
    /// A dedicated or shared worker script.
    Worker,
}

/// The configuration one injected copy receives (serialized as the JSON
/// object documented in `injector/CONFIG.md`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HookConfig {
    /// Session id the hook writes its records under (`[A-Za-z0-9_-]{1,64}`).
    pub sid: String,
    /// For workers: the sid of the page that loaded the script, if known.
    pub parent: Option<String>,
    /// Document or worker.
    pub scope: Scope,
    /// Same-origin path to `POST` record batches to.
    pub endpoint: String,
    /// Kernel profiling on.
    pub kernels: bool,
    /// Period of periodic samplers (`mem`) in ms; 0 turns them off.
    pub sample_ms: u64,
    /// How often the hook sends buffered records, in ms.
    pub flush_ms: u64,
    /// The proxy's Unix time in ms when it injected this copy.
    pub proxy_time_ms: f64,
    /// Run label.
    pub label: Option<String>,
    /// Audit variant.
    pub variant: Option<String>,
    /// Mirror inferences and model loads as `performance.measure` entries with the DevTools
    /// extensibility payload (a "webinfer" track in the Performance panel). Written only when
    /// on.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub devtools_track: bool,
    /// The proxy saves models (`--save-models`): the hook hands over the bytes of models
    /// that never crossed the wire as a file (`POST <endpoint>?model=1…`). Written only when on.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub save_models: bool,
    /// `--capture-inputs`: keep the input tensors of one warm call per model and hand them over
    /// as safetensors (SECURITY.md). Written only when on.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub capture_inputs: bool,
}

impl HookConfig {
    /// A config with defaults (endpoint [`DEFAULT_ENDPOINT`], no kernel
    /// profiling, 1 s sampling and flushing) for `sid` at `proxy_time_ms`.
    pub fn new(sid: impl Into<String>, scope: Scope, proxy_time_ms: f64) -> Self {
        HookConfig {
            sid: sid.into(),
            parent: None,
            scope,
            endpoint: DEFAULT_ENDPOINT.to_owned(),
            kernels: false,
            sample_ms: 1000,
            flush_ms: 1000,
            proxy_time_ms,
            label: None,
            variant: None,
            devtools_track: false,
            save_models: false,
            capture_inputs: false,
        }
    }

    /// The one-line prefix `globalThis.__WEBINFER_CONFIG__ = {...};\n`.
    pub fn prefix(&self) -> String {
        #[derive(Serialize)]
        struct Wire<'a> {
            v: u32,
            #[serde(flatten)]
            cfg: &'a HookConfig,
        }
        // Serializing plain fields into a String cannot fail.
        let json = serde_json::to_string(&Wire { v: 1, cfg: self }).unwrap_or_default();
        format!("{CONFIG_GLOBAL} = {};\n", js_ascii(&json))
    }
}

/// The hook source: the embedded files (or a given text), sanitized once.
#[derive(Debug, Clone)]
pub struct Hook {
    source: Arc<str>,
}

impl Default for Hook {
    fn default() -> Self {
        Self::embedded()
    }
}

impl Hook {
    /// The hook embedded from `injector/js/` (files in `js/MANIFEST` order).
    pub fn embedded() -> Self {
        let mut text = String::new();
        for (name, src) in HOOK_FILES {
            text.push_str(&format!("/* {name} */\n"));
            text.push_str(src);
            if !src.ends_with('\n') {
                text.push('\n');
            }
        }
        Self::from_source(&text)
    }

    /// A hook from `source` (tests, or a hook built elsewhere).
    pub fn from_source(source: &str) -> Self {
        Hook {
            source: Arc::from(sanitize(source)),
        }
    }

    /// The sanitized source (ASCII, `</script` escaped).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The embedded file names, in order.
    pub fn embedded_files() -> Vec<&'static str> {
        HOOK_FILES.iter().map(|(n, _)| *n).collect()
    }

    /// The full text of one injected copy: config prefix, hook source, and a
    /// closing `;` so that code appended after it (a worker's own script)
    /// cannot continue one of its expressions.
    pub fn script(&self, cfg: &HookConfig) -> Script {
        let mut text = cfg.prefix();
        text.push_str(&self.source);
        text.push_str("\n;\n");
        Script::new(text)
    }
}

/// One rendered copy of the hook and its CSP hash.
#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    text: Arc<str>,
    csp_hash: String,
}

impl Script {
    fn new(text: String) -> Self {
        let digest = Sha256::digest(text.as_bytes());
        let b64 = base64::engine::general_purpose::STANDARD.encode(digest);
        Script {
            text: Arc::from(text),
            csp_hash: format!("'sha256-{b64}'"),
        }
    }

    /// The exact script text (what goes between `<script>` and `</script>`).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// `'sha256-…'` over [`Script::text`], as a CSP source expression.
    pub fn csp_hash(&self) -> &str {
        &self.csp_hash
    }

    /// The HTML to insert: `<script>…</script>`.
    pub fn html(&self) -> String {
        format!("<script>{}</script>", self.text)
    }
}

/// Escapes every non-ASCII character as `\uXXXX` (UTF-16 units) and `<`, `>`,
/// `&` too: valid in JSON strings and in JS strings, templates, regexes,
/// identifiers and comments alike.
fn js_ascii(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' | '>' | '&' | '\u{80}'.. => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// Makes hook source safe and encoding-neutral inside an HTML `<script>`:
/// non-ASCII characters become `\uXXXX` escapes and every `</script` (any
/// case) becomes `<\/script`, the same text in every place JS allows it.
fn sanitize(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    for c in source.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    let lower = out.to_ascii_lowercase();
    let mut result = String::with_capacity(out.len());
    let mut last = 0;
    for (i, _) in lower.match_indices("</script") {
        result.push_str(&out[last..i + 1]);
        result.push('\\');
        last = i + 1;
    }
    result.push_str(&out[last..]);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> HookConfig {
        HookConfig::new("abc123", Scope::Document, 1_764_547_511_123.5)
    }

    #[test]
    fn prefix_is_one_line_assigning_the_documented_object() {
        let p = cfg().prefix();
        assert!(p.starts_with("globalThis.__WEBINFER_CONFIG__ = {"));
        assert!(p.ends_with("};\n"));
        assert_eq!(p.matches('\n').count(), 1);
        let json = p
            .trim_start_matches("globalThis.__WEBINFER_CONFIG__ = ")
            .trim_end_matches(";\n");
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"v":1,"sid":"abc123","parent":null,"scope":"document","endpoint":"/__webinfer__/trace",
                "kernels":false,"sample_ms":1000,"flush_ms":1000,"proxy_time_ms":1764547511123.5,"label":null,"variant":null})
        );
    }

    #[test]
    fn config_strings_cannot_close_the_script_and_stay_ascii() {
        let mut c = cfg();
        c.label = Some("</script><script>alert(1)</script> café \u{2028} 😀".into());
        let p = c.prefix();
        assert!(p.is_ascii());
        assert!(!p.contains('<') && !p.contains('>'));
        let json = p
            .trim_start_matches("globalThis.__WEBINFER_CONFIG__ = ")
            .trim_end_matches(";\n");
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(
            v["label"],
            "</script><script>alert(1)</script> café \u{2028} 😀"
        );
    }

    #[test]
    fn hook_source_is_sanitized() {
        let h = Hook::from_source("var s = '</SCRIPT>'; // naïve </script\n");
        assert_eq!(
            h.source(),
            "var s = '<\\/SCRIPT>'; // na\\u00efve <\\/script\n"
        );
    }

    #[test]
    fn script_hash_is_over_the_exact_text_and_changes_per_config() {
        let h = Hook::from_source("(function(){})();");
        let a = h.script(&cfg());
        let mut other = cfg();
        other.sid = "zzz".into();
        let b = h.script(&other);
        assert_ne!(a.csp_hash(), b.csp_hash());
        let digest = Sha256::digest(a.text().as_bytes());
        let expect = format!(
            "'sha256-{}'",
            base64::engine::general_purpose::STANDARD.encode(digest)
        );
        assert_eq!(a.csp_hash(), expect);
        assert_eq!(a.html(), format!("<script>{}</script>", a.text()));
        assert!(a.text().ends_with("\n;\n"));
    }

    #[test]
    fn embedded_hook_follows_the_rules_in_config_md() {
        let h = Hook::embedded();
        assert!(
            !Hook::embedded_files().is_empty(),
            "injector/js holds no hook files"
        );
        let lower = h.source().to_ascii_lowercase();
        assert!(h.source().is_ascii());
        assert!(
            !lower.contains("<!--"),
            "hook source must not contain `<!--`"
        );
        assert!(
            !lower.contains("<script"),
            "hook source must not contain `<script`"
        );
        assert!(!lower.contains("</script"));
        for line in h.source().lines() {
            let t = line.trim_start();
            assert!(
                !(t.starts_with("import ") || t.starts_with("import{") || t.starts_with("export ")),
                "hook source must be a classic script (no import/export): {line}"
            );
        }
    }
}
