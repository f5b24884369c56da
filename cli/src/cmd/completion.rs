//! `berth completion bash|zsh|fish`: a shell completion script on stdout.

use std::io::Write;

use clap::CommandFactory;

use crate::{Cli, CliError, Io};

#[derive(clap::Args, Debug)]
pub struct CompletionArgs {
    /// The shell to complete for.
    pub shell: clap_complete::Shell,
    /// Complete commands and flags without their descriptions (zsh,
    /// fish, PowerShell and elvish show them; bash never does).
    #[arg(long)]
    pub no_descriptions: bool,
}

/// The command tree without a description anywhere.
fn without_descriptions(cmd: clap::Command) -> clap::Command {
    cmd.about(None)
        .long_about(None)
        .mut_args(|a| a.help(None).long_help(None))
        .mut_subcommands(without_descriptions)
}

pub fn run(a: CompletionArgs, io: &mut Io) -> Result<(), CliError> {
    let mut cmd = Cli::command();
    if a.no_descriptions {
        cmd = without_descriptions(cmd);
    }
    // Into a buffer first: clap_complete panics when its writer fails
    // (`berth completion bash | head`).
    let mut script = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "berth", &mut script);
    io.out.write_all(&script)?;
    Ok(())
}
