#!/usr/bin/env python3
"""Regenerates berth-template's golden files from real Helm.

Requires `helm-python-sdk` (it bundles Helm v4's Go SDK) and PyYAML:

    python3 -m venv /tmp/tv && /tmp/tv/bin/pip install helm-python-sdk pyyaml
    /tmp/tv/bin/python template/tests/golden/regen.py [NAME...]

With NAMEs, only those case groups (`cases/NAME.yaml`) and charts
(`charts/NAME/`) are regenerated; without, all of them. Go's map order makes
a few error texts (cases marked `unordered`) vary between runs.

Fixtures:

* `cases/<group>.yaml`: template snippets, each rendered as `templates/t.yaml`
  of a throwaway chart `mychart`. Per case: `name`, `template`, and optionally
  `values` (user values), `chart_values` (values.yaml text), `files`
  (chart path -> text), `binary_files` (chart path -> hex bytes), `extra`
  (more files under templates/ -> text), `opts`
  (kube_version, api_versions, strict, name, namespace, revision, is_install,
  is_upgrade). Written to `cases/<group>.json`: the cases plus Helm's
  `expected` ({"output": {file: text}} or {"error": message}, and
  "warnings": the lines the helm CLI would log on stderr meanwhile, when
  there are any; see helm_log.py).
* `charts/<chart>/`: chart directories, rendered once with no user values and
  once per `charts/<chart>.values/<variant>.yaml`. Written to
  `charts/<chart>.json`: variant -> {"values": user values, "coalesced":
  {"values": Helm's coalesced values} or {"error": ...}, "expected": {...},
  "install": the manifest and notes of `helm install --dry-run=client`, which
  also processes dependencies (conditions, tags, aliases, import-values)}.

The Rust tests read only the generated JSON, never Python.
"""
import glob
import json
import os
import shutil
import sys
import tempfile

import yaml
from helm_python import Chart, Config, _native

import helm_log

HERE = os.path.dirname(os.path.abspath(__file__))
ONLY = set(sys.argv[1:])
RENDER_OPTS = {"name": "rel", "namespace": "ns", "revision": 1, "is_install": True}


def render(chart, values, opts):
    with helm_log.captured() as stderr:
        try:
            out = _native.call_string("helm_render", chart._raw(), json.dumps(values or {}), json.dumps(opts))
            result = {"output": json.loads(out)}
        except Exception as e:  # HelmRenderError and friends carry Helm's message
            result = {"error": str(e)}
    warnings = helm_log.cli_lines(stderr[0])
    if warnings:
        result["warnings"] = warnings
    return result


KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
contexts: [{name: x, context: {cluster: c, user: u, namespace: ns}}]
current-context: x
users: [{name: u, user: {token: unused}}]
"""


def install_dry_run(chart, values):
    """`helm install --dry-run=client`: dependencies processed, no cluster."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(KUBECONFIG)
        path = f.name
    try:
        cfg = Config(kubeconfig_path=path, namespace="ns")
        r = cfg.install(chart, "rel", values, namespace="ns", dry_run="client")
        return {"manifest": r["manifest"], "notes": r.get("notes", "")}
    except Exception as e:
        return {"error": str(e)}
    finally:
        os.unlink(path)


def write_chart(d, case):
    os.makedirs(os.path.join(d, "templates"))
    with open(os.path.join(d, "Chart.yaml"), "w") as f:
        f.write(case.get("chart_yaml", 'apiVersion: v2\nname: mychart\nversion: 0.1.0\nappVersion: "1.0"\n'))
    with open(os.path.join(d, "values.yaml"), "w") as f:
        f.write(case.get("chart_values", ""))
    with open(os.path.join(d, "templates", "t.yaml"), "w") as f:
        f.write(case["template"])
    for path, text in (case.get("extra") or {}).items():
        p = os.path.join(d, "templates", path)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
    for path, text in (case.get("files") or {}).items():
        p = os.path.join(d, path)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
    for path, hexdata in (case.get("binary_files") or {}).items():
        p = os.path.join(d, path)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(bytes.fromhex(hexdata))


def selected(name):
    return not ONLY or name in ONLY


def regen_cases():
    for src in sorted(glob.glob(os.path.join(HERE, "cases", "*.yaml"))):
        if not selected(os.path.basename(src)[: -len(".yaml")]):
            continue
        with open(src) as f:
            cases = yaml.safe_load(f)
        names = set()
        for case in cases:
            assert case["name"] not in names, "duplicate case " + case["name"]
            names.add(case["name"])
            d = tempfile.mkdtemp()
            try:
                write_chart(d, case)
                try:
                    chart = Chart.load(d)
                except Exception as e:  # e.g. a values.yaml Helm cannot read
                    case["expected"] = {"error": str(e)}
                    continue
                opts = dict(RENDER_OPTS)
                opts.update(case.get("opts") or {})
                case["expected"] = render(chart, case.get("values"), opts)
            finally:
                shutil.rmtree(d)
        out = src[: -len(".yaml")] + ".json"
        with open(out, "w") as f:
            json.dump(cases, f, indent=1, sort_keys=True, ensure_ascii=False)
            f.write("\n")
        print(f"{os.path.relpath(out, HERE)}: {len(cases)} cases")


def regen_charts():
    for chart_dir in sorted(glob.glob(os.path.join(HERE, "charts", "*", "Chart.yaml"))):
        chart_dir = os.path.dirname(chart_dir)
        if not selected(os.path.basename(chart_dir)):
            continue
        # Helm's install mutates the chart it processes: load afresh each time.
        fresh = lambda: Chart.load(chart_dir)  # noqa: E731
        variants = {"default": {}}
        for vf in sorted(glob.glob(chart_dir + ".values/*.yaml")):
            with open(vf) as f:
                variants[os.path.basename(vf)[: -len(".yaml")]] = yaml.safe_load(f) or {}
        result = {}
        for name, values in variants.items():
            try:
                coalesced = {"values": fresh().merge_values(values)}
            except Exception as e:
                coalesced = {"error": str(e)}
            result[name] = {
                "values": values,
                "coalesced": coalesced,
                "expected": render(fresh(), values, RENDER_OPTS),
                "install": install_dry_run(fresh(), values),
            }
        out = chart_dir + ".json"
        with open(out, "w") as f:
            json.dump(result, f, indent=1, sort_keys=True, ensure_ascii=False)
            f.write("\n")
        print(f"{os.path.relpath(out, HERE)}: {len(variants)} variants")


if __name__ == "__main__":
    regen_cases()
    regen_charts()
    sys.exit(0)
