//! Helm's `CoalesceValues` (`pkg/chart/common/util/coalesce.go`): user
//! values over chart defaults, recursively into subcharts, with globals
//! flowing down and `null` deleting a default.
//!
//! The port works on the engine's shared-reference maps so that the
//! aliasing Go's code has (shallow map copies for globals, tables inserted
//! by reference) behaves the same. Where Go's code logs a conflict and goes
//! on, the port adds a [`Warning`] with the same text, the dotted key path
//! built the way Go builds it (`concatPrefix`).

use super::warning::Warning;
use super::{Chart, RenderError};
use crate::gofmt::sprint_value;
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
/// What Helm would log meanwhile is added to `log`.
pub fn coalesce_values(
    chart: &Chart,
    user: &serde_json::Value,
    log: &mut Vec<Warning>,
) -> Result<serde_json::Value, RenderError> {
    crate::on_big_stack(crate::BIG_STACK, || {
        let dest = coalesce_map(chart, &json::from_json(user), false, log)?;
        Ok(json::to_json(&Value::Map(dest)))
    })
    .unwrap_or_else(|e| Err(RenderError::Values(e)))
}

/// `CoalesceValues` (`merge = false`) or `MergeValues` (`merge = true`, nulls
/// kept) on a deep copy of `vals`.
pub(super) fn coalesce_map(
    chart: &Chart,
    vals: &Value,
    merge: bool,
    log: &mut Vec<Warning>,
) -> Result<Map, RenderError> {
    let dest = match vals.deep_copy() {
        Value::Map(m) => m,
        _ => Map::new(),
    };
    coalesce(chart, &dest, "", merge, log)?;
    Ok(dest)
}

/// `MergeTables(dst, src)`: fills `dst` from `src`, keeping nulls.
pub(super) fn merge_tables(dst: &Map, src: &Map, log: &mut Vec<Warning>) {
    coalesce_tables_full(dst, src, "", true, log);
}

fn coalesce(
    chart: &Chart,
    dest: &Map,
    prefix: &str,
    merge: bool,
    log: &mut Vec<Warning>,
) -> Result<(), RenderError> {
    coalesce_chart_values(chart, dest, prefix, merge, log);
    coalesce_deps(chart, dest, prefix, merge, log)
}

fn coalesce_deps(
    chart: &Chart,
    dest: &Map,
    prefix: &str,
    merge: bool,
    log: &mut Vec<Warning>,
) -> Result<(), RenderError> {
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
            coalesce_globals(&dv, dest, &sub_prefix, log);
            coalesce(sub, &dv, &sub_prefix, merge, log)?;
        }
    }
    Ok(())
}

/// Copies the parent's globals into a subchart's values (parent wins).
fn coalesce_globals(dest: &Map, src: &Map, prefix: &str, log: &mut Vec<Warning>) {
    let dg = match dest.get(GLOBAL_KEY) {
        None => Map::new(),
        Some(Value::Map(m)) => m,
        Some(_) => {
            log.push(Warning::printf(format!(
                "warning: skipping globals because destination {GLOBAL_KEY} is not a table."
            )));
            return;
        }
    };
    let sg = match src.get(GLOBAL_KEY) {
        None => Map::new(),
        Some(Value::Map(m)) => m,
        Some(_) => {
            log.push(Warning::printf(format!(
                "warning: skipping globals because source {GLOBAL_KEY} is not a table."
            )));
            return;
        }
    };
    for (key, val) in sg.pairs() {
        if let Some(vm) = table(&val) {
            // A shallow copy: nested tables stay shared, as in Go.
            let vv = Map::typed(vm.entries.borrow().clone(), vm.ty);
            match dg.get(&key) {
                None => dg.insert(key, Value::Map(vv)),
                Some(Value::Map(destv)) => {
                    // Merged top-down, always keeping nulls: the result is
                    // coalesced again afterwards.
                    coalesce_tables_full(&vv, &destv, &concat_prefix(prefix, &key), true, log);
                    dg.insert(key, Value::Map(vv));
                }
                Some(_) => log.push(Warning::printf(format!(
                    "Conflict: cannot merge map onto non-map for {}. Skipping.",
                    crate::gofmt::quote(&key)
                ))),
            }
        } else if matches!(dg.get(&key), Some(Value::Map(_))) {
            // (Helm: "It's not clear if this condition can actually ever trigger.")
            log.push(Warning::printf(format!("key {key} is table. Skipping")));
        } else {
            dg.insert(key, val);
        }
    }
    dest.insert(GLOBAL_KEY, Value::Map(dg));
}

/// Merges the chart's own defaults (a fresh copy) into `v`.
fn coalesce_chart_values(
    chart: &Chart,
    v: &Map,
    prefix: &str,
    merge: bool,
    log: &mut Vec<Warning>,
) {
    let sub_prefix = concat_prefix(prefix, chart.name());
    let vc = match json::from_json(&chart.values) {
        Value::Map(m) => m,
        _ => Map::new(),
    };
    for (key, val) in vc.pairs() {
        if let Some(value) = v.get(&key) {
            if value.is_nil() && !merge {
                v.remove(&key);
            } else if let Value::Map(dest) = &value {
                match &val {
                    Value::Map(src) => {
                        let merge = merge || chart.dependencies.iter().any(|d| d.name() == key);
                        if !merge {
                            clean_nil_values(src);
                        }
                        let full = concat_prefix(&sub_prefix, &key);
                        coalesce_tables_full(dest, src, &full, merge, log);
                    }
                    // A null default has nothing to coalesce: no warning.
                    Value::Nil => {}
                    _ => log.push(Warning::printf(format!(
                        "warning: skipped value for {sub_prefix}.{key}: Not a table."
                    ))),
                }
            }
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

/// `coalesceTablesFullKey`: fills `dst` with what it lacks from `src`;
/// `prefix` is the tables' dotted path, for the warnings.
fn coalesce_tables_full(dst: &Map, src: &Map, prefix: &str, merge: bool, log: &mut Vec<Warning>) {
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
                let full = concat_prefix(prefix, &key);
                match (&val, &d) {
                    (Value::Map(sv), Value::Map(dvm)) => {
                        coalesce_tables_full(dvm, sv, &full, merge, log)
                    }
                    (Value::Map(_), _) => log.push(Warning::printf(format!(
                        "warning: cannot overwrite table with non table for {full} ({})",
                        sprint_value(&val)
                    ))),
                    (_, Value::Map(_)) if !val.is_nil() => log.push(Warning::printf(format!(
                        "warning: destination for {full} is a table. Ignoring non-table value ({})",
                        sprint_value(&val)
                    ))),
                    _ => {}
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
        let out = coalesce_values(
            &c,
            &json!({"b": {"c": 9.0, "d": null}, "e": null}),
            &mut Vec::new(),
        )
        .unwrap();
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
        let out = coalesce_values(&c, &json!({}), &mut Vec::new()).unwrap();
        assert_eq!(
            out["sub"],
            json!({"x": 2.0, "global": {"g": "top", "h": "sub"}})
        );
        assert_eq!(out["global"], json!({"g": "top"}));
    }
}
