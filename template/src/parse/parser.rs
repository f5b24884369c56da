//! The template parser, a port of Go's `text/template/parse/parse.go`.
//!
//! One call parses one text into its top-level tree plus the trees of every
//! `{{define}}`/`{{block}}` in it. Errors are Go's, word for word:
//! `template: <name>:<line>: <message>`.

use std::rc::Rc;

use super::lex::{Item, ItemType, Lexer};
use super::node::*;

/// One parsed template.
#[derive(Debug, Clone)]
pub struct Tree {
    /// The template's name (the file name, or the name in `{{define}}`).
    pub name: String,
    /// The name of the top-level template the text came from (for errors).
    pub parse_name: String,
    pub root: ListNode,
    /// The whole text the tree was parsed from (positions index into it).
    pub text: Rc<str>,
}

impl Tree {
    /// Go's `ErrorContext`: `"name:line:col"` and the node's text.
    pub fn error_context(&self, at: At<'_>) -> (String, String) {
        let pos = at.pos().min(self.text.len());
        let text = &self.text[..pos];
        let byte_num = match text.rfind('\n') {
            None => pos,
            Some(i) => pos - (i + 1),
        };
        let line = 1 + text.matches('\n').count();
        (
            format!("{}:{}:{}", self.parse_name, line, byte_num),
            at.to_string(),
        )
    }
}

/// A parse error, formatted as Go formats it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

const MAX_STACK_DEPTH: usize = 10000;

/// How deeply `if`, `with`, `range` and `block` may nest (an `else if`
/// chain nests too). Go has no limit (its stacks grow) and renders 100000
/// levels; each level costs stack here, in the parser and in the executor,
/// and real templates stay in the tens. Past this, a clear error rather
/// than an exhausted stack.
pub const MAX_BLOCK_DEPTH: usize = 10000;
const MAX_PIPELINE_CMDS: usize = 100000;

type PResult<T> = Result<T, ParseError>;

struct Parser<'a, 'f> {
    /// Name of the tree being built (changes for define/block).
    name: String,
    parse_name: String,
    lex: Lexer<'a>,
    token: [Item; 3],
    peek_count: usize,
    vars: Vec<String>,
    action_line: usize,
    range_depth: usize,
    stack_depth: usize,
    /// `if`/`with`/`range`/`block` bodies open (see [`MAX_BLOCK_DEPTH`]).
    block_depth: usize,
    has_func: &'f dyn Fn(&str) -> bool,
    /// Trees produced so far: defines and blocks, in definition order.
    trees: Vec<(String, ListNode)>,
}

fn eof_item() -> Item {
    Item {
        typ: ItemType::Eof,
        pos: 0,
        val: String::new(),
        line: 0,
    }
}

/// Parses `text` as the template `name`; returns the top-level tree followed
/// by the trees it defines. `has_func` says which function names exist.
pub fn parse(name: &str, text: &str, has_func: &dyn Fn(&str) -> bool) -> PResult<Vec<Tree>> {
    let shared: Rc<str> = Rc::from(text);
    let mut lex = Lexer::new(text);
    lex.break_ok = !has_func("break");
    lex.continue_ok = !has_func("continue");
    let mut p = Parser {
        name: name.to_string(),
        parse_name: name.to_string(),
        lex,
        token: [eof_item(), eof_item(), eof_item()],
        peek_count: 0,
        vars: vec!["$".to_string()],
        action_line: 0,
        range_depth: 0,
        stack_depth: 0,
        block_depth: 0,
        has_func,
        trees: Vec::new(),
    };
    let root = p.parse_top()?;
    p.add(name.to_string(), root)?;
    // The top-level tree goes first; it is appended last by `add`.
    let mut trees: Vec<Tree> = p
        .trees
        .into_iter()
        .map(|(n, root)| Tree {
            name: n,
            parse_name: name.to_string(),
            root,
            text: shared.clone(),
        })
        .collect();
    if let Some(i) = trees.iter().position(|t| t.name == name) {
        let top = trees.remove(i);
        trees.insert(0, top);
    }
    Ok(trees)
}

impl<'a> Parser<'a, '_> {
    fn next(&mut self) -> Item {
        if self.peek_count > 0 {
            self.peek_count -= 1;
        } else {
            self.token[0] = self.lex.next_item();
        }
        self.token[self.peek_count].clone()
    }

    fn backup(&mut self) {
        self.peek_count += 1;
    }

    fn backup2(&mut self, t1: Item) {
        self.token[1] = t1;
        self.peek_count = 2;
    }

    fn backup3(&mut self, t2: Item, t1: Item) {
        self.token[1] = t1;
        self.token[2] = t2;
        self.peek_count = 3;
    }

    fn peek(&mut self) -> Item {
        if self.peek_count > 0 {
            return self.token[self.peek_count - 1].clone();
        }
        self.peek_count = 1;
        self.token[0] = self.lex.next_item();
        self.token[0].clone()
    }

    fn next_non_space(&mut self) -> Item {
        loop {
            let t = self.next();
            if t.typ != ItemType::Space {
                return t;
            }
        }
    }

    fn peek_non_space(&mut self) -> Item {
        let t = self.next_non_space();
        self.backup();
        t
    }

    fn errorf(&self, msg: impl std::fmt::Display) -> ParseError {
        ParseError(format!(
            "template: {}:{}: {}",
            self.parse_name, self.token[0].line, msg
        ))
    }

    fn unexpected(&self, token: &Item, context: &str) -> ParseError {
        if token.typ == ItemType::Error {
            let mut extra = String::new();
            if self.action_line != 0 && self.action_line != token.line {
                extra = format!(
                    " in action started at {}:{}",
                    self.parse_name, self.action_line
                );
                if token.val.ends_with(" action") {
                    extra = extra[" in action".len()..].to_string();
                }
            }
            return self.errorf(format!("{token}{extra}"));
        }
        self.errorf(format!("unexpected {token} in {context}"))
    }

    fn expect(&mut self, expected: ItemType, context: &str) -> PResult<Item> {
        let t = self.next_non_space();
        if t.typ != expected {
            return Err(self.unexpected(&t, context));
        }
        Ok(t)
    }

    /// Go's `Tree.add` for a finished tree named `name`.
    fn add(&mut self, name: String, root: ListNode) -> PResult<()> {
        if let Some(i) = self.trees.iter().position(|(n, _)| *n == name) {
            if is_empty_tree(&self.trees[i].1) {
                self.trees[i].1 = root;
                return Ok(());
            }
            if !is_empty_tree(&root) {
                return Err(self.errorf(format!(
                    "template: multiple definition of template {}",
                    crate::gofmt::quote(&name)
                )));
            }
            return Ok(());
        }
        self.trees.push((name, root));
        Ok(())
    }

    fn parse_top(&mut self) -> PResult<ListNode> {
        let pos = self.peek().pos;
        let mut root = ListNode {
            pos,
            nodes: Vec::new(),
        };
        while self.peek().typ != ItemType::Eof {
            if self.peek().typ == ItemType::LeftDelim {
                let delim = self.next();
                if self.next_non_space().typ == ItemType::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.backup2(delim);
            }
            let n = self.text_or_action()?;
            match n {
                Parsed::End => return Err(self.errorf("unexpected {{end}}")),
                Parsed::Else(..) => return Err(self.errorf("unexpected {{else}}")),
                Parsed::Node(n) => root.nodes.push(n),
            }
        }
        Ok(root)
    }

    /// `{{define "name"}} ... {{end}}`; the define keyword is past.
    fn parse_definition(&mut self) -> PResult<()> {
        let context = "define clause";
        let name_tok = self.next_non_space();
        if name_tok.typ != ItemType::String && name_tok.typ != ItemType::RawString {
            return Err(self.unexpected(&name_tok, context));
        }
        let name = unquote(&name_tok.val).map_err(|e| self.errorf(e))?;
        self.expect(ItemType::RightDelim, context)?;
        // A definition is parsed with fresh variables, like Go's new Tree.
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
        let saved_name = std::mem::replace(&mut self.name, name.clone());
        let (list, end) = self.item_list()?;
        self.vars = saved_vars;
        self.name = saved_name;
        if !matches!(end, Parsed::End) {
            return Err(self.errorf(format!("unexpected {} in {context}", end.describe())));
        }
        self.add(name, list)
    }

    /// `textOrAction*`, terminated by `{{end}}` or `{{else}}` (returned).
    fn item_list(&mut self) -> PResult<(ListNode, Parsed)> {
        let pos = self.peek_non_space().pos;
        let mut list = ListNode {
            pos,
            nodes: Vec::new(),
        };
        while self.peek_non_space().typ != ItemType::Eof {
            match self.text_or_action()? {
                Parsed::Node(n) => list.nodes.push(n),
                other => return Ok((list, other)),
            }
        }
        Err(self.errorf("unexpected EOF"))
    }

    fn text_or_action(&mut self) -> PResult<Parsed> {
        let token = self.next_non_space();
        match token.typ {
            ItemType::Text => Ok(Parsed::Node(Node::Text {
                pos: token.pos,
                text: token.val,
            })),
            ItemType::LeftDelim => {
                self.action_line = token.line;
                let r = self.action();
                self.action_line = 0;
                r
            }
            ItemType::Comment => Ok(Parsed::Node(Node::Comment {
                pos: token.pos,
                text: token.val,
            })),
            _ => Err(self.unexpected(&token, "input")),
        }
    }

    fn action(&mut self) -> PResult<Parsed> {
        let token = self.next_non_space();
        match token.typ {
            ItemType::Block => return self.block_control().map(Parsed::Node),
            ItemType::Break => return self.break_control(token.pos, "{{break}}", true),
            ItemType::Continue => return self.break_control(token.pos, "{{continue}}", false),
            ItemType::Else => return self.else_control(),
            ItemType::End => return self.end_control(),
            ItemType::If => return self.if_control().map(Parsed::Node),
            ItemType::Range => return self.range_control().map(Parsed::Node),
            ItemType::Template => return self.template_control().map(Parsed::Node),
            ItemType::With => return self.with_control().map(Parsed::Node),
            _ => {}
        }
        self.backup();
        let token = self.peek();
        let pipe = self.pipeline("command", ItemType::RightDelim)?;
        Ok(Parsed::Node(Node::Action {
            pos: token.pos,
            pipe,
        }))
    }

    fn break_control(&mut self, pos: Pos, context: &str, is_break: bool) -> PResult<Parsed> {
        let token = self.next_non_space();
        if token.typ != ItemType::RightDelim {
            return Err(self.unexpected(&token, context));
        }
        if self.range_depth == 0 {
            return Err(self.errorf(format!("{context} outside {{{{range}}}}")));
        }
        Ok(Parsed::Node(if is_break {
            Node::Break { pos }
        } else {
            Node::Continue { pos }
        }))
    }

    fn pipeline(&mut self, context: &str, end: ItemType) -> PResult<Pipe> {
        let token = self.peek_non_space();
        let mut pipe = Pipe {
            pos: token.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        // Are there declarations or assignments?
        'decls: loop {
            let v = self.peek_non_space();
            if v.typ != ItemType::Variable {
                break;
            }
            self.next();
            // Since space is a token, we need 3-token look-ahead here in the
            // worst case: in "$x foo" we need to read "foo" (as opposed to
            // ":=") to know that $x is an argument variable rather than a
            // declaration.
            let token_after_variable = self.peek();
            let next = self.peek_non_space();
            if next.typ == ItemType::Assign || next.typ == ItemType::Declare {
                pipe.is_assign = next.typ == ItemType::Assign;
                self.next_non_space();
                pipe.decl.push(new_variable(v.pos, &v.val));
                self.vars.push(v.val.clone());
            } else if next.typ == ItemType::Char && next.val == "," {
                self.next_non_space();
                pipe.decl.push(new_variable(v.pos, &v.val));
                self.vars.push(v.val.clone());
                if context == "range" && pipe.decl.len() < 2 {
                    match self.peek_non_space().typ {
                        ItemType::Variable | ItemType::RightDelim | ItemType::RightParen => {
                            // Second initialized variable in a range pipeline.
                            continue 'decls;
                        }
                        _ => return Err(self.errorf("range can only initialize variables")),
                    }
                }
                return Err(self.errorf(format!("too many declarations in {context}")));
            } else if token_after_variable.typ == ItemType::Space {
                self.backup3(v, token_after_variable);
            } else {
                self.backup2(v);
            }
            break;
        }
        loop {
            let token = self.next_non_space();
            match token.typ {
                t if t == end => {
                    self.check_pipeline(&pipe, context)?;
                    return Ok(pipe);
                }
                ItemType::Bool
                | ItemType::CharConstant
                | ItemType::Complex
                | ItemType::Dot
                | ItemType::Field
                | ItemType::Identifier
                | ItemType::Number
                | ItemType::Nil
                | ItemType::RawString
                | ItemType::String
                | ItemType::Variable
                | ItemType::LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                    if pipe.cmds.len() > MAX_PIPELINE_CMDS {
                        return Err(self.errorf("pipeline too long"));
                    }
                }
                _ => return Err(self.unexpected(&token, context)),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> PResult<()> {
        if pipe.cmds.is_empty() {
            return Err(self.errorf(format!("missing value for {context}")));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args.first(),
                Some(
                    Arg::Bool { .. }
                        | Arg::Dot { .. }
                        | Arg::Nil { .. }
                        | Arg::Number(_)
                        | Arg::String { .. }
                )
            ) {
                return Err(self.errorf(format!(
                    "non executable command in pipeline stage {}",
                    i + 1
                )));
            }
        }
        Ok(())
    }

    fn parse_control(&mut self, context: &str) -> PResult<Branch> {
        self.enter_block()?;
        let vars_len = self.vars.len();
        let result = self.parse_control_inner(context);
        self.vars.truncate(vars_len);
        self.block_depth -= 1;
        result
    }

    /// Counts one more open block, refusing more than [`MAX_BLOCK_DEPTH`].
    fn enter_block(&mut self) -> PResult<()> {
        if self.block_depth >= MAX_BLOCK_DEPTH {
            return Err(self.errorf(format!(
                "max block depth exceeded (more than {MAX_BLOCK_DEPTH} nested if, with, range and block)"
            )));
        }
        self.block_depth += 1;
        Ok(())
    }

    fn parse_control_inner(&mut self, context: &str) -> PResult<Branch> {
        let pipe = self.pipeline(context, ItemType::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let r = self.item_list();
        if context == "range" {
            self.range_depth -= 1;
        }
        let (list, next) = r?;
        let mut else_list = None;
        match next {
            Parsed::End => {}
            Parsed::Else(else_pos) => {
                // Special case for "else if" and "else with": treat
                //   {{if a}}_{{else if b}}_{{end}}
                // as
                //   {{if a}}_{{else}}{{if b}}_{{end}}{{end}}.
                if context == "if" && self.peek().typ == ItemType::If {
                    self.next();
                    let inner = self.if_control()?;
                    else_list = Some(ListNode {
                        pos: else_pos,
                        nodes: vec![inner],
                    });
                } else if context == "with" && self.peek().typ == ItemType::With {
                    self.next();
                    let inner = self.with_control()?;
                    else_list = Some(ListNode {
                        pos: else_pos,
                        nodes: vec![inner],
                    });
                } else {
                    let (el, next) = self.item_list()?;
                    if !matches!(next, Parsed::End) {
                        return Err(self.errorf(format!("expected end; found {}", next.describe())));
                    }
                    else_list = Some(el);
                }
            }
            // item_list only returns {{end}} or {{else}} as its terminator.
            Parsed::Node(_) => {}
        }
        Ok(Branch {
            pos: pipe.pos,
            pipe,
            list,
            else_list,
        })
    }

    fn if_control(&mut self) -> PResult<Node> {
        Ok(Node::If(self.parse_control("if")?))
    }

    fn range_control(&mut self) -> PResult<Node> {
        Ok(Node::Range(self.parse_control("range")?))
    }

    fn with_control(&mut self) -> PResult<Node> {
        Ok(Node::With(self.parse_control("with")?))
    }

    fn end_control(&mut self) -> PResult<Parsed> {
        self.expect(ItemType::RightDelim, "end")?;
        Ok(Parsed::End)
    }

    fn else_control(&mut self) -> PResult<Parsed> {
        let peek = self.peek_non_space();
        // "{{else if ..." and "{{else with ..." are treated as
        // "{{else}}{{if ..." and "{{else}}{{with ...".
        if peek.typ == ItemType::If || peek.typ == ItemType::With {
            return Ok(Parsed::Else(peek.pos));
        }
        let t = self.expect(ItemType::RightDelim, "else")?;
        Ok(Parsed::Else(t.pos))
    }

    fn block_control(&mut self) -> PResult<Node> {
        let context = "block clause";
        let token = self.next_non_space();
        let name = self.parse_template_name(&token, context)?;
        let pipe = self.pipeline(context, ItemType::RightDelim)?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
        let saved_name = std::mem::replace(&mut self.name, name.clone());
        let saved_range = std::mem::replace(&mut self.range_depth, 0);
        self.enter_block()?;
        let r = self.item_list();
        self.block_depth -= 1;
        self.vars = saved_vars;
        self.name = saved_name;
        self.range_depth = saved_range;
        let (list, end) = r?;
        if !matches!(end, Parsed::End) {
            return Err(self.errorf(format!("unexpected {} in {context}", end.describe())));
        }
        self.add(name.clone(), list)?;
        Ok(Node::Template {
            pos: token.pos,
            name,
            pipe: Some(pipe),
        })
    }

    fn template_control(&mut self) -> PResult<Node> {
        let context = "template clause";
        let token = self.next_non_space();
        let name = self.parse_template_name(&token, context)?;
        let mut pipe = None;
        if self.next_non_space().typ != ItemType::RightDelim {
            self.backup();
            pipe = Some(self.pipeline(context, ItemType::RightDelim)?);
        }
        Ok(Node::Template {
            pos: token.pos,
            name,
            pipe,
        })
    }

    fn parse_template_name(&self, token: &Item, context: &str) -> PResult<String> {
        match token.typ {
            ItemType::String | ItemType::RawString => {
                unquote(&token.val).map_err(|e| self.errorf(e))
            }
            _ => Err(self.unexpected(token, context)),
        }
    }

    fn command(&mut self) -> PResult<Command> {
        let pos = self.peek_non_space().pos;
        let mut cmd = Command {
            pos,
            args: Vec::new(),
        };
        loop {
            self.peek_non_space();
            if let Some(operand) = self.operand()? {
                cmd.args.push(operand);
            }
            let token = self.next();
            match token.typ {
                ItemType::Space => continue,
                ItemType::RightDelim | ItemType::RightParen => self.backup(),
                ItemType::Pipe => {}
                _ => return Err(self.unexpected(&token, "operand")),
            }
            break;
        }
        if cmd.args.is_empty() {
            return Err(self.errorf("empty command"));
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().typ == ItemType::Field {
            let chain_pos = self.peek().pos;
            let mut fields = Vec::new();
            while self.peek().typ == ItemType::Field {
                let f = self.next().val;
                fields.push(f[1..].to_string());
            }
            // Compatibility with Go's API: fields and variables absorb the chain.
            return Ok(Some(match node {
                Arg::Field { ident, .. } => {
                    let mut ident = ident;
                    ident.extend(fields);
                    Arg::Field {
                        pos: chain_pos,
                        ident,
                    }
                }
                Arg::Variable(v) => {
                    let mut ident = v.ident;
                    ident.extend(fields);
                    Arg::Variable(Variable {
                        pos: chain_pos,
                        ident,
                    })
                }
                Arg::Bool { .. }
                | Arg::String { .. }
                | Arg::Number(_)
                | Arg::Nil { .. }
                | Arg::Dot { .. } => {
                    return Err(self.errorf(format!(
                        "unexpected . after term {}",
                        crate::gofmt::quote(&node.to_string())
                    )));
                }
                other => Arg::Chain {
                    pos: chain_pos,
                    node: Box::new(other),
                    fields,
                },
            }));
        }
        Ok(Some(node))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let token = self.next_non_space();
        let arg = match token.typ {
            ItemType::Identifier => {
                if !(self.has_func)(&token.val) {
                    return Err(self.errorf(format!(
                        "function {} not defined",
                        crate::gofmt::quote(&token.val)
                    )));
                }
                Arg::Identifier {
                    pos: token.pos,
                    name: token.val,
                }
            }
            ItemType::Dot => Arg::Dot { pos: token.pos },
            ItemType::Nil => Arg::Nil { pos: token.pos },
            ItemType::Variable => {
                let v = new_variable(token.pos, &token.val);
                if !self.vars.iter().any(|n| *n == v.ident[0]) {
                    return Err(self.errorf(format!(
                        "undefined variable {}",
                        crate::gofmt::quote(&v.ident[0])
                    )));
                }
                Arg::Variable(v)
            }
            ItemType::Field => Arg::Field {
                pos: token.pos,
                ident: token.val[1..].split('.').map(String::from).collect(),
            },
            ItemType::Bool => Arg::Bool {
                pos: token.pos,
                value: token.val == "true",
            },
            ItemType::CharConstant | ItemType::Complex | ItemType::Number => Arg::Number(
                new_number(token.pos, &token.val, token.typ).map_err(|e| self.errorf(e))?,
            ),
            ItemType::LeftParen => {
                if self.stack_depth >= MAX_STACK_DEPTH {
                    return Err(self.errorf("max expression depth exceeded"));
                }
                self.stack_depth += 1;
                let r = self.pipeline("parenthesized pipeline", ItemType::RightParen);
                self.stack_depth -= 1;
                Arg::Pipe(Box::new(r?))
            }
            ItemType::String | ItemType::RawString => {
                let text = unquote(&token.val).map_err(|e| self.errorf(e))?;
                Arg::String {
                    pos: token.pos,
                    quoted: token.val,
                    text,
                }
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        };
        Ok(Some(arg))
    }
}

enum Parsed {
    Node(Node),
    End,
    Else(Pos),
}

impl Parsed {
    fn describe(&self) -> String {
        match self {
            Parsed::Node(n) => n.to_string(),
            Parsed::End => "{{end}}".into(),
            Parsed::Else(_) => "{{else}}".into(),
        }
    }
}

fn new_variable(pos: Pos, ident: &str) -> Variable {
    Variable {
        pos,
        ident: ident.split('.').map(String::from).collect(),
    }
}

/// Go's `parse.newNumber`.
fn new_number(pos: Pos, text: &str, typ: ItemType) -> Result<Number, String> {
    let mut n = Number {
        pos,
        is_int: false,
        is_uint: false,
        is_float: false,
        is_complex: false,
        int64: 0,
        uint64: 0,
        float64: 0.0,
        complex128: (0.0, 0.0),
        text: text.to_string(),
    };
    match typ {
        ItemType::CharConstant => {
            let (c, tail) =
                unquote_char(&text[1..], '\'').map_err(|_| "invalid syntax".to_string())?;
            if tail != "'" {
                return Err(format!("malformed character constant: {text}"));
            }
            n.int64 = c as i64;
            n.is_int = true;
            n.uint64 = c as u64;
            n.is_uint = true;
            n.float64 = c as u32 as f64;
            n.is_float = true;
            return Ok(n);
        }
        ItemType::Complex => {
            n.complex128 = scan_complex(text)?;
            n.is_complex = true;
            n.simplify_complex();
            return Ok(n);
        }
        _ => {}
    }
    // Imaginary constants can only be complex unless they are zero.
    if let Some(imag) = text.strip_suffix('i')
        && let Some(f) = parse_go_float(imag)
    {
        n.complex128 = (0.0, f);
        n.is_complex = true;
        n.simplify_complex();
        return Ok(n);
    }
    let u = parse_go_uint(text);
    if let Some(u) = u {
        n.is_uint = true;
        n.uint64 = u;
    }
    if let Some(i) = parse_go_int(text) {
        n.is_int = true;
        n.int64 = i;
        if i == 0 {
            n.is_uint = true; // in case of -0.
            n.uint64 = u.unwrap_or(0);
        }
    }
    if n.is_int {
        n.is_float = true;
        n.float64 = n.int64 as f64;
    } else if n.is_uint {
        n.is_float = true;
        n.float64 = n.uint64 as f64;
    } else if let Some(f) = parse_go_float(text) {
        // If we parsed it as a float but it looks like an integer, it's a
        // huge number too large to fit in an int. Reject it.
        if !text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Err(format!("integer overflow: {}", crate::gofmt::quote(text)));
        }
        n.is_float = true;
        n.float64 = f;
        if !n.is_int && (f as i64) as f64 == f {
            n.is_int = true;
            n.int64 = f as i64;
        }
        if !n.is_uint && f >= 0.0 && (f as u64) as f64 == f {
            n.is_uint = true;
            n.uint64 = f as u64;
        }
    }
    if !n.is_int && !n.is_uint && !n.is_float {
        return Err(format!(
            "illegal number syntax: {}",
            crate::gofmt::quote(text)
        ));
    }
    Ok(n)
}

/// Go's underscore rules for number literals (`strconv.underscoreOK`).
fn underscore_ok(s: &str) -> bool {
    // saw tracks the last character: '^' start, '0' digit or prefix, '_' underscore, '!' other.
    let b = s.as_bytes();
    let mut saw = b'^';
    let mut i = 0;
    if !b.is_empty() && (b[0] == b'-' || b[0] == b'+') {
        i = 1;
    }
    let mut hex = false;
    if b.len() - i >= 2 && b[i] == b'0' && matches!(b[i + 1] | 0x20, b'b' | b'o' | b'x') {
        hex = (b[i + 1] | 0x20) == b'x';
        i += 2;
        saw = b'0';
    }
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() || (hex && (c | 0x20).is_ascii_hexdigit()) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// `strconv.ParseUint(s, 0, 64)`.
pub fn parse_go_uint(s: &str) -> Option<u64> {
    if s.is_empty() || s.starts_with(['+', '-']) {
        return None;
    }
    let (digits, radix) = split_radix(s);
    if digits.contains('_') && !underscore_ok(s) {
        return None;
    }
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    if clean.is_empty() {
        return if s == "0" { Some(0) } else { None };
    }
    // Digits only: Rust's from_str_radix takes a leading '+', which Go
    // refuses after the prefix ("0+1101", "0x+1").
    if !clean.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(&clean, radix).ok()
}

fn split_radix(s: &str) -> (&str, u32) {
    let b = s.as_bytes();
    if b.len() >= 2 && b[0] == b'0' {
        match b[1] {
            b'x' | b'X' => return (&s[2..], 16),
            b'o' | b'O' => return (&s[2..], 8),
            b'b' | b'B' => return (&s[2..], 2),
            _ => return (&s[1..], 8),
        }
    }
    (s, 10)
}

/// `strconv.ParseInt(s, 0, 64)`.
pub fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let u = parse_go_uint(rest)?;
    if neg {
        if u <= i64::MAX as u64 + 1 {
            Some((u as i64).wrapping_neg())
        } else {
            None
        }
    } else {
        i64::try_from(u).ok()
    }
}

/// `strconv.ParseFloat(s, 64)` for decimal literals (and hex mantissas with `p` exponents).
pub fn parse_go_float(s: &str) -> Option<f64> {
    if s.contains('_') && !underscore_ok(s) {
        return None;
    }
    let clean: String = s.chars().filter(|c| *c != '_').collect();
    let (neg, body) = match clean.as_bytes().first() {
        Some(b'-') => (true, &clean[1..]),
        Some(b'+') => (false, &clean[1..]),
        _ => (false, &clean[..]),
    };
    let lower = body.to_ascii_lowercase();
    let v = if lower == "inf" || lower == "infinity" {
        f64::INFINITY
    } else if lower == "nan" {
        f64::NAN
    } else if let Some(hex) = lower.strip_prefix("0x") {
        let (mant, exp) = hex.split_once('p')?;
        let (ip, fp) = mant.split_once('.').unwrap_or((mant, ""));
        if ip.is_empty() && fp.is_empty() {
            return None;
        }
        hex_float(ip, fp, exp.parse().ok()?)?
    } else {
        if body.is_empty()
            || !body
                .bytes()
                .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
        {
            return None;
        }
        body.parse::<f64>().ok()?
    };
    if v.is_infinite() && !lower.starts_with("inf") {
        // Out of range: Go returns ±Inf with ErrRange, which every caller
        // (newNumber, YAML's resolver, cast) treats as a failure.
        return None;
    }
    Some(if neg { -v } else { v })
}

/// A hex float `0x<ip>.<fp>p<exp>`, correctly rounded (half to even) like
/// strconv's `atofHex`; `None` when it overflows.
fn hex_float(ip: &str, fp: &str, exp: i64) -> Option<f64> {
    // mantissa * 2^e, the mantissa kept to 64 bits plus a sticky bit.
    let (mut m, mut e, mut sticky) = (0u64, exp, false);
    for (c, frac) in ip
        .chars()
        .map(|c| (c, false))
        .chain(fp.chars().map(|c| (c, true)))
    {
        let d = u64::from(c.to_digit(16)?);
        if m >> 60 == 0 {
            m = m * 16 + d;
            if frac {
                e -= 4;
            }
        } else {
            sticky |= d != 0;
            if !frac {
                e += 4;
            }
        }
    }
    if m == 0 {
        return Some(0.0);
    }
    let lz = m.leading_zeros();
    m <<= lz;
    e -= i64::from(lz);
    // The value is 1.f * 2^top; keep 53 bits, fewer for subnormals.
    let top = e + 63;
    if top > 1023 {
        return None;
    }
    let shift = 11 + (-1022 - top).max(0);
    if shift > 64 {
        return Some(0.0);
    }
    let wide = u128::from(m);
    let mut kept = wide >> shift;
    let rem = wide & ((1u128 << shift) - 1);
    let half = 1u128 << (shift - 1);
    if rem > half || (rem == half && (sticky || kept & 1 == 1)) {
        kept += 1;
    }
    let mut v = kept as f64;
    let mut n = e + shift;
    // Scale in exact steps (each power of two is representable).
    while n > 1000 {
        v *= 2f64.powi(1000);
        n -= 1000;
    }
    while n < -1000 {
        v *= 2f64.powi(-1000);
        n += 1000;
    }
    v *= 2f64.powi(n as i32);
    v.is_finite().then_some(v)
}

/// Go's `fmt.Sscan` into a `complex128`, which `parse.newNumber` uses for a
/// `1+2i` literal: a float token, a sign, a float token, `i`, optionally in
/// parentheses, each part converted by `strconv.ParseFloat`.
fn scan_complex(text: &str) -> Result<(f64, f64), String> {
    const ERR_COMPLEX: &str = "syntax error scanning complex number";
    let b = text.as_bytes();
    let mut i = 0;
    let accept = |i: &mut usize, set: &str| -> bool {
        if *i < b.len() && set.as_bytes().contains(&b[*i]) {
            *i += 1;
            true
        } else {
            false
        }
    };
    let parens = accept(&mut i, "(");
    let real = float_token(b, &mut i);
    let sign_at = i;
    if !accept(&mut i, "+-") {
        return Err(ERR_COMPLEX.into());
    }
    let imag = float_token(b, &mut i);
    if !accept(&mut i, "i") || (parens && !accept(&mut i, ")")) {
        return Err(ERR_COMPLEX.into());
    }
    let imag = format!("{}{}", &text[sign_at..sign_at + 1], &text[imag]);
    Ok((convert_float(&text[real])?, convert_float(&imag)?))
}

/// fmt's `floatToken`: an optional sign, then decimal or `0x` hex digits
/// (underscores allowed), a fraction, and an exponent (`e`/`p`, or `p` for hex).
fn float_token(b: &[u8], i: &mut usize) -> std::ops::Range<usize> {
    let start = *i;
    let accept = |i: &mut usize, set: &[u8]| -> bool {
        if *i < b.len() && set.contains(&b[*i]) {
            *i += 1;
            true
        } else {
            false
        }
    };
    if accept(i, b"nN") && accept(i, b"aA") && accept(i, b"nN") {
        return start..*i;
    }
    accept(i, b"+-");
    if accept(i, b"iI") && accept(i, b"nN") && accept(i, b"fF") {
        return start..*i;
    }
    let mut digits: &[u8] = b"0123456789_";
    let mut exp: &[u8] = b"eEpP";
    if accept(i, b"0") && accept(i, b"xX") {
        digits = b"0123456789aAbBcCdDeEfF_";
        exp = b"pP";
    }
    while accept(i, digits) {}
    if accept(i, b".") {
        while accept(i, digits) {}
    }
    if accept(i, exp) {
        accept(i, b"+-");
        while accept(i, b"0123456789_") {}
    }
    start..*i
}

/// fmt's `convertFloat`: `strconv.ParseFloat`. (Its own decimal-mantissa,
/// binary-exponent form `1.5p3` cannot come from the lexer, which reads `p`
/// only after hex digits.)
fn convert_float(s: &str) -> Result<f64, String> {
    parse_go_float(s).ok_or_else(|| {
        format!(
            "strconv.ParseFloat: parsing {}: invalid syntax",
            crate::gofmt::quote(s)
        )
    })
}

/// `strconv.Unquote` for Go string and raw string literals.
pub fn unquote(s: &str) -> Result<String, String> {
    let err = || "invalid syntax".to_string();
    if s.len() < 2 {
        return Err(err());
    }
    let q = s.as_bytes()[0];
    if q != s.as_bytes()[s.len() - 1] {
        return Err(err());
    }
    let body = &s[1..s.len() - 1];
    match q {
        b'`' => {
            if body.contains('`') {
                return Err(err());
            }
            // Carriage returns are discarded from raw strings.
            Ok(body.replace('\r', ""))
        }
        b'"' => {
            // A string is bytes: `\xc3` and `\303` are one byte each, which
            // may make a character with the next (`"\xc3\xa9"` is "é") or
            // stay a stray byte (`value::gostr`).
            let mut out = Vec::with_capacity(body.len());
            let mut rest = body;
            while !rest.is_empty() {
                if rest.starts_with('"') || rest.starts_with('\n') {
                    return Err(err());
                }
                let byte_escape = matches!(rest.as_bytes(), [b'\\', b'x' | b'0'..=b'7', ..]);
                let (c, tail) = unquote_char(rest, '"').map_err(|_| err())?;
                match u8::try_from(u32::from(c)) {
                    Ok(b) if byte_escape => out.push(b),
                    _ => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
                }
                rest = tail;
            }
            Ok(crate::value::gostr::from_bytes(&out))
        }
        _ => Err(err()),
    }
}

/// `strconv.UnquoteChar`: decodes the first character or escape of `s`.
pub(crate) fn unquote_char(s: &str, quote: char) -> Result<(char, &str), ()> {
    let mut chars = s.chars();
    let c = chars.next().ok_or(())?;
    if c == quote && (quote == '\'' || quote == '"') {
        return Err(());
    }
    if c != '\\' {
        return Ok((c, chars.as_str()));
    }
    let e = chars.next().ok_or(())?;
    let rest = chars.as_str();
    let simple = match e {
        'a' => Some('\x07'),
        'b' => Some('\x08'),
        'f' => Some('\x0c'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\x0b'),
        '\\' => Some('\\'),
        '\'' | '"' => {
            if e != quote {
                return Err(());
            }
            Some(e)
        }
        _ => None,
    };
    if let Some(c) = simple {
        return Ok((c, rest));
    }
    match e {
        'x' | 'u' | 'U' => {
            let n = match e {
                'x' => 2,
                'u' => 4,
                _ => 8,
            };
            if rest.len() < n || !rest.is_char_boundary(n) {
                return Err(());
            }
            let v = u32::from_str_radix(&rest[..n], 16).map_err(|_| ())?;
            if e == 'x' {
                // A byte; bytes >= 0x80 are not valid UTF-8 on their own and
                // are approximated by the replacement character.
                let c = if v < 0x80 {
                    char::from(v as u8)
                } else {
                    char::from_u32(v).unwrap_or('\u{FFFD}')
                };
                return Ok((c, &rest[n..]));
            }
            let c = char::from_u32(v).ok_or(())?;
            Ok((c, &rest[n..]))
        }
        '0'..='7' => {
            if rest.len() < 2 || !rest.is_char_boundary(2) {
                return Err(());
            }
            let digits = format!("{e}{}", &rest[..2]);
            let v = u32::from_str_radix(&digits, 8).map_err(|_| ())?;
            if v > 255 {
                return Err(());
            }
            Ok((char::from_u32(v).unwrap_or('\u{FFFD}'), &rest[2..]))
        }
        _ => Err(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<Vec<Tree>, ParseError> {
        parse("t", text, &|name| {
            matches!(name, "printf" | "include" | "len")
        })
    }

    #[test]
    fn round_trips_through_display() {
        let trees =
            p("a{{if .x}}b{{else if .y}}c{{else}}d{{end}}{{range $i, $v := .l}}{{$v}}{{end}}")
                .unwrap();
        assert_eq!(
            trees[0].root.to_string(),
            "a{{if .x}}b{{else}}{{if .y}}c{{else}}d{{end}}{{end}}{{range $i, $v := .l}}{{$v}}{{end}}"
        );
    }

    #[test]
    fn defines_become_trees() {
        let trees = p(r#"{{define "x"}}X{{end}}top{{block "b" .}}B{{end}}"#).unwrap();
        let names: Vec<_> = trees.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["t", "x", "b"]);
    }

    #[test]
    fn errors_match_go() {
        assert_eq!(
            p("{{nope}}").unwrap_err().0,
            "template: t:1: function \"nope\" not defined"
        );
        assert_eq!(
            p("{{if}}").unwrap_err().0,
            "template: t:1: missing value for if"
        );
        assert_eq!(
            p("{{end}}").unwrap_err().0,
            "template: t:1: unexpected {{end}}"
        );
        assert_eq!(p("\n{{.x").unwrap_err().0, "template: t:2: unclosed action");
        assert_eq!(
            p("{{$x}}").unwrap_err().0,
            "template: t:1: undefined variable \"$x\""
        );
        assert_eq!(
            p("{{break}}").unwrap_err().0,
            "template: t:1: {{break}} outside {{range}}"
        );
        assert_eq!(
            p("{{if .x}}").unwrap_err().0,
            "template: t:1: unexpected EOF"
        );
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_go_int("0x1F"), Some(31));
        assert_eq!(parse_go_int("0755"), Some(493));
        assert_eq!(parse_go_int("1_000"), Some(1000));
        assert_eq!(parse_go_int("1__0"), None);
        assert_eq!(parse_go_float("1e3"), Some(1000.0));
        assert_eq!(parse_go_float("1e400"), None, "out of range");
    }

    #[test]
    fn hex_floats_round_half_to_even_like_strconv() {
        let sub = |n: u64| Some(f64::from_bits(n));
        assert_eq!(parse_go_float("0x1p-1074"), sub(1));
        assert_eq!(parse_go_float("0x1p-1075"), Some(0.0));
        assert_eq!(parse_go_float("0x1.8p-1074"), sub(2));
        assert_eq!(
            parse_go_float("0x1fffffffffffffp0"),
            Some(9007199254740991.0)
        );
        assert_eq!(parse_go_float("0x1.fffffffffffffp1023"), Some(f64::MAX));
        assert_eq!(parse_go_float("0x1p1024"), None);
        assert_eq!(parse_go_float("0x.8p1"), Some(1.0));
    }

    #[test]
    fn complex_literals_scan_like_fmt() {
        assert_eq!(scan_complex("1+2i"), Ok((1.0, 2.0)));
        assert_eq!(scan_complex("-1.5e1-0x1p-1i"), Ok((-15.0, -0.5)));
        assert_eq!(
            scan_complex("1i+2i"),
            Err("syntax error scanning complex number".into())
        );
    }
}
