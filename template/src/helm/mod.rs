//! Helm's chart rendering on top of the template engine: the chart model
//! handed in by the loader, dependency processing (`dependencies`:
//! conditions, tags, aliases, import-values), values coalescing
//! (`coalesce`), `values.schema.json` validation (`schema`), the objects
//! templates see (`objects`: `.Files`, `.Capabilities`, `common.Values`'
//! methods), and `engine.Render` itself (`render`).
//!
//! An install or upgrade renders as Helm's action does:
//! `process_dependencies(chart, user, log)` → `coalesce_values(&processed,
//! user, log)` → `render(&processed, &values, opts)` (which first checks the
//! values against the charts' schemas, unless `opts.skip_schema_validation`).
//! The first two add to `log` the [`Warning`]s Helm prints on stderr.
//!
//! Values cross this boundary as `serde_json::Value` with one convention:
//! floats are what Helm holds as float64 (everything read from YAML or
//! JSON), integers (`i64`/`u64`) are int64 (Helm's `--set` parser). The
//! difference shows: `{{ .Values.n }}` prints `1e+06` for the float
//! 1000000 and `1000000` for the integer.

mod capabilities;
mod coalesce;
mod dependencies;
mod files;
pub mod objects;
mod render;
mod schema;
pub use schema::RemoteSchemas;
pub use schema::validate_single as validate_single_schema;
mod warning;

pub use capabilities::{check_kube_version, parse_kube_version};
pub use coalesce::coalesce_values;
pub use dependencies::process_dependencies;
pub use render::{render, render_go};
pub use warning::{Level, Warning};

/// Helm's check of the coalesced values against each chart's
/// `values.schema.json` (`ValidateAgainstSchema`), which install, upgrade,
/// template and lint run before rendering — [`render`] runs it unless
/// [`RenderOptions::skip_schema_validation`]. The error reads as Helm's:
/// `values don't meet the specifications of the schema(s) in the following
/// chart(s):` and one block per failing chart.
pub fn validate_values(chart: &Chart, values: &serde_json::Value) -> Result<(), RenderError> {
    let found = crate::on_big_stack(crate::BIG_STACK, || {
        schema::validate_against_schema(chart, values)
    })
    .map_err(|e| RenderError::Values(format!("unable to validate schema: {e}")))?;
    match found {
        None => Ok(()),
        Some(e) => Err(RenderError::Values(format!(
            "values don't meet the specifications of the schema(s) in the following chart(s):\n{e}"
        ))),
    }
}

/// The first URL a schema of the chart (or a subchart's) refers to that is
/// not in its [`RemoteSchemas`] yet: what to read before its values can be
/// validated. None: nothing left to read (or a schema that does not
/// compile for another reason, which validation reports).
pub fn unfetched_schema_reference(chart: &Chart) -> Option<String> {
    crate::on_big_stack(crate::BIG_STACK, || schema::unfetched_reference(chart))
        .ok()
        .flatten()
}

/// A Go template of a command's output (`helm version --template`, …)
/// executed over `data`: fields are keys of its objects (`{{ .Version }}`).
pub fn execute_text(text: &str, data: &serde_json::Value) -> Result<String, String> {
    crate::on_big_stack(crate::BIG_STACK, || {
        let mut templates = crate::exec::Templates::new("_");
        templates.parse("_", text).map_err(|e| e.to_string())?;
        crate::exec::Engine::new(templates, crate::exec::MissingKey::Invalid)
            .execute_template("_", crate::value::json::from_json(data))
            .map_err(|e| e.to_string())
    })?
}

/// Helm's `action.TemplateName`: the release name `--name-template`
/// renders, with no data (so `{{ . }}` is `<no value>`). Helm runs it with
/// Sprig's functions only; berth's set also has Helm's (`toYaml`, …).
pub fn template_name(text: &str) -> Result<String, String> {
    crate::on_big_stack(crate::BIG_STACK, || {
        let mut templates = crate::exec::Templates::new("name-template");
        templates
            .parse("name-template", text)
            .map_err(|e| e.to_string())?;
        crate::exec::Engine::new(templates, crate::exec::MissingKey::Invalid)
            .execute_template("name-template", crate::Value::Nil)
            .map_err(|e| e.to_string())
    })?
}

/// A file of a chart: its path relative to the chart root ('/'-separated) and bytes.
/// The bytes are shared, so that `.Files` in every render sees them without
/// a copy (a chart's files can be tens of MiB), and may be a file mapped
/// into memory, read only where a template reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub name: String,
    pub data: bytes::Bytes,
}

/// A loaded chart, as Helm's loader produces it.
#[derive(Debug, Clone, Default)]
pub struct Chart {
    /// Chart.yaml, parsed (`name`, `version`, `appVersion`, `dependencies`, …).
    pub metadata: serde_json::Value,
    /// Files under `templates/` (names keep the `templates/` prefix).
    pub templates: Vec<File>,
    /// Every other file except `Chart.yaml`, `Chart.lock`, `values.yaml`,
    /// `values.schema.json` and `charts/` (Helm's `chart.Files`, used by `.Files`).
    pub files: Vec<File>,
    /// values.yaml, parsed with [`crate::yaml::parse_values`].
    pub values: serde_json::Value,
    /// values.schema.json, if any.
    pub schema: Option<Vec<u8>>,
    /// Subcharts (`charts/*`), already loaded.
    pub dependencies: Vec<Chart>,
    /// The documents its schema refers to by URL, read by the caller
    /// ([`unfetched_schema_reference`]); empty: none read.
    pub remote_schemas: std::sync::Arc<RemoteSchemas>,
}

impl Chart {
    /// The chart's name from its metadata.
    pub fn name(&self) -> &str {
        self.metadata
            .get("name")
            .and_then(|v| v.as_str())
            .unwrap_or("")
    }

    fn is_library(&self) -> bool {
        self.metadata
            .get("type")
            .and_then(|v| v.as_str())
            .is_some_and(|t| t.eq_ignore_ascii_case("library"))
    }
}

/// `.Release`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseOptions {
    pub name: String,
    pub namespace: String,
    pub revision: u64,
    pub is_install: bool,
    pub is_upgrade: bool,
}

/// `.Capabilities`: what the cluster offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// e.g. `v1.35.0` (a leading `v` is added if missing).
    pub kube_version: String,
    /// API versions: `apps/v1`, and with kinds `apps/v1/Deployment`.
    pub api_versions: Vec<String>,
}

impl Default for Capabilities {
    /// Helm v4.2's defaults: Kubernetes v1.36.0 and `DefaultVersionSet`.
    fn default() -> Self {
        Capabilities {
            kube_version: capabilities::DEFAULT_KUBE_VERSION.to_string(),
            api_versions: capabilities::DEFAULT_API_VERSIONS
                .iter()
                .map(|s| s.to_string())
                .collect(),
        }
    }
}

/// The live-cluster callback for `lookup`.
pub trait Lookup: Send + Sync {
    /// Returns the object (or, with an empty name, the list) as Kubernetes
    /// JSON; an empty map when it does not exist.
    fn lookup(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<serde_json::Value, String>;
}

/// How to render.
/// Where lint mode logs what `required` and `fail` let pass.
pub type LintLog = std::sync::Arc<std::sync::Mutex<Vec<Warning>>>;

#[derive(Clone)]
pub struct RenderOptions<'a> {
    pub release: ReleaseOptions,
    pub capabilities: Capabilities,
    /// `None` (as `helm template` does): `lookup` returns an empty map.
    pub lookup: Option<&'a dyn Lookup>,
    /// Helm's `--strict`: a missing map key is an error (`missingkey=error`).
    pub strict: bool,
    /// Helm's `--skip-schema-validation`: do not check the values against
    /// the charts' `values.schema.json` before rendering.
    pub skip_schema_validation: bool,
    /// Set to `true` (from another thread) to stop a rendering in progress:
    /// it fails promptly with [`RenderError::Cancelled`]. A template can
    /// loop for as long as it likes; this is how a caller with a deadline
    /// or a shutdown gets its thread back. `None`: never cancelled.
    pub cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// Helm's engine `LintMode` (`helm lint`): `required` and `fail` give
    /// "" instead of failing, and what they would have said is logged here.
    pub lint: Option<LintLog>,
    /// Helm's `--render-subchart-notes`: the notes of every chart, not
    /// only the top one's.
    pub sub_notes: bool,
    /// Helm's `--enable-dns`: `getHostByName` looks the name up (Sprig's
    /// function); without it, Helm's stub returns "".
    pub enable_dns: bool,
}

impl<'a> RenderOptions<'a> {
    /// Options with Helm's default capabilities, no cluster, not strict.
    pub fn new(release: ReleaseOptions) -> RenderOptions<'a> {
        RenderOptions {
            release,
            capabilities: Capabilities::default(),
            lookup: None,
            strict: false,
            skip_schema_validation: false,
            cancel: None,
            lint: None,
            sub_notes: false,
            enable_dns: false,
        }
    }
}

/// Why rendering failed, formatted as Helm formats it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// A template does not parse: `parse error at (<file>:<line>): <what>`.
    #[error("{message}")]
    Parse {
        template: String,
        message: String,
        go_message: String,
    },
    /// A template failed while executing, in Helm v4's layout (the location,
    /// `executing "<name>" at <node>:` and the message, one trace per nested
    /// template, on separate lines).
    #[error("{message}")]
    Exec {
        template: String,
        message: String,
        go_message: String,
    },
    /// The values cannot be used (e.g. a subchart's key is not a table).
    #[error("{0}")]
    Values(String),
    /// [`RenderOptions::cancel`] was set while rendering.
    #[error("{}", crate::exec::CANCELLED)]
    Cancelled,
}

impl RenderError {
    /// The underlying Go error text, on one line
    /// (`template: x.yaml:3:7: executing "x.yaml" at <.Values.a.b>: nil pointer evaluating interface {}.b`).
    pub fn go_message(&self) -> &str {
        match self {
            RenderError::Parse { go_message, .. } | RenderError::Exec { go_message, .. } => {
                go_message
            }
            RenderError::Values(m) => m,
            RenderError::Cancelled => crate::exec::CANCELLED,
        }
    }
}
