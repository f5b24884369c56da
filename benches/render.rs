//! Rendering speed of berth's template engine against real Helm, in one run.
//!
//! For each chart, berth renders it `N` times in-process (values
//! coalescing, templates, hook split and install-order sort: everything
//! `berth template` and the agent do between "chart loaded" and "manifest
//! ready"), and real Helm v4 renders it `N` times through helm-python-sdk
//! (`Chart.render`, Helm's engine behind a C ABI) in a Python process.
//! Both load the chart once, outside the timing. Medians are compared.
//!
//!     scripts/bench.sh            # or: cargo bench --bench render
//!
//! The Python interpreter is `.venv/bin/python` (made by scripts/test.sh or
//! scripts/bench.sh), or `$BERTH_BENCH_PYTHON`. For profiling berth alone
//! (e.g. under `valgrind --tool=callgrind`), `BERTH_BENCH_ONLY=wide` keeps
//! the cases whose name contains `wide`, and `BERTH_BENCH_HELM=0` skips Helm.
//! `BERTH_BENCH_CHARTS=DIR[=VALUES.yaml][:DIR…]` adds chart directories
//! (e.g. public charts with their dependencies in `charts/`, as
//! scripts/compare-charts.py takes them; never committed here).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use berth::chart::{self, Limits};
use berth_template::helm;
use serde_json::{Value, json};

mod common;
use common::{ROOT, count, median, python};

struct Case {
    name: String,
    chart: PathBuf,
    release: &'static str,
    values: Value,
}

fn main() {
    let iterations: usize = count("BERTH_BENCH_ITERATIONS", 200);
    let wide = tempfile::tempdir().expect("temporary directory");
    write_wide_chart(wide.path(), 60);
    let mut cases = vec![
        Case {
            name: "demo chart (3 objects)".into(),
            chart: Path::new(ROOT).join("cli/src/demo/chart"),
            release: "hello",
            values: json!({}),
        },
        Case {
            name: "helm create scaffold, all features on".into(),
            chart: Path::new(ROOT).join("tests/golden/charts/scaffold"),
            release: "scaffold",
            values: json!({
                "ingress": {"enabled": true, "hosts": [{"host": "a.example", "paths": [{"path": "/", "pathType": "Prefix"}]}]},
                "autoscaling": {"enabled": true},
                "podAnnotations": {"prometheus.io/scrape": "true"},
                "resources": {"limits": {"cpu": "100m", "memory": "128Mi"}}
            }),
        },
        Case {
            name: "bitnami-style app on a common library, all features".into(),
            chart: Path::new(ROOT).join("template/tests/golden/charts/appstack"),
            release: "appstack",
            values: values_file(
                &Path::new(ROOT).join("template/tests/golden/charts/appstack.values/full.yaml"),
            ),
        },
        Case {
            name: "wide chart (60 services, 180 objects)".into(),
            chart: wide.path().to_path_buf(),
            release: "wide",
            values: json!({}),
        },
    ];
    for arg in std::env::var("BERTH_BENCH_CHARTS")
        .unwrap_or_default()
        .split(':')
    {
        let Some((dir, values)) = arg
            .split_once('=')
            .or(Some((arg, "")))
            .filter(|_| !arg.is_empty())
        else {
            continue;
        };
        let name = Path::new(dir)
            .file_name()
            .map_or(dir.into(), |n| n.to_string_lossy().into_owned());
        cases.push(Case {
            name: if values.is_empty() {
                name
            } else {
                format!("{name} ({values})")
            },
            chart: dir.into(),
            release: "bench",
            values: if values.is_empty() {
                json!({})
            } else {
                values_file(Path::new(values))
            },
        });
    }
    let only = std::env::var("BERTH_BENCH_ONLY").unwrap_or_default();
    let with_helm = std::env::var("BERTH_BENCH_HELM").map_or(true, |v| v != "0");
    let python = if with_helm { Some(python()) } else { None };
    println!("{iterations} renders per case; medians; ratio = berth / Helm (below 1 is faster)\n");
    println!("| chart | berth | Helm v4 | ratio |");
    println!("|---|---|---|---|");
    for case in cases.iter().filter(|c| c.name.contains(&only)) {
        let berth = berth_median(case, iterations);
        let Some(python) = &python else {
            println!("| {} | {} | - | - |", case.name, show(berth));
            continue;
        };
        let helm = helm_median(python, case, iterations);
        println!(
            "| {} | {} | {} | {:.2} |",
            case.name,
            show(berth),
            show(helm),
            berth.as_secs_f64() / helm.as_secs_f64()
        );
    }
}

fn berth_median(case: &Case, iterations: usize) -> Duration {
    let files = chart::load_path(&case.chart, &Limits::default()).expect("chart loads");
    let loaded = chart::build(&files, &Limits::default()).expect("chart builds");
    let opts = helm::RenderOptions::new(helm::ReleaseOptions {
        name: case.release.to_string(),
        namespace: "default".to_string(),
        revision: 1,
        is_install: true,
        is_upgrade: false,
    });
    berth::render::render(&loaded, &case.values, &opts, &mut Vec::new()).expect("chart renders"); // warm-up
    let mut times = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let start = Instant::now();
        let rendered = berth::render::render(&loaded, &case.values, &opts, &mut Vec::new())
            .expect("chart renders");
        times.push(start.elapsed());
        std::hint::black_box(rendered);
    }
    median(times)
}

fn helm_median(python: &Path, case: &Case, iterations: usize) -> Duration {
    let out = Command::new(python)
        .arg(Path::new(ROOT).join("benches/helm_render.py"))
        .arg(&case.chart)
        .arg(case.release)
        .arg(case.values.to_string())
        .arg(iterations.to_string())
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", python.display()));
    assert!(
        out.status.success(),
        "helm_render.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seconds: f64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("helm_render.py prints seconds");
    Duration::from_secs_f64(seconds)
}

fn values_file(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    berth_template::yaml::parse_values(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn show(d: Duration) -> String {
    if d >= Duration::from_millis(1) {
        format!("{:.2} ms", d.as_secs_f64() * 1e3)
    } else {
        format!("{:.0} µs", d.as_secs_f64() * 1e6)
    }
}

/// A chart shaped like an umbrella of many small services: one template
/// ranging over a list, with the helpers real charts lean on (include,
/// toYaml | nindent, sha256sum of a rendered config, quote, printf, default).
fn write_wide_chart(dir: &Path, services: usize) {
    let list: Vec<Value> = (0..services)
        .map(|i| {
            json!({
                "name": format!("svc-{i:03}"),
                "port": 8000 + i,
                "replicas": 1 + i % 3,
                "env": {"LOG_LEVEL": "info", "SERVICE_INDEX": i.to_string(), "FEATURE_X": (i % 2 == 0)},
                "config": {"timeout": "30s", "retries": 3, "upstreams": [format!("svc-{:03}", (i + 1) % services)]}
            })
        })
        .collect();
    let values = berth_template::yaml::to_yaml(&json!({
        "image": {"repository": "registry.example/app", "tag": "1.2.3"},
        "services": list,
    }));
    let write = |name: &str, text: &str| common::write_file(dir, name, text);
    write(
        "Chart.yaml",
        "apiVersion: v2\nname: wide\nversion: 0.1.0\nappVersion: \"1.2.3\"\n",
    );
    write("values.yaml", &values);
    write(
        "templates/_helpers.tpl",
        r#"{{- define "wide.labels" -}}
app.kubernetes.io/name: {{ .svc.name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- define "wide.config" -}}
{{ toYaml .svc.config }}
{{- end }}
"#,
    );
    write(
        "templates/services.yaml",
        r#"{{- range .Values.services }}
{{- $ctx := dict "svc" . "root" $ }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .name }}
  labels:
    {{- include "wide.labels" $ctx | nindent 4 }}
data:
  config.yaml: |
    {{- include "wide.config" $ctx | nindent 4 }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .name }}
  labels:
    {{- include "wide.labels" $ctx | nindent 4 }}
spec:
  ports:
    - port: {{ .port }}
      targetPort: http
  selector:
    app.kubernetes.io/name: {{ .name }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .name }}
  labels:
    {{- include "wide.labels" $ctx | nindent 4 }}
spec:
  replicas: {{ .replicas | default 1 }}
  selector:
    matchLabels:
      app.kubernetes.io/name: {{ .name }}
  template:
    metadata:
      annotations:
        checksum/config: {{ include "wide.config" $ctx | sha256sum }}
      labels:
        {{- include "wide.labels" $ctx | nindent 8 }}
    spec:
      containers:
        - name: app
          image: "{{ $.Values.image.repository }}:{{ $.Values.image.tag | default $.Chart.AppVersion }}"
          ports:
            - name: http
              containerPort: {{ .port }}
          env:
            {{- range $k, $v := .env }}
            - name: {{ $k }}
              value: {{ $v | quote }}
            {{- end }}
{{- end }}
"#,
    );
}
