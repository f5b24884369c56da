//! Rendering a loaded chart into a release: coalesce values, run the
//! template engine, pull out NOTES.txt, split hooks from resources and
//! assemble the manifest — the steps of Helm's action.renderResources.
//! Used by the agent for install/upgrade and by the CLI for `template`.

use std::collections::BTreeMap;

use berth_template::helm;
use serde_json::Value;

use crate::chart::Loaded;
use crate::manifest::{self, Hook};

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("{0}")]
    Template(String),
    #[error(transparent)]
    Manifest(#[from] manifest::ManifestError),
    #[error("library charts are not installable")]
    Library,
}

/// What a chart rendered into.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// Helm's release manifest: resources in install order.
    pub manifest: String,
    pub hooks: Vec<Hook>,
    pub notes: String,
    /// The values the templates saw.
    pub values: Value,
}

const NOTES: &str = "NOTES.txt";

pub fn render(
    loaded: &Loaded,
    user_values: &Value,
    opts: &helm::RenderOptions<'_>,
) -> Result<Rendered, RenderError> {
    if loaded.metadata.chart_type == "library" {
        return Err(RenderError::Library);
    }
    // Helm's order: enable/disable subcharts and import their values, then
    // coalesce user values over the chart defaults, then render (which
    // checks values.schema.json unless told not to).
    let template_err = |e: helm::RenderError| RenderError::Template(e.to_string());
    let chart = helm::process_dependencies(&loaded.chart, user_values).map_err(template_err)?;
    let values = helm::coalesce_values(&chart, user_values).map_err(template_err)?;
    let mut files: BTreeMap<String, String> =
        helm::render(&chart, &values, opts).map_err(template_err)?;
    // Only the top chart's notes are shown (Helm's default, without --render-subchart-notes).
    let top_notes = format!("{}/templates/{NOTES}", loaded.metadata.name);
    let notes = files.get(&top_notes).cloned().unwrap_or_default();
    files.retain(|k, _| !k.ends_with(NOTES));
    let (hooks, manifests) = manifest::sort_manifests(&files)?;
    Ok(Rendered {
        manifest: manifest::release_manifest(&manifests),
        hooks,
        notes,
        values,
    })
}
