//! `berth template [NAME] CHART`: render locally and print exactly what
//! `helm template` prints (Helm's pkg/cmd/template.go and the output half of
//! action.renderResources): CRDs when asked, the manifest in install order,
//! then hooks; or only the templates named by `--show-only`; or files under
//! `--output-dir`. No agent involved; `lookup` returns empty results. What
//! Helm logs on stderr while it merges values (`level=INFO msg="warning:
//! skipped value for …"`) berth prints there too, in the same format.
//!
//! With `--dry-run=server` (or Helm's deprecated `--validate`) the agent
//! renders instead, as an install's dry run against its cluster: the
//! cluster's capabilities, `lookup` answered, every object checked by the
//! API server, nothing recorded; the release it sends back is printed the
//! same way.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use berth::chart::{self, Limits};
use berth::render::Rendered;
use berth_template::helm;
use clap::Args;

use super::install::ValuesFlags;
use crate::{CliError, Global, Io};

#[derive(Args, Debug)]
pub struct TemplateArgs {
    /// Release name (default "release-name"), then the chart; or only the chart.
    #[arg(num_args = 1.., value_names = ["NAME", "CHART"], required = true)]
    pub args: Vec<String>,
    #[command(flatten)]
    pub values: ValuesFlags,
    /// Kubernetes version for .Capabilities.KubeVersion (e.g. v1.33.0).
    #[arg(long)]
    pub kube_version: Option<String>,
    /// Extra API versions for .Capabilities.APIVersions (repeatable).
    #[arg(short = 'a', long = "api-versions", value_delimiter = ',')]
    pub api_versions: Vec<String>,
    /// Render as an upgrade rather than an install.
    #[arg(long)]
    pub is_upgrade: bool,
    /// Leave hooks out of the output.
    #[arg(long)]
    pub no_hooks: bool,
    /// Include the chart's crds/ files in the output.
    #[arg(long)]
    pub include_crds: bool,
    /// Leave test hooks out of the output.
    #[arg(long)]
    pub skip_tests: bool,
    /// Only show manifests rendered from these templates (glob, repeatable),
    /// e.g. templates/deployment.yaml.
    #[arg(short = 's', long = "show-only", value_name = "TEMPLATE")]
    pub show_only: Vec<String>,
    /// Write each template's output to a file under this directory instead of stdout.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// With --output-dir: put the files under DIR/NAME.
    #[arg(long)]
    pub release_name: bool,
    /// Name the release by rendering this Go template (Sprig functions, no
    /// data), e.g. '{{ randAlpha 5 | lower }}'.
    #[arg(long, value_name = "TEMPLATE")]
    pub name_template: Option<String>,
    /// Accepted as Helm accepts it: `helm template` still names the release
    /// "release-name" (only a NAME argument conflicts with it).
    #[arg(short = 'g', long)]
    pub generate_name: bool,
    /// Do not check the values against the charts' values.schema.json.
    #[arg(long)]
    pub skip_schema_validation: bool,
    #[command(flatten)]
    pub chart_path: crate::charts::ChartPathFlags,
    /// Print each Secret (v1) as Helm does with --hide-secret: its source
    /// and "# HIDDEN: The Secret output has been suppressed" (not with
    /// --output-dir, whose files keep them, nor hooks).
    #[arg(long)]
    pub hide_secret: bool,
    /// Let the templates' getHostByName look names up (here, on this
    /// machine); without it the function returns "", as Helm's stub.
    #[arg(long)]
    pub enable_dns: bool,
    #[command(flatten)]
    pub post_render: super::install::PostRenderFlags,
    #[command(flatten)]
    pub install_only: InstallOnlyFlags,
    /// Helm's deprecated `--dry-run=server`.
    #[arg(long, hide = true)]
    pub validate: bool,
}

/// Install's flags, which `helm template` takes too (it runs an install as
/// a client-side dry run) and which change nothing it prints: a script
/// may hand both commands the same flags.
#[derive(Args, Debug, Default)]
pub struct InstallOnlyFlags {
    #[arg(long, hide = true)]
    create_namespace: bool,
    #[arg(long, hide = true, value_parser = super::parse_duration)]
    timeout: Option<std::time::Duration>,
    #[arg(long, hide = true, num_args = 0..=1, require_equals = true, default_missing_value = "watcher", value_parser = super::parse_wait)]
    wait: Option<bool>,
    #[arg(long, hide = true)]
    wait_for_jobs: bool,
    #[arg(long, hide = true)]
    atomic: bool,
    #[arg(long, hide = true)]
    rollback_on_failure: bool,
    #[arg(long, hide = true)]
    description: Option<String>,
    #[arg(long, hide = true)]
    take_ownership: bool,
    #[arg(long, hide = true)]
    force_conflicts: bool,
    #[arg(long, alias = "force", hide = true)]
    force_replace: bool,
    /// install's (a boolean there, as in Helm's install).
    #[arg(long, hide = true)]
    server_side: bool,
    #[arg(long, hide = true)]
    replace: bool,
    #[arg(long, hide = true)]
    skip_crds: bool,
    #[arg(long, hide = true)]
    hide_notes: bool,
    #[arg(long, hide = true)]
    render_subchart_notes: bool,
    #[arg(long, hide = true)]
    disable_openapi_validation: bool,
    /// Checked as Helm's install checks them: Helm's own labels are refused.
    #[arg(
        short = 'l',
        long,
        hide = true,
        value_delimiter = ',',
        value_name = "KEY=VALUE"
    )]
    labels: Vec<String>,
    /// `client` (the default) renders here; `server` has the agent render
    /// against its cluster.
    #[arg(long, hide = true, num_args = 0..=1, require_equals = true, default_missing_value = "unset")]
    dry_run: Option<String>,
}

impl InstallOnlyFlags {
    /// Refuse what Helm's template refuses among them; Helm's deprecation
    /// warning for a bare `--dry-run` or a boolean one. Whether the dry run
    /// is the server's.
    fn check(&self, err: &mut dyn Write) -> Result<bool, CliError> {
        use berth_agent::helm_release::SYSTEM_LABELS;
        for l in &self.labels {
            let Some((k, _)) = l.split_once('=') else {
                return Err(CliError::Usage(format!(
                    "invalid argument \"{l}\" for \"-l, --labels\" flag: {l} must be formatted as key=value"
                )));
            };
            if SYSTEM_LABELS.contains(&k) {
                return Err(CliError::Other(format!(
                    "user supplied labels contains system reserved label name. System labels: [{}]",
                    SYSTEM_LABELS.join(" ")
                )));
            }
        }
        let warn = |text: &str| helm::Warning::slog(text, Vec::new()).to_string();
        match self.dry_run.as_deref() {
            None | Some("client") => Ok(false),
            Some("unset") => {
                writeln!(
                    err,
                    "{}",
                    warn("--dry-run is deprecated and should be replaced with '--dry-run=client'")
                )?;
                Ok(false)
            }
            Some("server") => Ok(true),
            Some(v) => match (v, super::go_parse_bool(v)) {
                (_, Some(true)) => {
                    writeln!(
                        err,
                        "{}",
                        warn(&format!(
                            "boolean '--dry-run={v}' flag is deprecated and must be replaced with '--dry-run=client'"
                        ))
                    )?;
                    Ok(false)
                }
                ("none", _) | (_, Some(false)) => Err(CliError::Other(format!(
                    "invalid dry-run value ({}). Must be \"server\" or \"client\"",
                    berth_template::gofmt::quote(v)
                ))),
                (_, None) => Err(CliError::Other(format!(
                    "invalid dry-run value ({}). Must be \"none\", \"server\", or \"client\"",
                    berth_template::gofmt::quote(v)
                ))),
            },
        }
    }
}

pub async fn run(g: &Global, a: TemplateArgs, io: &mut Io) -> Result<(), CliError> {
    // cobra's MarkFlagsMutuallyExclusive("validate", "dry-run").
    if a.validate && a.install_only.dry_run.is_some() {
        return Err(CliError::Other(
            "if any flags in the group [validate dry-run] are set none of the others can be; [dry-run validate] were all set".into(),
        ));
    }
    let server = a.install_only.check(&mut *io.err)? || a.validate;
    let (name, chart_path) = release_and_chart(&a)?;
    let post_render = a.post_render.resolve()?;
    let located = crate::charts::locate(&chart_path, &a.chart_path, &mut *io.err).await?;
    let chart_path = located.path.clone();
    let values = serde_json::Value::Object(a.values.merge()?);
    let files = chart::load_path(&chart_path, &Limits::default())?;
    let loaded = chart::build(&files, &Limits::default())?;
    // What Helm logs goes to stderr in its CLI's format as it happens: the
    // loader's, a deprecated chart (pkg/cmd/install.go), the values' below.
    for w in &loaded.warnings {
        writeln!(io.err, "{w}")?;
    }
    if loaded
        .chart
        .metadata
        .get("deprecated")
        .and_then(serde_json::Value::as_bool)
        == Some(true)
    {
        let w = helm::Warning::slog("this chart is deprecated", Vec::new());
        writeln!(io.err, "{w}")?;
    }
    // Helm's install action checks the name after loading the chart.
    berth::types::ReleaseName::parse(&name)
        .map_err(|e| CliError::Other(format!("release name check failed: {e}")))?;
    if server {
        let release =
            on_the_server(g, &a, &name, &chart_path, &loaded, &values, post_render).await?;
        let printed = Printed::of_release(&release, &a);
        return print(&printed, &a, &name, io);
    }
    let mut capabilities = helm::Capabilities::default();
    // Helm parses --kube-version only when it is not empty.
    if let Some(v) = a.kube_version.as_ref().filter(|v| !v.is_empty()) {
        helm::check_kube_version(v)
            .map_err(|e| CliError::Other(format!("invalid kube version '{v}': {e}")))?;
        capabilities.kube_version = if v.starts_with('v') {
            v.clone()
        } else {
            format!("v{v}")
        };
    }
    capabilities
        .api_versions
        .extend(a.api_versions.iter().cloned());
    // What the charts' schemas refer to by URL, read as Helm's loaders do.
    let mut loaded = loaded;
    if !a.skip_schema_validation {
        let err = &mut io.err;
        let warn = &mut |w: helm::Warning| {
            let _ = writeln!(err, "{w}");
        };
        let remote = crate::schema_refs::read(&loaded.chart, warn).await?;
        berth::schema_refs::attach(&mut loaded.chart, &std::sync::Arc::new(remote));
    }
    let mut opts = helm::RenderOptions::new(helm::ReleaseOptions {
        name: name.clone(),
        namespace: g.namespace.clone(),
        revision: 1,
        is_install: !a.is_upgrade,
        is_upgrade: a.is_upgrade,
    });
    opts.capabilities = capabilities;
    opts.skip_schema_validation = a.skip_schema_validation;
    opts.enable_dns = a.enable_dns;
    let mut log = Vec::new();
    let post = post_render
        .as_ref()
        .map(|p| move |manifests: String| p.run(manifests));
    let rendered = berth::render::render_post(
        &loaded,
        &values,
        &opts,
        &mut log,
        post.as_ref().map(|f| f as berth::render::PostRenderer<'_>),
    );
    for w in &log {
        writeln!(io.err, "{w}")?;
    }
    let rendered = match rendered {
        Ok(r) => r,
        // As Helm: with --debug what rendered is printed, then the error.
        Err(berth::render::RenderError::Unparsable { source, files }) if g.debug => {
            writeln!(io.out, "{}", files.trim())?;
            return Err(CliError::Other(source.to_string()));
        }
        Err(e) => return Err(e.into()),
    };
    print(&Printed::of(&rendered, &a), &a, &name, io)
}

/// What a server-side dry run sent back: the release as the agent rendered
/// it against its cluster, and the chart's `crds/` for `--include-crds`.
struct ServerRelease {
    manifest: String,
    hooks_manifest: String,
    crds: Vec<berth::render::Crd>,
}

/// `--dry-run=server`: the chart goes to the agent as an install's dry run
/// (Helm's template sets Replace, which a dry run's name check skips
/// anyway), rendered as an upgrade with `--is-upgrade`; the cluster's
/// capabilities replace `--kube-version` and `--api-versions`, as Helm's
/// do.
async fn on_the_server(
    g: &Global,
    a: &TemplateArgs,
    name: &str,
    chart: &Path,
    loaded: &chart::Loaded,
    values: &serde_json::Value,
    post_render: Option<crate::plugins::PostRender>,
) -> Result<ServerRelease, CliError> {
    let f = &a.install_only;
    let options = berth::proto::OperationOptions {
        dry_run: true,
        replace: true,
        render_as_upgrade: a.is_upgrade,
        timeout_seconds: f.timeout.map_or(300, |t| t.as_secs().max(1)),
        create_namespace: f.create_namespace,
        skip_crds: f.skip_crds,
        take_ownership: f.take_ownership,
        skip_schema_validation: a.skip_schema_validation,
        labels: f
            .labels
            .iter()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        render_subchart_notes: f.render_subchart_notes,
        enable_dns: a.enable_dns,
        disable_openapi_validation: f.disable_openapi_validation,
        ..Default::default()
    };
    let events = super::install::send_events(
        g,
        name,
        chart,
        &a.values,
        berth::proto::UpgradeMode::Install,
        options,
        post_render,
    )
    .await?;
    let outcome = crate::progress::follow(
        events,
        &mut std::io::sink(),
        crate::progress::Style::Quiet,
        None,
        None,
    )
    .await?;
    let (manifest, hooks_manifest) = match outcome {
        crate::progress::Outcome::Completed {
            manifest,
            hooks_manifest,
            ..
        } => (manifest, hooks_manifest),
        crate::progress::Outcome::Failed {
            revision,
            reason,
            message,
            ..
        } => return Err(super::install::failure(name, revision, &reason, &message)),
    };
    let crds = if a.include_crds {
        let mut log = Vec::new();
        let chart = berth_template::with_big_stack(|| {
            helm::process_dependencies(&loaded.chart, values, &mut log)
        })
        .map_err(CliError::Other)?
        .map_err(|e| CliError::Other(e.to_string()))?;
        berth::render::crds(&chart)
    } else {
        Vec::new()
    };
    Ok(ServerRelease {
        manifest,
        hooks_manifest,
        crds,
    })
}

/// One document `template` prints: the template it came from and its text.
struct Doc<'a> {
    source: &'a str,
    content: &'a str,
    /// A v1 Secret (what --hide-secret hides).
    secret: bool,
}

/// What `template` prints, from a local render or the agent's dry run:
/// CRDs (with --include-crds), resources in install order, then the hooks
/// that --no-hooks and --skip-tests leave.
struct Printed<'a> {
    crds: &'a [berth::render::Crd],
    resources: Vec<Doc<'a>>,
    hooks: Vec<Doc<'a>>,
}

impl<'a> Printed<'a> {
    fn of(r: &'a Rendered, a: &TemplateArgs) -> Printed<'a> {
        Printed {
            crds: &r.crds,
            resources: r
                .manifests
                .iter()
                .map(|m| Doc {
                    source: &m.source,
                    content: &m.content,
                    secret: m.head.kind == "Secret" && m.head.api_version == "v1",
                })
                .collect(),
            hooks: r
                .hooks
                .iter()
                .filter(|_| !a.no_hooks)
                .filter(|h| !(a.skip_tests && h.runs_on("test")))
                .map(|h| Doc {
                    source: &h.path,
                    content: &h.manifest,
                    secret: false,
                })
                .collect(),
        }
    }

    fn of_release(r: &'a ServerRelease, a: &TemplateArgs) -> Printed<'a> {
        use berth::manifest::sourced_documents;
        Printed {
            crds: &r.crds,
            resources: sourced_documents(&r.manifest)
                .into_iter()
                .map(|(source, content)| Doc {
                    source,
                    content,
                    secret: super::install::is_v1_secret(content),
                })
                .collect(),
            hooks: sourced_documents(&r.hooks_manifest)
                .into_iter()
                .filter(|_| !a.no_hooks)
                .filter(|(_, content)| !(a.skip_tests && berth::manifest::is_test_hook(content)))
                .map(|(source, content)| Doc {
                    source,
                    content,
                    secret: false,
                })
                .collect(),
        }
    }
}

/// Print (or write under --output-dir) what was rendered, then keep only
/// --show-only's templates.
fn print(p: &Printed<'_>, a: &TemplateArgs, name: &str, io: &mut Io) -> Result<(), CliError> {
    let text = match &a.output_dir {
        None => stream(p, a),
        Some(dir) => {
            let release_dir = if a.release_name {
                dir.join(name)
            } else {
                dir.clone()
            };
            write_files(p, a, dir, &release_dir, io)?;
            // Helm still prints the (now empty) manifest buffer: one newline.
            "\n".to_string()
        }
    };
    let text = if a.show_only.is_empty() {
        text
    } else {
        show_only(&text, &a.show_only)?
    };
    write!(io.out, "{text}")?;
    Ok(())
}

/// Helm's `NameAndChart` as `helm template` runs it: the release is named by
/// NAME, else by `--name-template`, else "release-name" (which `helm
/// template` presets, so `--generate-name` never generates one).
fn release_and_chart(a: &TemplateArgs) -> Result<(String, PathBuf), CliError> {
    name_and_chart(
        &a.args,
        a.generate_name,
        a.name_template.as_deref(),
        Some("release-name"),
    )
}

/// Helm's `NameAndChart` (action/install.go): NAME CHART, or CHART with the
/// name from `--name-template`, else `preset`, else generated by
/// `--generate-name` from the chart's file name and the time.
pub fn name_and_chart(
    args: &[String],
    generate_name: bool,
    name_template: Option<&str>,
    preset: Option<&str>,
) -> Result<(String, PathBuf), CliError> {
    match args {
        [_, _, rest @ ..] if !rest.is_empty() => Err(CliError::Usage(format!(
            "expected at most two arguments, unexpected arguments: {}",
            rest.join(", ")
        ))),
        [name, chart] => {
            if generate_name {
                return Err(CliError::Other(
                    "cannot set --generate-name and also specify a name".into(),
                ));
            }
            if name_template.is_some() {
                return Err(CliError::Other(
                    "cannot set --name-template and also specify a name".into(),
                ));
            }
            Ok((name.clone(), PathBuf::from(chart)))
        }
        [chart] => {
            let name = match (name_template, preset) {
                (Some(t), _) => helm::template_name(t).map_err(CliError::Other)?,
                (None, Some(preset)) => preset.to_string(),
                (None, None) if generate_name => generated_name(chart),
                (None, None) => {
                    return Err(CliError::Usage(
                        "must either provide a name or specify --generate-name".into(),
                    ));
                }
            };
            Ok((name, PathBuf::from(chart)))
        }
        _ => Err(CliError::Usage("expected [NAME] CHART".into())),
    }
}

/// `--generate-name`: the chart's file name up to its first dot ("chart"
/// for none), a dash, and the Unix time in seconds.
fn generated_name(chart: &str) -> String {
    let base = std::path::Path::new(chart)
        .file_name()
        .map(|b| b.to_string_lossy().into_owned())
        .unwrap_or_default();
    let base = match base.split('.').next() {
        Some(b) if !b.is_empty() => b.to_string(),
        _ => "chart".to_string(),
    };
    format!("{base}-{}", chrono::Utc::now().timestamp())
}

/// The stdout stream: `---\n# Source: <path>\n<content>\n` per CRD (with
/// --include-crds), per resource, then per hook; trimmed once in the middle
/// exactly where Helm trims the release manifest.
fn stream(p: &Printed<'_>, a: &TemplateArgs) -> String {
    let mut manifest = String::new();
    if a.include_crds {
        for crd in p.crds {
            manifest.push_str(&format!("---\n# Source: {}\n{}\n", crd.filename, crd.data));
        }
    }
    for d in &p.resources {
        if a.hide_secret && d.secret {
            manifest.push_str(&format!(
                "---\n# Source: {}\n# HIDDEN: The Secret output has been suppressed\n",
                d.source
            ));
        } else {
            manifest.push_str(&format!("---\n# Source: {}\n{}\n", d.source, d.content));
        }
    }
    let mut out = format!("{}\n", manifest.trim());
    for h in &p.hooks {
        out.push_str(&format!("---\n# Source: {}\n{}\n", h.source, h.content));
    }
    out
}

/// `--output-dir`: one file per template path (documents from the same
/// template appended), each document as `---\n# Source: …\n…\n`, and a
/// "wrote FILE" line per write, in Helm's order: CRDs (always directly under
/// DIR, as Helm does), resources, hooks (appended to a file that already
/// exists on disk).
fn write_files(
    p: &Printed<'_>,
    a: &TemplateArgs,
    dir: &Path,
    release_dir: &Path,
    io: &mut Io,
) -> Result<(), CliError> {
    let mut written = HashSet::new();
    if a.include_crds {
        for crd in p.crds {
            let append = !written.insert(crd.filename.clone());
            write_file(dir, &crd.filename, &crd.data, append, io)?;
        }
    }
    let mut written = HashSet::new();
    for d in &p.resources {
        let append = !written.insert(d.source);
        write_file(release_dir, d.source, d.content, append, io)?;
    }
    for h in &p.hooks {
        let append = release_dir.join(h.source).exists();
        write_file(release_dir, h.source, h.content, append, io)?;
    }
    Ok(())
}

fn write_file(
    dir: &Path,
    name: &str,
    data: &str,
    append: bool,
    io: &mut Io,
) -> Result<(), CliError> {
    let path = PathBuf::from(format!("{}/{name}", dir.display()));
    let fail = |e: std::io::Error| CliError::Other(format!("writing {}: {e}", path.display()));
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(fail)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .append(append)
        .truncate(!append)
        .open(&path)
        .map_err(fail)?;
    write!(file, "---\n# Source: {name}\n{data}\n").map_err(fail)?;
    writeln!(io.out, "wrote {}", path.display())?;
    Ok(())
}

/// `--show-only`: the documents whose `# Source: <chart>/<path>` matches one
/// of the patterns (Go's filepath.Match), pattern by pattern, each printed
/// as `---\n<document>\n`; a pattern that matches nothing is an error.
fn show_only(text: &str, patterns: &[String]) -> Result<String, CliError> {
    let docs = berth::manifest::split_manifests(text);
    let mut out = String::new();
    for pattern in patterns {
        let mut missing = true;
        for doc in &docs {
            let Some(path) = template_path(doc) else {
                continue;
            };
            if berth::chart::go_match(pattern, path).unwrap_or(false) {
                out.push_str(&format!("---\n{doc}\n"));
                missing = false;
            }
        }
        if missing {
            return Err(CliError::Other(format!(
                "could not find template {pattern} in chart"
            )));
        }
    }
    Ok(out)
}

/// What Helm's `# Source: [^/]+/(.+)` captures: the path after the chart
/// name, e.g. `templates/deployment.yaml` or `charts/sub/templates/x.yaml`.
fn template_path(doc: &str) -> Option<&str> {
    let rest = &doc[doc.find("# Source: ")? + "# Source: ".len()..];
    let slash = rest.find('/').filter(|&i| i > 0)?;
    let path = rest[slash + 1..].split('\n').next().unwrap_or_default();
    (!path.is_empty()).then_some(path)
}
