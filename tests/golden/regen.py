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
(see template/tests/golden/helm_log.py). When Helm fails, there is no .yaml
and the .stderr ends with the CLI's `Error: <message>` line.

strvals.json holds --set/--set-string/--set-json/--set-literal/--set-file
expressions
and, as "expected", the values Helm's strvals parses from each, or the error
`helm template` prints (pkg/cli/values/options.go's wrapping included).

    python tests/golden/regen.py          # rewrite tests/golden/expected/*
    python tests/golden/regen.py --check  # fail if Helm disagrees with them

Run through scripts/test.sh, which installs helm-python-sdk in a venv.
"""
import json
import os
import pathlib
import sys

from helm_python import (
    Chart,
    Config,
    parse_set_file,
    parse_set_json,
    parse_set_literal,
    parse_set_string,
    parse_set_string_values,
)

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
    error = None
    with helm_log.captured() as stderr:
        try:
            with Config(kubeconfig_content=KUBECONFIG, namespace=case["namespace"]) as cfg:
                rel = cfg.install(chart, case["release"], values, dry_run="client")
        except Exception as e:  # HelmError and friends carry Helm's message
            error = str(e)
    log = "".join(line + "\n" for line in helm_log.cli_lines(stderr[0]))
    if error is not None:
        return None, log + f"Error: {error}\n"
    crds = ""
    if case.get("include_crds"):
        for crd in Chart.load(chart).crds:
            crds += f"---\n# Source: {crd['filename']}\n{crd['data']}\n"
    return (crds + rel["manifest"]).strip() + "\n", log


# pkg/cli/values/options.go: how MergeValues reports each flag's failure.
STRVALS = {
    "set": (parse_set_string, lambda expr, e: f"failed parsing --set data: {e}"),
    "set-string": (parse_set_string_values, lambda expr, e: f"failed parsing --set-string data: {e}"),
    "set-json": (parse_set_json, lambda expr, e: f"failed parsing --set-json data {expr}"),
    "set-literal": (parse_set_literal, lambda expr, e: f"failed parsing --set-literal data: {e}"),
    # Paths are relative to the repository root, where the Rust test runs.
    "set-file": (parse_set_file, lambda expr, e: f"failed parsing --set-file data: {e}"),
}


def strvals_expected(case):
    parse, wrap = STRVALS[case["flag"]]
    expr = case["expr"]
    trimmed = expr.strip()
    if case["flag"] == "set-json" and trimmed.startswith("{"):
        # A whole JSON object, decoded by encoding/json and merged as is.
        try:
            value = json.loads(trimmed)
        except ValueError:
            return {"error": f"failed parsing --set-json data JSON: {expr}"}
        return {"values": value}
    try:
        return {"values": parse(expr)}
    except Exception as e:  # HelmValuesError carries strvals' message
        return {"error": wrap(expr, e)}


def regen_strvals(check):
    os.chdir(ROOT)
    path = GOLDEN / "strvals.json"
    cases = json.loads(path.read_text())
    fresh = [dict(c, expected=strvals_expected(c)) for c in cases]
    text = json.dumps(fresh, indent=1, ensure_ascii=False) + "\n"
    if check:
        return [] if path.read_text() == text else [path.name]
    path.write_text(text)
    return []


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
            if (path.read_text() if path.exists() else None) != text:
                stale.append(path.name)
            if (log_path.read_text() if log_path.exists() else "") != log:
                stale.append(log_path.name)
        else:
            if text is not None:
                path.write_text(text)
            elif path.exists():
                path.unlink()
            if log:
                log_path.write_text(log)
            elif log_path.exists():
                log_path.unlink()
    stale += regen_strvals(check)
    if stale:
        print("golden files differ from what Helm renders now: " + ", ".join(stale), file=sys.stderr)
        print("regenerate with: python tests/golden/regen.py", file=sys.stderr)
        sys.exit(1)
    print(f"{len(cases)} golden cases {'match Helm' if check else 'written'}")


if __name__ == "__main__":
    main()
