//! `berth cluster add|list|remove|use`: the named clusters of the config
//! file (see [`crate::config`]).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Subcommand;

use crate::config::{self, Cluster, Config};
use crate::output::Format;
use crate::{CliError, Global, Io};

#[derive(Subcommand, Debug)]
pub enum ClusterCommand {
    /// Add a cluster (or replace one of the same name).
    #[command(
        after_help = "Examples:\n  berth cluster add eu-1 --agent https://berthd.eu-1.example:7443 \\\n      --ca pki/ca.crt --cert pki/client.crt --key pki/client.key --label env=prod --label region=eu\n  berth cluster add dev --agent 127.0.0.1:7443 --ca ca.crt --cert c.crt --key c.key --use"
    )]
    Add {
        name: String,
        /// The agent's address.
        #[arg(long)]
        agent: String,
        /// CA certificate that signed the agent's certificate.
        #[arg(long)]
        ca: PathBuf,
        /// Client certificate presented to the agent.
        #[arg(long)]
        cert: PathBuf,
        /// Private key of the client certificate.
        #[arg(long)]
        key: PathBuf,
        /// A label for fleet selectors, KEY=VALUE (repeatable).
        #[arg(long = "label", value_name = "KEY=VALUE")]
        labels: Vec<String>,
        /// Make it the current cluster.
        #[arg(long = "use")]
        make_current: bool,
    },
    /// List the clusters; the current one is marked with *.
    #[command(
        alias = "ls",
        after_help = "Examples:\n  berth cluster list\n  berth cluster list --selector env=prod -o json"
    )]
    List {
        /// Only clusters whose labels match (Kubernetes selector syntax).
        #[arg(short = 'l', long)]
        selector: Option<String>,
        #[arg(short = 'o', long = "output", default_value = "table")]
        output: Format,
    },
    /// Forget a cluster.
    #[command(alias = "rm", after_help = "Example:\n  berth cluster remove eu-1")]
    Remove { name: String },
    /// Make a cluster the current one: commands without --cluster use it.
    #[command(after_help = "Example:\n  berth cluster use eu-1")]
    Use { name: String },
}

/// A path as the config file must hold it: absolute, so commands work from
/// any directory. The file must exist now.
fn absolute(flag: &str, p: &Path) -> Result<PathBuf, CliError> {
    std::fs::canonicalize(p).map_err(|e| CliError::Usage(format!("--{flag} {}: {e}", p.display())))
}

fn parse_labels(raw: &[String]) -> Result<BTreeMap<String, String>, CliError> {
    let mut labels = BTreeMap::new();
    for l in raw {
        let (k, v) = l
            .split_once('=')
            .ok_or_else(|| CliError::Usage(format!("--label {l:?}: expected KEY=VALUE")))?;
        // The same rules selectors parse by, so every label can be selected.
        config::Selector::parse(&format!("{k}={v}"))
            .map_err(|_| CliError::Usage(format!("--label {l:?}: not a valid label")))?;
        labels.insert(k.to_string(), v.to_string());
    }
    Ok(labels)
}

pub fn run(g: &Global, c: ClusterCommand, io: &mut Io) -> Result<(), CliError> {
    let path = config::path(g.config.as_deref())?;
    let mut config = Config::load_from(&path)?;
    match c {
        ClusterCommand::Add {
            name,
            agent,
            ca,
            cert,
            key,
            labels,
            make_current,
        } => {
            if name.is_empty() || name.contains(',') || name.chars().any(char::is_whitespace) {
                return Err(CliError::Usage(format!(
                    "cluster name {name:?}: no spaces or commas"
                )));
            }
            crate::connect::parse_url(&agent)?;
            let cluster = Cluster {
                name: name.clone(),
                agent,
                ca: absolute("ca", &ca)?,
                cert: absolute("cert", &cert)?,
                key: absolute("key", &key)?,
                labels: parse_labels(&labels)?,
            };
            match config.clusters.iter_mut().find(|c| c.name == name) {
                Some(old) => *old = cluster,
                None => config.clusters.push(cluster),
            }
            if make_current || config.current_cluster.is_none() {
                config.current_cluster = Some(name.clone());
            }
            config.save_to(&path)?;
            writeln!(io.out, "cluster {name} added to {}", path.display())?;
        }
        ClusterCommand::List { selector, output } => {
            let selector = selector
                .as_deref()
                .map(config::Selector::parse)
                .transpose()?;
            let shown: Vec<&Cluster> = config
                .clusters
                .iter()
                .filter(|c| selector.as_ref().is_none_or(|s| s.matches(&c.labels)))
                .collect();
            let current = config.current_cluster.as_deref();
            match output {
                Format::Table => {
                    let mut rows = Vec::new();
                    for c in &shown {
                        let labels: Vec<String> =
                            c.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
                        rows.push(vec![
                            if current == Some(c.name.as_str()) {
                                "*"
                            } else {
                                ""
                            }
                            .into(),
                            c.name.clone(),
                            c.agent.clone(),
                            labels.join(","),
                        ]);
                    }
                    crate::output::table(
                        &mut io.out,
                        &["CURRENT", "NAME", "AGENT", "LABELS"],
                        &rows,
                    )?;
                }
                _ => {
                    let v: Vec<serde_json::Value> = shown
                        .iter()
                        .map(|c| {
                            serde_json::json!({
                                "name": c.name,
                                "agent": c.agent,
                                "ca": c.ca,
                                "cert": c.cert,
                                "key": c.key,
                                "labels": c.labels,
                                "current": current == Some(c.name.as_str()),
                            })
                        })
                        .collect();
                    crate::output::structured(&mut io.out, output, &serde_json::Value::Array(v))?;
                }
            }
        }
        ClusterCommand::Remove { name } => {
            config.get(&name)?;
            config.clusters.retain(|c| c.name != name);
            if config.current_cluster.as_deref() == Some(name.as_str()) {
                config.current_cluster = None;
            }
            config.save_to(&path)?;
            writeln!(io.out, "cluster {name} removed")?;
        }
        ClusterCommand::Use { name } => {
            config.get(&name)?;
            config.current_cluster = Some(name.clone());
            config.save_to(&path)?;
            writeln!(io.out, "current cluster: {name}")?;
        }
    }
    Ok(())
}
