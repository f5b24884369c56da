//! What the benches share: where real Helm's Python lives, and medians.

use std::path::{Path, PathBuf};
use std::time::Duration;

pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// `$BERTH_BENCH_PYTHON`, else the project's `.venv` (scripts/bench.sh
/// installs helm-python-sdk there from tests/requirements.txt).
pub fn python() -> PathBuf {
    if let Ok(p) = std::env::var("BERTH_BENCH_PYTHON") {
        return p.into();
    }
    let venv = Path::new(ROOT).join(".venv/bin/python");
    assert!(
        venv.exists(),
        "{} is missing: run scripts/bench.sh (it installs real Helm from tests/requirements.txt)",
        venv.display()
    );
    venv
}

pub fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// How many times to repeat, from an environment variable or a default.
pub fn count(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
