//! Conversion, inspection and defaulting: Sprig's `conversion.go`,
//! `reflect.go`, `defaults.go` (default, empty, coalesce, all, any,
//! ternary, deepCopy) and the number casts it takes from spf13/cast.

use super::{FuncMap, Ty, add, s, sig, sig_var};
use crate::gofmt;
use crate::parse::{parse_go_float, parse_go_int};
use crate::value::{Kind, ListType, Object, Value};

pub fn register(m: &mut FuncMap) {
    use Ty::*;
    add(m, "toString", sig(&[Any]), |_, a| {
        Ok(Value::str(strval(&a[0])))
    });
    add(m, "toStrings", sig(&[Any]), |_, a| {
        // Sprig's strslice hands a []string back as it is, nil included.
        if let Value::List(l) = &a[0]
            && l.nil
            && l.ty == ListType::String
        {
            return Ok(a[0].clone());
        }
        Ok(Value::str_list(strslice(&a[0])))
    });
    add(m, "atoi", sig(&[Str]), |_, a| {
        Ok(Value::Int(atoi(s(&a[0]))))
    });
    add(m, "int", sig(&[Any]), |_, a| {
        Ok(Value::Int(to_int64(&a[0])))
    });
    add(m, "int64", sig(&[Any]), |_, a| {
        Ok(Value::Int64(to_int64(&a[0])))
    });
    add(m, "float64", sig(&[Any]), |_, a| {
        Ok(Value::Float(to_float64(&a[0])))
    });
    add(m, "toDecimal", sig(&[Any]), |_, a| {
        Ok(Value::Int64(parse_octal(&gofmt::sprint_value(&a[0]))))
    });
    add(m, "typeOf", sig(&[Any]), |_, a| {
        Ok(Value::str(a[0].go_type_of()))
    });
    add(m, "typeIs", sig(&[Str, Any]), |_, a| {
        Ok(Value::Bool(s(&a[0]) == a[1].go_type_of()))
    });
    add(m, "typeIsLike", sig(&[Str, Any]), |_, a| {
        let t = a[1].go_type_of();
        Ok(Value::Bool(s(&a[0]) == t || format!("*{}", s(&a[0])) == t))
    });
    add(m, "kindOf", sig(&[Any]), |_, a| {
        Ok(Value::str(kind_of(&a[0])))
    });
    add(m, "kindIs", sig(&[Str, Any]), |_, a| {
        Ok(Value::Bool(s(&a[0]) == kind_of(&a[1])))
    });
    add(m, "deepEqual", sig(&[Any, Any]), |_, a| {
        Ok(Value::Bool(deep_equal(&a[0], &a[1])))
    });
    add(m, "default", sig_var(&[Any], Any), |_, a| {
        if a.len() < 2 || empty(&a[1]) {
            return Ok(a[0].clone());
        }
        Ok(a[1].clone())
    });
    add(m, "empty", sig(&[Any]), |_, a| {
        Ok(Value::Bool(empty(&a[0])))
    });
    add(m, "coalesce", sig_var(&[], Any), |_, a| {
        Ok(a.iter().find(|v| !empty(v)).cloned().unwrap_or(Value::Nil))
    });
    add(m, "all", sig_var(&[], Any), |_, a| {
        Ok(Value::Bool(a.iter().all(|v| !empty(v))))
    });
    add(m, "any", sig_var(&[], Any), |_, a| {
        Ok(Value::Bool(a.iter().any(|v| !empty(v))))
    });
    add(m, "ternary", sig(&[Any, Any, Bool]), |_, a| {
        Ok(if matches!(a[2], Value::Bool(true)) {
            a[0].clone()
        } else {
            a[1].clone()
        })
    });
    // copystructure panics on nil (it asks a zero reflect.Value its type).
    add(m, "deepCopy", sig(&[Any]), |_, a| {
        if a[0].is_nil() {
            return Err(super::err(
                "reflect: call of reflect.Value.Type on zero Value",
            ));
        }
        Ok(a[0].deep_copy())
    });
    add(m, "mustDeepCopy", sig(&[Any]), |_, a| {
        if a[0].is_nil() {
            return Err(super::err(
                "reflect: call of reflect.Value.Type on zero Value",
            ));
        }
        Ok(a[0].deep_copy())
    });
}

/// Sprig's `strval`: strings as is, bytes as text, Stringers via `String()`,
/// everything else via `%v`.
pub fn strval(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        Value::Bytes(b) => crate::value::gostr::from_bytes(b),
        Value::Object(o) => match &**o {
            Object::Semver(v) | Object::SemverValue(v) => v.to_string(),
            Object::Time(t) => t.go_string(),
            Object::Duration(d) => super::dates::duration_string(*d),
            Object::Location(l) => l.name().to_string(),
            _ => gofmt::sprint_value(v),
        },
        other => gofmt::sprint_value(other),
    }
}

/// Sprig's `strslice`: a list as strings (nils dropped), a scalar as a
/// one-element list, nil as the empty list.
pub fn strslice(v: &Value) -> Vec<String> {
    match v {
        Value::List(l) if l.ty != ListType::Any => l.items.iter().map(strval).collect(),
        Value::List(l) => l.items.iter().filter(|x| !x.is_nil()).map(strval).collect(),
        Value::Bytes(b) => b.iter().map(|x| x.to_string()).collect(),
        Value::Nil | Value::Invalid => Vec::new(),
        other => vec![strval(other)],
    }
}

fn atoi(s: &str) -> i64 {
    // strconv.Atoi: optional sign and decimal digits only.
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return 0;
    }
    s.parse::<i64>().unwrap_or(0)
}

/// spf13/cast's `trimZeroDecimal`: "3.0" → "3".
fn trim_zero_decimal(s: &str) -> &str {
    let mut found_zero = false;
    for (i, c) in s.char_indices().rev() {
        match c {
            '.' => {
                if found_zero {
                    return &s[..i];
                }
                return s;
            }
            '0' => found_zero = true,
            _ => return s,
        }
    }
    s
}

/// spf13/cast `ToInt64`: errors become 0.
pub fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Uint(u) => *u as i64,
        Value::Float(f) => go_float_to_int(*f),
        Value::String(s) => parse_go_int(trim_zero_decimal(s)).unwrap_or(0),
        Value::Bool(b) => i64::from(*b),
        _ => 0,
    }
}

/// Go's float-to-int conversion (truncation; out of range is undefined in Go,
/// amd64 yields the minimum int64).
pub fn go_float_to_int(f: f64) -> i64 {
    if f.is_nan() || !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f) {
        return i64::MIN;
    }
    f as i64
}

/// spf13/cast `ToFloat64`: errors become 0.
pub fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i as f64,
        Value::Uint(u) => *u as f64,
        Value::Float(f) => *f,
        Value::String(s) => parse_go_float(s).unwrap_or(0.0),
        Value::Bool(b) => f64::from(u8::from(*b)),
        _ => 0.0,
    }
}

/// Sprig's `kindOf`: `reflect.Kind` name.
pub fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Invalid | Value::Nil => "invalid",
        Value::Bytes(_) => "slice",
        other => match other.kind() {
            Kind::Interface => "interface",
            k => k.name(),
        },
    }
}

/// Sprig's `empty`.
pub fn empty(v: &Value) -> bool {
    match v {
        Value::Object(o) => match &**o {
            Object::Files(f) => f.is_empty(),
            Object::Duration(d) => *d == 0,
            _ => false,
        },
        other => !other.truth(),
    }
}

/// Go's `reflect.DeepEqual` on template values.
pub fn deep_equal(a: &Value, b: &Value) -> bool {
    let Some(_level) = crate::value::DepthGuard::enter() else {
        return false;
    };
    match (a, b) {
        (Value::Invalid | Value::Nil, Value::Invalid | Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) | (Value::Int64(x), Value::Int64(y)) => x == y,
        (Value::Uint(x), Value::Uint(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Bytes(x), Value::Bytes(y)) => x == y,
        // A nil slice or map equals only a nil one (`list` against
        // `fromJsonArray "null"`), as in reflect.DeepEqual.
        (Value::List(x), Value::List(y)) => {
            x.ty == y.ty
                && x.nil == y.nil
                && x.len() == y.len()
                && x.items
                    .iter()
                    .zip(y.items.iter())
                    .all(|(p, q)| deep_equal(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            if x.ty != y.ty || x.nil != y.nil || x.len() != y.len() {
                return false;
            }
            if x.same(y) {
                return true;
            }
            let xe = x.pairs();
            let ye = y.pairs();
            xe.iter()
                .zip(ye.iter())
                .all(|((k1, v1), (k2, v2))| k1 == k2 && deep_equal(v1, v2))
        }
        (Value::Object(x), Value::Object(y)) => {
            gofmt::sprint_value(a) == gofmt::sprint_value(b)
                && std::mem::discriminant(&**x) == std::mem::discriminant(&**y)
        }
        _ => false,
    }
}

/// `strconv.ParseInt(s, 8, 64)`, errors as 0.
fn parse_octal(text: &str) -> i64 {
    let (neg, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if body.is_empty() || !body.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return 0;
    }
    match i64::from_str_radix(body, 8) {
        Ok(v) if neg => -v,
        Ok(v) => v,
        Err(_) => 0,
    }
}
