//! Helm's `CoalesceValues` (`pkg/chart/common/util/coalesce.go`): user
//! values over chart defaults, recursively into subcharts, with globals
//! flowing down and `null` deleting a default.
//!
//! The port works on the engine's shared-reference maps so that the
//! aliasing Go's code has (shallow map copies for globals, tables inserted
//! by reference) behaves the same.

use super::{Chart, RenderError};
use crate::value::{Map, Value, json};

const GLOBAL_KEY: &str = "global";

fn concat_prefix(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}.{b}")
    }
}

fn table(v: &Value) -> Option<&Map> {
    match v {
        Value::Map(m) => Some(m),
        _ => None,
    }
}

/// Helm's `CoalesceValues(chart, vals)`: the values a release renders with.
pub fn coalesce_values(
    chart: &Chart,
    user: &serde_json::Value,
) -> Result<serde_json::Value, RenderError> {
    crate::on_big_stack(crate::BIG_STACK, || {
        let dest = coalesce_map(chart, &json::from_json(user), false)?;
        Ok(json::to_json(&Value::Map(dest)))
    })
    .unwrap_or_else(|e| Err(RenderError::Values(e)))
}

/// `CoalesceValues` (`merge = false`) or `MergeValues` (`merge = true`, nulls
/// kept) on a deep copy of `vals`.
pub(super) fn coalesce_map(chart: &Chart, vals: &Value, merge: bool) -> Result<Map, RenderError> {
    let dest = match vals.deep_copy() {
        Value::Map(m) => m,
        _ => Map::new(),
    };
    coalesce(chart, &dest, "", merge)?;
    Ok(dest)
}

/// `MergeTables(dst, src)`: fills `dst` from `src`, keeping nulls.
pub(super) fn merge_tables(dst: &Map, src: &Map) {
    coalesce_tables_full(dst, src, true);
}

fn coalesce(chart: &Chart, dest: &Map, prefix: &str, merge: bool) -> Result<(), RenderError> {
    coalesce_chart_values(chart, dest, prefix, merge);
    coalesce_deps(chart, dest, prefix, merge)
}

fn coalesce_deps(chart: &Chart, dest: &Map, prefix: &str, merge: bool) -> Result<(), RenderError> {
    for sub in &chart.dependencies {
        let name = sub.name();
        match dest.get(name) {
            None => dest.insert(name, Value::Map(Map::new())),
            Some(Value::Map(_)) => {}
            Some(other) => {
                return Err(RenderError::Values(crate::gofmt::sprintf(
                    "type mismatch on %s: %t",
                    &[Value::str(name), other],
                )));
            }
        }
        if let Some(Value::Map(dv)) = dest.get(name) {
            let sub_prefix = concat_prefix(prefix, chart.name());
            coalesce_globals(&dv, dest);
            coalesce(sub, &dv, &sub_prefix, merge)?;
        }
    }
    Ok(())
}

/// Copies the parent's globals into a subchart's values (parent wins).
fn coalesce_globals(dest: &Map, src: &Map) {
    let dg = match dest.get(GLOBAL_KEY) {
        None => Map::new(),
        Some(Value::Map(m)) => m,
        // "warning: skipping globals because destination global is not a table."
        Some(_) => return,
    };
    let sg = match src.get(GLOBAL_KEY) {
        None => Map::new(),
        Some(Value::Map(m)) => m,
        Some(_) => return,
    };
    for (key, val) in sg.pairs() {
        if let Some(vm) = table(&val) {
            // A shallow copy: nested tables stay shared, as in Go.
            let vv = Map::typed(vm.entries.borrow().clone(), vm.ty);
            match dg.get(&key) {
                None => dg.insert(key, Value::Map(vv)),
                Some(Value::Map(destv)) => {
                    coalesce_tables(&vv, &destv, true);
                    dg.insert(key, Value::Map(vv));
                }
                // "Conflict: cannot merge map onto non-map"
                Some(_) => {}
            }
        } else if matches!(dg.get(&key), Some(Value::Map(_))) {
            // "key is table. Skipping"
        } else {
            dg.insert(key, val);
        }
    }
    dest.insert(GLOBAL_KEY, Value::Map(dg));
}

/// Merges the chart's own defaults (a fresh copy) into `v`.
fn coalesce_chart_values(chart: &Chart, v: &Map, _prefix: &str, merge: bool) {
    let vc = match json::from_json(&chart.values) {
        Value::Map(m) => m,
        _ => Map::new(),
    };
    for (key, val) in vc.pairs() {
        if let Some(value) = v.get(&key) {
            if value.is_nil() && !merge {
                v.remove(&key);
            } else if let Value::Map(dest) = &value
                && let Value::Map(src) = &val
            {
                let merge = merge || chart.dependencies.iter().any(|d| d.name() == key);
                if !merge {
                    clean_nil_values(src);
                }
                coalesce_tables_full(dest, src, merge);
            }
            // (A table over a scalar default: "warning: skipped value for …: Not a table.")
        } else {
            if !merge {
                if val.is_nil() {
                    continue;
                }
                if let Value::Map(sub) = &val {
                    clean_nil_values(sub);
                }
            }
            v.insert(key, val);
        }
    }
}

/// `coalesceTablesFullKey(dst, src, merge=true)` as called for globals.
fn coalesce_tables(dst: &Map, src: &Map, merge: bool) {
    coalesce_tables_full(dst, src, merge);
}

/// `coalesceTablesFullKey`: fills `dst` with what it lacks from `src`.
fn coalesce_tables_full(dst: &Map, src: &Map, merge: bool) {
    if dst.same(src) {
        return;
    }
    let src_non_nil: Vec<String> = src
        .pairs()
        .into_iter()
        .filter(|(_, v)| !v.is_nil())
        .map(|(k, _)| k)
        .collect();
    for (key, val) in dst.pairs() {
        if val.is_nil() {
            src.insert(key, Value::Nil);
        }
    }
    for (key, val) in src.pairs() {
        let dv = dst.get(&key);
        match dv {
            Some(d) if !merge && d.is_nil() && src_non_nil.contains(&key) => {
                dst.remove(&key);
            }
            None => dst.insert(key, val),
            Some(d) => {
                // Tables merge; otherwise the destination wins ("cannot overwrite
                // table with non table", "destination is a table").
                if let (Value::Map(sv), Value::Map(dvm)) = (&val, &d) {
                    coalesce_tables_full(dvm, sv, merge);
                }
            }
        }
    }
}

fn clean_nil_values(m: &Map) {
    for (key, val) in m.pairs() {
        if val.is_nil() {
            m.remove(&key);
        } else if let Value::Map(sub) = &val {
            clean_nil_values(sub);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn chart(name: &str, values: serde_json::Value, deps: Vec<Chart>) -> Chart {
        Chart {
            metadata: json!({"name": name}),
            values,
            dependencies: deps,
            ..Default::default()
        }
    }

    #[test]
    fn user_values_win_and_null_deletes() {
        let c = chart(
            "top",
            json!({"a": 1.0, "b": {"c": 2.0, "d": 3.0}, "e": "x"}),
            vec![],
        );
        let out = coalesce_values(&c, &json!({"b": {"c": 9.0, "d": null}, "e": null})).unwrap();
        assert_eq!(out, json!({"a": 1.0, "b": {"c": 9.0}}));
    }

    #[test]
    fn globals_flow_to_subcharts() {
        let sub = chart(
            "sub",
            json!({"x": 1.0, "global": {"g": "sub", "h": "sub"}}),
            vec![],
        );
        let c = chart(
            "top",
            json!({"global": {"g": "top"}, "sub": {"x": 2.0}}),
            vec![sub],
        );
        let out = coalesce_values(&c, &json!({})).unwrap();
        assert_eq!(
            out["sub"],
            json!({"x": 2.0, "global": {"g": "top", "h": "sub"}})
        );
        assert_eq!(out["global"], json!({"g": "top"}));
    }
}
