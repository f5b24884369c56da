//! The demo chart, embedded so `berth demo` needs no files: version 1.0.0,
//! and version 1.1.0 which adds a metrics Service (so a rollback to 1.0.0
//! has an object to delete).

use std::path::Path;

const FILES: &[(&str, &str)] = &[
    ("Chart.yaml", include_str!("chart/Chart.yaml")),
    ("values.yaml", include_str!("chart/values.yaml")),
    (".helmignore", include_str!("chart/.helmignore")),
    (
        "templates/_helpers.tpl",
        include_str!("chart/templates/_helpers.tpl"),
    ),
    (
        "templates/configmap.yaml",
        include_str!("chart/templates/configmap.yaml"),
    ),
    (
        "templates/deployment.yaml",
        include_str!("chart/templates/deployment.yaml"),
    ),
    (
        "templates/service.yaml",
        include_str!("chart/templates/service.yaml"),
    ),
    (
        "templates/NOTES.txt",
        include_str!("chart/templates/NOTES.txt"),
    ),
];

const METRICS_SERVICE: &str = include_str!("metrics-service.yaml");

/// Write the demo chart at `version` ("1.0.0" or "1.1.0") into `dir`.
pub fn write_chart(dir: &Path, version: &str) -> std::io::Result<()> {
    for (name, text) in FILES {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let text = if *name == "Chart.yaml" {
            text.replace("version: 1.0.0", &format!("version: {version}"))
                .replace(
                    "appVersion: \"1.0.0\"",
                    &format!("appVersion: \"{version}\""),
                )
        } else {
            text.to_string()
        };
        std::fs::write(path, text)?;
    }
    if version != "1.0.0" {
        std::fs::write(dir.join("templates/metrics-service.yaml"), METRICS_SERVICE)?;
    }
    Ok(())
}
