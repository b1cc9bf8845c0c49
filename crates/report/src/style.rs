//! Terminal colour and the escaping rules of the output languages.

/// ANSI styling, switched off when colour is not wanted.
#[derive(Clone, Copy, Debug, Default)]
pub struct Style {
    /// Colour on (ANSI escapes) or off (plain text).
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    /// Additions, known-good marks.
    pub fn green(&self, s: &str) -> String {
        self.paint("32", s)
    }
    /// Destroys, errors.
    pub fn red(&self, s: &str) -> String {
        self.paint("31", s)
    }
    /// Changes, ids, warnings.
    pub fn yellow(&self, s: &str) -> String {
        self.paint("33", s)
    }
    /// Moves and other notes.
    pub fn cyan(&self, s: &str) -> String {
        self.paint("36", s)
    }
    /// Headings and labels.
    pub fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
    /// What matters less (unchanged context).
    pub fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }
}

/// Escapes text for HTML.
pub(crate) fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes a DOT double-quoted string.
pub(crate) fn dot(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Escapes text inside a Markdown table cell or inline code.
pub(crate) fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Escapes a Mermaid node label (inside `["..."]`).
pub(crate) fn mermaid(s: &str) -> String {
    s.replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
}
