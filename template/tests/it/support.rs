//! Shared fixtures: reading golden files, loading chart directories, and
//! running a render the way the golden files were produced.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use berth_template::helm::{self, Chart, File, ReleaseOptions, RenderOptions};
use serde_json::Value as J;

pub fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// What Helm produced: rendered files, or an error message.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Output(BTreeMap<String, String>),
    Error(String),
}

impl Outcome {
    pub fn from_expected(e: &J) -> Outcome {
        if let Some(err) = e.get("error") {
            return Outcome::Error(err.as_str().unwrap_or_default().to_string());
        }
        let out = e["output"].as_object().expect("output map");
        Outcome::Output(
            out.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect(),
        )
    }
}

/// Values as Helm received them from the golden script (JSON decoded by Go):
/// every number is a float64.
pub fn as_helm_json(v: &J) -> J {
    match v {
        J::Number(n) => serde_json::Number::from_f64(n.as_f64().unwrap_or(0.0))
            .map(J::Number)
            .unwrap_or(J::Null),
        J::Array(a) => J::Array(a.iter().map(as_helm_json).collect()),
        J::Object(o) => J::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), as_helm_json(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

pub fn release() -> ReleaseOptions {
    ReleaseOptions {
        name: "rel".into(),
        namespace: "ns".into(),
        revision: 1,
        is_install: true,
        is_upgrade: false,
    }
}

/// Renders like the golden script's `helm_render`: dependencies processed
/// (conditions, tags, aliases, import-values), values coalesced, every
/// template rendered (NOTES.txt included). Also returns the lines Helm's CLI
/// would log on stderr meanwhile.
pub fn render(chart: &Chart, user: &J, opts: &RenderOptions) -> (Outcome, Vec<String>) {
    let user = as_helm_json(user);
    let mut log = Vec::new();
    let outcome = (|| {
        let processed = match helm::process_dependencies(chart, &user, &mut log) {
            Ok(c) => c,
            Err(e) => return Outcome::Error(e.to_string()),
        };
        let values = match helm::coalesce_values(&processed, &user, &mut log) {
            Ok(v) => v,
            Err(e) => return Outcome::Error(e.to_string()),
        };
        match helm::render(&processed, &values, opts) {
            Ok(out) => Outcome::Output(out),
            Err(e) => Outcome::Error(e.to_string()),
        }
    })();
    (outcome, log.iter().map(|w| w.to_string()).collect())
}

/// The stderr lines Helm logged for a golden result (`expected.warnings`,
/// absent when there were none).
pub fn expected_warnings(expected: &J) -> Vec<String> {
    expected
        .get("warnings")
        .and_then(J::as_array)
        .into_iter()
        .flatten()
        .filter_map(J::as_str)
        .map(String::from)
        .collect()
}

/// Loads a chart directory the way Helm's loader splits it.
pub fn load_chart(dir: &Path) -> Chart {
    let mut all = Vec::new();
    collect(dir, dir, &mut all);
    chart_from_files(all)
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<File>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read chart dir")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(root, &p, out);
        } else {
            let name = p
                .strip_prefix(root)
                .expect("prefix")
                .to_string_lossy()
                .replace('\\', "/");
            out.push(File {
                name,
                data: std::fs::read(&p).expect("read file").into(),
            });
        }
    }
}

/// Splits a chart's files like Helm's `LoadFiles`.
pub fn chart_from_files(files: Vec<File>) -> Chart {
    let mut chart = Chart {
        values: J::Object(Default::default()),
        ..Default::default()
    };
    let mut subcharts: BTreeMap<String, Vec<File>> = BTreeMap::new();
    for f in files {
        let text = || String::from_utf8_lossy(&f.data).into_owned();
        match f.name.as_str() {
            "Chart.yaml" => {
                chart.metadata = berth_template::yaml::parse_values(&text()).expect("Chart.yaml")
            }
            "values.yaml" => {
                chart.values = berth_template::yaml::parse_values(&text()).expect("values.yaml")
            }
            "values.schema.json" => chart.schema = Some(f.data.to_vec()),
            "Chart.lock" => {}
            // Helm's loader reads requirements.yaml into the metadata's
            // dependencies; a v1 chart also keeps it among its files.
            "requirements.yaml" => {
                let reqs =
                    berth_template::yaml::parse_document(&text()).expect("requirements.yaml");
                if let (Some(meta), Some(deps)) =
                    (chart.metadata.as_object_mut(), reqs.get("dependencies"))
                {
                    meta.insert("dependencies".into(), deps.clone());
                }
                if chart.metadata["apiVersion"] == "v1" {
                    chart.files.push(f);
                }
            }
            n if n.starts_with("templates/") => chart.templates.push(f),
            n if n.starts_with("charts/") => {
                let rest = &n["charts/".len()..];
                if let Some((sub, path)) = rest.split_once('/') {
                    subcharts.entry(sub.to_string()).or_default().push(File {
                        name: path.to_string(),
                        data: f.data.clone(),
                    });
                } else if rest.ends_with(".tgz") {
                    subcharts.insert(rest.to_string(), untar(&f.data));
                }
            }
            _ => chart.files.push(f),
        }
    }
    for (_, files) in subcharts {
        chart.dependencies.push(chart_from_files(files));
    }
    chart
}

/// The files of a packed chart, without its top directory.
fn untar(tgz: &[u8]) -> Vec<File> {
    use std::io::Read;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tgz));
    let mut files = Vec::new();
    for entry in archive.entries().expect("tar") {
        let mut entry = entry.expect("tar entry");
        let path = entry.path().expect("path").to_string_lossy().into_owned();
        let (_, name) = path.split_once('/').expect("chart directory in archive");
        let mut data = Vec::new();
        entry.read_to_end(&mut data).expect("read tar entry");
        files.push(File {
            name: name.to_string(),
            data: data.into(),
        });
    }
    files
}

/// A readable diff of two outcomes for assertion messages.
pub fn describe_mismatch(name: &str, want: &Outcome, got: &Outcome) -> String {
    format!("case {name}\n--- helm ---\n{want:#?}\n--- berth ---\n{got:#?}\n")
}
