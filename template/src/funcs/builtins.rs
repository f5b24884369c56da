//! Go's predefined template functions (`text/template/funcs.go`):
//! `and or not len index print printf println html js urlquery call` and the
//! comparisons `eq ne lt le gt ge`. (`slice` is Sprig's, see `lists`.)

use super::{FuncMap, Sig, Ty, err};
use crate::error::GoError;
use crate::exec::Engine;
use crate::gofmt;
use crate::value::{Object, Value};

fn add_builtin(m: &mut FuncMap, name: &'static str, sig: Sig, f: super::FnImpl) {
    m.insert(
        name,
        super::Func {
            sig,
            f,
            builtin: true,
        },
    );
}

pub fn register(m: &mut FuncMap) {
    use Ty::*;
    // and/or/call are evaluated by the executor itself.
    add_builtin(
        m,
        "and",
        super::sig_var(&[Reflect], Reflect),
        unreachable_fn,
    );
    add_builtin(m, "or", super::sig_var(&[Reflect], Reflect), unreachable_fn);
    add_builtin(
        m,
        "call",
        super::sig_var(&[Reflect], Reflect),
        unreachable_fn,
    );
    add_builtin(m, "not", super::sig(&[Reflect]), |_, a| {
        Ok(Value::Bool(!a[0].truth()))
    });
    add_builtin(m, "len", super::sig(&[Reflect]), length);
    add_builtin(m, "index", super::sig_var(&[Reflect], Reflect), index);
    add_builtin(m, "print", super::sig_var(&[], Any), |_, a| {
        super::check_all_printable(&a)?;
        Ok(Value::str(gofmt::sprint(&a)))
    });
    add_builtin(m, "printf", super::sig_var(&[Str], Any), |_, a| {
        super::check_all_printable(&a)?;
        Ok(Value::str(gofmt::sprintf(super::s(&a[0]), &a[1..])))
    });
    add_builtin(m, "println", super::sig_var(&[], Any), |_, a| {
        super::check_all_printable(&a)?;
        Ok(Value::str(gofmt::sprintln(&a)))
    });
    add_builtin(m, "html", super::sig_var(&[], Any), |_, a| {
        Ok(Value::str(html_escape(&eval_args(&a))))
    });
    add_builtin(m, "js", super::sig_var(&[], Any), |_, a| {
        Ok(Value::str(js_escape(&eval_args(&a))))
    });
    add_builtin(m, "urlquery", super::sig_var(&[], Any), |_, a| {
        Ok(Value::str(query_escape(&eval_args(&a))))
    });
    add_builtin(m, "eq", super::sig_var(&[Reflect], Reflect), |_, a| {
        eq(&a[0], &a[1..]).map(Value::Bool)
    });
    add_builtin(m, "ne", super::sig(&[Reflect, Reflect]), |_, a| {
        eq(&a[0], &a[1..2]).map(|b| Value::Bool(!b))
    });
    add_builtin(m, "lt", super::sig(&[Reflect, Reflect]), |_, a| {
        lt(&a[0], &a[1]).map(Value::Bool)
    });
    add_builtin(m, "le", super::sig(&[Reflect, Reflect]), |_, a| {
        le(&a[0], &a[1]).map(Value::Bool)
    });
    add_builtin(m, "gt", super::sig(&[Reflect, Reflect]), |_, a| {
        le(&a[0], &a[1]).map(|b| Value::Bool(!b))
    });
    add_builtin(m, "ge", super::sig(&[Reflect, Reflect]), |_, a| {
        lt(&a[0], &a[1]).map(|b| Value::Bool(!b))
    });
}

fn unreachable_fn(_: &mut Engine<'_>, _: Vec<Value>) -> Result<Value, GoError> {
    Err(err("internal error: special form called as a function"))
}

/// The type `len` and `index` name in their errors: text/template's
/// `indirect` has followed the pointer (`*semver.Version` is
/// `semver.Version` there).
fn indirect_type_name(v: &Value) -> &'static str {
    let name = v.type_name();
    name.strip_prefix('*').unwrap_or(name)
}

fn length(_: &mut Engine<'_>, a: Vec<Value>) -> Result<Value, GoError> {
    // A literal nil is no value at all: Go asks its type and panics.
    if let Value::Invalid = a[0] {
        return Err(err("reflect: call of reflect.Value.Type on zero Value"));
    }
    let item = a[0].clone().indirect_interface();
    if let Value::Invalid = item {
        return Err(err("len of nil pointer"));
    }
    match item.len() {
        Some(n) => Ok(Value::Int(n as i64)),
        None => Err(err(format!("len of type {}", indirect_type_name(&item)))),
    }
}

/// Go's `indexArg`.
fn index_arg(index: &Value, cap: usize) -> Result<usize, GoError> {
    let x = match index {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Uint(u) => *u as i64,
        Value::Invalid | Value::Nil => return Err(err("cannot index slice/array with nil")),
        other => {
            return Err(err(format!(
                "cannot index slice/array with type {}",
                other.type_name()
            )));
        }
    };
    if x < 0 || x as u64 > cap as u64 {
        return Err(err(format!("index out of range: {x}")));
    }
    Ok(x as usize)
}

/// Go's `index`: `index x 1 2 3` is `x[1][2][3]`.
fn index(_: &mut Engine<'_>, a: Vec<Value>) -> Result<Value, GoError> {
    let mut item = a[0].clone().indirect_interface();
    if let Value::Invalid = item {
        return Err(err("index of untyped nil"));
    }
    for idx in &a[1..] {
        let idx = idx.clone().indirect_interface();
        item = match &item {
            Value::Nil => return Err(err("index of nil pointer")),
            // An index equal to the length passes Go's indexArg and then
            // panics in reflect.
            Value::List(l) => {
                let x = index_arg(&idx, l.len())?;
                match l.items.get(x) {
                    Some(v) => v.clone(),
                    None => return Err(err("reflect: slice index out of range")),
                }
            }
            Value::String(s) => {
                let bytes = crate::value::gostr::to_bytes(s);
                let x = index_arg(&idx, bytes.len())?;
                match bytes.get(x) {
                    Some(b) => Value::Uint(*b as u64),
                    None => return Err(err("reflect: string index out of range")),
                }
            }
            Value::Bytes(b) => {
                let x = index_arg(&idx, b.len())?;
                match b.get(x) {
                    Some(b) => Value::Uint(*b as u64),
                    None => return Err(err("reflect: slice index out of range")),
                }
            }
            Value::Map(m) => {
                let key = map_key(&idx)?;
                match m.get(&key) {
                    Some(v) => v,
                    None if m.ty == crate::value::MapType::StringString => Value::str(""),
                    None => Value::Nil,
                }
            }
            Value::Object(o) if matches!(**o, Object::Files(_)) => {
                let key = map_key(&idx)?;
                match &**o {
                    Object::Files(f) => Value::bytes_of(f.get(&key).map_or(&[], |b| b)),
                    _ => Value::Invalid,
                }
            }
            other => {
                return Err(err(format!(
                    "can't index item of type {}",
                    indirect_type_name(other)
                )));
            }
        };
    }
    Ok(item)
}

/// Go's `prepareArg` for a `string` map key.
fn map_key(idx: &Value) -> Result<String, GoError> {
    match idx {
        Value::String(s) => Ok(s.to_string()),
        Value::Invalid | Value::Nil => Err(err("value is nil; should be of type string")),
        other => Err(err(format!(
            "value has type {}; should be string",
            other.type_name()
        ))),
    }
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum BasicKind {
    Invalid,
    Bool,
    Int,
    Float,
    Complex,
    String,
    Uint,
}

fn basic_kind(v: &Value) -> BasicKind {
    match v {
        Value::Bool(_) => BasicKind::Bool,
        Value::Int(_) | Value::Int64(_) => BasicKind::Int,
        v if v.duration().is_some() => BasicKind::Int,
        Value::Uint(_) => BasicKind::Uint,
        Value::Float(_) => BasicKind::Float,
        Value::Complex(..) => BasicKind::Complex,
        Value::String(_) => BasicKind::String,
        _ => BasicKind::Invalid,
    }
}

fn type_of(v: &Value) -> &'static str {
    v.type_name()
}

/// Go's `eq`: `arg1 == arg2 || arg1 == arg3 ...`.
pub fn eq(arg1: &Value, rest: &[Value]) -> Result<bool, GoError> {
    let arg1 = arg1.clone().indirect_interface();
    if rest.is_empty() {
        return Err(err("missing argument for comparison"));
    }
    let k1 = basic_kind(&arg1);
    for arg in rest {
        let arg = arg.clone().indirect_interface();
        let k2 = basic_kind(&arg);
        let truth = if k1 != k2 {
            // Special case: Can compare integer values regardless of type's sign.
            match (&arg1, &arg) {
                (a, Value::Uint(u)) if k1 == BasicKind::Int => {
                    a.as_i64().is_some_and(|i| i >= 0 && i as u64 == *u)
                }
                (Value::Uint(u), b) if k2 == BasicKind::Int => {
                    b.as_i64().is_some_and(|i| i >= 0 && *u == i as u64)
                }
                _ => {
                    let valid1 = !matches!(arg1, Value::Invalid);
                    let valid2 = !matches!(arg, Value::Invalid);
                    if valid1 && valid2 {
                        return Err(err(format!(
                            "incompatible types for comparison: {} and {}",
                            type_of(&arg1),
                            type_of(&arg)
                        )));
                    }
                    false
                }
            }
        } else {
            match (&arg1, &arg) {
                (Value::Bool(a), Value::Bool(b)) => a == b,
                (Value::Float(a), Value::Float(b)) => a == b,
                (Value::Complex(ar, ai), Value::Complex(br, bi)) => ar == br && ai == bi,
                (Value::String(a), Value::String(b)) => a == b,
                (Value::Uint(a), Value::Uint(b)) => a == b,
                (a, b) if k1 == BasicKind::Int => a.as_i64() == b.as_i64(),
                _ => {
                    // Non-basic kinds: only nil comparisons are allowed.
                    let nil1 = is_nil(&arg1);
                    let nil2 = is_nil(&arg);
                    if !can_compare(&arg1, &arg) {
                        return Err(err(gofmt::sprintf(
                            "non-comparable types %s: %v, %s: %v",
                            &[
                                arg1.clone(),
                                Value::str(type_of(&arg1)),
                                Value::str(type_of(&arg)),
                                arg.clone(),
                            ],
                        )));
                    }
                    if nil1 || nil2 {
                        nil1 == nil2
                    } else {
                        if !comparable(&arg) {
                            return Err(err(gofmt::sprintf(
                                "non-comparable type %s: %v",
                                &[arg.clone(), Value::str(type_of(&arg))],
                            )));
                        }
                        match (&arg1, &arg) {
                            // Pointers: the same location or not.
                            (Value::Object(a), Value::Object(b)) => match (&**a, &**b) {
                                (Object::Location(x), Object::Location(y)) => x == y,
                                _ => false,
                            },
                            // Comparable non-basic values (structs) compare
                            // by identity here.
                            _ => false,
                        }
                    }
                }
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Go's isNil: no value, or a nil map or slice.
fn is_nil(v: &Value) -> bool {
    match v {
        Value::Invalid | Value::Nil => true,
        Value::List(l) => l.nil,
        Value::Map(m) => m.nil,
        _ => false,
    }
}

fn can_compare(a: &Value, b: &Value) -> bool {
    a.kind() == b.kind() || matches!(a, Value::Invalid) || matches!(b, Value::Invalid)
}

fn comparable(v: &Value) -> bool {
    !matches!(v, Value::List(_) | Value::Map(_) | Value::Bytes(_))
        && !matches!(v, Value::Object(o) if matches!(**o, Object::Files(_)))
}

/// Go's `lt`.
pub fn lt(a: &Value, b: &Value) -> Result<bool, GoError> {
    let a = a.clone().indirect_interface();
    let k1 = basic_kind(&a);
    if k1 == BasicKind::Invalid {
        return Err(err("invalid type for comparison"));
    }
    let b = b.clone().indirect_interface();
    let k2 = basic_kind(&b);
    if k2 == BasicKind::Invalid {
        return Err(err("invalid type for comparison"));
    }
    if k1 != k2 {
        return match (&a, &b) {
            (x, Value::Uint(u)) if k1 == BasicKind::Int => {
                Ok(x.as_i64().is_some_and(|i| i < 0 || (i as u64) < *u))
            }
            (Value::Uint(u), y) if k2 == BasicKind::Int => {
                Ok(y.as_i64().is_some_and(|i| i >= 0 && *u < i as u64))
            }
            _ => Err(err(format!(
                "incompatible types for comparison: {} and {}",
                type_of(&a),
                type_of(&b)
            ))),
        };
    }
    Ok(match (&a, &b) {
        (Value::Bool(_) | Value::Complex(..), _) => {
            return Err(err("invalid type for comparison"));
        }
        (Value::Float(x), Value::Float(y)) => x < y,
        (Value::String(x), Value::String(y)) => crate::value::gostr::cmp(x, y).is_lt(),
        (Value::Uint(x), Value::Uint(y)) => x < y,
        (x, y) => x.as_i64() < y.as_i64(),
    })
}

/// Go's `le`: `<` or `==`.
pub fn le(a: &Value, b: &Value) -> Result<bool, GoError> {
    if lt(a, b)? {
        return Ok(true);
    }
    eq(a, std::slice::from_ref(b))
}

/// Go's `evalArgs`: `fmt.Sprint` of the arguments (one string passes through).
/// Go's `evalArgs` (for html, js, urlquery): one string as is, else each
/// argument made printable (no value prints `<no value>`, pointers are
/// followed) and joined as `fmt.Sprint` joins: a space between two
/// operands when neither is a string.
fn eval_args(a: &[Value]) -> String {
    if let [Value::String(s)] = a {
        return s.to_string();
    }
    let mut out = String::new();
    let mut prev_string = true;
    for (i, v) in a.iter().enumerate() {
        let (text, is_string) = match v {
            Value::Invalid | Value::Nil => ("<no value>".to_string(), true),
            Value::String(s) => (s.to_string(), true),
            other => (gofmt::sprint_printable(other), false),
        };
        if i > 0 && !is_string && !prev_string {
            out.push(' ');
        }
        out.push_str(&text);
        prev_string = is_string;
    }
    out
}

/// Go's `template.HTMLEscapeString`.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\0' => out.push('\u{FFFD}'),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Go's `template.JSEscapeString`.
pub fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c if (c as u32) < 0x80 => out.push(c),
            // A byte that is not UTF-8 decodes as U+FFFD, which is
            // printable: Go writes the byte as it is.
            c if crate::value::gostr::escaped_byte(c).is_some() => out.push(c),
            c if gofmt::is_print(c) => out.push(c),
            c => out.push_str(&format!("\\u{:04X}", c as u32)),
        }
    }
    out
}

/// Go's `url.QueryEscape`.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    // The string's bytes as Go has them (not valid UTF-8, perhaps).
    for &b in crate::value::gostr::to_bytes(s).iter() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
