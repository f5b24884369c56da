#!/usr/bin/env bash
# berth's benchmarks against real Helm (results go in benches/README.md).
# Installs the reference tools into .venv like scripts/test.sh, then runs
# the benches in release mode. Extra arguments go to `cargo bench`.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_INCREMENTAL=0
source scripts/venv.sh
reference_venv tests/requirements.txt
# benches/upgrade.rs and benches/upload.rs run the release berth and berthd binaries.
cargo build --release --locked --bins
cargo bench --locked -p berth --bench render --bench lifecycle --bench latency --bench upload --bench fleet --bench upgrade --bench journal "$@"
