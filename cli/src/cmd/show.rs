//! `berth show all|chart|values|readme|crds CHART` and `berth pull CHART`:
//! a chart's files, from wherever `install` would take it, as Helm's `show`
//! prints them (pkg/action/show.go) and `pull` saves them (pkg/action/pull.go).

use std::io::Write;
use std::path::{Path, PathBuf};

use berth::chart::{self, Limits};
use berth_template::jsonpath::JsonPath;
use clap::{Args, Subcommand};

use crate::charts::ChartPathFlags;
use crate::charts::save;
use crate::{CliError, Io};

#[derive(Subcommand, Debug)]
pub enum ShowCommand {
    /// Chart.yaml, values.yaml, the README and the CRDs.
    #[command(after_help = "Examples:\n  berth show all ./mychart")]
    All(ShowArgs),
    /// Chart.yaml, as Helm re-encodes it.
    #[command(
        after_help = "Examples:\n  berth show chart bitnami/nginx --version 15.x\n  berth show chart oci://registry.example/charts/web"
    )]
    Chart(ShowArgs),
    /// values.yaml, as written (or what a JSONPath template picks from it).
    #[command(
        after_help = "Examples:\n  berth show values bitnami/nginx > values.yaml\n  berth show values ./mychart\n  berth show values ./mychart --jsonpath '{.image.tag}'"
    )]
    Values(ShowValuesArgs),
    /// The README (README.md, README.txt or README).
    #[command(after_help = "Examples:\n  berth show readme bitnami/nginx")]
    Readme(ShowArgs),
    /// The CRDs of the chart's crds/ and its subcharts'.
    #[command(after_help = "Examples:\n  berth show crds ./operator")]
    Crds(ShowArgs),
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// A chart directory or archive, repo/chart, a URL or oci:// reference.
    pub chart: PathBuf,
    #[command(flatten)]
    pub chart_path: ChartPathFlags,
}

#[derive(Args, Debug)]
pub struct ShowValuesArgs {
    #[command(flatten)]
    pub show: ShowArgs,
    /// Print what this JSONPath template (kubectl's syntax, e.g.
    /// '{.image.repository}:{.image.tag}') picks from the values instead.
    #[arg(long, value_name = "TEMPLATE")]
    pub jsonpath: Option<String>,
}

#[derive(Args, Debug)]
pub struct PullArgs {
    /// repo/chart, a chart archive's URL or an oci:// reference; several
    /// are pulled one after another, as Helm does.
    #[arg(required = true, value_name = "CHART")]
    pub charts: Vec<PathBuf>,
    /// Where to write the chart (with --untar, --untardir goes below it).
    #[arg(short = 'd', long, default_value = ".")]
    pub destination: PathBuf,
    /// Unpack the chart after downloading it.
    #[arg(long)]
    pub untar: bool,
    /// With --untar, the directory the chart is unpacked into.
    #[arg(long, default_value = ".")]
    pub untardir: PathBuf,
    /// Also fetch the chart's provenance file (CHART.tgz.prov), without
    /// checking it (--verify checks it).
    #[arg(long)]
    pub prov: bool,
    #[command(flatten)]
    pub chart_path: ChartPathFlags,
}

#[derive(Clone, Copy, PartialEq)]
enum What {
    All,
    Chart,
    Values,
    Readme,
    Crds,
}

pub async fn show(c: ShowCommand, io: &mut Io) -> Result<(), CliError> {
    let (what, a, jsonpath) = match c {
        ShowCommand::All(a) => (What::All, a, None),
        ShowCommand::Chart(a) => (What::Chart, a, None),
        ShowCommand::Values(a) => (What::Values, a.show, a.jsonpath),
        ShowCommand::Readme(a) => (What::Readme, a, None),
        ShowCommand::Crds(a) => (What::Crds, a, None),
    };

    let located = crate::charts::locate(&a.chart, &a.chart_path, &mut *io.err).await?;
    let limits = Limits::default();
    let files = chart::load_path(&located.path, &limits)?;
    let loaded = chart::build(&files, &limits)?;
    let mut out = String::new();
    let all = what == What::All;
    if what == What::Chart || all {
        out += &berth_template::yaml::marshal(&save::go_metadata(&loaded.chart.metadata));
        out += "\n";
    }
    if what == What::Values || all {
        // Helm prints the file as written (no values.yaml: nothing at all).
        if let Some(values) = files.iter().find(|f| f.name == "values.yaml") {
            if all {
                out += "---\n";
            }
            match jsonpath.as_deref().filter(|t| !t.is_empty()) {
                // As Helm: what the template prints; an error while it
                // runs prints nothing more (kubectl's engine, Helm's call).
                Some(template) => {
                    let path = JsonPath::parse(template).map_err(|e| {
                        CliError::Usage(format!("error parsing jsonpath {template}: {e}"))
                    })?;
                    let data = berth_template::value::json::from_json(&loaded.chart.values);
                    let _ = path.execute(&mut out, data);
                }
                None => {
                    out += &String::from_utf8_lossy(&values.data);
                    out += "\n";
                }
            }
        }
    }
    if what == What::Readme || all {
        let readme = loaded.chart.files.iter().find(|f| {
            ["readme.md", "readme.txt", "readme"]
                .iter()
                .any(|n| f.name.eq_ignore_ascii_case(n))
        });
        if let Some(readme) = readme {
            if all {
                out += "---\n";
            }
            out += &String::from_utf8_lossy(&readme.data);
            out += "\n";
        }
    }
    if what == What::Crds || all {
        for crd in berth::render::crds(&loaded.chart) {
            if !crd.data.starts_with("---") {
                out += "---\n";
            }
            out += &crd.data;
            out += "\n";
        }
    }
    io.out.write_all(out.as_bytes())?;
    Ok(())
}

/// `helm pull`: download a chart from a repository, a URL or a registry
/// into a directory, as an archive or (`--untar`) unpacked.
/// Several charts are pulled in turn; the first that fails stops the rest.
pub async fn pull(mut a: PullArgs, io: &mut Io) -> Result<(), CliError> {
    a.chart_path.prov = a.prov;
    for chart in &a.charts {
        pull_one(&a, chart, io).await?;
    }
    Ok(())
}

async fn pull_one(a: &PullArgs, chart: &Path, io: &mut Io) -> Result<(), CliError> {
    let name = chart.to_string_lossy().to_string();
    if a.chart_path.repo.is_none() && chart.exists() {
        return Err(CliError::Usage(format!(
            "{name} is a local chart: pull takes repo/chart, a chart URL or an oci:// reference"
        )));
    }
    // Helm's pull says what it pulled from a registry on stdout.
    let located = crate::charts::locate(chart, &a.chart_path, &mut *io.out).await?;
    let file = located
        .path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| "chart.tgz".into());
    if let Some(v) = &located.verified {
        write!(io.out, "{}", v.report())?;
    }
    if !a.untar {
        std::fs::create_dir_all(&a.destination)?;
        let dest = a.destination.join(&file);
        std::fs::copy(&located.path, &dest)
            .map_err(|e| CliError::Other(format!("{}: {e}", dest.display())))?;
        let prov = PathBuf::from(format!("{}.prov", located.path.display()));
        if (a.prov || a.chart_path.verify) && prov.exists() {
            let dest = a.destination.join(format!("{file}.prov"));
            std::fs::copy(&prov, &dest)
                .map_err(|e| CliError::Other(format!("{}: {e}", dest.display())))?;
        }
        return Ok(());
    }
    let dir = if a.untardir.is_absolute() {
        a.untardir.clone()
    } else {
        a.destination.join(&a.untardir)
    };
    expand(&located.path, &dir)
}

/// Helm's `chartutil.ExpandFile`: the archive's files under
/// `dir/<chart name>`, which must not exist yet.
fn expand(archive: &Path, dir: &Path) -> Result<(), CliError> {
    let limits = Limits::default();
    let files = chart::load_path(archive, &limits)?;
    let loaded = chart::build(&files, &limits)?;
    let root: PathBuf = dir.join(&loaded.metadata.name);
    if root.exists() {
        return Err(CliError::Other(format!(
            "failed to untar: a file or directory with the name {} already exists",
            root.display()
        )));
    }
    crate::charts::write_chart_files(&root, &files)
}
