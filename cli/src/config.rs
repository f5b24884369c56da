//! The CLI's config file: named clusters (agent address, CA, client
//! certificate and key, labels) and the current one.
//!
//! `--config FILE` or `$BERTH_CONFIG`, else `$XDG_CONFIG_HOME/berth/config.yaml`, else
//! `~/.config/berth/config.yaml`. A missing file is an empty config; a
//! malformed one is an error naming the file, line and column. Flags and
//! `BERTH_*` variables override what a cluster entry says.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::CliError;
use crate::connect::Target;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_cluster: Option<String>,
    #[serde(default)]
    pub clusters: Vec<Cluster>,
}

/// One agent and the credentials to reach it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cluster {
    pub name: String,
    pub agent: String,
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

impl Cluster {
    pub fn target(&self) -> Target {
        Target {
            agent: Some(self.agent.clone()),
            ca: Some(self.ca.clone()),
            cert: Some(self.cert.clone()),
            key: Some(self.key.clone()),
            cluster: Some(self.name.clone()),
        }
    }
}

/// Where the config file is: `--config` (or `$BERTH_CONFIG`, which clap
/// folds into it) if given.
pub fn path(given: Option<&Path>) -> Result<PathBuf, CliError> {
    if let Some(p) = given.filter(|p| !p.as_os_str().is_empty()) {
        return Ok(p.to_path_buf());
    }
    let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|p| !p.is_empty()) {
        Some(x) => PathBuf::from(x),
        None => std::env::var_os("HOME")
            .filter(|p| !p.is_empty())
            .map(|h| PathBuf::from(h).join(".config"))
            .ok_or_else(|| {
                CliError::Usage("cannot find the config file: set BERTH_CONFIG or HOME".into())
            })?,
    };
    Ok(base.join("berth").join("config.yaml"))
}

impl Config {
    /// Read the config file (empty if it does not exist).
    pub fn load_from(path: &Path) -> Result<Config, CliError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(e) => return Err(CliError::Usage(format!("{}: {e}", path.display()))),
        };
        if text.trim().is_empty() {
            return Ok(Config::default());
        }
        let opts = serde_saphyr::options! { budget: berth::manifest::yaml_budget() };
        let config: Config = serde_saphyr::from_str_with_options(&text, opts).map_err(|e| {
            CliError::Usage(format!(
                "{}: {}",
                path.display(),
                berth::manifest::yaml_error_line(&e.to_string())
            ))
        })?;
        let mut seen = std::collections::HashSet::new();
        for c in &config.clusters {
            if !seen.insert(c.name.as_str()) {
                return Err(CliError::Usage(format!(
                    "{}: cluster {:?} is listed twice",
                    path.display(),
                    c.name
                )));
            }
        }
        Ok(config)
    }

    /// Write the config file atomically (a temporary file renamed over it).
    pub fn save_to(&self, path: &Path) -> Result<(), CliError> {
        let text = serde_saphyr::to_string(self)
            .map_err(|e| CliError::Other(format!("writing {}: {e}", path.display())))?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| CliError::Usage(format!("{}: {e}", dir.display())))?;
        }
        let tmp = path.with_extension("yaml.tmp");
        berth::tls::write_file(&tmp, &text, true).map_err(|e| CliError::Usage(e.to_string()))?;
        std::fs::rename(&tmp, path)
            .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
        Ok(())
    }

    pub fn get(&self, name: &str) -> Result<&Cluster, CliError> {
        self.clusters
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| {
                let known: Vec<&str> = self.clusters.iter().map(|c| c.name.as_str()).collect();
                CliError::Usage(if known.is_empty() {
                    format!("no cluster named {name:?}: add one with `berth cluster add`")
                } else {
                    format!(
                        "no cluster named {name:?} (known: {}; see `berth cluster list`)",
                        known.join(", ")
                    )
                })
            })
    }
}

/// A label selector over cluster labels, with Kubernetes' syntax
/// (`env=prod,region in (eu,us),!canary`).
pub struct Selector(berth_sim::selector::LabelSelector);

impl Selector {
    pub fn parse(s: &str) -> Result<Selector, CliError> {
        berth_sim::selector::LabelSelector::parse(s)
            .map(Selector)
            .map_err(|e| CliError::Usage(format!("--selector {s:?}: {}", e.message)))
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.matches(labels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(name: &str, labels: &[(&str, &str)]) -> Cluster {
        Cluster {
            name: name.into(),
            agent: format!("https://{name}:7443"),
            ca: "/pki/ca.crt".into(),
            cert: "/pki/c.crt".into(),
            key: "/pki/c.key".into(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn round_trips_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sub/config.yaml");
        assert_eq!(Config::load_from(&file).unwrap(), Config::default());
        let c = Config {
            current_cluster: Some("eu-1".into()),
            clusters: vec![cluster("eu-1", &[("env", "prod")]), cluster("dev", &[])],
        };
        c.save_to(&file).unwrap();
        assert_eq!(Config::load_from(&file).unwrap(), c);
    }

    #[test]
    fn malformed_files_name_the_file_and_place() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.yaml");
        std::fs::write(&file, "clusters:\n  - name: a\n    agnet: x\n").unwrap();
        let e = Config::load_from(&file).unwrap_err().to_string();
        assert!(e.starts_with(&file.display().to_string()), "{e}");
        assert!(e.contains("agnet"), "{e}");
        assert_eq!(e.lines().count(), 1, "{e}");
        let c = Config {
            current_cluster: None,
            clusters: vec![cluster("a", &[]), cluster("a", &[])],
        };
        c.save_to(&file).unwrap();
        let e = Config::load_from(&file).unwrap_err().to_string();
        assert!(e.contains("listed twice"), "{e}");
    }

    #[test]
    fn selectors_use_kubernetes_syntax() {
        let labels: BTreeMap<String, String> = [("env", "prod"), ("region", "eu")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        for (sel, want) in [
            ("env=prod", true),
            ("env=prod,region in (eu,us)", true),
            ("env=prod,region notin (eu)", false),
            ("!canary", true),
            ("canary", false),
            ("env!=prod", false),
        ] {
            assert_eq!(
                Selector::parse(sel).unwrap().matches(&labels),
                want,
                "{sel}"
            );
        }
        assert!(Selector::parse("env in prod").is_err());
    }
}
