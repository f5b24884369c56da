"""Real Helm v4 (helm-python-sdk), one JSON request a line on stdin, one
JSON answer a line on stdout; harness.helm() starts it. A process of its
own because Helm can die of a Go fatal error (a stack overflow) or hang.

Requests, by "op":
- render {dir, values, opts}: Helm's engine on the chart directory, as
  helm_render does (no dependency processing beyond the engine's):
  {"output": {path: text}} or {"error": msg} ("LOAD: " msg if the chart
  does not load, as the berth driver writes it).
- install {dir, values}: `helm install --dry-run=client` (what
  `helm template` runs: dependencies processed, hooks apart):
  {"manifest": text} or {"error": msg}.
- strvals {kind, expr}: --set/--set-string/--set-json/--set-literal:
  {"values": {..}} or {"error": msg}.
- lint {cwd, path, values, opts}: action.Lint of one path, run from the
  directory cwd (the path may be relative), opts chart.lint's keywords:
  {"report": {total_charts_linted, messages, errors}} or {"error": msg}.
- load_values {text}: the text as a values file, read as Helm's
  loader.LoadValues reads values.yaml and `-f` files (several documents):
  {"values": {..}} or {"error": msg}.
"""
import ctypes
import json
import os
import shutil
import sys
import tempfile

from helm_python import Chart, Config, _native
from helm_python import chart as chart_api

from harness import go_text


def take_string(ptr):
    """helm-python-sdk's take_string, but for Go's byte strings: a message
    that is not UTF-8 (`range can't iterate over` b64dec's bytes) is kept
    in berth's notation of such bytes, where the SDK's strict decoding
    would raise."""
    if not ptr:
        return None
    try:
        return go_text(ctypes.string_at(ptr))
    finally:
        _native.lib.helm_free_string(ctypes.c_void_p(ptr))


_native.take_string = take_string


def go_json(payload):
    """JSON from Go: a float64 -0 comes as `-0`, which Python's json would
    read as the int 0, losing the sign that berth's side keeps."""
    return json.loads(payload, parse_int=lambda s: -0.0 if s == "-0" else int(s))

STRVALS = {"set": "helm_strvals_parse", "string": "helm_strvals_parse_string",
           "json": "helm_strvals_parse_json", "literal": "helm_strvals_parse_literal"}

# A kubeconfig that points nowhere: a client-side dry run never connects.
KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: 'https://127.0.0.1:1'}}]
users: [{name: none, user: {token: none}}]
contexts: [{name: none, context: {cluster: none, user: none}}]
current-context: none
"""

# Where load_values writes its throwaway chart: harness.helm() passes a
# directory of the run's; alone, a temporary one.
SCRATCH = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="difftest-helm-")
os.makedirs(SCRATCH, exist_ok=True)
KUBECONFIG_PATH = os.path.join(SCRATCH, "kubeconfig")
with open(KUBECONFIG_PATH, "w") as f:
    f.write(KUBECONFIG)


def render(req):
    try:
        chart = Chart.load(req["dir"])
    except Exception as e:
        return {"error": "LOAD: " + str(e)}
    try:
        out = _native.call_string("helm_render", chart._raw(), json.dumps(req.get("values") or {}),
                                  json.dumps(req["opts"]))
        return {"output": go_json(out)}
    except Exception as e:  # HelmRenderError and friends carry Helm's message
        return {"error": str(e)}


def install(req):
    try:
        chart = Chart.load(req["dir"])
    except Exception as e:
        return {"error": str(e)}
    try:
        cfg = Config(kubeconfig_path=KUBECONFIG_PATH, namespace="ns")
        r = cfg.install(chart, "rel", req.get("values") or {}, namespace="ns", dry_run="client")
        return {"manifest": r.get("manifest", "")}  # no key when nothing rendered
    except Exception as e:
        return {"error": str(e)}


def strvals(req):
    try:
        return {"values": go_json(_native.call_string(STRVALS[req["kind"]], req["expr"]))}
    except Exception as e:
        return {"error": str(e)}


def load_values(req):
    d = os.path.join(SCRATCH, "values-chart")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    with open(os.path.join(d, "Chart.yaml"), "w") as f:
        f.write("apiVersion: v2\nname: v\nversion: 0.1.0\n")
    with open(os.path.join(d, "values.yaml"), "w") as f:
        f.write(req["text"])
    try:
        chart = Chart.load(d)  # held: the handle is freed with the object
        return {"values": go_json(_native.call_string("helm_chart_values", chart._raw()))}
    except Exception as e:
        return {"error": str(e).removeprefix("cannot load values.yaml: ")}


def lint(req):
    try:
        os.chdir(req["cwd"])
        return {"report": chart_api.lint(req["path"], req.get("values") or None, **req["opts"])}
    except Exception as e:
        return {"error": str(e)}


OPS = {"render": render, "lint": lint, "install": install, "strvals": strvals, "load_values": load_values}


def main():
    for line in sys.stdin:
        req = json.loads(line)
        sys.stdout.write(json.dumps(OPS[req["op"]](req)) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
