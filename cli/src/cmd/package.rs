//! `berth package CHART_DIR...`: a chart directory packed into
//! `NAME-VERSION.tgz` as Helm's `package` packs it (pkg/action/package.go,
//! chartutil.Save): Chart.yaml and Chart.lock re-encoded from Helm's
//! structs, every other file as written, subcharts (directories or
//! archives) unpacked below `charts/`. The archive's entries carry no
//! timestamps, so packing the same chart twice gives the same bytes.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use berth::chart::{self, BufferedFile, Limits};
use berth_template::funcs::semver::Version;
use clap::Args;
use serde_json::{Map, Value};

use crate::charts::AccessFlags;
use crate::charts::deps::{Dependency, Manager};
use crate::cmd::show::go_metadata;
use crate::{CliError, Io};

#[derive(Args, Debug)]
pub struct PackageArgs {
    /// Chart directories.
    #[arg(required = true)]
    pub charts: Vec<PathBuf>,
    /// Where to write the archives.
    #[arg(short = 'd', long, default_value = ".")]
    pub destination: PathBuf,
    /// Set the chart's version (semver) in the archive.
    #[arg(long)]
    pub version: Option<String>,
    /// Set the chart's appVersion in the archive.
    #[arg(long)]
    pub app_version: Option<String>,
    /// Run `dependency update` on each chart first.
    #[arg(short = 'u', long)]
    pub dependency_update: bool,
    /// Credentials and TLS for oci:// dependencies (with -u).
    #[command(flatten)]
    pub access: AccessFlags,
}

pub async fn run(a: PackageArgs, io: &mut Io) -> Result<(), CliError> {
    for path in &a.charts {
        std::fs::metadata(path).map_err(|e| CliError::Other(format!("{}: {e}", path.display())))?;
        if a.dependency_update {
            // Helm discards the manager's progress here.
            let mut quiet = std::io::sink();
            Manager {
                chart_path: path.clone(),
                skip_refresh: false,
                access: a.access.clone(),
                out: &mut quiet,
            }
            .update()
            .await?;
        }
        let saved = package(path, &a)?;
        writeln!(
            io.out,
            "Successfully packaged chart and saved it to: {}",
            saved.display()
        )?;
    }
    Ok(())
}

fn package(path: &std::path::Path, a: &PackageArgs) -> Result<PathBuf, CliError> {
    if !path.is_dir() {
        return Err(CliError::Other(format!(
            "{}: not a chart directory",
            path.display()
        )));
    }
    let limits = Limits::default();
    let files = chart::load_dir(path, &limits)?;
    let loaded = chart::build(&files, &limits)?;
    let version = a.version.clone().unwrap_or(loaded.metadata.version.clone());
    Version::parse(&version).map_err(CliError::Other)?;
    let missing = berth::render::missing_dependencies(&loaded.chart);
    if !missing.is_empty() {
        return Err(CliError::Other(format!(
            "found in Chart.yaml, but missing in charts/ directory: {}",
            missing.join(", ")
        )));
    }
    let mut entries = Vec::new();
    save(
        &files,
        "",
        Some((&version, a.app_version.as_deref())),
        &mut entries,
    )?;
    let name = loaded.metadata.name.clone();
    // The entries are under NAME/; pack puts them back there.
    let inside: Vec<BufferedFile> = entries
        .into_iter()
        .map(|(n, data)| BufferedFile {
            name: n[name.len() + 1..].to_string(),
            data,
        })
        .collect();
    let bytes = chart::pack(&inside, &name)?;
    let dest = &a.destination;
    match std::fs::metadata(dest) {
        Ok(m) if !m.is_dir() => {
            return Err(CliError::Other(format!(
                "failed to save: is not a directory: {}",
                dest.display()
            )));
        }
        Ok(_) => {}
        Err(_) => std::fs::create_dir_all(dest)?,
    }
    let file = dest.join(format!("{name}-{version}.tgz"));
    std::fs::write(&file, bytes)
        .map_err(|e| CliError::Other(format!("failed to save: {}: {e}", file.display())))?;
    Ok(file)
}

/// Helm's `writeTarContents` for the chart whose files (named from its
/// root) are `files`, below `parent`: its entries, each `NAME/...`.
fn save(
    files: &[BufferedFile],
    parent: &str,
    overrides: Option<(&str, Option<&str>)>,
    out: &mut Vec<(String, bytes::Bytes)>,
) -> Result<(), CliError> {
    let limits = Limits::default();
    let loaded = chart::build(files, &limits)?;
    let mut md = loaded.chart.metadata.clone();
    if let Some((version, app_version)) = overrides {
        md["version"] = version.into();
        if let Some(app) = app_version {
            md["appVersion"] = app.into();
        }
    }
    let v1 = loaded.metadata.api_version == "v1";
    if v1 && let Some(m) = md.as_object_mut() {
        // A v1 chart keeps its dependencies in requirements.yaml.
        m.remove("dependencies");
    }
    let base = if parent.is_empty() {
        loaded.metadata.name.clone()
    } else {
        format!("{parent}/{}", loaded.metadata.name)
    };
    let raw = |name: &str| files.iter().find(|f| f.name == name);
    let mut put = |name: &str, data: bytes::Bytes| out.push((format!("{base}/{name}"), data));
    put(
        "Chart.yaml",
        berth_template::yaml::marshal(&go_metadata(&md)).into(),
    );
    if !v1 && let Some(lock) = raw("Chart.lock") {
        put("Chart.lock", lock_yaml(&lock.data).into());
    }
    if let Some(values) = raw("values.yaml") {
        put("values.yaml", values.data.clone());
    }
    if let Some(schema) = &loaded.chart.schema {
        if serde_json::from_slice::<serde::de::IgnoredAny>(schema).is_err() {
            return Err(CliError::Other(
                "failed to save: invalid JSON in values.schema.json".into(),
            ));
        }
        put("values.schema.json", schema.clone().into());
    }
    for f in loaded.chart.templates.iter().chain(&loaded.chart.files) {
        put(&f.name, f.data.clone());
    }
    // The subcharts, as the loader finds them: charts/NAME/... or
    // charts/NAME.tgz, those named _x or .x skipped.
    let mut subcharts: BTreeMap<&str, Vec<BufferedFile>> = BTreeMap::new();
    for f in files {
        let Some(rest) = f.name.strip_prefix("charts/") else {
            continue;
        };
        if rest.ends_with(".prov") {
            continue;
        }
        let (cname, inner) = rest.split_once('/').unwrap_or((rest, ""));
        subcharts.entry(cname).or_default().push(BufferedFile {
            name: inner.to_string(),
            data: f.data.clone(),
        });
    }
    for (cname, group) in subcharts {
        if cname.starts_with('_') || cname.starts_with('.') {
            continue;
        }
        let sub = if cname.ends_with(".tgz") {
            chart::unpack(&group[0].data, &limits)?
        } else {
            group.into_iter().filter(|f| !f.name.is_empty()).collect()
        };
        save(&sub, &format!("{base}/charts"), None, out)?;
    }
    Ok(())
}

/// Chart.lock as Helm writes it back (`yaml.Marshal` of `chart.Lock`):
/// its dependencies as the struct holds them, the digest, the time.
fn lock_yaml(data: &[u8]) -> String {
    let text = String::from_utf8_lossy(data);
    let v = berth_template::yaml::parse_document_ints(&text).unwrap_or(Value::Null);
    let mut lock = Map::new();
    let deps = v
        .get("dependencies")
        .and_then(Value::as_array)
        .map(|d| {
            d.iter()
                .map(|d| match d {
                    Value::Null => Value::Null,
                    d => Dependency::from_json(d).to_go_value(),
                })
                .collect()
        })
        .map_or(Value::Null, Value::Array);
    lock.insert("dependencies".into(), deps);
    lock.insert(
        "digest".into(),
        v.get("digest").and_then(Value::as_str).unwrap_or("").into(),
    );
    let generated = match v.get("generated") {
        Some(Value::String(s)) => s.clone(),
        _ => "0001-01-01T00:00:00Z".into(),
    };
    lock.insert("generated".into(), generated.into());
    berth_template::yaml::marshal(&Value::Object(lock))
}
