//! kubectl's JSONPath templates, as client-go's `util/jsonpath` parses and
//! runs them (what Helm's `show values --jsonpath` prints with): text with
//! `{...}` actions — fields (`.a.b`, `['a.b']`), `..` recursive descent,
//! `*`, indexes and slices (`[0]`, `[-1:]`, `[::2]`), unions (`[0,2]`),
//! filters (`[?(@.port>=80)]`), `range`/`end`, quoted text, numbers and
//! booleans. Values are Go's: a map's `null` is a nil interface (it prints
//! `null`), comparisons follow Go's template kinds (a float from YAML and
//! an integer literal do not compare), strings are iterated byte by byte.
//! Where Go iterates a map in random order (`*`, `..`) this takes the keys
//! in order, which is one of Go's orders.

use crate::Value;
use crate::gofmt;

/// A parsed template.
#[derive(Debug, Clone)]
pub struct JsonPath {
    root: Vec<Node>,
}

#[derive(Debug, Clone)]
enum Node {
    List(Vec<Node>),
    Text(String),
    Field(String),
    Identifier(String),
    Array([Param; 3]),
    Filter {
        left: Vec<Node>,
        right: Vec<Node>,
        op: String,
    },
    Int(i64),
    Float(f64),
    Bool(bool),
    Wildcard,
    Recursive,
    Union(Vec<Vec<Node>>),
}

#[derive(Debug, Clone, Copy, Default)]
struct Param {
    value: i64,
    known: bool,
    derived: bool,
}

impl JsonPath {
    /// Parse a template; the error is client-go's (`unclosed action`, …).
    pub fn parse(text: &str) -> Result<JsonPath, String> {
        Ok(JsonPath {
            root: Parser::new(text).parse()?,
        })
    }

    /// Run the template over `data`, appending what it prints to `out`.
    /// An error while finding the results prints nothing; one while
    /// printing them (a value JSON cannot encode) leaves what came before.
    pub fn execute(&self, out: &mut String, data: Value) -> Result<(), String> {
        let mut exec = Exec::default();
        let groups = exec.find_results(&self.root, 0, data)?;
        for group in groups {
            print_results(out, &group)?;
        }
        Ok(())
    }
}

const EOF: Option<char> = None;

struct Parser<'a> {
    input: &'a str,
    pos: usize,
    start: usize,
    width: usize,
}

impl<'a> Parser<'a> {
    fn new(input: &'a str) -> Parser<'a> {
        Parser {
            input,
            pos: 0,
            start: 0,
            width: 0,
        }
    }

    fn consume_text(&mut self) -> &'a str {
        let value = &self.input[self.start..self.pos];
        self.start = self.pos;
        value
    }

    fn next(&mut self) -> Option<char> {
        match self.input[self.pos..].chars().next() {
            None => {
                self.width = 0;
                EOF
            }
            Some(c) => {
                self.width = c.len_utf8();
                self.pos += self.width;
                Some(c)
            }
        }
    }

    fn peek(&mut self) -> Option<char> {
        let r = self.next();
        self.backup();
        r
    }

    fn backup(&mut self) {
        self.pos -= self.width;
    }

    fn rest(&self) -> &'a str {
        &self.input[self.pos..]
    }

    /// The byte two before the position (Go's `p.input[p.pos-2]`).
    fn byte_before_last(&self) -> Option<u8> {
        self.pos.checked_sub(2).map(|i| self.input.as_bytes()[i])
    }

    /// parseText and the actions it leads to, to the end of the input.
    fn parse(mut self) -> Result<Vec<Node>, String> {
        let mut root = Vec::new();
        loop {
            loop {
                if self.rest().starts_with('{') {
                    if self.pos > self.start {
                        root.push(Node::Text(self.consume_text().to_string()));
                    }
                    break;
                }
                if self.next() == EOF {
                    if self.pos > self.start {
                        root.push(Node::Text(self.consume_text().to_string()));
                    }
                    return Ok(root);
                }
            }
            self.pos += 1;
            self.consume_text();
            let action = self.parse_inside_action()?;
            root.push(Node::List(action));
        }
    }

    /// parseInsideAction, through the action's closing `}`.
    fn parse_inside_action(&mut self) -> Result<Vec<Node>, String> {
        let mut cur = Vec::new();
        loop {
            if self.rest().starts_with('}') {
                self.pos += 1;
                self.consume_text();
                return Ok(cur);
            }
            if self.rest().starts_with("[?(") {
                self.parse_filter(&mut cur)?;
                continue;
            }
            if self.rest().starts_with("..") {
                self.parse_recursive(&mut cur)?;
                continue;
            }
            match self.next() {
                None | Some('\r' | '\n') => return Err("unclosed action".into()),
                Some(' ' | '@' | '$') => {
                    self.consume_text();
                }
                Some('[') => self.parse_array(&mut cur)?,
                Some(q @ ('"' | '\'')) => self.parse_quote(&mut cur, q)?,
                Some('.') => self.parse_field(&mut cur),
                Some(c) if c == '+' || c == '-' || crate::parse::is_go_digit(c) => {
                    self.backup();
                    self.parse_number(&mut cur)?;
                }
                Some(c) if is_alpha_numeric(c) => {
                    self.backup();
                    self.parse_identifier(&mut cur);
                }
                Some(c) => {
                    return Err(format!(
                        "unrecognized character in action: {}",
                        go_rune_u(c)
                    ));
                }
            }
        }
    }

    fn parse_identifier(&mut self, cur: &mut Vec<Node>) {
        loop {
            let r = self.next();
            if is_terminator(r) {
                self.backup();
                break;
            }
        }
        let value = self.consume_text();
        cur.push(match value {
            "true" => Node::Bool(true),
            "false" => Node::Bool(false),
            other => Node::Identifier(other.to_string()),
        });
    }

    fn parse_recursive(&mut self, cur: &mut Vec<Node>) -> Result<(), String> {
        if matches!(cur.last(), Some(Node::Recursive)) {
            return Err("invalid multiple recursive descent".into());
        }
        self.pos += 2;
        self.consume_text();
        cur.push(Node::Recursive);
        if self.peek().is_some_and(is_alpha_numeric) {
            self.parse_field(cur);
        }
        Ok(())
    }

    fn parse_number(&mut self, cur: &mut Vec<Node>) -> Result<(), String> {
        if matches!(self.peek(), Some('+' | '-')) {
            self.next();
        }
        loop {
            match self.next() {
                Some(c) if c == '.' || crate::parse::is_go_digit(c) => {}
                _ => {
                    self.backup();
                    break;
                }
            }
        }
        let value = self.consume_text();
        if let Ok(i) = value.parse::<i64>() {
            cur.push(Node::Int(i));
        } else if let Some(f) = float(value) {
            cur.push(Node::Float(f));
        } else {
            return Err(format!("cannot parse number {value}"));
        }
        Ok(())
    }

    fn parse_array(&mut self, cur: &mut Vec<Node>) -> Result<(), String> {
        loop {
            match self.next() {
                None | Some('\n') => return Err("unterminated array".into()),
                Some(']') => break,
                _ => {}
            }
        }
        let text = self.consume_text();
        let mut text = &text[1..text.len() - 1];
        if text == "*" {
            text = ":";
        }
        // Union.
        let parts: Vec<&str> = text.split(',').collect();
        if parts.len() > 1 {
            let mut union = Vec::new();
            for part in parts {
                union.push(parse_action(&format!("[{}]", part.trim_matches(' ')))?);
            }
            cur.push(Node::Union(union));
            return Ok(());
        }
        // A dictionary key: ['a.b'] is .a.b, ['a\.b'] the key "a.b".
        if let Some(key) = text
            .strip_prefix('\'')
            .and_then(|t| t.strip_suffix('\''))
            .filter(|k| !k.contains('\''))
        {
            cur.extend(parse_action(&format!(".{key}"))?);
            return Ok(());
        }
        let groups = slice_groups(text).ok_or_else(|| format!("invalid array index {text}"))?;
        let mut params = [Param::default(); 3];
        for i in 0..3 {
            let mut v = groups[i];
            if !v.is_empty() {
                if i > 0 {
                    v = &v[1..];
                }
                if i > 0 && v.is_empty() {
                    params[i].known = false;
                } else {
                    params[i].known = true;
                    params[i].value = v
                        .parse::<i64>()
                        .map_err(|_| format!("array index {v} is not a number"))?;
                }
            } else if i == 1 {
                params[i].known = true;
                params[i].value = params[0].value.wrapping_add(1);
                params[i].derived = true;
            } else {
                params[i].known = false;
                params[i].value = 0;
            }
        }
        cur.push(Node::Array(params));
        Ok(())
    }

    fn parse_filter(&mut self, cur: &mut Vec<Node>) -> Result<(), String> {
        self.pos += 3;
        self.consume_text();
        let (mut begin, mut end) = (false, false);
        let mut pair = '\0';
        loop {
            let r = self.next();
            match r {
                None | Some('\n') => return Err("unterminated filter".into()),
                Some(q @ ('"' | '\'')) => {
                    if !begin {
                        begin = true;
                        pair = q;
                        continue;
                    }
                    if self.byte_before_last() != Some(b'\\') && q == pair {
                        end = true;
                    }
                }
                Some(')') if begin == end => break,
                _ => {}
            }
        }
        if self.next() != Some(']') {
            return Err("unclosed array expect ]".into());
        }
        let text = self.consume_text();
        let text = &text[..text.len() - 2];
        match split_comparison(text) {
            None => cur.push(Node::Filter {
                left: parse_action(text)?,
                right: Vec::new(),
                op: "exists".into(),
            }),
            Some((left, op, right)) => cur.push(Node::Filter {
                left: parse_action(left)?,
                right: parse_action(right)?,
                op: op.to_string(),
            }),
        }
        Ok(())
    }

    fn parse_quote(&mut self, cur: &mut Vec<Node>, end: char) -> Result<(), String> {
        loop {
            match self.next() {
                None | Some('\n') => return Err("unterminated quoted string".into()),
                Some(c) if c == end && self.byte_before_last() != Some(b'\\') => break,
                _ => {}
            }
        }
        let value = self.consume_text();
        let s = unquote_extend(value).map_err(|e| format!("unquote string {value} error {e}"))?;
        cur.push(Node::Text(s));
        Ok(())
    }

    fn parse_field(&mut self, cur: &mut Vec<Node>) {
        self.consume_text();
        while self.advance() {}
        let value = self.consume_text();
        cur.push(if value == "*" {
            Node::Wildcard
        } else {
            Node::Field(value.replace('\\', ""))
        });
    }

    /// Past the next character unless it is an unescaped terminator.
    fn advance(&mut self) -> bool {
        let r = self.next();
        if r == Some('\\') {
            self.next();
        } else if is_terminator(r) {
            self.backup();
            return false;
        }
        true
    }
}

/// parseAction: the nodes of `{text}`'s first action.
fn parse_action(text: &str) -> Result<Vec<Node>, String> {
    let root = Parser::new(&format!("{{{text}}}")).parse()?;
    Ok(match root.into_iter().next() {
        Some(Node::List(nodes)) => nodes,
        _ => Vec::new(),
    })
}

/// `^(-?[\d]*)(:-?[\d]*)?(:-?[\d]*)?$`'s three groups ("" when absent).
fn slice_groups(text: &str) -> Option<[&str; 3]> {
    fn number(s: &str, from: usize) -> usize {
        let b = s.as_bytes();
        let mut i = from;
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    }
    let mut groups = [""; 3];
    let mut at = number(text, 0);
    groups[0] = &text[..at];
    for g in &mut groups[1..] {
        if text[at..].starts_with(':') {
            let end = number(text, at + 1);
            *g = &text[at..end];
            at = end;
        }
    }
    (at == text.len()).then_some(groups)
}

/// `^([^!<>=]+)([!<>=]+)(.+?)$` on a filter's text.
fn split_comparison(text: &str) -> Option<(&str, &str, &str)> {
    let is_op = |c: char| matches!(c, '!' | '<' | '>' | '=');
    let left_end = text.find(is_op)?;
    if left_end == 0 {
        return None;
    }
    let rest = &text[left_end..];
    let mut op_end = rest.find(|c| !is_op(c)).unwrap_or(rest.len());
    if op_end == rest.len() {
        // The comparand takes at least one character back from the operator.
        if op_end < 2 {
            return None;
        }
        op_end -= 1;
    }
    if rest[op_end..].contains('\n') {
        return None;
    }
    Some((&text[..left_end], &rest[..op_end], &rest[op_end..]))
}

fn float(s: &str) -> Option<f64> {
    crate::parse::parse_go_float(s)
}

/// client-go's isTerminator.
fn is_terminator(r: Option<char>) -> bool {
    match r {
        None => true,
        Some(c) => matches!(
            c,
            ' ' | '\t' | '\r' | '\n' | '.' | ',' | '[' | ']' | '$' | '@' | '{' | '}'
        ),
    }
}

fn is_alpha_numeric(c: char) -> bool {
    c == '_' || c.is_alphabetic() || crate::parse::is_go_digit(c)
}

/// Go's `%#U`: `U+0078 'x'` (the character only when printable).
fn go_rune_u(c: char) -> String {
    if gofmt::is_print(c) {
        format!("U+{:04X} '{c}'", c as u32)
    } else {
        format!("U+{:04X}", c as u32)
    }
}

/// client-go's UnquoteExtend: strconv.Unquote that takes single quotes too.
fn unquote_extend(s: &str) -> Result<String, String> {
    let syntax = || "invalid syntax".to_string();
    let b = s.as_bytes();
    if b.len() < 2 || b[0] != b[b.len() - 1] || !matches!(b[0], b'"' | b'\'') {
        return Err(syntax());
    }
    let quote = b[0] as char;
    let mut body = &s[1..s.len() - 1];
    if !body.contains('\\') && !body.contains(quote) {
        return Ok(body.to_string());
    }
    let mut out = String::new();
    while !body.is_empty() {
        let (c, rest) = crate::parse::unquote_char(body, quote).map_err(|_| syntax())?;
        out.push(c);
        body = rest;
    }
    Ok(out)
}

/// A walk's failure: the error, and the values the failing step returned
/// with it (a filter's existence test still looks at them).
struct Failed {
    values: Vec<Value>,
    error: String,
}

type Walk = Result<Vec<Value>, Failed>;

fn fail(values: Vec<Value>, error: String) -> Walk {
    Err(Failed { values, error })
}

#[derive(Default)]
struct Exec {
    begin_range: usize,
    in_range: usize,
    end_range: usize,
    /// The index (in the root list) of the last `end` met.
    last_end: Option<usize>,
}

/// The deepest ranges nest before the template is refused (Go's only
/// bound is its stack).
const MAX_RANGE_DEPTH: usize = 500;

impl Exec {
    /// FindResults over the root's nodes from `start`.
    fn find_results(
        &mut self,
        root: &[Node],
        start: usize,
        data: Value,
    ) -> Result<Vec<Vec<Value>>, String> {
        let cur = vec![data];
        let mut full = Vec::new();
        let mut i = start;
        while i < root.len() {
            let results = self.walk(cur.clone(), &root[i]).map_err(|f| f.error)?;
            if self.end_range > 0 && self.end_range <= self.in_range {
                self.end_range -= 1;
                self.last_end = Some(i);
                break;
            }
            if self.begin_range > 0 {
                self.begin_range -= 1;
                self.in_range += 1;
                if self.in_range > MAX_RANGE_DEPTH {
                    return Err(format!("ranges nest deeper than {MAX_RANGE_DEPTH}"));
                }
                if results.is_empty() {
                    self.find_results(root, i + 1, Value::Invalid)?;
                } else {
                    for value in results {
                        full.extend(self.find_results(root, i + 1, interface(value))?);
                    }
                }
                self.in_range -= 1;
                if let Some(k) = self.last_end.filter(|k| *k > i) {
                    i = k;
                }
                i += 1;
                continue;
            }
            full.push(results);
            i += 1;
        }
        Ok(full)
    }

    fn walk(&mut self, input: Vec<Value>, node: &Node) -> Walk {
        match node {
            Node::List(nodes) => self.eval_list(input, nodes),
            Node::Text(t) => Ok(vec![Value::str(t)]),
            Node::Field(name) => eval_field(input, name),
            Node::Array(params) => eval_array(input, *params),
            Node::Filter { left, right, op } => self.eval_filter(input, left, right, op),
            Node::Int(v) => Ok(vec![Value::Int(*v); input.len()]),
            Node::Float(v) => Ok(vec![Value::Float(*v); input.len()]),
            Node::Bool(v) => Ok(vec![Value::Bool(*v); input.len()]),
            Node::Wildcard => Ok(input.iter().flat_map(children).collect()),
            Node::Recursive => Ok(recursive(&input)),
            Node::Union(lists) => {
                let mut out = Vec::new();
                for list in lists {
                    match self.eval_list(input.clone(), list) {
                        Ok(v) => out.extend(v),
                        Err(f) => return fail(input, f.error),
                    }
                }
                Ok(out)
            }
            Node::Identifier(name) => match name.as_str() {
                "range" => {
                    self.begin_range += 1;
                    Ok(input)
                }
                "end" if self.in_range > 0 => {
                    self.end_range += 1;
                    Ok(Vec::new())
                }
                "end" => fail(Vec::new(), "not in range, nothing to end".into()),
                other => fail(input, format!("unrecognized identifier {other}")),
            },
        }
    }

    fn eval_list(&mut self, input: Vec<Value>, nodes: &[Node]) -> Walk {
        let mut cur = input;
        for node in nodes {
            cur = self.walk(cur, node)?;
        }
        Ok(cur)
    }

    fn eval_filter(&mut self, input: Vec<Value>, left: &[Node], right: &[Node], op: &str) -> Walk {
        let mut results = Vec::new();
        for value in &input {
            let Value::List(list) = value else {
                let error = format!(
                    "{} is not array or slice and cannot be filtered",
                    gofmt::sprint_value(value)
                );
                return fail(input, error);
            };
            for item in list.items.iter() {
                let lefts = self.eval_list(vec![item.clone()], left);
                if op == "exists" {
                    let found = match &lefts {
                        Ok(v) => !v.is_empty(),
                        Err(f) => !f.values.is_empty(),
                    };
                    if found {
                        results.push(item.clone());
                    }
                    continue;
                }
                let lefts = match lefts {
                    Ok(v) => v,
                    Err(f) => return fail(input, f.error),
                };
                let l = match lefts.len() {
                    0 => continue,
                    1 => interface(lefts[0].clone()),
                    _ => return fail(input, "can only compare one element at a time".into()),
                };
                let rights = match self.eval_list(vec![item.clone()], right) {
                    Ok(v) => v,
                    Err(f) => return fail(input, f.error),
                };
                let r = match rights.len() {
                    0 => continue,
                    1 => interface(rights[0].clone()),
                    _ => return fail(input, "can only compare one element at a time".into()),
                };
                let pass = match op {
                    "<" => less(&l, &r),
                    ">" => less_equal(&l, &r).map(|b| !b),
                    "==" => equal(&l, &r),
                    "!=" => equal(&l, &r).map(|b| !b),
                    "<=" => less_equal(&l, &r),
                    ">=" => less(&l, &r).map(|b| !b),
                    other => return fail(results, format!("unrecognized filter operator {other}")),
                };
                match pass {
                    Ok(true) => results.push(item.clone()),
                    Ok(false) => {}
                    Err(e) => return fail(results, e.to_string()),
                }
            }
        }
        Ok(results)
    }
}

/// `reflect.ValueOf(v.Interface())`: a nil interface is no value at all.
fn interface(v: Value) -> Value {
    match v {
        Value::Nil => Value::Invalid,
        v => v,
    }
}

fn eval_field(input: Vec<Value>, name: &str) -> Walk {
    let mut results = Vec::new();
    if input.is_empty() {
        return Ok(results);
    }
    for value in &input {
        if let Value::Map(m) = value
            && let Some(v) = m.entries.borrow().get(name)
        {
            results.push(v.clone());
        }
    }
    if results.is_empty() {
        return fail(results, format!("{name} is not found"));
    }
    Ok(results)
}

fn eval_array(input: Vec<Value>, node: [Param; 3]) -> Walk {
    let mut result = Vec::new();
    for value in &input {
        if matches!(value, Value::Nil) {
            continue;
        }
        let Value::List(list) = value else {
            return fail(
                input.clone(),
                format!("{} is not array or slice", go_type(value)),
            );
        };
        let len = list.items.len() as i64;
        let mut params = node;
        if !params[0].known {
            params[0].value = 0;
        }
        if params[0].value < 0 {
            params[0].value = params[0].value.wrapping_add(len);
        }
        if !params[1].known {
            params[1].value = len;
        }
        if params[1].value < 0 || (params[1].value == 0 && params[1].derived) {
            params[1].value = params[1].value.wrapping_add(len);
        }
        if params[1].value == params[0].value {
            return Ok(result);
        }
        if params[0].value >= len || params[0].value < 0 {
            let e = format!(
                "array index out of bounds: index {}, length {len}",
                params[0].value
            );
            return fail(input.clone(), e);
        }
        if params[1].value > len || params[1].value < 0 {
            let e = format!(
                "array index out of bounds: index {}, length {len}",
                params[1].value - 1
            );
            return fail(input.clone(), e);
        }
        if params[0].value > params[1].value {
            let e = format!(
                "starting index {} is greater than ending index {}",
                params[0].value, params[1].value
            );
            return fail(input.clone(), e);
        }
        let step = if params[2].known {
            if params[2].value <= 0 {
                return fail(input.clone(), "step must be > 0".into());
            }
            params[2].value as usize
        } else {
            1
        };
        let slice = &list.items[params[0].value as usize..params[1].value as usize];
        result.extend(slice.iter().step_by(step).cloned());
    }
    Ok(result)
}

/// What `*` takes from a value: a map's values, a list's items, a
/// string's bytes.
fn children(value: &Value) -> Vec<Value> {
    match value {
        Value::Map(m) => m.entries.borrow().values().cloned().collect(),
        Value::List(l) => l.items.to_vec(),
        Value::String(s) => s.bytes().map(|b| Value::Uint(u64::from(b))).collect(),
        _ => Vec::new(),
    }
}

/// `..`: every value below the input that has children, itself first.
fn recursive(input: &[Value]) -> Vec<Value> {
    let mut result = Vec::new();
    for value in input {
        let below = children(value);
        if !below.is_empty() {
            result.push(value.clone());
            result.extend(recursive(&below));
        }
    }
    result
}

/// Go's reflect type name of a value from JSON, for errors.
fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Map(_) => "map[string]interface {}",
        Value::String(_) => "string",
        Value::Float(_) => "float64",
        Value::Int(_) => "int",
        Value::Int64(_) => "int64",
        Value::Uint(_) => "uint8",
        Value::Bool(_) => "bool",
        _ => "interface {}",
    }
}

#[derive(PartialEq, Clone, Copy)]
enum Kind {
    Bool,
    Int,
    Uint,
    Float,
    String,
}

fn basic_kind(v: &Value) -> Result<Kind, &'static str> {
    Ok(match v {
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) | Value::Int64(_) => Kind::Int,
        Value::Uint(_) => Kind::Uint,
        Value::Float(_) => Kind::Float,
        Value::String(_) => Kind::String,
        _ => return Err("invalid type for comparison"),
    })
}

fn int(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        _ => 0,
    }
}

fn uint(v: &Value) -> u64 {
    match v {
        Value::Uint(u) => *u,
        _ => 0,
    }
}

fn num(v: &Value) -> f64 {
    match v {
        Value::Float(f) => *f,
        _ => 0.0,
    }
}

fn text(v: &Value) -> &str {
    match v {
        Value::String(s) => s,
        _ => "",
    }
}

/// The forked text/template `Equal`.
fn equal(a: &Value, b: &Value) -> Result<bool, &'static str> {
    let (ka, kb) = (basic_kind(a)?, basic_kind(b)?);
    if ka != kb {
        return match (ka, kb) {
            (Kind::Int, Kind::Uint) => Ok(int(a) >= 0 && int(a) as u64 == uint(b)),
            (Kind::Uint, Kind::Int) => Ok(int(b) >= 0 && uint(a) == int(b) as u64),
            _ => Err("incompatible types for comparison"),
        };
    }
    Ok(match ka {
        Kind::Bool => matches!((a, b), (Value::Bool(x), Value::Bool(y)) if x == y),
        Kind::Float => num(a) == num(b),
        Kind::Int => int(a) == int(b),
        Kind::String => text(a) == text(b),
        Kind::Uint => uint(a) == uint(b),
    })
}

/// The forked text/template `Less`.
fn less(a: &Value, b: &Value) -> Result<bool, &'static str> {
    let (ka, kb) = (basic_kind(a)?, basic_kind(b)?);
    if ka != kb {
        return match (ka, kb) {
            (Kind::Int, Kind::Uint) => Ok(int(a) < 0 || (int(a) as u64) < uint(b)),
            (Kind::Uint, Kind::Int) => Ok(int(b) >= 0 && uint(a) < int(b) as u64),
            _ => Err("incompatible types for comparison"),
        };
    }
    Ok(match ka {
        Kind::Bool => return Err("invalid type for comparison"),
        Kind::Float => num(a) < num(b),
        Kind::Int => int(a) < int(b),
        Kind::String => text(a) < text(b),
        Kind::Uint => uint(a) < uint(b),
    })
}

fn less_equal(a: &Value, b: &Value) -> Result<bool, &'static str> {
    if less(a, b)? {
        return Ok(true);
    }
    equal(a, b)
}

/// PrintResults: maps and lists as JSON, the rest as Go prints them,
/// separated by spaces.
fn print_results(out: &mut String, results: &[Value]) -> Result<(), String> {
    for (i, r) in results.iter().enumerate() {
        match r {
            Value::Map(_) | Value::List(_) => out.push_str(&crate::json::marshal(r)?),
            Value::Invalid => out.push_str("<no value>"),
            Value::Nil => out.push_str("null"),
            other => out.push_str(&gofmt::sprint_value(other)),
        }
        if i + 1 != results.len() {
            out.push(' ');
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(template: &str, yaml: &str) -> Result<String, String> {
        let data = crate::yaml::parse_values(yaml).unwrap();
        let path = JsonPath::parse(template)?;
        let mut out = String::new();
        path.execute(&mut out, crate::value::json::from_json(&data))?;
        Ok(out)
    }

    const DATA: &str = "kind: List\nitems:\n- name: a\n  port: 80\n  tags: [x, z]\n- name: b\n  port: 443\n  gone: null\nempty: []\nnested:\n  a.b: dotted\n  a:\n    b: deep\n";

    #[test]
    fn fields_indexes_slices_and_text() {
        assert_eq!(run("{.kind}", DATA).unwrap(), "List");
        assert_eq!(run("kind is {.kind}!", DATA).unwrap(), "kind is List!");
        assert_eq!(run("{.items[0].name}", DATA).unwrap(), "a");
        assert_eq!(run("{.items[-1].port}", DATA).unwrap(), "443");
        assert_eq!(run("{.items[*].name}", DATA).unwrap(), "a b");
        assert_eq!(run("{.items[0].tags}", DATA).unwrap(), "[\"x\",\"z\"]");
        assert_eq!(run("{.items[0:1].name}", DATA).unwrap(), "a");
        assert_eq!(run("{.items[::2].name}", DATA).unwrap(), "a");
        assert_eq!(run("{.items[0,1].port}", DATA).unwrap(), "80 443");
        assert_eq!(run("{.nested['a.b']}", DATA).unwrap(), "deep");
        assert_eq!(run("{.nested['a\\.b']}", DATA).unwrap(), "dotted");
        assert_eq!(run("{.items[1].gone}", DATA).unwrap(), "null");
        assert_eq!(run("{.empty}", DATA).unwrap(), "[]");
        assert_eq!(run("{\"a\\tb\"}{'c'}", DATA).unwrap(), "a\tbc");
        assert_eq!(run("{1}{2.5}{true}", DATA).unwrap(), "12.5true");
    }

    #[test]
    fn ranges_filters_and_recursion() {
        assert_eq!(
            run("{range .items[*]}{.name}={.port};{end}", DATA).unwrap(),
            "a=80;b=443;"
        );
        assert_eq!(run("{.items[?(@.name==\"b\")].port}", DATA).unwrap(), "443");
        // A YAML number is a float64, a literal 80 an int: Go will not
        // compare them; 80.0 is a float.
        assert!(run("{.items[?(@.port==80)].name}", DATA).is_err());
        assert_eq!(run("{.items[?(@.port==80.0)].name}", DATA).unwrap(), "a");
        assert_eq!(run("{.items[?(@.port>100.0)].name}", DATA).unwrap(), "b");
        assert_eq!(run("{.items[?(@.tags)].name}", DATA).unwrap(), "a");
        assert_eq!(run("{..b}", DATA).unwrap(), "deep");
        assert_eq!(run("{.items[0].name.*}", DATA).unwrap(), "97");
    }

    #[test]
    fn no_template_panics() {
        // Templates made of the syntax's own characters, deterministic.
        let alphabet: Vec<char> = "{}[]().,:*?@$'\"\\=!<>-+ 019azé\n".chars().collect();
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let data = crate::value::json::from_json(&crate::yaml::parse_values(DATA).unwrap());
        let run = |t: &str| {
            if let Ok(path) = JsonPath::parse(t) {
                let _ = path.execute(&mut String::new(), data.clone());
            }
        };
        for _ in 0..20_000 {
            let len = (next() % 24) as usize;
            let t: String = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            run(&t);
            run(&format!("{{.items{t}}}"));
            run(&format!("{{range .items[*]}}{t}{{end}}"));
        }
        run(&"{range @}".repeat(100_000));
        for t in [
            "{.items[9223372036854775807]}",
            "{.items[-9223372036854775808]}",
            "{.items[0:-9223372036854775808]}",
            "{.items[-9223372036854775808:9223372036854775807:9223372036854775807]}",
            "{.empty[0:-9223372036854775808]}",
        ] {
            run(t);
        }
    }

    #[test]
    fn errors_are_client_gos() {
        assert!(run("{.missing}", DATA).is_err());
        assert!(run("{.items[5]}", DATA).is_err());
        assert_eq!(run("{.a", DATA).unwrap_err(), "unclosed action");
        assert_eq!(
            run("{.a,.b}", DATA).unwrap_err(),
            "unrecognized character in action: U+002C ','"
        );
        assert_eq!(run("{.a[1}", DATA).unwrap_err(), "unterminated array");
        assert_eq!(run("{.a[x]}", DATA).unwrap_err(), "invalid array index x");
        assert_eq!(run("{.a[?(@.b}", DATA).unwrap_err(), "unterminated filter");
        assert_eq!(run("{'a}", DATA).unwrap_err(), "unterminated quoted string");
        assert_eq!(
            run("{..}{....a}", DATA).unwrap_err(),
            "invalid multiple recursive descent"
        );
        assert_eq!(run("{-}", DATA).unwrap_err(), "cannot parse number -");
    }
}
