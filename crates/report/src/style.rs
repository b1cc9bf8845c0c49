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
    let mut out = String::with_capacity(s.len());
    push_dot(&mut out, s);
    out
}

/// Appends `s` to `out` escaped as [`dot`] escapes it.
pub(crate) fn push_dot(out: &mut String, s: &str) {
    let mut rest = s;
    // labels are short: memchr's search, not a block scan that
    // compares a label's one partial block byte by byte
    while let Some(i) = memchr::memchr2(b'\\', b'"', rest.as_bytes()) {
        out.push_str(&rest[..i]);
        out.push('\\');
        out.push_str(&rest[i..=i]);
        rest = &rest[i + 1..];
    }
    out.push_str(rest);
}

/// The position of the first byte of `bytes` that `hit` is true of,
/// looked for 32 bytes at a time without a branch per byte (so that the
/// compiler can compare them as a vector), then byte by byte in the block
/// that has one.
pub(crate) fn first_byte(bytes: &[u8], hit: impl Fn(u8) -> bool) -> Option<usize> {
    let mut at = 0;
    for block in bytes.chunks(32) {
        if block.iter().fold(false, |any, &b| any | hit(b)) {
            return block.iter().position(|&b| hit(b)).map(|i| at + i);
        }
        at += block.len();
    }
    None
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
    // the usual case, printable ASCII with newlines and tabs, is looked
    // at a byte at a time; characters are decoded only from the first
    // byte that is not
    let first = first_byte(s.as_bytes(), |b| {
        !((0x20..0x7f).contains(&b) || b == b'\n' || b == b'\t')
    })
    .unwrap_or(s.len());
    if !s[first..].chars().any(unsafe_char) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_safe_finds_what_is_unsafe_in_any_block() {
        let plain = "resource \"a\" \"b\" {\n\tname = \"x\"\n}\n".repeat(5);
        assert!(matches!(
            terminal_safe(&plain),
            std::borrow::Cow::Borrowed(_)
        ));
        // each unsafe character, before, inside and after the first
        // 32-byte block, and after non-ASCII text that is safe
        for bad in ['\x1b', '\x07', '\x7f', '\u{9b}', '\u{202e}', '\u{2066}'] {
            for at in [0, 5, 31, 32, 33, 100, plain.len()] {
                let text = format!("{}{bad}{}", &plain[..at], &plain[at..]);
                let safe = terminal_safe(&text);
                assert!(!safe.contains(bad), "{bad:?} at {at}");
                let esc = if (bad as u32) < 0x80 {
                    format!("\\x{:02x}", bad as u32)
                } else {
                    format!("\\u{{{:x}}}", bad as u32)
                };
                assert_eq!(safe, format!("{}{esc}{}", &plain[..at], &plain[at..]));
            }
        }
        let accents = format!("{}é→ü{}", plain, plain);
        assert!(matches!(
            terminal_safe(&accents),
            std::borrow::Cow::Borrowed(_)
        ));
        // Style's own colour survives, a foreign sequence does not
        let own = format!("{plain}\x1b[31mred\x1b[0m");
        assert_eq!(terminal_safe(&own), own);
        assert_eq!(terminal_safe("a\x1b[2Jb"), "a\\x1b[2Jb");
    }

    #[test]
    fn dot_escapes_quotes_and_backslashes_anywhere() {
        assert_eq!(dot(""), "");
        assert_eq!(dot("aws_s3_bucket.b[\"k\"]"), "aws_s3_bucket.b[\\\"k\\\"]");
        assert_eq!(dot("\\"), "\\\\");
        let long = format!("{}\"{}\\", "x".repeat(40), "é".repeat(20));
        assert_eq!(
            dot(&long),
            format!("{}\\\"{}\\\\", "x".repeat(40), "é".repeat(20))
        );
        let mut out = String::from("pre ");
        push_dot(&mut out, "a\"b");
        assert_eq!(out, "pre a\\\"b");
    }
}
