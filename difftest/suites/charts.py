"""charts: random chart trees (gen_chart.py: subcharts as directories and
.tgz, aliases, conditions, tags, import-values, globals, nulls, library
charts, .Files, .helmignore, crds/) and user values: Helm's
`install --dry-run=client` manifest (what `helm template` prints) vs
`berth template`, and their errors, compared exactly."""
import json
import os

import gen_chart
import harness
import shrink

from .base import Suite


class Charts(Suite):
    NAME = "charts"
    ABOUT = "random chart trees, `helm install --dry-run=client` vs `berth template`"

    def generate(self, seed):
        files, user = gen_chart.gen_case(seed)
        return {"files": files, "values": user}

    def write(self, case, work):
        d = os.path.join(work, "chart")
        harness.write_tree(d, case["files"])
        values = os.path.join(work, "values.json")
        with open(values, "w") as f:
            json.dump(case["values"], f)
        return d, values

    def run(self, case, work, extra_args=()):
        d, values = self.write(case, work)
        h = harness.helm().call({"op": "install", "dir": d, "values": case["values"]})
        if "manifest" in h:
            h = {"output": h["manifest"].rstrip()}
        b = harness.berth_cli(["template", "rel", d, "-n", "ns", "-f", values, *extra_args])
        if "output" in b:
            b = {"output": b["output"].rstrip()}
        return h, b

    def smaller(self, case):
        return shrink.tree_smaller(case)

    def size(self, case):
        return shrink.tree_size(case)

    def reproducer(self, case):
        return harness.chart_reproducer(case["files"], case["values"])
