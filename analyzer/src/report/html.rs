//! Renders the report sections as one self-contained HTML page
//! (`report.html`): inline CSS, charts inline as SVG, no external requests.

use super::charts::Chart;
use super::{Section, DEFINITIONS};

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1200px;color:#222;padding:0 1rem}\
table{border-collapse:collapse;margin:.5rem 0 1.5rem;font-size:.9rem}th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:right}\
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.note{color:#555}figure{margin:1rem 0}\
figure svg{max-width:100%;height:auto;border:1px solid #eee}code{background:#f6f6f6;padding:0 .2rem}.scroll{overflow-x:auto}\
.headline{background:#f5f8fc;border-left:4px solid #3b6ea5;padding:.3rem 1rem;margin:.8rem 0}.headline h3{margin:.3rem 0;overflow-wrap:anywhere}";

/// The HTML report.
pub fn render(
    summary: &[String],
    heads: &[(String, Vec<String>)],
    sections: &[Section],
    charts: &[Chart],
) -> String {
    let mut h = format!("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>webinfer report</title><style>{STYLE}</style></head><body>\n<h1>webinfer report</h1>\n");
    for (page, lines) in heads {
        h.push_str(&format!(
            "<section class=\"headline\"><h3>{}</h3><ul>\n",
            esc(page)
        ));
        for l in lines {
            h.push_str(&format!("<li>{}</li>\n", esc(l)));
        }
        h.push_str("</ul></section>\n");
    }
    h.push_str("<ul>\n");
    for l in summary {
        h.push_str(&format!("<li>{}</li>\n", esc(l)));
    }
    h.push_str("</ul>\n");
    for s in sections {
        h.push_str(&format!(
            "<h2>{}</h2>\n<p class=\"note\">{}</p>\n",
            esc(&s.title),
            esc(&s.note)
        ));
        if s.rows.is_empty() {
            h.push_str("<p><em>No data for this section in these traces.</em></p>\n");
            continue;
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
    if !charts.is_empty() {
        h.push_str("<h2>Charts</h2>\n");
        for c in charts {
            let svg = c.svg.trim_start_matches(|ch| ch != '<');
            let svg = svg
                .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
                .unwrap_or(svg);
            h.push_str(&format!(
                "<figure id=\"{}\"><figcaption>{}</figcaption>\n{}\n</figure>\n",
                c.name,
                esc(c.title),
                svg.trim()
            ));
        }
    }
    h.push_str("<h2>Definitions</h2>\n<ul>\n");
    for (m, d) in DEFINITIONS {
        h.push_str(&format!(
            "<li><code>{}</code> ({}): {}</li>\n",
            m.name(),
            esc(m.title()),
            esc(d)
        ));
    }
    h.push_str("</ul>\n</body></html>\n");
    h
}
