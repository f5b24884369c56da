//! Chart bundles: loading a chart directory (honouring `.helmignore`) or a
//! `.tgz`, packing it into a deterministic gzip tar that travels to the agent,
//! unpacking one with limits on every dimension, and building the in-memory
//! chart tree the template engine renders (Helm's loader.LoadFiles).
//!
//! Nothing here renders or talks to a cluster.

use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use berth_template::helm;
use serde_json::Value;
use sha2::{Digest, Sha256};

mod ignore;

pub use ignore::go_match;

#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}: not a chart directory or .tgz archive")]
    NotAChart(PathBuf),
    #[error("chart archive: {0}")]
    Archive(String),
    #[error("chart archive: {0} exceeds the limit of {1}")]
    Limit(String, String),
    #[error("Chart.yaml file is missing")]
    MissingChartYaml,
    #[error("cannot load Chart.yaml: {0}")]
    ChartYaml(String),
    #[error("cannot load requirements.yaml: {0}")]
    Requirements(String),
    #[error("cannot load values.yaml: {0}")]
    ValuesYaml(String),
    #[error("validation: {0}")]
    Invalid(String),
    #[error(".helmignore: {0}")]
    Ignore(String),
    #[error("error unpacking subchart {sub} in {parent}: {source}")]
    Subchart {
        sub: String,
        parent: String,
        source: Box<ChartError>,
    },
}

/// Limits on what a chart may contain. Helm's own are 100 MiB decompressed
/// and 5 MiB per file (pkg/chart/loader/archive).
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_packed: u64,
    pub max_unpacked: u64,
    pub max_file: u64,
    pub max_files: usize,
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_packed: 50 * 1024 * 1024,
            max_unpacked: 100 * 1024 * 1024,
            max_file: 5 * 1024 * 1024,
            max_files: 20_000,
            max_depth: 32,
        }
    }
}

/// One file of a chart, named relative to the chart's root with '/'.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BufferedFile {
    pub name: String,
    pub data: Vec<u8>,
}

/// The fields of Chart.yaml berth itself reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    pub api_version: String,
    pub name: String,
    pub version: String,
    pub app_version: String,
    pub description: String,
    pub kube_version: String,
    pub chart_type: String,
}

impl Metadata {
    fn from_json(v: &Value) -> Metadata {
        let s = |k: &str| match v.get(k) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => go_number(n),
            Some(Value::Bool(b)) => b.to_string(),
            _ => String::new(),
        };
        Metadata {
            api_version: s("apiVersion"),
            name: s("name"),
            version: s("version"),
            app_version: s("appVersion"),
            description: s("description"),
            kube_version: s("kubeVersion"),
            chart_type: s("type"),
        }
    }

    /// Helm's Metadata.Validate (pkg/chart/v2/metadata.go), the parts that
    /// decide whether a chart can be used at all.
    fn validate(&self) -> Result<(), ChartError> {
        if self.api_version.is_empty() {
            return Err(ChartError::Invalid(
                "chart.metadata.apiVersion is required".into(),
            ));
        }
        if self.name.is_empty() {
            return Err(ChartError::Invalid(
                "chart.metadata.name is required".into(),
            ));
        }
        if self.name.contains('/')
            || self.name.contains('\\')
            || self.name == "."
            || self.name == ".."
        {
            return Err(ChartError::Invalid(format!(
                "chart.metadata.name {:?} is invalid",
                self.name
            )));
        }
        if self.version.is_empty() {
            return Err(ChartError::Invalid(
                "chart.metadata.version is required".into(),
            ));
        }
        if !is_semver(&self.version) {
            return Err(ChartError::Invalid(format!(
                "chart.metadata.version {:?} is invalid",
                self.version
            )));
        }
        if !matches!(self.chart_type.as_str(), "" | "application" | "library") {
            return Err(ChartError::Invalid(
                "chart.metadata.type must be application or library".into(),
            ));
        }
        Ok(())
    }

    /// `mychart-1.0.0`, as Helm's history and list show a chart.
    pub fn chart_ref(&self) -> String {
        format!("{}-{}", self.name, self.version)
    }
}

/// Go formats a float64 from YAML like `1.0` as `1`; Chart.yaml fields are
/// strings in Helm's struct, so a bare number keeps its shortest form.
fn go_number(n: &serde_json::Number) -> String {
    match (n.as_i64(), n.as_f64()) {
        (Some(i), _) => i.to_string(),
        (None, Some(f)) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
        (None, Some(f)) => f.to_string(),
        _ => n.to_string(),
    }
}

/// A lenient SemVer 2 check in the spirit of Masterminds/semver's
/// NewVersion: an optional `v`, one to three numeric parts, then optional
/// `-prerelease` and `+build`.
fn is_semver(v: &str) -> bool {
    let v = v.strip_prefix('v').unwrap_or(v);
    let (core, _build) = v.split_once('+').unwrap_or((v, ""));
    let (core, pre) = core.split_once('-').unwrap_or((core, ""));
    let parts: Vec<&str> = core.split('.').collect();
    if parts.is_empty() || parts.len() > 3 {
        return false;
    }
    let numeric = parts
        .iter()
        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let pre_ok = pre
        .split('.')
        .all(|p| p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    numeric && pre_ok && (pre.is_empty() || !pre.split('.').any(str::is_empty))
}

/// A packed chart as it travels: deterministic gzip tar, its digest, and
/// its metadata.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub bytes: Vec<u8>,
    /// sha256 of `bytes`, lower-case hex.
    pub digest: String,
    pub metadata: Metadata,
}

impl Bundle {
    /// Load a chart directory or `.tgz` and pack it. The chart is fully
    /// loaded first so that a malformed chart is refused before anything
    /// is sent.
    pub fn from_path(path: &Path, limits: &Limits) -> Result<Bundle, ChartError> {
        let files = load_path(path, limits)?;
        let loaded = build(&files)?;
        let bytes = pack(&files, &loaded.metadata.name)?;
        if bytes.len() as u64 > limits.max_packed {
            return Err(ChartError::Limit(
                format!("packed size {} bytes", bytes.len()),
                format!("{} bytes", limits.max_packed),
            ));
        }
        Ok(Bundle {
            digest: sha256_hex(&bytes),
            bytes,
            metadata: loaded.metadata,
        })
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Load the files of a chart directory or archive.
pub fn load_path(path: &Path, limits: &Limits) -> Result<Vec<BufferedFile>, ChartError> {
    let meta = std::fs::metadata(path).map_err(|source| ChartError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if meta.is_dir() {
        return load_dir(path, limits);
    }
    let bytes = std::fs::read(path).map_err(|source| ChartError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if bytes.len() as u64 > limits.max_packed {
        return Err(ChartError::Limit(
            format!("{}", path.display()),
            format!("{} bytes", limits.max_packed),
        ));
    }
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Err(ChartError::NotAChart(path.to_path_buf()));
    }
    unpack(&bytes, limits)
}

/// Helm's LoadDir: walk the directory, skip what `.helmignore` (plus the
/// default `templates/.?*`) ignores, refuse irregular files.
pub fn load_dir(dir: &Path, limits: &Limits) -> Result<Vec<BufferedFile>, ChartError> {
    if !dir.join("Chart.yaml").is_file() {
        return Err(ChartError::NotAChart(dir.to_path_buf()));
    }
    let mut rules = match std::fs::read_to_string(dir.join(".helmignore")) {
        Ok(text) => ignore::Rules::parse(&text).map_err(ChartError::Ignore)?,
        Err(_) => ignore::Rules::default(),
    };
    rules.add_defaults();
    let mut files = Vec::new();
    let mut total = 0u64;
    walk(dir, "", &rules, limits, &mut files, &mut total, 0)?;
    Ok(files)
}

fn walk(
    root: &Path,
    rel: &str,
    rules: &ignore::Rules,
    limits: &Limits,
    out: &mut Vec<BufferedFile>,
    total: &mut u64,
    depth: usize,
) -> Result<(), ChartError> {
    let dir = if rel.is_empty() {
        root.to_path_buf()
    } else {
        root.join(rel)
    };
    if depth > limits.max_depth {
        return Err(ChartError::Limit(
            format!("directory depth at {}", dir.display()),
            limits.max_depth.to_string(),
        ));
    }
    let io = |source| ChartError::Io {
        path: dir.clone(),
        source,
    };
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .map_err(io)?
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let n = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        // Symlinks are followed, as Helm's sympath.Walk does.
        let meta = std::fs::metadata(entry.path()).map_err(|source| ChartError::Io {
            path: entry.path(),
            source,
        })?;
        if meta.is_dir() {
            if !rules.ignore(&n, true) {
                walk(root, &n, rules, limits, out, total, depth + 1)?;
            }
            continue;
        }
        if rules.ignore(&n, false) {
            continue;
        }
        if !meta.is_file() {
            return Err(ChartError::Archive(format!(
                "cannot load irregular file {} as it has file mode type bits set",
                entry.path().display()
            )));
        }
        if meta.len() > limits.max_file {
            return Err(ChartError::Limit(
                format!("chart file {n:?}"),
                format!("the maximum file size {}", limits.max_file),
            ));
        }
        let mut data = std::fs::read(entry.path()).map_err(|source| ChartError::Io {
            path: entry.path(),
            source,
        })?;
        strip_bom(&mut data);
        *total += data.len() as u64;
        if *total > limits.max_unpacked {
            return Err(ChartError::Limit(
                "unpacked chart size".into(),
                format!("{} bytes", limits.max_unpacked),
            ));
        }
        out.push(BufferedFile { name: n, data });
        if out.len() > limits.max_files {
            return Err(ChartError::Limit(
                "number of files".into(),
                limits.max_files.to_string(),
            ));
        }
    }
    Ok(())
}

fn strip_bom(data: &mut Vec<u8>) {
    if data.starts_with(&[0xEF, 0xBB, 0xBF]) {
        data.drain(..3);
    }
}

/// Pack chart files into a gzip tar with a `<name>/` prefix, as `helm
/// package` lays it out. The output depends only on names and contents
/// (fixed mtime, mode and owner, sorted entries), so the same chart always
/// has the same digest and an agent can skip an upload it already has.
pub fn pack(files: &[BufferedFile], name: &str) -> Result<Vec<u8>, ChartError> {
    let mut sorted: Vec<&BufferedFile> = files.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for f in sorted {
        let mut h = tar::Header::new_gnu();
        h.set_size(f.data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_uid(0);
        h.set_gid(0);
        h.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut h, format!("{name}/{}", f.name), f.data.as_slice())
            .map_err(|e| ChartError::Archive(format!("packing {}: {e}", f.name)))?;
    }
    let gz = tar
        .into_inner()
        .map_err(|e| ChartError::Archive(e.to_string()))?;
    let mut bytes = gz
        .finish()
        .map_err(|e| ChartError::Archive(e.to_string()))?;
    bytes.flush().ok();
    Ok(bytes)
}

/// Unpack a chart archive, refusing anything unsafe or over a limit: only
/// regular files and directories, no absolute paths, no `..`, bounded
/// depth, file size, file count and total size. The first path component
/// (the chart's directory) is stripped, as Helm's archive loader does.
pub fn unpack(bytes: &[u8], limits: &Limits) -> Result<Vec<BufferedFile>, ChartError> {
    let gz = flate2::read::GzDecoder::new(bytes);
    let mut archive = tar::Archive::new(gz);
    let mut files: Vec<BufferedFile> = Vec::new();
    let mut total = 0u64;
    let entries = archive
        .entries()
        .map_err(|e| ChartError::Archive(e.to_string()))?;
    for entry in entries {
        let mut entry =
            entry.map_err(|e| ChartError::Archive(format!("malformed archive: {e}")))?;
        let path = entry
            .path()
            .map_err(|e| ChartError::Archive(format!("bad entry name: {e}")))?
            .into_owned();
        let shown = path.display().to_string();
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            continue;
        }
        if kind.is_pax_global_extensions() || kind.is_pax_local_extensions() {
            continue;
        }
        if !(kind.is_file() || kind == tar::EntryType::Continuous) {
            return Err(ChartError::Archive(format!(
                "{shown}: links, devices and other special files are not allowed"
            )));
        }
        let mut parts = Vec::new();
        for c in path.components() {
            match c {
                Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
                Component::CurDir => {}
                Component::ParentDir => {
                    return Err(ChartError::Archive(format!(
                        "{shown}: chart illegally references parent directory"
                    )));
                }
                Component::RootDir | Component::Prefix(_) => {
                    return Err(ChartError::Archive(format!(
                        "{shown}: chart illegally contains absolute paths"
                    )));
                }
            }
        }
        if parts.len() < 2 {
            return Err(ChartError::Archive(format!(
                "{shown}: chart files must live under the chart's directory"
            )));
        }
        if parts.len() > limits.max_depth {
            return Err(ChartError::Limit(
                format!("path depth of {shown}"),
                limits.max_depth.to_string(),
            ));
        }
        let size = entry.header().size().unwrap_or(u64::MAX);
        if size > limits.max_file {
            return Err(ChartError::Limit(
                format!("chart file {shown:?}"),
                format!("the maximum file size {}", limits.max_file),
            ));
        }
        let mut data = Vec::with_capacity(size as usize);
        (&mut entry)
            .take(limits.max_file + 1)
            .read_to_end(&mut data)
            .map_err(|e| ChartError::Archive(format!("{shown}: {e}")))?;
        if data.len() as u64 > limits.max_file {
            return Err(ChartError::Limit(
                format!("chart file {shown:?}"),
                format!("the maximum file size {}", limits.max_file),
            ));
        }
        total += data.len() as u64;
        if total > limits.max_unpacked {
            return Err(ChartError::Limit(
                "unpacked chart size".into(),
                format!("{} bytes", limits.max_unpacked),
            ));
        }
        strip_bom(&mut data);
        let name = parts[1..].join("/");
        if let Some(existing) = files.iter_mut().find(|f| f.name == name) {
            existing.data = data;
        } else {
            files.push(BufferedFile { name, data });
        }
        if files.len() > limits.max_files {
            return Err(ChartError::Limit(
                "number of files".into(),
                limits.max_files.to_string(),
            ));
        }
    }
    if files.is_empty() {
        return Err(ChartError::Archive("no files in chart archive".into()));
    }
    Ok(files)
}

/// A chart ready to render.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub chart: helm::Chart,
    pub metadata: Metadata,
    /// What Helm's loader logs on the way: a v2 chart (or subchart) that
    /// still has requirements.yaml or requirements.lock.
    pub warnings: Vec<helm::Warning>,
}

/// Helm's LoadFiles: sort files into Chart.yaml, values, schema, templates,
/// subcharts and other files, recursively for `charts/`.
pub fn build(files: &[BufferedFile]) -> Result<Loaded, ChartError> {
    let chart_yaml = files
        .iter()
        .find(|f| f.name == "Chart.yaml")
        .ok_or(ChartError::MissingChartYaml)?;
    let text = std::str::from_utf8(&chart_yaml.data)
        .map_err(|_| ChartError::ChartYaml("not valid UTF-8".into()))?;
    let mut metadata_json = berth_template::yaml::parse_document(text)
        .map_err(|e| ChartError::ChartYaml(e.to_string()))?;
    if metadata_json.is_null() {
        metadata_json = Value::Object(Default::default());
    }
    let Value::Object(ref mut meta_map) = metadata_json else {
        return Err(ChartError::ChartYaml("Chart.yaml must be a map".into()));
    };
    if !meta_map.contains_key("apiVersion") {
        // Helm 2 charts had no apiVersion; Helm loads them as v1.
        meta_map.insert("apiVersion".into(), Value::String("v1".into()));
    }
    // Helm's loader unmarshals requirements.yaml into the chart's metadata
    // (that is where v1 charts list their dependencies).
    if let Some(req) = files.iter().find(|f| f.name == "requirements.yaml") {
        let text = std::str::from_utf8(&req.data)
            .map_err(|_| ChartError::Requirements("not valid UTF-8".into()))?;
        match berth_template::yaml::parse_document(text)
            .map_err(|e| ChartError::Requirements(e.to_string()))?
        {
            Value::Object(fields) => meta_map.extend(fields),
            Value::Null => {}
            _ => return Err(ChartError::Requirements("must be a map".into())),
        }
    }
    let metadata = Metadata::from_json(&metadata_json);
    metadata.validate()?;

    let mut values = Value::Object(Default::default());
    let mut schema = None;
    let mut templates = Vec::new();
    let mut other = Vec::new();
    let mut subcharts: std::collections::BTreeMap<String, Vec<BufferedFile>> = Default::default();
    let mut warnings = Vec::new();
    for f in files {
        match f.name.as_str() {
            "Chart.yaml" => {}
            "values.yaml" => {
                let text = std::str::from_utf8(&f.data)
                    .map_err(|_| ChartError::ValuesYaml("not valid UTF-8".into()))?;
                values = match berth_template::yaml::parse_values(text)
                    .map_err(|e| ChartError::ValuesYaml(e.to_string()))?
                {
                    Value::Null => Value::Object(Default::default()),
                    v @ Value::Object(_) => v,
                    _ => return Err(ChartError::ValuesYaml("values must be a map".into())),
                };
            }
            "values.schema.json" => schema = Some(f.data.clone()),
            "Chart.lock" | "requirements.lock" | "requirements.yaml" => {
                // Helm's loader (pkg/chart/v2/loader/load.go) logs these with log.Print.
                let legacy = match f.name.as_str() {
                    "requirements.yaml" => Some(
                        "Warning: Dependencies are handled in Chart.yaml since apiVersion \"v2\". We recommend migrating dependencies to Chart.yaml.",
                    ),
                    "requirements.lock" => Some(
                        "Warning: Dependency locking is handled in Chart.lock since apiVersion \"v2\". We recommend migrating to Chart.lock.",
                    ),
                    _ => None,
                };
                if let Some(w) = legacy.filter(|_| metadata.api_version != "v1") {
                    warnings.push(helm::Warning::printf(w.to_string()));
                }
                if metadata.api_version == "v1" {
                    other.push(helm::File {
                        name: f.name.clone(),
                        data: f.data.clone(),
                    });
                }
            }
            n if n.starts_with("templates/") => templates.push(helm::File {
                name: f.name.clone(),
                data: f.data.clone(),
            }),
            n if n.starts_with("charts/") => {
                if n.ends_with(".prov") {
                    other.push(helm::File {
                        name: f.name.clone(),
                        data: f.data.clone(),
                    });
                    continue;
                }
                let rest = &n["charts/".len()..];
                let (cname, inner) = rest.split_once('/').unwrap_or((rest, ""));
                subcharts
                    .entry(cname.to_string())
                    .or_default()
                    .push(BufferedFile {
                        name: if inner.is_empty() {
                            cname.to_string()
                        } else {
                            inner.to_string()
                        },
                        data: f.data.clone(),
                    });
            }
            _ => other.push(helm::File {
                name: f.name.clone(),
                data: f.data.clone(),
            }),
        }
    }
    let mut dependencies = Vec::new();
    for (n, sub_files) in subcharts {
        if n.starts_with('_') || n.starts_with('.') {
            continue;
        }
        let wrap = |source: ChartError| ChartError::Subchart {
            sub: n.clone(),
            parent: metadata.name.clone(),
            source: Box::new(source),
        };
        let sub = if n.ends_with(".tgz") {
            let data = &sub_files[0].data;
            let unpacked = unpack(data, &Limits::default()).map_err(wrap)?;
            build(&unpacked).map_err(wrap)?
        } else {
            let inner: Vec<BufferedFile> = sub_files.into_iter().filter(|f| f.name != n).collect();
            build(&inner).map_err(wrap)?
        };
        warnings.extend(sub.warnings);
        dependencies.push(sub.chart);
    }
    Ok(Loaded {
        chart: helm::Chart {
            metadata: metadata_json,
            templates,
            files: other,
            values,
            schema,
            dependencies,
        },
        metadata,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, data: &str) -> BufferedFile {
        BufferedFile {
            name: name.into(),
            data: data.as_bytes().to_vec(),
        }
    }

    fn sample() -> Vec<BufferedFile> {
        vec![
            file(
                "Chart.yaml",
                "apiVersion: v2\nname: demo\nversion: 0.1.0\nappVersion: \"1.0\"\n",
            ),
            file("values.yaml", "replicas: 2\n"),
            file("templates/cm.yaml", "kind: ConfigMap\n"),
            file("README.md", "hi"),
        ]
    }

    #[test]
    fn pack_is_deterministic_and_round_trips() {
        let a = pack(&sample(), "demo").unwrap();
        let mut reversed = sample();
        reversed.reverse();
        let b = pack(&reversed, "demo").unwrap();
        assert_eq!(a, b, "same files, same bytes");
        let mut back = unpack(&a, &Limits::default()).unwrap();
        back.sort_by(|x, y| x.name.cmp(&y.name));
        let mut want = sample();
        want.sort_by(|x, y| x.name.cmp(&y.name));
        assert_eq!(back, want);
    }

    #[test]
    fn build_sorts_files_like_helm() {
        let l = build(&sample()).unwrap();
        assert_eq!(l.metadata.chart_ref(), "demo-0.1.0");
        assert_eq!(l.chart.templates.len(), 1);
        assert_eq!(l.chart.files.len(), 1);
        assert!(l.chart.values["replicas"].is_f64());
    }

    #[test]
    fn invalid_metadata_is_refused() {
        let e = build(&[file("Chart.yaml", "apiVersion: v2\nname: x\n")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "validation: chart.metadata.version is required"
        );
        let e = build(&[file(
            "Chart.yaml",
            "apiVersion: v2\nname: x\nversion: one\n",
        )])
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "validation: chart.metadata.version \"one\" is invalid"
        );
        assert!(matches!(
            build(&[file("values.yaml", "")]).unwrap_err(),
            ChartError::MissingChartYaml
        ));
    }

    fn raw_tar(entries: &[(&str, tar::EntryType, &[u8])]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut t = tar::Builder::new(gz);
        for (name, kind, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(*kind);
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            // Write the name bytes directly so that unsafe names reach the reader.
            let bytes = name.as_bytes();
            h.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
            h.set_cksum();
            t.append(&h, *data).unwrap();
        }
        t.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn unsafe_archives_are_refused() {
        let cases: &[(&str, tar::EntryType)] = &[
            ("demo/../../etc/passwd", tar::EntryType::Regular),
            ("/etc/passwd", tar::EntryType::Regular),
            ("demo/link", tar::EntryType::Symlink),
            ("demo/hard", tar::EntryType::Link),
            ("demo/dev", tar::EntryType::Char),
        ];
        for (name, kind) in cases {
            let bytes = raw_tar(&[(name, *kind, b"x")]);
            assert!(
                unpack(&bytes, &Limits::default()).is_err(),
                "{name} must be refused"
            );
        }
        let big = raw_tar(&[("demo/big", tar::EntryType::Regular, &[b'a'; 2048])]);
        let small = Limits {
            max_file: 1024,
            ..Limits::default()
        };
        assert!(matches!(unpack(&big, &small), Err(ChartError::Limit(..))));
        assert!(unpack(b"\x1f\x8bnot really gzip", &Limits::default()).is_err());
    }
}
