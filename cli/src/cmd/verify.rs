//! `berth verify CHART.tgz`: Helm's `verify` — the chart archive checked
//! against its `.prov` beside it with the keys of `--keyring`.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use crate::charts::provenance;
use crate::{CliError, Io};

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The chart archive; its provenance is PATH.prov.
    pub path: PathBuf,
    /// The public keyring to check the signature with (a binary OpenPGP
    /// keyring, e.g. `gpg --export > pubring.gpg`).
    #[arg(long, value_name = "FILE")]
    pub keyring: Option<PathBuf>,
}

pub fn run(a: VerifyArgs, io: &mut Io) -> Result<(), CliError> {
    let keyring = a.keyring.unwrap_or_else(provenance::default_keyring);
    let prov = PathBuf::from(format!("{}.prov", a.path.display()));
    let verified = provenance::verify(&a.path, &prov, &keyring)?;
    write!(io.out, "{}", verified.report())?;
    Ok(())
}
