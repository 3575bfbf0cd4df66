//! Renders the report [`Document`] as one self-contained HTML page
//! (`report.html`): inline CSS, charts inline as SVG with a `<title>` and a
//! figcaption, no external requests, no horizontal scrolling at 1280 px
//! (wide tables scroll inside their own box in the collapsed appendix).

use super::charts::Chart;
use super::page::{Document, PageReport, Tile};
use super::{Section, DEFINITIONS};

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "*{box-sizing:border-box}\
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:1200px;color:#222;padding:1rem 1.2rem;line-height:1.35}\
h1{margin:.4rem 0}h2{margin:1.6rem 0 .4rem;border-bottom:2px solid #3b6ea5;overflow-wrap:anywhere}h3{margin:1rem 0 .3rem}\
.note{color:#555}.inputs{font-size:.9rem;color:#333}\
.strip{display:grid;grid-template-columns:repeat(auto-fill,minmax(250px,1fr));gap:.6rem;margin:.8rem 0}\
.tile{border:1px solid #d5dde7;border-left:4px solid #3b6ea5;border-radius:4px;padding:.45rem .7rem;background:#f7f9fc;min-width:0}\
.tile .label{font-size:.8rem;color:#555;overflow-wrap:anywhere}.tile .value{font-size:1.35rem;font-weight:600;margin:.1rem 0;overflow-wrap:anywhere}\
.tile p{margin:0;font-size:.88rem}.tile a{font-size:.8rem}\
.pair{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,2.4fr);gap:1rem;align-items:start;margin:1rem 0}\
.pair .reading{display:grid;gap:.6rem}\
figure{margin:0 0 1.4rem;min-width:0}figure svg{display:block;width:100%;height:auto;border:1px solid #e4e4e4}\
figcaption{font-size:.85rem;color:#444;margin-top:.3rem}\
table{border-collapse:collapse;margin:.4rem 0 1rem;font-size:.88rem;max-width:100%}\
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right;overflow-wrap:anywhere}th{background:#f1f3f6}\
td:first-child,th:first-child{text-align:left}code{background:#f4f4f4;padding:0 .2rem}\
.scroll{overflow-x:auto;max-width:100%}details{margin:1rem 0}summary{cursor:pointer;font-weight:600;font-size:1.1rem}\
@media (max-width:820px){.pair{grid-template-columns:minmax(0,1fr)}}";

fn tile(t: &Tile, link: bool) -> String {
    let more = match (&t.chart, link) {
        (Some(c), true) => format!(" <a href=\"#{}\">chart</a>", esc(c)),
        _ => String::new(),
    };
    format!(
        "<div class=\"tile\"><div class=\"label\">{}</div><div class=\"value\">{}</div><p>{}{more}</p></div>\n",
        esc(&t.label),
        esc(&t.value),
        esc(&t.line)
    )
}

/// The chart as an inline `<figure>`: the SVG (role img, `<title>`) and a
/// figcaption with the title and the text alternative.
fn figure(c: &Chart) -> String {
    let svg = c.svg.trim_start_matches(|ch| ch != '<');
    let svg = svg
        .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        .unwrap_or(svg)
        .trim();
    let title_id = format!("{}-title", c.name);
    // role and title right after the opening tag
    let svg = match svg.find('>') {
        Some(end) if svg.starts_with("<svg") => format!(
            "{} role=\"img\" aria-labelledby=\"{title_id}\"><title id=\"{title_id}\">{}. {}</title>{}",
            &svg[..end],
            esc(&c.title),
            esc(&c.alt),
            &svg[end + 1..]
        ),
        _ => svg.to_owned(),
    };
    format!(
        "<figure id=\"{}\" data-chart=\"{}\">\n{svg}\n<figcaption><strong>{}</strong>. {}</figcaption></figure>\n",
        esc(&c.name),
        esc(&c.name),
        esc(&c.title),
        esc(&c.alt)
    )
}

fn table(s: &Section, h: &mut String) {
    if s.rows.is_empty() {
        h.push_str("<p><em>No data for this section in these traces.</em></p>\n");
        return;
    }
    h.push_str("<div class=\"scroll\"><table><thead><tr>");
    for c in &s.headers {
        h.push_str(&format!("<th>{}</th>", esc(c)));
    }
    h.push_str("</tr></thead><tbody>\n");
    for r in &s.rows {
        h.push_str("<tr>");
        for c in r {
            h.push_str(&format!("<td>{}</td>", esc(c)));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody></table></div>\n");
}

fn page(p: &PageReport, h: &mut String) {
    h.push_str(&format!(
        "<section class=\"page\" id=\"{}\"><h2>{}</h2>\n<p class=\"note\">{} session(s); values are means ± 95% CI over sessions.</p>\n<div class=\"strip\">\n",
        esc(&p.id),
        esc(&p.title),
        p.sessions
    ));
    for t in &p.tiles {
        h.push_str(&tile(t, true));
    }
    h.push_str("</div>\n");
    for c in &p.charts {
        h.push_str("<div class=\"pair\"><div class=\"reading\">\n");
        for t in p
            .tiles
            .iter()
            .filter(|t| t.chart.as_deref() == Some(&c.name))
        {
            h.push_str(&tile(t, false));
        }
        h.push_str("</div>\n");
        h.push_str(&figure(c));
        h.push_str("</div>\n");
    }
    for s in [&p.models, &p.session] {
        h.push_str(&format!(
            "<h3>{}</h3>\n<p class=\"note\">{}</p>\n",
            esc(&s.title),
            esc(&s.note)
        ));
        table(s, h);
    }
    h.push_str("</section>\n");
}

/// The HTML report.
pub fn render(d: &Document) -> String {
    let mut h = format!("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>webinfer report</title><style>{STYLE}</style></head><body>\n<h1>webinfer report</h1>\n<ul class=\"inputs\">\n");
    for l in &d.summary {
        h.push_str(&format!("<li>{}</li>\n", esc(l)));
    }
    h.push_str("</ul>\n");
    if !d.comparison.is_empty() {
        h.push_str("<section id=\"comparison\"><h2>Comparison across page groups</h2>\n<p class=\"note\">Means over sessions; whiskers are 95% confidence intervals (Student t, none for one session).</p>\n");
        for c in &d.comparison {
            h.push_str(&figure(c));
        }
        h.push_str("</section>\n");
    }
    for p in &d.pages {
        page(p, &mut h);
    }
    h.push_str(
        "<details id=\"appendix\"><summary>Appendix: full tables (every metric)</summary>\n",
    );
    for s in &d.appendix {
        h.push_str(&format!(
            "<h3>{}</h3>\n<p class=\"note\">{}</p>\n",
            esc(&s.title),
            esc(&s.note)
        ));
        table(s, &mut h);
    }
    h.push_str("</details>\n<details id=\"definitions\"><summary>Definitions</summary>\n<ul>\n");
    for (m, d) in DEFINITIONS {
        h.push_str(&format!(
            "<li><code>{}</code> ({}): {}</li>\n",
            m.name(),
            esc(m.title()),
            esc(d)
        ));
    }
    h.push_str("</ul>\n</details>\n</body></html>\n");
    h
}
