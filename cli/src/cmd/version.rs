//! `berth version`: client version, and the agent's when one is configured.

use std::io::Write;

use berth::proto;

use crate::connect::{self, status_error};
use crate::{CliError, Global, Io};

#[derive(clap::Args, Debug)]
pub struct VersionArgs {
    /// Output: table (text), json or yaml.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: crate::output::Format,
}

pub async fn run(g: &Global, a: VersionArgs, io: &mut Io) -> Result<(), CliError> {
    let agent = if g.agent.is_some() {
        let mut client = connect::connect(&g.target()).await?;
        Some(
            client
                .version(proto::VersionRequest {})
                .await
                .map_err(status_error)?
                .into_inner(),
        )
    } else {
        None
    };
    if a.output != crate::output::Format::Table {
        let v = serde_json::json!({
            "client": {"version": berth::VERSION},
            "agent": agent.map(|v| serde_json::json!({
                "version": v.agent_version,
                "kubernetes": v.kubernetes_version,
                "identity": v.identity,
            })),
        });
        return crate::output::structured(&mut *io.out, a.output, &v);
    }
    writeln!(io.out, "Client: berth {}", berth::VERSION)?;
    let Some(v) = agent else {
        writeln!(io.out, "Agent: (no --agent given)")?;
        return Ok(());
    };
    writeln!(
        io.out,
        "Agent: berthd {} (Kubernetes {})",
        v.agent_version, v.kubernetes_version
    )?;
    writeln!(io.out, "Identity: {}", v.identity)?;
    Ok(())
}
