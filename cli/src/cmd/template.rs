//! `berth template [NAME] CHART`: render locally, exactly as `helm template`
//! prints it (manifest in install order, then hooks). No agent involved;
//! `lookup` returns empty results, as in Helm.

use std::io::Write;
use std::path::PathBuf;

use berth::chart::{self, Limits};
use berth_template::helm;
use clap::Args;

use super::install::ValuesFlags;
use crate::{CliError, Global, Io};

#[derive(Args, Debug)]
pub struct TemplateArgs {
    /// Release name (default "release-name"), then the chart; or only the chart.
    #[arg(num_args = 1..=2, value_names = ["NAME", "CHART"], required = true)]
    pub args: Vec<String>,
    #[command(flatten)]
    pub values: ValuesFlags,
    /// Kubernetes version for .Capabilities.KubeVersion (e.g. v1.33.0).
    #[arg(long)]
    pub kube_version: Option<String>,
    /// Extra API versions for .Capabilities.APIVersions (repeatable).
    #[arg(short = 'a', long = "api-versions")]
    pub api_versions: Vec<String>,
    /// Render as an upgrade rather than an install.
    #[arg(long)]
    pub is_upgrade: bool,
    /// Leave hooks out of the output.
    #[arg(long)]
    pub no_hooks: bool,
}

pub fn run(g: &Global, a: TemplateArgs, io: &mut Io) -> Result<(), CliError> {
    let (name, chart_path) = match a.args.as_slice() {
        [chart] => ("release-name".to_string(), PathBuf::from(chart)),
        [name, chart] => (name.clone(), PathBuf::from(chart)),
        _ => return Err(CliError::Usage("template takes [NAME] CHART".into())),
    };
    berth::types::ReleaseName::parse(&name).map_err(|e| CliError::Usage(e.to_string()))?;
    let values = serde_json::Value::Object(a.values.merge()?);
    let files = chart::load_path(&chart_path, &Limits::default())?;
    let loaded = chart::build(&files)?;
    let mut capabilities = helm::Capabilities::default();
    if let Some(v) = &a.kube_version {
        capabilities.kube_version = if v.starts_with('v') {
            v.clone()
        } else {
            format!("v{v}")
        };
    }
    capabilities
        .api_versions
        .extend(a.api_versions.iter().cloned());
    let mut opts = helm::RenderOptions::new(helm::ReleaseOptions {
        name,
        namespace: g.namespace.clone(),
        revision: 1,
        is_install: !a.is_upgrade,
        is_upgrade: a.is_upgrade,
    });
    opts.capabilities = capabilities;
    let rendered = berth::render::render(&loaded, &values, &opts)?;
    let text = berth::manifest::template_output(&rendered.manifest, &rendered.hooks, !a.no_hooks);
    write!(io.out, "{text}")?;
    Ok(())
}
