//! Rendering a loaded chart into a release: coalesce values, run the
//! template engine, pull out NOTES.txt, split hooks from resources and
//! assemble the manifest — the steps of Helm's action.renderResources.
//! Used by the agent for install/upgrade and by the CLI for `template`.

use std::collections::BTreeMap;

use berth_template::helm;
use berth_template::value::gostr;
use serde_json::Value;

use crate::chart::Loaded;
use crate::manifest::{self, Hook};

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("{0}")]
    Template(String),
    #[error(transparent)]
    Manifest(#[from] manifest::ManifestError),
    /// A rendered document is not the YAML of an object; `files` holds every
    /// rendered file as Helm hands them back for debugging (`---\n# Source:
    /// NAME\nCONTENT\n` each, what `helm template --debug` prints).
    #[error("{source}")]
    Unparsable {
        source: manifest::ManifestError,
        files: String,
    },
    #[error("library charts are not installable")]
    Library,
    /// Helm's `CheckDependencies` (pkg/cmd/install.go words it).
    #[error(
        "an error occurred while checking for chart dependencies. You may need to run 'helm dependency build' to fetch missing dependencies: found in Chart.yaml, but missing in charts/ directory: {}",
        .0.join(", ")
    )]
    MissingDependencies(Vec<String>),
    /// Chart.yaml's `kubeVersion` does not admit the cluster's version.
    #[error(
        "chart requires kubeVersion: {required} which is incompatible with Kubernetes {actual}"
    )]
    KubeVersion { required: String, actual: String },
}

/// What a chart rendered into.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// Helm's release manifest: resources in install order.
    pub manifest: String,
    /// The same resources one by one (`helm template --output-dir` writes
    /// them per file; re-splitting `manifest` would not give them back, as
    /// Helm's separator swallows the whitespace before it).
    pub manifests: Vec<manifest::Manifest>,
    pub hooks: Vec<Hook>,
    pub notes: String,
    /// The values the templates saw.
    pub values: Value,
    /// The `crds/` files of the chart and its enabled subcharts, not
    /// templated (Helm's `Chart.CRDObjects`).
    pub crds: Vec<Crd>,
}

/// A file from a chart's `crds/` directory.
#[derive(Debug, Clone, PartialEq)]
pub struct Crd {
    /// `<chart>/crds/x.yaml`, or `<parent>/charts/<sub>/crds/x.yaml`.
    pub filename: String,
    /// The file's name in its own chart (`crds/x.yaml`).
    pub name: String,
    pub data: String,
}

const NOTES: &str = "NOTES.txt";

/// Renders `loaded` with the user's values. What Helm would log on stderr
/// meanwhile (values that do not merge, non-bool conditions, …) is added to
/// `log`, also when rendering then fails, as Helm prints it before the error.
pub fn render(
    loaded: &Loaded,
    user_values: &Value,
    opts: &helm::RenderOptions<'_>,
    log: &mut Vec<helm::Warning>,
) -> Result<Rendered, RenderError> {
    render_post(loaded, user_values, opts, log, None)
}

/// A post-renderer (Helm's `PostRenderer.Run`): the rendered documents as
/// one stream in, the documents it made of them out, or why not.
pub type PostRenderer<'a> = &'a (dyn Fn(String) -> Result<String, String> + Sync);

/// [`render`], the rendered documents passed through `post` (Helm's
/// `--post-renderer`) before they are sorted into hooks and resources.
pub fn render_post(
    loaded: &Loaded,
    user_values: &Value,
    opts: &helm::RenderOptions<'_>,
    log: &mut Vec<helm::Warning>,
    post: Option<PostRenderer<'_>>,
) -> Result<Rendered, RenderError> {
    // One big stack for every step (each would map its own).
    berth_template::with_big_stack(|| render_here(loaded, user_values, opts, log, post))
        .unwrap_or_else(|e| Err(RenderError::Template(e)))
}

fn render_here(
    loaded: &Loaded,
    user_values: &Value,
    opts: &helm::RenderOptions<'_>,
    log: &mut Vec<helm::Warning>,
    post: Option<PostRenderer<'_>>,
) -> Result<Rendered, RenderError> {
    if loaded.metadata.chart_type == "library" {
        return Err(RenderError::Library);
    }
    check_dependencies(&loaded.chart)?;
    // Helm's order: enable/disable subcharts and import their values, then
    // coalesce user values over the chart defaults and check them against
    // values.schema.json, then check kubeVersion, then render.
    let template_err = |e: helm::RenderError| RenderError::Template(e.to_string());
    // Helm's install (and so `helm template`) says which step failed; its
    // upgrade does not.
    let chart = helm::process_dependencies(&loaded.chart, user_values, log).map_err(|e| {
        if opts.release.is_install {
            RenderError::Template(format!("chart dependencies processing failed: {e}"))
        } else {
            template_err(e)
        }
    })?;
    let values = helm::coalesce_values(&chart, user_values, log).map_err(template_err)?;
    if !opts.skip_schema_validation {
        helm::validate_values(&chart, &values).map_err(template_err)?;
    }
    let required = &loaded.metadata.kube_version;
    let actual = &opts.capabilities.kube_version;
    if !required.is_empty() && !berth_template::funcs::semver::is_compatible_range(required, actual)
    {
        return Err(RenderError::KubeVersion {
            required: required.clone(),
            actual: actual.clone(),
        });
    }
    let checked = helm::RenderOptions {
        skip_schema_validation: true,
        ..opts.clone()
    };
    // Go strings: sorting the manifests refuses bytes that are not UTF-8
    // as Helm's YAML reader does, rather than show them as U+FFFD.
    let mut files: BTreeMap<String, String> =
        helm::render_go(&chart, &values, &checked).map_err(template_err)?;
    // The top chart's notes, or with --render-subchart-notes every chart's
    // (Helm joins them with a newline in its map's random order; berth in
    // the files' order).
    let top_notes = format!("{}/templates/{NOTES}", loaded.metadata.name);
    let notes = files
        .iter()
        .filter(|(k, _)| **k == top_notes || (opts.sub_notes && k.ends_with(&format!("/{NOTES}"))))
        .map(|(_, n)| gostr::to_display(n).into_owned())
        .collect::<Vec<_>>()
        .join("\n");
    files.retain(|k, _| !k.ends_with(NOTES));
    if let Some(post) = post {
        let merged = crate::postrender::annotate_and_merge(&files)
            .map_err(|e| RenderError::Template(format!("error merging manifests: {e}")))?;
        let out = post(merged).map_err(|e| {
            RenderError::Template(format!("error while running post render on files: {e}"))
        })?;
        files = crate::postrender::split_and_deannotate(&out, "").map_err(|e| {
            RenderError::Template(format!("error while parsing post rendered output: {e}"))
        })?;
    }
    let (hooks, manifests) = match manifest::sort_manifests(&files) {
        Ok(sorted) => sorted,
        Err(source) => {
            let mut blob = String::new();
            for (name, content) in files.iter().filter(|(_, c)| !c.trim().is_empty()) {
                blob.push_str(&format!("---\n# Source: {name}\n{content}\n"));
            }
            return Err(RenderError::Unparsable {
                source,
                files: blob,
            });
        }
    };
    let mut crds = Vec::new();
    crd_objects(&chart, None, &mut crds);
    Ok(Rendered {
        manifest: manifest::release_manifest(&manifests),
        manifests,
        hooks,
        notes,
        values,
        crds,
    })
}

/// Helm's `CheckDependencies`: every dependency Chart.yaml (or a v1 chart's
/// requirements.yaml) lists must be among the loaded subcharts, by name.
fn check_dependencies(chart: &helm::Chart) -> Result<(), RenderError> {
    let missing = missing_dependencies(chart);
    if missing.is_empty() {
        Ok(())
    } else {
        Err(RenderError::MissingDependencies(missing))
    }
}

/// The dependencies Chart.yaml lists that the chart does not hold, by name
/// (what `--dependency-update` then fetches).
pub fn missing_dependencies(chart: &helm::Chart) -> Vec<String> {
    let Some(reqs) = chart.metadata.get("dependencies").and_then(Value::as_array) else {
        return Vec::new();
    };
    reqs.iter()
        // A dependency without a name is missing too (Helm lists it as "").
        .map(|r| r.get("name").and_then(Value::as_str).unwrap_or(""))
        .filter(|name| !chart.dependencies.iter().any(|d| d.name() == *name))
        .map(str::to_string)
        .collect()
}

/// The `crds/` files of a chart and every subchart it holds (Helm's
/// `CRDObjects` of a chart as loaded, what `show crds` prints).
pub fn crds(chart: &helm::Chart) -> Vec<Crd> {
    let mut out = Vec::new();
    crd_objects(chart, None, &mut out);
    out
}

/// Helm's `CRDObjects`: `crds/*.yaml|yml|json` of the chart in file order,
/// then of each (enabled) subchart, named by the chart's full path.
fn crd_objects(chart: &helm::Chart, parent: Option<&str>, out: &mut Vec<Crd>) {
    let name = chart.metadata["name"].as_str().unwrap_or_default();
    let full = match parent {
        Some(p) => format!("{p}/charts/{name}"),
        None => name.to_string(),
    };
    for f in &chart.files {
        let ext = f.name.rsplit_once('.').map(|(_, e)| e).unwrap_or_default();
        let manifest_ext = ["yaml", "yml", "json"]
            .iter()
            .any(|e| ext.eq_ignore_ascii_case(e));
        if f.name.starts_with("crds/") && manifest_ext {
            out.push(Crd {
                filename: format!("{full}/{}", f.name),
                name: f.name.clone(),
                data: String::from_utf8_lossy(&f.data).into_owned(),
            });
        }
    }
    for dep in &chart.dependencies {
        crd_objects(dep, Some(&full), out);
    }
}
