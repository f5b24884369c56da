"""yaml: random YAML values documents (gen_yaml.py) as a chart's
values.yaml and as a `-f` file of `berth template`, against Helm reading
the same (loader.LoadValues for both, the CLI's "failed to parse" for the
file). The templates print `toJson .Values` and `toYaml .Values`; the
texts and the errors are compared exactly."""
import os
import random

import gen_yaml
import harness
import shrink

from .base import Suite

CHART_YAML = "apiVersion: v2\nname: y\nversion: 0.1.0\n"
TEMPLATES = {"templates/j.yaml": "j: {{ toJson .Values | b64enc }}\n",
             "templates/y.yaml": "y: {{ toYaml .Values | b64enc }}\n"}


def decode(files):
    """{template file name: the text it printed}."""
    out = {}
    for path, text in files.items():
        name = path.rsplit("/", 1)[-1]
        out[name] = harness.b64_lines(text, name[0] + ": ")
    return out


class YamlFiles(Suite):
    NAME = "yaml"
    ABOUT = "random YAML values files (values.yaml and -f), Helm's reader vs berth's"

    def generate(self, seed):
        r = random.Random(seed)
        values = gen_yaml.gen_doc(r)
        value_file = gen_yaml.gen_doc(r) if r.random() < 0.5 else None
        return {"values_yaml": values, "value_file": value_file}

    def files(self, case):
        return {"Chart.yaml": CHART_YAML, "values.yaml": case["values_yaml"], **TEMPLATES}

    def run(self, case, work):
        d = os.path.join(work, "chart")
        harness.write_tree(d, self.files(case))
        args = ["template", "rel", d, "-n", "ns"]
        path = os.path.join(work, "user.yaml")
        if case["value_file"] is not None:
            with open(path, "w") as f:
                f.write(case["value_file"])
            args += ["-f", path]
        return self.helm_side(case, d, path), self.berth_side(args)

    def helm_side(self, case, d, path):
        helm = harness.helm()
        user = {}
        if case["value_file"] is not None:
            r = helm.call({"op": "load_values", "text": case["value_file"]})
            if "error" in r:
                return {"error": f"failed to parse {path}: {r['error']}"}
            if "values" not in r:
                return r
            user = r["values"]
        h = helm.call({"op": "render", "dir": d, "values": user, "opts": harness.RENDER_OPTS})
        if "error" in h:
            return {"error": h["error"].removeprefix("LOAD: ")}
        return {"output": decode(h["output"])} if "output" in h else h

    @staticmethod
    def berth_side(args):
        b = harness.berth_cli(args)
        return {"output": decode(harness.sources(b["output"]))} if "output" in b else b

    def smaller(self, case):
        if case["value_file"] is not None:
            yield dict(case, value_file=None)
        yield from shrink.text_smaller(case, ("values_yaml", "value_file"))

    def reproducer(self, case):
        files = {"chart/" + p: t for p, t in self.files(case).items()}
        args = ["template", "rel", "chart", "-n", "ns"]
        if case["value_file"] is not None:
            files["user.yaml"] = case["value_file"]
            args += ["-f", "user.yaml"]
        return {"files": files, "args": args}
