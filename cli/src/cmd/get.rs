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
    #[command(after_help = "Example:\n  berth get all web")]
    All(Which),
}

async fn fetch(g: &Global, w: &Which) -> Result<proto::Revision, CliError> {
    let mut client = connect::connect(&g.target()).await?;
    Ok(client
        .get_revision(proto::GetRevisionRequest {
            release: w.name.clone(),
            namespace: g.namespace.clone(),
            revision: w.revision,
        })
        .await
        .map_err(status_error)?
        .into_inner())
}

fn parse(json: &str) -> Value {
    serde_json::from_str(json).unwrap_or(Value::Null)
}

fn yaml(v: &Value) -> String {
    match v {
        Value::Object(m) if m.is_empty() => "null\n".into(),
        _ => berth_template::yaml::to_yaml(v),
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
        GetCommand::All(w) => {
            let r = fetch(g, &w).await?;
            let info = r.info.clone().unwrap_or_default();
            writeln!(io.out, "NAME: {}", r.release)?;
            writeln!(
                io.out,
                "LAST DEPLOYED: {}",
                output::time(info.updated_unix_ms)
            )?;
            writeln!(io.out, "NAMESPACE: {}", r.namespace)?;
            writeln!(
                io.out,
                "STATUS: {}",
                super::history::status_name(info.status)
            )?;
            writeln!(io.out, "REVISION: {}", info.revision)?;
            writeln!(io.out, "CHART: {}-{}", info.chart_name, info.chart_version)?;
            writeln!(io.out, "BY: {}", info.by)?;
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
            writeln!(io.out, "HOOKS:\n{}", r.hooks_manifest)?;
            writeln!(io.out, "MANIFEST:\n{}", r.manifest)?;
            if !r.notes.trim().is_empty() {
                writeln!(io.out, "NOTES:\n{}", r.notes.trim_end())?;
            }
        }
    }
    Ok(())
}
