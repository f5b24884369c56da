//! `berth search repo [KEYWORD]`: the charts of the cached repository
//! indexes, found as Helm's `search repo` finds them (pkg/cmd/search):
//! the keyword in a chart's name, its repo/name, description or keywords
//! (a name match first), or a Go regular expression with `--regexp`; the
//! newest stable version of each unless `--versions`, `--devel` or
//! `--version CONSTRAINT` say otherwise.

use std::io::Write;

use berth_template::funcs::goregex;
use berth_template::funcs::semver::{Constraints, Version};
use clap::{Args, Subcommand};
use serde_json::json;

use crate::charts::{self, ChartVersion, Index};
use crate::output::{self, Format};
use crate::{CliError, Io};

#[derive(Subcommand, Debug)]
pub enum SearchCommand {
    /// Search the repositories you added (their cached indexes).
    #[command(
        after_help = "Examples:\n  berth search repo nginx\n  berth search repo bitnami/ --versions --version '^15'\n  berth search repo 'ingress|gateway' --regexp -o json"
    )]
    Repo(SearchArgs),
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

pub fn run(c: SearchCommand, io: &mut Io) -> Result<(), CliError> {
    let SearchCommand::Repo(a) = c;
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
    if results.is_empty() && a.fail_on_no_result {
        return Err(CliError::Other("no results found".into()));
    }
    match a.output {
        Format::Table if results.is_empty() => writeln!(io.out, "No results found")?,
        Format::Table => {
            let cell = |s: &str| output::truncate(&output::sanitize(s), a.max_col_width);
            let rows: Vec<Vec<String>> = results
                .iter()
                .map(|f| {
                    vec![
                        cell(&f.name),
                        cell(&f.chart.version),
                        cell(&f.chart.app_version),
                        cell(&f.chart.description),
                    ]
                })
                .collect();
            output::table(
                &mut *io.out,
                &["NAME", "CHART VERSION", "APP VERSION", "DESCRIPTION"],
                &rows,
            )?;
        }
        f => {
            let list: Vec<_> = results
                .iter()
                .map(|r| {
                    json!({
                        "name": r.name,
                        "version": r.chart.version,
                        "app_version": r.chart.app_version,
                        "description": r.chart.description,
                    })
                })
                .collect();
            output::structured(&mut *io.out, f, &serde_json::Value::Array(list))?;
        }
    }
    Ok(())
}
