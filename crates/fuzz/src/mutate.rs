//! Structure-aware mutations of configuration text: bytes, HCL and JSON
//! tokens, splices of other inputs, deep nesting and truncation.

use crate::rng::Rng;

/// Tokens worth inserting: HCL's punctuation, template and heredoc
/// introducers, comments, keywords, JSON syntax, numbers at the limits and
/// characters that are white space to some parsers and not to others.
const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    "\"",
    "'",
    "=",
    "==",
    "=>",
    ",",
    ".",
    "..",
    "...",
    ":",
    "::",
    "?",
    "!",
    "-",
    "+",
    "*",
    "/",
    "%",
    "&&",
    "||",
    "<",
    "<=",
    ">",
    "${",
    "%{",
    "$${",
    "%%{",
    "~}",
    "${~",
    "}\n",
    "{\n",
    "\n",
    "\r\n",
    "\r",
    "\t",
    " ",
    "#",
    "//",
    "/*",
    "*/",
    "<<EOT\n",
    "<<-EOT\n",
    "\nEOT\n",
    "  EOT  \n",
    "\nEOT",
    "[*]",
    ".*",
    ".0",
    "[0]",
    "[\"k\"]",
    "for",
    "in",
    "if",
    "else",
    "endif",
    "endfor",
    "%{ if true }",
    "%{ endif }",
    "%{ for x in y }",
    "%{ endfor }",
    "[for x in y : x]",
    "{for k, v in m : k => v}",
    "null",
    "true",
    "false",
    "0",
    "1",
    "-1",
    "1.5",
    "1e308",
    "1e-400",
    "1.e5",
    "1.2.3",
    "99999999999999999999999",
    "var.x",
    "local.y",
    "each.value",
    "count.index",
    "self.id",
    "module.m.out",
    "aws_vpc.main.id",
    "data.a.b.c",
    "f(",
    "f()",
    "f(x...)",
    "provider::p::f(",
    "\\",
    "\\n",
    "\\u00e9",
    "\\U0001F600",
    "\\x",
    "\u{feff}",
    "\u{a0}",
    "\u{2028}",
    "\u{85}",
    "é",
    "😀",
    "\0",
    "resource \"a\" \"b\" {\n",
    "locals {\n",
    "variable \"v\" {\n",
    "dynamic \"d\" {\n",
    "lifecycle {\n",
    "provisioner \"local-exec\" {\n",
    "a = 1\n",
    "b {}\n",
    "c { d = 1 }\n",
    "\"version\": 4",
    "\"resources\": [",
    "\"instances\": [",
    "\"attributes\": {",
    "{\"a\": ",
    "[1, 2]",
    "\"\\ud800\"",
    "\"\\udc00\"",
    "1E+",
    "-0",
];

/// Applies one to eight mutations to `input`, never growing it past `max_len`.
pub fn mutate(input: &mut Vec<u8>, others: &[&[u8]], rng: &mut Rng, max_len: usize) {
    // mostly one mutation, so that many inputs stay close to valid and
    // reach deep into the parsers; sometimes up to eight
    let mut rounds = 1;
    while rounds < 8 && rng.one_in(2) {
        rounds += 1;
    }
    for _ in 0..rounds {
        mutate_once(input, others, rng);
        if input.len() > max_len {
            let cut = floor_boundary(input, max_len);
            input.truncate(cut);
        }
    }
}

/// One mutation of `input`, of a kind chosen at random, at a random
/// character boundary: a token inserted or replacing a range, a range
/// deleted or duplicated, a piece of `others` spliced in, deep nesting,
/// a truncation, a random byte, or two lines swapped.
fn mutate_once(input: &mut Vec<u8>, others: &[&[u8]], rng: &mut Rng) {
    let len = input.len();
    let at = if len == 0 {
        0
    } else {
        boundary(input, rng.below(len + 1))
    };
    match rng.below(11) {
        // insert a token
        0..=2 => {
            let t = rng.pick(TOKENS).as_bytes();
            splice(input, at, at, t);
        }
        // replace a range by a token
        3 => {
            let end = boundary(input, (at + 1 + rng.below(16)).min(len));
            let t = rng.pick(TOKENS).as_bytes();
            splice(input, at, end, t);
        }
        // delete a range
        4 => {
            let end = boundary(input, (at + 1 + rng.below(64)).min(len));
            splice(input, at, end, b"");
        }
        // duplicate a range of the input elsewhere
        5 => {
            if len > 0 {
                let from = boundary(input, rng.below(len));
                let to = boundary(input, (from + 1 + rng.below(256)).min(len));
                let chunk = input[from..to].to_vec();
                splice(input, at, at, &chunk);
            }
        }
        // splice in a piece of another input
        6 => splice_other(input, at, others, rng),
        // deep nesting: an opener repeated, sometimes closed again
        7 => nest(input, at, rng),
        // truncate
        8 => {
            input.truncate(at);
        }
        // a random byte (may break UTF-8: the parsers must say so)
        9 => {
            let b = (rng.next_u64() & 0xff) as u8;
            if at < len && rng.one_in(2) {
                input[at] = b;
            } else {
                input.insert(at.min(len), b);
            }
        }
        // swap a line with another
        _ => swap_lines(input, rng),
    }
}

/// Inserts at `at` a piece (up to 512 bytes) of one of the `others`
/// inputs, when there is one.
fn splice_other(input: &mut Vec<u8>, at: usize, others: &[&[u8]], rng: &mut Rng) {
    if !others.is_empty() {
        let other = *rng.pick(others);
        if !other.is_empty() {
            let from = boundary(other, rng.below(other.len()));
            let to = boundary(other, (from + 1 + rng.below(512)).min(other.len()));
            let chunk = other[from..to].to_vec();
            splice(input, at, at, &chunk);
        }
    }
}

/// Inserts at `at` deep nesting: an opener repeated (up to 40 times, or
/// 3000 one time in eight), sometimes closed again around a `1`.
fn nest(input: &mut Vec<u8>, at: usize, rng: &mut Rng) {
    let (open, close) = *rng.pick(&[
        ("[", "]"),
        ("{", "}"),
        ("(", ")"),
        ("{a = ", "}"),
        ("f(", ")"),
        ("\"${", "}\""),
        ("!", ""),
        ("-", ""),
        ("a ? ", " : b"),
        ("{\"a\": ", "}"),
    ]);
    let most = if rng.one_in(8) { 3000 } else { 40 };
    let n = 1 + rng.below(most);
    let mut chunk = open.repeat(n);
    if rng.one_in(2) {
        chunk.push('1');
        chunk.push_str(&close.repeat(n));
    }
    splice(input, at, at, chunk.as_bytes());
}

/// Swaps two lines of the input, chosen at random (nothing when it has
/// fewer than two lines, or the same line is chosen twice).
fn swap_lines(input: &mut Vec<u8>, rng: &mut Rng) {
    let lines: Vec<usize> = std::iter::once(0)
        .chain(
            input
                .iter()
                .enumerate()
                .filter(|(_, &b)| b == b'\n')
                .map(|(i, _)| i + 1),
        )
        .collect();
    if lines.len() > 2 {
        let a = rng.below(lines.len() - 1);
        let b = rng.below(lines.len() - 1);
        let (a, b) = (a.min(b), a.max(b));
        if a != b {
            let end_a = lines[a + 1];
            let end_b = lines[b + 1];
            let first = input[lines[a]..end_a].to_vec();
            let second = input[lines[b]..end_b].to_vec();
            splice(input, lines[b], end_b, &first);
            splice(input, lines[a], end_a, &second);
        }
    }
}

fn splice(input: &mut Vec<u8>, from: usize, to: usize, with: &[u8]) {
    let to = to.max(from).min(input.len());
    input.splice(from..to, with.iter().copied());
}

/// `at` moved back to the start of a UTF-8 character, so text mutations
/// keep valid text valid.
fn boundary(input: &[u8], at: usize) -> usize {
    floor_boundary(input, at)
}

fn floor_boundary(input: &[u8], mut at: usize) -> usize {
    at = at.min(input.len());
    while at > 0 && at < input.len() && (input[at] & 0xC0) == 0x80 {
        at -= 1;
    }
    at
}
