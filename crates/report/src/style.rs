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

/// Text as a whole Markdown code span, delimiters included, safe in a
/// table cell: delimited by one backtick more than the longest run of
/// backticks inside (so none inside ends it), padded with a space where
/// it begins or ends with a backtick, `|` escaped (GitHub ends a cell at
/// one even in code) and line breaks as spaces.
pub fn md_code(s: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in s.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    let inner = s.replace('|', "\\|").replace(['\n', '\r'], " ");
    format!("{fence}{pad}{inner}{pad}{fence}")
}

/// Text as Markdown prose that means nothing but itself, safe in a table
/// cell or at the start of a line, a list item or a quote: what Markdown
/// would read in it (emphasis and strikethrough that could open or
/// close, code, links and images, raw HTML, entities, table cells, and
/// at its start a heading, quote or list marker) escaped with a
/// backslash; `@` in a code span (no one is mentioned); line breaks as
/// spaces. What cannot mean anything (`aws_db_instance`, `~ tags`, `->`)
/// is left as it is, so the source reads as well as the page.
pub fn md_text(s: &str) -> String {
    let chars: Vec<char> = s
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    let mut out = String::with_capacity(s.len() + 8);
    // `- x`, `+ x`, `# x`, `> x`, `1. x`, `1) x` would start a block
    let digits = chars.iter().take_while(|c| c.is_ascii_digit()).count();
    let marker = match chars.get(digits) {
        Some('-' | '+' | '#' | '>' | '=') if digits == 0 => Some(0),
        Some('.' | ')') if digits > 0 => Some(digits),
        _ => None,
    };
    let blank = |i: Option<&char>| i.is_none_or(|c| c.is_whitespace());
    for (i, &c) in chars.iter().enumerate() {
        let (before, after) = (
            if i > 0 { chars.get(i - 1) } else { None },
            chars.get(i + 1),
        );
        let escape = match c {
            '\\' | '`' | '[' | ']' | '<' | '|' => true,
            // emphasis and strikethrough need a side that is not blank
            '*' | '~' => !(blank(before) && blank(after)),
            // `_` inside a word never emphasises
            '_' => {
                let word = |x: Option<&char>| x.is_some_and(|c| c.is_alphanumeric());
                let inert = (blank(before) && blank(after)) || (word(before) && word(after));
                !inert
            }
            // an entity (`&amp;`, `&#47;`)
            '&' => after.is_some_and(|c| c.is_alphanumeric() || *c == '#'),
            _ => marker == Some(i),
        };
        if c == '@' {
            out.push_str("`@`");
            continue;
        }
        if escape {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Escapes a Mermaid node label (inside `["..."]`).
pub(crate) fn mermaid(s: &str) -> String {
    s.replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
}

/// The text made safe for a terminal: control characters (C0, DEL, C1),
/// escape sequences, bidirectional overrides and characters that show
/// nothing (zero-width spaces and joiners, tag characters, fillers) that
/// came from input (a label, a file name, a string in a configuration)
/// are written as visible escapes, so nothing printed can move the
/// cursor, set the title, write the clipboard, hide text or make two
/// different names look alike. Newlines and tabs stay; with `colour`, so
/// do the colour sequences [`Style`] itself writes (`ESC [ 0|1|2|31|32|33|36
/// m`, which can neither move nor hide text), and without it none.
///
/// A C0 control is written `\x1b`, any other character `\u202e` (a pair
/// of them past the Basic Multilingual Plane, `\udb40\udc01`): in JSON
/// output, where the characters can only be inside strings, that is the
/// same string still, and the document stays valid.
pub fn terminal_safe(s: &str, colour: bool) -> std::borrow::Cow<'_, str> {
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
        if c == '\x1b' && colour {
            if let Some(len) = own_sgr(rest) {
                out.push_str(&rest[..len]);
                rest = &rest[len..];
                continue;
            }
        }
        if !unsafe_char(c) {
            out.push(c);
        } else if (c as u32) < 0x20 {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
        rest = &rest[c.len_utf8()..];
    }
    std::borrow::Cow::Owned(out)
}

/// Text that belongs on one line of text output (a ref log's reason, a
/// snapshot's message in a list) with its line breaks written `\\n` and
/// `\\r`: a message cannot then print a line that looks like another
/// entry.
pub fn one_line(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains(['\n', '\r']) {
        std::borrow::Cow::Owned(s.replace('\n', "\\n").replace('\r', "\\r"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// Text after a label on a line of its own (`message:     `), each line
/// after the first indented by `indent` spaces, so that none starts at
/// the margin a label does.
pub fn indented(s: &str, indent: usize) -> String {
    let pad = format!("\n{}", " ".repeat(indent));
    s.replace("\r\n", "\n")
        .replace('\r', "\\r")
        .replace('\n', &pad)
}

/// A writer passing what is written through [`terminal_safe`] (without
/// colour), for output written in pieces (a large graph's JSON): a
/// character split between two writes is held until it is whole.
pub struct TerminalSafe<W: std::io::Write> {
    inner: W,
    pending: Vec<u8>,
}

impl<W: std::io::Write> TerminalSafe<W> {
    /// Writes to `inner`.
    pub fn new(inner: W) -> Self {
        TerminalSafe {
            inner,
            pending: Vec::new(),
        }
    }
}

impl<W: std::io::Write> std::io::Write for TerminalSafe<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        let whole = match std::str::from_utf8(&self.pending) {
            Ok(s) => s.len(),
            // the start of a character the next write completes
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(e) => e.valid_up_to() + e.error_len().unwrap_or(0),
        };
        let (text, rest) = self.pending.split_at(whole);
        match std::str::from_utf8(text) {
            Ok(t) => self.inner.write_all(terminal_safe(t, false).as_bytes())?,
            // bytes that are not UTF-8 (no JSON writer makes them): as
            // they are, after what came before them
            Err(e) => {
                let (good, bad) = text.split_at(e.valid_up_to());
                let good = std::str::from_utf8(good).unwrap_or_default();
                self.inner
                    .write_all(terminal_safe(good, false).as_bytes())?;
                self.inner.write_all(bad)?;
            }
        }
        self.pending = rest.to_vec();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.inner.write_all(&rest)?;
        }
        self.inner.flush()
    }
}

/// Whether [`terminal_safe`] writes `c` as an escape.
fn unsafe_char(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(
            c,
            // bidirectional embeddings, overrides, isolates and marks
            '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{061c}'
                // characters that show nothing: zero-width space, joiners,
                // invisible operators, byte order mark, soft hyphen,
                // fillers, tag characters, line and paragraph separators
                | '\u{200b}'..='\u{200d}'
                | '\u{2060}'..='\u{2064}'
                | '\u{feff}'
                | '\u{00ad}'
                | '\u{034f}'
                | '\u{180e}'
                | '\u{115f}'
                | '\u{1160}'
                | '\u{3164}'
                | '\u{ffa0}'
                | '\u{e0000}'..='\u{e007f}'
                | '\u{2028}'
                | '\u{2029}'
        )
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
            terminal_safe(&plain, true),
            std::borrow::Cow::Borrowed(_)
        ));
        // each unsafe character, before, inside and after the first
        // 32-byte block, and after non-ASCII text that is safe
        for (bad, esc) in [
            ('\x1b', "\\x1b"),
            ('\x07', "\\x07"),
            ('\x7f', "\\u007f"),
            ('\u{9b}', "\\u009b"),
            ('\u{202e}', "\\u202e"),
            ('\u{2066}', "\\u2066"),
            ('\u{200b}', "\\u200b"),
            ('\u{feff}', "\\ufeff"),
            ('\u{e0041}', "\\udb40\\udc41"),
        ] {
            for at in [0, 5, 31, 32, 33, 100, plain.len()] {
                let text = format!("{}{bad}{}", &plain[..at], &plain[at..]);
                let safe = terminal_safe(&text, true);
                assert!(!safe.contains(bad), "{bad:?} at {at}");
                assert_eq!(safe, format!("{}{esc}{}", &plain[..at], &plain[at..]));
            }
        }
        let accents = format!("{}é→ü{}", plain, plain);
        assert!(matches!(
            terminal_safe(&accents, true),
            std::borrow::Cow::Borrowed(_)
        ));
        // Style's own colour survives when colour is on, a foreign
        // sequence never does, and with colour off no sequence does
        let own = format!("{plain}\x1b[31mred\x1b[0m");
        assert_eq!(terminal_safe(&own, true), own);
        assert_eq!(
            terminal_safe(&own, false),
            format!("{plain}\\x1b[31mred\\x1b[0m")
        );
        assert_eq!(terminal_safe("a\x1b[2Jb", true), "a\\x1b[2Jb");
    }

    /// Escapes keep JSON valid and its strings the same: a character the
    /// terminal must not see raw is a JSON escape of itself.
    #[test]
    fn terminal_safe_json_is_the_same_json() {
        let value = serde_json::json!({
            "k\u{202e}": "a\u{202e}b\u{85}c\u{7f}d\u{200b}e\u{e0041}f\u{1b}[31mg",
        });
        let text = serde_json::to_string_pretty(&value).unwrap();
        let safe = terminal_safe(&text, false);
        assert_ne!(safe, text);
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, value);
    }

    /// Written in pieces that split characters, the text comes out as
    /// [`terminal_safe`] makes it whole.
    #[test]
    fn terminal_safe_writer_holds_split_characters() {
        use std::io::Write;
        let text = "{\"k\": \"a\u{202e}b\u{e0041}c é\"}";
        for size in 1..5 {
            let mut w = TerminalSafe::new(Vec::new());
            for piece in text.as_bytes().chunks(size) {
                w.write_all(piece).unwrap();
            }
            w.flush().unwrap();
            let out = String::from_utf8(w.inner).unwrap();
            assert_eq!(out, terminal_safe(text, false), "{size}");
        }
    }

    /// A code span holds any text whole: backticks inside never end it,
    /// nor a pipe the table cell it is in.
    #[test]
    fn md_code_holds_backticks_and_pipes() {
        assert_eq!(md_code("aws_s3_bucket.b"), "`aws_s3_bucket.b`");
        assert_eq!(md_code("k[\"x` <img> `y\"]"), "``k[\"x` <img> `y\"]``");
        assert_eq!(md_code("a``b"), "```a``b```");
        assert_eq!(md_code("`edge`"), "`` `edge` ``");
        assert_eq!(md_code("a|b\nc"), "`a\\|b c`");
    }

    /// Prose means nothing but itself: no image, link, HTML, mention,
    /// emphasis or block, and one line; what cannot mean anything stays.
    #[test]
    fn md_text_escapes_what_markdown_would_read() {
        assert_eq!(
            md_text("<img src=x> ![i](https://e/x.png) [A](https://e/) @octocat *b* _c_ ~d~"),
            r"\<img src=x> !\[i\](https://e/x.png) \[A\](https://e/) `@`octocat \*b\* \_c\_ \~d\~"
        );
        assert_eq!(md_text("- item\n# head"), r"\- item # head");
        assert_eq!(md_text("# head"), r"\# head");
        assert_eq!(md_text("> quote"), r"\> quote");
        assert_eq!(md_text("12. x"), r"12\. x");
        assert_eq!(
            md_text("a | b &amp; c & d `e`"),
            r"a \| b \&amp; c & d \`e\`"
        );
        let plain = r#"~ tags = { ~ CostCenter = "cc-5310" -> "cc-4127", 4 unchanged } aws_db_instance (high severity) 3 * 2"#;
        assert_eq!(md_text(plain), plain);
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
