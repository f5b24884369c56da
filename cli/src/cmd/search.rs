//! `berth search repo [KEYWORD]`: the charts of the cached repository
//! indexes, found as Helm's `search repo` finds them (pkg/cmd/search):
//! the keyword in a chart's name, its repo/name, description or keywords
//! (a name match first), or a Go regular expression with `--regexp`; the
//! newest stable version of each unless `--versions`, `--devel` or
//! `--version CONSTRAINT` say otherwise.

use std::io::Write;

use berth_template::funcs::semver::{Constraints, Version};
use berth_template::funcs::{builtins, goregex, url};
use clap::{Args, Subcommand};
use serde_json::Value;

use crate::charts::{self, ChartVersion, Index};
use crate::output::{self, Format, GoJson};
use crate::{CliError, Io};

#[derive(Subcommand, Debug)]
pub enum SearchCommand {
    /// Search the repositories you added (their cached indexes).
    #[command(
        after_help = "Examples:\n  berth search repo nginx\n  berth search repo bitnami/ --versions --version '^15'\n  berth search repo 'ingress|gateway' --regexp -o json"
    )]
    Repo(SearchArgs),
    /// Search Artifact Hub (or your own hub: any Monocular-compatible
    /// search API).
    #[command(
        after_help = "Examples:\n  berth search hub nginx\n  berth search hub 'ingress controller' --list-repo-url -o json\n  berth search hub web --endpoint https://hub.example.com"
    )]
    Hub(HubArgs),
}

#[derive(Args, Debug)]
pub struct HubArgs {
    /// Words to look for (the hub's query syntax).
    pub keywords: Vec<String>,
    /// The hub to ask.
    #[arg(long, default_value = "https://hub.helm.sh")]
    pub endpoint: String,
    /// The widest a table column gets.
    #[arg(long, default_value_t = 50)]
    pub max_col_width: usize,
    /// Print each chart's repository URL too.
    #[arg(long)]
    pub list_repo_url: bool,
    /// Fail when nothing is found.
    #[arg(long)]
    pub fail_on_no_result: bool,
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Format,
}

#[derive(Args, Debug)]
pub struct SearchArgs {
    /// Words to look for (all charts if none).
    pub keywords: Vec<String>,
    /// The keywords are a Go regular expression.
    #[arg(short = 'r', long)]
    pub regexp: bool,
    /// Every version of each chart, one per line.
    #[arg(short = 'l', long)]
    pub versions: bool,
    /// Pre-releases too (ignored with --version).
    #[arg(long)]
    pub devel: bool,
    /// Only versions this semver constraint takes.
    #[arg(long)]
    pub version: Option<String>,
    /// The widest a table column gets.
    #[arg(long, default_value_t = 50)]
    pub max_col_width: usize,
    /// Fail when nothing is found.
    #[arg(long)]
    pub fail_on_no_result: bool,
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Format,
}

/// Helm's separator between the parts of a searched line.
const SEP: char = '\u{b}';

/// One chart version found, and how well it matched (lower is better).
struct Found<'a> {
    name: String,
    score: usize,
    chart: &'a ChartVersion,
}

pub async fn run(c: SearchCommand, io: &mut Io) -> Result<(), CliError> {
    let a = match c {
        SearchCommand::Repo(a) => a,
        SearchCommand::Hub(a) => return hub(a, io).await,
    };
    let file = charts::read_repo_file(&charts::helm_repository_config())?;
    if file.repositories.is_empty() {
        return Err(CliError::Other("no repositories configured".into()));
    }
    let mut indexes: Vec<(String, Index)> = Vec::new();
    for r in &file.repositories {
        let path = charts::index_path(&r.name);
        match std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|text| Index::parse(&text))
        {
            Ok(index) => indexes.push((r.name.clone(), index)),
            Err(e) => writeln!(
                io.err,
                "WARNING: repo {} is corrupt or missing: {}: {e}",
                r.name,
                path.display()
            )?,
        }
    }
    // Every version is searched: the constraint then picks (Helm's
    // default constraint takes stable versions only).
    let mut lines: Vec<(String, String, &ChartVersion)> = Vec::new();
    for (repo, index) in &indexes {
        for (name, versions) in index.charts() {
            for v in versions {
                let line = format!(
                    "{}{SEP}{repo}/{}{SEP}{}{SEP}{}",
                    v.name,
                    v.name,
                    v.description,
                    v.keywords.join(" ")
                );
                lines.push((format!("{repo}/{name}"), line, v));
            }
        }
    }
    let mut found: Vec<Found> = Vec::new();
    let term = a.keywords.join(" ");
    let matcher = if a.regexp && !term.is_empty() {
        Some(goregex::compile(&term).map_err(|e| CliError::Usage(e.to_string()))?)
    } else {
        None
    };
    let lower = term.to_lowercase();
    for (name, line, chart) in lines {
        let at = if term.is_empty() {
            Some(0)
        } else if let Some(m) = &matcher {
            m.regex.find(&line).map(|m| m.start())
        } else {
            line.to_lowercase().find(&lower)
        };
        if let Some(at) = at {
            // Helm's calcScore: how many separators come before the match.
            let score = line
                .char_indices()
                .filter(|(i, c)| *c == SEP && *i < at)
                .count();
            found.push(Found { name, score, chart });
        }
    }
    found.sort_by(|x, y| {
        x.score
            .cmp(&y.score)
            .then_with(|| x.name.cmp(&y.name))
            .then_with(|| charts::newest_first(&x.chart.version, &y.chart.version))
    });
    let constraint = match a.version.as_deref() {
        Some(v) if !v.is_empty() => v.to_string(),
        _ if a.devel => ">0.0.0-0".into(),
        _ => ">0.0.0".into(),
    };
    let constraint = Constraints::parse(&constraint)
        .map_err(|e| CliError::Usage(format!("an invalid version/constraint format: {e}")))?;
    let mut shown = std::collections::HashSet::new();
    let results: Vec<&Found> = found
        .iter()
        .filter(|f| {
            if !a.versions && shown.contains(&f.name) {
                return false;
            }
            let take = Version::parse(&f.chart.version).is_ok_and(|v| constraint.check(&v));
            if take {
                shown.insert(f.name.clone());
            }
            take
        })
        .collect();
    let rows = results
        .iter()
        .map(|f| {
            vec![
                f.name.clone(),
                f.chart.version.clone(),
                f.chart.app_version.clone(),
                f.chart.description.clone(),
            ]
        })
        .collect();
    let structs = results
        .iter()
        .map(|r| {
            GoJson::Struct(vec![
                ("name", r.name.as_str().into()),
                ("version", r.chart.version.as_str().into()),
                ("app_version", r.chart.app_version.as_str().into()),
                ("description", r.chart.description.as_str().into()),
            ])
        })
        .collect();
    let header = ["NAME", "CHART VERSION", "APP VERSION", "DESCRIPTION"];
    let shape = Shape {
        format: a.output,
        max_col_width: a.max_col_width,
        fail_on_no_result: a.fail_on_no_result,
    };
    write_found(io, &shape, &header, rows, structs)
}

/// How a search's results are to be written.
struct Shape {
    format: Format,
    max_col_width: usize,
    fail_on_no_result: bool,
}

/// What a search found, as Helm's search commands write it: a table of
/// `rows` (cells cut to the column width), or the `structs` as JSON or
/// YAML; "No results found", or a failure with --fail-on-no-result.
fn write_found(
    io: &mut Io,
    shape: &Shape,
    header: &[&str],
    rows: Vec<Vec<String>>,
    structs: Vec<GoJson>,
) -> Result<(), CliError> {
    if rows.is_empty() && shape.fail_on_no_result {
        return Err(CliError::Other("no results found".into()));
    }
    match shape.format {
        Format::Table if rows.is_empty() => writeln!(io.out, "No results found")?,
        Format::Table => {
            let cell = |s: &str| output::truncate(&output::sanitize(s), shape.max_col_width);
            let rows: Vec<Vec<String>> = rows
                .iter()
                .map(|row| row.iter().map(|c| cell(c)).collect())
                .collect();
            output::table(&mut *io.out, header, &rows)?;
        }
        f => output::structured_list(&mut *io.out, f, &structs)?,
    }
    Ok(())
}

/// Monocular's search API path below a hub's URL (Artifact Hub serves it).
const HUB_SEARCH_PATH: &str = "api/chartsvc/v1/charts/search";

/// `helm search hub`: the hub's Monocular-compatible search API asked for
/// the keywords, each result's package URL (or ENDPOINT/charts/ID), its
/// latest version, app version, description and repository.
async fn hub(a: HubArgs, io: &mut Io) -> Result<(), CliError> {
    let endpoint = &a.endpoint;
    let cannot_connect = |e: &str| {
        CliError::Usage(format!(
            "unable to create connection to {}: {e}",
            berth_template::gofmt::quote(endpoint)
        ))
    };
    let url = url::parse(endpoint.as_bytes()).map_err(|e| cannot_connect(&e))?;
    if url.hostname().is_empty() {
        return Err(cannot_connect("no hostname provided"));
    }
    let path = berth_template::funcs::strings::path_clean(&format!(
        "{}/{HUB_SEARCH_PATH}",
        String::from_utf8_lossy(url.path())
    ));
    let request = format!(
        "{}://{}{}?q={}",
        String::from_utf8_lossy(url.scheme()),
        String::from_utf8_lossy(url.host()),
        String::from_utf8_lossy(&url::escape_path(path.as_bytes())),
        builtins::query_escape(&a.keywords.join(" "))
    );
    let failed = |reason: String| {
        CliError::Other(format!(
            "unable to perform search against {}: {reason}",
            berth_template::gofmt::quote(endpoint)
        ))
    };
    let tls = charts::system_tls()?;
    let answer = charts::fetch(&request, None, &[], &tls, 64 << 20)
        .await
        .map_err(failed)?;
    if answer.status != http::StatusCode::OK {
        return Err(failed(format!(
            "failed to fetch {request} : {}",
            answer.status
        )));
    }
    // As Helm, an answer that is not the API's JSON is no results.
    let body: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    let text = |v: &Value, path: &[&str]| -> String {
        path.iter()
            .try_fold(v, |v, k| v.get(k))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let results: Vec<HubChart> = body
        .get("data")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|r| {
            let package = text(r, &["artifactHub", "packageUrl"]);
            HubChart {
                url: if package.is_empty() {
                    format!("{endpoint}/charts/{}", text(r, &["id"]))
                } else {
                    package
                },
                version: text(
                    r,
                    &["relationships", "latestChartVersion", "data", "version"],
                ),
                app_version: text(
                    r,
                    &["relationships", "latestChartVersion", "data", "app_version"],
                ),
                description: text(r, &["attributes", "description"]),
                repo_url: text(r, &["attributes", "repo", "url"]),
                repo_name: text(r, &["attributes", "repo", "name"]),
            }
        })
        .collect();
    let mut header = vec!["URL", "CHART VERSION", "APP VERSION", "DESCRIPTION"];
    if a.list_repo_url {
        header.push("REPO URL");
    }
    let rows = results
        .iter()
        .map(|r| {
            let mut row = vec![
                r.url.clone(),
                r.version.clone(),
                r.app_version.clone(),
                r.description.clone(),
            ];
            if a.list_repo_url {
                row.push(r.repo_url.clone());
            }
            row
        })
        .collect();
    let structs = results
        .iter()
        .map(|r| {
            GoJson::Struct(vec![
                ("url", r.url.as_str().into()),
                ("version", r.version.as_str().into()),
                ("app_version", r.app_version.as_str().into()),
                ("description", r.description.as_str().into()),
                (
                    "repository",
                    GoJson::Struct(vec![
                        ("url", r.repo_url.as_str().into()),
                        ("name", r.repo_name.as_str().into()),
                    ]),
                ),
            ])
        })
        .collect();
    let shape = Shape {
        format: a.output,
        max_col_width: a.max_col_width,
        fail_on_no_result: a.fail_on_no_result,
    };
    write_found(io, &shape, &header, rows, structs)
}

/// A chart the hub found (Helm's hubChartElement).
struct HubChart {
    url: String,
    version: String,
    app_version: String,
    description: String,
    repo_url: String,
    repo_name: String,
}
