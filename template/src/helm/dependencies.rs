//! Helm's `ProcessDependencies` (`pkg/chart/v2/util/dependencies.go`), run
//! by install and upgrade before values are coalesced: subcharts matched to
//! Chart.yaml's `dependencies` (by name and version range), renamed by
//! `alias`, switched off by `condition` and `tags`, and `import-values`
//! copied from children into their parent's values. What Helm logs on the
//! way (a condition or tag that is not a bool, a missing import table, and
//! the warnings of each coalescing pass) is added to a [`Warning`] log.

use std::collections::HashSet;

use serde_json::Value as J;

use super::coalesce::{coalesce_map, merge_tables};
use super::warning::Warning;
use super::{Chart, RenderError};
use crate::funcs::semver::is_compatible_range;
use crate::value::{Map, Value, json};

/// One entry of Chart.yaml's `dependencies`.
#[derive(Clone, Debug)]
struct Dep {
    raw: serde_json::Map<String, J>,
    name: String,
    enabled: bool,
}

impl Dep {
    fn str(&self, key: &str) -> String {
        self.raw
            .get(key)
            .and_then(J::as_str)
            .unwrap_or("")
            .to_string()
    }
}

fn deps_of(chart: &Chart) -> Option<Vec<Dep>> {
    let list = chart.metadata.get("dependencies")?.as_array()?;
    Some(
        list.iter()
            .filter_map(|d| d.as_object())
            .map(|o| Dep {
                raw: o.clone(),
                name: o.get("name").and_then(J::as_str).unwrap_or("").to_string(),
                enabled: false,
            })
            .collect(),
    )
}

fn version_of(chart: &Chart) -> String {
    chart
        .metadata
        .get("version")
        .and_then(J::as_str)
        .unwrap_or("")
        .to_string()
}

/// Helm's `ProcessDependencies(chart, values)`: the chart as install renders
/// it. `user` are the user-supplied values; what Helm would log meanwhile
/// is added to `log`.
pub fn process_dependencies(
    chart: &Chart,
    user: &serde_json::Value,
    log: &mut Vec<Warning>,
) -> Result<Chart, RenderError> {
    crate::on_big_stack(crate::BIG_STACK, || {
        let mut c = chart.clone();
        process_enabled(&mut c, &json::from_json(user), "", log)?;
        process_import_values(&mut c, log)?;
        Ok(c)
    })
    .unwrap_or_else(|e| Err(RenderError::Values(e)))
}

fn set_metadata_deps(c: &mut Chart, deps: &[Dep]) {
    if let Some(md) = c.metadata.as_object_mut() {
        let list = deps
            .iter()
            .map(|d| {
                let mut o = d.raw.clone();
                o.insert("name".into(), J::String(d.name.clone()));
                o.insert("enabled".into(), J::Bool(d.enabled));
                J::Object(o)
            })
            .collect();
        md.insert("dependencies".into(), J::Array(list));
    }
}

fn process_enabled(
    c: &mut Chart,
    v: &Value,
    path: &str,
    log: &mut Vec<Warning>,
) -> Result<(), RenderError> {
    let Some(mut reqs) = deps_of(c) else {
        return Ok(());
    };
    // Subcharts no dependency entry claims stay as they are.
    let mut chart_deps: Vec<Chart> = c
        .dependencies
        .iter()
        .filter(|existing| {
            !reqs.iter().any(|r| {
                existing.name() == r.name
                    && is_compatible_range(&r.str("version"), &version_of(existing))
            })
        })
        .cloned()
        .collect();
    for req in reqs.iter_mut() {
        // getAliasDependency: the first compatible subchart, renamed by the alias.
        let version = req.str("version");
        if let Some(found) = c
            .dependencies
            .iter()
            .find(|sc| sc.name() == req.name && is_compatible_range(&version, &version_of(sc)))
        {
            let mut copy = found.clone();
            let alias = req.str("alias");
            if !alias.is_empty()
                && let Some(md) = copy.metadata.as_object_mut()
            {
                md.insert("name".into(), J::String(alias));
            }
            chart_deps.push(copy);
        }
        let alias = req.str("alias");
        if !alias.is_empty() {
            req.name = alias;
        }
        req.enabled = true;
    }
    c.dependencies = chart_deps;

    let cvals = Value::Map(coalesce_map(c, v, false, log)?);
    process_tags(&mut reqs, &cvals, log);
    process_conditions(&mut reqs, &cvals, path, log);
    let removed: HashSet<String> = reqs
        .iter()
        .filter(|r| !r.enabled)
        .map(|r| r.name.clone())
        .collect();
    c.dependencies.retain(|d| !removed.contains(d.name()));
    reqs.retain(|r| !removed.contains(&r.name));
    for t in c.dependencies.iter_mut() {
        let sub_path = format!("{path}{}.", t.name());
        process_enabled(t, &cvals, &sub_path, log)?;
    }
    if reqs.is_empty() {
        // Helm rebuilds the list by appending the kept entries to nil: with
        // none kept it is nil, and import-values then skips the chart (its
        // values are not rewritten by MergeValues, nulls and all).
        if let Some(md) = c.metadata.as_object_mut() {
            md.remove("dependencies");
        }
        return Ok(());
    }
    set_metadata_deps(c, &reqs);
    Ok(())
}

fn process_tags(reqs: &mut [Dep], cvals: &Value, log: &mut Vec<Warning>) {
    let Ok(tags) = table(cvals, "tags") else {
        return;
    };
    for r in reqs.iter_mut() {
        let (mut has_true, mut has_false) = (false, false);
        for k in r
            .raw
            .get("tags")
            .and_then(J::as_array)
            .into_iter()
            .flatten()
            .filter_map(J::as_str)
        {
            match tags.get(k) {
                Some(Value::Bool(true)) => has_true = true,
                Some(Value::Bool(false)) => has_false = true,
                Some(_) => log.push(Warning::slog(
                    "returned non-bool value",
                    vec![("tag", k.to_string()), ("chart", r.name.clone())],
                )),
                None => {}
            }
        }
        if !has_true && has_false {
            r.enabled = false;
        } else if has_true || !has_false {
            r.enabled = true;
        }
    }
}

fn process_conditions(reqs: &mut [Dep], cvals: &Value, path: &str, log: &mut Vec<Warning>) {
    for r in reqs.iter_mut() {
        let condition = r.str("condition");
        for c in condition.trim().split(',') {
            if c.is_empty() {
                continue;
            }
            // The first condition that resolves to a bool decides.
            match path_value(cvals, &format!("{path}{c}")) {
                Some(Value::Bool(b)) => {
                    r.enabled = b;
                    break;
                }
                Some(_) => log.push(Warning::slog(
                    "returned non-bool value",
                    vec![("path", c.to_string()), ("chart", r.name.clone())],
                )),
                None => {}
            }
        }
    }
}

/// `Values.Table(path)`; the error is Helm's `ErrNoTable` for the first
/// key that is missing or not a table.
fn table(v: &Value, path: &str) -> Result<Map, String> {
    let mut cur = match v {
        Value::Map(m) => m.clone(),
        _ => Map::new(),
    };
    for part in path.split('.') {
        cur = match cur.get(part) {
            Some(Value::Map(m)) => m,
            _ => {
                return Err(format!("{} is not a table", crate::gofmt::quote(part)));
            }
        };
    }
    Ok(cur)
}

/// `Values.AsMap()`: the table itself, shared (what is merged into it later
/// shows in the values it came from too), but an empty one as a new map.
fn as_map(m: Map) -> Map {
    if m.is_empty() { Map::new() } else { m }
}

/// `Values.PathValue(path)`: a non-table value at a dotted path.
fn path_value(v: &Value, path: &str) -> Option<Value> {
    let (table_path, key) = match path.rsplit_once('.') {
        Some((t, k)) => (Some(t), k),
        None => (None, path),
    };
    let t = match table_path {
        Some(tp) => table(v, tp).ok()?,
        None => match v {
            Value::Map(m) => m.clone(),
            _ => return None,
        },
    };
    match t.get(key)? {
        Value::Map(_) => None,
        other => Some(other),
    }
}

/// `processDependencyImportValues(c, merge=true)`: children first.
fn process_import_values(c: &mut Chart, log: &mut Vec<Warning>) -> Result<(), RenderError> {
    for d in c.dependencies.iter_mut() {
        process_import_values(d, log)?;
    }
    let Some(mut reqs) = deps_of(c) else {
        return Ok(());
    };
    let cvals = coalesce_map(c, &Value::Nil, true, log)?;
    let cvals_v = Value::Map(cvals.clone());
    let b = Map::new();
    for r in reqs.iter_mut() {
        let mut out_iv = Vec::new();
        for iv in r
            .raw
            .get("import-values")
            .and_then(J::as_array)
            .cloned()
            .unwrap_or_default()
        {
            match iv {
                J::Object(o) => {
                    let child = go_sprint(o.get("child"));
                    let parent = go_sprint(o.get("parent"));
                    let mut norm = serde_json::Map::new();
                    norm.insert("child".into(), J::String(child.clone()));
                    norm.insert("parent".into(), J::String(parent.clone()));
                    out_iv.push(J::Object(norm));
                    match table(&cvals_v, &format!("{}.{child}", r.name)) {
                        Ok(vv) => merge_tables(&b, &path_to_map(&parent, as_map(vv)), log),
                        Err(e) => log.push(Warning::slog(
                            "ImportValues missing table from chart",
                            vec![("chart", r.name.clone()), ("error", e)],
                        )),
                    }
                }
                J::String(s) => {
                    let child = format!("exports.{s}");
                    let mut norm = serde_json::Map::new();
                    norm.insert("child".into(), J::String(child.clone()));
                    norm.insert("parent".into(), J::String(".".into()));
                    out_iv.push(J::Object(norm));
                    match table(&cvals_v, &format!("{}.{child}", r.name)) {
                        Ok(vm) => merge_tables(&b, &vm, log),
                        Err(e) => log.push(Warning::slog(
                            "ImportValues missing table",
                            vec![("error", e)],
                        )),
                    }
                }
                _ => {}
            }
        }
        if !out_iv.is_empty() || r.raw.contains_key("import-values") {
            r.raw.insert("import-values".into(), J::Array(out_iv));
        }
        r.enabled = r.raw.get("enabled").and_then(J::as_bool).unwrap_or(false);
    }
    // Go's maps are shared: importing a child table into a parent key that
    // already holds one of its own subtables (`exports.data` then `exports`,
    // both into `global`) makes a map that holds itself. Helm's deep copy
    // then recurses until Go aborts (stack overflow); refuse it instead.
    if crate::json::cycle_error(&Value::Map(b.clone())).is_some() {
        return Err(RenderError::Values(format!(
            "import-values of chart {}: the imported values contain themselves",
            c.name()
        )));
    }
    let merged = match cvals_v.deep_copy() {
        Value::Map(m) => m,
        _ => Map::new(),
    };
    merge_tables(&merged, &b, log);
    c.values = json::to_json(&Value::Map(merged));
    set_metadata_deps(c, &reqs);
    Ok(())
}

/// `fmt.Sprintf("%v", x)` of a JSON-decoded value.
fn go_sprint(v: Option<&J>) -> String {
    match v {
        None => "<nil>".into(),
        Some(v) => crate::gofmt::sprint_value(&json::from_json(v)),
    }
}

/// `pathToMap(path, data)`: `a.b` and data → `{a: {b: data}}`.
fn path_to_map(path: &str, data: Map) -> Map {
    if path == "." {
        return data;
    }
    let mut cur = data;
    for part in path.split('.').rev() {
        let m = Map::new();
        m.insert(part, Value::Map(cur));
        cur = m;
    }
    cur
}
