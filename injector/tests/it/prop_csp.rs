//! Property tests of the CSP patcher (`csp`) over generated policies and
//! policy lists: directives in odd case and spacing, duplicates, empty
//! directives, `'none'`, nonces, hashes, `'strict-dynamic'`, host and scheme
//! sources, several policies joined by commas.
//!
//! What the patch may add, precisely (module docs of `csp`), per policy:
//! - the script hash, appended to the *governing script directive* (the first
//!   `script-src-elem`, else `script-src`, else `default-src`), only when that
//!   list neither has it nor allows every inline script;
//! - the endpoint's exact URL (`'self'` when the origin is unknown),
//!   appended to the first `connect-src`, only when that list has neither
//!   `'self'` nor `*`;
//! - a new `connect-src` at the end, only when the policy has no
//!   `connect-src` but a `default-src` without `'self'`/`*`: exactly
//!   `default-src`'s sources without `'none'`, plus the endpoint's URL;
//! - a `'none'` is dropped only from a list that received one of the above.
//!
//! The tests check that nothing else changes (no directive, no source
//! removed; order kept), that afterwards the hook's script and endpoint are
//! allowed, that patching twice equals patching once, that an unchanged
//! policy comes back byte for byte, and that `Content-Security-Policy-Report-Only`
//! headers are never touched.

use http::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_SECURITY_POLICY};
use proptest::prelude::*;
use webinfer_injector::csp::{patch_headers, patch_policy, patch_policy_list, Endpoint, Patch};
use webinfer_testkit::prop::config;

const HASH: &str = "'sha256-PrOp+/TeSt0123456789abcdefghijklmnopqrstu='";
const PATH: &str = "/__webinfer__/trace";

const NAMES: &[&str] = &[
    "script-src",
    "script-src-elem",
    "script-src-attr",
    "default-src",
    "connect-src",
    "img-src",
    "style-src",
    "object-src",
    "worker-src",
    "base-uri",
    "frame-ancestors",
    "report-uri",
    "upgrade-insecure-requests",
    "require-trusted-types-for",
];

const SOURCES: &[&str] = &[
    "'self'",
    "'none'",
    "'unsafe-inline'",
    "'unsafe-eval'",
    "'strict-dynamic'",
    "'report-sample'",
    "'nonce-r4nd0m'",
    "'sha256-abcDEF+/0='",
    "'sha384-xyz'",
    "'sha512-qqq='",
    "*",
    "https:",
    "http:",
    "data:",
    "blob:",
    "wss:",
    "https://app.test",
    "https://app.test:443",
    "http://app.test",
    "https://*.test",
    "app.test",
    "*.app.test",
    "https://app.test/__webinfer__/",
    "https://app.test/other",
    "https://cdn.other",
    "cdn.other:8443",
    "/reports",
    "'script'",
    "é.test",
];

/// Source in random ASCII case (keywords and hosts are case-insensitive).
fn source() -> impl Strategy<Value = String> {
    (
        prop::sample::select(SOURCES),
        prop::collection::vec(any::<bool>(), 8),
    )
        .prop_map(|(s, flips)| {
            s.chars()
                .enumerate()
                .map(|(i, c)| {
                    if flips[i % flips.len()] {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                })
                .collect()
        })
}

/// Whitespace CSP allows between tokens (header-safe: spaces and tabs).
fn ws() -> impl Strategy<Value = String> {
    prop::sample::select(&[" ", "  ", "\t", " \t "][..]).prop_map(str::to_owned)
}

fn directive() -> impl Strategy<Value = String> {
    (
        prop::sample::select(NAMES),
        any::<bool>(),
        prop::collection::vec((ws(), source()), 0..5),
    )
        .prop_map(|(name, upper, values)| {
            let mut s = if upper {
                name.to_ascii_uppercase()
            } else {
                name.to_owned()
            };
            for (w, v) in values {
                s.push_str(&w);
                s.push_str(&v);
            }
            s
        })
}

/// One serialized policy: directives joined by `;` with odd spacing, empty
/// directives and a trailing `;` sometimes.
fn policy() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(
            (
                directive(),
                prop::sample::select(&[";", "; ", " ;", ";;", " ; ;\t"][..]),
            ),
            0..7,
        ),
        any::<bool>(),
        prop::option::of(ws()),
    )
        .prop_map(|(dirs, trailing, lead)| {
            let mut s = lead.unwrap_or_default();
            let n = dirs.len();
            for (i, (d, sep)) in dirs.into_iter().enumerate() {
                s.push_str(&d);
                if i + 1 < n || trailing {
                    s.push_str(sep);
                }
            }
            s
        })
}

/// A header value: one to three policies joined by `,`.
fn policy_list() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(policy(), 1..4),
        prop::sample::select(&[",", ", ", " ,"][..]),
    )
        .prop_map(|(ps, sep)| ps.join(sep))
}

fn patch_for(origin: Option<&'static str>) -> Patch<'static> {
    Patch {
        script_hash: Some(HASH),
        endpoint: Some(Endpoint { origin, path: PATH }),
    }
}

fn is_ws(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\x0c' | '\r' | ' ')
}

/// (lower-cased name, sources) of each non-empty directive.
fn parse(policy: &str) -> Vec<(String, Vec<String>)> {
    policy
        .split(';')
        .map(|d| d.trim_matches(is_ws))
        .filter(|d| !d.is_empty())
        .map(|d| {
            let mut t = d.split(is_ws).filter(|t| !t.is_empty());
            let name = t.next().unwrap_or_default().to_ascii_lowercase();
            (name, t.map(str::to_owned).collect())
        })
        .collect()
}

fn has(list: &[String], kw: &str) -> bool {
    list.iter().any(|v| v.eq_ignore_ascii_case(kw))
}

fn allows_all_inline(list: &[String]) -> bool {
    has(list, "'unsafe-inline'")
        && !has(list, "'strict-dynamic'")
        && !list.iter().any(|v| {
            let v = v.to_ascii_lowercase();
            ["'nonce-", "'sha256-", "'sha384-", "'sha512-"]
                .iter()
                .any(|p| v.starts_with(p))
        })
}

fn first(dirs: &[(String, Vec<String>)], name: &str) -> Option<usize> {
    dirs.iter().position(|(n, _)| n == name)
}

/// The source the patch adds for the endpoint of `origin`.
fn endpoint_src(origin: Option<&str>) -> String {
    match origin {
        Some(o) => format!("{o}{PATH}"),
        None => "'self'".into(),
    }
}

/// Checks one patched policy against its input (see the module docs); `ep`
/// is the source the endpoint gets ([`endpoint_src`]).
fn check_policy(input: &str, output: &str, ep: &str) -> Result<(), TestCaseError> {
    let a = parse(input);
    let b = parse(output);
    if a == b {
        prop_assert_eq!(
            output,
            input,
            "a policy needing nothing comes back byte for byte"
        );
    }
    let script_gov = first(&a, "script-src-elem")
        .or_else(|| first(&a, "script-src"))
        .or_else(|| first(&a, "default-src"));
    let connect = first(&a, "connect-src");
    let default = first(&a, "default-src");
    // Same directives in the same order, plus at most one new `connect-src`.
    prop_assert!(
        b.len() == a.len() || b.len() == a.len() + 1,
        "{:?} -> {:?}",
        a,
        b
    );
    for (i, ((an, av), (bn, bv))) in a.iter().zip(&b).enumerate() {
        prop_assert_eq!(an, bn, "directive {} renamed", i);
        let mut allowed_new: Vec<&str> = Vec::new();
        if Some(i) == script_gov {
            allowed_new.push(HASH);
        }
        if Some(i) == connect {
            allowed_new.push(ep);
        }
        // Every input source is kept, except a `'none'` in a list that grew.
        let grew = bv.len()
            > av.iter()
                .filter(|v| !v.eq_ignore_ascii_case("'none'"))
                .count()
            || bv.iter().any(|v| !av.contains(v));
        let mut rest = bv.clone();
        for v in av {
            if let Some(k) = rest.iter().position(|x| x == v) {
                rest.remove(k);
            } else {
                prop_assert!(
                    v.eq_ignore_ascii_case("'none'") && grew,
                    "source {} of {} was removed: {:?} -> {:?}",
                    v,
                    an,
                    av,
                    bv
                );
            }
        }
        // What is left was added: only what the hook needs, where it needs it.
        for v in &rest {
            prop_assert!(
                allowed_new.contains(&v.as_str()),
                "{} added to {} ({:?} -> {:?})",
                v,
                an,
                av,
                bv
            );
        }
        if rest.iter().any(|v| v == HASH) {
            prop_assert!(!av.iter().any(|v| v == HASH) && !allows_all_inline(av));
        }
        if rest.iter().any(|v| v == ep) {
            prop_assert!(!has(av, "'self'") && !has(av, "*"));
        }
        // Sources keep their order: the output starts with the kept input sources.
        let kept: Vec<&String> = av.iter().filter(|v| bv.contains(v)).collect();
        let prefix: Vec<&String> = bv.iter().take(kept.len()).collect();
        prop_assert_eq!(kept, prefix, "order of {} changed", an);
    }
    if b.len() == a.len() + 1 {
        let (name, values) = &b[a.len()];
        prop_assert_eq!(name, "connect-src");
        prop_assert!(connect.is_none(), "a second connect-src was added");
        let d = default.expect("a new connect-src copies default-src");
        let mut want: Vec<String> = a[d]
            .1
            .iter()
            .filter(|v| !v.eq_ignore_ascii_case("'none'"))
            .cloned()
            .collect();
        want.push(ep.into());
        prop_assert_eq!(values, &want);
        prop_assert!(!has(&a[d].1, "'self'") && !has(&a[d].1, "*"));
    }
    // Afterwards the hook is allowed: its script ...
    if let Some(g) = script_gov {
        let list = &b[g].1;
        prop_assert!(
            list.iter().any(|v| v == HASH) || allows_all_inline(list),
            "script not allowed by {:?}",
            list
        );
    }
    // ... and its endpoint ('self', `*`, or a scheme/host source the patcher
    // matched against the origin).
    let gov_connect = first(&b, "connect-src").or_else(|| first(&b, "default-src"));
    if let Some(c) = gov_connect {
        let list = &b[c].1;
        prop_assert!(
            has(list, "'self'") || has(list, "*") || list.iter().any(|v| !v.starts_with('\'')),
            "endpoint not allowed by {:?}",
            list
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn patch_only_adds_what_the_hook_needs(
        p in policy(),
        origin in prop::option::of(prop::sample::select(&["https://app.test", "http://app.test:8080", "https://x.app.test"][..])),
    ) {
        let out = patch_policy(&p, &patch_for(origin));
        check_policy(&p, &out, &endpoint_src(origin))?;
        prop_assert_eq!(patch_policy(&out, &patch_for(origin)), out.clone(), "patching is idempotent");
    }

    #[test]
    fn policy_lists_are_patched_member_by_member(list in policy_list()) {
        let patch = patch_for(Some("https://app.test"));
        let out = patch_policy_list(&list, &patch);
        let ins: Vec<&str> = list.split(',').collect();
        let outs: Vec<&str> = out.split(',').collect();
        prop_assert_eq!(ins.len(), outs.len(), "no policy added or removed");
        for (i, o) in ins.iter().zip(&outs) {
            check_policy(i, o, &endpoint_src(Some("https://app.test")))?;
        }
        prop_assert_eq!(patch_policy_list(&out, &patch), out.clone(), "idempotent");
    }

    #[test]
    fn headers_patch_enforced_policies_and_never_report_only(
        enforced in prop::collection::vec(policy_list(), 0..3),
        report_only in prop::collection::vec(policy_list(), 0..3),
    ) {
        let ro = HeaderName::from_static("content-security-policy-report-only");
        let mut h = HeaderMap::new();
        for v in &enforced {
            h.append(CONTENT_SECURITY_POLICY, HeaderValue::from_str(v).unwrap());
        }
        for v in &report_only {
            h.append(ro.clone(), HeaderValue::from_str(v).unwrap());
        }
        let patch = patch_for(Some("https://app.test"));
        let changed = patch_headers(&mut h, &patch);
        let got_ro: Vec<&[u8]> = h.get_all(&ro).iter().map(|v| v.as_bytes()).collect();
        let want_ro: Vec<&[u8]> = report_only.iter().map(|v| v.as_bytes()).collect();
        prop_assert_eq!(got_ro, want_ro, "Report-Only is untouched");
        let got: Vec<String> = h
            .get_all(CONTENT_SECURITY_POLICY)
            .iter()
            .map(|v| String::from_utf8(v.as_bytes().to_vec()).unwrap())
            .collect();
        // A value that is not visible ASCII (obs-text) is left as it is, with a warning.
        let want: Vec<String> = enforced
            .iter()
            .map(|v| if v.is_ascii() { patch_policy_list(v, &patch) } else { v.clone() })
            .collect();
        prop_assert_eq!(&got, &want, "every enforced value patched, in order");
        let n = enforced.iter().zip(&want).filter(|(a, b)| a != b).count();
        prop_assert_eq!(changed, n);
        // Patching the patched headers changes nothing.
        prop_assert_eq!(patch_headers(&mut h, &patch), 0);
    }

    #[test]
    fn arbitrary_text_never_panics_and_stays_idempotent(s in "\\PC{0,80}") {
        let patch = patch_for(Some("https://app.test"));
        let out = patch_policy_list(&s, &patch);
        prop_assert_eq!(patch_policy_list(&out, &patch), out.clone());
        // Nothing but whitespace and separators may disappear from the text.
        let squash = |t: &str| -> String {
            t.chars().filter(|c| !is_ws(*c) && *c != ';').collect::<String>().to_ascii_lowercase()
        };
        let (a, b) = (squash(&s), squash(&out));
        let none_free = a.replace("'none'", "");
        prop_assert!(
            b.len() >= none_free.len(),
            "text lost: {:?} -> {:?}",
            s,
            out
        );
    }
}
