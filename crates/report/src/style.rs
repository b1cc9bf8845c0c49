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
    pub(crate) fn cyan(&self, s: &str) -> String {
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

/// The text made safe for a terminal: control characters (C0, DEL, C1),
/// escape sequences and bidirectional overrides that came from input (a
/// label, a file name, a string in a configuration) are written as
/// visible escapes (`\x1b`, `\u{202e}`), so nothing printed can move the
/// cursor, set the title, write the clipboard or hide text. Newlines and
/// tabs stay, and so do the colour sequences [`Style`] itself writes
/// (`ESC [ 0|1|2|31|32|33|36 m`, which can neither move nor hide text).
pub fn terminal_safe(s: &str) -> std::borrow::Cow<'_, str> {
    fn unsafe_char(c: char) -> bool {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    }
    if !s.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if c == '\x1b' {
            if let Some(len) = own_sgr(rest) {
                out.push_str(&rest[..len]);
                rest = &rest[len..];
                continue;
            }
        }
        if unsafe_char(c) {
            if (c as u32) < 0x80 {
                out.push_str(&format!("\\x{:02x}", c as u32));
            } else {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    std::borrow::Cow::Owned(out)
}

/// The length of one of [`Style`]'s own sequences at the start of `s`.
fn own_sgr(s: &str) -> Option<usize> {
    ["0", "1", "2", "31", "32", "33", "36"]
        .iter()
        .map(|code| format!("\x1b[{code}m"))
        .find(|seq| s.starts_with(seq.as_str()))
        .map(|seq| seq.len())
}
