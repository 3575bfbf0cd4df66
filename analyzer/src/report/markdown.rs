//! Renders the report [`Document`] as Markdown (`report.md`) with the same
//! content in the same order as the HTML report, linking the SVG charts
//! written beside it.

use super::page::{Document, Tile};
use super::{Section, DEFINITIONS};

fn esc(s: &str) -> String {
    s.replace('|', "\\|")
}

fn tile(t: &Tile) -> String {
    format!("- **{}**: {} — {}\n", t.label, t.value, t.line)
}

fn table(s: &Section, md: &mut String) {
    if s.rows.is_empty() {
        md.push_str("_No data for this section in these traces._\n");
        return;
    }
    md.push_str(&format!(
        "| {} |\n",
        s.headers
            .iter()
            .map(|h| esc(h))
            .collect::<Vec<_>>()
            .join(" | ")
    ));
    md.push_str(&format!("|{}\n", " --- |".repeat(s.headers.len())));
    for r in &s.rows {
        md.push_str(&format!(
            "| {} |\n",
            r.iter().map(|c| esc(c)).collect::<Vec<_>>().join(" | ")
        ));
    }
}

fn chart(c: &super::charts::Chart, md: &mut String) {
    md.push_str(&format!(
        "\n![{}]({}.svg)\n\n_{}_\n",
        c.title, c.name, c.alt
    ));
}

/// The Markdown report.
pub fn render(d: &Document) -> String {
    let mut md = String::from("# webinfer report\n\n");
    for l in &d.summary {
        md.push_str(&format!("- {l}\n"));
    }
    if !d.comparison.is_empty() {
        md.push_str("\n## Comparison across page groups\n\nMeans over sessions; whiskers are 95% confidence intervals (Student t, none for one session).\n");
        for c in &d.comparison {
            chart(c, &mut md);
        }
    }
    for p in &d.pages {
        md.push_str(&format!(
            "\n## {}\n\n{} session(s); values are means ± 95% CI over sessions.\n\n",
            p.title, p.sessions
        ));
        for t in &p.tiles {
            md.push_str(&tile(t));
        }
        for c in &p.charts {
            md.push_str(&format!("\n### {}\n\n", c.title));
            for t in p
                .tiles
                .iter()
                .filter(|t| t.chart.as_deref() == Some(&c.name))
            {
                md.push_str(&tile(t));
            }
            chart(c, &mut md);
        }
        for s in [&p.models, &p.session] {
            md.push_str(&format!("\n### {}\n\n{}\n\n", s.title, s.note));
            table(s, &mut md);
        }
    }
    md.push_str("\n## Appendix: full tables (every metric)\n");
    for s in &d.appendix {
        md.push_str(&format!("\n### {}\n\n{}\n\n", s.title, s.note));
        table(s, &mut md);
    }
    md.push_str("\n## Definitions\n\n");
    for (m, d) in DEFINITIONS {
        md.push_str(&format!("- `{}` ({}): {}\n", m.name(), m.title(), d));
    }
    md
}
