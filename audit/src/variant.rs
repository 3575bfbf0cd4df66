//! Audit variants: the same site under changed browser capabilities, to
//! reproduce the study's breakdowns (SIMD, threads, GPU).
//!
//! | variant | Chromium | Firefox ESR | proxy |
//! | --- | --- | --- | --- |
//! | `default` | — | — | — |
//! | `no-simd` | `--js-flags=--no-enable-sse4-1` | not available (error) | — |
//! | `no-threads` | — | — | strips COOP/COEP ([`crate::isolation`]) |
//! | `no-gpu` | `--disable-gpu --disable-3d-apis` | `webgl.disabled=true`, `dom.webgpu.enabled=false` | — |
//! | `webgpu` | `--enable-unsafe-webgpu` | not available (error) | — |
//!
//! Chromium 156 has no V8 flag that turns wasm SIMD off
//! (`--no-experimental-wasm-simd`, `--no-wasm-simd` and friends are gone since
//! SIMD shipped); V8 enables SIMD128 only on CPUs with SSE4.1, so
//! `--no-enable-sse4-1` makes `WebAssembly.validate` reject SIMD modules as on
//! such a CPU. Each switch was checked with a page that validates a SIMD
//! module, reads `crossOriginIsolated`/`typeof SharedArrayBuffer`, and asks for
//! a WebGL context; `audit/tests/it/variants.rs` keeps checking them.
//!
//! `webgpu`: Chromium 156 on Linux exposes `navigator.gpu` only with `--enable-unsafe-webgpu`;
//! headless, the adapter is Dawn's SwiftShader (`info.vendor` "google", `architecture`
//! "swiftshader", `isFallbackAdapter` true): WebGPU pages run, on the CPU, 50–150× slower than
//! wasm. The hook records the adapter in `env.adapter` (`injector/js/webgpu.js`).
//! `audit/tests/it/webgpu_variant.rs` checks that the default variant has no adapter and this one
//! has. Firefox ESR 153 on Linux gets no WebGPU adapter even with `dom.webgpu.enabled`, so the
//! variant is refused there rather than run as a copy of `default`.
//!
//! Firefox ESR 153 has no preference that turns wasm SIMD off (the old
//! `javascript.options.wasm_simd` is gone: setting it changes nothing, and
//! `libxul` lists no replacement), so `no-simd` with Firefox is refused with
//! an error rather than run as a silent copy of `default`.

use crate::error::AuditError;

/// Names of the built-in variants.
pub const VARIANTS: &[&str] = &["default", "no-simd", "no-threads", "no-gpu", "webgpu"];

/// A Firefox preference value for `user.js`.
#[derive(Debug, Clone, PartialEq)]
pub enum Pref {
    /// `true`/`false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A string.
    Str(String),
}

impl Pref {
    /// The value as JavaScript source for `user_pref(name, VALUE);`.
    pub fn to_js(&self) -> String {
        match self {
            Pref::Bool(b) => b.to_string(),
            Pref::Int(i) => i.to_string(),
            Pref::Str(s) => {
                let mut out = String::from("\"");
                for c in s.chars() {
                    match c {
                        '"' => out.push_str("\\\""),
                        '\\' => out.push_str("\\\\"),
                        '\n' => out.push_str("\\n"),
                        c => out.push(c),
                    }
                }
                out.push('"');
                out
            }
        }
    }
}

/// What one variant changes.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    /// Its name (recorded as `session.variant`).
    pub name: String,
    /// Extra Chromium command-line switches.
    pub chromium_args: Vec<String>,
    /// Extra Firefox preferences.
    pub firefox_prefs: Vec<(String, Pref)>,
    /// Whether the proxy strips the cross-origin isolation headers.
    pub strip_isolation: bool,
    /// Why the variant cannot run in Firefox, if it cannot.
    pub firefox_unsupported: Option<&'static str>,
}

impl Variant {
    /// The built-in variant `name`, or an error listing the known ones.
    pub fn named(name: &str) -> Result<Variant, AuditError> {
        let mut v = Variant {
            name: name.to_owned(),
            chromium_args: Vec::new(),
            firefox_prefs: Vec::new(),
            strip_isolation: false,
            firefox_unsupported: None,
        };
        match name {
            "default" => {}
            "no-simd" => {
                v.chromium_args.push("--js-flags=--no-enable-sse4-1".into());
                v.firefox_unsupported = Some(
                    "Firefox ESR has no preference that disables wasm SIMD (javascript.options.wasm_simd is gone)",
                );
            }
            "no-threads" => v.strip_isolation = true,
            "no-gpu" => {
                v.chromium_args.push("--disable-gpu".into());
                v.chromium_args.push("--disable-3d-apis".into());
                v.firefox_prefs
                    .push(("webgl.disabled".into(), Pref::Bool(true)));
                v.firefox_prefs
                    .push(("dom.webgpu.enabled".into(), Pref::Bool(false)));
            }
            "webgpu" => {
                v.chromium_args.push("--enable-unsafe-webgpu".into());
                v.firefox_unsupported = Some(
                    "Firefox ESR on Linux provides no WebGPU adapter (dom.webgpu.enabled gives none)",
                );
            }
            other => {
                return Err(AuditError::UnknownVariant {
                    name: other.to_owned(),
                    known: VARIANTS.join(", "),
                })
            }
        }
        Ok(v)
    }

    /// What the variant changed, as recorded in `session.browser.flags`
    /// (with the browser's own flags): Chromium switches as given, Firefox
    /// preferences as `pref:NAME=VALUE`, proxy-side changes as
    /// `proxy:strip-cross-origin-isolation`.
    pub fn proxy_flags(&self) -> Vec<String> {
        let mut f = Vec::new();
        if self.strip_isolation {
            f.push("proxy:strip-cross-origin-isolation".to_owned());
        }
        f
    }
}

/// Merges repeated `--js-flags=` switches into one (Chromium keeps only the
/// last occurrence of a switch), keeping every other argument in order.
pub fn merge_js_flags(args: Vec<String>) -> Vec<String> {
    let mut js = Vec::new();
    let mut out = Vec::new();
    for a in args {
        match a.strip_prefix("--js-flags=") {
            Some(v) => js.push(v.trim().to_owned()),
            None => out.push(a),
        }
    }
    if !js.is_empty() {
        out.push(format!("--js-flags={}", js.join(" ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_and_unknown() {
        for n in VARIANTS {
            assert_eq!(Variant::named(n).unwrap().name, *n);
        }
        assert!(Variant::named("no-threads").unwrap().strip_isolation);
        let w = Variant::named("webgpu").unwrap();
        assert_eq!(w.chromium_args, ["--enable-unsafe-webgpu"]);
        assert!(w.firefox_unsupported.is_some());
        let e = Variant::named("turbo").unwrap_err().to_string();
        assert!(e.contains("turbo") && e.contains("no-simd"), "{e}");
    }

    #[test]
    fn js_flags_merge() {
        let got = merge_js_flags(vec![
            "--a".into(),
            "--js-flags=--no-enable-sse4-1".into(),
            "--b".into(),
            "--js-flags=--max-opt=2".into(),
        ]);
        assert_eq!(
            got,
            ["--a", "--b", "--js-flags=--no-enable-sse4-1 --max-opt=2"]
        );
    }

    #[test]
    fn prefs_render_as_js() {
        assert_eq!(Pref::Bool(false).to_js(), "false");
        assert_eq!(Pref::Int(1).to_js(), "1");
        assert_eq!(Pref::Str("a\"b\\".into()).to_js(), "\"a\\\"b\\\\\"");
    }
}
