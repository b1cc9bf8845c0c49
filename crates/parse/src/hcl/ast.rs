/// A body: the attributes and blocks of a file or of a block, in order.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Body {
    pub items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Attribute(Attribute),
    Block(Block),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Attribute {
    pub name: String,
    pub expr: Expr,
    /// Byte offset of the name.
    pub pos: u32,
    /// Byte offset just after the expression (its text is `src[..end]`
    /// from the first byte after `=` and the blanks that follow it).
    pub end: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    pub ty: String,
    pub labels: Vec<String>,
    pub body: Body,
    /// Byte offset of the block type.
    pub pos: u32,
    /// Byte offset of the opening brace.
    pub open: u32,
}

impl Body {
    pub fn attributes(&self) -> impl Iterator<Item = &Attribute> {
        self.items.iter().filter_map(|i| match i {
            Item::Attribute(a) => Some(a),
            Item::Block(_) => None,
        })
    }
    pub fn blocks(&self) -> impl Iterator<Item = &Block> {
        self.items.iter().filter_map(|i| match i {
            Item::Block(b) => Some(b),
            Item::Attribute(_) => None,
        })
    }
    /// The last attribute named `name` (a later one wins).
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes().filter(|a| a.name == name).last()
    }
}

pub use rewind_model::expr::{BinOp, Expr, ForExpr, Part, TravOp, UnOp};
