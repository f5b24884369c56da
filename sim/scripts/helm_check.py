"""Drives real Helm v4 (the Go SDK bundled in helm-python-sdk) against a running berth-sim.

Usage: python helm_check.py KUBECONFIG WORKDIR
"""
import sys
import time

import helm_python as helm

kubeconfig, workdir = sys.argv[1], sys.argv[2]
helm.Chart.create("demo", workdir)
chart = f"{workdir}/demo"
cfg = helm.Config(kubeconfig_path=kubeconfig, namespace="default")


def summary(r):
    return {k: r.get(k) for k in ("name", "status", "namespace")}


t = time.time()
rel = cfg.install(chart, "demo", {"replicaCount": 2}, wait="watcher", timeout=60)
assert rel["status"] == "deployed", rel
print("helm install --wait:", summary(rel), f"{time.time() - t:.2f}s")
t = time.time()
rel = cfg.upgrade(chart, "demo", {"replicaCount": 3, "image": {"tag": "1.27"}}, wait="watcher", timeout=60)
assert rel["status"] == "deployed", rel
print("helm upgrade --wait:", summary(rel), f"{time.time() - t:.2f}s")
cfg.rollback("demo", version=1, wait="watcher", timeout=60)
history = [r["status"] for r in cfg.history("demo")]
assert history == ["superseded", "superseded", "deployed"], history
print("helm rollback + history:", history)
assert cfg.status("demo")["status"] == "deployed"
assert [r["name"] for r in cfg.list()] == ["demo"]
try:
    cfg.upgrade(chart, "demo", {"image": {"repository": "registry.x.invalid/app"}}, wait="watcher", timeout=5)
    raise SystemExit("an upgrade to an unpullable image should time out")
except helm.HelmError as e:
    print("helm upgrade to a bad image fails:", type(e).__name__, str(e).splitlines()[0][:120])
cfg.uninstall("demo", wait="watcher", timeout=60)
assert cfg.list() == []
print("helm uninstall --wait: ok")

# A chart with a CRD (crds/), a custom resource, and a pre-install/pre-upgrade hook Job,
# installed into a namespace Helm creates.
import os

hooky = f"{workdir}/hooky"
helm.Chart.create("hooky", workdir)
os.makedirs(f"{hooky}/crds", exist_ok=True)
with open(f"{hooky}/crds/widgets.yaml", "w") as f:
    f.write("""apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
""")
with open(f"{hooky}/templates/widget.yaml", "w") as f:
    f.write("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: {{ .Release.Name }}-w}\nspec: {size: 1}\n")
with open(f"{hooky}/templates/hook.yaml", "w") as f:
    f.write("""apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-migrate
  annotations:
    "helm.sh/hook": pre-install,pre-upgrade
    "helm.sh/hook-delete-policy": before-hook-creation,hook-succeeded
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: m, image: "busybox:1"}]
""")
hooks_cfg = helm.Config(kubeconfig_path=kubeconfig, namespace="hooks")
rel = hooks_cfg.install(hooky, "hooky", {}, wait="watcher", timeout=60, create_namespace=True)
assert rel["status"] == "deployed", rel
rel = hooks_cfg.upgrade(hooky, "hooky", {"replicaCount": 2}, wait="watcher", timeout=60)
assert rel["status"] == "deployed", rel
hooks_cfg.uninstall("hooky", wait="watcher", timeout=60)
print("helm chart with CRD, custom resource and hook Jobs, --create-namespace: ok")
