//! `berth lint PATH...`: Helm's `lint` (pkg/cmd/lint.go, action/lint.go)
//! over chart directories and archives, with the rules of
//! [`berth::lint`]. The report is Helm's, line for line: `==> Linting
//! PATH`, a `[SEVERITY] file: message` line per finding, then `N chart(s)
//! linted, M chart(s) failed`; a chart fails on an error (or, with
//! `--strict`, a warning), and then so does the command.

use std::io::Write;
use std::path::{Path, PathBuf};

use berth::chart::{self, Limits};
use berth::lint::{self, Message, Severity};
use berth_template::funcs::strings::path_clean;
use berth_template::helm;
use clap::Args;

use super::install::ValuesFlags;
use crate::{CliError, Global, Io};

#[derive(Args, Debug)]
pub struct LintArgs {
    /// Chart directories or archives (.tgz, .tar.gz).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<String>,
    /// Fail on warnings too.
    #[arg(long)]
    pub strict: bool,
    /// Lint the charts under each chart's charts/ as well.
    #[arg(long)]
    pub with_subcharts: bool,
    /// Print only warnings and errors.
    #[arg(long)]
    pub quiet: bool,
    /// Do not check the values against the charts' values.schema.json.
    #[arg(long)]
    pub skip_schema_validation: bool,
    /// Kubernetes version for capabilities and deprecation checks (e.g. v1.30.0).
    #[arg(long)]
    pub kube_version: Option<String>,
    #[command(flatten)]
    pub values: ValuesFlags,
}

/// Helm's `LintResult` for one path.
struct Outcome {
    messages: Vec<Message>,
    /// The chart could not be linted at all (no Chart.yaml, a broken archive).
    refused: Option<String>,
}

pub async fn run(g: &Global, a: LintArgs, io: &mut Io) -> Result<(), CliError> {
    // Helm parses --kube-version only when it is not empty.
    let kube_version = match &a.kube_version {
        None => None,
        Some(v) if v.is_empty() => None,
        Some(v) => {
            helm::check_kube_version(v)
                .map_err(|e| CliError::Other(format!("invalid kube version '{v}': {e}")))?;
            Some(if v.starts_with('v') {
                v.clone()
            } else {
                format!("v{v}")
            })
        }
    };
    let paths = if a.with_subcharts {
        with_subcharts(&a.paths)
    } else {
        a.paths.clone()
    };
    // What the charts' schemas refer to by URL, read as Helm's loaders
    // would (a chart that does not load is lint's to report).
    let mut remote_schemas = helm::RemoteSchemas::new();
    if !a.skip_schema_validation {
        for path in &paths {
            let limits = berth::chart::Limits::default();
            let loaded = berth::chart::load_path(std::path::Path::new(path), &limits)
                .and_then(|files| berth::chart::build(&files, &limits));
            if let Ok(loaded) = loaded {
                let err = &mut io.err;
                let warn = &mut |w: helm::Warning| {
                    let _ = writeln!(err, "{w}");
                };
                crate::schema_refs::read_into(&loaded.chart, &mut remote_schemas, warn).await?;
            }
        }
    }
    let opts = lint::Options {
        values: a.values.merge()?,
        namespace: g.namespace.clone(),
        kube_version,
        skip_schema_validation: a.skip_schema_validation,
        remote_schemas: std::sync::Arc::new(remote_schemas),
    };
    let worst_allowed = if a.strict {
        Severity::Info
    } else {
        Severity::Warning
    };
    let mut report = String::new();
    let (mut failed, mut flagged) = (0, 0);
    for path in &paths {
        let outcome = lint_path(path, &opts, &mut *io.err);
        let failures: Vec<String> = outcome
            .refused
            .iter()
            .cloned()
            .chain(
                outcome
                    .messages
                    .iter()
                    .filter(|m| m.severity > worst_allowed)
                    .map(|m| m.err.clone()),
            )
            .collect();
        let noteworthy =
            outcome.messages.iter().any(|m| m.severity > Severity::Info) || !failures.is_empty();
        if noteworthy {
            flagged += 1;
        }
        if a.quiet && !noteworthy {
            continue;
        }
        report.push_str(&format!("==> Linting {path}\n"));
        if outcome.messages.is_empty() {
            for f in &failures {
                report.push_str(&format!("Error {f}\n"));
            }
        }
        for m in &outcome.messages {
            if !a.quiet || m.severity > Severity::Info {
                report.push_str(&format!("{m}\n"));
            }
        }
        if !failures.is_empty() {
            failed += 1;
        }
        report.push('\n');
    }
    write!(io.out, "{report}")?;
    let summary = format!("{} chart(s) linted, {failed} chart(s) failed", paths.len());
    if failed > 0 {
        return Err(CliError::Failed(summary));
    }
    if !a.quiet || flagged > 0 {
        writeln!(io.out, "{summary}")?;
    }
    Ok(())
}

/// `--with-subcharts`: the paths given, then what lies below each one's
/// `charts/` (pkg/cmd/lint.go walks `filepath.Join(path, "charts")`).
fn with_subcharts(paths: &[String]) -> Vec<String> {
    let mut out = paths.to_vec();
    for p in paths {
        subchart_paths(Path::new(&go_join(p, "charts")), &mut out);
    }
    out
}

/// Every directory holding a Chart.yaml and every chart archive below
/// `dir`, in Go's `filepath.Walk` order.
fn subchart_paths(dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        let text = p.display().to_string();
        if p.file_name().is_some_and(|n| n == "Chart.yaml") {
            out.push(dir.display().to_string());
        } else if text.ends_with(".tgz") || text.ends_with(".tar.gz") {
            out.push(text);
        }
        if p.is_dir() {
            subchart_paths(&p, out);
        }
    }
}

/// Helm's `lintChart`: an archive is unpacked into a temporary directory
/// first; a path without Chart.yaml is refused.
fn lint_path(path: &str, opts: &lint::Options, err: &mut dyn Write) -> Outcome {
    let refuse = |e: String| Outcome {
        messages: Vec::new(),
        refused: Some(e),
    };
    if path.ends_with(".tgz") || path.ends_with(".tar.gz") {
        let tmp = match tempfile::Builder::new().prefix("helm-lint").tempdir() {
            Ok(t) => t,
            Err(e) => return refuse(format!("unable to create temp dir to extract tarball: {e}")),
        };
        let dir = match expand(Path::new(path), tmp.path()) {
            Ok(dir) => dir,
            Err(e) => return refuse(e),
        };
        return report(lint::run_all(&dir, opts), err);
    }
    let chart_yaml = go_join(path, "Chart.yaml");
    if let Err(e) = std::fs::metadata(&chart_yaml) {
        return refuse(format!(
            "unable to check Chart.yaml file in chart: stat {chart_yaml}: {}",
            berth::values::go_errno(&e)
        ));
    }
    report(lint::run_all(Path::new(path), opts), err)
}

/// The findings; what Helm logs meanwhile goes to stderr as it happens.
fn report(r: lint::Report, err: &mut dyn Write) -> Outcome {
    for w in &r.log {
        let _ = writeln!(err, "{w}");
    }
    Outcome {
        messages: r.messages,
        refused: None,
    }
}

/// Go's `filepath.Join(dir, file)`: cleaned (`./chart/` and `chart//`
/// give `chart/file`), as Helm prints the paths it joins.
fn go_join(dir: &str, file: &str) -> String {
    if dir.is_empty() {
        return path_clean(file);
    }
    path_clean(&format!("{dir}/{file}"))
}

/// Helm's `chartutil.Expand`: the archive's files written as they are
/// under `into/<chart name>`.
fn expand(archive: &Path, into: &Path) -> Result<PathBuf, String> {
    if let Err(e) = std::fs::metadata(archive) {
        return Err(format!(
            "unable to open tarball: {}: {e}",
            archive.display()
        ));
    }
    let files = chart::load_path(archive, &Limits::default())
        .map_err(|e| format!("unable to extract tarball: {e}"))?;
    let name = files
        .iter()
        .find(|f| f.name == "Chart.yaml")
        .map(|f| chart::load_chartfile(&f.data))
        .transpose()
        .map_err(|e| format!("unable to extract tarball: cannot load Chart.yaml: {e}"))?
        .and_then(|md| md.get("name").and_then(|n| n.as_str()).map(str::to_string))
        .unwrap_or_default();
    // The name becomes a directory: Expand refuses what would not be one
    // directory below `into`.
    let quoted = berth_template::gofmt::quote(&name);
    match name.as_str() {
        "" => return Err("unable to extract tarball: chart name not specified".into()),
        "." | ".." => {
            return Err(format!(
                "unable to extract tarball: chart name {quoted} is not allowed"
            ));
        }
        "/" => {
            return Err(format!(
                "unable to extract tarball: chart name {quoted} resolves to the extraction root"
            ));
        }
        n if n.contains('/') => {
            return Err(format!(
                "unable to extract tarball: chart name {quoted} must not contain path separators"
            ));
        }
        _ => {}
    }
    let dir = into.join(name);
    crate::charts::write_chart_files(&dir, &files).map_err(|e| e.to_string())?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chart archive holding `c/Chart.yaml` with this text.
    fn archive(dir: &Path, chart_yaml: &str) -> PathBuf {
        let path = dir.join("c-0.1.0.tgz");
        let gz = flate2::write::GzEncoder::new(
            std::fs::File::create(&path).unwrap(),
            flate2::Compression::default(),
        );
        let mut tar = tar::Builder::new(gz);
        let mut header = tar::Header::new_gnu();
        header.set_size(chart_yaml.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, "c/Chart.yaml", chart_yaml.as_bytes())
            .unwrap();
        tar.into_inner().unwrap().finish().unwrap();
        path
    }

    /// chartutil.Expand's words for a name that is no directory below the
    /// one it unpacks into (found by difftest, lint: berth said "chart name
    /// not specified" for each).
    #[test]
    fn an_archive_whose_name_is_no_directory_is_refused_as_expand_refuses_it() {
        let tmp = tempfile::tempdir().unwrap();
        for (name, want) in [
            ("''", "chart name not specified"),
            ("x/", "chart name \"x/\" must not contain path separators"),
            ("a/b", "chart name \"a/b\" must not contain path separators"),
            ("..", "chart name \"..\" is not allowed"),
            ("/", "chart name \"/\" resolves to the extraction root"),
        ] {
            let a = archive(
                tmp.path(),
                &format!("apiVersion: v2\nname: {name}\nversion: 0.1.0\n"),
            );
            let into = tempfile::tempdir().unwrap();
            assert_eq!(
                expand(&a, into.path()).unwrap_err(),
                format!("unable to extract tarball: {want}"),
                "{name}"
            );
        }
    }

    /// `--with-subcharts` walks `filepath.Join(path, "charts")`, which Go
    /// cleans, and prints what it finds there so (found by difftest, lint:
    /// berth printed `./chart/charts/sub` and `chart//charts/sub`).
    #[test]
    fn subcharts_are_found_below_the_path_as_go_joins_it() {
        let tmp = tempfile::tempdir().unwrap();
        let chart = tmp.path().join("chart");
        std::fs::create_dir_all(chart.join("charts/sub")).unwrap();
        std::fs::write(chart.join("charts/sub/Chart.yaml"), "").unwrap();
        std::fs::write(chart.join("charts/x-0.1.0.tgz"), "").unwrap();
        let root = tmp.path().display().to_string();
        for spelled in [format!("{root}/./chart"), format!("{root}/chart//")] {
            assert_eq!(
                with_subcharts(std::slice::from_ref(&spelled)),
                [
                    spelled.clone(),
                    format!("{root}/chart/charts/sub"),
                    format!("{root}/chart/charts/x-0.1.0.tgz"),
                ]
            );
        }
        assert_eq!(go_join(".", "Chart.yaml"), "Chart.yaml");
        assert_eq!(go_join("", "charts"), "charts");
    }
}
