//! Helm's `engine.Render` (`pkg/engine/engine.go`): every template of a
//! chart and its subcharts parsed into one template set (deepest paths
//! first, so a parent's `define` wins over a subchart's), then every
//! non-partial executed with its chart's scoped values; `<no value>` is
//! removed from the output, errors are rewritten the way Helm does.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::{Chart, RenderError, RenderOptions, capabilities};
use crate::error::{cleanup_parse_error, reformat_exec_error};
use crate::exec::{Engine, MissingKey, Templates};
use crate::value::{List, Map, MapType, Object, Value, json};

/// The most all templates of one rendering may write together: as much as
/// one may (a release is stored in a Secret of at most 1 MiB, compressed;
/// no real chart comes near).
const MAX_RENDER_OUTPUT: usize = crate::exec::MAX_OUTPUT;

/// A template to render: its text (borrowed from the chart when it is
/// valid UTF-8), the values it sees, its chart's base path.
struct Renderable<'c> {
    text: Cow<'c, str>,
    vals: Map,
    base_path: String,
}

/// Renders every template of `chart` (and its subcharts) with `values`,
/// already coalesced (see [`super::coalesce_values`]). Keys are
/// `<chart>/templates/<file>` and `<chart>/charts/<sub>/templates/<file>`;
/// partials (`_*`) are not in the result. Bytes of invalid UTF-8 in the
/// output are U+FFFD, as a UTF-8 reader of Go's output shows them.
pub fn render(
    chart: &Chart,
    values: &serde_json::Value,
    opts: &RenderOptions<'_>,
) -> Result<BTreeMap<String, String>, RenderError> {
    let mut out = render_go(chart, values, opts)?;
    for text in out.values_mut() {
        // Most outputs need no change: keep them without copying.
        if let Cow::Owned(s) = crate::value::gostr::to_display(text) {
            *text = s;
        }
    }
    Ok(out)
}

/// [`render`], the output left as Go strings: bytes of invalid UTF-8 are
/// still the characters that stand for them (`value::gostr`), for a reader
/// that must refuse them as Helm's YAML reader does
/// ([`crate::value::gostr::yaml_reader_error`]).
pub fn render_go(
    chart: &Chart,
    values: &serde_json::Value,
    opts: &RenderOptions<'_>,
) -> Result<BTreeMap<String, String>, RenderError> {
    crate::on_big_stack(crate::BIG_STACK, || render_here(chart, values, opts)).unwrap_or_else(|e| {
        Err(RenderError::Values(format!(
            "rendering template failed: {e}"
        )))
    })
}

fn render_here(
    chart: &Chart,
    values: &serde_json::Value,
    opts: &RenderOptions<'_>,
) -> Result<BTreeMap<String, String>, RenderError> {
    if !opts.skip_schema_validation
        && let Some(e) = super::schema::validate_against_schema(chart, values)
    {
        return Err(RenderError::Values(format!(
            "values don't meet the specifications of the schema(s) in the following chart(s):\n{e}"
        )));
    }
    let top = top_values(chart, values, opts);
    let mut tpls: BTreeMap<String, Renderable<'_>> = BTreeMap::new();
    rec_all_tpls(chart, &mut tpls, &top, None);

    let missing = if opts.strict {
        MissingKey::Error
    } else {
        MissingKey::Zero
    };
    let mut set = Templates::new("gotpl");
    let keys = sort_templates(&tpls);
    for name in &keys {
        set.parse(name, &tpls[name].text)
            .map_err(|e| RenderError::Parse {
                template: name.clone(),
                message: cleanup_parse_error(name, &e.0),
                go_message: e.0.clone(),
            })?;
    }
    let mut engine = Engine::new(set, missing);
    engine.lint = opts.lint.clone();
    engine.lookup = opts.lookup;
    engine.enable_dns = opts.enable_dns;
    engine.cancel = opts.cancel.clone();
    let mut rendered = BTreeMap::new();
    let mut written = 0usize;
    for name in &keys {
        // Don't render partials: they are only included from other templates.
        if super::super::funcs::strings::path_base(name).starts_with('_') {
            continue;
        }
        let r = &tpls[name];
        // At render time, add information about the template that is being rendered.
        let template = Map::typed(BTreeMap::new(), MapType::Values);
        template.insert("Name", Value::str(name));
        template.insert("BasePath", Value::str(&r.base_path));
        r.vals.insert("Template", Value::Map(template));
        let out = engine
            .execute_template(name, Value::Map(r.vals.clone()))
            .map_err(|e| {
                if engine.was_cancelled() {
                    return RenderError::Cancelled;
                }
                RenderError::Exec {
                    template: name.clone(),
                    message: reformat_exec_error(name, &e),
                    go_message: e.msg.clone(),
                }
            })?;
        // Each template's output is bounded; so is all of them together.
        written += out.len();
        if written > MAX_RENDER_OUTPUT {
            return Err(RenderError::Values(format!(
                "rendering template failed: output of {written} bytes is too large (limit {MAX_RENDER_OUTPUT})"
            )));
        }
        // Go emits "<no value>" even with missingkey=zero; Helm removes it.
        let out = if out.contains("<no value>") {
            out.replace("<no value>", "")
        } else {
            out
        };
        rendered.insert(name.clone(), out);
    }
    Ok(rendered)
}

/// What `ToRenderValues` builds: Chart, Capabilities, Release, Values.
fn top_values(chart: &Chart, values: &serde_json::Value, opts: &RenderOptions<'_>) -> Map {
    let top = Map::new();
    top.insert("Chart", chart_metadata(chart, true));
    top.insert(
        "Capabilities",
        Value::object(Object::Capabilities(capabilities::to_object(
            &opts.capabilities,
        ))),
    );
    let release = Map::new();
    release.insert("Name", Value::str(&opts.release.name));
    release.insert("Namespace", Value::str(&opts.release.namespace));
    release.insert("IsUpgrade", Value::Bool(opts.release.is_upgrade));
    release.insert("IsInstall", Value::Bool(opts.release.is_install));
    release.insert("Revision", Value::Int(opts.release.revision as i64));
    release.insert("Service", Value::str("Helm"));
    top.insert("Release", Value::Map(release));
    let vals = match json::from_json(values) {
        Value::Map(m) => Map {
            entries: m.entries,
            ty: MapType::Values,
            nil: false,
        },
        _ => Map::typed(BTreeMap::new(), MapType::Values),
    };
    top.insert("Values", Value::Map(vals));
    top
}

/// Helm's `recAllTpls`: collects templates, scoping values per chart.
/// Returns the values map the chart's templates see (for `.Subcharts`).
fn rec_all_tpls<'c>(
    chart: &'c Chart,
    out: &mut BTreeMap<String, Renderable<'c>>,
    parent: &Map,
    parent_path: Option<&str>,
) -> Map {
    let is_root = parent_path.is_none();
    let sub_charts = Map::new();
    let next = Map::typed(BTreeMap::new(), MapType::Values);
    next.insert("Chart", chart_metadata(chart, is_root));
    next.insert(
        "Files",
        Value::object(Object::Files(
            chart
                .files
                .iter()
                .map(|f| (f.name.clone(), f.data.clone()))
                .collect(),
        )),
    );
    next.insert("Release", parent.get("Release").unwrap_or(Value::Nil));
    next.insert(
        "Capabilities",
        parent.get("Capabilities").unwrap_or(Value::Nil),
    );
    next.insert(
        "Values",
        Value::Map(Map::typed(BTreeMap::new(), MapType::Values)),
    );
    next.insert("Subcharts", Value::Map(sub_charts.clone()));
    if is_root {
        next.insert("Values", parent.get("Values").unwrap_or(Value::Nil));
    } else if let Some(Value::Map(pv)) = parent.get("Values") {
        // values.Table("Values.<name>"): only a table scopes the subchart.
        if let Some(Value::Map(vs)) = pv.get(chart.name()) {
            next.insert(
                "Values",
                Value::Map(Map {
                    entries: vs.entries,
                    ty: MapType::Values,
                    nil: false,
                }),
            );
        }
    }
    let full_path = match parent_path {
        None => chart.name().to_string(),
        Some(p) => format!("{p}/charts/{}", chart.name()),
    };
    for dep in &chart.dependencies {
        let child = rec_all_tpls(dep, out, &next, Some(&full_path));
        sub_charts.insert(
            dep.name(),
            Value::Map(Map {
                entries: child.entries,
                ty: MapType::Any,
                nil: false,
            }),
        );
    }
    for t in &chart.templates {
        // A library chart only contributes its partials.
        if chart.is_library() && !super::super::funcs::strings::path_base(&t.name).starts_with('_')
        {
            continue;
        }
        out.insert(
            path_join(&full_path, &t.name),
            Renderable {
                text: String::from_utf8_lossy(&t.data),
                vals: next.clone(),
                base_path: path_join(&full_path, "templates"),
            },
        );
    }
    next
}

fn path_join(a: &str, b: &str) -> String {
    crate::funcs::strings::path_clean(&format!("{a}/{b}"))
}

/// Helm's `sortTemplates`: deepest paths first, then reverse lexical order.
fn sort_templates(tpls: &BTreeMap<String, Renderable<'_>>) -> Vec<String> {
    let mut keys: Vec<String> = tpls.keys().cloned().collect();
    keys.sort_by(|a, b| {
        let (ca, cb) = (a.matches('/').count(), b.matches('/').count());
        cb.cmp(&ca).then_with(|| b.cmp(a))
    });
    keys
}

/// `.Chart`: the metadata with Go's field names (Helm's `structToMap`).
fn chart_metadata(chart: &Chart, is_root: bool) -> Value {
    let md = &chart.metadata;
    let m = Map::new();
    let string_field = |key: &str| -> Value { Value::str(go_string(md.get(key))) };
    m.insert(
        "APIVersion",
        Value::str(
            md.get("apiVersion")
                .map(|v| go_string(Some(v)))
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "v1".into()),
        ),
    );
    for (go, yaml) in [
        ("Name", "name"),
        ("Home", "home"),
        ("Version", "version"),
        ("Description", "description"),
        ("Icon", "icon"),
        ("Condition", "condition"),
        ("Tags", "tags"),
        ("AppVersion", "appVersion"),
        ("KubeVersion", "kubeVersion"),
        ("Type", "type"),
    ] {
        m.insert(go, string_field(yaml));
    }
    m.insert(
        "Deprecated",
        Value::Bool(
            md.get("deprecated")
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
        ),
    );
    for (go, yaml) in [("Sources", "sources"), ("Keywords", "keywords")] {
        let items = md
            .get(yaml)
            .and_then(|v| v.as_array())
            .map(|a| a.iter().map(|x| Value::str(go_string(Some(x)))).collect())
            .unwrap_or_default();
        m.insert(go, Value::List(List::new(items)));
    }
    let mut annotations = Map::typed(BTreeMap::new(), MapType::StringString);
    // Metadata.Annotations is a map[string]string left nil when Chart.yaml
    // has none: toJson/toYaml of .Chart show `null` there.
    annotations.nil = !md.get("annotations").is_some_and(|v| v.is_object());
    if let Some(a) = md.get("annotations").and_then(|v| v.as_object()) {
        for (k, v) in a {
            annotations.insert(k.clone(), Value::str(go_string(Some(v))));
        }
    }
    m.insert("Annotations", Value::Map(annotations));
    let maintainers = md
        .get("maintainers")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .map(|x| {
                    let mm = Map::new();
                    mm.insert("Name", Value::str(go_string(x.get("name"))));
                    mm.insert("Email", Value::str(go_string(x.get("email"))));
                    mm.insert("URL", Value::str(go_string(x.get("url"))));
                    Value::Map(mm)
                })
                .collect()
        })
        .unwrap_or_default();
    m.insert("Maintainers", Value::List(List::new(maintainers)));
    let deps = md
        .get("dependencies")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .map(|x| {
                    let d = Map::new();
                    for (go, yaml) in [
                        ("Name", "name"),
                        ("Version", "version"),
                        ("Repository", "repository"),
                        ("Condition", "condition"),
                        ("Alias", "alias"),
                    ] {
                        d.insert(go, Value::str(go_string(x.get(yaml))));
                    }
                    let tags = x
                        .get("tags")
                        .and_then(|v| v.as_array())
                        .map(|t| t.iter().map(|s| Value::str(go_string(Some(s)))).collect())
                        .unwrap_or_default();
                    d.insert("Tags", Value::List(List::new(tags)));
                    d.insert(
                        "Enabled",
                        Value::Bool(x.get("enabled").and_then(|v| v.as_bool()).unwrap_or(false)),
                    );
                    let iv = x
                        .get("import-values")
                        .and_then(|v| v.as_array())
                        .map(|t| t.iter().map(json::from_json).collect())
                        .unwrap_or_default();
                    d.insert("ImportValues", Value::List(List::new(iv)));
                    Value::Map(d)
                })
                .collect()
        })
        .unwrap_or_default();
    m.insert("Dependencies", Value::List(List::new(deps)));
    m.insert("IsRoot", Value::Bool(is_root));
    Value::Map(m)
}

/// A Chart.yaml scalar read into a Go `string` field (the loader has
/// turned scalars into text already; charts built otherwise may not have).
fn go_string(v: Option<&serde_json::Value>) -> String {
    v.and_then(crate::yaml::go_string_field).unwrap_or_default()
}
