"""Real Helm v4 (helm-python-sdk) for berth's migration tests (tests/it/migrate.rs).

    python migrate.py make KUBECONFIG WORKDIR NAMESPACE NAME
        Writes a small chart and runs Helm against the cluster: install,
        upgrade to a new chart version, upgrade with new values, and an
        upgrade that fails (an object in a namespace that does not exist).
        Prints Helm's view of the history as JSON.

    python migrate.py upgrade KUBECONFIG WORKDIR NAMESPACE NAME MESSAGE
        Upgrades the release with Helm (the chart make wrote), as a team
        going back to Helm would.

    python migrate.py read KUBECONFIG NAMESPACE NAME
        Prints what Helm reads of the release as JSON: `helm list -a` and
        every revision's history row, manifest, values, notes and hooks.
"""
import json
import os
import sys

import helm_python as helm

CHART_YAML = """apiVersion: v2
name: legacy
version: {version}
appVersion: "{app}"
"""
VALUES = "message: hello\nnamespaceOverride: \"\"\n"
TEMPLATES = {
    "configmap.yaml": """apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-config
  namespace: {{ .Values.namespaceOverride | default .Release.Namespace }}
data:
  message: {{ .Values.message | quote }}
  chart: {{ .Chart.Version | quote }}
""",
    "hook.yaml": """apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-hook
  annotations:
    "helm.sh/hook": post-install,post-upgrade
    "helm.sh/hook-weight": "5"
    "helm.sh/hook-delete-policy": before-hook-creation
data:
  at: {{ .Release.Revision | quote }}
""",
    "NOTES.txt": "legacy says {{ .Values.message }}\n",
}


def write_chart(workdir, version, app):
    root = os.path.join(workdir, "legacy")
    os.makedirs(os.path.join(root, "templates"), exist_ok=True)
    with open(os.path.join(root, "Chart.yaml"), "w") as f:
        f.write(CHART_YAML.format(version=version, app=app))
    with open(os.path.join(root, "values.yaml"), "w") as f:
        f.write(VALUES)
    for name, text in TEMPLATES.items():
        with open(os.path.join(root, "templates", name), "w") as f:
            f.write(text)
    return root


def history(cfg, name):
    """Each revision as `helm history` shows it, with its manifest and values."""
    out = []
    for r in cfg.history(name):
        whole = cfg.get_all(name, revision=r["revision"])
        out.append({
            "revision": r["revision"],
            "status": r["status"],
            "chart": f'{r["chart_name"]}-{r["chart_version"]}',
            "app_version": r["app_version"],
            "description": whole["info"].get("description", ""),
            "manifest": whole["summary"]["manifest"],
            "values": cfg.get_values(name, revision=r["revision"]),
            "notes": whole["summary"].get("notes", ""),
            "hooks": [h["name"] for h in whole.get("hooks") or []],
        })
    return out


def make(kubeconfig, workdir, ns, name):
    cfg = helm.Config(kubeconfig_path=kubeconfig, namespace=ns)
    cfg.install(write_chart(workdir, "0.1.0", "1.0"), name, {"message": "one"}, timeout=60,
                labels={"team": "legacy"})
    cfg.upgrade(write_chart(workdir, "0.2.0", "2.0"), name, {"message": "two"}, timeout=60)
    cfg.upgrade(write_chart(workdir, "0.2.0", "2.0"), name, {"message": "three"}, timeout=60)
    try:
        cfg.upgrade(write_chart(workdir, "0.2.0", "2.0"), name,
                    {"message": "four", "namespaceOverride": "no-such-namespace"}, timeout=60)
        raise SystemExit("the upgrade into a missing namespace should have failed")
    except helm.HelmError:
        pass
    print(json.dumps({"history": history(cfg, name)}))


def upgrade(kubeconfig, workdir, ns, name, message):
    cfg = helm.Config(kubeconfig_path=kubeconfig, namespace=ns)
    rel = cfg.upgrade(write_chart(workdir, "0.2.0", "2.0"), name, {"message": message}, timeout=60)
    print(json.dumps({"revision": rel["version"] if "version" in rel else rel.get("revision"),
                      "status": rel.get("status") or rel["info"]["status"]}))


def read(kubeconfig, ns, name):
    cfg = helm.Config(kubeconfig_path=kubeconfig, namespace=ns)
    listed = [{"name": r["name"], "revision": r["revision"], "status": r["status"]}
              for r in cfg.list(all_states=True)]
    print(json.dumps({"list": listed, "history": history(cfg, name)}))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"make": make, "upgrade": upgrade, "read": read}[cmd](*args)
