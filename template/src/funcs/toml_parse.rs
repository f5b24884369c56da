//! Helm's `fromToml`: a TOML 1.1 document (what BurntSushi/toml v1.6
//! reads) into `map[string]interface{}` — integers as int64, floats as
//! float64, dates and times as `time.Time` (local ones in the zones
//! `datetime-local`, `date-local` and `time-local`), arrays as
//! `[]interface{}`. A document that does not parse gives a map holding the
//! message under `Error`, worded `toml: line N (last key "k"): …` like
//! BurntSushi's for the common mistakes.

use std::collections::BTreeMap;

use crate::funcs::dates::{GoTime, Loc};
use crate::value::{List, ListType, Map, Object, Value};

/// A node of the document being built.
enum Node {
    Value(Value),
    Table(Table),
    /// `[[a]]` tables.
    Tables(Vec<Table>),
}

#[derive(Default)]
struct Table {
    entries: BTreeMap<String, Node>,
    /// Opened by a `[header]` (cannot be opened again).
    defined: bool,
    /// Created by dotted keys (cannot be opened by a header).
    dotted: bool,
    /// An inline table (cannot be extended).
    frozen: bool,
}

/// Parses a document; `Err` is BurntSushi's message.
pub fn parse(text: &str) -> Result<Value, String> {
    let mut p = Parser {
        s: text.chars().collect(),
        i: 0,
        line: 1,
        context: Vec::new(),
        current: None,
    };
    let mut root = Table::default();
    p.document(&mut root)?;
    Ok(table_value(root))
}

fn table_value(t: Table) -> Value {
    let m = Map::new();
    for (k, n) in t.entries {
        m.insert(k, node_value(n));
    }
    Value::Map(m)
}

fn node_value(n: Node) -> Value {
    match n {
        Node::Value(v) => v,
        Node::Table(t) => table_value(t),
        // BurntSushi's decoder makes an array of tables a
        // []map[string]interface{}.
        Node::Tables(ts) => Value::List(List::typed(
            ts.into_iter().map(table_value).collect(),
            ListType::Maps,
        )),
    }
}

struct Parser {
    s: Vec<char>,
    i: usize,
    line: usize,
    /// The table (and dotted-key parents) being filled: BurntSushi's
    /// `context`.
    context: Vec<String>,
    /// The key whose value is being read: its `currentKey`.
    current: Option<String>,
}

/// BurntSushi's `Key.String()`: dotted, quoting parts that are not bare.
fn key_string(parts: &[String]) -> String {
    parts
        .iter()
        .map(|k| {
            if k.is_empty() {
                "\"\"".to_string()
            } else if k.chars().all(bare) {
                k.clone()
            } else {
                crate::gofmt::quote(k)
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn bare(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

fn quoted_rune(c: Option<char>) -> String {
    match c {
        Some(c) => crate::gofmt::sprintf("%q", &[Value::Int(c as i64)]),
        None => "EOF".into(),
    }
}

impl Parser {
    /// BurntSushi's `current()`: the context, then the current key.
    fn last_key(&self) -> String {
        let ctx = key_string(&self.context);
        match &self.current {
            None => ctx,
            Some(k) if ctx.is_empty() => k.clone(),
            Some(k) => format!("{ctx}.{k}"),
        }
    }

    fn err<T>(&self, msg: impl Into<String>) -> Result<T, String> {
        let msg = msg.into();
        let last = self.last_key();
        Err(if last.is_empty() {
            format!("toml: line {}: {msg}", self.line)
        } else {
            format!(
                "toml: line {} (last key {}): {msg}",
                self.line,
                crate::gofmt::quote(&last)
            )
        })
    }

    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.s.get(self.i + n).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.i += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn starts_with(&self, w: &str) -> bool {
        w.chars()
            .enumerate()
            .all(|(k, c)| self.peek_at(k) == Some(c))
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.i += 1;
        }
    }

    fn skip_comment(&mut self) -> Result<(), String> {
        if self.peek() == Some('#') {
            while let Some(c) = self.peek() {
                if c == '\n' || (c == '\r' && self.peek_at(1) == Some('\n')) {
                    break;
                }
                if (c < ' ' && c != '\t') || c == '\x7f' {
                    return self.err(format!(
                        "control characters are not allowed: {}",
                        quoted_rune(Some(c))
                    ));
                }
                self.i += 1;
            }
        }
        Ok(())
    }

    /// Whitespace, comments and newlines (inside arrays and inline tables).
    fn skip_ws_nl(&mut self) -> Result<(), String> {
        loop {
            self.skip_ws();
            self.skip_comment()?;
            match self.peek() {
                Some('\n') => {
                    self.bump();
                }
                Some('\r') if self.peek_at(1) == Some('\n') => {
                    self.i += 1;
                    self.bump();
                }
                _ => return Ok(()),
            }
        }
    }

    /// The end of a top-level line.
    fn end_of_line(&mut self) -> Result<(), String> {
        self.skip_ws();
        self.skip_comment()?;
        match self.peek() {
            None => Ok(()),
            Some('\n') => {
                self.bump();
                Ok(())
            }
            Some('\r') if self.peek_at(1) == Some('\n') => {
                self.i += 1;
                self.bump();
                Ok(())
            }
            c => self.err(format!(
                "expected a top-level item to end with a newline, comment, or EOF, but got {} instead",
                quoted_rune(c)
            )),
        }
    }

    fn document(&mut self, root: &mut Table) -> Result<(), String> {
        // The table key/values go to: a path from the root.
        let mut current: Vec<String> = Vec::new();
        loop {
            self.skip_ws_nl()?;
            match self.peek() {
                None => return Ok(()),
                Some('[') => {
                    let array = self.peek_at(1) == Some('[');
                    self.i += if array { 2 } else { 1 };
                    self.skip_ws();
                    let key = self.key_path(if array { "]]" } else { "]" })?;
                    self.skip_ws();
                    // Both kinds of table name end at a `]`; an array
                    // table's second `]` must follow at once.
                    // lx.next() at the end reads rune 0.
                    if self.peek() != Some(']') {
                        return self.err(format!(
                            "expected '.' or ']' to end table name, but got {} instead",
                            quoted_rune(self.peek().or(Some('\0')))
                        ));
                    }
                    self.i += 1;
                    if array {
                        if self.peek() != Some(']') {
                            return self.err(format!(
                                "expected end of table array name delimiter ']', but got {} instead",
                                quoted_rune(self.peek().or(Some('\0')))
                            ));
                        }
                        self.i += 1;
                    }
                    self.current = None;
                    self.open_table(root, &key, array)?;
                    self.context = key.clone();
                    current = key;
                    self.end_of_line()?;
                }
                Some(_) => {
                    let outer = self.context.clone();
                    let (path, value) = self.key_value()?;
                    let table = self.table_at(root, &current)?;
                    self.insert(table, &path, value)?;
                    self.context = outer;
                    self.current = None;
                    self.end_of_line()?;
                }
            }
        }
    }

    /// The table `path` points to (through the last `[[…]]` element).
    fn table_at<'t>(&self, root: &'t mut Table, path: &[String]) -> Result<&'t mut Table, String> {
        let mut t = root;
        for k in path {
            t = match t.entries.get_mut(k) {
                Some(Node::Table(sub)) => sub,
                Some(Node::Tables(list)) => match list.last_mut() {
                    Some(last) => last,
                    None => return self.err(format!("Key '{k}' has already been defined.")),
                },
                _ => return self.err(format!("Key '{k}' has already been defined.")),
            };
        }
        Ok(t)
    }

    fn open_table(&mut self, root: &mut Table, key: &[String], array: bool) -> Result<(), String> {
        let (last, parents) = key.split_last().ok_or("empty key")?;
        let mut t = root;
        for (n, k) in parents.iter().enumerate() {
            let ctx = key_string(&key[..=n]);
            let entry = t
                .entries
                .entry(k.clone())
                .or_insert_with(|| Node::Table(Table::default()));
            t = match entry {
                Node::Table(sub) => {
                    if sub.frozen {
                        return self.err(format!("Key '{ctx}' has already been defined."));
                    }
                    sub
                }
                Node::Tables(list) => list.last_mut().ok_or("empty table array")?,
                Node::Value(_) => {
                    return self.err(format!("Key '{ctx}' was already created as a hash."));
                }
            };
        }
        // Go sets the context to the parents before adding the table.
        self.context = parents.to_vec();
        let ctx = key_string(key);
        if array {
            let entry = t
                .entries
                .entry(last.clone())
                .or_insert_with(|| Node::Tables(Vec::new()));
            match entry {
                Node::Tables(list) => {
                    list.push(Table {
                        defined: true,
                        ..Table::default()
                    });
                    Ok(())
                }
                _ => self.err(format!(
                    "Key '{ctx}' was already created and cannot be used as an array."
                )),
            }
        } else {
            match t.entries.get_mut(last) {
                None => {
                    t.entries.insert(
                        last.clone(),
                        Node::Table(Table {
                            defined: true,
                            ..Table::default()
                        }),
                    );
                    Ok(())
                }
                Some(Node::Table(sub)) if !sub.defined && !sub.dotted && !sub.frozen => {
                    sub.defined = true;
                    Ok(())
                }
                Some(_) => self.err(format!("Key '{ctx}' has already been defined.")),
            }
        }
    }

    /// Sets a (dotted) key in a table.
    fn insert(&self, table: &mut Table, path: &[String], value: Value) -> Result<(), String> {
        let (last, parents) = path.split_last().ok_or("empty key")?;
        // The context holds the table's path and then the dotted parents.
        let base = &self.context[..self.context.len().saturating_sub(parents.len())];
        let full = |upto: &[String]| {
            let mut k = base.to_vec();
            k.extend(upto.iter().cloned());
            key_string(&k)
        };
        let mut t = table;
        for (n, k) in parents.iter().enumerate() {
            let ctx = full(&path[..=n]);
            let entry = t.entries.entry(k.clone()).or_insert_with(|| {
                Node::Table(Table {
                    dotted: true,
                    ..Table::default()
                })
            });
            t = match entry {
                Node::Table(sub) if !sub.frozen && (sub.dotted || !sub.defined) => sub,
                _ => return self.err(format!("Key '{ctx}' has already been defined.")),
            };
        }
        if t.entries.contains_key(last) {
            return self.err(format!("Key '{}' has already been defined.", full(path)));
        }
        let node = match value {
            // Inline tables arrive as maps: keep them closed.
            Value::Map(m) if m.ty == crate::value::MapType::Values => {
                let mut sub = Table {
                    frozen: true,
                    ..Table::default()
                };
                for (k, v) in m.pairs() {
                    sub.entries.insert(k, Node::Value(v));
                }
                Node::Table(sub)
            }
            v => Node::Value(v),
        };
        t.entries.insert(last.clone(), node);
        Ok(())
    }

    /// `a.b."c"` up to `=` or a header's end.
    fn key_path(&mut self, end: &str) -> Result<Vec<String>, String> {
        let mut parts = Vec::new();
        loop {
            self.skip_ws();
            let part = match self.peek() {
                Some('"') => {
                    self.i += 1;
                    self.basic_string()?
                }
                Some('\'') => {
                    self.i += 1;
                    self.literal_string()?
                }
                Some(c) if bare(c) => {
                    let mut k = String::new();
                    while let Some(c) = self.peek().filter(|c| bare(*c)) {
                        k.push(c);
                        self.i += 1;
                    }
                    k
                }
                // lexTableNameStart, at the start of each part of a table
                // name.
                Some('.') if end != "=" => {
                    return self.err("unexpected table separator (table names cannot be empty)");
                }
                Some(']') | None if end != "=" => {
                    return self.err("unexpected end of table name (table names cannot be empty)");
                }
                Some('.') => {
                    return self.err(if parts.is_empty() {
                        "unexpected '.': keys cannot start with a '.'".to_string()
                    } else {
                        "unexpected '.'".to_string()
                    });
                }
                Some('=') if parts.is_empty() => {
                    return self.err("unexpected '=': key name appears blank");
                }
                Some('=') => return self.err("unexpected '='"),
                None => return self.err("unexpected EOF; expected key separator '='"),
                // A bare name of no characters: the lexer ends it at once
                // and wants what follows a key or a table name.
                c if end == "=" => {
                    return self.err(format!(
                        "expected '.' or '=', but got {} instead",
                        quoted_rune(c)
                    ));
                }
                c => {
                    return self.err(format!(
                        "expected '.' or ']' to end table name, but got {} instead",
                        quoted_rune(c)
                    ));
                }
            };
            parts.push(part);
            self.skip_ws();
            if self.peek() == Some('.') {
                self.i += 1;
                continue;
            }
            return Ok(parts);
        }
    }

    fn key_value(&mut self) -> Result<(Vec<String>, Value), String> {
        let path = self.key_path("=")?;
        self.skip_ws();
        // The lexer stops before the parser has seen the key: no last key.
        match self.peek() {
            Some('=') => self.i += 1,
            None => return self.err("unexpected EOF; expected key separator '='"),
            c => {
                return self.err(format!(
                    "expected '.' or '=', but got {} instead",
                    quoted_rune(c)
                ));
            }
        }
        if let Some((last, parents)) = path.split_last() {
            self.context.extend(parents.iter().cloned());
            self.current = Some(last.clone());
        }
        self.skip_ws();
        let v = self.value()?;
        Ok((path, v))
    }

    fn value(&mut self) -> Result<Value, String> {
        match self.peek() {
            None => self.err("unexpected EOF; expected value"),
            Some('"') => {
                if self.starts_with("\"\"\"") {
                    self.i += 3;
                    self.multiline_basic().map(Value::str)
                } else {
                    self.i += 1;
                    self.basic_string().map(Value::str)
                }
            }
            Some('\'') => {
                if self.starts_with("'''") {
                    self.i += 3;
                    self.multiline_literal().map(Value::str)
                } else {
                    self.i += 1;
                    self.literal_string().map(Value::str)
                }
            }
            Some('[') => {
                self.i += 1;
                self.array()
            }
            Some('{') => {
                self.i += 1;
                self.inline_table()
            }
            Some(_) => self.scalar(),
        }
    }

    fn array(&mut self) -> Result<Value, String> {
        let mut items = Vec::new();
        loop {
            self.skip_ws_nl()?;
            match self.peek() {
                Some(']') => {
                    self.i += 1;
                    break;
                }
                Some(',') => return self.err("unexpected comma"),
                _ => {}
            }
            let v = self.value()?;
            items.push(match v {
                // Inline tables inside arrays are plain maps.
                Value::Map(m) => Value::Map(Map {
                    entries: m.entries,
                    ty: crate::value::MapType::Any,
                    nil: false,
                }),
                v => v,
            });
            self.skip_ws_nl()?;
            match self.peek() {
                Some(',') => self.i += 1,
                Some(']') => {
                    self.i += 1;
                    break;
                }
                c => {
                    return self.err(format!(
                        "expected a comma (',') or array terminator (']'), but got {}",
                        quoted_rune(c)
                    ));
                }
            }
        }
        Ok(Value::List(List::typed(items, ListType::Any)))
    }

    /// Inline tables (TOML 1.1: newlines and a trailing comma allowed).
    /// Returned as a `Values`-typed map so `insert` can tell them apart.
    fn inline_table(&mut self) -> Result<Value, String> {
        let mut t = Table::default();
        loop {
            self.skip_ws_nl()?;
            match self.peek() {
                Some('}') => {
                    self.i += 1;
                    break;
                }
                Some(',') => return self.err("unexpected comma"),
                _ => {}
            }
            let (saved_ctx, saved_cur) = (self.context.clone(), self.current.clone());
            if let Some(k) = self.current.take() {
                self.context.push(k);
            }
            let (path, v) = self.key_value()?;
            self.insert(&mut t, &path, v)?;
            self.context = saved_ctx;
            self.current = saved_cur;
            self.skip_ws_nl()?;
            match self.peek() {
                Some(',') => self.i += 1,
                Some('}') => {
                    self.i += 1;
                    break;
                }
                c => {
                    return self.err(format!(
                        "expected a comma or an inline table terminator '}}', but got {} instead",
                        quoted_rune(c)
                    ));
                }
            }
        }
        let m = Map::typed(BTreeMap::new(), crate::value::MapType::Values);
        for (k, n) in t.entries {
            m.insert(k, node_value(n));
        }
        // Nested inline tables become plain maps.
        for (k, v) in m.pairs() {
            if let Value::Map(inner) = v {
                m.insert(
                    k,
                    Value::Map(Map {
                        entries: inner.entries,
                        ty: crate::value::MapType::Any,
                        nil: false,
                    }),
                );
            }
        }
        Ok(Value::Map(m))
    }

    fn escape(&mut self, out: &mut String) -> Result<(), String> {
        let Some(e) = self.bump() else {
            return self.err("unexpected EOF; expected '\"'");
        };
        let hex = |p: &mut Parser, n: usize, name: char| -> Result<char, String> {
            let digits: String = (0..n).filter_map(|k| p.peek_at(k)).collect();
            if digits.chars().count() != n || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
                let what = match n {
                    2 => "two",
                    4 => "four",
                    _ => "eight",
                };
                return p.err(format!(
                    "expected {what} hexadecimal digits after '\\{name}', but got {} instead",
                    crate::gofmt::quote(&digits)
                ));
            }
            p.i += n;
            let cp = u32::from_str_radix(&digits, 16).unwrap_or(0xFFFD);
            match char::from_u32(cp) {
                Some(c) => Ok(c),
                None => p.err(format!(
                    "Escaped character '\\{name}{digits}' is not valid UTF-8."
                )),
            }
        };
        let c = match e {
            'b' => '\u{8}',
            't' => '\t',
            'n' => '\n',
            'f' => '\u{c}',
            'r' => '\r',
            'e' => '\u{1b}',
            '"' => '"',
            '\\' => '\\',
            'x' => hex(self, 2, 'x')?,
            'u' => hex(self, 4, 'u')?,
            'U' => hex(self, 8, 'U')?,
            other => return self.err(format!("invalid escape in string '\\{other}'")),
        };
        out.push(c);
        Ok(())
    }

    fn check_control(&self, c: char) -> Result<(), String> {
        if (c < ' ' && c != '\t') || c == '\x7f' {
            return self.err(format!(
                "control characters are not allowed: {}",
                quoted_rune(Some(c))
            ));
        }
        Ok(())
    }

    fn basic_string(&mut self) -> Result<String, String> {
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return self.err("unexpected EOF; expected '\"'"),
                Some('\n') => return self.err("strings cannot contain newlines"),
                Some('"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some('\\') => {
                    self.i += 1;
                    self.escape(&mut out)?;
                }
                Some(c) => {
                    self.check_control(c)?;
                    out.push(c);
                    self.i += 1;
                }
            }
        }
    }

    fn literal_string(&mut self) -> Result<String, String> {
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return self.err("unexpected EOF; expected \"'\""),
                Some('\n') => return self.err("strings cannot contain newlines"),
                Some('\'') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(c) => {
                    self.check_control(c)?;
                    out.push(c);
                    self.i += 1;
                }
            }
        }
    }

    /// Skips the newline right after an opening `"""`/`'''`.
    fn skip_first_newline(&mut self) {
        if self.peek() == Some('\n') {
            self.bump();
        } else if self.peek() == Some('\r') && self.peek_at(1) == Some('\n') {
            self.i += 1;
            self.bump();
        }
    }

    fn multiline_basic(&mut self) -> Result<String, String> {
        self.skip_first_newline();
        let mut out = String::new();
        loop {
            if self.starts_with("\"\"\"") {
                // Up to two more quotes belong to the content.
                let mut n = 3;
                while self.peek_at(n) == Some('"') && n < 5 {
                    n += 1;
                }
                if self.peek_at(n) == Some('"') {
                    return self.err("unexpected '\"\"\"\"\"\"'");
                }
                out.extend(std::iter::repeat_n('"', n - 3));
                self.i += n;
                return Ok(out);
            }
            match self.peek() {
                None => return self.err("unexpected EOF; expected '\"\"\"'"),
                Some('\\') => {
                    // A line-ending backslash trims the following whitespace.
                    let mut k = 1;
                    while matches!(self.peek_at(k), Some(' ' | '\t')) {
                        k += 1;
                    }
                    let nl = match self.peek_at(k) {
                        Some('\n') => true,
                        Some('\r') => self.peek_at(k + 1) == Some('\n'),
                        _ => false,
                    };
                    if nl {
                        self.i += k;
                        while matches!(self.peek(), Some(' ' | '\t' | '\n' | '\r')) {
                            self.bump();
                        }
                    } else {
                        self.i += 1;
                        self.escape(&mut out)?;
                    }
                }
                Some('\r') if self.peek_at(1) == Some('\n') => {
                    self.i += 1;
                    self.bump();
                    out.push('\n');
                }
                Some(c) => {
                    if c != '\n' {
                        self.check_control(c)?;
                    }
                    out.push(c);
                    self.bump();
                }
            }
        }
    }

    fn multiline_literal(&mut self) -> Result<String, String> {
        self.skip_first_newline();
        let mut out = String::new();
        loop {
            if self.starts_with("'''") {
                let mut n = 3;
                while self.peek_at(n) == Some('\'') && n < 5 {
                    n += 1;
                }
                if self.peek_at(n) == Some('\'') {
                    return self.err("unexpected \"''''''\"");
                }
                out.extend(std::iter::repeat_n('\'', n - 3));
                self.i += n;
                return Ok(out);
            }
            match self.peek() {
                None => return self.err("unexpected EOF; expected \"'''\""),
                Some('\r') if self.peek_at(1) == Some('\n') => {
                    self.i += 1;
                    self.bump();
                    out.push('\n');
                }
                Some(c) => {
                    if c != '\n' {
                        self.check_control(c)?;
                    }
                    out.push(c);
                    self.bump();
                }
            }
        }
    }

    /// Booleans, numbers and dates: the run of characters up to a
    /// delimiter (a space is allowed once, between a date and a time).
    fn scalar(&mut self) -> Result<Value, String> {
        let start = self.i;
        let is_end = |c: char| matches!(c, ',' | ']' | '}' | '\n' | '\r' | '#' | ' ' | '\t');
        while let Some(c) = self.peek() {
            if c == ' '
                && self.i - start == 10
                && self.peek_at(1).is_some_and(|d| d.is_ascii_digit())
                && self.s[start..self.i].iter().filter(|c| **c == '-').count() == 2
            {
                self.i += 1;
                continue;
            }
            if is_end(c) {
                break;
            }
            self.i += 1;
        }
        let text: String = self.s[start..self.i].iter().collect();
        match text.as_str() {
            "true" => return Ok(Value::Bool(true)),
            "false" => return Ok(Value::Bool(false)),
            "inf" | "+inf" => return Ok(Value::Float(f64::INFINITY)),
            "-inf" => return Ok(Value::Float(f64::NEG_INFINITY)),
            "nan" | "+nan" => return Ok(Value::Float(f64::NAN)),
            "-nan" => return Ok(Value::Float(-f64::NAN)),
            "" => {
                return self.err(format!(
                    "expected value but found {} instead",
                    quoted_rune(self.peek())
                ));
            }
            _ => {}
        }
        let t = text.as_bytes();
        let looks_date =
            (t.len() >= 8 && t[2] == b':') || (t.len() >= 10 && t[4] == b'-' && t[7] == b'-');
        if looks_date {
            return match datetime(&text) {
                Some(v) => Ok(v),
                None => self.err(format!("invalid datetime: {}", crate::gofmt::quote(&text))),
            };
        }
        self.number(&text)
    }

    fn number(&self, text: &str) -> Result<Value, String> {
        let underscores_ok = |s: &str| {
            let b = s.as_bytes();
            b.iter().enumerate().all(|(k, &c)| {
                c != b'_'
                    || (k > 0
                        && k + 1 < b.len()
                        && b[k - 1].is_ascii_alphanumeric()
                        && b[k + 1].is_ascii_alphanumeric())
            })
        };
        let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
        for (prefix, radix, name) in [
            ("0x", 16, "hexadecimal"),
            ("0o", 8, "octal"),
            ("0b", 2, "binary"),
        ] {
            if let Some(digits) = unsigned.strip_prefix(prefix) {
                if unsigned.len() != text.len() {
                    return self.err(format!(
                        "cannot use sign with non-decimal numbers: '{text}'"
                    ));
                }
                if !underscores_ok(digits) {
                    return self.err(format!(
                        "Invalid integer {}: underscores must be surrounded by digits",
                        crate::gofmt::quote(text)
                    ));
                }
                let clean = digits.replace('_', "");
                return match i64::from_str_radix(&clean, radix) {
                    Ok(n) => Ok(Value::Int64(n)),
                    Err(_) if !clean.is_empty() && clean.chars().all(|c| c.is_digit(radix)) => {
                        self.err(format!("{text} is out of range for int64"))
                    }
                    Err(_) => self.err(format!("not a {name} number: '{text}'")),
                };
            }
        }
        let is_float = unsigned.contains(['.', 'e', 'E']);
        if !unsigned.starts_with(|c: char| c.is_ascii_digit()) {
            if unsigned.starts_with('.') {
                return self.err("floats must start with a digit, not '.'");
            }
            return self.err(format!(
                "expected value but found {} instead",
                crate::gofmt::quote(text)
            ));
        }
        if !unsigned
            .chars()
            .all(|c| c.is_ascii_digit() || "_.eE+-".contains(c))
        {
            return self.err(format!(
                "expected value but found {} instead",
                crate::gofmt::quote(text)
            ));
        }
        let what = if is_float { "float" } else { "integer" };
        let parts: Vec<&str> = unsigned.split(['.', 'e', 'E']).collect();
        if parts
            .iter()
            .any(|p| !underscores_ok(p.trim_start_matches(['+', '-'])))
        {
            return self.err(format!(
                "Invalid {what} {}: underscores must be surrounded by digits",
                crate::gofmt::quote(text)
            ));
        }
        let int_part = parts[0].replace('_', "");
        if int_part.len() > 1 && int_part.starts_with('0') {
            return self.err(format!(
                "Invalid {what} {}: cannot have leading zeroes",
                crate::gofmt::quote(text)
            ));
        }
        let clean = text.replace('_', "");
        if is_float {
            let b = unsigned.as_bytes();
            if let Some(dot) = unsigned.find('.')
                && !b.get(dot + 1).is_some_and(u8::is_ascii_digit)
            {
                return self.err(format!(
                    "Invalid float {}: '.' must be followed by one or more digits",
                    crate::gofmt::quote(text)
                ));
            }
            return match clean.parse::<f64>() {
                Ok(f) if f.is_finite() => Ok(Value::Float(f)),
                Ok(_) => self.err(format!("{text} is out of range for float64")),
                Err(_) => self.err(format!(
                    "Invalid float value: {}",
                    crate::gofmt::quote(text)
                )),
            };
        }
        match clean.parse::<i64>() {
            Ok(n) => Ok(Value::Int64(n)),
            Err(_)
                if clean
                    .trim_start_matches(['+', '-'])
                    .chars()
                    .all(|c| c.is_ascii_digit()) =>
            {
                self.err(format!("{text} is out of range for int64"))
            }
            Err(_) => self.err(format!(
                "expected value but found {} instead",
                crate::gofmt::quote(text)
            )),
        }
    }
}

fn digits(s: &str, n: usize) -> Option<i64> {
    (s.len() == n && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// `hh:mm[:ss[.frac]]` → seconds of day and nanoseconds.
fn parse_time_of_day(s: &str) -> Option<(i64, u32, &str)> {
    let h = digits(s.get(0..2)?, 2)?;
    if s.get(2..3)? != ":" {
        return None;
    }
    let m = digits(s.get(3..5)?, 2)?;
    let mut rest = &s[5..];
    let mut sec = 0;
    let mut nanos = 0u32;
    if let Some(r) = rest.strip_prefix(':') {
        sec = digits(r.get(0..2)?, 2)?;
        rest = &r[2..];
        if let Some(f) = rest.strip_prefix('.') {
            let n = f.bytes().take_while(u8::is_ascii_digit).count();
            if n == 0 {
                return None;
            }
            let mut frac = f[..n].to_string();
            frac.truncate(9);
            while frac.len() < 9 {
                frac.push('0');
            }
            nanos = frac.parse().ok()?;
            rest = &f[n..];
        }
    }
    if h > 23 || m > 59 || sec > 59 {
        return None;
    }
    Some((h * 3600 + m * 60 + sec, nanos, rest))
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn date_days(s: &str) -> Option<i64> {
    let y = digits(s.get(0..4)?, 4)?;
    let m = digits(s.get(5..7)?, 2)?;
    let d = digits(s.get(8..10)?, 2)?;
    if s.get(4..5)? != "-" || s.get(7..8)? != "-" || !(1..=12).contains(&m) {
        return None;
    }
    if d < 1 || d > i64::from(super::dates::days_in(m as u32, y)) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// A time `secs` of wall clock in the zone `abbr` at `offset`; the local
/// kinds are in BurntSushi's zones of those names.
fn time_value(secs: i64, nanos: u32, offset: i32, abbr: &str) -> Value {
    time_in(secs, nanos, offset, abbr, Loc::fixed(abbr, offset))
}

fn time_in(secs: i64, nanos: u32, offset: i32, abbr: &str, loc: Loc) -> Value {
    Value::object(Object::Time(GoTime {
        secs: secs - offset as i64,
        nanos,
        offset,
        abbr: abbr.to_string(),
        loc,
    }))
}

/// Offset date-times, local date-times, local dates and local times.
fn datetime(s: &str) -> Option<Value> {
    if s.as_bytes().get(2) == Some(&b':') {
        let (secs, nanos, rest) = parse_time_of_day(s)?;
        // A local time is on Go's zero date (0000-01-01).
        return rest.is_empty().then(|| {
            time_value(
                days_from_civil(0, 1, 1) * 86_400 + secs,
                nanos,
                0,
                "time-local",
            )
        });
    }
    let days = date_days(s)?;
    if s.len() == 10 {
        return Some(time_value(days * 86_400, 0, 0, "date-local"));
    }
    let sep = s.as_bytes()[10];
    if !matches!(sep, b'T' | b't' | b' ') {
        return None;
    }
    let (secs, nanos, rest) = parse_time_of_day(&s[11..])?;
    let local = days * 86_400 + secs;
    if rest.is_empty() {
        return Some(time_value(local, nanos, 0, "datetime-local"));
    }
    if rest == "Z" || rest == "z" {
        return Some(time_in(local, nanos, 0, "UTC", Loc::Utc));
    }
    let sign = match rest.as_bytes()[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let oh = digits(rest.get(1..3)?, 2)?;
    if rest.get(3..4)? != ":" {
        return None;
    }
    let om = digits(rest.get(4..6)?, 2)?;
    if rest.len() != 6 || oh > 23 || om > 59 {
        return None;
    }
    let offset = sign * (oh * 3600 + om * 60) as i32;
    // Go parses in Local (UTC here): a zero offset is Local's zone, others
    // unnamed zones of their own.
    Some(if offset == 0 {
        time_in(local, nanos, 0, "UTC", Loc::Local)
    } else {
        time_in(local, nanos, offset, "", Loc::fixed("", offset))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(text: &str) -> String {
        match parse(text) {
            Ok(v) => crate::gofmt::sprint_value(&v),
            Err(e) => e,
        }
    }

    #[test]
    fn documents_parse() {
        assert_eq!(
            show("a = 1\nb = \"x\\ty\"\n[t]\nc = [1, 2.5, true]\n[[arr]]\nn = 1\n[[arr]]\nn = 2\n"),
            "map[a:1 arr:[map[n:1] map[n:2]] b:x\ty t:map[c:[1 2.5 true]]]"
        );
        assert_eq!(show("a.b.c = 1\na.d = 2"), "map[a:map[b:map[c:1] d:2]]");
        assert_eq!(
            show("x = {y = 1, z = {w = 2}}"),
            "map[x:map[y:1 z:map[w:2]]]"
        );
        assert_eq!(show("s = '''\nraw\\n'''"), "map[s:raw\\n]");
        assert_eq!(
            show("n = 0x1F\no = 0o17\nb = 0b11\nu = 1_000"),
            "map[b:3 n:31 o:15 u:1000]"
        );
        assert_eq!(
            show("a = 1\na = 2"),
            "toml: line 2 (last key \"a\"): Key 'a' has already been defined."
        );
        assert_eq!(
            show("a = "),
            "toml: line 1 (last key \"a\"): unexpected EOF; expected value"
        );
        assert_eq!(
            show("d = 1979-05-27T07:32:00Z"),
            "map[d:1979-05-27 07:32:00 +0000 UTC]"
        );
        assert_eq!(
            show("d = 1979-05-27"),
            "map[d:1979-05-27 00:00:00 +0000 date-local]"
        );
    }
}
