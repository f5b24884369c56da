//! `berth create NAME`: Helm's `create` (pkg/cmd/create.go, chartutil's
//! Create and CreateFrom). Without `--starter` it writes berth's scaffold
//! (`cli/scaffold/`, `<CHARTNAME>` where the chart's name goes): the
//! files `helm create` writes, under the same names, reading the same
//! values with the same defaults — a values file written for a `helm
//! create` chart fits it — in berth's own words. With `--starter` it
//! copies a starter chart (a name under `$HELM_DATA_HOME/starters`, or an
//! absolute path) under a new Chart.yaml, its templates and values.yaml
//! with `<CHARTNAME>` replaced, as Helm does. NAME is a path: its last
//! element names the chart, the rest is the directory it goes in.

use std::io::Write;
use std::path::Path;

use berth::chart::{self, Limits};
use berth::values::go_errno;
use berth_template::funcs::strings::{path_base, path_clean, path_dir};
use berth_template::gofmt::quote;
use clap::Args;
use serde_json::json;

use crate::charts::{helm_home, save};
use crate::{CliError, Io};

#[derive(Args, Debug)]
pub struct CreateArgs {
    /// The chart's path: its last element is the chart's name.
    pub name: String,
    /// The starter chart to copy: a name under $HELM_DATA_HOME/starters,
    /// or an absolute path (a directory or an archive).
    #[arg(short = 'p', long)]
    pub starter: Option<String>,
    /// The chart API version (v2; Helm's v3 is experimental).
    #[arg(long, hide = true, default_value = "v2")]
    pub chart_api_version: String,
}

/// The scaffold's files: where each goes, and its text.
const SCAFFOLD: [(&str, &str); 12] = [
    ("Chart.yaml", include_str!("../../scaffold/Chart.yaml")),
    ("values.yaml", include_str!("../../scaffold/values.yaml")),
    (".helmignore", include_str!("../../scaffold/helmignore")),
    (
        "templates/ingress.yaml",
        include_str!("../../scaffold/ingress.yaml"),
    ),
    (
        "templates/httproute.yaml",
        include_str!("../../scaffold/httproute.yaml"),
    ),
    (
        "templates/deployment.yaml",
        include_str!("../../scaffold/deployment.yaml"),
    ),
    (
        "templates/service.yaml",
        include_str!("../../scaffold/service.yaml"),
    ),
    (
        "templates/serviceaccount.yaml",
        include_str!("../../scaffold/serviceaccount.yaml"),
    ),
    (
        "templates/hpa.yaml",
        include_str!("../../scaffold/hpa.yaml"),
    ),
    (
        "templates/NOTES.txt",
        include_str!("../../scaffold/NOTES.txt"),
    ),
    (
        "templates/_helpers.tpl",
        include_str!("../../scaffold/_helpers.tpl"),
    ),
    (
        "templates/tests/test-connection.yaml",
        include_str!("../../scaffold/test-connection.yaml"),
    ),
];

/// Helm's limit on a chart's name (chartutil's maxChartNameLength).
const MAX_NAME: usize = 250;

pub fn run(a: CreateArgs, io: &mut Io) -> Result<(), CliError> {
    writeln!(io.out, "Creating {}", a.name)?;
    match a.chart_api_version.as_str() {
        "v2" | "" => {}
        "v3" => {
            return Err(CliError::Other(
                "this feature has been marked as experimental and is not enabled by default. Please set HELM_EXPERIMENTAL_CHART_V3=1 in your environment to use this feature; berth reads chart API v2 only"
                    .into(),
            ));
        }
        other => {
            return Err(CliError::Usage(format!(
                "unsupported chart API version: {other} (supported: v2, v3)"
            )));
        }
    }
    let name = path_base(&a.name);
    let dir = path_dir(&a.name);
    match a.starter {
        Some(starter) => create_from(&name, &dir, &starter),
        None => create(&name, &dir, io),
    }
}

/// chartutil.Create: the scaffold written into DIR/NAME. DIR must exist;
/// files already there are overwritten with a warning, others are kept.
fn create(name: &str, dir: &str, io: &mut Io) -> Result<(), CliError> {
    if name.is_empty() || name.len() > MAX_NAME {
        return Err(CliError::Usage(format!(
            "chart name must be between 1 and {MAX_NAME} characters"
        )));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(CliError::Usage(
            "chart name must match the regular expression \"^[a-zA-Z0-9._-]+$\"".into(),
        ));
    }
    let path = chart::go_abs(Path::new(dir)).display().to_string();
    match std::fs::metadata(&path) {
        Err(e) => return Err(CliError::Other(format!("stat {path}: {}", go_errno(&e)))),
        Ok(m) if !m.is_dir() => {
            return Err(CliError::Other(format!("no such directory {path}")));
        }
        Ok(_) => {}
    }
    let cdir = path_clean(&format!("{path}/{name}"));
    if std::fs::metadata(&cdir).is_ok_and(|m| !m.is_dir()) {
        return Err(CliError::Other(format!(
            "file {cdir} already exists and is not a directory"
        )));
    }
    for (file, text) in SCAFFOLD {
        let target = format!("{cdir}/{file}");
        if std::fs::metadata(&target).is_ok() {
            // Helm writes this to the command's output, not to stderr.
            writeln!(
                io.out,
                "WARNING: File {} already exists. Overwriting.",
                quote(&target)
            )?;
        }
        write_file(&target, transform(text, name).as_bytes())?;
    }
    mkdir_all(&format!("{cdir}/charts"))
}

/// chartutil.CreateFrom: the starter loaded as a chart and saved again
/// (SaveDir) as DIR/NAME with a new Chart.yaml and `<CHARTNAME>` in its
/// templates and values.yaml replaced by NAME.
fn create_from(name: &str, dir: &str, starter: &str) -> Result<(), CliError> {
    let source = if starter.starts_with('/') {
        starter.to_string()
    } else {
        let home = helm_home("HELM_DATA_HOME", "XDG_DATA_HOME", ".local/share");
        path_clean(&format!("{}/starters/{starter}", home.display()))
    };
    let limits = Limits::default();
    let load = |source: &str| -> Result<_, String> {
        std::fs::metadata(source).map_err(|e| format!("stat {source}: {}", go_errno(&e)))?;
        let files = chart::load_path(Path::new(source), &limits).map_err(|e| e.to_string())?;
        let loaded = chart::build(&files, &limits).map_err(|e| e.to_string())?;
        Ok((files, loaded))
    };
    let (files, loaded) =
        load(&source).map_err(|e| CliError::Other(format!("could not load {source}: {e}")))?;
    let outdir = path_clean(&format!("{dir}/{name}"));
    if std::fs::metadata(&outdir).is_ok_and(|m| !m.is_dir()) {
        return Err(CliError::Other(format!(
            "file {outdir} already exists and is not a directory"
        )));
    }
    mkdir_all(&outdir)?;
    let metadata = json!({
        "apiVersion": "v2",
        "name": name,
        "description": "A Helm chart for Kubernetes",
        "type": "application",
        "version": "0.1.0",
        "appVersion": "0.1.0",
    });
    write_file(
        &format!("{outdir}/Chart.yaml"),
        berth_template::yaml::marshal(&save::go_metadata(&metadata)).as_bytes(),
    )?;
    if let Some(values) = files.iter().find(|f| f.name == "values.yaml") {
        let text = String::from_utf8_lossy(&values.data);
        write_file(
            &format!("{outdir}/values.yaml"),
            transform(&text, name).as_bytes(),
        )?;
    }
    if let Some(schema) = &loaded.chart.schema {
        write_file(&format!("{outdir}/values.schema.json"), schema)?;
    }
    for t in &loaded.chart.templates {
        let text = String::from_utf8_lossy(&t.data);
        write_file(
            &format!("{outdir}/{}", t.name),
            transform(&text, name).as_bytes(),
        )?;
    }
    for f in &loaded.chart.files {
        write_file(&format!("{outdir}/{}", f.name), &f.data)?;
    }
    for sub in save::subcharts(&files)? {
        let saved = save::save_files(&sub, None, None)?;
        let charts = format!("{outdir}/charts");
        mkdir_all(&charts)?;
        write_file(
            &format!("{charts}/{}-{}.tgz", saved.name, saved.version),
            &saved.bytes,
        )?;
    }
    Ok(())
}

/// chartutil's transform: every `<CHARTNAME>` replaced by the name.
fn transform(text: &str, name: &str) -> String {
    text.replace("<CHARTNAME>", name)
}

/// chartutil's writeFile: the parent directories (0755), then the file
/// (0644), with Go's error texts.
fn write_file(path: &str, data: &[u8]) -> Result<(), CliError> {
    use std::os::unix::fs::OpenOptionsExt;
    mkdir_all(&path_dir(path))?;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(path)
        .and_then(|mut f| f.write_all(data))
        .map_err(|e| CliError::Other(format!("open {path}: {}", go_errno(&e))))
}

/// Go's `os.MkdirAll(path, 0o755)`, with its error texts.
fn mkdir_all(path: &str) -> Result<(), CliError> {
    use std::os::unix::fs::DirBuilderExt;
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => return Ok(()),
        Ok(_) => return Err(CliError::Other(format!("mkdir {path}: not a directory"))),
        Err(_) => {}
    }
    let parent = path_dir(path);
    if parent != path && parent != "." && parent != "/" {
        mkdir_all(&parent)?;
    }
    match std::fs::DirBuilder::new().mode(0o755).create(path) {
        Ok(()) => Ok(()),
        Err(_) if std::fs::metadata(path).is_ok_and(|m| m.is_dir()) => Ok(()),
        Err(e) => Err(CliError::Other(format!("mkdir {path}: {}", go_errno(&e)))),
    }
}
