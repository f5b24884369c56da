//! `berth get manifest|values|notes|hooks|all NAME [--revision N]`.

use std::io::Write;

use berth::proto;
use clap::{Args, Subcommand};
use serde_json::Value;

use crate::connect::{self, status_error};
use crate::output::{self, Format};
use crate::{CliError, Global, Io};

#[derive(Args, Debug)]
pub struct Which {
    /// Release name.
    pub name: String,
    /// The revision (default: the newest).
    #[arg(long, default_value = "0")]
    pub revision: u64,
}

#[derive(Subcommand, Debug)]
pub enum GetCommand {
    /// The rendered manifest of a revision.
    #[command(
        after_help = "Examples:\n  berth get manifest web\n  berth get manifest web --revision 2"
    )]
    Manifest(Which),
    /// The values of a revision.
    #[command(after_help = "Examples:\n  berth get values web\n  berth get values web -a -o json")]
    Values {
        #[command(flatten)]
        which: Which,
        /// All computed values, not only the user-supplied ones.
        #[arg(short = 'a', long)]
        all: bool,
        #[arg(short = 'o', long, value_enum, default_value_t)]
        output: Format,
    },
    /// The notes of a revision.
    #[command(after_help = "Example:\n  berth get notes web")]
    Notes(Which),
    /// The hooks of a revision.
    #[command(after_help = "Example:\n  berth get hooks web --revision 3")]
    Hooks(Which),
    /// Everything about a revision.
    #[command(
        after_help = "Examples:\n  berth get all web\n  berth get all web --template '{{ .Release.Chart.Metadata.Version }}'"
    )]
    All {
        #[command(flatten)]
        which: Which,
        /// A Go template over Helm's release object instead, e.g.
        /// '{{ .Release.Name }} {{ .Release.Info.Status }}'.
        #[arg(long, value_name = "TEMPLATE")]
        template: Option<String>,
    },
    /// The release's metadata at a revision: chart, versions, the chart's
    /// annotations and dependencies, the release's labels, status.
    #[command(
        after_help = "Examples:\n  berth get metadata web\n  berth get metadata web --revision 2 -o json"
    )]
    Metadata {
        #[command(flatten)]
        which: Which,
        #[arg(short = 'o', long, value_enum, default_value_t)]
        output: Format,
    },
}

async fn fetch(g: &Global, w: &Which) -> Result<proto::Revision, CliError> {
    fetch_with(g, w, false).await
}

async fn fetch_with(
    g: &Global,
    w: &Which,
    chart_metadata: bool,
) -> Result<proto::Revision, CliError> {
    super::check_release_name(&w.name, super::RELEASE_CONTENT_NAME)?;
    let mut client = connect::connect(&g.target()).await?;
    Ok(client
        .get_revision(proto::GetRevisionRequest {
            release: w.name.clone(),
            namespace: g.namespace.clone(),
            revision: w.revision,
            chart_metadata,
        })
        .await
        .map_err(status_error)?
        .into_inner())
}

fn parse(json: &str) -> Value {
    berth::values::from_json(json).unwrap_or(Value::Null)
}

fn yaml(v: &Value) -> String {
    match v {
        Value::Object(m) if m.is_empty() => "null\n".into(),
        _ => berth_template::yaml::marshal(v),
    }
}

pub async fn run(g: &Global, c: GetCommand, io: &mut Io) -> Result<(), CliError> {
    match c {
        GetCommand::Manifest(w) => {
            let r = fetch(g, &w).await?;
            write!(io.out, "{}", r.manifest)?;
        }
        GetCommand::Values {
            which,
            all,
            output: f,
        } => {
            let r = fetch(g, &which).await?;
            let v = parse(if all {
                &r.computed_values_json
            } else {
                &r.values_json
            });
            match f {
                Format::Table => {
                    writeln!(
                        io.out,
                        "{}",
                        if all {
                            "COMPUTED VALUES:"
                        } else {
                            "USER-SUPPLIED VALUES:"
                        }
                    )?;
                    write!(io.out, "{}", yaml(&v))?;
                }
                f => output::structured(&mut *io.out, f, &v)?,
            }
        }
        GetCommand::Notes(w) => {
            let r = fetch(g, &w).await?;
            writeln!(io.out, "NOTES:\n{}", r.notes.trim_end())?;
        }
        GetCommand::Hooks(w) => {
            let r = fetch(g, &w).await?;
            write!(io.out, "{}", r.hooks_manifest)?;
        }
        GetCommand::All {
            which,
            template: Some(text),
        } => {
            let r = fetch_with(g, &which, true).await?;
            let data = serde_json::json!({ "Release": release_object(&r) });
            let out = berth_template::helm::execute_text(&text, &data).map_err(CliError::Other)?;
            write!(io.out, "{out}")?;
        }
        GetCommand::All {
            which: w,
            template: None,
        } => {
            let r = fetch(g, &w).await?;
            let info = r.info.clone().unwrap_or_default();
            super::status::write_head(&mut *io.out, &r.release, &r.namespace, &info)?;
            // Helm's status printer with its metadata and debug parts;
            // BY is berth's (who made the revision).
            writeln!(io.out, "CHART: {}", info.chart_name)?;
            writeln!(io.out, "VERSION: {}", info.chart_version)?;
            writeln!(io.out, "APP_VERSION: {}", info.app_version)?;
            writeln!(io.out, "BY: {}", info.by)?;
            writeln!(io.out, "DESCRIPTION: {}", info.description)?;
            super::status::write_test_suite(&mut *io.out, &info)?;
            writeln!(
                io.out,
                "USER-SUPPLIED VALUES:\n{}",
                yaml(&parse(&r.values_json))
            )?;
            writeln!(
                io.out,
                "COMPUTED VALUES:\n{}",
                yaml(&parse(&r.computed_values_json))
            )?;
            write!(io.out, "HOOKS:\n{}", r.hooks_manifest)?;
            writeln!(io.out, "MANIFEST:\n{}", r.manifest)?;
            if !r.notes.trim().is_empty() {
                writeln!(io.out, "NOTES:\n{}", r.notes.trim_end())?;
            }
        }
        GetCommand::Metadata { which, output: f } => {
            let r = fetch_with(g, &which, true).await?;
            let m = metadata(&r);
            match f {
                Format::Table => write_metadata(&m, io)?,
                f => output::structured(&mut *io.out, f, &m)?,
            }
        }
    }
    Ok(())
}

/// Helm's release as `get all --template` sees it: the Go struct's field
/// names (`.Release.Info.Status`, `.Release.Chart.Metadata.AppVersion`),
/// times as Go prints a time.Time.
fn release_object(r: &proto::Revision) -> Value {
    let info = r.info.clone().unwrap_or_default();
    // time.Time's String.
    let go_time = |ms: i64| output::go_layout(ms, "2006-01-02 15:04:05.999999999 -0700 MST");
    let mut release_info = serde_json::json!({
        "LastDeployed": go_time(info.updated_unix_ms),
        "Deleted": "",
        "Description": info.description,
        "Status": super::history::status_name(info.status),
        "Notes": r.notes,
    });
    // The revision's start is the release's first deployment only for
    // revision 1; later revisions do not carry it.
    if info.revision == 1 {
        release_info["FirstDeployed"] = go_time(info.created_unix_ms).into();
    }
    let labels: std::collections::BTreeMap<_, _> = info.labels.clone().into_iter().collect();
    serde_json::json!({
        "Name": r.release,
        "Namespace": r.namespace,
        "Version": info.revision,
        "Info": release_info,
        "Chart": { "Metadata": go_metadata(&parse(&r.chart_metadata_json)) },
        "Config": parse(&r.values_json),
        "Manifest": r.manifest,
        "Labels": labels,
        "ApplyMethod": "ssa",
    })
}

/// `chart.Metadata` under its Go field names, every field present as the
/// struct has it (zero values for what Chart.yaml leaves out).
fn go_metadata(md: &Value) -> Value {
    let s = |k: &str| md.get(k).cloned().unwrap_or(Value::String(String::new()));
    let list = |k: &str| md.get(k).cloned().unwrap_or(Value::Array(Vec::new()));
    let renamed = |v: Option<&Value>, fields: &[(&str, &str)]| -> Value {
        let items = v.and_then(Value::as_array).cloned().unwrap_or_default();
        Value::Array(
            items
                .iter()
                .map(|item| {
                    let mut out = serde_json::Map::new();
                    for (json, go) in fields {
                        let v = item.get(*json).cloned().unwrap_or(match *json {
                            "tags" | "import-values" => Value::Array(Vec::new()),
                            "enabled" => Value::Bool(false),
                            _ => Value::String(String::new()),
                        });
                        out.insert(go.to_string(), v);
                    }
                    Value::Object(out)
                })
                .collect(),
        )
    };
    serde_json::json!({
        "Name": s("name"),
        "Home": s("home"),
        "Sources": list("sources"),
        "Version": s("version"),
        "Description": s("description"),
        "Keywords": list("keywords"),
        "Maintainers": renamed(md.get("maintainers"), &[("name", "Name"), ("email", "Email"), ("url", "URL")]),
        "Icon": s("icon"),
        "APIVersion": s("apiVersion"),
        "Condition": s("condition"),
        "Tags": s("tags"),
        "AppVersion": s("appVersion"),
        "Deprecated": md.get("deprecated").cloned().unwrap_or(Value::Bool(false)),
        "Annotations": md.get("annotations").cloned().unwrap_or(serde_json::json!({})),
        "KubeVersion": s("kubeVersion"),
        "Dependencies": renamed(
            md.get("dependencies"),
            &[
                ("name", "Name"),
                ("version", "Version"),
                ("repository", "Repository"),
                ("condition", "Condition"),
                ("tags", "Tags"),
                ("enabled", "Enabled"),
                ("import-values", "ImportValues"),
                ("alias", "Alias"),
            ],
        ),
        "Type": s("type"),
    })
}

/// Helm's `helm get metadata` document (action/get_metadata.go Metadata),
/// with its JSON keys. berth always applies server-side.
fn metadata(r: &proto::Revision) -> Value {
    let info = r.info.clone().unwrap_or_default();
    let chart = parse(&r.chart_metadata_json);
    let mut m = serde_json::Map::new();
    m.insert("name".into(), r.release.clone().into());
    m.insert("chart".into(), info.chart_name.into());
    m.insert("version".into(), info.chart_version.into());
    m.insert("appVersion".into(), info.app_version.into());
    if let Some(a) = chart
        .get("annotations")
        .filter(|a| a.as_object().is_some_and(|a| !a.is_empty()))
    {
        m.insert("annotations".into(), a.clone());
    }
    if !info.labels.is_empty() {
        let labels: std::collections::BTreeMap<_, _> = info.labels.into_iter().collect();
        m.insert("labels".into(), serde_json::json!(labels));
    }
    if let Some(d) = chart
        .get("dependencies")
        .filter(|d| d.as_array().is_some_and(|d| !d.is_empty()))
    {
        m.insert("dependencies".into(), d.clone());
    }
    m.insert("namespace".into(), r.namespace.clone().into());
    m.insert("revision".into(), info.revision.into());
    m.insert(
        "status".into(),
        super::history::status_name(info.status).into(),
    );
    m.insert(
        "deployedAt".into(),
        output::rfc3339_seconds(info.updated_unix_ms).into(),
    );
    m.insert("applyMethod".into(), "ssa".into());
    Value::Object(m)
}

/// Helm's table: maps as k8s label sets (`k=v,k2=v2`, sorted), the
/// dependencies' names sorted.
fn write_metadata(m: &Value, io: &mut Io) -> Result<(), CliError> {
    let set = |v: &Value| {
        let mut pairs: Vec<String> = v
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| {
                        format!(
                            "{k}={}",
                            v.as_str().map_or_else(|| v.to_string(), str::to_string)
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        pairs.sort();
        pairs.join(",")
    };
    let mut deps: Vec<&str> = m["dependencies"]
        .as_array()
        .map(|d| d.iter().filter_map(|d| d["name"].as_str()).collect())
        .unwrap_or_default();
    deps.sort_unstable();
    let text = |k: &str| m[k].as_str().unwrap_or_default().to_string();
    writeln!(io.out, "NAME: {}", text("name"))?;
    writeln!(io.out, "CHART: {}", text("chart"))?;
    writeln!(io.out, "VERSION: {}", text("version"))?;
    writeln!(io.out, "APP_VERSION: {}", text("appVersion"))?;
    writeln!(io.out, "ANNOTATIONS: {}", set(&m["annotations"]))?;
    writeln!(io.out, "LABELS: {}", set(&m["labels"]))?;
    writeln!(io.out, "DEPENDENCIES: {}", deps.join(","))?;
    writeln!(io.out, "NAMESPACE: {}", text("namespace"))?;
    writeln!(io.out, "REVISION: {}", m["revision"])?;
    writeln!(io.out, "STATUS: {}", text("status"))?;
    writeln!(io.out, "DEPLOYED_AT: {}", text("deployedAt"))?;
    writeln!(io.out, "APPLY_METHOD: server-side apply")?;
    Ok(())
}
