#!/usr/bin/env bash
# berth's test command (the README's, and CI's via .ci/run).
#
# 1. Installs the reference tools (real Helm v4 via helm-python-sdk, real
#    kubectl) into .venv and checks the golden files still match real Helm.
# 2. Builds every binary (the crash tests run the real berthd), checks
#    berth-sim against real kubectl and real Helm, and runs all tests with
#    the settings that keep a 2-core machine fast (STACK.md).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_INCREMENTAL=0
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

source scripts/venv.sh
reference_venv tests/requirements.txt
"$venv/bin/python" tests/golden/regen.py --check

cargo build --workspace --locked --bins
BERTH_SIM_VENV="$venv" bash sim/scripts/real-clients.sh
cargo test --workspace --locked "$@"
