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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

impl BinOp {
    pub fn precedence(self) -> u8 {
        match self {
            BinOp::Or => 1,
            BinOp::And => 2,
            BinOp::Eq | BinOp::Ne => 3,
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => 4,
            BinOp::Add | BinOp::Sub => 5,
            BinOp::Mul | BinOp::Div | BinOp::Mod => 6,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            BinOp::Or => "||",
            BinOp::And => "&&",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnOp {
    Neg,
    Not,
}

/// One step after a variable or an expression.
#[derive(Clone, Debug, PartialEq)]
pub enum TravOp {
    /// `.name`
    Attr(String),
    /// `[expr]`
    Index(Expr),
    /// `.0` (legacy index syntax)
    LegacyIndex(u64),
    /// `.*`
    AttrSplat,
    /// `[*]`
    FullSplat,
}

/// A part of a string template or heredoc.
#[derive(Clone, Debug, PartialEq)]
pub enum Part {
    Lit(String),
    Interp(Expr),
    If {
        cond: Expr,
        then: Vec<Part>,
        otherwise: Vec<Part>,
    },
    For {
        key_var: Option<String>,
        value_var: String,
        coll: Expr,
        body: Vec<Part>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Null,
    Bool(bool),
    /// Number literal text as written.
    Number(String),
    /// A quoted string or heredoc, already unescaped / trimmed.
    Template(Vec<Part>),
    Tuple(Vec<Expr>),
    Object(Vec<(Expr, Expr)>),
    /// A variable (`var`, `aws_vpc`, `count`...) and its traversal steps.
    Traversal {
        root: String,
        ops: Vec<TravOp>,
        pos: u32,
    },
    /// Traversal steps applied to any other expression (`f(x)[0].id`).
    Postfix(Box<Expr>, Vec<TravOp>),
    Call {
        name: String,
        args: Vec<Expr>,
        expand_final: bool,
    },
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Cond(Box<Expr>, Box<Expr>, Box<Expr>),
    For(Box<ForExpr>),
    Paren(Box<Expr>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct ForExpr {
    pub key_var: Option<String>,
    pub value_var: String,
    pub coll: Expr,
    /// `Some` for an object `for` (`{for k, v in x : k => v}`).
    pub key: Option<Expr>,
    pub value: Expr,
    pub cond: Option<Expr>,
    pub grouping: bool,
}
