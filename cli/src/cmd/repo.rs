//! `berth repo add|list|update|remove`: Helm's chart repositories, in Helm's
//! own files (repositories.yaml and the cached indexes, where `helm repo`
//! keeps them), so `repo/chart` works the same in berth and in helm.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use clap::{Args, Subcommand};

use serde_json::{Map, Value, json};

use crate::charts::{self, RepoEntry, RepoFile};
use crate::output::{self, Format};
use crate::{CliError, Io};

#[derive(Subcommand, Debug)]
pub enum RepoCommand {
    /// Add a chart repository (and cache its index).
    #[command(
        after_help = "Examples:\n  berth repo add bitnami https://charts.bitnami.com/bitnami\n  berth repo add internal https://charts.corp/stable --username ci --password \"$TOKEN\" --ca-file corp-ca.crt"
    )]
    Add(AddArgs),
    /// List the chart repositories.
    #[command(
        alias = "ls",
        after_help = "Examples:\n  berth repo list\n  berth repo list -o json"
    )]
    List {
        #[arg(short = 'o', long, value_enum, default_value_t)]
        output: Format,
        /// Leave out the header line of the table.
        #[arg(long)]
        no_headers: bool,
    },
    /// Download the repositories' latest indexes.
    #[command(
        alias = "up",
        after_help = "Examples:\n  berth repo update\n  berth repo update bitnami"
    )]
    Update {
        /// Only these repositories.
        names: Vec<String>,
        /// How long each index download may take.
        #[arg(long, value_parser = super::parse_duration, default_value = "2m0s")]
        timeout: std::time::Duration,
    },
    /// Remove chart repositories.
    #[command(
        visible_alias = "rm",
        after_help = "Example:\n  berth repo remove bitnami"
    )]
    Remove {
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Write DIR/index.yaml for the chart archives in DIR (and one level of
    /// directories below it), as a chart repository serves it.
    #[command(
        after_help = "Examples:\n  berth repo index ./dist --url https://acme.github.io/charts\n  berth repo index ./dist --merge ./old-index.yaml"
    )]
    Index {
        dir: std::path::PathBuf,
        /// The repository's URL, before each archive's path.
        #[arg(long, default_value = "")]
        url: String,
        /// Keep the entries of this index that DIR does not have.
        #[arg(long, value_name = "FILE")]
        merge: Option<std::path::PathBuf>,
        /// Write the index as JSON (which is YAML too).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Debug)]
pub struct AddArgs {
    pub name: String,
    pub url: String,
    #[arg(long, default_value = "")]
    pub username: String,
    #[arg(long, default_value = "")]
    pub password: String,
    /// Read the password from stdin (berth never prompts for it).
    #[arg(long)]
    pub password_stdin: bool,
    /// How long the index download may take.
    #[arg(long, value_parser = super::parse_duration, default_value = "2m0s")]
    pub timeout: std::time::Duration,
    /// Add the repositories Helm's project deleted for good (the old
    /// stable and incubator URLs), which are otherwise refused.
    #[arg(long)]
    pub allow_deprecated_repos: bool,
    /// CA bundle for the repository's HTTPS certificate.
    #[arg(long, default_value = "")]
    pub ca_file: String,
    /// Client certificate for the repository.
    #[arg(long, default_value = "")]
    pub cert_file: String,
    /// The client certificate's key.
    #[arg(long, default_value = "")]
    pub key_file: String,
    /// Send the credentials to every host, not only the repository's.
    #[arg(long)]
    pub pass_credentials: bool,
    /// Do not verify the repository's certificate.
    #[arg(long)]
    pub insecure_skip_tls_verify: bool,
    /// Replace a repository of that name with other settings.
    #[arg(long)]
    pub force_update: bool,
}

pub async fn run(c: RepoCommand, io: &mut Io) -> Result<(), CliError> {
    let config = charts::helm_repository_config();
    match c {
        RepoCommand::Add(a) => add(&config, a, io).await,
        RepoCommand::List {
            output: f,
            no_headers,
        } => {
            let file = charts::read_repo_file(&config)?;
            // Helm v4's repo list says so on stderr and succeeds (v3 failed
            // with it); -o json/yaml write an empty list (pkg/cmd/repo_list.go).
            if file.repositories.is_empty() && f == Format::Table {
                writeln!(io.err, "no repositories to show")?;
                return Ok(());
            }
            match f {
                Format::Table => {
                    let rows: Vec<Vec<String>> = file
                        .repositories
                        .iter()
                        .map(|r| vec![r.name.clone(), r.url.clone()])
                        .collect();
                    if no_headers {
                        output::table_rows(&mut *io.out, &["NAME", "URL"], &rows)
                    } else {
                        output::table(&mut *io.out, &["NAME", "URL"], &rows)
                    }
                }
                f => {
                    let v: Vec<_> = file
                        .repositories
                        .iter()
                        .map(|r| serde_json::json!({"name": r.name, "url": r.url}))
                        .collect();
                    output::structured(&mut *io.out, f, &serde_json::Value::Array(v))
                }
            }
        }
        RepoCommand::Update { names, timeout } => update(&config, &names, timeout, io).await,
        RepoCommand::Index {
            dir,
            url,
            merge,
            json,
        } => index(&dir, &url, merge.as_deref(), json),
        RepoCommand::Remove { names } => {
            let mut file = charts::read_repo_file(&config)?;
            for name in &names {
                let before = file.repositories.len();
                file.repositories.retain(|r| &r.name != name);
                if file.repositories.len() == before {
                    return Err(CliError::Other(format!("no repo named {name:?} found")));
                }
                write_file(&config, &file)?;
                let _ = std::fs::remove_file(charts::index_path(name));
                writeln!(io.out, "{name:?} has been removed from your repositories")?;
            }
            Ok(())
        }
    }
}

/// The repositories Helm's project deleted for good, and their successors.
const DEPRECATED_REPOS: [(&str, &str); 2] = [
    (
        "//kubernetes-charts.storage.googleapis.com",
        "https://charts.helm.sh/stable",
    ),
    (
        "//kubernetes-charts-incubator.storage.googleapis.com",
        "https://charts.helm.sh/incubator",
    ),
];

async fn add(config: &Path, mut a: AddArgs, io: &mut Io) -> Result<(), CliError> {
    if !a.allow_deprecated_repos
        && let Some((_, new)) = DEPRECATED_REPOS.iter().find(|(old, _)| a.url.contains(old))
    {
        return Err(CliError::Other(format!(
            "repo {:?} is no longer available; try {new:?} instead",
            a.url
        )));
    }
    if !a.username.is_empty() && a.password.is_empty() {
        // Helm prompts here; berth never does, so a CI job cannot hang.
        if !a.password_stdin {
            return Err(CliError::Usage(
                "a password is needed with --username: give --password or --password-stdin (berth does not prompt)".into(),
            ));
        }
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)?;
        let text = text.strip_suffix('\n').unwrap_or(&text);
        a.password = text.strip_suffix('\r').unwrap_or(text).to_string();
    }
    if a.name.contains('/') {
        return Err(CliError::Usage(format!(
            "repository name ({}) contains '/', please specify a different name without '/'",
            a.name
        )));
    }
    let entry = RepoEntry {
        name: a.name.clone(),
        url: a.url.clone(),
        username: a.username,
        password: a.password,
        cert_file: a.cert_file,
        key_file: a.key_file,
        ca_file: a.ca_file,
        insecure_skip_tls_verify: a.insecure_skip_tls_verify,
        pass_credentials_all: a.pass_credentials,
    };
    let mut file = charts::read_repo_file(config)?;
    if let Some(existing) = file.repositories.iter().find(|r| r.name == a.name) {
        if *existing == entry {
            writeln!(
                io.out,
                "{:?} already exists with the same configuration, skipping",
                a.name
            )?;
            return Ok(());
        }
        if !a.force_update {
            return Err(CliError::Other(format!(
                "repository name ({}) already exists, please specify a different name",
                a.name
            )));
        }
    }
    let index = entry.download_index_within(a.timeout).await.map_err(|e| {
        CliError::Other(format!(
            "looks like {:?} is not a valid chart repository or cannot be reached: {e}",
            a.url
        ))
    })?;
    charts::write_index(&a.name, &index)?;
    file.repositories.retain(|r| r.name != a.name);
    file.repositories.push(entry);
    write_file(config, &file)?;
    writeln!(io.out, "{:?} has been added to your repositories", a.name)?;
    Ok(())
}

async fn update(
    config: &Path,
    names: &[String],
    timeout: std::time::Duration,
    io: &mut Io,
) -> Result<(), CliError> {
    let file = charts::read_repo_file(config)?;
    if file.repositories.is_empty() {
        return Err(CliError::Other(
            "no repositories found. You must add one before updating".into(),
        ));
    }
    for name in names {
        if !file.repositories.iter().any(|r| &r.name == name) {
            return Err(CliError::Other(format!(
                "no repositories found matching '{name}'.  Nothing will be updated"
            )));
        }
    }
    writeln!(
        io.out,
        "Hang tight while we grab the latest from your chart repositories..."
    )?;
    // All at once, as Helm's repo update does; reported in the file's order.
    let chosen: Vec<RepoEntry> = file
        .repositories
        .iter()
        .filter(|r| names.is_empty() || names.contains(&r.name))
        .cloned()
        .collect();
    let failed = charts::refresh(&chosen, timeout, &mut *io.out).await?;
    if !failed.is_empty() {
        return Err(CliError::Other(format!(
            "failed to update the following repositories: {failed:?}"
        )));
    }
    writeln!(io.out, "Update Complete. ⎈Happy Helming!⎈")?;
    Ok(())
}

/// repositories.yaml as Helm writes it, private to its owner as Helm's is
/// (it may hold passwords).
fn write_file(config: &Path, file: &RepoFile) -> Result<(), CliError> {
    let file = RepoFile {
        api_version: String::new(),
        generated: crate::output::go_now(),
        repositories: file.repositories.clone(),
    };
    let text = serde_saphyr::to_string(&file).map_err(|e| CliError::Other(e.to_string()))?;
    charts::write_replacing(config, &text, true)
}

/// Helm's `repo index` (pkg/repo/v1 IndexDirectory, Merge, SortEntries):
/// an entry per chart archive (its Chart.yaml's fields, its URL, its
/// sha256, when it was indexed), archives that do not load skipped.
fn index(dir: &Path, url: &str, merge: Option<&Path>, json: bool) -> Result<(), CliError> {
    // Helm's globs: DIR/*.tgz, then DIR/*/*.tgz.
    let entries = charts::deps::sorted_entries(dir)
        .map_err(|e| CliError::Other(format!("{}: {e}", dir.display())))?;
    let mut archives = Vec::new();
    for (name, path, is_dir) in &entries {
        if !is_dir && name.ends_with(".tgz") {
            archives.push((String::new(), name.clone(), path.clone()));
        }
    }
    for (sub, path, _) in entries.iter().filter(|(_, _, is_dir)| *is_dir) {
        for (name, path, is_dir) in charts::deps::sorted_entries(path)? {
            if !is_dir && name.ends_with(".tgz") {
                archives.push((sub.clone(), name, path));
            }
        }
    }
    let now = crate::output::go_now();
    let mut entries: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let limits = berth::chart::Limits::default();
    for (sub, file, path) in archives {
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let Ok(loaded) = berth::chart::unpack(&bytes, &limits)
            .and_then(|files| berth::chart::build(&files, &limits))
        else {
            // Helm assumes such an archive is not a chart.
            continue;
        };
        let parent = url_join(url, &sub);
        let u = if parent.is_empty() {
            file.clone()
        } else {
            url_join(&parent, &file)
        };
        let mut entry = match charts::save::go_metadata(&loaded.chart.metadata) {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        entry.insert("urls".into(), json!([u]));
        entry.insert("created".into(), now.clone().into());
        entry.insert("digest".into(), berth::chart::sha256_hex(&bytes).into());
        entries
            .entry(loaded.metadata.name.clone())
            .or_default()
            .push(Value::Object(entry));
    }
    if let Some(merge) = merge {
        if merge.exists() {
            let text = std::fs::read_to_string(merge)
                .map_err(|e| CliError::Other(format!("merge failed: {}: {e}", merge.display())))?;
            let old = berth_template::yaml::parse_document_ints(&text)
                .map_err(|e| CliError::Other(format!("merge failed: {}: {e}", merge.display())))?;
            let old_entries = old.get("entries").and_then(Value::as_object);
            for (name, versions) in old_entries.into_iter().flatten() {
                for v in versions.as_array().into_iter().flatten() {
                    let version = v.get("version").and_then(Value::as_str).unwrap_or("");
                    let list = entries.entry(name.clone()).or_default();
                    let has = list
                        .iter()
                        .any(|e| e.get("version").and_then(Value::as_str) == Some(version));
                    if !has {
                        list.push(index_entry(v));
                    }
                }
            }
        } else {
            // Helm writes an empty index there first.
            let empty = json!({"apiVersion": "v1", "entries": {}, "generated": now});
            write_index_file(merge, &empty, json)?;
        }
    }
    for versions in entries.values_mut() {
        // Newest first; what is not semver last.
        versions.sort_by(|a, b| {
            let v = |x: &Value| {
                x.get("version")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            charts::newest_first(&v(a), &v(b))
        });
    }
    let index = json!({
        "apiVersion": "v1",
        "entries": entries,
        "generated": now,
    });
    write_index_file(&dir.join("index.yaml"), &index, json)
}

/// An entry of a loaded index as Helm's `ChartVersion` holds it: the
/// chart's metadata fields (apiVersion v1 when it has none), its URLs,
/// when it was indexed, and the fields that are only kept when set.
fn index_entry(v: &Value) -> Value {
    let mut md = v.clone();
    if md
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
        .is_empty()
    {
        md["apiVersion"] = "v1".into();
    }
    let mut entry = match charts::save::go_metadata(&md) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    entry.insert("urls".into(), v.get("urls").cloned().unwrap_or(Value::Null));
    entry.insert(
        "created".into(),
        v.get("created")
            .cloned()
            .unwrap_or_else(|| "0001-01-01T00:00:00Z".into()),
    );
    if v.get("removed").and_then(Value::as_bool) == Some(true) {
        entry.insert("removed".into(), true.into());
    }
    for k in ["digest", "checksum", "engine", "tillerVersion", "url"] {
        if let Some(s) = v.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()) {
            entry.insert(k.into(), s.into());
        }
    }
    Value::Object(entry)
}

fn write_index_file(path: &Path, index: &Value, json: bool) -> Result<(), CliError> {
    let text = if json {
        serde_json::to_string_pretty(index).map_err(|e| CliError::Other(e.to_string()))?
    } else {
        berth_template::yaml::marshal(index)
    };
    charts::write_replacing(path, &text, false)
}

/// Helm's urlutil.URLJoin: the paths joined onto the URL's path.
fn url_join(base: &str, path: &str) -> String {
    if path.is_empty() {
        return base.to_string();
    }
    let (prefix, rest) = match base.split_once("://") {
        Some((scheme, rest)) => {
            let (host, p) = rest.split_once('/').unwrap_or((rest, ""));
            (format!("{scheme}://{host}"), p.to_string())
        }
        None => (String::new(), base.to_string()),
    };
    let joined: Vec<&str> = rest
        .split('/')
        .chain(path.split('/'))
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    let p = joined.join("/");
    if prefix.is_empty() {
        if base.starts_with('/') {
            format!("/{p}")
        } else {
            p
        }
    } else {
        format!("{prefix}/{p}")
    }
}
