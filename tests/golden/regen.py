#!/usr/bin/env python3
"""Golden files for `berth template`, produced by real Helm v4.

helm-python-sdk bundles Helm's Go SDK; a client-side dry-run install gives
exactly the manifest `helm template` prints (hooks excepted, so the cases
that render hooks pass --no-hooks, or --skip-tests when their only hooks are
tests, on the berth side). A case may also ask for:

- "include_crds": the chart's crds/ files first, as Helm's renderResources
  writes them (`---\n# Source: <filename>\n<data>\n`, from Helm's own
  Chart.CRDObjects via helm-python-sdk);
- "set_literal": --set-literal expressions, parsed by Helm's strvals and
  merged over "values".

What Helm logs on stderr meanwhile (coalescing warnings and the like), as
the helm CLI prints it, goes to expected/<name>.stderr when there is any
(see template/tests/golden/helm_log.py).

    python tests/golden/regen.py          # rewrite tests/golden/expected/*
    python tests/golden/regen.py --check  # fail if Helm disagrees with them

Run through scripts/test.sh, which installs helm-python-sdk in a venv.
"""
import json
import pathlib
import sys

from helm_python import Chart, Config, parse_set_literal

ROOT = pathlib.Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
sys.path.insert(0, str(ROOT / "template" / "tests" / "golden"))
import helm_log  # noqa: E402

# A kubeconfig that points nowhere: a client-side dry run never connects.
KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: 'https://127.0.0.1:1'}}]
users: [{name: none, user: {token: none}}]
contexts: [{name: none, context: {cluster: none, user: none}}]
current-context: none
"""


def merge(base, over):
    """Helm's mergeMaps (pkg/cli/values/options.go): maps merge, the rest replaces."""
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = v
    return out


def render(case):
    values = case["values"]
    for expr in case.get("set_literal", []):
        values = merge(values, parse_set_literal(expr))
    chart = str(ROOT / case["chart"])
    with helm_log.captured() as stderr:
        with Config(kubeconfig_content=KUBECONFIG, namespace=case["namespace"]) as cfg:
            rel = cfg.install(chart, case["release"], values, dry_run="client")
    crds = ""
    if case.get("include_crds"):
        for crd in Chart.load(chart).crds:
            crds += f"---\n# Source: {crd['filename']}\n{crd['data']}\n"
    log = "".join(line + "\n" for line in helm_log.cli_lines(stderr[0]))
    return (crds + rel["manifest"]).strip() + "\n", log


def main():
    check = "--check" in sys.argv
    cases = json.loads((GOLDEN / "cases.json").read_text())
    out_dir = GOLDEN / "expected"
    out_dir.mkdir(exist_ok=True)
    stale = []
    for case in cases:
        text, log = render(case)
        path = out_dir / f"{case['name']}.yaml"
        log_path = out_dir / f"{case['name']}.stderr"
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(path.name)
            if (log_path.read_text() if log_path.exists() else "") != log:
                stale.append(log_path.name)
        else:
            path.write_text(text)
            if log:
                log_path.write_text(log)
            elif log_path.exists():
                log_path.unlink()
    if stale:
        print("golden files differ from what Helm renders now: " + ", ".join(stale), file=sys.stderr)
        print("regenerate with: python tests/golden/regen.py", file=sys.stderr)
        sys.exit(1)
    print(f"{len(cases)} golden cases {'match Helm' if check else 'written'}")


if __name__ == "__main__":
    main()
