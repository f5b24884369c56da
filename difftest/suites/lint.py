"""lint: random charts aimed at `helm lint`'s rules (gen_lint.py) and
random options (--strict, --quiet, --with-subcharts,
--skip-schema-validation, -n, --kube-version, -f, the path's spelling or
an archive): `berth lint`'s output and exit status against what Helm's
CLI (pkg/cmd/lint.go) prints of action.Lint's results, which the Helm
worker gets for each path; compared byte for byte.

Both run in the suite's work directory on a relative path, so the case's
directory reproduces it; only the temporary directory an archive is
unpacked into (its random name) is masked in both answers."""
import json
import os
import re
import stat
import subprocess

import gen_chart
import gen_lint
import harness
import shrink

from .base import Suite

SEVERITIES = ["UNKNOWN", "INFO", "WARNING", "ERROR"]
SUMMARY = re.compile(r"\d+ chart\(s\) linted, \d+ chart\(s\) failed")
TMP = re.compile(r"helm-lint[^/\s]*")
PACKED = "c-0.1.0.tgz"


def go_walk_charts(root, out):
    """pkg/cmd/lint.go's --with-subcharts: Go's filepath.Walk over root
    (lexical order, symlinks not followed), each directory holding a
    Chart.yaml and each .tgz or .tar.gz path taken."""
    def visit(path, st):
        if os.path.basename(path) == "Chart.yaml":
            out.append(os.path.dirname(path) or ".")
        elif path.endswith(".tgz") or path.endswith(".tar.gz"):
            out.append(path)
        if stat.S_ISDIR(st.st_mode):
            try:
                names = sorted(os.listdir(path))
            except OSError:
                return
            for n in names:
                p = os.path.join(path, n)
                try:
                    visit(p, os.lstat(p))
                except OSError:
                    pass
    try:
        visit(root, os.lstat(root))
    except OSError:
        pass


def helm_cli_output(paths, reports, quiet):
    """What `helm lint` prints of action.Lint's result per path: stdout,
    then `Error: SUMMARY` if a chart failed (Cobra's, on stderr)."""
    out, failed, flagged = "", 0, 0
    for path in paths:
        r = reports[path]
        messages, errors = r["messages"], r["errors"]
        noteworthy = any(m["severity"] > 1 for m in messages) or bool(errors)
        flagged += noteworthy
        if quiet and not noteworthy:
            continue
        out += f"==> Linting {path}\n"
        if not messages:
            out += "".join(f"Error {e}\n" for e in errors)
        for m in messages:
            if not quiet or m["severity"] > 1:
                out += f"[{SEVERITIES[m['severity']]}] {m['path']}: {m['error']}\n"
        failed += bool(errors)
        out += "\n"
    summary = f"{len(paths)} chart(s) linted, {failed} chart(s) failed"
    if failed:
        return out + f"Error: {summary}\n"
    if not quiet or flagged:
        out += summary + "\n"
    return out


class Lint(Suite):
    NAME = "lint"
    ABOUT = "random charts and options, `helm lint` vs `berth lint`"

    def generate(self, seed):
        files, user, opts = gen_lint.gen_case(seed)
        return {"files": files, "values": user, "opts": opts}

    def path(self, case):
        return PACKED if case["opts"]["path"] == "pack" else case["opts"]["path"]

    def write(self, case, work):
        harness.write_tree(os.path.join(work, "chart"), case["files"])
        packed = os.path.join(work, PACKED)
        if os.path.exists(packed):
            os.remove(packed)
        if case["opts"]["path"] == "pack":
            with open(packed, "wb") as f:
                f.write(gen_chart.tgz(case["files"], "c"))
        with open(os.path.join(work, "values.json"), "w") as f:
            json.dump(case["values"], f)

    def flags(self, case):
        o = case["opts"]
        args = [self.path(case)] + ([o["extra_path"]] if o.get("extra_path") else [])
        for flag in ("strict", "quiet", "with_subcharts", "skip_schema_validation"):
            if o[flag]:
                args.append("--" + flag.replace("_", "-"))
        if o["namespace"] is not None:
            args += ["-n", o["namespace"]]
        if o["kube_version"] is not None:
            args += ["--kube-version", o["kube_version"]]
        if case["values"]:
            args += ["-f", "values.json"]
        return args

    def helm_side(self, case, work):
        o = case["opts"]
        path = self.path(case)
        kube = o["kube_version"] or None  # the CLI parses it only when not empty
        given = [path] + ([o["extra_path"]] if o.get("extra_path") else [])
        paths = list(given)
        if o["with_subcharts"]:
            for p in given:
                below = []
                go_walk_charts(os.path.normpath(os.path.join(work, p, "charts")), below)
                paths += [os.path.relpath(q, work) for q in below]
        reports = {}
        for p in paths:
            opts = {"strict": o["strict"], "namespace": o["namespace"] or "default",
                    "skip_schema_validation": o["skip_schema_validation"], "kube_version": kube}
            r = harness.helm().call({"op": "lint", "cwd": work, "path": p, "values": case["values"], "opts": opts})
            if "error" in r and kube is not None:
                return {"error": f"invalid kube version '{kube}': {r['error']}"}
            if "report" not in r:
                return r
            reports[p] = r["report"]
        return {"output": TMP.sub("helm-lint*", helm_cli_output(paths, reports, o["quiet"]))}

    def berth_side(self, case, work):
        try:
            p = subprocess.run(harness.NICE + [harness.BERTH, "lint"] + self.flags(case), cwd=work,
                               capture_output=True, timeout=harness.BERTH_TIMEOUT,
                               env={k: v for k, v in os.environ.items() if k != "BERTH_NAMESPACE"})
        except subprocess.TimeoutExpired:
            return {"hang": f"no exit in {harness.BERTH_TIMEOUT}s"}
        stderr = harness.go_text(p.stderr)
        if p.returncode < 0 or p.returncode >= 101 or "panicked" in stderr:
            return {"panic": stderr[-2000:] or f"exit {p.returncode}"}
        out = harness.go_text(p.stdout)
        if p.returncode != 0:
            last = [line for line in stderr.splitlines() if line.startswith("Error: ")]
            err = last[-1][len("Error: "):] if last else stderr.strip()
            if not SUMMARY.fullmatch(err):
                return {"error": err}
            out += f"Error: {err}\n"
        return {"output": TMP.sub("helm-lint*", out)}

    def run(self, case, work):
        self.write(case, work)
        return self.helm_side(case, work), self.berth_side(case, work)

    def helm_again(self, case, work):
        self.write(case, work)
        return self.helm_side(case, work)

    def smaller(self, case):
        yield from shrink.tree_smaller(case)
        for flag in ("strict", "quiet", "with_subcharts", "skip_schema_validation"):
            if case["opts"][flag]:
                yield dict(case, opts=dict(case["opts"], **{flag: False}))
        for key in ("namespace", "kube_version", "extra_path"):
            if case["opts"].get(key) is not None:
                yield dict(case, opts=dict(case["opts"], **{key: None}))
        if case["opts"]["path"] != "chart":
            yield dict(case, opts=dict(case["opts"], path="chart"))

    def size(self, case):
        packed, chars = shrink.tree_size(case)
        return (packed, chars + sum(1 for v in case["opts"].values() if v not in (None, False, "chart")))

    def reproducer(self, case):
        files = {"chart/" + p: t for p, t in case["files"].items()}
        if case["opts"]["path"] == "pack":
            files[PACKED] = gen_chart.tgz(case["files"], "c")
        if case["values"]:
            files["values.json"] = json.dumps(case["values"], indent=1, ensure_ascii=False) + "\n"
        return {"files": files, "args": ["lint"] + self.flags(case)}
