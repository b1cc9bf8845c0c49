//! Where an argument of a block is written: the line and column an error
//! of one value in a block's body points at, found again in the file's
//! text (the model keeps each block's position, not its arguments').

use super::ast::Block;
use super::parser::{parse_body_bytes, LineIndex};
use rewind_model::expr::Expr;

/// The 1-based line and column of the value at `path` in the block that
/// starts on line `block_line` of the HCL file `bytes` (an argument, a
/// nested block by type then index, a key of an object written out): as
/// deep as the file's syntax tells, the block itself when it tells
/// nothing. `None` when the file does not parse or holds no block there.
pub fn value_position(bytes: &[u8], block_line: u32, path: &[String]) -> Option<(u32, u32)> {
    let (src, body) = parse_body_bytes(bytes);
    let body = body.ok()?;
    let lines = LineIndex::new(&src);
    let at = |pos: u32| lines.locate(pos);
    // the block on that line; the node of a local, a variable in a
    // `locals` block, is its argument inside the block
    let mut found = None;
    for b in body.blocks() {
        if at(b.pos).0 == block_line {
            found = Some((b.pos, &b.body));
            break;
        }
        if b.ty == "locals" {
            if let Some(a) = b.body.attributes().find(|a| at(a.pos).0 == block_line) {
                return Some(at(in_expression(a.pos, &a.expr, path).unwrap_or(a.pos)));
            }
        }
    }
    let (mut pos, mut body) = found?;
    let mut steps = path;
    while let Some((step, rest)) = steps.split_first() {
        if let Some(a) = body.attribute(step) {
            return Some(at(in_expression(a.pos, &a.expr, rest).unwrap_or(a.pos)));
        }
        // nested blocks: the type, then which of them
        let of_type: Vec<&Block> = body.blocks().filter(|b| b.ty == *step).collect();
        let Some(first) = of_type.first() else { break };
        let index = rest.first().and_then(|i| i.parse::<usize>().ok());
        match index.and_then(|i| of_type.get(i)) {
            Some(b) => {
                pos = b.pos;
                body = &b.body;
                steps = &rest[1..];
            }
            None => {
                pos = first.pos;
                break;
            }
        }
    }
    Some(at(pos))
}

/// The position of the key at `path` in an object written out in `e` (a
/// bare key keeps its position; a quoted one does not), as deep as it goes.
fn in_expression(mut pos: u32, mut e: &Expr, path: &[String]) -> Option<u32> {
    let mut moved = false;
    for step in path {
        let Expr::Object(items) = e.unparen() else {
            break;
        };
        let Some((k, v)) = items
            .iter()
            .rev()
            .find(|(k, _)| crate::hcl::static_key(k).as_deref() == Some(step.as_str()))
        else {
            break;
        };
        match k {
            Expr::Traversal { pos: p, .. } => {
                pos = *p;
                moved = true;
            }
            _ => break,
        }
        e = v;
    }
    moved.then_some(pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = r#"variable "n" {
  default = "abc"
}

resource "terraform_data" "a" {
  input = {
    name  = "x"
    count = tonumber(var.n)
  }
  triggers_replace = [1, 2]
}

resource "aws_instance" "web" {
  ami = "ami-1"
  ebs_block_device {
    volume_size = 8
  }
  ebs_block_device {
    device_name = "/dev/sdb"
    volume_size = var.size
  }
}

locals {
  a = 1
  b = {
    inner = local.a
  }
}
"#;

    fn pos(line: u32, path: &[&str]) -> Option<(u32, u32)> {
        let path: Vec<String> = path.iter().map(|s| s.to_string()).collect();
        value_position(SRC.as_bytes(), line, &path)
    }

    #[test]
    fn arguments_keys_and_nested_blocks_are_found() {
        // an argument, a key written out in its object
        assert_eq!(pos(5, &["triggers_replace", "1"]), Some((10, 3)));
        assert_eq!(pos(5, &["input", "count"]), Some((8, 5)));
        assert_eq!(pos(5, &["input"]), Some((6, 3)));
        // a nested block by index, then its argument
        assert_eq!(
            pos(13, &["ebs_block_device", "1", "volume_size"]),
            Some((20, 5))
        );
        assert_eq!(pos(13, &["ebs_block_device", "0"]), Some((15, 3)));
        // a block the path does not name further: the first of its type
        assert_eq!(
            pos(13, &["ebs_block_device", "7", "volume_size"]),
            Some((15, 3))
        );
        // a local: its argument in the `locals` block, then a key
        assert_eq!(pos(25, &[]), Some((25, 3)));
        assert_eq!(pos(26, &["inner"]), Some((27, 5)));
    }

    #[test]
    fn what_the_file_does_not_tell_is_the_block_or_nothing() {
        assert_eq!(pos(5, &[]), Some((5, 1)));
        assert_eq!(pos(5, &["no_such"]), Some((5, 1)));
        assert_eq!(pos(4, &["input"]), None, "no block on that line");
        assert_eq!(
            value_position(b"resource \"x\" {", 1, &[]),
            None,
            "does not parse"
        );
    }
}
