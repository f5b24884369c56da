//! Sprig's list functions (`list.go`, `until`/`untilStep`/`seq` from
//! `numeric.go`). Sprig's non-`must` variants panic on bad input, which Go's
//! template engine turns into the call's error; both variants therefore
//! return errors here, with Sprig's texts.

use super::conv::{deep_equal, empty, strslice, strval, to_int64};
use super::{FuncMap, Ty, add, i, sig, sig_var};
use crate::error::GoError;
use crate::value::{List, ListType, Value};

type R = Result<Value, GoError>;

/// The elements of a slice argument, or Sprig's error for other kinds
/// (a nil argument makes Go's `reflect.TypeOf(nil).Kind()` panic).
fn elems(v: &Value, what: &str) -> Result<Vec<Value>, GoError> {
    match v {
        Value::List(l) => Ok(l.items.to_vec()),
        Value::Bytes(b) => Ok(b.iter().map(|x| Value::Uint(*x as u64)).collect()),
        Value::Nil | Value::Invalid => Err(nil_deref()),
        // Sprig words chunk's error without the "on".
        other if what == "chunk" => Err(super::err(format!(
            "Cannot chunk type {}",
            super::conv::kind_of(other)
        ))),
        other => Err(super::err(format!(
            "Cannot {what} on type {}",
            super::conv::kind_of(other)
        ))),
    }
}

pub fn nil_deref() -> GoError {
    super::err("runtime error: invalid memory address or nil pointer dereference")
}

fn list_of(items: Vec<Value>) -> R {
    Ok(Value::list(items))
}

pub fn register(m: &mut FuncMap) {
    use Ty::*;
    add(m, "list", sig_var(&[], Any), |_, a| list_of(a));
    add(m, "tuple", sig_var(&[], Any), |_, a| list_of(a));
    for name in ["append", "push", "mustAppend", "mustPush"] {
        add(m, name, sig(&[Any, Any]), |_, a| {
            let mut l = elems(&a[0], "push")?;
            l.push(a[1].clone());
            list_of(l)
        });
    }
    for name in ["prepend", "mustPrepend"] {
        add(m, name, sig(&[Any, Any]), |_, a| {
            let mut l = elems(&a[0], "prepend")?;
            l.insert(0, a[1].clone());
            list_of(l)
        });
    }
    for name in ["first", "mustFirst"] {
        add(m, name, sig(&[Any]), |_, a| {
            Ok(elems(&a[0], "find first")?
                .first()
                .cloned()
                .unwrap_or(Value::Nil))
        });
    }
    for name in ["last", "mustLast"] {
        add(m, name, sig(&[Any]), |_, a| {
            Ok(elems(&a[0], "find last")?
                .last()
                .cloned()
                .unwrap_or(Value::Nil))
        });
    }
    for name in ["rest", "mustRest"] {
        add(m, name, sig(&[Any]), |_, a| {
            let l = elems(&a[0], "find rest")?;
            if l.is_empty() {
                // Sprig returns nil for an empty list (`null` in JSON).
                return Ok(Value::List(List::nil_of(ListType::Any)));
            }
            list_of(l.into_iter().skip(1).collect())
        });
    }
    for name in ["initial", "mustInitial"] {
        add(m, name, sig(&[Any]), |_, a| {
            let mut l = elems(&a[0], "find initial")?;
            if l.is_empty() {
                // Sprig returns nil for an empty list (`null` in JSON).
                return Ok(Value::List(List::nil_of(ListType::Any)));
            }
            l.pop();
            list_of(l)
        });
    }
    for name in ["reverse", "mustReverse"] {
        add(m, name, sig(&[Any]), |_, a| {
            let mut l = elems(&a[0], "find reverse")?;
            l.reverse();
            list_of(l)
        });
    }
    for name in ["uniq", "mustUniq"] {
        add(m, name, sig(&[Any]), |_, a| {
            let mut dest: Vec<Value> = Vec::new();
            for item in elems(&a[0], "find uniq")? {
                if !dest.iter().any(|d| deep_equal(&item, d)) {
                    dest.push(item);
                }
            }
            list_of(dest)
        });
    }
    for name in ["compact", "mustCompact"] {
        add(m, name, sig(&[Any]), |_, a| {
            list_of(
                elems(&a[0], "compact")?
                    .into_iter()
                    .filter(|v| !empty(v))
                    .collect(),
            )
        });
    }
    for name in ["without", "mustWithout"] {
        add(m, name, sig_var(&[Any], Any), |_, a| {
            let omit = &a[1..];
            list_of(
                elems(&a[0], "find without")?
                    .into_iter()
                    .filter(|v| !omit.iter().any(|o| deep_equal(v, o)))
                    .collect(),
            )
        });
    }
    for name in ["has", "mustHas"] {
        add(m, name, sig(&[Any, Any]), |_, a| {
            if a[1].is_nil() {
                return Ok(Value::Bool(false));
            }
            Ok(Value::Bool(
                elems(&a[1], "find has")?
                    .iter()
                    .any(|v| deep_equal(&a[0], v)),
            ))
        });
    }
    for name in ["slice", "mustSlice"] {
        add(m, name, sig_var(&[Any], Any), slice);
    }
    add(m, "concat", sig_var(&[], Any), |_, a| {
        // The same long list can be passed many times.
        let items: usize = a
            .iter()
            .map(|l| match l {
                Value::List(x) => x.items.len(),
                _ => 0,
            })
            .sum();
        super::check_size(items as u128 * size_of::<Value>() as u128)?;
        let mut res = Vec::new();
        for l in &a {
            match l {
                Value::List(x) => res.extend(x.items.iter().cloned()),
                Value::Nil | Value::Invalid => return Err(nil_deref()),
                other => {
                    return Err(super::err(format!(
                        "Cannot concat type {} as list",
                        super::conv::kind_of(other)
                    )));
                }
            }
        }
        // Go returns a nil []interface{} here: it prints as `[]` (as an
        // empty list does) but serializes as `null`.
        if res.is_empty() {
            return Ok(Value::List(List::nil_of(ListType::Any)));
        }
        list_of(res)
    });
    for name in ["chunk", "mustChunk"] {
        add(m, name, sig(&[Int, Any]), |_, a| {
            let size = i(&a[0]);
            let l = elems(&a[1], "chunk")?;
            Ok(Value::List(List::typed(chunk(&l, size)?, ListType::Nested)))
        });
    }
    add(m, "sortAlpha", sig(&[Any]), |_, a| match &a[0] {
        // Sprig's strslice hands a []string back as it is, nil included.
        Value::List(l) if l.nil && l.ty == ListType::String => Ok(a[0].clone()),
        Value::List(_) | Value::Bytes(_) => {
            let mut v = strslice(&a[0]);
            v.sort_by(|x, y| crate::value::gostr::cmp(x, y));
            Ok(Value::str_list(v))
        }
        other => Ok(Value::str_list(vec![strval(other)])),
    });
    add(m, "until", sig(&[Int]), |_, a| {
        let count = i(&a[0]);
        Ok(int_list(until_step(
            0,
            count,
            if count < 0 { -1 } else { 1 },
            INT_LIST_ITEM,
        )?))
    });
    add(m, "untilStep", sig(&[Int, Int, Int]), |_, a| {
        Ok(int_list(until_step(
            i(&a[0]),
            i(&a[1]),
            i(&a[2]),
            INT_LIST_ITEM,
        )?))
    });
    add(m, "seq", sig_var(&[], Int), |_, a| {
        Ok(Value::str(seq(&a.iter().map(i).collect::<Vec<_>>())?))
    });
}

/// Go's `int(f)` on amd64: what does not fit (NaN, infinities) is the
/// smallest int.
fn go_int(f: f64) -> i64 {
    if f.is_finite() && f >= i64::MIN as f64 && f < i64::MAX as f64 {
        f as i64
    } else {
        i64::MIN
    }
}

/// Sprig's `chunk`, whose float arithmetic a size of zero or below turns
/// into an empty list, one odd chunk, or a negative length Go's `make`
/// refuses.
fn chunk(l: &[Value], size: i64) -> Result<Vec<Value>, GoError> {
    let too_long = || super::err("runtime error: makeslice: len out of range");
    let n = l.len() as f64;
    let count = go_int(((n - 1.0) / size as f64).floor() + 1.0);
    if count < 0 {
        return Err(too_long());
    }
    let mut out = Vec::new();
    for c in 0..count {
        let mut len = size;
        if c == count - 1 {
            len = go_int((n % size as f64).floor());
            if len == 0 {
                len = size;
            }
        }
        if len < 0 {
            return Err(too_long());
        }
        let from = c.saturating_mul(size);
        let items = l
            .get(from as usize..from.saturating_add(len) as usize)
            .ok_or_else(|| super::err("reflect: slice index out of range"))?;
        out.push(Value::list(items.to_vec()));
    }
    Ok(out)
}

fn slice(_: &mut crate::exec::Engine<'_>, a: Vec<Value>) -> R {
    let (items, ty) = match &a[0] {
        Value::List(l) => (l.items.to_vec(), l.ty),
        Value::Nil | Value::Invalid => return Err(nil_deref()),
        other => {
            return Err(super::err(format!(
                "list should be type of slice or array but {}",
                super::conv::kind_of(other)
            )));
        }
    };
    let l = items.len() as i64;
    if l == 0 {
        return Ok(Value::Nil);
    }
    let start = a.get(1).map(to_int64).unwrap_or(0);
    let end = if a.len() < 3 { l } else { to_int64(&a[2]) };
    if start < 0 || end < start || end > l {
        return Err(super::err("reflect.Value.Slice: slice index out of bounds"));
    }
    Ok(Value::List(List::typed(
        items[start as usize..end as usize].to_vec(),
        ty,
    )))
}

fn int_list(v: Vec<i64>) -> Value {
    Value::List(List::typed(
        v.into_iter().map(Value::Int).collect(),
        ListType::Int,
    ))
}

/// What one item of `until`'s list costs: the number, then its value.
const INT_LIST_ITEM: u128 = (size_of::<i64>() + size_of::<Value>()) as u128;

/// Sprig's `untilStep`. Go's loop wraps around on overflow and then runs
/// until memory is exhausted; we stop at the wrap, and refuse results
/// whose items, at `item_bytes` each, pass [`super::MAX_RESULT`].
pub fn until_step(start: i64, stop: i64, step: i64, item_bytes: u128) -> Result<Vec<i64>, GoError> {
    let (lo, hi, step_abs) = if stop < start {
        if step >= 0 {
            return Ok(Vec::new());
        }
        (stop as i128, start as i128, -(step as i128))
    } else {
        if step <= 0 {
            return Ok(Vec::new());
        }
        (start as i128, stop as i128, step as i128)
    };
    super::check_size(((hi - lo + step_abs - 1) / step_abs) as u128 * item_bytes)?;
    let mut v = Vec::new();
    let mut i = start;
    while if step < 0 { i > stop } else { i < stop } {
        v.push(i);
        match i.checked_add(step) {
            Some(next) => i = next,
            None => break,
        }
    }
    Ok(v)
}

/// Sprig's `seq`, like the Unix command.
fn seq(params: &[i64]) -> Result<String, GoError> {
    use std::fmt::Write;
    let join = |v: Result<Vec<i64>, GoError>| {
        let mut out = String::new();
        for (n, x) in v?.iter().enumerate() {
            if n > 0 {
                out.push(' ');
            }
            let _ = write!(out, "{x}");
        }
        Ok(out)
    };
    // Each number costs its i64 while counting, then its digits, sign and space.
    let digits = |a: i64, b: i64| a.unsigned_abs().max(b.unsigned_abs()).to_string().len() as u128;
    let item = |a: i64, b: i64| size_of::<i64>() as u128 + digits(a, b) + 2;
    match params {
        [end] => {
            let start = 1;
            let inc = if *end < start { -1 } else { 1 };
            join(until_step(
                start,
                end.wrapping_add(inc),
                inc,
                item(start, *end),
            ))
        }
        [start, end] => {
            let step = if end < start { -1 } else { 1 };
            join(until_step(
                *start,
                end.wrapping_add(step),
                step,
                item(*start, *end),
            ))
        }
        [start, step, end] => {
            let mut inc = 1;
            if end < start {
                inc = -1;
                if *step > 0 {
                    return Ok(String::new());
                }
            }
            join(until_step(
                *start,
                end.wrapping_add(inc),
                *step,
                item(*start, *end),
            ))
        }
        _ => Ok(String::new()),
    }
}
