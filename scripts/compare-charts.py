#!/usr/bin/env python3
"""Compares `berth template` with real Helm v4 on chart directories, byte for byte.

Fetches nothing: point it at chart directories whose dependencies are already
in charts/ (e.g. public charts unpacked under /tmp).

    .venv/bin/python scripts/compare-charts.py [--berth PATH] [--out DIR] \
        CHART_DIR[=VALUES.yaml[,MORE.yaml]] ...

Each argument is one comparison: the chart with default values, or with the
given values files (merged in order, like repeated -f). For each it compares

* the manifest: `berth template --no-hooks` against the manifest of Helm's
  client-side dry-run install (what `helm template` prints before the hooks);
* the hooks: berth's output after the manifest against the hooks section
  `helm template` appends (pkg/cmd/template.go: "---\\n# Source: PATH\\n" +
  hook manifest for each of rel.Hooks). The Python SDK's install result carries
  no hooks, so they are rebuilt here from Helm's own per-file rendering
  (helm_render, which processes dependencies) the way
  pkg/release/v1/util.SortManifests picks and orders them.

Lines that change between two runs of either tool (random passwords, generated
certificates, `now`) are masked before comparing; the report counts them.
Prints one line per comparison and writes berth/helm outputs and a unified
diff to --out (default /tmp/compare-charts) when they differ. Exit code 1 if
anything differs.
"""
import argparse
import difflib
import json
import os
import pathlib
import re
import subprocess
import sys
import time

import yaml
from helm_python import Chart, Config, _native

ROOT = pathlib.Path(__file__).resolve().parents[1]

KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: 'https://127.0.0.1:1'}}]
users: [{name: none, user: {token: none}}]
contexts: [{name: none, context: {cluster: none, user: none}}]
current-context: none
"""

# pkg/release/v1/util/kind_sorter.go InstallOrder
INSTALL_ORDER = """PriorityClass Namespace NetworkPolicy ResourceQuota LimitRange
PodSecurityPolicy PodDisruptionBudget ServiceAccount Secret SecretList ConfigMap
StorageClass PersistentVolume PersistentVolumeClaim CustomResourceDefinition
ClusterRole ClusterRoleList ClusterRoleBinding ClusterRoleBindingList Role
RoleList RoleBinding RoleBindingList Service DaemonSet Pod ReplicationController
ReplicaSet Deployment HorizontalPodAutoscaler StatefulSet Job CronJob
IngressClass Ingress APIService MutatingWebhookConfiguration
ValidatingWebhookConfiguration""".split()
HOOK_EVENTS = {
    "pre-install", "post-install", "pre-delete", "post-delete", "pre-upgrade",
    "post-upgrade", "pre-rollback", "post-rollback", "test", "test-success",
}
# v4.2.3 (the SDK's Helm); 4.2.4 narrowed it to (?m)^---[ \t]*
SEP = re.compile(r"(?:^|[\t\n\f\r ]*\n)---[\t\n\f\r ]*")


def load_values(files):
    values = {}
    for f in files:
        # Helm's ReadValues takes a file's first document only.
        first = next(yaml.safe_load_all(pathlib.Path(f).read_text()), None)
        values = merge(values, first or {})
    return values


def merge(base, over):
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = v
    return out


def helm_manifest(chart, name, namespace, values):
    with Config(kubeconfig_content=KUBECONFIG, namespace=namespace) as cfg:
        rel = cfg.install(chart, name, values, namespace=namespace, dry_run="client")
    # The SDK leaves the key out when nothing rendered.
    return rel.get("manifest", "").strip() + "\n"


def helm_sorted(chart, name, namespace, values, caps):
    """The manifest and the hooks section of `helm template`, rebuilt from
    Helm's own per-file rendering the way releaseutil.SortManifests splits,
    picks and orders documents."""
    opts = {"name": name, "namespace": namespace, "revision": 1, "is_install": True, **caps}
    with Chart.load(chart) as ch:
        files = json.loads(_native.call_string("helm_render", ch._raw(), json.dumps(values), json.dumps(opts)))
    manifests, hooks = [], []
    for path in sorted(files):
        content = files[path]
        # action.renderResources drops NOTES.txt before sorting.
        if path.endswith("NOTES.txt"):
            continue
        if os.path.basename(path).startswith("_") or not content.strip():
            continue
        for doc in SEP.split(content.lstrip()):
            if not doc.strip():
                continue
            doc = doc.lstrip()
            head = yaml.safe_load(doc) or {}
            ann = ((head.get("metadata") or {}).get("annotations")) or {}
            kind = str(head.get("kind") or "")
            if "helm.sh/hook" not in ann:
                manifests.append((kind, path, doc))
                continue
            events = [e.strip().lower() for e in str(ann["helm.sh/hook"]).split(",")]
            if not all(e in HOOK_EVENTS for e in events):
                continue
            hooks.append((kind, path, doc))
    rank = {k: i for i, k in enumerate(INSTALL_ORDER)}

    def emit(docs):
        # Known kinds in install order, then unknown kinds alphabetically; stable.
        docs.sort(key=lambda h: (0, rank[h[0]], "") if h[0] in rank else (1, 0, h[0]))
        return "".join(f"---\n# Source: {p}\n{m}\n" for _, p, m in docs)

    return emit(manifests).strip() + "\n", emit(hooks)


def berth(binary, chart, name, namespace, values_files, no_hooks, flags=()):
    cmd = [binary, "template", name, chart, "-n", namespace, *flags]
    for f in values_files:
        cmd += ["-f", f]
    if no_hooks:
        cmd.append("--no-hooks")
    # Bytes, decoded as they are: text mode would turn a template's CRLF
    # line ends into LF, which Helm keeps.
    p = subprocess.run(cmd, capture_output=True)
    if p.returncode != 0:
        return "ERROR: " + p.stderr.decode("utf-8", "replace")
    return p.stdout.decode("utf-8", "replace")


def berth_parts(binary, chart, name, namespace, files, flags):
    """(manifest, hooks) as berth prints them; the hooks are what --no-hooks leaves out."""
    manifest = berth(binary, chart, name, namespace, files, True, flags)
    full = berth(binary, chart, name, namespace, files, False, flags)
    if manifest.startswith("ERROR: "):
        return manifest, full
    # By lines, not by prefix: random values differ between the two runs.
    n = len(manifest.splitlines(True))
    return manifest, "".join(full.splitlines(True)[n:])


def helm_parts(chart, name, namespace, values, caps):
    manifest = None
    if not caps:
        # The real install path where it can be had (it cannot take
        # capabilities); the rebuilt manifest agrees with it otherwise.
        try:
            manifest = helm_manifest(chart, name, namespace, values)
        except Exception as e:  # Helm's own failure is the expectation then
            return ("ERROR: " + str(e),) * 2
    try:
        rebuilt, hooks = helm_sorted(chart, name, namespace, values, caps)
    except yaml.YAMLError as e:
        # Helm rendered, but a document does not parse: Helm's message is
        # go-yaml's, which this rebuild cannot give.
        return ("ERROR: (PyYAML, not Helm's words) " + str(e),) * 2
    except Exception as e:
        return ("ERROR: " + str(e),) * 2
    return manifest if manifest is not None else rebuilt, hooks


def mask_varying(ours, theirs, ours2, theirs2):
    """Blank out the lines that change from run to run of either tool
    (randAlphaNum passwords, genCA certificates, `now`), so that the rest can
    still be compared byte for byte. Returns the masked pair and how many lines."""
    runs = [x.splitlines(True) for x in (ours, theirs, ours2, theirs2)]
    if len({len(r) for r in runs}) != 1:
        return ours, theirs, 0
    a, b, a2, b2 = runs
    varying = {i for i in range(len(a)) if a[i] != a2[i] or b[i] != b2[i]}
    mask = lambda lines: "".join("<varies between runs>\n" if i in varying else l for i, l in enumerate(lines))
    return mask(a), mask(b), len(varying)


def compare(label, ours, theirs, out_dir):
    if ours == theirs:
        return True
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{label}.berth.yaml").write_text(ours)
    (out_dir / f"{label}.helm.yaml").write_text(theirs)
    diff = difflib.unified_diff(theirs.splitlines(True), ours.splitlines(True), "helm", "berth")
    (out_dir / f"{label}.diff").write_text("".join(diff))
    return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--berth", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", ROOT / "target"), "debug", "berth"))
    ap.add_argument("--name", default="rel")
    ap.add_argument("--namespace", default="ns")
    ap.add_argument("--out", default="/tmp/compare-charts", type=pathlib.Path)
    ap.add_argument("--kube-version", help="as helm template --kube-version")
    ap.add_argument("-a", "--api-versions", action="append", default=[],
                    help="as helm template -a (repeatable); the manifest is then rebuilt "
                    "from Helm's per-file rendering, as the install path cannot take it")
    ap.add_argument("specs", nargs="+", metavar="CHART_DIR[=VALUES.yaml,...]")
    a = ap.parse_args()
    caps, flags = {}, []
    if a.kube_version:
        caps["kube_version"] = a.kube_version
        flags += ["--kube-version", a.kube_version]
    if a.api_versions:
        caps["api_versions"] = a.api_versions
        flags += [f for v in a.api_versions for f in ("-a", v)]
    failed = 0
    for spec in a.specs:
        chart, _, vals = spec.partition("=")
        chart = str(pathlib.Path(chart).resolve())
        files = [str(pathlib.Path(v).resolve()) for v in vals.split(",") if v]
        label = pathlib.Path(chart).name + "".join("+" + pathlib.Path(f).stem for f in files)
        for old in a.out.glob(f"{label}.*"):
            old.unlink()
        values = load_values(files)
        helm = helm_parts(chart, a.name, a.namespace, values, caps)
        ours = berth_parts(a.berth, chart, a.name, a.namespace, files, flags)
        again = None
        results = []
        for i, part in enumerate(("manifest", "hooks")):
            theirs_i, ours_i = helm[i], ours[i]
            if theirs_i.startswith("ERROR: ") and ours[0].startswith("ERROR: "):
                # berth prints `Error: <message>` as the helm CLI does; the
                # SDK gives the bare message. First lines only.
                helm_msg = "Error: " + theirs_i[7:].strip().split("\n")[0]
                berth_msg = ours[0][7:].strip().split("\n")[0]
                same = helm_msg == berth_msg
                failed += not same
                results.append(f"{part}: both fail, {'same error' if same else 'DIFFERENT error'} "
                               f"({helm_msg[:200]!r}" + ("" if same else f" vs {berth_msg[:200]!r}") + ")")
                continue
            note = ""
            if ours_i != theirs_i:
                if again is None:
                    time.sleep(1.1)  # so that `now` moves on too
                    again = (helm_parts(chart, a.name, a.namespace, values, caps),
                             berth_parts(a.berth, chart, a.name, a.namespace, files, flags))
                ours_i, theirs_i, n = mask_varying(ours_i, theirs_i, again[1][i], again[0][i])
                note = f", {n} lines vary between runs" if n else ""
            same = compare(f"{label}.{part}", ours_i, theirs_i, a.out)
            docs = theirs_i.count("\n# Source: ") + theirs_i.startswith("# Source: ")
            results.append(f"{part}: {'identical' if same else 'DIFFERENT'} ({docs} docs{note})")
            failed += not same
        print(f"{label}: " + "; ".join(results), flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
