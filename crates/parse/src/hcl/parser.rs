use super::ast::*;

/// Nesting of brackets, blocks and template sequences deeper than this is
/// an error: a guard for the stacks of every stage after parsing (values
/// as deep are encoded, hashed and printed), far above anything written by
/// hand and above hcl-edit's 64. (Terraform itself goes deeper: 10,000
/// nested lists parse; 100,000 overflow its stack.)
pub(crate) const MAX_NESTING: usize = 500;

/// A syntax tree deeper than this is an error, whatever makes it deep:
/// brackets (each level takes two or three), chains of operators, block
/// labels (each is a level of the block's value). It keeps every value
/// and expression within the depth the model's codec reads back (4096)
/// and the recursion of later stages within their stacks.
pub(crate) const MAX_DEPTH: usize = 3000;

/// A syntax error: byte offset and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub offset: u32,
    pub message: String,
}

type R<T> = Result<T, ParseError>;

/// Maps byte offsets to 1-based line and column (columns count characters).
pub struct LineIndex<'a> {
    src: &'a str,
    starts: Vec<u32>,
}

impl<'a> LineIndex<'a> {
    pub fn new(src: &'a str) -> LineIndex<'a> {
        let mut starts = Vec::with_capacity(src.len() / 32 + 1);
        starts.push(0u32);
        starts.extend(memchr::memchr_iter(b'\n', src.as_bytes()).map(|i| i as u32 + 1));
        LineIndex { src, starts }
    }

    /// (line, column), both 1-based.
    pub fn locate(&self, offset: u32) -> (u32, u32) {
        let offset = offset.min(self.src.len() as u32);
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let start = self.starts[line] as usize;
        let mut end = offset as usize;
        while end > start && !self.src.is_char_boundary(end) {
            end -= 1;
        }
        let col = self.src[start..end].chars().count() as u32 + 1;
        (line as u32 + 1, col)
    }

    /// The text of a 1-based line, without its line ending.
    pub(crate) fn line_text(&self, line: u32) -> &'a str {
        let i = (line as usize).saturating_sub(1);
        let Some(&start) = self.starts.get(i) else {
            return "";
        };
        let end = self
            .starts
            .get(i + 1)
            .map(|&e| e as usize - 1)
            .unwrap_or(self.src.len());
        self.src[start as usize..end].trim_end_matches('\r')
    }
}

/// Parses a whole file (or block body). A leading UTF-8 byte order mark is
/// skipped; offsets stay relative to `src`.
pub fn parse_body(src: &str) -> R<Body> {
    let mut p = Parser::new(src);
    p.skip_bom();
    p.body(None)
}

/// Parses a file's bytes, returning the text it parsed (for positions and
/// quoting) with the result.
///
/// Terraform requires UTF-8, except inside comments, which may hold any
/// bytes (a Latin-1 `©` in a header comment); so does rewind. Each byte of
/// an invalid sequence stands in the parsed text as one control character
/// the file does not contain (offsets and columns stay those of the
/// bytes), and the parser rejects that character anywhere but in a
/// comment. (hclsyntax's scanner also skips some stray bytes between
/// tokens, `a =\xe6 false`; rewind rejects those: the byte means nothing
/// and the file is damaged.)
pub fn parse_body_bytes(bytes: &[u8]) -> (std::borrow::Cow<'_, str>, R<Body>) {
    let first_bad = match std::str::from_utf8(bytes) {
        Ok(src) => return (std::borrow::Cow::Borrowed(src), parse_body(src)),
        Err(e) => e.valid_up_to(),
    };
    let stand_in = (1u8..0x20)
        .filter(|b| !matches!(b, b'\t' | b'\n' | b'\r'))
        .find(|b| !bytes.contains(b));
    let src = each_invalid_byte_as(bytes, char::from(stand_in.unwrap_or(b'?')));
    let Some(stand_in) = stand_in else {
        let err = ParseError {
            offset: first_bad as u32,
            message: NOT_UTF8.to_string(),
        };
        return (std::borrow::Cow::Owned(src), Err(err));
    };
    let result = {
        let mut p = Parser::new(&src);
        p.not_utf8 = Some(stand_in);
        p.skip_bom();
        p.body(None)
    };
    (std::borrow::Cow::Owned(src), result)
}

/// The text of `bytes` as an error quotes it: each byte that is not
/// UTF-8 shown as `U+FFFD` (one character, as in the text
/// [`parse_body_bytes`] parses, so columns stay those of its positions).
pub fn quoted_text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => std::borrow::Cow::Owned(each_invalid_byte_as(bytes, '\u{fffd}')),
    }
}

/// `bytes` as text with each byte of every sequence that is not UTF-8
/// written as `with` (one character per byte, so positions counted in
/// characters stay those of the bytes).
fn each_invalid_byte_as(bytes: &[u8], with: char) -> String {
    let mut out = String::with_capacity(bytes.len() + 16);
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                out.push_str(s);
                return out;
            }
            Err(e) => {
                let good = e.valid_up_to();
                let bad = e.error_len().unwrap_or(rest.len() - good);
                // (valid up to `good`: checked just now)
                out.push_str(std::str::from_utf8(&rest[..good]).unwrap_or_default());
                out.extend(std::iter::repeat_n(with, bad));
                rest = &rest[good + bad..];
            }
        }
    }
}

/// The message for bytes that are not UTF-8 outside a comment.
const NOT_UTF8: &str =
    "invalid character encoding: a byte that is not UTF-8 (Terraform reads UTF-8 only, other bytes only inside comments)";

/// Parses one expression (used for `.tf.json` expression strings and
/// `.tfvars` values).
pub fn parse_expression(src: &str) -> R<Expr> {
    let mut p = Parser::new(src);
    p.skip_bom();
    p.nl_skip = 1;
    p.ws();
    let e = p.expr()?;
    p.ws();
    if !p.eof() {
        return Err(p.err("unexpected text after the expression"));
    }
    Ok(e)
}

/// Parses a bare template (the content of a `.tf.json` string).
pub fn parse_template(src: &str) -> R<Vec<Part>> {
    let mut p = Parser::new(src);
    let mut toks = p.template_tokens(TemplateEnd::Eof)?;
    apply_strips(&mut toks);
    p.build_template(toks)
}

struct Parser<'a> {
    src: &'a str,
    b: &'a [u8],
    pos: usize,
    depth: usize,
    /// Levels of brackets, blocks and template sequences open here.
    nesting: usize,
    /// Greater than zero inside brackets, where newlines are white space.
    nl_skip: u32,
    /// The character that stands for bytes that are not UTF-8 (see
    /// [`parse_body_bytes`]).
    not_utf8: Option<u8>,
    /// Where the last line comment skipped began (hclsyntax reads a line
    /// comment as the newline that ends it).
    line_comment: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum TemplateEnd {
    Quote,
    Eof,
}

#[derive(Debug)]
enum TTok {
    Lit(String),
    Interp(Expr, bool, bool),
    If(Expr, bool, bool),
    Else(bool, bool),
    EndIf(bool, bool),
    For(Option<String>, String, Expr, bool, bool),
    EndFor(bool, bool),
}

impl TTok {
    fn strips(&self) -> (bool, bool) {
        match self {
            TTok::Lit(_) => (false, false),
            TTok::Interp(_, l, r) | TTok::If(_, l, r) | TTok::For(_, _, _, l, r) => (*l, *r),
            TTok::Else(l, r) | TTok::EndIf(l, r) | TTok::EndFor(l, r) => (*l, *r),
        }
    }
}

fn is_id_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

/// The ASCII bytes that continue a name: letters, digits, `_` and `-`.
static ID_ASCII: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 128 {
        t[b] = (b as u8).is_ascii_alphanumeric() || b == b'_' as usize || b == b'-' as usize;
        b += 1;
    }
    t
};

fn is_id_continue(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-'
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Parser<'a> {
        Parser {
            src,
            b: src.as_bytes(),
            pos: 0,
            depth: 0,
            nesting: 0,
            nl_skip: 0,
            not_utf8: None,
            line_comment: usize::MAX,
        }
    }

    fn skip_bom(&mut self) {
        if self.src.starts_with('\u{feff}') {
            self.pos = 3;
        }
    }

    fn err(&self, message: impl Into<String>) -> ParseError {
        ParseError {
            offset: self.pos as u32,
            message: message.into(),
        }
    }

    fn err_at(&self, pos: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            offset: pos as u32,
            message: message.into(),
        }
    }

    /// An unclosed bracket, reported where it opens, naming what was found.
    fn unclosed(&self, open: usize, o: char, c: char) -> ParseError {
        let before = &self.b[..self.pos.min(self.b.len())];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let col = self.src[..self.pos]
            .rsplit('\n')
            .next()
            .map(|l| l.chars().count())
            .unwrap_or(0)
            + 1;
        self.err_at(
            open,
            format!(
                "unclosed '{o}': expected '{c}' before {} at line {line}, column {col}",
                self.describe_here()
            ),
        )
    }

    fn eof(&self) -> bool {
        self.pos >= self.b.len()
    }

    fn peek(&self) -> u8 {
        self.b.get(self.pos).copied().unwrap_or(0)
    }

    fn peek_at(&self, n: usize) -> u8 {
        self.b.get(self.pos + n).copied().unwrap_or(0)
    }

    fn starts(&self, s: &str) -> bool {
        self.b[self.pos.min(self.b.len())..].starts_with(s.as_bytes())
    }

    fn peek_char(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn enter(&mut self) -> R<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.too_deep());
        }
        Ok(())
    }

    fn too_deep(&self) -> ParseError {
        self.err(format!(
            "expression nested too deeply (more than {MAX_DEPTH} levels of operators, brackets and labels)"
        ))
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// One more level of brackets, blocks or template sequences.
    fn open_level(&mut self) -> R<()> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(self.err(format!(
                "nesting deeper than {MAX_NESTING} levels of brackets, blocks and templates"
            )));
        }
        self.enter()
    }

    fn close_level(&mut self) {
        self.nesting -= 1;
        self.leave();
    }

    /// Skips spaces and comments; newlines too when inside brackets.
    fn ws(&mut self) {
        let skip_nl = self.nl_skip > 0;
        self.ws_inner(skip_nl);
    }

    /// Skips spaces, comments and newlines.
    fn ws_nl(&mut self) {
        self.ws_inner(true);
    }

    /// Skips spaces and comments (newlines too with `skip_nl`). Called
    /// after almost every token, and most often at a byte that starts
    /// neither: that test is made here, inlined, and the loop is left to
    /// [`Parser::ws_skip`].
    #[inline]
    fn ws_inner(&mut self, skip_nl: bool) {
        if let Some(b' ' | b'\t' | b'\r' | b'\n' | b'#' | b'/') = self.b.get(self.pos) {
            self.ws_skip(skip_nl);
        }
    }

    fn ws_skip(&mut self, skip_nl: bool) {
        while self.pos < self.b.len() {
            match self.b[self.pos] {
                b' ' | b'\t' => self.pos += 1,
                // a carriage return only as part of a CRLF line ending
                b'\r' if self.peek_at(1) == b'\n' => self.pos += 1,
                b'\n' if skip_nl => self.pos += 1,
                b'#' => self.skip_line_comment(),
                b'/' if self.peek_at(1) == b'/' => self.skip_line_comment(),
                b'/' if self.peek_at(1) == b'*' => {
                    match self.src[self.pos + 2..].find("*/") {
                        Some(end) => self.pos += 2 + end + 2,
                        // Reported by the caller when it meets the `/`.
                        None => return,
                    }
                }
                _ => return,
            }
        }
    }

    fn skip_line_comment(&mut self) {
        self.line_comment = self.pos;
        match memchr(b'\n', &self.b[self.pos..]) {
            Some(i) => self.pos += i,
            None => self.pos = self.b.len(),
        }
    }

    fn ident(&mut self) -> Option<&'a str> {
        let start = self.pos;
        match self.b.get(self.pos) {
            // ASCII, as almost every name is: no character decoded
            Some(&b) if b.is_ascii_alphabetic() || b == b'_' => self.pos += 1,
            Some(&b) if b < 0x80 => return None,
            _ => {
                let c = self.peek_char()?;
                if !is_id_start(c) {
                    return None;
                }
                self.pos += c.len_utf8();
            }
        }
        loop {
            // the ASCII run, one table lookup a byte
            let run = self.b[self.pos..]
                .iter()
                .position(|&b| !ID_ASCII[usize::from(b)])
                .unwrap_or(self.b.len() - self.pos);
            self.pos += run;
            match self.b.get(self.pos) {
                Some(&b) if b >= 0x80 => match self.peek_char() {
                    Some(c) if is_id_continue(c) => self.pos += c.len_utf8(),
                    _ => break,
                },
                _ => break,
            }
        }
        Some(&self.src[start..self.pos])
    }

    /// HCL takes a carriage return only in a CRLF line ending (or a
    /// comment); anywhere else it is an invalid character.
    fn lone_carriage_return(&self) -> ParseError {
        self.err("invalid character: a carriage return that is not part of a CRLF line ending")
    }

    fn describe_here(&self) -> String {
        if self.eof() {
            return "end of file".to_string();
        }
        if self.starts("/*") {
            return "an unterminated comment".to_string();
        }
        if self.not_utf8 == Some(self.peek()) {
            return "a byte that is not UTF-8".to_string();
        }
        match self.peek_char() {
            Some('\n') => "end of line".to_string(),
            Some('\r') if self.peek_at(1) == b'\n' => "end of line".to_string(),
            Some('\r') => "a carriage return that is not part of a CRLF line ending".to_string(),
            Some(c) => format!("{c:?}"),
            None => "end of file".to_string(),
        }
    }

    // ---- bodies -------------------------------------------------------

    fn body(&mut self, open: Option<usize>) -> R<Body> {
        let mut body = Body::default();
        loop {
            self.ws_nl();
            if self.eof() {
                if let Some(open) = open {
                    return Err(self.err_at(
                        open,
                        "unclosed '{': the block is not closed before the end of the file",
                    ));
                }
                self.unique_attributes(&body)?;
                return Ok(body);
            }
            if self.peek() == b'}' {
                if open.is_some() {
                    self.unique_attributes(&body)?;
                    return Ok(body);
                }
                return Err(self.err("unexpected '}': no block is open here"));
            }
            let (start, name) = self.item_name()?;
            self.ws_inner(false);
            if self.peek() == b'=' && self.peek_at(1) != b'=' {
                self.pos += 1;
                self.ws_inner(false);
                let expr = self.expr()?;
                body.items.push(Item::Attribute(Attribute {
                    name: name.to_string(),
                    expr,
                    pos: start as u32,
                    end: self.pos as u32,
                }));
                self.end_of_item("attribute")?;
                continue;
            }
            let mut labels = Vec::new();
            loop {
                match self.peek() {
                    b'"' => {
                        let lpos = self.pos;
                        self.pos += 1;
                        let parts = self.template(TemplateEnd::Quote)?;
                        match literal_text(&parts) {
                            Some(s) => labels.push(s),
                            None => {
                                return Err(self.err_at(
                                    lpos,
                                    "block labels must be plain strings, not templates",
                                ))
                            }
                        }
                    }
                    b'{' => break,
                    _ => match self.ident() {
                        Some(l) => labels.push(l.to_string()),
                        None => {
                            return Err(self.err_at(
                                start,
                                format!(
                                    "argument or block definition required: expected '=' or a block after {name:?}, found {}",
                                    self.describe_here()
                                ),
                            ))
                        }
                    },
                }
                self.ws_inner(false);
            }
            let open_pos = self.pos;
            self.pos += 1;
            self.open_level()?;
            // each label is one more level of the block's value
            for _ in 0..labels.len() {
                self.enter()?;
            }
            let saved = std::mem::replace(&mut self.nl_skip, 0);
            // As hclsyntax: a newline (or nothing) after `{` opens a
            // multi-line body; anything else is a single-line block.
            self.ws_inner(false);
            let inner = if self.eof() || matches!(self.peek(), b'\n' | b'}') {
                self.body(Some(open_pos))?
            } else {
                self.single_line_body(open_pos)?
            };
            self.nl_skip = saved;
            self.depth -= labels.len();
            self.close_level();
            self.pos += 1; // '}'
            body.items.push(Item::Block(Block {
                ty: name.to_string(),
                labels,
                body: inner,
                pos: start as u32,
                open: open_pos as u32,
            }));
            self.end_of_item("block")?;
        }
    }

    /// The name that starts an attribute or a block, and where it starts.
    fn item_name(&mut self) -> R<(usize, &'a str)> {
        let start = self.pos;
        match self.ident() {
            Some(name) => Ok((start, name)),
            None => Err(self.err(format!(
                "expected an attribute name or a block type, found {}",
                self.describe_here()
            ))),
        }
    }

    /// As hclsyntax: each argument may be set only once in a body (an
    /// object constructor may repeat a key; a body may not).
    fn unique_attributes(&self, body: &Body) -> R<()> {
        let count = body.attributes().count();
        if count < 2 {
            return Ok(());
        }
        let repeated = if count <= 16 {
            // most bodies are small: no allocation
            body.attributes().enumerate().find_map(|(i, again)| {
                body.attributes()
                    .take(i)
                    .find(|first| first.name == again.name)
                    .map(|first| {
                        [
                            (first.name.as_str(), first.pos),
                            (again.name.as_str(), again.pos),
                        ]
                    })
            })
        } else {
            let mut names: Vec<(&str, u32)> = body
                .attributes()
                .map(|a| (a.name.as_str(), a.pos))
                .collect();
            names.sort_unstable();
            names
                .windows(2)
                .filter(|w| w[0].0 == w[1].0)
                .min_by_key(|w| w[1].1)
                .map(|w| [w[0], w[1]])
        };
        match repeated {
            Some([(name, first), (_, again)]) => {
                let line = self.src[..first as usize].matches('\n').count() + 1;
                Err(self.err_at(
                    again as usize,
                    format!("argument {name:?} was already set on line {line}: each argument may be set only once"),
                ))
            }
            _ => Ok(()),
        }
    }

    /// The body of a block written on one line, `name { key = value }`:
    /// hclsyntax allows one argument there and nothing else, closed on the
    /// same line.
    fn single_line_body(&mut self, open: usize) -> R<Body> {
        let (start, name) = self.item_name()?;
        self.ws_inner(false);
        if self.peek() != b'=' || self.peek_at(1) == b'=' {
            let message = if matches!(self.peek(), b'"' | b'{')
                || self.peek_char().is_some_and(is_id_start)
            {
                format!("a single-line block can hold only one argument: to define the nested block {name:?}, place it on a line of its own")
            } else {
                format!(
                    "argument or block definition required: expected '=' after {name:?}, found {}",
                    self.describe_here()
                )
            };
            return Err(self.err_at(start, message));
        }
        self.pos += 1;
        self.ws_inner(false);
        let expr = self.expr()?;
        let end = self.pos as u32;
        self.ws_inner(false);
        // a line comment that runs to this newline is where the line ends
        let line_end = match self.src.get(self.line_comment..self.pos) {
            Some(comment) if !comment.contains('\n') => self.line_comment,
            _ => self.pos,
        };
        match self.peek() {
            b'}' => {}
            b',' => {
                return Err(self.err(
                    "a single-line block can hold only one argument: write one argument per line in a multi-line block",
                ))
            }
            b'\n' => {
                return Err(self.err_at(
                    line_end,
                    "a block with an argument on its first line must be closed on that line: put its '}' right after the argument",
                ))
            }
            _ if self.eof() => {
                return Err(self.err_at(
                    open,
                    "unclosed '{': the block is not closed before the end of the file",
                ))
            }
            _ => {
                return Err(self.err(format!(
                    "expected '}}' to close the single-line block after its argument, found {}",
                    self.describe_here()
                )))
            }
        }
        Ok(Body {
            items: vec![Item::Attribute(Attribute {
                name: name.to_string(),
                expr,
                pos: start as u32,
                end,
            })],
        })
    }

    /// An attribute or a block ends with a newline (or the end of the
    /// input), also before the `}` that closes the block around it.
    fn end_of_item(&mut self, what: &str) -> R<()> {
        self.ws_inner(false);
        match self.peek() {
            b'\n' => {
                self.pos += 1;
                Ok(())
            }
            0 if self.eof() => Ok(()),
            b',' if what == "attribute" => Err(self.err(
                "unexpected ',' after the argument: arguments are separated by newlines, not commas",
            )),
            b'}' => Err(self.err(format!(
                "expected a newline after the {what}, found '}}': a block's closing brace goes on a line of its own"
            ))),
            _ => Err(self.err(format!(
                "expected a newline after the {what}, found {}",
                self.describe_here()
            ))),
        }
    }

    // ---- expressions --------------------------------------------------

    fn expr(&mut self) -> R<Expr> {
        self.enter()?;
        let cond = self.binary(1)?;
        self.ws();
        // Newlines around `?` and `:` (and after a binary operator) are
        // white space only inside brackets, as everywhere in hclsyntax.
        let out = if self.peek() == b'?' {
            self.pos += 1;
            self.ws();
            let then = self.expr()?;
            self.ws();
            if self.peek() != b':' {
                return Err(self.err(format!(
                    "expected ':' in the conditional expression, found {}",
                    self.describe_here()
                )));
            }
            self.pos += 1;
            self.ws();
            let otherwise = self.expr()?;
            Expr::Cond(Box::new(cond), Box::new(then), Box::new(otherwise))
        } else {
            cond
        };
        self.leave();
        Ok(out)
    }

    fn peek_binop(&self) -> Option<(BinOp, usize)> {
        let a = self.peek();
        let b = self.peek_at(1);
        Some(match (a, b) {
            (b'|', b'|') => (BinOp::Or, 2),
            (b'&', b'&') => (BinOp::And, 2),
            (b'=', b'=') => (BinOp::Eq, 2),
            (b'!', b'=') => (BinOp::Ne, 2),
            (b'<', b'=') => (BinOp::Le, 2),
            (b'>', b'=') => (BinOp::Ge, 2),
            (b'<', b'<') => return None,
            (b'<', _) => (BinOp::Lt, 1),
            (b'>', _) => (BinOp::Gt, 1),
            (b'+', _) => (BinOp::Add, 1),
            (b'-', _) => (BinOp::Sub, 1),
            (b'*', _) => (BinOp::Mul, 1),
            (b'/', _) => (BinOp::Div, 1),
            (b'%', _) => (BinOp::Mod, 1),
            _ => return None,
        })
    }

    fn binary(&mut self, min_prec: u8) -> R<Expr> {
        let mut lhs = self.unary()?;
        // a chain `a + b + c...` nests its tree one level per operator,
        // though it is read in a loop: it counts like recursion
        let mut chain = 0;
        loop {
            self.ws();
            let Some((op, len)) = self.peek_binop() else {
                break;
            };
            if op.precedence() < min_prec {
                break;
            }
            chain += 1;
            if self.depth + chain > MAX_DEPTH {
                return Err(self.too_deep());
            }
            self.pos += len;
            self.ws();
            self.enter()?;
            let rhs = self.binary(op.precedence() + 1)?;
            self.leave();
            lhs = Expr::Binary(op, Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> R<Expr> {
        match self.peek() {
            b'-' => {
                self.pos += 1;
                self.ws();
                self.enter()?;
                let e = self.unary()?;
                self.leave();
                Ok(Expr::Unary(UnOp::Neg, Box::new(e)))
            }
            b'!' => {
                self.pos += 1;
                self.ws();
                self.enter()?;
                let e = self.unary()?;
                self.leave();
                Ok(Expr::Unary(UnOp::Not, Box::new(e)))
            }
            _ => self.postfix(),
        }
    }

    fn postfix(&mut self) -> R<Expr> {
        let prim = self.primary()?;
        let mut ops = Vec::new();
        loop {
            // White space may sit between the steps of a traversal, and
            // inside brackets newlines too (`try(var.cfg` newline
            // `.registry`, as Terraform accepts); anything else after it
            // ends the traversal, and the white space is left for the caller.
            let before = self.pos;
            self.ws();
            if !matches!(self.peek(), b'.' | b'[') || self.starts("...") {
                self.pos = before;
            }
            match self.peek() {
                b'.' if self.starts("...") => break,
                b'.' => ops.push(self.dot_step()?),
                b'[' => ops.push(self.bracket_step()?),
                _ => break,
            }
        }
        if ops.is_empty() {
            return Ok(prim);
        }
        Ok(match prim {
            Expr::Traversal {
                root,
                ops: mut first,
                pos,
            } => {
                // a name's traversal has no steps of its own: the steps
                // read here are its list, not a copy of them
                if first.is_empty() {
                    first = ops;
                } else {
                    first.extend(ops);
                }
                Expr::Traversal {
                    root,
                    ops: first,
                    pos,
                }
            }
            other => Expr::Postfix(Box::new(other), ops),
        })
    }

    /// A traversal step at its `.`: `.*`, `.name` or HIL's legacy `.0`.
    fn dot_step(&mut self) -> R<TravOp> {
        let dot = self.pos;
        self.pos += 1;
        self.ws();
        if self.peek() == b'*' {
            self.pos += 1;
            return Ok(TravOp::AttrSplat);
        }
        if self.peek().is_ascii_digit() {
            return self.legacy_index();
        }
        if let Some(name) = self.ident() {
            return Ok(TravOp::Attr(name.to_string()));
        }
        Err(self.err_at(
            dot + 1,
            format!(
                "expected an attribute name after '.', found {}",
                self.describe_here()
            ),
        ))
    }

    /// `.0`, HIL's legacy index: one number literal token, so `.0.1` is
    /// the number 0.1 and an error, as hclsyntax says.
    fn legacy_index(&mut self) -> R<TravOp> {
        let start = self.pos;
        self.pos = self.number_end();
        let text = &self.src[start..self.pos];
        if let Some((a, b)) = text.split_once('.') {
            return Err(self.err_at(
                start,
                format!("invalid legacy index syntax: two legacy indexes cannot follow each other; write [{a}][{b}]"),
            ));
        }
        match text.parse::<u64>() {
            Ok(n) => Ok(TravOp::LegacyIndex(n)),
            Err(_) if is_decimal_number(text) => {
                Ok(TravOp::Index(Box::new(Expr::Number(text.to_string()))))
            }
            Err(_) => Err(self.err_at(start, format!("invalid number literal {text:?}"))),
        }
    }

    /// A traversal step at its `[`: `[*]` or `[index]` (newlines allowed
    /// inside).
    fn bracket_step(&mut self) -> R<TravOp> {
        self.pos += 1;
        self.nl_skip += 1;
        self.ws();
        if self.peek() == b'*' {
            self.pos += 1;
            self.ws();
            if self.peek() != b']' {
                return Err(self.err("expected ']' after '[*'"));
            }
            self.pos += 1;
            self.nl_skip -= 1;
            return Ok(TravOp::FullSplat);
        }
        let idx = self.expr()?;
        self.ws();
        if self.peek() != b']' {
            return Err(self.err(format!(
                "expected ']' to close the index, found {}",
                self.describe_here()
            )));
        }
        self.pos += 1;
        self.nl_skip -= 1;
        Ok(TravOp::Index(Box::new(idx)))
    }

    fn primary(&mut self) -> R<Expr> {
        let start = self.pos;
        match self.peek() {
            b'(' => {
                self.pos += 1;
                self.nl_skip += 1;
                self.open_level()?;
                self.ws();
                let e = self.expr()?;
                self.ws();
                if self.peek() != b')' {
                    return Err(self.err(format!(
                        "expected ')' to close the parenthesis opened at offset {start}, found {}",
                        self.describe_here()
                    )));
                }
                self.pos += 1;
                self.nl_skip -= 1;
                self.close_level();
                Ok(Expr::Paren(Box::new(e)))
            }
            b'[' => self.tuple(),
            b'{' => self.object(),
            b'"' => {
                self.pos += 1;
                let parts = self.template(TemplateEnd::Quote)?;
                Ok(Expr::Template(parts))
            }
            b'<' if self.peek_at(1) == b'<' => self.heredoc(),
            b'0'..=b'9' => self.number(),
            0 if self.eof() => Err(self.err("expected an expression, found end of file")),
            _ => {
                let Some(name) = self.ident() else {
                    return Err(self.err(format!(
                        "expected an expression, found {}",
                        self.describe_here()
                    )));
                };
                match name {
                    "true" => return Ok(Expr::Bool(true)),
                    "false" => return Ok(Expr::Bool(false)),
                    "null" => return Ok(Expr::Null),
                    _ => {}
                }
                // Function call, possibly namespaced (`provider::aws::arn_parse`).
                let mut fname = name.to_string();
                while self.starts("::") {
                    self.pos += 2;
                    match self.ident() {
                        Some(part) => {
                            fname.push_str("::");
                            fname.push_str(part);
                        }
                        None => return Err(self.err("expected a function name after '::'")),
                    }
                }
                let save = self.pos;
                self.ws_inner(false);
                if self.peek() == b'(' {
                    return self.call(fname);
                }
                self.pos = save;
                if fname.contains("::") {
                    return Err(self.err("expected '(' after a namespaced function name"));
                }
                Ok(Expr::Traversal {
                    root: fname,
                    ops: Vec::new(),
                    pos: start as u32,
                })
            }
        }
    }

    /// A number literal, scanned as hclsyntax's `NumberLit`: a digit, then
    /// the longest run of digits, `.` and exponents (`e5`, `E-3`) that does
    /// not end with `.`; the run must then read as a decimal number
    /// (`1.2.3` is one invalid literal, as Terraform says; `1.e5` is valid).
    fn number(&mut self) -> R<Expr> {
        let start = self.pos;
        self.pos = self.number_end();
        let text = &self.src[start..self.pos];
        if !is_decimal_number(text) {
            return Err(self.err_at(start, format!("invalid number literal {text:?}")));
        }
        Ok(Expr::Number(text.to_string()))
    }

    /// The end of the `NumberLit` token at `self.pos` (a digit).
    fn number_end(&self) -> usize {
        let start = self.pos;
        let mut end = start + 1;
        let mut i = end;
        loop {
            match self.b.get(i) {
                Some(b'0'..=b'9') => {
                    i += 1;
                    end = i;
                }
                Some(b'.') => i += 1,
                Some(b'e' | b'E') => {
                    let mut j = i + 1;
                    if matches!(self.b.get(j), Some(b'+' | b'-')) {
                        j += 1;
                    }
                    if !matches!(self.b.get(j), Some(b'0'..=b'9')) {
                        break;
                    }
                    i = j + 1;
                    end = i;
                }
                _ => break,
            }
        }
        end
    }

    fn call(&mut self, name: String) -> R<Expr> {
        let open = self.pos;
        self.pos += 1;
        self.nl_skip += 1;
        self.open_level()?;
        let mut args = Vec::new();
        let mut expand_final = false;
        loop {
            self.ws();
            if self.peek() == b')' {
                break;
            }
            args.push(self.expr()?);
            self.ws();
            if self.eof() {
                return Err(self.err_at(open, format!("unclosed '(' in the call to {name}()")));
            }
            if self.starts("...") {
                self.pos += 3;
                expand_final = true;
                self.ws();
                if self.peek() != b')' {
                    return Err(self.err("'...' may only follow the last argument"));
                }
                break;
            }
            match self.peek() {
                b',' => self.pos += 1,
                b')' => break,
                b'}' | b']' => return Err(self.unclosed(open, '(', ')')),
                _ => {
                    return Err(self.err(format!(
                    "expected ',' or ')' in the call to {name}() opened at offset {open}, found {}",
                    self.describe_here()
                )))
                }
            }
        }
        self.pos += 1;
        self.nl_skip -= 1;
        self.close_level();
        Ok(Expr::Call {
            name,
            args,
            expand_final,
        })
    }

    fn keyword_ahead(&self, kw: &str) -> bool {
        if !self.starts(kw) {
            return false;
        }
        let after = self.pos + kw.len();
        match self.src[after..].chars().next() {
            Some(c) => !is_id_continue(c),
            None => true,
        }
    }

    fn tuple(&mut self) -> R<Expr> {
        let open = self.pos;
        self.pos += 1;
        self.nl_skip += 1;
        self.open_level()?;
        self.ws();
        if self.keyword_ahead("for") {
            let e = self.for_expr(false, open)?;
            self.nl_skip -= 1;
            self.close_level();
            return Ok(e);
        }
        let mut items = Vec::new();
        loop {
            self.ws();
            if self.peek() == b']' {
                break;
            }
            if self.eof() {
                return Err(self.err_at(open, "unclosed '[': the list is not closed"));
            }
            items.push(self.expr()?);
            self.ws();
            if self.eof() {
                return Err(self.err_at(open, "unclosed '[': the list is not closed"));
            }
            match self.peek() {
                b',' => self.pos += 1,
                b']' => break,
                b'}' | b')' => return Err(self.unclosed(open, '[', ']')),
                _ => {
                    return Err(self.err(format!(
                        "expected ',' or ']' in the list, found {}",
                        self.describe_here()
                    )))
                }
            }
        }
        self.pos += 1;
        self.nl_skip -= 1;
        self.close_level();
        Ok(Expr::Tuple(items))
    }

    fn object(&mut self) -> R<Expr> {
        let open = self.pos;
        self.pos += 1;
        self.open_level()?;
        let saved = std::mem::replace(&mut self.nl_skip, 1);
        self.ws();
        if self.keyword_ahead("for") {
            let e = self.for_expr(true, open)?;
            self.nl_skip = saved;
            self.close_level();
            return Ok(e);
        }
        let mut items = Vec::new();
        loop {
            self.ws_nl();
            if self.peek() == b'}' {
                break;
            }
            if self.eof() {
                return Err(self.err_at(open, "unclosed '{': the object is not closed"));
            }
            // An item is on one line: newlines separate items, they are
            // white space only inside brackets of the key or value.
            self.nl_skip = 0;
            let key = self.expr()?;
            self.ws();
            match self.peek() {
                b'=' if self.peek_at(1) != b'>' => self.pos += 1,
                b':' => self.pos += 1,
                _ => {
                    return Err(self.err(format!(
                        "expected '=' or ':' after the object key, found {}",
                        self.describe_here()
                    )))
                }
            }
            self.ws();
            let value = self.expr()?;
            self.ws_inner(false);
            items.push((key, value));
            if self.eof() {
                return Err(self.err_at(open, "unclosed '{': the object is not closed"));
            }
            match self.peek() {
                b',' | b'\n' => self.pos += 1,
                b'}' => break,
                _ => {
                    return Err(self.err(format!(
                        "expected ',', a newline or '}}' after the object item, found {}",
                        self.describe_here()
                    )))
                }
            }
        }
        self.pos += 1;
        self.nl_skip = saved;
        self.close_level();
        Ok(Expr::Object(items))
    }

    /// The header of a `for` expression or template directive after the
    /// keyword: `[KEY ,] VALUE in COLLECTION`. `what` names the construct
    /// and `second` the variable after the comma in the errors.
    fn for_header(&mut self, what: &str, second: &str) -> R<(Option<String>, String, Expr)> {
        self.ws();
        let first = self
            .ident()
            .ok_or_else(|| self.err("expected a variable name after 'for'"))?
            .to_string();
        self.ws();
        let (key_var, value_var) = if self.peek() == b',' {
            self.pos += 1;
            self.ws();
            let value_var = self
                .ident()
                .ok_or_else(|| self.err(format!("expected {second} after ','")))?
                .to_string();
            (Some(first), value_var)
        } else {
            (None, first)
        };
        self.ws();
        if !self.keyword_ahead("in") {
            return Err(self.err(format!("expected 'in' in the for {what}")));
        }
        self.pos += 2;
        self.ws();
        let coll = self.expr()?;
        Ok((key_var, value_var, coll))
    }

    fn for_expr(&mut self, object: bool, open: usize) -> R<Expr> {
        self.pos += 3; // for
        self.nl_skip = self.nl_skip.max(1);
        let (key_var, value_var, coll) = self.for_header("expression", "a second variable name")?;
        self.ws();
        if self.peek() != b':' {
            return Err(self.err("expected ':' after the for expression's collection"));
        }
        self.pos += 1;
        self.ws();
        let (key, value) = if object {
            let k = self.expr()?;
            self.ws();
            if !self.starts("=>") {
                return Err(self.err("expected '=>' in the object for expression"));
            }
            self.pos += 2;
            self.ws();
            (Some(k), self.expr()?)
        } else {
            (None, self.expr()?)
        };
        self.ws();
        let mut grouping = false;
        if self.starts("...") {
            self.pos += 3;
            grouping = true;
            self.ws();
        }
        let mut cond = None;
        if self.keyword_ahead("if") {
            self.pos += 2;
            self.ws();
            cond = Some(self.expr()?);
            self.ws();
        }
        let close = if object { b'}' } else { b']' };
        if self.peek() != close {
            return Err(self.err_at(
                if self.eof() { open } else { self.pos },
                format!(
                    "expected '{}' to close the for expression, found {}",
                    close as char,
                    self.describe_here()
                ),
            ));
        }
        self.pos += 1;
        Ok(Expr::For(Box::new(ForExpr {
            key_var,
            value_var,
            coll,
            key,
            value,
            cond,
            grouping,
        })))
    }

    // ---- templates ----------------------------------------------------

    fn heredoc(&mut self) -> R<Expr> {
        let start = self.pos;
        self.pos += 2;
        let flush = if self.peek() == b'-' {
            self.pos += 1;
            true
        } else {
            false
        };
        let Some(marker) = self.ident() else {
            return Err(self.err("expected a heredoc marker after '<<'"));
        };
        let marker = marker.to_string();
        if self.peek() == b'\r' {
            self.pos += 1;
        }
        if self.peek() != b'\n' {
            return Err(self.err("expected a newline after the heredoc marker"));
        }
        self.pos += 1;
        let mut toks = self.heredoc_tokens(&marker, start)?;
        // As hclsyntax does: strip markers first, then `<<-` indentation.
        apply_strips(&mut toks);
        if flush {
            flush_heredoc(&mut toks);
        }
        let parts = self.build_template(toks)?;
        Ok(Expr::Template(parts))
    }

    /// Is the line at `self.pos` (a line start) the closing marker line?
    /// Returns the offset of the newline that ends it.
    ///
    /// As hclsyntax's scanner decides: the whole line, white space (Unicode
    /// `White_Space`, as Go's `bytes.TrimSpace`) trimmed from both ends,
    /// equals the marker, and a newline (`\n` or `\r\n`) ends it. A marker
    /// at the very end of the input, without a newline, closes nothing.
    fn closing_marker(&self, marker: &str) -> Option<usize> {
        let nl = self.pos + memchr(b'\n', &self.b[self.pos..])?;
        let line = &self.src[self.pos..nl];
        let line = line.strip_suffix('\r').unwrap_or(line);
        // a carriage return inside the line is not white space to HCL
        if line.contains('\r') || line.trim() != marker {
            return None;
        }
        Some(nl)
    }

    fn heredoc_tokens(&mut self, marker: &str, start: usize) -> R<Vec<TTok>> {
        let mut toks = Vec::new();
        let mut lit = String::new();
        let mut line_start = true;
        loop {
            if line_start {
                if let Some(end) = self.closing_marker(marker) {
                    if !lit.is_empty() {
                        toks.push(TTok::Lit(std::mem::take(&mut lit)));
                    }
                    self.pos = end;
                    return Ok(toks);
                }
                line_start = false;
            }
            if self.eof() {
                let last = self.src[..self.pos].rsplit('\n').next().unwrap_or("");
                let message = if last.trim() == marker {
                    format!(
                        "unterminated heredoc: the closing {marker:?} line must end with a newline"
                    )
                } else {
                    format!("unterminated heredoc: no closing {marker:?} line")
                };
                return Err(self.err_at(start, message));
            }
            if self.starts("$${") || self.starts("%%{") {
                lit.push_str(&self.src[self.pos + 1..self.pos + 3]);
                self.pos += 3;
                continue;
            }
            if self.starts("${") || self.starts("%{") {
                if !lit.is_empty() {
                    toks.push(TTok::Lit(std::mem::take(&mut lit)));
                }
                toks.push(self.template_sequence()?);
                continue;
            }
            let c = self.peek();
            if c == b'\n' {
                lit.push('\n');
                self.pos += 1;
                toks.push(TTok::Lit(std::mem::take(&mut lit)));
                line_start = true;
                continue;
            }
            // copy a run of plain bytes
            let run_start = self.pos;
            while self.pos < self.b.len() {
                let b = self.b[self.pos];
                if b == b'\n' || b == b'$' || b == b'%' {
                    break;
                }
                if b == b'\r' && self.peek_at(1) != b'\n' {
                    return Err(self.lone_carriage_return());
                }
                if self.not_utf8 == Some(b) {
                    return Err(self.err(NOT_UTF8));
                }
                self.pos += 1;
            }
            if self.pos == run_start {
                // a lone '$' or '%'
                self.pos += 1;
            }
            lit.push_str(&self.src[run_start..self.pos]);
        }
    }

    fn template(&mut self, end: TemplateEnd) -> R<Vec<Part>> {
        if end == TemplateEnd::Quote {
            if let Some(parts) = self.plain_string() {
                return Ok(parts);
            }
        }
        let mut toks = self.template_tokens(end)?;
        apply_strips(&mut toks);
        self.build_template(toks)
    }

    /// A quoted string (after the opening quote) that is plain text to its
    /// closing quote, as [`Parser::template`] would give it: no escape,
    /// interpolation, directive, line ending or stand-in for a byte that
    /// is not UTF-8 before the quote. Most strings of a configuration are
    /// (`"t3.micro"`, `"10.0.0.0/16"`); anything else is left to
    /// [`Parser::template_tokens`] (`None`, nothing consumed).
    fn plain_string(&mut self) -> Option<Vec<Part>> {
        let rest = self.b.get(self.pos..)?;
        let n = rest.iter().position(|&b| {
            matches!(b, b'"' | b'\\' | b'$' | b'%' | b'\n' | b'\r') || self.not_utf8 == Some(b)
        })?;
        if rest[n] != b'"' {
            return None;
        }
        let text = self.src.get(self.pos..self.pos + n)?;
        self.pos += n + 1;
        Some(if text.is_empty() {
            Vec::new()
        } else {
            vec![Part::Lit(nfc(text.to_string()))]
        })
    }

    /// Tokens of a quoted template (after the opening quote) or of a bare
    /// template running to the end of input.
    fn template_tokens(&mut self, end: TemplateEnd) -> R<Vec<TTok>> {
        let open = self.pos.saturating_sub(1);
        let mut toks = Vec::new();
        let mut lit = String::new();
        let quoted = end == TemplateEnd::Quote;
        loop {
            if self.eof() {
                if quoted {
                    return Err(self.err_at(open, "unterminated string: no closing '\"'"));
                }
                break;
            }
            let c = self.b[self.pos];
            if quoted && c == b'"' {
                self.pos += 1;
                break;
            }
            if quoted && c == b'\n' {
                let col = self.src[..open]
                    .rsplit('\n')
                    .next()
                    .map(|l| l.chars().count())
                    .unwrap_or(0)
                    + 1;
                let at = if self.pos > 0 && self.b[self.pos - 1] == b'\r' {
                    self.pos - 1
                } else {
                    self.pos
                };
                return Err(self.err_at(
                    at,
                    format!("unterminated string: the string opened at column {col} reaches the end of the line (a quoted string cannot span lines; use a heredoc)"),
                ));
            }
            if quoted && c == b'\\' {
                self.escape(&mut lit)?;
                continue;
            }
            if self.starts("$${") || self.starts("%%{") {
                lit.push_str(&self.src[self.pos + 1..self.pos + 3]);
                self.pos += 3;
                continue;
            }
            if self.starts("${") || self.starts("%{") {
                if !lit.is_empty() {
                    toks.push(TTok::Lit(std::mem::take(&mut lit)));
                }
                toks.push(self.template_sequence()?);
                continue;
            }
            let run_start = self.pos;
            while self.pos < self.b.len() {
                let b = self.b[self.pos];
                if b == b'$' || b == b'%' || (quoted && (b == b'"' || b == b'\\' || b == b'\n')) {
                    break;
                }
                if quoted && b == b'\r' && self.peek_at(1) != b'\n' {
                    return Err(self.lone_carriage_return());
                }
                if self.not_utf8 == Some(b) {
                    return Err(self.err(NOT_UTF8));
                }
                self.pos += 1;
            }
            if self.pos == run_start {
                self.pos += 1;
            }
            lit.push_str(&self.src[run_start..self.pos]);
        }
        if !lit.is_empty() {
            toks.push(TTok::Lit(lit));
        }
        Ok(toks)
    }

    fn escape(&mut self, out: &mut String) -> R<()> {
        let at = self.pos;
        self.pos += 1;
        let c = self.peek();
        self.pos += 1;
        match c {
            b'n' => out.push('\n'),
            b'r' => out.push('\r'),
            b't' => out.push('\t'),
            b'"' => out.push('"'),
            b'\\' => out.push('\\'),
            b'u' | b'U' => {
                let n = if c == b'u' { 4 } else { 8 };
                let hex = self
                    .src
                    .get(self.pos..self.pos + n)
                    .ok_or_else(|| self.err_at(at, "incomplete unicode escape"))?;
                let cp = u32::from_str_radix(hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| {
                        self.err_at(at, format!("invalid unicode escape \\{}{hex}", c as char))
                    })?;
                out.push(cp);
                self.pos += n;
            }
            0 if self.eof() => return Err(self.err_at(at, "unterminated string")),
            _ => {
                return Err(self.err_at(
                    at,
                    format!(
                        "invalid escape sequence \\{}",
                        self.src[at + 1..].chars().next().unwrap_or(' ')
                    ),
                ))
            }
        }
        Ok(())
    }

    /// `${ expr }` or `%{ directive }` with optional `~` strip markers.
    fn template_sequence(&mut self) -> R<TTok> {
        let start = self.pos;
        let interp = self.peek() == b'$';
        self.pos += 2;
        let strip_l = if self.peek() == b'~' {
            self.pos += 1;
            true
        } else {
            false
        };
        self.nl_skip += 1;
        self.open_level()?;
        self.ws();
        let tok = if interp {
            let e = self.expr()?;
            let r = self.close_sequence(start)?;
            TTok::Interp(e, strip_l, r)
        } else {
            let kw = self.ident().ok_or_else(|| {
                self.err("expected a template directive (if, else, endif, for, endfor)")
            })?;
            match kw {
                "if" => {
                    self.ws();
                    let e = self.expr()?;
                    let r = self.close_sequence(start)?;
                    TTok::If(e, strip_l, r)
                }
                "else" => TTok::Else(strip_l, self.close_sequence(start)?),
                "endif" => TTok::EndIf(strip_l, self.close_sequence(start)?),
                "endfor" => TTok::EndFor(strip_l, self.close_sequence(start)?),
                "for" => {
                    let (k, v, coll) = self.for_header("directive", "a variable name")?;
                    let r = self.close_sequence(start)?;
                    TTok::For(k, v, coll, strip_l, r)
                }
                other => {
                    return Err(self.err(format!("unknown template directive {other:?}")));
                }
            }
        };
        self.nl_skip -= 1;
        self.close_level();
        Ok(tok)
    }

    fn close_sequence(&mut self, start: usize) -> R<bool> {
        self.ws();
        let strip = if self.peek() == b'~' {
            self.pos += 1;
            true
        } else {
            false
        };
        if self.peek() != b'}' {
            if self.eof() {
                return Err(self.err_at(start, "unterminated template sequence: missing '}'"));
            }
            return Err(self.err(format!(
                "expected '}}' to close the template sequence, found {}",
                self.describe_here()
            )));
        }
        self.pos += 1;
        Ok(strip)
    }

    fn build_template(&mut self, toks: Vec<TTok>) -> R<Vec<Part>> {
        let mut it = toks.into_iter().peekable();
        let (parts, end) = build_parts(&mut it)?;
        if let Some(end) = end {
            return Err(self.err(format!("unexpected {end} in template")));
        }
        Ok(parts)
    }
}

/// `~` strip markers remove the white space (newlines included) on their
/// side of the adjacent literal.
fn apply_strips(toks: &mut [TTok]) {
    for i in 0..toks.len() {
        let (l, r) = toks[i].strips();
        if l && i > 0 {
            if let TTok::Lit(s) = &mut toks[i - 1] {
                let t = s.trim_end().len();
                s.truncate(t);
            }
        }
        if r && i + 1 < toks.len() {
            if let TTok::Lit(s) = &mut toks[i + 1] {
                *s = s.trim_start().to_string();
            }
        }
    }
}

fn build_parts(
    it: &mut std::iter::Peekable<std::vec::IntoIter<TTok>>,
) -> Result<(Vec<Part>, Option<&'static str>), ParseError> {
    let mut parts: Vec<Part> = Vec::new();
    let err = |m: &str| ParseError {
        offset: 0,
        message: m.to_string(),
    };
    while let Some(t) = it.next() {
        match t {
            TTok::Lit(s) => {
                if s.is_empty() {
                    continue;
                }
                if let Some(Part::Lit(prev)) = parts.last_mut() {
                    prev.push_str(&s);
                } else {
                    parts.push(Part::Lit(s));
                }
            }
            TTok::Interp(e, _, _) => parts.push(Part::Interp(e)),
            TTok::If(cond, _, _) => {
                let (then, end) = build_parts(it)?;
                let otherwise = match end {
                    Some("%{else}") => {
                        let (o, end2) = build_parts(it)?;
                        if end2 != Some("%{endif}") {
                            return Err(err("missing %{endif} in template"));
                        }
                        o
                    }
                    Some("%{endif}") => Vec::new(),
                    _ => return Err(err("missing %{endif} in template")),
                };
                parts.push(Part::If {
                    cond: Box::new(cond),
                    then,
                    otherwise,
                });
            }
            TTok::For(key_var, value_var, coll, _, _) => {
                let (body, end) = build_parts(it)?;
                if end != Some("%{endfor}") {
                    return Err(err("missing %{endfor} in template"));
                }
                parts.push(Part::For(Box::new(rewind_model::expr::TemplateFor {
                    key_var,
                    value_var,
                    coll,
                    body,
                })));
            }
            TTok::Else(..) => return Ok((nfc_parts(parts), Some("%{else}"))),
            TTok::EndIf(..) => return Ok((nfc_parts(parts), Some("%{endif}"))),
            TTok::EndFor(..) => return Ok((nfc_parts(parts), Some("%{endfor}"))),
        }
    }
    Ok((nfc_parts(parts), None))
}

/// The literal parts of a template in Unicode normal form C, as HCL
/// normalises a string literal once its escapes are decoded
/// (`"caf\u0065\u0301"` and `"café"` are one string).
fn nfc_parts(mut parts: Vec<Part>) -> Vec<Part> {
    for p in &mut parts {
        if let Part::Lit(s) = p {
            *s = nfc(std::mem::take(s));
        }
    }
    parts
}

/// `s` in Unicode normal form C (ASCII text, most of it, as it is).
fn nfc(s: String) -> String {
    if s.is_ascii() {
        return s;
    }
    match icu_normalizer::ComposingNormalizerBorrowed::new_nfc().normalize(&s) {
        std::borrow::Cow::Borrowed(_) => s,
        std::borrow::Cow::Owned(n) => n,
    }
}

/// hclsyntax's `<<-` rule: find the line with the fewest leading white
/// space characters (a line that starts with an interpolation or directive
/// counts as zero; a blank line is ignored) and remove that many from the
/// start of every line.
fn flush_heredoc(toks: &mut [TTok]) {
    let mut min = usize::MAX;
    let mut newline = true;
    let mut adjust = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        if newline {
            newline = false;
            let spaces = match t {
                TTok::Lit(s) => {
                    let trimmed = s.trim_start();
                    if trimmed.is_empty() && s.ends_with('\n') {
                        usize::MAX
                    } else {
                        adjust.push(i);
                        s[..s.len() - trimmed.len()].chars().count()
                    }
                }
                _ => 0,
            };
            min = min.min(spaces);
        }
        if let TTok::Lit(s) = t {
            if s.ends_with('\n') {
                newline = true;
            }
        }
    }
    if min == usize::MAX || min == 0 {
        return;
    }
    for i in adjust {
        if let TTok::Lit(s) = &mut toks[i] {
            let cut: usize = s.chars().take(min).map(char::len_utf8).sum();
            *s = s[cut..].to_string();
        }
    }
}

/// The text of a template with no interpolation or directive.
pub(crate) fn literal_text(parts: &[Part]) -> Option<String> {
    match parts {
        [] => Some(String::new()),
        [Part::Lit(s)] => Some(s.clone()),
        _ => None,
    }
}

/// `digits ['.' digits*] [('e'|'E') ['+'|'-'] digits]`: what Terraform's
/// number parser (Go's `big.ParseFloat`, base 10) takes from a literal.
fn is_decimal_number(text: &str) -> bool {
    let b = text.as_bytes();
    let digits = |mut i: usize| {
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    let mut i = digits(0);
    if i == 0 {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i = digits(i + 1);
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let after = digits(i);
        if after == i {
            return false;
        }
        i = after;
    }
    i == b.len()
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    memchr::memchr(needle, hay)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The quoted string after `src`'s opening quote through the general
    /// path (tokens, strip markers, parts): the parts or the error, and
    /// where the parser stopped.
    fn general(src: &str) -> (R<Vec<Part>>, usize) {
        let mut p = Parser::new(src);
        p.pos = 1;
        let parts = p.template_tokens(TemplateEnd::Quote).and_then(|mut toks| {
            apply_strips(&mut toks);
            p.build_template(toks)
        });
        (parts, p.pos)
    }

    /// The fast path for plain strings gives what the general path gives,
    /// and leaves every other string to it untouched.
    #[test]
    fn plain_strings_parse_as_templates_do() {
        let plain = [
            r#""""#,
            r#""t3.micro""#,
            r#""10.0.0.0/16" # after"#,
            "\"tab\there\"",
            "\"ünïcödé ✓\"",
            "\"ctl\u{1}\"",
        ];
        for src in plain {
            let mut p = Parser::new(src);
            p.pos = 1;
            let fast = p.plain_string().expect("a plain string");
            let (parts, end) = general(src);
            assert_eq!(Ok(fast), parts, "{src:?}");
            assert_eq!(p.pos, end, "{src:?}");
        }
        let not_plain = [
            r#""a\"b""#,
            r#""a\nb""#,
            r#""${var.x}-web""#,
            r#""cost: $5""#,
            r#""100%""#,
            r#""%{if true}y%{endif}""#,
            "\"line\nbreak\"",
            "\"cr\r\n\"",
            "\"no closing quote",
        ];
        for src in not_plain {
            let mut p = Parser::new(src);
            p.pos = 1;
            assert_eq!(p.plain_string(), None, "{src:?}");
            assert_eq!(p.pos, 1, "{src:?}");
            // and `template` still gives the general path's answer
            let mut q = Parser::new(src);
            q.pos = 1;
            assert_eq!(q.template(TemplateEnd::Quote), general(src).0, "{src:?}");
        }
        // a stand-in for a byte that is not UTF-8 is the general path's
        // error, not a literal
        let (text, parsed) = parse_body_bytes(b"a = \"x\xffy\"\n");
        assert!(parsed.is_err(), "{text:?}");
    }
}
