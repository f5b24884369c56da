"""templates: random templates (gen_template.py) over random values,
rendered by Helm's engine (helm_render) and by berth-template (the driver),
as the files of a one-chart release; outputs and errors compared exactly."""
import os

import gen_template
import harness

from .base import Suite

CHART_YAML = 'apiVersion: v2\nname: mychart\nversion: 0.1.0\nappVersion: "1.0"\n'


class Templates(Suite):
    NAME = "templates"
    ABOUT = "random templates over ~200 Sprig/Helm functions, Helm's engine vs berth-template"

    def generate(self, seed):
        return gen_template.gen_case(seed)

    def files(self, case):
        files = {"Chart.yaml": CHART_YAML, "values.yaml": case["chart_values"]}
        files.update(gen_template.case_files(case))
        return files

    def run(self, case, work):
        d = os.path.join(work, "chart")
        harness.write_tree(d, self.files(case))
        req = {"op": "render", "dir": d, "values": case["values"], "opts": harness.RENDER_OPTS}
        return harness.helm().call(req), harness.berth_render(req)

    def smaller(self, case):
        return gen_template.smaller(case)

    def reproducer(self, case):
        # The driver renders as berthd does; `berth template` shows the
        # same but also checks that the output is YAML.
        return harness.chart_reproducer(self.files(case), case["values"])
