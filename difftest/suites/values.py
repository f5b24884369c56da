"""values: the values pipeline through the real `berth template` CLI: a
random values.yaml, a subchart's values.yaml (globals, parent overrides,
nulls) and -f files, plus a --set on fresh keys. Helm's side is what its
CLI does: each -f file read as loader.LoadValues reads it, merged as
pkg/cli/values mergeMaps merges, the --set parsed by strvals, then an
install --dry-run=client. Both charts print `toJson .Values`; the values
(numbers by value) and errors are compared."""
import json
import os
import random

import gen_template
import harness

from .base import Suite

SUB_CHART = "apiVersion: v2\nname: sub\nversion: 0.1.0\n"
PARENT_CHART = "apiVersion: v2\nname: mychart\nversion: 0.1.0\ndependencies:\n- name: sub\n  version: 0.1.0\n"
TPL = "v: {{ toJson .Values | b64enc }}\n"


def merge_maps(a, b):
    """Helm's pkg/cli/values mergeMaps."""
    out = dict(a)
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge_maps(out[k], v)
        else:
            out[k] = v
    return out


def decode(files):
    """{template path: the values it printed}."""
    return {p: [json.loads(v) for v in harness.b64_lines(t, "v: ")] for p, t in files.items()}


class Values(Suite):
    NAME = "values"
    ABOUT = "values.yaml + subchart + -f files + --set through `berth template` vs Helm's CLI pipeline"

    def generate(self, seed):
        r = random.Random(seed)
        chart_vals = gen_template.rand_map(r, 0, r.randint(1, 5))
        if r.random() < 0.6:
            chart_vals["global"] = gen_template.rand_map(r, 1, r.randint(0, 3))
        if r.random() < 0.7:
            chart_vals["sub"] = gen_template.rand_map(r, 1, r.randint(0, 3))
            if r.random() < 0.3:
                chart_vals["sub"]["global"] = gen_template.rand_map(r, 2, 2)
        sub_vals = gen_template.rand_map(r, 0, r.randint(0, 3))
        if r.random() < 0.5:
            sub_vals["global"] = gen_template.rand_map(r, 1, 2)
        files = []
        keys = list(chart_vals) + ["sub", "global", "new"]
        for _ in range(r.randint(0, 3)):
            f = {}
            for _ in range(r.randint(1, 3)):
                k = r.choice(keys)
                v = gen_template.rand_value(r, 1) if r.random() < 0.8 else None
                if k in ("sub", "global") and r.random() < 0.7:
                    v = gen_template.rand_map(r, 2, 2)
                    if r.random() < 0.3:
                        v[r.choice(list(v) or ["q"])] = None
                f[k] = v
            files.append(f)
        set_expr = None
        if r.random() < 0.5:
            # fresh keys only: Helm's ParseInto over the merged files is then a merge
            set_expr = ",".join(
                f"s{i}{r.choice(['', '.x', '[0]', '.y[1]'])}={r.choice(['1', 'true', 'null', 'x', '{a,b}', '0x10', '1.5'])}"
                for i in range(r.randint(1, 3)))
        return {
            "chart_values": gen_template.yaml_text(r, chart_vals),
            "sub_values": gen_template.yaml_text(r, sub_vals),
            "value_files": [gen_template.yaml_text(r, f) for f in files],
            "set": set_expr,
        }

    def files(self, case):
        return {"Chart.yaml": PARENT_CHART, "values.yaml": case["chart_values"], "templates/t.yaml": TPL,
                "charts/sub/Chart.yaml": SUB_CHART, "charts/sub/values.yaml": case["sub_values"],
                "charts/sub/templates/t.yaml": TPL}

    def args(self, case, d, paths):
        args = ["template", "rel", d]
        for p in paths:
            args += ["-f", p]
        if case["set"]:
            args += ["--set", case["set"]]
        return args

    def run(self, case, work):
        d = os.path.join(work, "chart")
        harness.write_tree(d, self.files(case))
        paths = []
        for i, text in enumerate(case["value_files"]):
            paths.append(os.path.join(work, f"values-{i}.yaml"))
            with open(paths[-1], "w") as f:
                f.write(text)
        return self.helm_side(case, d, paths), self.berth_side(case, d, paths)

    def helm_side(self, case, d, paths):
        helm = harness.helm()
        user = {}
        for path, text in zip(paths, case["value_files"]):
            r = helm.call({"op": "load_values", "text": text})
            if "error" in r:
                return {"error": f"failed to parse {path}: {r['error']}"}
            if "values" not in r:
                return r
            user = merge_maps(user, r["values"])
        if case["set"]:
            r = helm.call({"op": "strvals", "kind": "set", "expr": case["set"]})
            if "error" in r:
                return {"error": f"failed parsing --set data: {r['error']}"}
            user = merge_maps(user, r["values"])
        # What `helm template` runs: an install, dependencies processed.
        h = helm.call({"op": "install", "dir": d, "values": user})
        return {"output": decode(harness.sources(h["manifest"]))} if "manifest" in h else h

    def berth_side(self, case, d, paths):
        b = harness.berth_cli(self.args(case, d, paths) + ["-n", "ns"])
        return {"output": decode(harness.sources(b["output"]))} if "output" in b else b

    def compare(self, h, b):
        return harness.classify(h, b, equal=harness.same)

    def smaller(self, case):
        for i in range(len(case["value_files"])):
            c = dict(case)
            c["value_files"] = case["value_files"][:i] + case["value_files"][i + 1:]
            yield c
        if case["set"]:
            yield dict(case, set=None)
        for k in ("chart_values", "sub_values"):
            lines = case[k].split("\n")
            for i in range(len(lines)):
                yield dict(case, **{k: "\n".join(lines[:i] + lines[i + 1:])})
        for n, text in enumerate(case["value_files"]):
            lines = text.split("\n")
            for i in range(len(lines)):
                vf = list(case["value_files"])
                vf[n] = "\n".join(lines[:i] + lines[i + 1:])
                yield dict(case, value_files=vf)

    def reproducer(self, case):
        files = {"chart/" + p: t for p, t in self.files(case).items()}
        names = [f"values-{i}.yaml" for i in range(len(case["value_files"]))]
        files.update(zip(names, case["value_files"]))
        return {"files": files, "args": self.args(case, "chart", names) + ["-n", "ns"]}
