//! Renders the report sections as Markdown (`report.md`), linking the SVG
//! charts written beside it.

use super::charts::Chart;
use super::{Section, DEFINITIONS};

fn esc(s: &str) -> String {
    s.replace('|', "\\|")
}

/// The Markdown report.
pub fn render(
    summary: &[String],
    heads: &[(String, Vec<String>)],
    sections: &[Section],
    charts: &[Chart],
) -> String {
    let mut md = String::from("# webinfer report\n\n");
    for (page, lines) in heads {
        md.push_str(&format!("**{}**\n\n", esc(page)));
        for l in lines {
            md.push_str(&format!("- {l}\n"));
        }
        md.push('\n');
    }
    for l in summary {
        md.push_str(&format!("- {l}\n"));
    }
    for s in sections {
        md.push_str(&format!("\n## {}\n\n{}\n\n", s.title, s.note));
        if s.rows.is_empty() {
            md.push_str("_No data for this section in these traces._\n");
            continue;
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
    if !charts.is_empty() {
        md.push_str("\n## Charts\n\n");
        for c in charts {
            md.push_str(&format!(
                "### {}\n\n![{}]({}.svg)\n\n",
                c.title, c.title, c.name
            ));
        }
    }
    md.push_str("\n## Definitions\n\n");
    for (m, d) in DEFINITIONS {
        md.push_str(&format!("- `{}` ({}): {}\n", m.name(), m.title(), d));
    }
    md
}
