//! `helm lint`'s rules (pkg/chart/v2/lint): what is wrong with a chart
//! directory, as messages of a severity about a file, in Helm's words and
//! order — Chart.yaml, values.yaml, the templates rendered in lint mode,
//! the dependencies, crds/. The caller prints them (`berth lint`).

mod deprecations;
mod validate;

use std::fmt;
use std::path::{Path, PathBuf};

use berth_template::funcs::semver::Version;
use berth_template::helm;
use serde_json::{Map, Value};

use crate::chart::{self, Limits};

/// Helm's lint severities (support.InfoSev …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Info = 1,
    Warning = 2,
    Error = 3,
}

/// One finding: `[ERROR] templates/: …` as Helm prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub severity: Severity,
    pub path: String,
    pub err: String,
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Info => "INFO",
            Severity::Warning => "WARNING",
            Severity::Error => "ERROR",
        };
        write!(f, "[{sev}] {}: {}", self.path, self.err)
    }
}

/// What the templates are rendered with.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The user's values (`-f`, `--set`), not yet coalesced.
    pub values: Map<String, Value>,
    pub namespace: String,
    /// `--kube-version` (checked by the caller), else Helm's default.
    pub kube_version: Option<String>,
    pub skip_schema_validation: bool,
    /// The documents the charts' schemas refer to by URL, read by the
    /// caller ([`crate::schema_refs`]).
    pub remote_schemas: std::sync::Arc<helm::RemoteSchemas>,
}

/// What linting a chart found, and what Helm would have logged on stderr
/// meanwhile (values that do not merge, `required` and `fail` let pass).
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub messages: Vec<Message>,
    pub log: Vec<helm::Warning>,
}

struct Linter {
    dir: PathBuf,
    messages: Vec<Message>,
    log: Vec<helm::Warning>,
}

impl Linter {
    /// Helm's `RunLinterRule`: records `err` if any; true when there is none.
    fn rule(&mut self, severity: Severity, path: &str, err: Option<String>) -> bool {
        match err {
            None => true,
            Some(err) => {
                self.messages.push(Message {
                    severity,
                    path: path.to_string(),
                    err,
                });
                false
            }
        }
    }

    /// The start of the templates and crds rules: `dir` must be a
    /// directory and the chart must have loaded, else that is the finding.
    fn chart_in<'a>(
        &mut self,
        dir: &str,
        loaded: &'a Result<chart::Loaded, String>,
    ) -> Option<&'a chart::Loaded> {
        let is_dir = self.dir.join(dir.trim_end_matches('/')).is_dir();
        if !self.rule(
            Severity::Error,
            dir,
            (!is_dir).then(|| "not a directory".to_string()),
        ) {
            return None;
        }
        match loaded {
            Ok(loaded) => Some(loaded),
            Err(e) => {
                self.rule(Severity::Error, dir, Some(e.clone()));
                None
            }
        }
    }

    fn dir_text(&self) -> String {
        self.dir.display().to_string()
    }
}

/// Helm's `lint.RunAll` over an unpacked chart directory.
pub fn run_all(dir: &Path, opts: &Options) -> Report {
    let mut l = Linter {
        dir: crate::chart::go_abs(dir),
        messages: Vec::new(),
        log: Vec::new(),
    };
    chartfile(&mut l);
    let user = values_file(&mut l, opts);
    // The loader's verdict, shared by the three rules that load the chart.
    let loaded = if l.dir.join("Chart.yaml").is_dir() {
        // Helm's loader walks past a directory named Chart.yaml.
        Err(chart::ChartError::MissingChartYaml.to_string())
    } else {
        chart::load_dir(&l.dir, &Limits::default())
            .and_then(|files| chart::build_owned(files, &Limits::default()))
            .map_err(|e| e.to_string())
    };
    templates(&mut l, &loaded, opts, &user);
    dependencies(&mut l, &loaded);
    crds(&mut l, &loaded);
    Report {
        messages: l.messages,
        log: l.log,
    }
}

// ---- Chart.yaml (rules/chartfile.go) ----

fn chartfile(l: &mut Linter) {
    const FILE: &str = "Chart.yaml";
    let path = l.dir.join(FILE);
    let is_dir = path.is_dir();
    l.rule(
        Severity::Error,
        FILE,
        is_dir.then(|| "should be a file, not a directory".to_string()),
    );
    let data = match std::fs::read(&path) {
        Ok(d) => d,
        Err(e) => {
            let e = go_read_error(&path, &e);
            l.rule(
                Severity::Error,
                FILE,
                Some(format!("unable to parse YAML\n\t{e}")),
            );
            return;
        }
    };
    let md = match chart::load_chartfile(&data) {
        Ok(md) => md,
        Err(e) => {
            l.rule(
                Severity::Error,
                FILE,
                Some(format!("unable to parse YAML\n\t{e}")),
            );
            return;
        }
    };
    l.rule(
        Severity::Warning,
        FILE,
        chart::strict_chartfile_error(&data)
            .map(|e| format!("failed to strictly parse chart metadata file\n\t{e}")),
    );
    // The document as a plain map, for the types of version and appVersion.
    let raw = std::str::from_utf8(&data)
        .ok()
        .and_then(|t| berth_template::yaml::parse_document(t).ok())
        .unwrap_or(Value::Null);
    let s = |k: &str| md.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let (name, api, version, icon, typ) = (
        s("name"),
        s("apiVersion"),
        s("version"),
        s("icon"),
        s("type"),
    );
    let checks: [(Severity, Option<String>); 12] = [
        (Severity::Error, chart_name(&name)),
        (Severity::Error, api_version(&api)),
        (Severity::Error, string_typed(&raw, "version")),
        (Severity::Error, chart_version(&version)),
        (Severity::Error, string_typed(&raw, "appVersion")),
        (Severity::Error, maintainers(&md)),
        (Severity::Error, sources(&md)),
        (
            Severity::Info,
            icon.is_empty().then(|| "icon is recommended".to_string()),
        ),
        (
            Severity::Error,
            (!icon.is_empty() && !validate::is_request_url(&icon))
                .then(|| format!("invalid icon URL '{icon}'")),
        ),
        (
            Severity::Error,
            (!typ.is_empty() && api != "v2").then(|| {
                format!("chart type is not valid in apiVersion '{api}'. It is valid in apiVersion 'v2'")
            }),
        ),
        (
            Severity::Error,
            (md.get("dependencies")
                .and_then(Value::as_array)
                .is_some_and(|d| !d.is_empty())
                && api != "v2")
                .then(|| {
                    format!("dependencies are not valid in the Chart file with apiVersion '{api}'. They are valid in apiVersion 'v2'")
                }),
        ),
        (
            Severity::Warning,
            (!strict_semver(&version))
                .then(|| format!("version '{version}' is not a valid SemVerV2")),
        ),
    ];
    for (sev, err) in checks {
        l.rule(sev, FILE, err);
    }
}

/// Go's error for a file `os.ReadFile` could not read.
fn go_read_error(path: &Path, e: &std::io::Error) -> String {
    crate::values::go_read_error(&path.display().to_string(), e)
}

fn chart_name(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("name is required".into());
    }
    (go_base(name) != name).then(|| {
        format!(
            "chart name {} is invalid",
            berth_template::gofmt::quote(name)
        )
    })
}

/// Go's `filepath.Base`.
fn go_base(p: &str) -> &str {
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        return if p.is_empty() { "." } else { "/" };
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

fn api_version(api: &str) -> Option<String> {
    match api {
        "" => Some(r#"apiVersion is required. The value must be either "v1" or "v2""#.into()),
        "v1" | "v2" => None,
        other => Some(format!(
            r#"apiVersion '{other}' is not valid. The value must be either "v1" or "v2""#
        )),
    }
}

/// `%T` of what sigs.k8s.io/yaml reads a field of Chart.yaml as, when it
/// is not a string.
fn string_typed(raw: &Value, key: &str) -> Option<String> {
    let v = raw.as_object()?.get(key)?;
    let ty = match v {
        Value::String(_) => return None,
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(_) => "float64",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    };
    Some(format!(
        "{key} should be of type string but it's of type {ty}"
    ))
}

fn chart_version(version: &str) -> Option<String> {
    if version.is_empty() {
        return Some("version is required".into());
    }
    let Ok(v) = Version::parse(version) else {
        return Some(format!("version '{version}' is not a valid SemVer"));
    };
    // Masterminds' `>0.0.0-0`, which admits every version but 0.0.0-0.
    let floor = Version::parse("0.0.0-0").ok()?;
    (v.compare(&floor) != std::cmp::Ordering::Greater).then(|| {
        format!(
            "version {} is less than or equal to \"0.0.0-0\"",
            berth_template::gofmt::quote(&v.to_string())
        )
    })
}

/// Masterminds' `StrictNewVersion`: exactly MAJOR.MINOR.PATCH, no leading
/// zeros, then an optional pre-release and build metadata.
pub fn strict_semver(version: &str) -> bool {
    let parts: Vec<&str> = version.splitn(3, '.').collect();
    let [major, minor, rest] = parts[..] else {
        return false;
    };
    let (rest, meta) = match rest.split_once('+') {
        Some((r, m)) => (r, Some(m)),
        None => (rest, None),
    };
    let (patch, pre) = match rest.split_once('-') {
        Some((p, pre)) => (p, Some(pre)),
        None => (rest, None),
    };
    let number = |p: &str| {
        !p.is_empty()
            && p.bytes().all(|b| b.is_ascii_digit())
            && !(p.len() > 1 && p.starts_with('0'))
            && p.parse::<u64>().is_ok()
    };
    let ident = |s: &str, numeric_no_zero: bool| {
        s.split('.').all(|part| {
            !part.is_empty()
                && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !(numeric_no_zero
                    && part.len() > 1
                    && part.starts_with('0')
                    && part.bytes().all(|b| b.is_ascii_digit()))
        })
    };
    number(major)
        && number(minor)
        && number(patch)
        && pre.is_none_or(|p| ident(p, true))
        && meta.is_none_or(|m| ident(m, false))
}

fn maintainers(md: &Map<String, Value>) -> Option<String> {
    for m in md.get("maintainers").and_then(Value::as_array)? {
        let Some(m) = m.as_object() else {
            return Some("a maintainer entry is empty".into());
        };
        let s = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("");
        let (name, email, url) = (s("name"), s("email"), s("url"));
        if name.is_empty() {
            return Some("each maintainer requires a name".into());
        }
        if !email.is_empty() && !validate::is_email(email) {
            return Some(format!("invalid email '{email}' for maintainer '{name}'"));
        }
        if !url.is_empty() && !validate::is_url(url) {
            return Some(format!("invalid url '{url}' for maintainer '{name}'"));
        }
    }
    None
}

fn sources(md: &Map<String, Value>) -> Option<String> {
    md.get("sources")
        .and_then(Value::as_array)?
        .iter()
        .map(|s| s.as_str().unwrap_or(""))
        .find(|s| s.is_empty() || !validate::is_request_url(s))
        .map(|s| format!("invalid source URL '{s}'"))
}

// ---- values.yaml (rules/values.go) ----

/// The rule, and the user's values as it leaves them for the template
/// rule: Helm's `CoalesceTables` copies only the top level of the user's
/// map, so the file's values are merged into the user's own tables (a
/// null over a key the file sets is deleted there: `--set tags.x=null`
/// then no longer turns a `tags: {x: false}` off, as the template rule's
/// dependencies see it).
fn values_file(l: &mut Linter, opts: &Options) -> Map<String, Value> {
    const FILE: &str = "values.yaml";
    let path = l.dir.join(FILE);
    let exists = path.exists();
    if !l.rule(
        Severity::Info,
        FILE,
        (!exists).then(|| "file does not exist".to_string()),
    ) {
        return opts.values.clone();
    }
    let (err, user) = check_values_file(&path, opts);
    l.rule(Severity::Error, FILE, err);
    user
}

fn check_values_file(path: &Path, opts: &Options) -> (Option<String>, Map<String, Value>) {
    let unchanged = || opts.values.clone();
    let values = match std::fs::read(path) {
        Err(e) => {
            let e = format!("unable to parse YAML: {}", go_read_error(path, &e));
            return (Some(e), unchanged());
        }
        Ok(data) => match read_values(&data) {
            Ok(v) => v,
            Err(e) => return (Some(format!("unable to parse YAML: {e}")), unchanged()),
        },
    };
    // Only the top level, as Helm: the user's values over the file's.
    let mut coalesced = opts.values.clone();
    helm_coalesce_tables(&mut coalesced, &values);
    // The user's tables are the coalesced ones, merged in place.
    let user = opts
        .values
        .iter()
        .map(|(k, v)| match (v, coalesced.get(k)) {
            (Value::Object(_), Some(merged @ Value::Object(_))) => (k.clone(), merged.clone()),
            _ => (k.clone(), v.clone()),
        })
        .collect();
    let schema = std::fs::read(path.with_file_name("values.schema.json")).unwrap_or_default();
    if schema.is_empty() || opts.skip_schema_validation {
        return (None, user);
    }
    let err =
        helm::validate_single_schema(&Value::Object(coalesced), &schema, &opts.remote_schemas)
            .err();
    (err, user)
}

/// Helm's `common.ReadValues`: one document into a `common.Values` map.
fn read_values(data: &[u8]) -> Result<Map<String, Value>, String> {
    let text = std::str::from_utf8(data).map_err(|_| {
        format!(
            "error converting YAML to JSON: yaml: {}",
            crate::chart::not_utf8(data)
        )
    })?;
    match berth_template::yaml::parse_document(text).map_err(|e| e.to_string())? {
        Value::Object(m) => Ok(m),
        Value::Null => Ok(Map::new()),
        other => Err(format!(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type common.Values",
            crate::chart::metadata::json_kind(&other)
        )),
    }
}

/// Helm's `CoalesceTables(dst, src)`: what `dst` lacks is taken from
/// `src`; tables on both sides merge, `dst` winning; a null in `dst`
/// removes the key when `src` has a value there (the user "nullifying a
/// chart default"), and stays when `src` has none.
fn helm_coalesce_tables(dst: &mut Map<String, Value>, src: &Map<String, Value>) {
    for (k, sv) in src {
        match dst.get_mut(k) {
            None => {
                dst.insert(k.clone(), sv.clone());
            }
            Some(Value::Null) if !sv.is_null() => {
                dst.remove(k);
            }
            Some(Value::Object(d)) => {
                if let Value::Object(s) = sv {
                    helm_coalesce_tables(d, s);
                }
            }
            Some(_) => {}
        }
    }
}

// ---- templates (rules/template.go) ----

fn templates(
    l: &mut Linter,
    loaded: &Result<chart::Loaded, String>,
    opts: &Options,
    user: &Map<String, Value>,
) {
    const DIR: &str = "templates/";
    let path = l.dir.join("templates");
    if !l.rule(
        Severity::Warning,
        DIR,
        (!path.exists()).then(|| "directory does not exist".to_string()),
    ) {
        return;
    }
    let Some(loaded) = l.chart_in(DIR, loaded) else {
        return;
    };
    let mut capabilities = helm::Capabilities::default();
    if let Some(v) = &opts.kube_version {
        capabilities.kube_version = v.clone();
    }
    let (major, minor) = major_minor(&capabilities.kube_version);
    let mut render_opts = helm::RenderOptions::new(helm::ReleaseOptions {
        name: "test-release".into(),
        namespace: opts.namespace.clone(),
        revision: 0,
        is_install: false,
        is_upgrade: false,
    });
    render_opts.capabilities = capabilities;
    render_opts.skip_schema_validation = opts.skip_schema_validation;
    let lint_log = helm::LintLog::default();
    render_opts.lint = Some(lint_log.clone());
    let user = Value::Object(user.clone());
    let log = &mut l.log;
    let rendered = berth_template::with_big_stack(|| {
        // Helm lints quietly past what it cannot process or coalesce.
        let Ok(mut chart) = helm::process_dependencies(&loaded.chart, &user, log) else {
            return Ok(None);
        };
        crate::schema_refs::attach(&mut chart, &opts.remote_schemas);
        let Ok(once) = helm::coalesce_values(&chart, &user, log) else {
            return Ok(None);
        };
        // Lint's template rule coalesces, then ToRenderValues coalesces
        // that again: a nested chart default a user's null removed comes
        // back the second time (`--set nested.a=null`).
        let Ok(values) = helm::coalesce_values(&chart, &once, log) else {
            return Ok(None);
        };
        if !opts.skip_schema_validation {
            helm::validate_values(&chart, &values).map_err(|e| e.to_string())?;
        }
        helm::render_go(&chart, &values, &render_opts)
            .map(Some)
            .map_err(|e| e.to_string())
    })
    .unwrap_or_else(Err);
    l.log.extend(std::mem::take(
        &mut *lint_log.lock().unwrap_or_else(|e| e.into_inner()),
    ));
    let rendered = match rendered {
        Ok(Some(r)) => r,
        Ok(None) => return,
        Err(e) => {
            l.rule(Severity::Error, DIR, Some(e));
            return;
        }
    };
    let chart_name = loaded.chart.name().to_string();
    for t in &loaded.chart.templates {
        let file = t.name.as_str();
        l.rule(Severity::Error, file, allowed_extension(file));
        let ext = extension(file).to_ascii_lowercase();
        if ext != ".yaml" && ext != ".yml" {
            continue;
        }
        let Some(content) = rendered.get(&format!("{chart_name}/{file}")) else {
            continue;
        };
        if content.trim().is_empty() {
            continue;
        }
        l.rule(Severity::Warning, file, top_indent(content));
        for doc in decode_stream(content) {
            let head = match doc {
                Ok(head) => head,
                Err(e) => {
                    l.rule(
                        Severity::Error,
                        file,
                        Some(format!("unable to parse YAML: {e}")),
                    );
                    return;
                }
            };
            let Some([api, kind, name]) = head else {
                continue;
            };
            l.rule(
                Severity::Warning,
                file,
                validate::metadata_name_error(&kind, &name),
            );
            if !api.is_empty() && !kind.is_empty() {
                l.rule(
                    Severity::Warning,
                    file,
                    deprecations::warning(&api, &kind, major, minor),
                );
            }
            l.rule(Severity::Error, file, match_selector(&kind, &name, content));
            l.rule(Severity::Error, file, list_annotations(&kind, content));
        }
    }
}

/// The numeric major and minor of a Kubernetes version (`v1.36.0`,
/// `1.30+`), as Helm reads `KubeVersion.Major` and `.Minor`.
fn major_minor(v: &str) -> (u32, u32) {
    let k = helm::parse_kube_version(v);
    let digits = |s: &str| {
        s.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .unwrap_or(0)
    };
    (digits(&k.major), digits(&k.minor))
}

/// Go's `filepath.Ext`.
fn extension(file: &str) -> &str {
    let base = file.rsplit('/').next().unwrap_or(file);
    base.rfind('.').map(|i| &base[i..]).unwrap_or("")
}

fn allowed_extension(file: &str) -> Option<String> {
    let ext = extension(file);
    (![".yaml", ".yml", ".tpl", ".txt"].contains(&ext)).then(|| {
        format!("file extension '{ext}' not valid. Valid extensions are .yaml, .yml, .tpl, or .txt")
    })
}

/// Helm's `validateTopIndentLevel`: the first non-blank line must not be
/// indented.
fn top_indent(content: &str) -> Option<String> {
    let line = content.lines().find(|l| !l.trim().is_empty())?;
    let line = line.strip_suffix('\r').unwrap_or(line);
    (line.starts_with(' ') || line.starts_with('\t')).then(|| {
        format!(
            "document starts with an illegal indent: {}, which may cause parsing problems",
            berth_template::gofmt::quote(line)
        )
    })
}

/// What `helm lint` reads of one rendered document.
type Head = Option<[String; 3]>;

/// apimachinery's `YAMLOrJSONDecoder` over a rendered file, decoding each
/// document into lint's stub: a JSON stream if the text starts with `{`
/// (falling back to YAML after a first object JSON cannot read), else
/// YAML documents split at `---` lines. Stops after the first error.
fn decode_stream(content: &str) -> Vec<Result<Head, String>> {
    let mut out = Vec::new();
    let mut at = 0;
    if content.trim_start().starts_with('{') {
        let mut count = 0;
        loop {
            let err = match berth_template::json::unmarshal_prefix(&content[at..]) {
                Ok(None) => return out,
                Ok(Some((v, n))) => {
                    let doc = berth_template::value::json::to_json(&v);
                    match chart::lint_head(doc, false) {
                        Ok(head) => {
                            out.push(Ok(head));
                            count += 1;
                            at += n;
                            continue;
                        }
                        Err(e) => e,
                    }
                }
                Err(berth_template::json::PrefixError::UnexpectedEof) => "unexpected EOF".into(),
                Err(berth_template::json::PrefixError::Syntax(msg, off)) => {
                    if count > 1 {
                        out.push(Err(msg));
                        return out;
                    }
                    format!("json: offset {}: {msg}", at + off)
                }
            };
            if count > 1 {
                out.push(Err(err));
                return out;
            }
            // YAML takes over where JSON stopped, past whitespace up to
            // the first newline; its first document decides.
            let rest = &content[at..];
            let skip = rest
                .char_indices()
                .find(|&(_, c)| !c.is_whitespace() || c == '\n')
                .map(|(i, c)| if c == '\n' { i + 1 } else { i })
                .unwrap_or(rest.len());
            let mut docs = yaml_documents(&rest[skip..]);
            match docs.first() {
                Some(Ok(_)) => {
                    out.append(&mut docs);
                }
                _ => out.push(Err(err)),
            }
            return out;
        }
    }
    yaml_documents(&content[at..])
}

/// apimachinery's `YAMLReader` + sigs.k8s.io/yaml per document.
fn yaml_documents(text: &str) -> Vec<Result<Head, String>> {
    let mut out = Vec::new();
    let mut doc = String::new();
    let flush = |doc: &mut String, out: &mut Vec<Result<Head, String>>| -> bool {
        if doc.is_empty() {
            return true;
        }
        let r = berth_template::yaml::parse_document_ints(doc)
            .map_err(|e| e.to_string())
            .and_then(|v| chart::lint_head(v, true));
        doc.clear();
        let ok = r.is_ok();
        out.push(r);
        ok
    };
    for line in text.split_inclusive('\n') {
        let line = line.strip_suffix('\n').unwrap_or(line);
        let line = line.strip_suffix('\r').unwrap_or(line);
        if let Some(rest) = line.strip_prefix("---") {
            let rest = rest.trim();
            if !rest.is_empty() && !rest.starts_with('#') {
                out.push(Err(format!("invalid Yaml document separator: {rest}")));
                return out;
            }
            // A separator with nothing before it is kept: the next
            // document's first line (its errors' lines count it).
            if !doc.is_empty() {
                if !flush(&mut doc, &mut out) {
                    return out;
                }
                continue;
            }
        }
        doc.push_str(line);
        doc.push('\n');
    }
    flush(&mut doc, &mut out);
    out
}

/// Helm's `validateMatchSelector`: workload kinds must name matchLabels or
/// matchExpressions somewhere in their file.
fn match_selector(kind: &str, name: &str, content: &str) -> Option<String> {
    let workload = matches!(
        kind,
        "Deployment" | "ReplicaSet" | "DaemonSet" | "StatefulSet"
    );
    (workload && !content.contains("matchLabels") && !content.contains("matchExpressions")).then(
        || {
            format!(
                "a {kind} must contain matchLabels or matchExpressions, and {} does not",
                berth_template::gofmt::quote(name)
            )
        },
    )
}

/// Helm's `validateListAnnotations`: `helm.sh/resource-policy` has no
/// effect on the items of a List. The file is read into
/// `struct { Items []struct { Metadata struct { Annotations
/// map[string]string } } }` first, and what does not fit it is that
/// read's error.
fn list_annotations(kind: &str, content: &str) -> Option<String> {
    if kind != "List" {
        return None;
    }
    let doc = match berth_template::yaml::parse_document(content) {
        Ok(d) => d,
        Err(e) => return Some(format!("unable to parse YAML: {e}")),
    };
    let mut keep = false;
    if let Some(e) = list_type_error(&doc, &mut keep) {
        return Some(format!(
            "unable to parse YAML: error unmarshaling JSON: while decoding JSON: {e}"
        ));
    }
    keep.then(|| "annotation 'helm.sh/resource-policy' within List objects are ignored".into())
}

/// encoding/json's first type error reading `doc` into lint's List stub
/// (fields matched ignoring case, in the order sigs.k8s.io/yaml's JSON
/// has them: sorted); `keep` is set when an item's annotations hold the
/// resource policy. A number or bool headed for a string is text to
/// sigs.k8s.io/yaml, not an error.
fn list_type_error(doc: &Value, keep: &mut bool) -> Option<String> {
    const ANNOTATIONS: &str = "map[string]string";
    const METADATA: &str = "struct { Annotations map[string]string }";
    const ITEM: &str = "struct { Metadata struct { Annotations map[string]string } }";
    let mut first: Option<String> = None;
    fn type_error(v: &Value, field: &str, ty: &str) -> String {
        format!(
            "json: cannot unmarshal {} into Go struct field {field} of type {ty}",
            chart::metadata::json_kind(v)
        )
    }
    // The values of the fields of `obj` named `name`, ignoring case.
    fn named<'a>(obj: &'a Map<String, Value>, name: &str) -> Vec<&'a Value> {
        let mut keys: Vec<&String> = obj
            .keys()
            .filter(|k| k.eq_ignore_ascii_case(name))
            .collect();
        keys.sort();
        keys.into_iter().map(|k| &obj[k]).collect()
    }
    // A map, or nothing: null is skipped, anything else is a type error.
    fn as_map<'a>(
        v: &'a Value,
        first: &mut Option<String>,
        field: &str,
        ty: &str,
    ) -> Option<&'a Map<String, Value>> {
        match v {
            Value::Object(m) => Some(m),
            Value::Null => None,
            other => {
                first.get_or_insert_with(|| type_error(other, field, ty));
                None
            }
        }
    }
    let Value::Object(top) = doc else {
        return None;
    };
    for items in named(top, "items") {
        let items = match items {
            Value::Null => continue,
            Value::Array(items) => items,
            other => {
                first.get_or_insert_with(|| type_error(other, ".Items", &format!("[]{ITEM}")));
                continue;
            }
        };
        for item in items {
            let Some(item) = as_map(item, &mut first, ".Items", ITEM) else {
                continue;
            };
            for md in named(item, "metadata") {
                let Some(md) = as_map(md, &mut first, ".Items.Metadata", METADATA) else {
                    continue;
                };
                let at = ".Items.Metadata.Annotations";
                for ann in named(md, "annotations") {
                    let Some(ann) = as_map(ann, &mut first, at, ANNOTATIONS) else {
                        continue;
                    };
                    for v in ann.values() {
                        if matches!(v, Value::Array(_) | Value::Object(_)) {
                            first.get_or_insert_with(|| type_error(v, at, "string"));
                        }
                    }
                    *keep |= ann.contains_key("helm.sh/resource-policy");
                }
            }
        }
    }
    first
}

// ---- dependencies (rules/dependencies.go) ----

fn dependencies(l: &mut Linter, loaded: &Result<chart::Loaded, String>) {
    let loaded = match loaded {
        Ok(loaded) => loaded,
        Err(e) => {
            l.rule(
                Severity::Error,
                "",
                Some(format!("unable to load chart\n\t{e}")),
            );
            return;
        }
    };
    let c = &loaded.chart;
    let listed: Vec<&Map<String, Value>> = c
        .metadata
        .get("dependencies")
        .and_then(Value::as_array)
        .map(|d| d.iter().filter_map(Value::as_object).collect())
        .unwrap_or_default();
    let field = |d: &Map<String, Value>, k: &str| {
        d.get(k).and_then(Value::as_str).unwrap_or("").to_string()
    };
    let listed_names: Vec<String> = listed.iter().map(|d| field(d, "name")).collect();
    let held: Vec<&str> = c.dependencies.iter().map(|d| d.name()).collect();
    let dir = l.dir_text();

    let unlisted: Vec<&str> = held
        .iter()
        .copied()
        .filter(|h| !listed_names.iter().any(|n| n == h))
        .collect();
    l.rule(
        Severity::Error,
        &dir,
        (!unlisted.is_empty()).then(|| {
            format!(
                "chart metadata is missing these dependencies: {}",
                unlisted.join(",")
            )
        }),
    );
    let mut seen = std::collections::HashSet::new();
    let shadowing: Vec<String> = listed
        .iter()
        .map(|d| match field(d, "alias") {
            a if a.is_empty() => field(d, "name"),
            a => a,
        })
        .filter(|k| !seen.insert(k.clone()))
        .collect();
    l.rule(
        Severity::Error,
        &dir,
        (!shadowing.is_empty()).then(|| {
            format!(
                "multiple dependencies with name or alias: {}",
                shadowing.join(",")
            )
        }),
    );
    let missing: Vec<&str> = listed_names
        .iter()
        .map(String::as_str)
        .filter(|n| !held.contains(n))
        .collect();
    l.rule(
        Severity::Warning,
        &dir,
        (!missing.is_empty()).then(|| {
            format!(
                "chart directory is missing these dependencies: {}",
                missing.join(",")
            )
        }),
    );
}

// ---- crds/ (rules/crds.go) ----

fn crds(l: &mut Linter, loaded: &Result<chart::Loaded, String>) {
    const DIR: &str = "crds/";
    let path = l.dir.join("crds");
    if !path.exists() {
        return;
    }
    let Some(loaded) = l.chart_in(DIR, loaded) else {
        return;
    };
    for crd in crate::render::crds(&loaded.chart) {
        for doc in decode_stream(&crd.data) {
            let head = match doc {
                Ok(head) => head,
                Err(e) => {
                    l.rule(
                        Severity::Error,
                        &crd.name,
                        Some(format!("unable to parse YAML: {e}")),
                    );
                    return;
                }
            };
            let Some([api, kind, _]) = head else {
                continue;
            };
            l.rule(
                Severity::Error,
                &crd.name,
                (!api.starts_with("apiextensions.k8s.io"))
                    .then(|| "apiVersion is not in 'apiextensions.k8s.io'".to_string()),
            );
            l.rule(
                Severity::Error,
                &crd.name,
                (kind != "CustomResourceDefinition")
                    .then(|| "object kind is not 'CustomResourceDefinition'".to_string()),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_semver_is_mastermindss_strict_new_version() {
        for ok in [
            "1.2.3",
            "0.0.0",
            "1.2.3-rc.1",
            "1.2.3+build.5",
            "1.2.3-0a.1+x-y",
        ] {
            assert!(strict_semver(ok), "{ok}");
        }
        for bad in [
            "", "1.2", "v1.2.3", "01.2.3", "1.2.3-01", "1.2.3-", "1.2.3+", "1.2.3.4", "1.2.x",
        ] {
            assert!(!strict_semver(bad), "{bad}");
        }
    }

    #[test]
    fn rendered_files_split_as_apimachinerys_yaml_reader_splits_them() {
        let heads = |t: &str| -> Vec<Result<Option<String>, String>> {
            decode_stream(t)
                .into_iter()
                .map(|r| r.map(|h| h.map(|[_, kind, _]| kind)))
                .collect()
        };
        // `---` lines end documents; comments may follow them, nothing else.
        assert_eq!(
            heads("kind: A\n--- # next\nkind: B\n---\n# only a comment\n"),
            [Ok(Some("A".into())), Ok(Some("B".into())), Ok(None)]
        );
        // A bad separator is reported before the document it ends.
        assert_eq!(
            heads("kind: A\n--- oops\n"),
            [Err("invalid Yaml document separator: oops".into())]
        );
        // A JSON stream, then one JSON cannot read but YAML can.
        assert_eq!(
            heads("{\"kind\": \"A\"}\n{kind: B}\n"),
            [Ok(Some("A".into())), Ok(Some("B".into()))]
        );
        assert_eq!(
            heads("{ {x}"),
            [Err(
                "json: offset 3: invalid character '{' looking for beginning of object key string"
                    .into()
            )]
        );
    }

    #[test]
    fn go_paths() {
        assert_eq!(go_base("a/b/"), "b");
        assert_eq!(go_base("a"), "a");
        assert_eq!(go_base("///"), "/");
        assert_eq!(extension("templates/a.b/c"), "");
        assert_eq!(extension("templates/x.YAML"), ".YAML");
    }
}
