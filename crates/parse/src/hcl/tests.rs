use super::*;
use rewind_model::Value;

fn attr_value(src: &str) -> Value {
    let body = parse_body(src).unwrap_or_else(|e| panic!("{src:?}: {e:?}"));
    to_value(&body.attribute("x").expect("attribute x").expr)
}

fn attr_text(src: &str) -> String {
    let body = parse_body(src).unwrap_or_else(|e| panic!("{src:?}: {e:?}"));
    print_expr(&body.attribute("x").expect("attribute x").expr)
}

#[test]
fn bom_is_skipped() {
    assert_eq!(attr_value("\u{feff}x = 1\n"), Value::number("1"));
}

#[test]
fn duplicate_object_keys_keep_the_last() {
    let v = attr_value("x = {\n  a = 1\n  a = 2\n}\n");
    assert_eq!(v.get("a"), Some(&Value::number("2")));
    let v = attr_value("x = { a = 1, b = 2, a = 3 }\n");
    assert_eq!(v.get("a"), Some(&Value::number("3")));
}

#[test]
fn deep_nesting_beyond_64_levels() {
    // rewind parses on threads with large stacks; do the same here.
    std::thread::Builder::new()
        .stack_size(crate::PARSE_STACK)
        .spawn(deep_nesting)
        .unwrap()
        .join()
        .unwrap();
}

fn deep_nesting() {
    let src = format!("x = {}1{}\n", "[".repeat(80), "]".repeat(80));
    let mut v = attr_value(&src);
    for _ in 0..80 {
        v = v.as_list().unwrap()[0].clone();
    }
    assert_eq!(v, Value::number("1"));
    let objs = format!("x = {}1{}\n", "{a = ".repeat(100), "}".repeat(100));
    assert!(parse_body(&objs).is_ok());
    let too_deep = format!("x = {}1{}\n", "[".repeat(5000), "]".repeat(5000));
    let err = parse_body(&too_deep).unwrap_err();
    assert!(err.message.contains("nesting deeper"), "{}", err.message);
    // the limit counts levels of brackets, whatever the brackets
    let n = super::parser::MAX_NESTING;
    for (open, close) in [("[", "]"), ("{a = ", "}"), ("(", ")"), ("f(", ")")] {
        let at_limit = format!("x = {}1{}\n", open.repeat(n), close.repeat(n));
        assert!(parse_body(&at_limit).is_ok(), "{n} levels of {open}");
        let over = format!("x = {}1{}\n", open.repeat(n + 1), close.repeat(n + 1));
        let err = parse_body(&over).unwrap_err();
        assert!(
            err.message.contains("nesting deeper than 500 levels"),
            "{open}: {}",
            err.message
        );
    }
    // trees made deep by chains of operators and by labels count too (a
    // left-nested chain of 200,000 additions overflowed the stack of the
    // stages after parsing)
    let d = super::parser::MAX_DEPTH;
    let chain = |n: usize| format!("x = {}\n", vec!["1"; n].join(" + "));
    assert!(parse_body(&chain(d - 10)).is_ok());
    let err = parse_body(&chain(200_000)).unwrap_err();
    assert!(err.message.contains("nested too deeply"), "{}", err.message);
    let labels = |n: usize| format!("a {} {{}}\n", vec!["l"; n].join(" "));
    assert!(parse_body(&labels(100)).is_ok());
    let err = parse_body(&labels(d + 1)).unwrap_err();
    assert!(err.message.contains("nested too deeply"), "{}", err.message);
}

#[test]
fn flush_heredoc_after_interpolation_line() {
    let v = attr_text("x = <<-EOT\n    ${x}\nab\n  EOT\n");
    assert_eq!(v, r#""    ${x}\nab\n""#);
    // the common indentation is removed
    let v = attr_value("x = <<-EOT\n    hello\n      world\n    EOT\n");
    assert_eq!(v, Value::str("hello\n  world\n"));
    // blank lines do not count
    let v = attr_value("x = <<-EOT\n    a\n\n    b\n  EOT\n");
    assert_eq!(v, Value::str("a\n\nb\n"));
    // interpolation at the start of a line counts as zero indentation
    let v = attr_text("x = <<-EOT\n  a\n${y}\n  EOT\n");
    assert_eq!(v, r#""  a\n${y}\n""#);
}

#[test]
fn plain_heredoc_keeps_everything() {
    let v = attr_value("x = <<EOT\n  a \"q\" \\n\n  $${lit} %%{lit}\nEOT\n");
    assert_eq!(v, Value::str("  a \"q\" \\n\n  ${lit} %{lit}\n"));
    assert_eq!(attr_value("x = <<EOT\nEOT\n"), Value::str(""));
    // closing marker may be indented
    assert_eq!(
        attr_value("x = <<EOT\nhi\n    EOT\ny = 1\n"),
        Value::str("hi\n")
    );
}

#[test]
fn heredoc_and_quoted_string_mean_the_same() {
    assert_eq!(
        attr_text("x = <<EOT\nhello ${var.name}\nEOT\n"),
        attr_text("x = \"hello ${var.name}\\n\"\n")
    );
}

#[test]
fn templates_unwrap_single_interpolation() {
    assert_eq!(
        attr_value("x = \"${var.region}\"\n"),
        Value::expr(parse_expression("var.region").unwrap())
    );
    assert_eq!(
        attr_text("x = \"${var.a}-${var.b}\"\n"),
        "\"${var.a}-${var.b}\""
    );
    assert_eq!(attr_value("x = \"plain\"\n"), Value::str("plain"));
}

#[test]
fn template_directives_and_strip_markers() {
    let t = attr_text("x = \"%{ if var.on ~} yes %{~ else ~} no %{~ endif }\"\n");
    assert_eq!(t, "\"%{if var.on}yes%{else}no%{endif}\"");
    let t = attr_text("x = <<EOT\n%{ for k, v in var.m ~}\n${k}=${v}\n%{ endfor ~}\nEOT\n");
    assert_eq!(t, "\"%{for k, v in var.m}${k}=${v}\\n%{endfor}\"");
}

#[test]
fn escapes() {
    assert_eq!(
        attr_value(r#"x = "a\tb\n\"c\" \\ \u00e9 $${no} %%{no}""#),
        Value::str("a\tb\n\"c\" \\ é ${no} %{no}")
    );
    assert!(parse_body("x = \"bad \\q\"\n").is_err());
}

#[test]
fn legacy_syntax_normalizes() {
    assert_eq!(
        attr_text("x = \"${aws_subnet.a.0.id}\"\n"),
        "aws_subnet.a[0].id"
    );
    assert_eq!(
        attr_text("x = \"${aws_subnet.a.*.id}\"\n"),
        "aws_subnet.a[*].id"
    );
    assert_eq!(
        attr_text("x = \"${element(aws_subnet.a.*.id, count.index)}\"\n"),
        "element(aws_subnet.a[*].id, count.index)"
    );
}

#[test]
fn formatting_and_comments_do_not_matter() {
    let a = attr_text("x = merge(var.tags,{Name=\"web\"}) # c\n");
    let b = attr_text("x = merge( # why\n  var.tags, /* c */\n  { Name = \"web\" },\n)\n");
    assert_eq!(a, b);
    assert_eq!(a, "merge(var.tags, { Name = \"web\" })");
}

#[test]
fn operators_and_parentheses() {
    assert_eq!(attr_text("x = (a + b) * c\n"), "(a + b) * c");
    assert_eq!(attr_text("x = a + (b * c)\n"), "a + b * c");
    assert_eq!(attr_text("x = a - (b - c)\n"), "a - (b - c)");
    assert_eq!(attr_text("x = !a && b || c == d\n"), "!a && b || c == d");
    assert_eq!(attr_text("x = a ? b : c ? d : e\n"), "a ? b : c ? d : e");
    assert_eq!(attr_text("x = -1\n"), "-1");
    assert_eq!(attr_value("x = -1.50\n"), Value::number("-1.5"));
    assert_eq!(
        attr_text("x = var.n>=2&&var.m<3\n"),
        "var.n >= 2 && var.m < 3"
    );
}

#[test]
fn for_expressions() {
    assert_eq!(
        attr_text("x = [for s in var.list : upper(s) if s != \"\"]\n"),
        "[for s in var.list : upper(s) if s != \"\"]"
    );
    assert_eq!(
        attr_text("x = {for k, v in var.map : k => v...}\n"),
        "{ for k, v in var.map : k => v... }"
    );
}

#[test]
fn provider_functions_and_splats() {
    assert_eq!(
        attr_text("x = provider::aws::arn_parse(var.arn).account_id\n"),
        "provider::aws::arn_parse(var.arn).account_id"
    );
    assert_eq!(
        attr_text("x = aws_instance.web[*].id\n"),
        "aws_instance.web[*].id"
    );
    assert_eq!(attr_text("x = concat(a, b...)\n"), "concat(a, b...)");
}

#[test]
fn references_are_collected_with_scopes() {
    let body = parse_body(
        "x = [for s in aws_subnet.a : s.id if s.az != var.skip]\ny = \"${local.p}-%{for n in var.names}${n}%{endfor}\"\nz = aws_instance.web[count.index].private_ip\n",
    )
    .unwrap();
    let mut refs = Vec::new();
    for a in body.attributes() {
        collect_refs(&a.expr, &[], &mut refs);
    }
    let got: Vec<String> = refs
        .iter()
        .map(|r| {
            let mut s = r.root.clone();
            for st in &r.steps {
                if !st.starts_with('[') {
                    s.push('.');
                }
                s.push_str(st);
            }
            s
        })
        .collect();
    assert_eq!(
        got,
        vec![
            "aws_subnet.a",
            "var.skip",
            "local.p",
            "var.names",
            "aws_instance.web[*].private_ip",
            "count.index"
        ]
    );
}

#[test]
fn blocks_and_labels() {
    let body = parse_body(
        "resource \"aws_instance\" \"web\" {\n  ami = \"x\"\n  ebs_block_device {\n    size = 10\n  }\n  lifecycle { create_before_destroy = true }\n}\nlocals {}\n",
    )
    .unwrap();
    let blocks: Vec<_> = body.blocks().collect();
    assert_eq!(blocks.len(), 2);
    assert_eq!(blocks[0].ty, "resource");
    assert_eq!(blocks[0].labels, vec!["aws_instance", "web"]);
    assert_eq!(blocks[0].body.blocks().count(), 2);
    assert_eq!(blocks[0].pos, 0);
}

#[test]
fn errors_point_at_the_problem() {
    let cases = [
        ("resource \"a\" \"b\" {\n  x = 1\n", (1, 18), "unclosed"),
        ("x 1\n", (1, 1), "expected '='"),
        ("x = \"abc\n", (1, 9), "unterminated string"),
        ("x = <<EOT\nabc\n", (1, 5), "unterminated heredoc"),
        ("a = 1\nb = @\n", (2, 5), "expected an expression"),
        ("x = [1, 2\n", (1, 5), "unclosed '['"),
        ("x = 1 2\n", (1, 7), "expected a newline"),
        ("}\n", (1, 1), "unexpected '}'"),
    ];
    for (src, (line, col), msg) in cases {
        let err = parse_body(src).expect_err(src);
        let idx = LineIndex::new(src);
        assert_eq!(
            idx.locate(err.offset),
            (line, col),
            "{src:?}: {}",
            err.message
        );
        assert!(err.message.contains(msg), "{src:?}: {}", err.message);
    }
}

#[test]
fn line_index_counts_characters() {
    let src = "a = \"é\"\nbb = 2\n";
    let idx = LineIndex::new(src);
    assert_eq!(idx.locate(0), (1, 1));
    assert_eq!(idx.locate(9), (2, 1));
    assert_eq!(idx.locate(7), (1, 7));
    assert_eq!(idx.line_text(2), "bb = 2");
}

#[test]
fn object_keys_forms() {
    let v = attr_value("x = {\n  \"kubernetes.io/role\" = 1\n  plain: 2\n}\n");
    assert_eq!(v.get("kubernetes.io/role"), Some(&Value::number("1")));
    assert_eq!(v.get("plain"), Some(&Value::number("2")));
    assert_eq!(attr_text("x = { (var.k) = 1 }\n"), "{ (var.k) = 1 }");
}

#[test]
fn matches_hcl_rs_on_literals() {
    // Differential check against hcl-rs (the reference parser) on inputs
    // both accept.
    let src = "x = { a = [1, 2.5, \"s\", true, null], b = { c = \"d\" } }\n";
    let ours = attr_value(src);
    let theirs: hcl::Body = hcl::from_str(src).unwrap();
    let attr = theirs.attributes().next().unwrap();
    let json = serde_json::to_value(hcl::Value::from(attr.expr.clone())).unwrap();
    assert_eq!(ours, Value::from_json(&json));
}

/// (line, column, message) of the error `src` gives.
fn error_of(src: &str) -> (u32, u32, String) {
    let (text, result) = parse_body_bytes(src.as_bytes());
    let err = result.expect_err(src);
    let (line, col) = LineIndex::new(&text).locate(err.offset);
    (line, col, err.message)
}

#[test]
fn heredoc_closing_markers_may_have_white_space_around_them() {
    // As hclsyntax's scanner: the marker line, trimmed of white space on
    // both sides (Unicode White_Space, as Go's bytes.TrimSpace), equals
    // the marker. Values checked with terraform 1.11.4 (fixtures/hcl/heredoc-markers.tf).
    assert_eq!(attr_value("x = <<EOT\nhi\nEOT  \n"), Value::str("hi\n"));
    assert_eq!(attr_value("x = <<EOT\nhi\nEOT\t \n"), Value::str("hi\n"));
    assert_eq!(
        attr_value("x = <<-EOT\n    hi\n  EOT \t\n"),
        Value::str("hi\n")
    );
    assert_eq!(
        attr_value("x = <<EOT\nhi\n\u{a0}EOT\u{a0}\u{b}\n"),
        Value::str("hi\n")
    );
    assert_eq!(
        attr_value("x = <<EOT\r\nhi\r\nEOT \r\n"),
        Value::str("hi\r\n")
    );
    // a line that only starts with the marker is content
    assert_eq!(attr_value("x = <<EOT\nEOTX\nEOT\n"), Value::str("EOTX\n"));
    // after an interpolation the line does not start there: not the marker
    let (_, _, m) = error_of("x = <<EOT\n${a}EOT\n");
    assert!(m.contains("unterminated heredoc"), "{m}");
    // the marker must be followed by a newline, as Terraform says
    // ("Unterminated template string")
    let (line, col, m) = error_of("x = <<EOT\nhi\nEOT");
    assert_eq!((line, col), (1, 5));
    assert!(m.contains("must end with a newline"), "{m}");
}

#[test]
fn single_line_blocks_hold_one_argument_and_close_on_their_line() {
    // accepted by terraform 1.11.4
    for ok in [
        "locals { a = 1 }\n",
        "locals {}\n",
        "locals { }\n",
        "locals { /* c */ a = 1 } # c\n",
        "locals { a = {\n  x = 1\n} }\n",
        "locals {\n  a = 1\n}\nlocals { b = 1 } \n",
        "locals {\n  a = 1 /* c\n  */\n}\n",
    ] {
        assert!(parse_body(ok).is_ok(), "{ok:?}: {:?}", parse_body(ok));
    }
    // rejected by terraform 1.11.4, at these places (terraform validate -json)
    let cases = [
        // "Missing newline after argument"
        (
            "locals {\n a = 1 }\n",
            (2, 8),
            "a block's closing brace goes on a line of its own",
        ),
        (
            "locals {\n  a = 1 /* c */ }\n",
            (2, 17),
            "expected a newline",
        ),
        ("locals { # c\n  a = 1 }\n", (2, 9), "expected a newline"),
        // "Missing newline after block definition"
        (
            "terraform {} locals {}\n",
            (1, 14),
            "expected a newline after the block",
        ),
        (
            "resource \"a\" \"b\" {\n  lifecycle {}}\n",
            (2, 15),
            "expected a newline after the block",
        ),
        // "Invalid single-argument block definition"
        ("locals { a = 1, b = 2 }\n", (1, 15), "only one argument"),
        (
            "locals { a = 1\n  b = 2\n}\n",
            (1, 15),
            "closed on that line",
        ),
        ("locals { a = 1 # c\n}\n", (1, 16), "closed on that line"),
        // "Argument definition required"
        (
            "resource \"a\" \"b\" { lifecycle {} }\n",
            (1, 20),
            "place it on a line of its own",
        ),
        // "Unexpected comma after argument"
        ("locals {\n  a = 1,\n}\n", (2, 8), "not commas"),
    ];
    for (src, at, msg) in cases {
        let (line, col, m) = error_of(src);
        assert_eq!((line, col), at, "{src:?}: {m}");
        assert!(m.contains(msg), "{src:?}: {m}");
    }
}

#[test]
fn an_argument_is_set_once_per_body() {
    // terraform: "Attribute redefined" at the second name (3:3)
    let (line, col, m) = error_of("locals {\n  a = 1\n  a = 2\n}\n");
    assert_eq!((line, col), (3, 3));
    assert!(m.contains("already set on line 2"), "{m}");
    let (line, col, _) = error_of("region = \"a\"\nazs = []\nregion = \"b\"\n");
    assert_eq!((line, col), (3, 1));
    // a large body (checked by sorting): the first repeat in the file
    let many: String = (0..40).map(|i| format!("v{} = {i}\n", i % 30)).collect();
    let (line, col, m) = error_of(&many);
    assert_eq!((line, col), (31, 1));
    assert!(m.contains("\"v0\" was already set on line 1"), "{m}");
    // blocks may repeat; object keys may repeat (the last wins)
    assert!(parse_body("a {}\na {}\nx = { k = 1, k = 2 }\n").is_ok());
}

#[test]
fn number_literals_are_scanned_as_hclsyntax_does() {
    assert_eq!(attr_value("x = 1.e5\n"), Value::number("100000"));
    assert_eq!(attr_value("x = 007\n"), Value::number("7"));
    // "Invalid number literal" at the literal
    let (line, col, m) = error_of("locals {\n  a = 1.2.3\n}\n");
    assert_eq!((line, col), (2, 7));
    assert!(m.contains("invalid number literal \"1.2.3\""), "{m}");
    // a number then a traversal step is not a number: `1.` is an error
    assert!(parse_body("x = 1.\n").is_err());
    assert!(parse_body("x = 0x10\n").is_err());
    // a legacy index step is one number literal: `.0.1` is the number 0.1,
    // "Invalid legacy index syntax" to terraform
    assert_eq!(attr_text("x = var.l.0 .1\n"), "var.l[0][1]");
    assert_eq!(attr_text("x = var.l.1e3\n"), "var.l[1000]");
    let (_, col, m) = error_of("x = var.l.0.1\n");
    assert_eq!(col, 11);
    assert!(m.contains("[0][1]"), "{m}");
}

#[test]
fn a_carriage_return_only_ends_a_line_before_a_newline() {
    assert_eq!(attr_value("x = 1\r\ny = 2\r\n"), Value::number("1"));
    // terraform: "Invalid character" / "Invalid multi-line string"
    for (src, at) in [
        ("locals {\n  a = 1\r  b = 2\n}\n", (2, 8)),
        ("locals {\n  a = \"x\ry\"\n}\n", (2, 9)),
        ("x = <<EOT\na\rb\nEOT\n", (2, 2)),
    ] {
        let (line, col, m) = error_of(src);
        assert_eq!((line, col), at, "{src:?}: {m}");
        assert!(m.contains("carriage return"), "{src:?}: {m}");
    }
}

#[test]
fn comments_may_hold_bytes_that_are_not_utf8() {
    // terraform 1.11.4 accepts Latin-1 in comments and rejects it anywhere
    // else ("Invalid character encoding")
    let latin1 = b"# (c) 2019 Soci\xe9t\xe9 G\xe9n\xe9rale\nx = 1 /* \xa9 */ // \xff\n";
    let (_, body) = parse_body_bytes(latin1);
    let body = body.expect("comments may hold any bytes");
    assert_eq!(
        to_value(&body.attribute("x").unwrap().expr),
        Value::number("1")
    );
    for (src, at) in [
        (&b"x = \"caf\xe9\"\n"[..], (1, 9)),
        (&b"x = <<EOT\ncaf\xe9\nEOT\n"[..], (2, 4)),
        (&b"x = 1\n\xe9\n"[..], (2, 1)),
    ] {
        let (text, result) = parse_body_bytes(src);
        let err = result.expect_err("not UTF-8 outside a comment");
        assert_eq!(LineIndex::new(&text).locate(err.offset), at);
        assert!(err.message.contains("not UTF-8"), "{}", err.message);
    }
}

#[test]
fn newlines_end_expressions_outside_brackets() {
    // terraform 1.11.4: "Invalid expression", "Missing false expression in
    // conditional", "Missing attribute value"
    for src in [
        "x = 1 +\n  2\n",
        "x = true ?\n  1 : 2\n",
        "x = true ? 1\n  : 2\n",
        "x = { n\n  = 1 }\n",
        "x = { n =\n  1 }\n",
        "x = { n = 1 +\n  2 }\n",
    ] {
        assert!(parse_body(src).is_err(), "{src:?}");
    }
    // inside brackets and parentheses they are white space (accepted)
    for src in [
        "x = [1 +\n  2]\n",
        "x = (true ?\n  1\n  : 2)\n",
        "x = { n = (\n  1 + 2\n) }\n",
        "x = { (n\n) = 1 }\n",
        "x = {\nfor k, v in m : k\n  => v }\n",
        "x = f(1\n  + 2)\n",
    ] {
        assert!(parse_body(src).is_ok(), "{src:?}: {:?}", parse_body(src));
    }
}

/// Found by rewind-fuzz: a strip marker can leave a literal ending in `%`
/// right before a directive (`%    %{~for ...}`); printed as is, `%%{`
/// would read as an escape. The canonical text must parse back to itself.
#[test]
fn canonical_text_of_a_literal_before_a_sequence_parses_back() {
    for src in [
        "x = <<-EOT\n%    %{~for p in var.l}\n    ${p}\n    %{~endfor}\n  EOT\n",
        "x = \"$ ${~var.a}\"\n",
    ] {
        let text = attr_text(src);
        let again =
            print_expr(&parse_expression(&text).unwrap_or_else(|e| panic!("{text}: {e:?}")));
        assert_eq!(again, text);
    }
    assert_eq!(attr_text("x = \"$ ${~var.a}\"\n"), r#""${"$"}${var.a}""#);
    // a quoted object key is a template too
    let text = attr_text("x = { \"a%%{\" = 1, \"$${b}\" = 2, c = var.c }\n");
    assert_eq!(text, r#"{ "a%%{" = 1, "$${b}" = 2, c = var.c }"#);
    assert_eq!(print_expr(&parse_expression(&text).unwrap()), text);
}

#[test]
fn names_run_through_ascii_and_unicode_letters() {
    // ASCII runs (a table lookup a byte) and Unicode letters in turn,
    // at the start, the middle and the end of a name
    assert_eq!(
        attr_text("x = var.a-b_c9.naïve-ñame.zé\n"),
        "var.a-b_c9.naïve-ñame.zé"
    );
    let body = parse_body("café_1-é = 1\nébc = 2\n").unwrap();
    let names: Vec<&str> = body.attributes().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["café_1-é", "ébc"]);
    // a name ends at a byte that continues none: an operator, a bracket,
    // white space, a symbol that is not a letter
    assert_eq!(attr_text("x = a-b+c\n"), "a-b + c");
    assert_eq!(attr_text("x = ab[0]\n"), "ab[0]");
    assert!(parse_body("x = a€b\n").is_err(), "€ continues no name");
    // a name may end the file
    let body = parse_body("x = abc").unwrap();
    assert_eq!(print_expr(&body.attribute("x").unwrap().expr), "abc");
}

/// HCL normalises string literals to NFC once their escapes are decoded:
/// `"caf\u0065\u0301"` and `"café"` were two strings, so a revert
/// replaced what Terraform leaves alone (c44 of the review), and raw
/// decomposed text was not normalised either.
#[test]
fn string_literals_are_in_normal_form_c() {
    let composed = Value::String("caf\u{e9}".into());
    assert_eq!(attr_value("x = \"caf\\u0065\\u0301\"\n"), composed);
    assert_eq!(attr_value("x = \"cafe\u{301}\"\n"), composed);
    assert_eq!(attr_value("x = \"caf\u{e9}\"\n"), composed);
    assert_eq!(
        attr_value("x = <<EOT\ncafe\u{301}\nEOT\n"),
        Value::String("caf\u{e9}\n".into())
    );
    assert_eq!(
        attr_text("x = \"cafe\u{301}-${var.n}\"\n"),
        attr_text("x = \"caf\\u00e9-${var.n}\"\n")
    );
}
