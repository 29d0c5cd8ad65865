//! One template for every message Steward sends: the organisation's name
//! (and brand colour, in the HTML body) at the top, paragraphs, a table of
//! facts, and at most one action link. Plain text and HTML are made from
//! the same parts, so they always say the same thing.

use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

/// A message's parts.
#[derive(Clone, Debug, PartialEq)]
pub struct Letter {
    pub organisation: String,
    /// `#rrggbb`, or none for Steward's own colour.
    pub brand_colour: Option<String>,
    pub subject: String,
    pub paragraphs: Vec<String>,
    pub facts: Vec<(String, String)>,
    /// A button's label and where it goes.
    pub action: Option<(String, String)>,
}

/// Steward's own colour (indigo-600), for organisations without one.
const DEFAULT_COLOUR: &str = "#4f46e5";

/// Whether a stored colour is one the HTML body may use as it is.
pub fn is_colour(c: &str) -> bool {
    c.len() == 7 && c.starts_with('#') && c[1..].chars().all(|d| d.is_ascii_hexdigit())
}

impl Letter {
    pub fn text(&self) -> String {
        let mut out = format!("{}\n\n", self.organisation);
        for p in &self.paragraphs {
            out.push_str(p);
            out.push_str("\n\n");
        }
        if let Some((label, href)) = &self.action {
            out.push_str(&format!("{label}: {href}\n\n"));
        }
        for (name, value) in &self.facts {
            out.push_str(&format!("{name}: {value}\n"));
        }
        out.push_str("\n-- \nSent by Steward for ");
        out.push_str(&self.organisation);
        out.push('\n');
        out
    }

    pub fn html(&self) -> String {
        let colour = self.brand_colour.as_deref().filter(|c| is_colour(c)).unwrap_or(DEFAULT_COLOUR);
        let mut out = String::from("<!DOCTYPE html><html><body style=\"margin:0;padding:24px;background:#f8fafc;font-family:system-ui,sans-serif;color:#0f172a\">");
        out.push_str(&format!(
            "<div style=\"max-width:560px;margin:0 auto;background:#ffffff;border:1px solid #e2e8f0;border-radius:8px;overflow:hidden\"><div style=\"background:{colour};color:#ffffff;padding:16px 24px;font-weight:600\">{}</div><div style=\"padding:24px\"><h1 style=\"font-size:18px;margin:0 0 16px\">{}</h1>",
            text(&self.organisation),
            text(&self.subject)
        ));
        for p in &self.paragraphs {
            out.push_str(&format!("<p style=\"margin:0 0 12px;line-height:1.5\">{}</p>", text(p)));
        }
        if let Some((label, href)) = &self.action {
            out.push_str(&format!(
                "<p style=\"margin:16px 0\"><a href=\"{}\" style=\"display:inline-block;background:{colour};color:#ffffff;padding:10px 16px;border-radius:6px;text-decoration:none\">{}</a></p>",
                attr(href),
                text(label)
            ));
        }
        if !self.facts.is_empty() {
            out.push_str("<table style=\"margin-top:16px;font-size:13px;color:#475569\">");
            for (name, value) in &self.facts {
                out.push_str(&format!("<tr><td style=\"padding:2px 12px 2px 0\">{}</td><td>{}</td></tr>", text(name), text(value)));
            }
            out.push_str("</table>");
        }
        out.push_str(&format!(
            "</div></div><p style=\"text-align:center;font-size:12px;color:#64748b\">Sent by Steward for {}</p></body></html>",
            text(&self.organisation)
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter() -> Letter {
        Letter {
            organisation: "Acme <Corp>".into(),
            brand_colour: Some("#0f766e".into()),
            subject: "Your password was changed".into(),
            paragraphs: vec!["Ada, the password \"changed\".".into()],
            facts: vec![("When".into(), "2026-12-03 12:00 UTC".into())],
            action: Some(("Set a password".into(), "https://steward.example/x?a=1&b=\"2\"".into())),
        }
    }

    #[test]
    fn both_bodies_say_the_same_and_the_html_escapes_what_it_is_given() {
        let l = letter();
        let (t, h) = (l.text(), l.html());
        assert!(t.contains("Acme <Corp>") && t.contains("Ada, the password \"changed\".") && t.contains("When: 2026-12-03 12:00 UTC"));
        assert!(t.contains("Set a password: https://steward.example/x?a=1&b=\"2\""));
        assert!(h.contains("Acme &lt;Corp&gt;") && !h.contains("<Corp>"));
        assert!(h.contains("href=\"https://steward.example/x?a=1&amp;b=&quot;2&quot;\""));
        assert!(h.contains("background:#0f766e"));
    }

    #[test]
    fn a_colour_that_is_not_one_is_not_written_into_the_style() {
        let mut l = letter();
        l.brand_colour = Some("red;background:url(x)".into());
        assert!(l.html().contains("background:#4f46e5") && !l.html().contains("url(x)"));
    }
}
