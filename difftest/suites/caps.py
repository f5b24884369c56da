"""capabilities: `berth template` with random --kube-version,
--api-versions, --is-upgrade and -n against Helm's engine given the same
capabilities and release: .Capabilities (KubeVersion's fields,
APIVersions.Has), .Release and semverCompare on the version; the output,
or the error (Helm's CLI wording for a bad --kube-version), compared
exactly."""
import json
import os
import random

import harness

from .base import Suite

KUBE_VERSIONS = ["1.20", "v1.20.3", "1.31.0-rc.1", "v2", "1.2.3+abc", "01.2.3", "x", "1.20.0-gke.100",
                 "v1.30.0+k3s1", "1", "v1.2", "1.2.3.4", "", "V1.2.3", " 1.2.3", "1.36.0", "v0.0.0", "1.2.3-"]
API_VERSIONS = ["apps/v1", "example.com/v1/Foo", "v1", "foo", "a/b/c/d", "batch/v1/Job", "policy/v1beta1", "x/y",
                "example.com/v1"]
HAS = ["apps/v1", "apps/v1/Deployment", "v1", "v1/Pod", "example.com/v1", "example.com/v1/Foo", "batch/v1/Job",
       "policy/v1beta1", "autoscaling/v2", "foo", "a/b/c/d", "x/y", "x/y/Z", "", "a/b/c", "v1/Foo", "apps/v1/Foo"]
NAMESPACES = ["ns", "default", "kube-system", "a-b"]
CHART_YAML = "apiVersion: v2\nname: c\nversion: 0.1.0\n"
TEMPLATE = """# kv: {{ .Capabilities.KubeVersion | toJson | quote }}
# s: {{ .Capabilities.KubeVersion.String | quote }} {{ .Capabilities.KubeVersion.Version | quote }} \
{{ .Capabilities.KubeVersion.Major | quote }} {{ .Capabilities.KubeVersion.Minor | quote }} \
{{ .Capabilities.KubeVersion.GitVersion | quote }}
# sv: {{ semverCompare ">=1.20-0" .Capabilities.KubeVersion.GitVersion }} \
{{ semverCompare "<1.21" .Capabilities.KubeVersion.Version }}
# has: HAS
# rel: {{ .Release.IsUpgrade }} {{ .Release.IsInstall }} {{ .Release.Namespace | quote }} \
{{ .Release.Revision }} {{ .Release.Service }}
# n: {{ len .Capabilities.APIVersions }}
"""


class Caps(Suite):
    NAME = "capabilities"
    ABOUT = "--kube-version/--api-versions/--is-upgrade/-n: `berth template` vs Helm's engine"

    def generate(self, seed):
        r = random.Random(seed)
        return {
            "kube_version": r.choice(KUBE_VERSIONS) if r.random() < 0.8 else None,
            "api_versions": r.sample(API_VERSIONS, r.randint(0, 3)),
            "namespace": r.choice(NAMESPACES),
            "is_upgrade": r.random() < 0.5,
            "has": r.sample(HAS, 5),
        }

    def files(self, case):
        has = " ".join("{{ .Capabilities.APIVersions.Has %s }}" % json.dumps(x) for x in case["has"])
        return {"Chart.yaml": CHART_YAML, "templates/t.yaml": TEMPLATE.replace("HAS", has)}

    def flags(self, case):
        args = ["-n", case["namespace"]]
        if case["kube_version"] is not None:
            args += ["--kube-version", case["kube_version"]]
        for a in case["api_versions"]:
            args += ["--api-versions", a]
        if case["is_upgrade"]:
            args += ["--is-upgrade"]
        return args

    def run(self, case, work):
        d = os.path.join(work, "chart")
        harness.write_tree(d, self.files(case))
        opts = {"name": "rel", "namespace": case["namespace"], "revision": 1,
                "is_install": not case["is_upgrade"], "is_upgrade": case["is_upgrade"]}
        if case["kube_version"] is not None:
            opts["kube_version"] = case["kube_version"]
        if case["api_versions"]:
            opts["api_versions"] = case["api_versions"]
        h = harness.helm().call({"op": "render", "dir": d, "values": {}, "opts": opts})
        if "output" in h:
            h = {"output": "".join(f"---\n# Source: {p}\n{t}" for p, t in sorted(h["output"].items())).strip()}
        elif "error" in h and case["kube_version"]:
            # pkg/cmd/template.go parses --kube-version (when not empty)
            # before anything else, in its own words: is it that?
            empty = os.path.join(work, "empty")
            harness.write_tree(empty, {"Chart.yaml": CHART_YAML})
            parse = harness.helm().call({"op": "render", "dir": empty, "values": {}, "opts": opts})
            if "error" in parse:
                h = {"error": f"invalid kube version '{case['kube_version']}': {parse['error']}"}
        b = harness.berth_cli(["template", "rel", d] + self.flags(case))
        if "output" in b:
            b = {"output": b["output"].strip()}
        return h, b

    def smaller(self, case):
        for i in range(len(case["api_versions"])):
            yield dict(case, api_versions=case["api_versions"][:i] + case["api_versions"][i + 1:])
        for i in range(len(case["has"])):
            yield dict(case, has=case["has"][:i] + case["has"][i + 1:])

    def reproducer(self, case):
        files = {"chart/" + p: t for p, t in self.files(case).items()}
        return {"files": files, "args": ["template", "rel", "chart"] + self.flags(case)}
