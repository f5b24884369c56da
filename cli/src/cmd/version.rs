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
    /// Print only the client's version number (e.g. v0.1.0).
    #[arg(long)]
    pub short: bool,
    /// A Go template of the output over .Version, and with an agent
    /// .AgentVersion, .KubernetesVersion and .Identity.
    #[arg(long, value_name = "TEMPLATE")]
    pub template: Option<String>,
}

pub async fn run(g: &Global, a: VersionArgs, io: &mut Io) -> Result<(), CliError> {
    let client_version = format!("v{}", berth::VERSION);
    if a.short {
        writeln!(io.out, "{client_version}")?;
        return Ok(());
    }
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
    if let Some(text) = &a.template {
        let mut data = serde_json::json!({ "Version": client_version });
        if let Some(v) = &agent {
            data["AgentVersion"] = v.agent_version.clone().into();
            data["KubernetesVersion"] = v.kubernetes_version.clone().into();
            data["Identity"] = v.identity.clone().into();
        }
        let out = berth_template::helm::execute_text(text, &data).map_err(CliError::Other)?;
        write!(io.out, "{out}")?;
        return Ok(());
    }
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
