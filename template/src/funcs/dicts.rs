//! Sprig's dictionary functions (`dict.go`), with mergo's merge rules.
//!
//! Maps are shared: `set`, `unset`, `merge` and `mergeOverwrite` modify
//! their first argument in place (charts rely on `$_ := set .Values …`).
//! `keys` and `values` follow Go map order in Sprig, which is random; here
//! they are sorted by key, the only order a chart can depend on.

use super::conv::{empty, strval};
use super::{FuncMap, Ty, add, s, sig, sig_var};
use crate::error::GoError;
use crate::value::{Map, MapType, Value};

type R = Result<Value, GoError>;

fn map_of(v: &Value) -> Option<&Map> {
    match v {
        Value::Map(m) => Some(m),
        _ => None,
    }
}

/// A `map[string]interface{}` parameter; Go passes nil as a nil map.
fn dict_arg(v: &Value) -> Map {
    map_of(v).cloned().unwrap_or_default()
}

fn nil_map_write() -> GoError {
    super::err("assignment to entry in nil map")
}

pub fn register(m: &mut FuncMap) {
    use Ty::*;
    add(m, "dict", sig_var(&[], Any), |_, a| {
        let d = Map::new();
        let mut i = 0;
        while i < a.len() {
            let key = strval(&a[i]);
            let v = a.get(i + 1).cloned().unwrap_or_else(|| Value::str(""));
            d.insert(key, v);
            i += 2;
        }
        Ok(Value::Map(d))
    });
    add(m, "get", sig(&[Dict, Str]), |_, a| {
        Ok(dict_arg(&a[0])
            .get(s(&a[1]))
            .unwrap_or_else(|| Value::str("")))
    });
    add(m, "set", sig(&[Dict, Str, Any]), |_, a| {
        // A nil map (`fromJson "null"`, what `unset` of nil gives) cannot
        // be written to: Go panics, and the template reports it.
        let d = map_of(&a[0]).filter(|d| !d.nil).ok_or_else(nil_map_write)?;
        d.insert(s(&a[1]), a[2].clone());
        Ok(a[0].clone())
    });
    add(m, "unset", sig(&[Dict, Str]), |_, a| {
        if let Some(d) = map_of(&a[0]) {
            d.remove(s(&a[1]));
            return Ok(a[0].clone());
        }
        // nil arrives as Go's nil map, which comes back typed.
        Ok(Value::Map(Map::nil_map()))
    });
    add(m, "hasKey", sig(&[Dict, Str]), |_, a| {
        Ok(Value::Bool(dict_arg(&a[0]).contains(s(&a[1]))))
    });
    add(m, "pluck", sig_var(&[Str], Dict), |_, a| {
        let key = s(&a[0]);
        Ok(Value::list(
            a[1..]
                .iter()
                .filter_map(|d| map_of(d).and_then(|m| m.get(key)))
                .collect(),
        ))
    });
    add(m, "keys", sig_var(&[], Dict), |_, a| {
        let mut k = Vec::new();
        for d in &a {
            k.extend(dict_arg(d).keys());
        }
        Ok(Value::str_list(k))
    });
    add(m, "values", sig(&[Dict]), |_, a| {
        Ok(Value::list(
            dict_arg(&a[0])
                .pairs()
                .into_iter()
                .map(|(_, v)| v)
                .collect(),
        ))
    });
    add(m, "pick", sig_var(&[Dict], Str), |_, a| {
        let d = dict_arg(&a[0]);
        let res = Map::new();
        for k in &a[1..] {
            if let Some(v) = d.get(s(k)) {
                res.insert(s(k), v);
            }
        }
        Ok(Value::Map(res))
    });
    add(m, "omit", sig_var(&[Dict], Str), |_, a| {
        let d = dict_arg(&a[0]);
        let omit: Vec<&str> = a[1..].iter().map(s).collect();
        let res = Map::new();
        for (k, v) in d.pairs() {
            if !omit.contains(&k.as_str()) {
                res.insert(k, v);
            }
        }
        Ok(Value::Map(res))
    });
    for (name, overwrite) in [
        ("merge", false),
        ("mustMerge", false),
        ("mergeOverwrite", true),
        ("mustMergeOverwrite", true),
    ] {
        let f: super::FnImpl = if overwrite {
            |_, a| merge_all(a, true)
        } else {
            |_, a| merge_all(a, false)
        };
        let _ = name;
        add(m, name, sig_var(&[Dict], Dict), f);
    }
    add(m, "dig", sig_var(&[], Any), dig);
}

fn merge_all(a: Vec<Value>, overwrite: bool) -> R {
    // A missing destination is a nil map; mergo replaces a nil destination
    // with a new map when a source is not nil, and leaves it nil otherwise.
    let mut dst = match &a[0] {
        Value::Map(m) => m.clone(),
        _ => Map::nil_map(),
    };
    for src in &a[1..] {
        if let Value::Map(src) = src {
            if dst.nil && !src.nil {
                dst = Map::new();
            }
            merge_into(&dst, src, overwrite);
        }
    }
    Ok(Value::Map(dst))
}

/// mergo's `deepMerge` for `map[string]interface{}` (Merge and MergeWithOverwrite).
pub fn merge_into(dst: &Map, src: &Map, overwrite: bool) {
    let Some(_level) = crate::value::DepthGuard::enter() else {
        return;
    };
    if dst.same(src) {
        return;
    }
    for (key, sv) in src.pairs() {
        if sv.is_nil() {
            if overwrite {
                dst.insert(key, Value::Nil);
            }
            continue;
        }
        let dv = dst.get(&key);
        if let (Value::Map(sm), Some(Value::Map(dm))) = (&sv, &dv) {
            merge_into(dm, sm, overwrite);
        }
        if let Some(d) = &dv
            && !empty(d)
        {
            if matches!(sv, Value::List(_)) {
                if overwrite {
                    dst.insert(key, sv);
                }
                continue;
            }
            if matches!(sv, Value::Map(_)) && matches!(d, Value::Map(_)) {
                continue;
            }
        }
        if overwrite || dv.as_ref().is_none_or(empty) {
            dst.insert(key, sv);
        }
    }
}

/// Sprig's `dig "a" "b" default dict`.
fn dig(_: &mut crate::exec::Engine<'_>, a: Vec<Value>) -> R {
    if a.len() < 3 {
        return Err(super::err("dig needs at least three arguments"));
    }
    let last = &a[a.len() - 1];
    let mut dict = match last {
        Value::Map(m) if m.ty == MapType::Any => m.clone(),
        other => return Err(interface_conversion(other, "map[string]interface {}")),
    };
    let def = a[a.len() - 2].clone();
    let mut keys = Vec::new();
    for k in &a[..a.len() - 2] {
        match k {
            Value::String(s) => keys.push(s.to_string()),
            other => return Err(interface_conversion(other, "string")),
        }
    }
    for (i, k) in keys.iter().enumerate() {
        let Some(step) = dict.get(k) else {
            return Ok(def);
        };
        if i == keys.len() - 1 {
            return Ok(step);
        }
        dict = match step {
            Value::Map(m) if m.ty == MapType::Any => m,
            other => return Err(interface_conversion(&other, "map[string]interface {}")),
        };
    }
    Ok(def)
}

/// Go's panic text for a failed type assertion on an `interface{}`.
fn interface_conversion(v: &Value, want: &str) -> GoError {
    if v.is_nil() {
        return super::err(format!(
            "interface conversion: interface {{}} is nil, not {want}"
        ));
    }
    super::err(format!(
        "interface conversion: interface {{}} is {}, not {want}",
        v.type_name()
    ))
}
