//! `berth completion bash|zsh|fish`: a shell completion script on stdout.

use std::io::Write;

use clap::CommandFactory;

use crate::{Cli, CliError, Io};

#[derive(clap::Args, Debug)]
pub struct CompletionArgs {
    /// The shell to complete for.
    pub shell: clap_complete::Shell,
}

pub fn run(a: CompletionArgs, io: &mut Io) -> Result<(), CliError> {
    let mut cmd = Cli::command();
    // Into a buffer first: clap_complete panics when its writer fails
    // (`berth completion bash | head`).
    let mut script = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "berth", &mut script);
    io.out.write_all(&script)?;
    Ok(())
}
