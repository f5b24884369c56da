//! The parse tree, after Go's `text/template/parse/node.go`.
//!
//! Positions are byte offsets into the text of the tree that owns the node;
//! `Display` reproduces Go's `Node.String()`, which appears verbatim in
//! execution errors (`executing "x" at <.Values.a.b>: ...`).

use std::fmt;

pub type Pos = usize;

#[derive(Debug, Clone)]
pub struct ListNode {
    pub pos: Pos,
    pub nodes: Vec<Node>,
}

#[derive(Debug, Clone)]
pub enum Node {
    Text {
        pos: Pos,
        text: String,
    },
    Action {
        pos: Pos,
        pipe: Pipe,
    },
    If(Branch),
    Range(Branch),
    With(Branch),
    Template {
        pos: Pos,
        name: String,
        pipe: Option<Pipe>,
    },
    Break {
        pos: Pos,
    },
    Continue {
        pos: Pos,
    },
    Comment {
        pos: Pos,
        text: String,
    },
    List(ListNode),
}

#[derive(Debug, Clone)]
pub struct Branch {
    pub pos: Pos,
    pub pipe: Pipe,
    pub list: ListNode,
    pub else_list: Option<ListNode>,
}

#[derive(Debug, Clone)]
pub struct Pipe {
    pub pos: Pos,
    pub is_assign: bool,
    pub decl: Vec<Variable>,
    pub cmds: Vec<Command>,
}

#[derive(Debug, Clone)]
pub struct Variable {
    pub pos: Pos,
    /// Variable name (with `$`) followed by field names.
    pub ident: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Command {
    pub pos: Pos,
    pub args: Vec<Arg>,
}

/// An operand of a command.
#[derive(Debug, Clone)]
pub enum Arg {
    Bool {
        pos: Pos,
        value: bool,
    },
    Dot {
        pos: Pos,
    },
    Nil {
        pos: Pos,
    },
    /// `.A.B` (idents without dots).
    Field {
        pos: Pos,
        ident: Vec<String>,
    },
    Variable(Variable),
    /// A function name.
    Identifier {
        pos: Pos,
        name: String,
    },
    Number(Number),
    String {
        pos: Pos,
        quoted: String,
        text: String,
    },
    /// A parenthesized pipeline.
    Pipe(Box<Pipe>),
    /// `(pipe).Field1.Field2` or `fn.Field`.
    Chain {
        pos: Pos,
        node: Box<Arg>,
        fields: Vec<String>,
    },
}

#[derive(Debug, Clone)]
pub struct Number {
    pub pos: Pos,
    pub is_int: bool,
    pub is_uint: bool,
    pub is_float: bool,
    pub is_complex: bool,
    pub int64: i64,
    pub uint64: u64,
    pub float64: f64,
    /// (real, imaginary), when `is_complex`.
    pub complex128: (f64, f64),
    pub text: String,
}

impl Number {
    /// Go's `simplifyComplex`: a complex literal with no imaginary part also
    /// holds the float (and integers) it equals, so `0i` can be an int
    /// argument.
    pub(crate) fn simplify_complex(&mut self) {
        let (re, im) = self.complex128;
        self.is_float = im == 0.0;
        if self.is_float {
            self.float64 = re;
            self.is_int = (re as i64) as f64 == re;
            if self.is_int {
                self.int64 = re as i64;
            }
            self.is_uint = (re as u64) as f64 == re;
            if self.is_uint {
                self.uint64 = re as u64;
            }
        }
    }
}

// Nested blocks and parenthesized pipelines would be dropped by as many
// nested calls, deeper than a thread's stack allows (a tree may be dropped
// on any thread: the parse cache is per thread). These drops take the
// nested nodes apart on the heap instead.

impl Drop for ListNode {
    fn drop(&mut self) {
        let mut pending = std::mem::take(&mut self.nodes);
        while let Some(node) = pending.pop() {
            match node {
                Node::If(mut b) | Node::Range(mut b) | Node::With(mut b) => {
                    pending.append(&mut b.list.nodes);
                    if let Some(e) = &mut b.else_list {
                        pending.append(&mut e.nodes);
                    }
                }
                Node::List(mut l) => pending.append(&mut l.nodes),
                _ => {}
            }
        }
    }
}

impl Drop for Pipe {
    fn drop(&mut self) {
        let mut pending = std::mem::take(&mut self.cmds);
        while let Some(mut cmd) = pending.pop() {
            for arg in cmd.args.drain(..) {
                let arg = match arg {
                    Arg::Chain { node, .. } => *node,
                    other => other,
                };
                if let Arg::Pipe(mut p) = arg {
                    pending.append(&mut p.cmds);
                }
            }
        }
    }
}

/// A node that errors can point at.
#[derive(Clone, Copy)]
pub enum At<'a> {
    Node(&'a Node),
    Pipe(&'a Pipe),
    Command(&'a Command),
    Arg(&'a Arg),
    Variable(&'a Variable),
    List(&'a ListNode),
}

impl At<'_> {
    pub fn pos(&self) -> Pos {
        match self {
            At::Node(n) => n.pos(),
            At::Pipe(p) => p.pos,
            At::Command(c) => c.pos,
            At::Arg(a) => a.pos(),
            At::Variable(v) => v.pos,
            At::List(l) => l.pos,
        }
    }
}

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            At::Node(n) => n.fmt(f),
            At::Pipe(p) => p.fmt(f),
            At::Command(c) => c.fmt(f),
            At::Arg(a) => a.fmt(f),
            At::Variable(v) => v.fmt(f),
            At::List(l) => l.fmt(f),
        }
    }
}

impl Node {
    pub fn pos(&self) -> Pos {
        match self {
            Node::Text { pos, .. }
            | Node::Action { pos, .. }
            | Node::Template { pos, .. }
            | Node::Break { pos }
            | Node::Continue { pos }
            | Node::Comment { pos, .. } => *pos,
            Node::If(b) | Node::Range(b) | Node::With(b) => b.pos,
            Node::List(l) => l.pos,
        }
    }
}

impl Arg {
    pub fn pos(&self) -> Pos {
        match self {
            Arg::Bool { pos, .. }
            | Arg::Dot { pos }
            | Arg::Nil { pos }
            | Arg::Field { pos, .. }
            | Arg::Identifier { pos, .. }
            | Arg::String { pos, .. }
            | Arg::Chain { pos, .. } => *pos,
            Arg::Variable(v) => v.pos,
            Arg::Number(n) => n.pos,
            Arg::Pipe(p) => p.pos,
        }
    }
}

/// Go's `IsEmptyTree`: only whitespace text and comments.
pub fn is_empty_tree(list: &ListNode) -> bool {
    list.nodes.iter().all(|n| match n {
        Node::Text { text, .. } => text.trim_matches(|c: char| c.is_whitespace()).is_empty(),
        Node::Comment { .. } => true,
        Node::List(l) => is_empty_tree(l),
        _ => false,
    })
}

impl fmt::Display for ListNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for n in &self.nodes {
            n.fmt(f)?;
        }
        Ok(())
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Text { text, .. } => f.write_str(text),
            Node::Action { pipe, .. } => write!(f, "{{{{{pipe}}}}}"),
            Node::If(b) => b.write(f, "if"),
            Node::Range(b) => b.write(f, "range"),
            Node::With(b) => b.write(f, "with"),
            Node::Template { name, pipe, .. } => {
                write!(f, "{{{{template {}", crate::gofmt::quote(name))?;
                if let Some(p) = pipe {
                    write!(f, " {p}")?;
                }
                f.write_str("}}")
            }
            Node::Break { .. } => f.write_str("{{break}}"),
            Node::Continue { .. } => f.write_str("{{continue}}"),
            Node::Comment { text, .. } => write!(f, "{{{{{text}}}}}"),
            Node::List(l) => l.fmt(f),
        }
    }
}

impl Branch {
    fn write(&self, f: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
        write!(f, "{{{{{name} {}}}}}{}", self.pipe, self.list)?;
        if let Some(e) = &self.else_list {
            write!(f, "{{{{else}}}}{e}")?;
        }
        f.write_str("{{end}}")
    }
}

impl fmt::Display for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.decl.is_empty() {
            for (i, v) in self.decl.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                v.fmt(f)?;
            }
            f.write_str(" := ")?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            c.fmt(f)?;
        }
        Ok(())
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            if let Arg::Pipe(p) = a {
                write!(f, "({p})")?;
            } else {
                a.fmt(f)?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Variable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.ident.join("."))
    }
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Bool { value, .. } => f.write_str(if *value { "true" } else { "false" }),
            Arg::Dot { .. } => f.write_str("."),
            Arg::Nil { .. } => f.write_str("nil"),
            Arg::Field { ident, .. } => {
                for id in ident {
                    write!(f, ".{id}")?;
                }
                Ok(())
            }
            Arg::Variable(v) => v.fmt(f),
            Arg::Identifier { name, .. } => f.write_str(name),
            Arg::Number(n) => f.write_str(&n.text),
            Arg::String { quoted, .. } => f.write_str(quoted),
            Arg::Pipe(p) => p.fmt(f),
            Arg::Chain { node, fields, .. } => {
                if let Arg::Pipe(p) = &**node {
                    write!(f, "({p})")?;
                } else {
                    node.fmt(f)?;
                }
                for field in fields {
                    write!(f, ".{field}")?;
                }
                Ok(())
            }
        }
    }
}
