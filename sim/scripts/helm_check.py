"""Drives real Helm v4 (the Go SDK bundled in helm-python-sdk) against a running berth-sim.

Usage: python helm_check.py KUBECONFIG WORKDIR
"""
import json
import os
import subprocess
import sys
import time

import helm_python as helm

kubeconfig, workdir = sys.argv[1], sys.argv[2]
KUBECTL = os.path.join(os.path.dirname(sys.executable), "kubectl")


def kget(*args):
    """An object (or list) read back from the simulator with real kubectl; None if absent."""
    p = subprocess.run([KUBECTL, "--kubeconfig", kubeconfig, "get", *args, "-o", "json"],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        if "NotFound" in p.stderr:
            return None
        raise SystemExit(f"kubectl get {' '.join(args)}: {p.stderr}")
    return json.loads(p.stdout)


def check(cond, what, detail=""):
    if not cond:
        raise SystemExit(f"FAILED: {what}\n{detail}")
    print(f"    ok: {what}")


def release_secrets(name, ns="default"):
    items = kget("secrets", "-n", ns, "-l", f"owner=helm,name={name}")["items"]
    return {s["metadata"]["labels"]["version"]: s["metadata"]["labels"]["status"] for s in items
            if s["type"] == "helm.sh/release.v1"}


def image(d):
    return d["spec"]["template"]["spec"]["containers"][0]["image"]
helm.Chart.create("demo", workdir)
chart = f"{workdir}/demo"
cfg = helm.Config(kubeconfig_path=kubeconfig, namespace="default")


def summary(r):
    return {k: r.get(k) for k in ("name", "status", "namespace")}


t = time.time()
rel = cfg.install(chart, "demo", {"replicaCount": 2}, wait="watcher", timeout=60)
assert rel["status"] == "deployed", rel
print("helm install --wait:", summary(rel), f"{time.time() - t:.2f}s")
d = kget("deploy", "demo")
check(d["spec"]["replicas"] == 2 and d["status"].get("readyReplicas") == 2, "install --wait: deployment 2/2 ready")
check(release_secrets("demo") == {"1": "deployed"}, "Helm's release Secret v1 is stored, deployed")
app_version = helm.Chart.load(chart).metadata["appVersion"]
check(image(d).endswith(":" + app_version), "image tag defaults to the appVersion", image(d))
t = time.time()
rel = cfg.upgrade(chart, "demo", {"replicaCount": 3, "image": {"tag": "1.27"}}, wait="watcher", timeout=60)
assert rel["status"] == "deployed", rel
print("helm upgrade --wait:", summary(rel), f"{time.time() - t:.2f}s")
d = kget("deploy", "demo")
check(d["status"].get("readyReplicas") == 3 and d["status"].get("updatedReplicas") == 3 and image(d).endswith(":1.27"),
      "upgrade --wait: 3/3 ready on the new image", d["status"])
cfg.rollback("demo", version=1, wait="watcher", timeout=60)
history = [r["status"] for r in cfg.history("demo")]
assert history == ["superseded", "superseded", "deployed"], history
print("helm rollback + history:", history)
d = kget("deploy", "demo")
check(d["spec"]["replicas"] == 2 and image(d).endswith(":" + app_version) and d["status"].get("readyReplicas") == 2,
      "rollback --wait: revision 1's spec is back and ready")
check(release_secrets("demo") == {"1": "superseded", "2": "superseded", "3": "deployed"},
      "release Secrets record the history", release_secrets("demo"))
assert cfg.status("demo")["status"] == "deployed"
assert [r["name"] for r in cfg.list()] == ["demo"]
try:
    cfg.upgrade(chart, "demo", {"image": {"repository": "registry.x.invalid/app"}}, wait="watcher", timeout=5)
    raise SystemExit("an upgrade to an unpullable image should time out")
except helm.HelmError as e:
    print("helm upgrade to a bad image fails:", type(e).__name__, str(e).splitlines()[0][:120])
check(cfg.history("demo")[-1]["status"] == "failed", "the failed upgrade is recorded as failed")
waiting = [c["state"].get("waiting", {}).get("reason") for p in kget("pods", "-l", "app.kubernetes.io/instance=demo")["items"]
           for c in p["status"].get("containerStatuses", [])]
check({"ErrImagePull", "ImagePullBackOff"} & set(waiting), "the new pods wait on the image pull", waiting)
cfg.uninstall("demo", wait="watcher", timeout=60)
assert cfg.list() == []
print("helm uninstall --wait: ok")
check(kget("deploy", "demo") is None and release_secrets("demo") == {}, "uninstall removed the objects and the history")

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
crd = kget("crd", "widgets.example.com")
check(any(c["type"] == "Established" and c["status"] == "True" for c in crd["status"]["conditions"]),
      "the CRD from crds/ is Established")
check(kget("namespace", "hooks") is not None, "--create-namespace created the namespace")
check(kget("widget", "hooky-w", "-n", "hooks")["spec"] == {"size": 1}, "the custom resource was created")
check(kget("job", "hooky-migrate", "-n", "hooks") is None, "the hook Job ran and was deleted (hook-succeeded)")
rel = hooks_cfg.upgrade(hooky, "hooky", {"replicaCount": 2}, wait="watcher", timeout=60)
assert rel["status"] == "deployed", rel
check(kget("deploy", "hooky", "-n", "hooks")["status"].get("readyReplicas") == 2, "upgrade: 2/2 ready")
hooks_cfg.uninstall("hooky", wait="watcher", timeout=60)
check(kget("widget", "hooky-w", "-n", "hooks") is None, "uninstall deleted the custom resource")
check(kget("crd", "widgets.example.com") is not None, "Helm leaves CRDs installed")
print("helm chart with CRD, custom resource and hook Jobs, --create-namespace: ok")
