//! `berth version`: client version, and the agent's when one is configured.

use std::io::Write;

use berth::proto;

use crate::connect::{self, status_error};
use crate::{CliError, Global, Io};

pub async fn run(g: &Global, io: &mut Io) -> Result<(), CliError> {
    writeln!(io.out, "Client: berth {}", berth::VERSION)?;
    if g.agent.is_none() {
        writeln!(io.out, "Agent: (no --agent given)")?;
        return Ok(());
    }
    let mut client = connect::connect(&g.target()).await?;
    let v = client
        .version(proto::VersionRequest {})
        .await
        .map_err(status_error)?
        .into_inner();
    writeln!(
        io.out,
        "Agent: berthd {} (Kubernetes {})",
        v.agent_version, v.kubernetes_version
    )?;
    writeln!(io.out, "Identity: {}", v.identity)?;
    Ok(())
}
