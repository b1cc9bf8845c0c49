//! Where an argument of a block is written: the line and column an error
//! of one value in a block's body points at, found again in the file's
//! text (the model keeps each block's position, not its arguments').

use super::ast::{Attribute, Block, Body};
use super::parser::{parse_body_bytes, LineIndex};
use crate::json::{J, JV};
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
    locate(&body, &lines, block_line, path, |a, rest| {
        in_expression(a.pos, &a.expr, rest)
    })
}

/// [`value_position`] in a `.tf.json` file: the block's labels, its
/// arguments and nested blocks as Terraform's JSON syntax writes them,
/// then into the argument's JSON value by object key and by array index
/// (JSON keeps the position of every member and element).
pub fn json_value_position(bytes: &[u8], block_line: u32, path: &[String]) -> Option<(u32, u32)> {
    let src = std::str::from_utf8(bytes).ok()?;
    let root = crate::json::parse_json(src).ok()?;
    let body = crate::json::json_config(&root, src).ok()?;
    let lines = LineIndex::new(src);
    locate(&body, &lines, block_line, path, |a, rest| {
        in_json(&root, a.pos, rest)
    })
}

/// The walk both syntaxes share: the block on `block_line` (or a local's
/// argument there), then `path` through its arguments and nested blocks;
/// `deeper` goes on into an argument's value from its position.
fn locate(
    body: &Body,
    lines: &LineIndex,
    block_line: u32,
    path: &[String],
    deeper: impl Fn(&Attribute, &[String]) -> Option<u32>,
) -> Option<(u32, u32)> {
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
                return Some(at(deeper(a, path).unwrap_or(a.pos)));
            }
        }
    }
    let (mut pos, mut body) = found?;
    let mut steps = path;
    while let Some((step, rest)) = steps.split_first() {
        if let Some(a) = body.attribute(step) {
            return Some(at(deeper(a, rest).unwrap_or(a.pos)));
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

/// The position of the value at `path` inside the JSON value of the
/// member whose key starts at `key_pos`: an object's member by key (the
/// last of that name, as Terraform merges duplicates), an array's
/// element by index, as deep as the document goes.
fn in_json(root: &J, key_pos: u32, path: &[String]) -> Option<u32> {
    let mut v = member_at(root, key_pos)?;
    let mut pos = None;
    for step in path {
        match &v.v {
            JV::Object(members) => {
                let Some((_, kpos, inner)) = members.iter().rev().find(|(k, _, _)| k == step)
                else {
                    break;
                };
                pos = Some(*kpos);
                v = inner;
            }
            JV::Array(items) => {
                let Some(inner) = step.parse::<usize>().ok().and_then(|i| items.get(i)) else {
                    break;
                };
                pos = Some(inner.pos);
                v = inner;
            }
            _ => break,
        }
    }
    pos
}

/// The value of the object member whose key starts at byte `key_pos`.
fn member_at(v: &J, key_pos: u32) -> Option<&J> {
    if key_pos < v.pos || key_pos >= v.end {
        return None;
    }
    match &v.v {
        JV::Object(members) => members.iter().find_map(|(_, kpos, inner)| {
            if *kpos == key_pos {
                Some(inner)
            } else {
                member_at(inner, key_pos)
            }
        }),
        JV::Array(items) => items.iter().find_map(|i| member_at(i, key_pos)),
        _ => None,
    }
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

    const JSON: &str = r#"{
  "resource": {
    "terraform_data": {
      "a": {
        "input": {
          "name": "x",
          "count": "${tonumber(var.n)}",
          "list": [1, "${var.x}"]
        },
        "triggers_replace": [1, 2]
      }
    },
    "aws_instance": {
      "web": {
        "ami": "ami-1",
        "ebs_block_device": [
          {"volume_size": 8},
          {
            "device_name": "/dev/sdb",
            "volume_size": "${var.size}"
          }
        ]
      }
    }
  },
  "locals": {
    "a": 1,
    "b": {
      "inner": "${local.a}"
    }
  }
}
"#;

    fn json_pos(line: u32, path: &[&str]) -> Option<(u32, u32)> {
        let path: Vec<String> = path.iter().map(|s| s.to_string()).collect();
        json_value_position(JSON.as_bytes(), line, &path)
    }

    #[test]
    fn json_arguments_keys_elements_and_nested_blocks_are_found() {
        // the block is its name's line, as the loader gives the node
        assert_eq!(json_pos(4, &[]), Some((4, 7)));
        assert_eq!(json_pos(4, &["input"]), Some((5, 9)));
        assert_eq!(json_pos(4, &["input", "count"]), Some((7, 11)));
        // JSON keeps elements' positions: a list element by index
        assert_eq!(json_pos(4, &["input", "list", "1"]), Some((8, 23)));
        assert_eq!(json_pos(4, &["triggers_replace", "1"]), Some((10, 33)));
        // a nested block written as an array of objects, by index
        assert_eq!(
            json_pos(14, &["ebs_block_device", "1", "volume_size"]),
            Some((20, 13))
        );
        assert_eq!(json_pos(14, &["ebs_block_device", "0"]), Some((17, 11)));
        // a local, then a key of its object
        assert_eq!(json_pos(28, &["inner"]), Some((29, 7)));
        // what the document does not hold: the deepest found, or nothing
        assert_eq!(json_pos(4, &["input", "no_such"]), Some((5, 9)));
        assert_eq!(json_pos(3, &["input"]), None, "no block on that line");
        assert_eq!(json_value_position(b"{\"resource\": ", 1, &[]), None);
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
