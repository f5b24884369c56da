//! berthd's input limits as flags: what one request may carry (chart
//! bundle, values) and what one operation may produce (objects, events).
//! The checks themselves live where the input is read: the chart archive
//! in `berth::chart`, values and objects in `ops::upgrade`, events in
//! `events`.

use berth::chart::Limits;

use crate::ops::Settings;

/// The limit flags of berthd; every default is the one [`Settings`] has.
#[derive(clap::Args, Debug, Clone)]
pub struct LimitFlags {
    /// Largest chart bundle (gzip tar) a client may upload, in bytes
    /// (suffixes Ki, Mi, Gi).
    #[arg(long, value_name = "BYTES", value_parser = parse_size, default_value = "50Mi")]
    pub max_chart_size: u64,
    /// Largest unpacked chart: all files together, subcharts included.
    #[arg(long, value_name = "BYTES", value_parser = parse_size, default_value = "100Mi")]
    pub max_chart_unpacked: u64,
    /// Largest single file in a chart.
    #[arg(long, value_name = "BYTES", value_parser = parse_size, default_value = "5Mi")]
    pub max_chart_file_size: u64,
    /// Most files in a chart, subcharts included.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_files)]
    pub max_chart_files: usize,
    /// Longest path of a file in a chart, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_path)]
    pub max_path_length: usize,
    /// Deepest path of a file in a chart (components, the chart's directory
    /// included); also the deepest nesting of subcharts.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_depth)]
    pub max_path_depth: usize,
    /// Largest user-supplied values (-f, --set…) one request may carry, as JSON.
    #[arg(long, value_name = "BYTES", value_parser = parse_size, default_value = "4Mi")]
    pub max_values_size: u64,
    /// Most objects (resources, hooks and CRDs) a chart may render.
    #[arg(long, value_name = "N", default_value_t = Settings::default().max_objects)]
    pub max_objects: usize,
    /// Most events one operation keeps and sends; later progress is dropped,
    /// the outcome never is.
    #[arg(long, value_name = "N", default_value_t = Settings::default().max_events, value_parser = parse_max_events)]
    pub max_events: usize,
}

impl LimitFlags {
    /// Settings with these limits.
    pub fn apply(&self, settings: Settings) -> Settings {
        Settings {
            limits: Limits {
                max_packed: self.max_chart_size,
                max_unpacked: self.max_chart_unpacked,
                max_file: self.max_chart_file_size,
                max_files: self.max_chart_files,
                max_depth: self.max_path_depth,
                max_path: self.max_path_length,
            },
            max_values: usize::try_from(self.max_values_size).unwrap_or(usize::MAX),
            max_objects: self.max_objects,
            max_events: self.max_events,
            ..settings
        }
    }
}

fn parse_max_events(s: &str) -> Result<usize, String> {
    let min = crate::events::MIN_EVENTS;
    match s.trim().parse::<usize>() {
        Ok(n) if n >= min => Ok(n),
        _ => Err(format!("{s:?} is not a number of events of at least {min}")),
    }
}

/// A size in bytes: a number with an optional binary suffix (Ki, Mi, Gi;
/// a trailing B is allowed).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let t = t.strip_suffix('B').unwrap_or(t);
    let (digits, shift) = match t.len().checked_sub(2).map(|i| t.split_at(i)) {
        Some((d, "Ki")) => (d, 10),
        Some((d, "Mi")) => (d, 20),
        Some((d, "Gi")) => (d, 30),
        _ => (t, 0),
    };
    digits
        .trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .ok_or_else(|| format!("{s:?} is not a size in bytes (like 4096, 512Ki, 50Mi or 1Gi)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        limits: LimitFlags,
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("512Ki"), Ok(512 << 10));
        assert_eq!(parse_size("50Mi"), Ok(50 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert!(parse_size("1.5Mi").is_err());
        assert!(parse_size("-1").is_err());
        assert!(parse_size("99999999999999Gi").is_err());
        assert_eq!(
            parse_size("ten").unwrap_err(),
            "\"ten\" is not a size in bytes (like 4096, 512Ki, 50Mi or 1Gi)"
        );
    }

    #[test]
    fn the_flags_default_to_the_settings_defaults() {
        let cli = Cli::parse_from(["berthd"]);
        let applied = cli.limits.apply(Settings::default());
        let d = Settings::default();
        assert_eq!(applied.limits, d.limits);
        assert_eq!(
            (applied.max_values, applied.max_objects, applied.max_events),
            (d.max_values, d.max_objects, d.max_events)
        );
        let cli = Cli::parse_from([
            "berthd",
            "--max-chart-files",
            "7",
            "--max-values-size",
            "1Ki",
        ]);
        let applied = cli.limits.apply(Settings::default());
        assert_eq!((applied.limits.max_files, applied.max_values), (7, 1024));
        assert!(Cli::try_parse_from(["berthd", "--max-events", "2"]).is_err());
    }
}
