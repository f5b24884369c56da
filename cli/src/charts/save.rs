//! A chart directory written into an archive as Helm's `chartutil.Save`
//! writes it (what `helm package` and `helm dependency update`'s
//! `file://` dependencies produce): Chart.yaml and Chart.lock re-encoded
//! from Helm's structs, every other file as written, subcharts (directories
//! or archives) unpacked below `charts/`. The entries carry no timestamps,
//! so the same chart gives the same bytes.

use std::collections::BTreeMap;
use std::path::Path;

use berth::chart::{self, BufferedFile, Limits};
use serde_json::{Map, Value};

use super::deps::Dependency;
use crate::CliError;

/// A chart packed: its name and version, and the archive's bytes.
pub struct Saved {
    pub name: String,
    pub version: String,
    pub bytes: Vec<u8>,
}

/// Pack the chart directory `dir`, with its version and appVersion
/// replaced if given.
pub fn save(
    dir: &Path,
    version: Option<&str>,
    app_version: Option<&str>,
) -> Result<Saved, CliError> {
    let files = chart::load_dir(dir, &Limits::default())?;
    save_files(&files, version, app_version)
}

/// [`save`] for a chart's files (named from its root), as loaded.
pub fn save_files(
    files: &[BufferedFile],
    version: Option<&str>,
    app_version: Option<&str>,
) -> Result<Saved, CliError> {
    let loaded = chart::build(files, &Limits::default())?;
    let version = version.map_or(loaded.metadata.version.clone(), str::to_string);
    let mut entries = Vec::new();
    write_chart(files, "", Some((&version, app_version)), &mut entries)?;
    let name = loaded.metadata.name.clone();
    // The entries are under NAME/; pack puts them back there.
    let inside: Vec<BufferedFile> = entries
        .into_iter()
        .map(|(n, data)| BufferedFile {
            name: n[name.len() + 1..].to_string(),
            data,
        })
        .collect();
    Ok(Saved {
        bytes: chart::pack(&inside, &name)?,
        name,
        version,
    })
}

/// Helm's `writeTarContents` for the chart whose files (named from its
/// root) are `files`, below `parent`: its entries, each `NAME/...`.
fn write_chart(
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
    for sub in subcharts(files)? {
        write_chart(&sub, &format!("{base}/charts"), None, out)?;
    }
    Ok(())
}

/// The subcharts of a chart's files, as the loader finds them (each
/// chart's files named from its own root): charts/NAME/... or
/// charts/NAME.tgz, those named _x or .x skipped, in name order.
pub fn subcharts(files: &[BufferedFile]) -> Result<Vec<Vec<BufferedFile>>, CliError> {
    let mut groups: BTreeMap<&str, Vec<BufferedFile>> = BTreeMap::new();
    for f in files {
        let Some(rest) = f.name.strip_prefix("charts/") else {
            continue;
        };
        if rest.ends_with(".prov") {
            continue;
        }
        let (cname, inner) = rest.split_once('/').unwrap_or((rest, ""));
        groups.entry(cname).or_default().push(BufferedFile {
            name: inner.to_string(),
            data: f.data.clone(),
        });
    }
    let mut out = Vec::new();
    for (cname, group) in groups {
        if cname.starts_with('_') || cname.starts_with('.') {
            continue;
        }
        out.push(if cname.ends_with(".tgz") {
            chart::unpack(&group[0].data, &Limits::default())?
        } else {
            group.into_iter().filter(|f| !f.name.is_empty()).collect()
        });
    }
    Ok(out)
}

/// Helm's `chart.Metadata` as sigs.k8s.io/yaml writes it: the struct's
/// fields only, each left out when empty (all are `omitempty`).
pub fn go_metadata(md: &Value) -> Value {
    let mut out = Map::new();
    for k in [
        "name",
        "home",
        "version",
        "description",
        "icon",
        "apiVersion",
        "condition",
        "tags",
        "appVersion",
        "kubeVersion",
        "type",
    ] {
        if let Some(s) = md.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()) {
            out.insert(k.into(), s.into());
        }
    }
    for k in ["sources", "keywords"] {
        if let Some(list) = md
            .get(k)
            .and_then(Value::as_array)
            .filter(|l| !l.is_empty())
        {
            out.insert(k.into(), Value::Array(list.clone()));
        }
    }
    if let Some(list) = md
        .get("maintainers")
        .and_then(Value::as_array)
        .filter(|l| !l.is_empty())
    {
        let maintainers = list
            .iter()
            .map(|m| match m {
                Value::Object(m) => Value::Object(
                    ["name", "email", "url"]
                        .iter()
                        .filter_map(|k| {
                            let v = m.get(*k).and_then(Value::as_str)?;
                            (!v.is_empty()).then(|| (k.to_string(), Value::from(v)))
                        })
                        .collect(),
                ),
                _ => Value::Null,
            })
            .collect();
        out.insert("maintainers".into(), Value::Array(maintainers));
    }
    if md.get("deprecated").and_then(Value::as_bool) == Some(true) {
        out.insert("deprecated".into(), true.into());
    }
    if let Some(a) = md
        .get("annotations")
        .and_then(Value::as_object)
        .filter(|a| !a.is_empty())
    {
        out.insert("annotations".into(), Value::Object(a.clone()));
    }
    if let Some(deps) = md
        .get("dependencies")
        .and_then(Value::as_array)
        .filter(|d| !d.is_empty())
    {
        let deps = deps
            .iter()
            .map(|d| match d {
                Value::Null => Value::Null,
                d => Dependency::from_json(d).to_go_value(),
            })
            .collect();
        out.insert("dependencies".into(), Value::Array(deps));
    }
    Value::Object(out)
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
