//! Realistic, deterministic HTML pages for the overhead benchmarks: a news
//! or documentation page with a real `<head>` (meta tags, preloads, inline
//! CSS, JSON-LD, an inline data script) and a long `<body>` (navigation,
//! sections of mixed-language text with links and inline markup, lists,
//! tables, figures with `srcset`, inline SVG icons, code blocks with
//! entities, comments, trailing scripts), filled to a chosen size.
//!
//! [`Variant`] picks the head: charset from the HTTP header only, charset
//! and CSP from `<meta>` tags (the rewriter sniffs 1024 bytes and patches the
//! CSP), or a large inline bundle in the head that the HTML parser has to
//! tokenize in full before `<body>` starts.

use std::fmt::Write as _;

/// Which head a page gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// No `<meta charset>`: the charset comes from the `Content-Type`
    /// header (`text/html; charset=utf-8`).
    Plain,
    /// `<meta charset="utf-8">` and a `<meta http-equiv=
    /// "Content-Security-Policy">` in the head, served as plain `text/html`
    /// (no header charset).
    MetaCsp,
    /// Like [`Variant::Plain`] but with about 1.5 MB of inline JavaScript
    /// and CSS in the head (a server-rendered app shell).
    HeavyHead,
}

impl Variant {
    /// The `Content-Type` the page is served with.
    pub fn content_type(self) -> &'static str {
        match self {
            Variant::MetaCsp => "text/html",
            Variant::Plain | Variant::HeavyHead => "text/html; charset=utf-8",
        }
    }

    /// Inline bytes of one kind in the head: `heavy` for [`Variant::HeavyHead`], `light`
    /// for the others.
    fn head_bytes(self, heavy: usize, light: usize) -> usize {
        if self == Variant::HeavyHead {
            heavy
        } else {
            light
        }
    }

    /// A short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Plain => "plain page (charset in header)",
            Variant::MetaCsp => "meta charset + meta CSP",
            Variant::HeavyHead => "1.5 MB inline script/style in head",
        }
    }
}

/// The CSP of [`Variant::MetaCsp`] pages.
pub const META_CSP: &str = "default-src 'self'; script-src 'self' 'nonce-r4nd0m' \
https://cdn.example.com; style-src 'self' 'unsafe-inline'; img-src * data:; \
connect-src 'self' https://api.example.com";

/// A small deterministic random source (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[rustfmt::skip]
const WORDS: &[&str] = &[
    "the", "model", "inference", "latency", "browser", "tensor", "kernel", "backend", "memory",
    "frame", "camera", "request", "response", "page", "worker", "shader", "upload", "download",
    "benchmark", "session", "weights", "layer", "batch", "queue", "result", "of", "and", "in",
    "with", "for", "is", "to", "a", "on", "runs", "measured", "faster", "slower", "café",
    "naïve", "über", "déjà", "vu", "—", "“quoted”", "模型", "推理", "ブラウザ", "данные", "😀",
];

fn sentence(r: &mut Rng, out: &mut String) {
    let n = 6 + r.below(14);
    for i in 0..n {
        if i > 0 {
            out.push(' ');
        }
        match r.below(20) {
            0 => {
                let _ = write!(
                    out,
                    "<a href=\"/docs/{}/{}#s{}\">{}</a>",
                    r.pick(WORDS),
                    r.below(1000),
                    r.below(50),
                    r.pick(WORDS)
                );
            }
            1 => {
                let _ = write!(out, "<em>{}</em>", r.pick(WORDS));
            }
            2 => {
                let _ = write!(out, "<code>{}()</code>", r.pick(&["run", "fetch", "init"]));
            }
            3 => out.push_str("&amp;"),
            _ => out.push_str(r.pick(WORDS)),
        }
    }
    out.push_str(". ");
}

fn section(r: &mut Rng, n: u64, out: &mut String) {
    let _ = write!(
        out,
        "<section id=\"s{n}\" class=\"doc-section\" data-index=\"{n}\">\n<h2 class=\"title\">"
    );
    sentence(r, out);
    out.push_str("</h2>\n<!-- section ");
    let _ = writeln!(out, "{n} -->");
    for _ in 0..(2 + r.below(4)) {
        out.push_str("<p class=\"para\">");
        for _ in 0..(2 + r.below(5)) {
            sentence(r, out);
        }
        out.push_str("</p>\n");
    }
    match r.below(4) {
        0 => {
            out.push_str("<ul class=\"list\">\n");
            for _ in 0..(3 + r.below(6)) {
                out.push_str("  <li>");
                sentence(r, out);
                out.push_str("</li>\n");
            }
            out.push_str("</ul>\n");
        }
        1 => {
            out.push_str("<table class=\"results\"><thead><tr><th>backend</th><th>p50 ms</th><th>p95 ms</th></tr></thead><tbody>\n");
            for _ in 0..(3 + r.below(8)) {
                let _ = writeln!(
                    out,
                    "<tr><td>{}</td><td>{}.{}</td><td>{}.{}</td></tr>",
                    r.pick(&["wasm", "webgl", "webgpu", "cpu"]),
                    r.below(200),
                    r.below(10),
                    r.below(400),
                    r.below(10)
                );
            }
            out.push_str("</tbody></table>\n");
        }
        2 => {
            let id = r.below(100_000);
            let _ = writeln!(
                out,
                "<figure><img src=\"/img/{id}.webp\" srcset=\"/img/{id}-480.webp 480w, \
                 /img/{id}-960.webp 960w\" sizes=\"(max-width: 600px) 480px, 960px\" \
                 alt=\"figure {id}\" loading=\"lazy\" width=\"960\" height=\"540\">\
                 <figcaption>Figure {n}: measured on 2 cores</figcaption></figure>"
            );
        }
        _ => {
            out.push_str("<pre><code class=\"language-js\">const r = await session.run({ input });\nif (r.ms &lt; 16 &amp;&amp; ok) { draw(r); }\n</code></pre>\n");
            out.push_str("<svg class=\"icon\" viewBox=\"0 0 24 24\" aria-hidden=\"true\"><path d=\"M12 2L2 7l10 5 10-5-10-5zm0 7.5L4.5 6 12 2.5 19.5 6 12 9.5z\"/></svg>\n");
        }
    }
    out.push_str("</section>\n");
}

/// Appends the lines `line(out, i)` writes for i = 0, 1, … until at least `bytes`
/// bytes were added.
fn fill(out: &mut String, bytes: usize, mut line: impl FnMut(&mut String, usize)) {
    let start = out.len();
    let mut i = 0;
    while out.len() - start < bytes {
        line(out, i);
        i += 1;
    }
}

fn inline_css(r: &mut Rng, bytes: usize, out: &mut String) {
    fill(out, bytes, |out, i| {
        let _ = writeln!(
            out,
            ".c{i} > .{} {{ margin: {}px {}px; color: #{:06x}; font: {}px/1.4 system-ui, sans-serif; }}",
            r.pick(&["title", "para", "list", "icon", "nav"]),
            r.below(32),
            r.below(32),
            r.below(0x1000000),
            10 + r.below(20)
        );
    });
}

fn inline_js(r: &mut Rng, bytes: usize, out: &mut String) {
    fill(out, bytes, |out, i| {
        let _ = writeln!(
            out,
            "function f{i}(a,b){{if(a<b&&b>{}){{return \"<div class=\\\"x{i}\\\">\"+a+\"<\\/div>\";}}var o={{k:{},s:'{}'}};return o.k>a?o.s:b;}}",
            r.below(100),
            r.below(1000),
            r.pick(WORDS)
        );
    });
}

/// A page of about `size` bytes (at least the head and one section).
pub fn page(variant: Variant, size: usize) -> Vec<u8> {
    let mut r = Rng(0x5eed_1234_abcd_0001);
    let mut out = String::with_capacity(size + 64 * 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n");
    if variant == Variant::MetaCsp {
        out.push_str("<meta charset=\"utf-8\">\n");
        let _ = writeln!(
            out,
            "<meta http-equiv=\"Content-Security-Policy\" content=\"{META_CSP}\">"
        );
    }
    out.push_str(
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Measuring in-browser inference — webinfer docs</title>\n\
         <meta name=\"description\" content=\"How fast does a model run in the browser?\">\n\
         <meta property=\"og:title\" content=\"webinfer\">\n\
         <link rel=\"preconnect\" href=\"https://cdn.example.com\" crossorigin>\n\
         <link rel=\"preload\" href=\"/static/fonts/inter.woff2\" as=\"font\" type=\"font/woff2\" crossorigin>\n\
         <link rel=\"stylesheet\" href=\"/static/css/app.3f9a1c.css\">\n\
         <link rel=\"icon\" href=\"/favicon.ico\">\n",
    );
    out.push_str("<style>\n");
    inline_css(&mut r, variant.head_bytes(500_000, 20_000), &mut out);
    out.push_str("</style>\n<script type=\"application/ld+json\">{\"@context\":\"https://schema.org\",\"@type\":\"TechArticle\",\"headline\":\"Measuring in-browser inference\"}</script>\n");
    out.push_str("<script nonce=\"r4nd0m\">\n");
    inline_js(&mut r, variant.head_bytes(1_000_000, 30_000), &mut out);
    out.push_str("</script>\n</head>\n<body class=\"doc\">\n<header><nav class=\"nav\">\n");
    for i in 0..40 {
        let _ = writeln!(
            out,
            "<a class=\"nav-link\" href=\"/docs/{}/{i}\">{}</a>",
            r.pick(WORDS),
            r.pick(WORDS)
        );
    }
    out.push_str("</nav></header>\n<main><article>\n");
    let tail = "</article></main>\n<footer><p>© 2026 webinfer</p></footer>\n\
                <script src=\"/static/js/app.js\" defer></script>\n</body>\n</html>\n";
    let mut n = 0;
    while out.len() + tail.len() < size || n == 0 {
        section(&mut r, n, &mut out);
        n += 1;
    }
    out.push_str(tail);
    out.into_bytes()
}

/// `data` cut into `chunk`-byte pieces (the last may be shorter).
pub fn chunks(data: &[u8], chunk: usize) -> Vec<bytes::Bytes> {
    data.chunks(chunk.max(1))
        .map(bytes::Bytes::copy_from_slice)
        .collect()
}
