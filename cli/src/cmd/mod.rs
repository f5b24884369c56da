//! One module per verb. Each takes its parsed arguments, the global flags
//! and the [`Io`](crate::Io) to write to.

use crate::{Cli, CliError, Command, Io};

pub mod certs;
pub mod demo;
pub mod get;
pub mod history;
pub mod install;
pub mod list;
pub mod rollback;
pub mod status;
pub mod template;
pub mod test;
pub mod uninstall;
pub mod version;
pub mod watch;

pub async fn dispatch(cli: Cli, io: &mut Io) -> Result<(), CliError> {
    let g = cli.global;
    match cli.command {
        Command::Install(a) => install::install(&g, a, io).await,
        Command::Upgrade(a) => install::upgrade(&g, a, io).await,
        Command::Rollback(a) => rollback::run(&g, a, io).await,
        Command::Uninstall(a) => uninstall::run(&g, a, io).await,
        Command::History(a) => history::run(&g, a, io).await,
        Command::Status(a) => status::run(&g, a, io).await,
        Command::List(a) => list::run(&g, a, io).await,
        Command::Get(c) => get::run(&g, c, io).await,
        Command::Template(a) => template::run(&g, a, io),
        Command::Test(a) => test::run(&g, a, io).await,
        Command::Watch(a) => watch::run(&g, a, io).await,
        Command::Version => version::run(&g, io).await,
        Command::Certs(c) => certs::run(c, io),
        Command::Demo(a) => demo::run(a, io).await,
    }
}

/// Helm's duration flags: `300s`, `5m`, `1h30m`, `5m0s`, or bare seconds.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    if let Ok(n) = s.parse::<u64>() {
        return Ok(std::time::Duration::from_secs(n));
    }
    let mut total = 0f64;
    let mut num = String::new();
    let mut rest = s;
    if rest.is_empty() {
        return Err("empty duration".into());
    }
    while !rest.is_empty() {
        let c = rest.chars().next().unwrap_or_default();
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            rest = &rest[1..];
            continue;
        }
        let (unit, len) = if rest.starts_with("ms") {
            (0.001, 2)
        } else if rest.starts_with('h') {
            (3600.0, 1)
        } else if rest.starts_with('m') {
            (60.0, 1)
        } else if rest.starts_with('s') {
            (1.0, 1)
        } else {
            return Err(format!("invalid duration {s:?}: unknown unit"));
        };
        let n: f64 = num.parse().map_err(|_| format!("invalid duration {s:?}"))?;
        total += n * unit;
        num.clear();
        rest = &rest[len..];
    }
    if !num.is_empty() {
        return Err(format!("invalid duration {s:?}: missing unit"));
    }
    Ok(std::time::Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations_like_helm() {
        assert_eq!(parse_duration("300").unwrap().as_secs(), 300);
        assert_eq!(parse_duration("5m0s").unwrap().as_secs(), 300);
        assert_eq!(parse_duration("1h30m").unwrap().as_secs(), 5400);
        assert_eq!(parse_duration("1500ms").unwrap().as_millis(), 1500);
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("5").is_ok());
    }
}
