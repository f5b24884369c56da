//! `berth env [NAME]`: the settings berth runs with, as `helm env` shows
//! Helm's: where it keeps and finds things (its config file, and Helm's
//! repository and registry files, which it shares with Helm) and the
//! agent it talks to. `NAME="value"` lines, sorted; with NAME, the value.

use std::io::Write;

use clap::Args;

use crate::charts::{self, oci};
use crate::{CliError, Global, Io};

#[derive(Args, Debug)]
pub struct EnvArgs {
    /// Print only this variable's value.
    pub name: Option<String>,
}

pub fn run(g: &Global, a: EnvArgs, io: &mut Io) -> Result<(), CliError> {
    let mut vars = vars(g);
    vars.sort();
    match a.name {
        // Helm prints an empty line for a name it does not know.
        Some(name) => {
            let value = vars
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.as_str());
            writeln!(io.out, "{}", value.unwrap_or(""))?;
        }
        None => {
            for (k, v) in vars {
                writeln!(io.out, "{k}=\"{v}\"")?;
            }
        }
    }
    Ok(())
}

/// What a plugin's command runs with, beside the environment it inherits:
/// Helm's variables (`settings.EnvVars()`), and berth's, so that a plugin
/// calling `$HELM_BIN` reaches the same agent (those left empty are left
/// out, not set empty).
pub fn plugin_vars(g: &Global) -> Vec<(String, String)> {
    vars(g)
        .into_iter()
        .filter(|(k, v)| !(k.starts_with("BERTH_") && v.is_empty()))
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

/// The settings `berth env` shows.
fn vars(g: &Global) -> Vec<(&'static str, String)> {
    let text = |p: Option<&std::path::Path>| p.map(|p| p.display().to_string()).unwrap_or_default();
    let mut vars = helm_paths();
    vars.extend([
        ("HELM_DEBUG", g.debug.to_string()),
        ("HELM_NAMESPACE", g.namespace.clone()),
        ("BERTH_AGENT", g.agent.clone().unwrap_or_default()),
        ("BERTH_CA", text(g.ca.as_deref())),
        ("BERTH_CERT", text(g.cert.as_deref())),
        ("BERTH_CLUSTER", g.cluster.clone().unwrap_or_default()),
        (
            "BERTH_CONFIG",
            crate::config::path(g.config.as_deref())
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        ),
        ("BERTH_KEY", text(g.key.as_deref())),
        ("BERTH_NAMESPACE", g.namespace.clone()),
    ]);
    vars
}

/// Helm's variables that need no flag: where Helm keeps and finds things,
/// and the binary (what a getter plugin runs with, beside its environment).
pub fn helm_paths() -> Vec<(&'static str, String)> {
    let home = |own, xdg, fallback| charts::helm_home(own, xdg, fallback).display().to_string();
    let bin = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "berth".into());
    vec![
        ("HELM_BIN", bin),
        (
            "HELM_PLUGINS",
            crate::plugins::directory().display().to_string(),
        ),
        (
            "HELM_CACHE_HOME",
            home("HELM_CACHE_HOME", "XDG_CACHE_HOME", ".cache"),
        ),
        (
            "HELM_CONFIG_HOME",
            home("HELM_CONFIG_HOME", "XDG_CONFIG_HOME", ".config"),
        ),
        (
            "HELM_CONTENT_CACHE",
            charts::content_cache_dir().display().to_string(),
        ),
        (
            "HELM_DATA_HOME",
            home("HELM_DATA_HOME", "XDG_DATA_HOME", ".local/share"),
        ),
        (
            "HELM_REGISTRY_CONFIG",
            oci::registry_config().display().to_string(),
        ),
        (
            "HELM_REPOSITORY_CACHE",
            charts::helm_cache_dir().display().to_string(),
        ),
        (
            "HELM_REPOSITORY_CONFIG",
            charts::helm_repository_config().display().to_string(),
        ),
    ]
}
