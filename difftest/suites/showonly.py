"""show-only: `berth template --show-only` on random chart trees (as in
charts) vs what Helm's `helm template --show-only` does with the same
release: its pkg/cmd/template.go logic (split the manifest, match each
pattern with filepath.Match against `# Source:` paths, fail on a pattern
that matches nothing), re-implemented here over Helm's install manifest."""
import random
import re

import harness

from .charts import Charts

PATTERNS = [
    "templates/cm.yaml", "charts/alpha/templates/cm.yaml", "templates/*", "templates/sub/*",
    "charts/*/templates/cm.yaml", "templates/missing.yaml", "templates/[ab]0.yaml", "templates/?0.yaml", "*",
    "templates/_helpers.tpl", "templates/NOTES.txt", "templates/notatemplate.txt",
    "charts/beta/charts/deep/templates/*", "templates/[^a]*", "templates/[!a]*", "templates", "templates/",
    "./templates/cm.yaml", "templates//cm.yaml", "charts/*/templates/*", "templates/uselib.yaml",
    "charts/al1/templates/cm.yaml", "templates/\\cm.yaml", "templates/[a-c]*"]

# Helm's releaseutil.SplitManifests separator, and template.go's name pattern.
SEP = re.compile(r"(?:^|[\t\n\f\r ]*\n)---[\t\n\f\r ]*")
SOURCE = re.compile(r"# Source: [^/]+/(.+)")


def go_match(pattern, name):
    """Go's filepath.Match on Unix (no error: a bad pattern matches nothing,
    as template.go ignores the error)."""
    rx, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            rx += "[^/]*"
        elif c == "?":
            rx += "[^/]"
        elif c == "[":
            j = pattern.find("]", i + 1)
            if j < 0:
                return False
            rx += "[" + pattern[i + 1:j] + "]"
            i = j
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            rx += re.escape(pattern[i])
        else:
            rx += re.escape(c)
        i += 1
    return re.fullmatch(rx, name) is not None


def helm_show_only(manifest, patterns):
    docs = [d.lstrip() for d in SEP.split(manifest.strip() + "\n") if d.strip()]
    out = []
    for pattern in patterns:
        missing = True
        for doc in docs:
            m = SOURCE.search(doc)
            if m and go_match(pattern, m.group(1)):
                out.append(doc)
                missing = False
        if missing:
            return {"error": f"could not find template {pattern} in chart"}
    return {"output": "".join(f"---\n{d}\n" for d in out).rstrip()}


class ShowOnly(Charts):
    NAME = "show-only"
    ABOUT = "`berth template --show-only` vs Helm's template.go logic over its install manifest"

    def generate(self, seed):
        case = super().generate(seed)
        r = random.Random(seed * 7 + 1)
        case["show_only"] = r.sample(PATTERNS, r.randint(1, 3))
        return case

    def show_args(self, case):
        return [a for p in case["show_only"] for a in ("--show-only", p)]

    def run(self, case, work):
        h, b = super().run(case, work, self.show_args(case))
        if "output" in h:
            h = helm_show_only(h["output"], case["show_only"])
        return h, b

    def reproducer(self, case):
        return harness.chart_reproducer(case["files"], case["values"], self.show_args(case))

    def smaller(self, case):
        for i in range(len(case["show_only"])):
            if len(case["show_only"]) > 1:
                yield dict(case, show_only=case["show_only"][:i] + case["show_only"][i + 1:])
        yield from super().smaller(case)
