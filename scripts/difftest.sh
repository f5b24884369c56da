#!/usr/bin/env bash
# Differential tests of berth against real Helm v4 (README.md, "Differential
# testing"). Not part of scripts/test.sh or CI: run it by hand.
#
#   scripts/difftest.sh [SUITE...] [--count N] [--seed S] [--minutes M] [--no-shrink]
#
# Suites: templates, set-expressions, values, charts, yaml, capabilities,
# show-only, lint (default: all). Installs the reference tools into .venv (as
# scripts/test.sh does, plus PyYAML), builds the driver (difftest/driver)
# and the berth CLI, then runs difftest/run.py niced. New differences go to
# difftest/out/found/; exit status 1 when there are any.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_INCREMENTAL=0
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

source scripts/venv.sh
reference_venv difftest/requirements.txt

nice -n 19 cargo build --quiet --locked --bin berth
nice -n 19 cargo build --quiet --locked --manifest-path difftest/driver/Cargo.toml

exec nice -n 19 "$venv/bin/python" difftest/run.py "$@"
