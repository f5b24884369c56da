//! Chart bundles: loading a chart directory (honouring `.helmignore`) or a
//! `.tgz`, packing it into a deterministic gzip tar that travels to the agent,
//! unpacking one with limits on every dimension, and building the in-memory
//! chart tree the template engine renders (Helm's loader.LoadFiles).
//!
//! Nothing here renders or talks to a cluster.

use std::path::{Path, PathBuf};

use berth_template::helm;
use bytes::Bytes;
use serde_json::Value;
use sha2::{Digest, Sha256};

mod archive;
mod ignore;
pub(crate) mod metadata;

pub use archive::{pack, unpack, unpack_keeping};
pub use ignore::go_match;
pub use metadata::{Metadata, lint_head, load_chartfile, strict_chartfile_error};

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
    #[error("cannot load irregular file {} as it has file mode type bits set", .0.display())]
    Irregular(PathBuf),
    /// What exceeds a limit, and the limit.
    #[error("chart: {0} exceeds the limit of {1}")]
    Limit(String, String),
    #[error("Chart.yaml file is missing")]
    MissingChartYaml,
    #[error("cannot load Chart.yaml: {0}")]
    ChartYaml(String),
    #[error("cannot load requirements.yaml: {0}")]
    Requirements(String),
    /// Chart.lock or requirements.lock, and what is wrong with it.
    #[error("cannot load {0}: {1}")]
    Lock(&'static str, String),
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

/// Limits on what a chart may contain, checked when the CLI loads a chart
/// and when the agent unpacks an uploaded one (berthd's `--max-chart-*`
/// flags). Helm's own are 100 MiB decompressed and 5 MiB per file
/// (pkg/chart/loader/archive.go); the others are berth's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// The gzip tar as it travels.
    pub max_packed: u64,
    /// All files' contents together, subcharts packed inside the chart
    /// included once unpacked.
    pub max_unpacked: u64,
    /// One file's contents.
    pub max_file: u64,
    /// Files in the chart, subcharts included.
    pub max_files: usize,
    /// Path components of a file, the chart's own directory included;
    /// also the deepest nesting of subcharts.
    pub max_depth: usize,
    /// Bytes of a file's path.
    pub max_path: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_packed: 50 * 1024 * 1024,
            max_unpacked: 100 * 1024 * 1024,
            max_file: 5 * 1024 * 1024,
            max_files: 20_000,
            max_depth: 32,
            max_path: 4096,
        }
    }
}

/// One file of a chart, named relative to the chart's root with '/'.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BufferedFile {
    pub name: String,
    /// In memory, or (in berthd, for a large file) a file mapped into it.
    pub data: bytes::Bytes,
}

/// A packed chart as it travels: deterministic gzip tar, its digest, and
/// its metadata.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// Shared, so sending it in chunks slices instead of copying.
    pub bytes: bytes::Bytes,
    /// sha256 of `bytes`, lower-case hex.
    pub digest: String,
    pub metadata: Metadata,
    /// What validating values against the charts' schemas reads: each
    /// chart's name and schema ([`crate::schema_refs::skeleton`]).
    pub schemas: helm::Chart,
}

impl Bundle {
    /// Load a chart directory or `.tgz` and pack it. The chart is fully
    /// loaded first so that a malformed chart is refused before anything
    /// is sent.
    pub fn from_path(path: &Path, limits: &Limits) -> Result<Bundle, ChartError> {
        let files = load_path(path, limits)?;
        let loaded = build(&files, limits)?;
        let bytes = pack(&files, &loaded.metadata.name)?;
        if bytes.len() as u64 > limits.max_packed {
            return Err(ChartError::Limit(
                format!("the packed chart ({} bytes)", bytes.len()),
                format!("{} bytes", limits.max_packed),
            ));
        }
        Ok(Bundle {
            digest: sha256_hex(&bytes),
            bytes: bytes.into(),
            metadata: loaded.metadata,
            schemas: crate::schema_refs::skeleton(&loaded.chart),
        })
    }
}

/// Go's `filepath.Abs`: joined to the working directory and cleaned
/// lexically (symbolic links are not resolved).
pub fn go_abs(p: &Path) -> PathBuf {
    let joined = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
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
    if meta.len() > limits.max_packed {
        return Err(ChartError::Limit(
            format!("{} ({} bytes)", path.display(), meta.len()),
            format!("{} bytes", limits.max_packed),
        ));
    }
    let bytes = std::fs::read(path).map_err(|source| ChartError::Io {
        path: path.to_path_buf(),
        source,
    })?;
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
    // Also ends symlink loops, which Helm's walk follows too.
    if depth > limits.max_depth {
        return Err(ChartError::Limit(
            format!("the directory depth at {}", dir.display()),
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
            return Err(ChartError::Irregular(entry.path()));
        }
        check_path(&n, n.split('/').count() + 1, limits)?;
        if meta.len() > limits.max_file {
            return Err(ChartError::Limit(
                format!("file {n} ({} bytes)", meta.len()),
                format!("{} bytes per file", limits.max_file),
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
        out.push(BufferedFile {
            name: n,
            data: data.into(),
        });
        if out.len() > limits.max_files {
            return Err(ChartError::Limit(
                "the number of files".into(),
                limits.max_files.to_string(),
            ));
        }
    }
    Ok(())
}

/// The path limits for a file of a chart directory (`depth` counts the
/// chart's own directory, as in an archive).
fn check_path(name: &str, depth: usize, limits: &Limits) -> Result<(), ChartError> {
    if name.len() > limits.max_path {
        return Err(ChartError::Limit(
            format!("the path length of {name} ({} bytes)", name.len()),
            format!("{} bytes", limits.max_path),
        ));
    }
    if depth > limits.max_depth {
        return Err(ChartError::Limit(
            format!("the path depth of {name} ({depth})"),
            limits.max_depth.to_string(),
        ));
    }
    Ok(())
}

fn strip_bom(data: &mut Vec<u8>) {
    if data.starts_with(&[0xEF, 0xBB, 0xBF]) {
        data.drain(..3);
    }
}

/// A YAML document of a chart as sigs.k8s.io/yaml reads it into the Go
/// struct whose string fields `string_at` names, with the error in its
/// words.
pub(crate) fn read_document(
    data: &[u8],
    string_at: berth_template::yaml::StringAt,
) -> Result<Value, String> {
    let text = std::str::from_utf8(data)
        .map_err(|_| format!("error converting YAML to JSON: yaml: {}", not_utf8(data)))?;
    berth_template::yaml::parse_document_for(text, false, string_at).map_err(|e| e.to_string())
}

/// What go-yaml's reader says of bytes that are not UTF-8 ("invalid
/// trailing UTF-8 octet", …).
pub(crate) fn not_utf8(data: &[u8]) -> &'static str {
    use berth_template::value::gostr;
    gostr::yaml_reader_error(&gostr::from_bytes(data)).unwrap_or("invalid leading UTF-8 octet")
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
/// subcharts and other files, recursively for `charts/`. Subcharts packed
/// as `.tgz` are unpacked within what is left of the chart's limits, and
/// subcharts nest at most `limits.max_depth` deep.
pub fn build(files: &[BufferedFile], limits: &Limits) -> Result<Loaded, ChartError> {
    build_owned(files.to_vec(), limits)
}

/// [`build`], moving the files' contents into the chart instead of
/// copying them: berthd unpacks a chart only to build it, and a chart's
/// files may be tens of MiB.
pub fn build_owned(files: Vec<BufferedFile>, limits: &Limits) -> Result<Loaded, ChartError> {
    build_keeping(files, limits, &mut Bytes::from)
}

/// [`build_owned`], handing the files of subcharts packed as `.tgz` to
/// `keep` as they are unpacked (see [`unpack_keeping`]).
pub fn build_keeping(
    files: Vec<BufferedFile>,
    limits: &Limits,
    keep: &mut dyn FnMut(Vec<u8>) -> Bytes,
) -> Result<Loaded, ChartError> {
    let mut used = archive::Used {
        bytes: files.iter().map(|f| f.data.len() as u64).sum(),
        files: files.len(),
    };
    build_nested(files, limits, &mut used, 0, keep)
}

fn build_nested(
    files: Vec<BufferedFile>,
    limits: &Limits,
    used: &mut archive::Used,
    depth: usize,
    keep: &mut dyn FnMut(Vec<u8>) -> Bytes,
) -> Result<Loaded, ChartError> {
    // Helm's LoadFiles reads Chart.yaml first, then the other files in
    // their order, and validates the metadata only once all are read.
    let mut md = match files.iter().find(|f| f.name == "Chart.yaml") {
        Some(f) => {
            let mut md = read_document(&f.data, &metadata::metadata_strings)
                .and_then(metadata::decode_metadata)
                .map_err(ChartError::ChartYaml)?;
            if md
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or("")
                .is_empty()
            {
                // Helm 2 charts had no apiVersion; Helm loads them as v1.
                md.insert("apiVersion".into(), Value::String("v1".into()));
            }
            Some(md)
        }
        None => None,
    };
    let is_v1 = |md: &Option<serde_json::Map<String, Value>>| {
        md.as_ref()
            .and_then(|m| m.get("apiVersion"))
            .and_then(Value::as_str)
            == Some("v1")
    };

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
                let text = std::str::from_utf8(&f.data).map_err(|_| {
                    ChartError::ValuesYaml(format!(
                        "cannot unmarshal yaml document: error converting YAML to JSON: yaml: {}",
                        not_utf8(&f.data)
                    ))
                })?;
                values = match berth_template::yaml::parse_values(text)
                    .map_err(|e| ChartError::ValuesYaml(e.to_string()))?
                {
                    Value::Null => Value::Object(Default::default()),
                    v @ Value::Object(_) => v,
                    _ => return Err(ChartError::ValuesYaml("values must be a map".into())),
                };
            }
            "values.schema.json" => schema = Some(f.data.to_vec()),
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
                if f.name == "requirements.yaml" {
                    // Read into the chart's metadata: that is where v1
                    // charts list their dependencies.
                    if let Some(w) = legacy.filter(|_| !is_v1(&md)) {
                        warnings.push(helm::Warning::printf(w.to_string()));
                    }
                    let over = read_document(&f.data, &metadata::metadata_strings)
                        .and_then(metadata::decode_metadata)
                        .map_err(ChartError::Requirements)?;
                    metadata::merge(md.get_or_insert_default(), over);
                } else {
                    let file = if f.name == "Chart.lock" {
                        "Chart.lock"
                    } else {
                        "requirements.lock"
                    };
                    read_document(&f.data, &metadata::lock_strings)
                        .and_then(metadata::check_lock)
                        .map_err(|e| ChartError::Lock(file, e))?;
                    if let Some(w) = legacy.filter(|_| !is_v1(&md)) {
                        warnings.push(helm::Warning::printf(w.to_string()));
                    }
                }
                if f.name != "Chart.lock" && is_v1(&md) {
                    other.push(helm::File {
                        name: f.name.clone(),
                        data: f.data,
                    });
                }
            }
            n if n.starts_with("templates/") => templates.push(helm::File {
                name: f.name.clone(),
                data: f.data,
            }),
            n if n.starts_with("charts/") => {
                if n.ends_with(".prov") {
                    other.push(helm::File {
                        name: f.name.clone(),
                        data: f.data,
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
                        data: f.data,
                    });
            }
            _ => other.push(helm::File {
                name: f.name.clone(),
                data: f.data,
            }),
        }
    }
    let mut md = md.ok_or(ChartError::MissingChartYaml)?;
    let metadata = metadata::validate(&mut md)?;
    let metadata_json = Value::Object(md);

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
        if depth + 1 > limits.max_depth {
            return Err(wrap(ChartError::Limit(
                "the nesting of subcharts".into(),
                limits.max_depth.to_string(),
            )));
        }
        let sub = if n.ends_with(".tgz") {
            let data = &sub_files[0].data;
            let unpacked = archive::unpack_counted(&data[..], limits, used, keep).map_err(wrap)?;
            build_nested(unpacked, limits, used, depth + 1, keep).map_err(wrap)?
        } else {
            let inner: Vec<BufferedFile> = sub_files.into_iter().filter(|f| f.name != n).collect();
            build_nested(inner, limits, used, depth + 1, keep).map_err(wrap)?
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
            remote_schemas: Default::default(),
        },
        metadata,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Also the fixtures of `archive`'s tests.
    pub(super) fn file(name: &str, data: &str) -> BufferedFile {
        BufferedFile {
            name: name.into(),
            data: data.as_bytes().to_vec().into(),
        }
    }

    pub(super) fn sample() -> Vec<BufferedFile> {
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
    fn build_sorts_files_like_helm() {
        let l = build(&sample(), &Limits::default()).unwrap();
        assert_eq!(l.metadata.chart_ref(), "demo-0.1.0");
        assert_eq!(l.chart.templates.len(), 1);
        assert_eq!(l.chart.files.len(), 1);
        assert!(l.chart.values["replicas"].is_f64());
    }

    #[test]
    fn invalid_metadata_is_refused() {
        let e = build(
            &[file("Chart.yaml", "apiVersion: v2\nname: x\n")],
            &Limits::default(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "validation: chart.metadata.version is required"
        );
        let e = build(
            &[file(
                "Chart.yaml",
                "apiVersion: v2\nname: x\nversion: one\n",
            )],
            &Limits::default(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "validation: chart.metadata.version \"one\" is invalid"
        );
        assert!(matches!(
            build(&[file("values.yaml", "")], &Limits::default()).unwrap_err(),
            ChartError::MissingChartYaml
        ));
    }

    /// A chart `name` whose charts/ holds `sub`, packed.
    fn with_packed_subchart(name: &str, sub: Option<(&str, Vec<u8>)>) -> Vec<BufferedFile> {
        let mut files = vec![file(
            "Chart.yaml",
            &format!("apiVersion: v2\nname: {name}\nversion: 0.1.0\n"),
        )];
        if let Some((sub_name, bytes)) = sub {
            files.push(BufferedFile {
                name: format!("charts/{sub_name}.tgz"),
                data: bytes.into(),
            });
        }
        files
    }

    #[test]
    fn the_files_of_packed_subcharts_go_through_keep() {
        let mut sub = with_packed_subchart("sub", None);
        sub.push(file("files/data.txt", "the subchart's data"));
        let packed = pack(&sub, "sub").unwrap();
        let parent = with_packed_subchart("parent", Some(("sub", packed)));
        let mut kept = Vec::new();
        let loaded = build_keeping(parent, &Limits::default(), &mut |data| {
            kept.push(String::from_utf8(data.clone()).unwrap());
            data.into()
        })
        .unwrap();
        assert!(
            kept.contains(&"the subchart's data".to_string()),
            "{kept:?}"
        );
        assert_eq!(kept.len(), 2, "the subchart's Chart.yaml and its file");
        let sub = &loaded.chart.dependencies[0];
        assert_eq!(&sub.files[0].data[..], b"the subchart's data");
    }

    #[test]
    fn packed_subcharts_share_their_parents_limits() {
        let limits = Limits {
            max_unpacked: 64 * 1024,
            max_files: 10,
            ..Limits::default()
        };
        // A subchart of 40 KiB (compressing to almost nothing), twice.
        let mut sub = with_packed_subchart("sub", None);
        sub.push(file("big.txt", &"x".repeat(40 * 1024)));
        let packed = pack(&sub, "sub").unwrap();
        let mut parent = with_packed_subchart("parent", Some(("a", packed.clone())));
        assert!(build(&parent, &limits).is_ok());
        parent.push(BufferedFile {
            name: "charts/b.tgz".into(),
            data: packed.into(),
        });
        assert_eq!(
            build(&parent, &limits).unwrap_err().to_string(),
            "error unpacking subchart b.tgz in parent: chart: unpacked chart size exceeds the limit of 65536 bytes"
        );
    }

    #[test]
    fn subcharts_nest_at_most_max_depth_deep() {
        let limits = Limits {
            max_depth: 4,
            ..Limits::default()
        };
        let mut chart = with_packed_subchart("c0", None);
        for i in 1..=5 {
            let packed = pack(&chart, &format!("c{}", i - 1)).unwrap();
            chart = with_packed_subchart(&format!("c{i}"), Some((&format!("c{}", i - 1), packed)));
        }
        let e = build(&chart, &limits).unwrap_err().to_string();
        assert!(
            e.ends_with("chart: the nesting of subcharts exceeds the limit of 4"),
            "{e}"
        );
        assert!(build(&chart, &Limits::default()).is_ok());
    }
}
