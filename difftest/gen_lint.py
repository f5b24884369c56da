"""Random charts aimed at `helm lint`'s rules (pkg/chart/v2/lint/rules):
Chart.yaml written field by field as text, so that a field can be
missing, empty, of another YAML type or repeated (apiVersion, name,
version and its semver forms, appVersion's types, type, icon,
maintainers and their emails and URLs, sources, dependencies, unknown
fields); values.yaml (broken, a list, several documents) and a
values.schema.json the values may break; templates rendered in lint mode
(render errors, `required` and `fail`, invalid YAML, JSON streams, bad
`---` separators, indented first lines, files of other extensions),
objects whose metadata.name Kubernetes refuses for their kind, APIs
deprecated in one Kubernetes version or another, workloads without a
selector, Lists with the resource-policy annotation; crds/; subcharts as
directories and .tgz, listed in dependencies or not. A fifth of the
cases start from a chart tree of gen_chart.py (conditions, aliases,
import-values, library charts) with a few of these added.

`gen_case(seed)` gives (files: {path: text or .tgz bytes}, user values).
"""
import json
import random

import gen_chart
import gen_template

API_VERSIONS = ["v2"] * 8 + ["v1"] * 2 + ["v3", '""', "2", "V2", None]
NAMES = ['"../x"', "x/", '"a/b"', '"c d"', "1", "true", "'./c'", "Chart", '""', None, "ü", "a.b"]
VERSIONS = ["0.1.0"] * 6 + ['"1.0"', "1.0", "1", "v1.2.3", "01.2.3", "1.2.3-rc.1", "1.2.3+build.1", "0.0.0",
                            "0.0.0-0", '""', None, "abc", "1.2.3.4", "1.2", "1.2.3-01", "1.2.x", "~1.2", "null",
                            "[1]", "1.2.3-", "v0.0.0", "1.2.3-0", "1.2.3+b+c", "1.2.3-a..b", "2.0.0-rc.1+b.2",
                            "18446744073709551616.0.0", "1.2.3-beta_1", "' 1.2.3'", "V1.2.3", "1.2.3 ", "0.0.1-0"]
APP_VERSIONS = ['"1.0"', "1.0", "1", "true", "null", '""', "[1]", "{a: 1}", "v1", "1.10", "010", "0x1F", "1e3",
                "2023-01-01", '"2023-01-01"', "~", ".inf", "yes", "1_000", "-1", "0o17", "2001-12-14t21:59:43.10-05:00"]
TYPES = ["application", "library", "plugin", '""', "App", "1", "null"]
ICONS = ["https://example.com/i.png", "example.com/i.png", '""', "ftp://x.org/y.png", "http://", "/abs/icon.png",
         '"http://x y"', "https://例え.jp/i.png", "mailto:a@b.c", "http://localhost:8080/i", "https://1.2.3.4/x",
         "http://a_b.com/x", "//example.com/x", "https://example.com:99999/x", "file:///x.png",
         "data:image/png;base64,AAA", "x", "https://example.com/i.png?a=1#f", "HTTPS://EXAMPLE.COM/I.PNG",
         "https://-bad.com/i", "https://a.b.c.d.e.f/i", "http://[::1]/i", "https://x.com/a b", "1"]
EMAILS = ["ops@example.com", "a@", "a@b", "a.b@c.d", "A@B.CO", "a+b@example.com", "@x.com", "a@b..c",
          '"a b"@x.com', "a@[1.2.3.4]", "ünï@x.de", "a@localhost", '""', "a@b.c-", "a@-b.c", "a..b@c.de",
          "a@b.museum", "a@b_c.com", "x@y.z1", "1"]
URLS = ["https://example.com", "example.com", "http://x", '"not a url"', "https://a.b/c?d=e#f", "ftp://x.y", '""',
        "http://-x.com", "https://x.com/ü", "www.x.com", "http://1.2.3.4:80", "javascript:alert(1)", "x",
        "http://a..b", "https://example.com:0/x", "irc://x.org", "http://user:pw@x.com/", "//x.com", "localhost",
        "http://300.1.1.1/", "https://x.com/%zz"]
SOURCES = ["https://github.com/x/y", "github.com/x", "git@github.com:x/y.git", '""', "1", "null",
           "http://x", "example.com/src", "https://example.com/a b", "ssh://git@x.org/y", "/local/path"]

OBJ_NAMES = ["web", "web", "9lives", "Bad_Name", "-x", "a.b", "a..b", "x" * 64, "y" * 254, '""', None, "123",
             "a/b", '"%"', ".", "..", "ok-", "a:b", "UPPER", "{{ .Release.Name }}",
             "{{ .Release.Name }}-{{ .Release.Namespace }}", "true", "null", "1e3", "é", "a_b", "{{ .Values.name }}",
             "[a]", "{a: b}", "'a b'", "x" * 63, "a.-b", "default"]
OBJECTS = [  # (apiVersion, kind): current, deprecated in some version or other, removed, unknown
    ("v1", "ConfigMap"), ("v1", "ConfigMap"), ("v1", "Service"), ("apps/v1", "Deployment"), ("v1", "Namespace"),
    ("v1", "ServiceAccount"), ("rbac.authorization.k8s.io/v1", "Role"), ("v1", "Secret"), ("batch/v1", "Job"),
    ("v1", "List"), ("v1", "Pod"), ("apps/v1", "StatefulSet"), ("apps/v1", "DaemonSet"), ("apps/v1", "ReplicaSet"),
    ("policy/v1beta1", "PodDisruptionBudget"), ("policy/v1beta1", "PodSecurityPolicy"),
    ("extensions/v1beta1", "Ingress"), ("networking.k8s.io/v1beta1", "Ingress"), ("batch/v1beta1", "CronJob"),
    ("autoscaling/v2beta1", "HorizontalPodAutoscaler"), ("autoscaling/v2beta2", "HorizontalPodAutoscaler"),
    ("apps/v1beta1", "Deployment"), ("apps/v1beta2", "DaemonSet"), ("extensions/v1beta1", "Deployment"),
    ("rbac.authorization.k8s.io/v1beta1", "ClusterRole"), ("storage.k8s.io/v1beta1", "CSIStorageCapacity"),
    ("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io/v1beta2", "PriorityLevelConfiguration"),
    ("discovery.k8s.io/v1beta1", "EndpointSlice"), ("events.k8s.io/v1beta1", "Event"),
    ("admissionregistration.k8s.io/v1beta1", "ValidatingWebhookConfiguration"),
    ("apiextensions.k8s.io/v1beta1", "CustomResourceDefinition"),
    ("certificates.k8s.io/v1beta1", "CertificateSigningRequest"), ("coordination.k8s.io/v1beta1", "Lease"),
    ("scheduling.k8s.io/v1beta1", "PriorityClass"), ("node.k8s.io/v1beta1", "RuntimeClass"),
    ("resource.k8s.io/v1alpha3", "DeviceClass"), ("resource.k8s.io/v1beta1", "ResourceClaim"),
    ("v1", "ComponentStatus"), ("v1", "Endpoints"), ("example.com/v1", "Foo"),
    ("admissionregistration.k8s.io/v1alpha1", "ValidatingAdmissionPolicy"),
    ("networking.k8s.io/v1beta1", "IPAddress"), ("storage.k8s.io/v1alpha1", "VolumeAttributesClass"),
    ("autoscaling/v1", "HorizontalPodAutoscaler"), ("batch/v1", "CronJob"), ("policy/v1", "PodDisruptionBudget"),
    ("apps/v1", "Foo"), ("v1", "Deployment"), ("", "ConfigMap"), ("v1", ""), (None, "Service"), ("v1", None),
    ("networking.k8s.io/v1", "NetworkPolicy"), ("certificates.k8s.io/v1", "CertificateSigningRequest"),
    ("v1", "pod"), ("rbac.authorization.k8s.io/v1", "RoleBinding"), ("storage.k8s.io/v1beta1", "CSIDriver"),
]
WORKLOADS = ("Deployment", "ReplicaSet", "DaemonSet", "StatefulSet")
KUBE_VERSIONS = [None] * 6 + ["v1.20.0", "1.16", "v1.25.0", "1.29.0", "v1.33.0", "1.36", "v1.40.0", "v2.0.0",
                              "1.22.0-rc.1", "garbage", "", "v1.10", "1.0.0", "1.27", "v1.19.3", "1.23+"]
NAMESPACES = ["default", "prod", "kube-system", "Bad_NS", "a-b"]
RENDER_BITS = [
    "{{ .Values.a.b.c }}", '{{ fail "boom" }}', '{{ required "need q" .Values.q }}', "{{ nope }}", "{{ if }}",
    '{{ include "missing" . }}', '{{ template "none" . }}', "{{ toYaml .Values.list | nindent 2 }}",
    "{{ .Values.name | upper }}", "{{ .Release.Name }}", "{{ .Release.Namespace }}",
    "{{ .Capabilities.KubeVersion.Minor }}", '{{ required "need name" .Values.name }}', "{{ .Values.port | int }}",
    "{{ $x := 1 }}{{ $x.y }}", '{{ tpl "{{ .Values.name }}" . }}', "{{ toJson .Values }}", "{{ .Chart.Name }}",
    '{{ fail (printf "bad %v" .Values.port) }}', "{{ lookup \"v1\" \"Pod\" \"\" \"\" | toJson }}",
]
BROKEN = ["kind: [", "a: b: c", "\tkind: X", "kind: 'unterminated", "- a\nb: c", "kind: ConfigMap\nkind: Secret",
          "--- oops", "  kind: ConfigMap\n  metadata: {}", "{\"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"a\"}}",
          "{\"kind\": \"ConfigMap\"}\n{\"kind\": \"Secret\", \"metadata\": {\"name\": \"B\"}}", "{ {- x }}", "{}",
          "[]", "x", "null", "...", "--- # c\nkind: ConfigMap", "kind: 1", "metadata: x", "metadata:\n  name: [a]",
          "apiVersion: 1\nkind: Service", "kind: List\nitems: x", "{\"kind\": \"A\"}\n{kind: B}", "{\"a\": 1} x",
          "\ufeffkind: ConfigMap", "kind: !!binary aGVsbG8=", "kind: &a ConfigMap\nx: *a", "kind: *b"]
SCHEMAS = [
    '{"type": "object", "required": ["name"], "properties": {"port": {"type": "integer"}}}',
    '{"type": "object", "properties": {"a": {"type": "string"}, "name": {"type": "string"}}}',
    '{"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "additionalProperties": false}',
    '{"type": "array"}', "", "{", '{"type": "nope"}', '{"properties": {"x": {"minimum": 3}}}',
    '{"required": ["x", "y"]}', "true", "false", '{"$ref": "#/definitions/x"}',
    '{"properties": {"list": {"type": "array", "items": {"type": "integer"}}}}',
    '{"properties": {"name": {"pattern": "^[a-z]+$"}}}', "{}", "[]", '"x"',
    '{"$schema": "https://json-schema.org/draft/2020-12/schema", "properties": {"port": {"type": "string"}}}',
    '{"properties": {"enabled": {"type": "boolean"}, "replicas": {"type": "integer", "maximum": 3}}}',
    '{"additionalProperties": {"type": "string"}}',
]
VALUE_KEYS = ["name", "port", "a", "x", "list", "enabled", "image", "replicas", "q"]
BROKEN_VALUES = ["a: [", "- 1", "a: 1\na: 2", "", "# only a comment", "x", "\t", "a: 1\n---\nb: 2", "null",
                 "a: !!binary xx", "a:\n  - b\n c: d", "1", "a: {b: }"]
CRDS = [
    "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: a.example.com\n",
    "apiVersion: apiextensions.k8s.io/v1beta1\nkind: CustomResourceDefinition\nmetadata:\n  name: b\n",
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n", "kind: CustomResourceDefinition\n",
    "apiVersion: apiextensions.k8s.io/v1\n", "kind: [\n", "--- oops\n", "", "# comment\n",
    '{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition"}',
    "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n---\nkind: Foo\n",
    "apiVersion: apiextensions.k8s.iox/v1\nkind: customresourcedefinition\n", "{{ .Values.x }}\n",
]
CRD_NAMES = ["crds/a.yaml", "crds/b.yml", "crds/c.json", "crds/d.txt", "crds/sub/e.yaml", "crds/F.YAML", "crds/g"]
TEMPLATE_NAMES = ["a.yaml", "b.yml", "c.json", "d.txt", "e.tpl", "_helpers.tpl", "NOTES.txt", "f.YAML", "g",
                  "sub/h.yaml", "i.yaml.bak", ".hidden.yaml", "j.Yml", "k.yaml"]


def field(key, value):
    return "" if value is None else f"{key}: {value}\n"


def obj(r, name_pool=None):
    api, kind = r.choice(OBJECTS)
    name = r.choice(name_pool or OBJ_NAMES)
    lines = field("apiVersion", api) + field("kind", kind)
    meta = field("  name", name)
    if r.random() < 0.2:
        meta += f"  namespace: {r.choice(NAMESPACES + ['{{ .Release.Namespace }}'])}\n"
    if r.random() < 0.1:
        meta += "  annotations:\n    helm.sh/resource-policy: keep\n"
    if meta or r.random() < 0.9:
        lines += "metadata:\n" + meta if meta else "metadata: {}\n"
    if kind in WORKLOADS and r.random() < 0.6:
        sel = r.choice(["matchLabels:\n      app: x", "matchExpressions: []", "{}"])
        lines += f"spec:\n  selector:\n    {sel}\n"
    if kind == "List":
        items = r.choice(["[]", "\n- metadata:\n    annotations:\n      helm.sh/resource-policy: keep",
                          "\n- kind: ConfigMap\n  metadata:\n    name: i", "\n- metadata:\n    annotations: {a: b}"])
        lines += f"items: {items}\n"
    if r.random() < 0.1:
        lines += "data:\n  k: " + r.choice(RENDER_BITS) + "\n"
    return lines


def template_text(r):
    k = r.random()
    if k < 0.55:
        docs = [obj(r) for _ in range(r.randint(1, 3))]
        sep = r.choice(["---\n", "---\n", "\n---\n", "--- # next\n", "---  \n", "--- x\n"])
        text = ("---\n" if r.random() < 0.2 else "") + sep.join(docs)
        if r.random() < 0.15:
            text = "{{- if .Values.enabled }}\n" + text + "{{- end }}\n"
        return text
    if k < 0.75:
        return r.choice(BROKEN) + "\n"
    if k < 0.9:
        return obj(r).replace("metadata:\n", "metadata:\n  labels:\n    x: " + r.choice(RENDER_BITS) + "\n", 1)
    return r.choice(["", "{{/* nothing */}}", "{{- if false }}x{{ end }}", "# comment only\n", "\n\n",
                     '{{ define "x" }}kind: Foo{{ end }}', "   \n"])


def chart_yaml(r, name, deps):
    """Chart.yaml as text: each field missing, odd or of another type now and then."""
    if r.random() < 0.03:
        return r.choice(["", "name: [", "- a\n", "null\n", "\tname: x\n", "name: c\n\x00", "a: b: c\n"])
    out = field("apiVersion", r.choice(API_VERSIONS))
    out += field("name", name if r.random() < 0.85 else r.choice(NAMES))
    out += field("version", r.choice(VERSIONS))
    if r.random() < 0.4:
        out += field("appVersion", r.choice(APP_VERSIONS))
    if r.random() < 0.25:
        out += field("type", r.choice(TYPES))
    if r.random() < 0.5:
        out += field("icon", r.choice(ICONS) if r.random() < 0.8 else ICONS[0])
    if r.random() < 0.3:
        out += "maintainers:\n"
        for _ in range(r.randint(0, 3)):
            k = r.random()
            if k < 0.08:
                out += "- " + r.choice(["", "null", "x", "[]"]) + "\n"
                continue
            entry = []
            if r.random() < 0.85:
                entry.append("name: " + r.choice(["ops", "dev", '""', "Jane Doe", "1"]))
            if r.random() < 0.6:
                entry.append("email: " + r.choice(EMAILS))
            if r.random() < 0.5:
                entry.append("url: " + r.choice(URLS))
            if r.random() < 0.05:
                entry.append("nick: x")
            out += ("- " + "\n  ".join(entry) + "\n") if entry else "- {}\n"
    if r.random() < 0.2:
        out += "sources:\n" + "".join(f"- {r.choice(SOURCES)}\n" for _ in range(r.randint(0, 3)))
    if r.random() < 0.15:
        out += r.choice(["description: d\n", "home: https://x.com\n", "keywords: [a, b]\n", "deprecated: true\n",
                         "kubeVersion: '>=1.20.0-0'\n", "kubeVersion: '<1.0.0'\n", "annotations: {a: b}\n",
                         "annotations: {a: 1}\n", "unknown: x\n", "name: again\n", "deprecated: yes\n",
                         "keywords: a\n", "home: 1\n", "version: 0.2.0\n", "dependencies: []\n", "icon: null\n"])
    if deps:
        out += "dependencies:\n"
        for d in deps:
            out += "- " + "\n  ".join(f"{k}: {v}" for k, v in d.items()) + "\n"
    return out


def values_text(r):
    if r.random() < 0.12:
        return r.choice(BROKEN_VALUES) + "\n"
    v = {}
    for _ in range(r.randint(0, 4)):
        v[r.choice(VALUE_KEYS)] = gen_template.rand_value(r, 1) if r.random() < 0.5 else \
            r.choice(["web", 80, "80", True, None, [1, 2], {"b": 1}, "Bad_Name", 5])
    return gen_template.yaml_text(r, v)


def lint_chart(r, name, depth):
    """The files of one chart (its subcharts below charts/ included)."""
    files = {}
    subs = []
    if depth == 0:
        for i in range(r.choices([0, 1, 2], [0.5, 0.3, 0.2])[0]):
            sub = r.choice(["sub", "other", "dep"]) + ("" if i == 0 else str(i))
            subs.append((sub, lint_chart(r, sub, depth + 1), r.random() < 0.35))
    deps = []
    if r.random() < 0.4 or subs:
        names = [s for s, _, _ in subs] + (["gone"] if r.random() < 0.2 else [])
        for n in names:
            if r.random() < 0.8:
                d = {"name": n}
                if r.random() < 0.8:
                    d["version"] = r.choice(["0.1.0", '"*"', "'>=0.1.0'", "1.0.0", "'^0.1.0'", "x"])
                if r.random() < 0.2:
                    d["alias"] = r.choice(["twin", n, "other"])
                if r.random() < 0.2:
                    d["repository"] = r.choice(['""', "file://charts/" + n, "https://example.com/c", "x"])
                if r.random() < 0.1:
                    d["condition"] = n + ".enabled"
                deps.append(d)
        if deps and r.random() < 0.1:
            deps.append(dict(deps[0]))
    files["Chart.yaml"] = chart_yaml(r, name, deps)
    if r.random() < 0.8:
        files["values.yaml"] = values_text(r)
    if r.random() < 0.3:
        files["values.schema.json"] = r.choice(SCHEMAS)
    k = r.random()
    if k < 0.05:
        pass  # no templates/
    elif k < 0.07:
        files["templates"] = "not a directory\n"
    else:
        names = r.sample(TEMPLATE_NAMES, r.randint(0, 4))
        if r.random() < 0.7:
            names.append("a.yaml")
        for t in dict.fromkeys(names):
            files["templates/" + t] = ('{{- define "x" }}kind: Foo{{ end }}\n' if t.endswith(".tpl") and r.random() < 0.5
                                       else template_text(r))
    if r.random() < 0.2:
        if r.random() < 0.1:
            files["crds"] = "x\n"
        else:
            for p in r.sample(CRD_NAMES, r.randint(0, 3)):
                files[p] = r.choice(CRDS)
    k = r.random()
    if k < 0.02:
        files.pop("values.yaml", None)
        files["values.yaml/x"] = "a: 1\n"  # a directory named values.yaml
    elif k < 0.03:
        files.pop("values.schema.json", None)
        files["values.schema.json/x"] = "{}\n"
    elif k < 0.04:
        files["Chart.lock"] = r.choice(["dependencies: []\ndigest: x\n", "dependencies: 5\n", "x: [\n"])
    elif k < 0.05 and files["Chart.yaml"].startswith("apiVersion: v1"):
        files["requirements.yaml"] = r.choice(["dependencies:\n- name: sub\n  version: 0.1.0\n", "- x\n", ""])
    if r.random() < 0.05:
        # Windows line ends, a byte order mark
        p = r.choice(sorted(p for p, t in files.items() if isinstance(t, str)))
        files[p] = r.choice([files[p].replace("\n", "\r\n"), "\ufeff" + files[p]])
    if depth == 0 and r.random() < 0.05:
        files["charts/junk.txt"] = "x\n"
    if depth == 0 and r.random() < 0.05:
        files["charts/nochart/values.yaml"] = "a: 1\n"
    for sub, sub_files, packed in subs:
        if packed:
            files[f"charts/{sub}-0.1.0.tgz"] = gen_chart.tgz(sub_files, sub)
        else:
            files.update({f"charts/{sub}/{p}": t for p, t in sub_files.items()})
    return files


def from_chart_tree(r, seed):
    """A tree of gen_chart.py's with a lint finding or two added."""
    files, user = gen_chart.gen_case(seed)
    for _ in range(r.randint(0, 2)):
        files["templates/lint%d.yaml" % r.randint(0, 9)] = template_text(r)
    if r.random() < 0.3:
        files["values.schema.json"] = r.choice(SCHEMAS)
    if r.random() < 0.3:
        files["Chart.yaml"] = files["Chart.yaml"].replace("version: 0.1.0\n", field("version", r.choice(VERSIONS)), 1)
    return files, user


def user_values(r):
    if r.random() < 0.55:
        return {}
    v = {}
    for _ in range(r.randint(1, 3)):
        v[r.choice(VALUE_KEYS + ["sub", "global"])] = r.choice(
            ["given", 80, "80", True, None, [1], {"enabled": False}, {"x": 1}, "Bad_Name", 7])
    return v


def gen_case(seed):
    """(files, user values, options) of the seed."""
    r = random.Random(seed)
    if r.random() < 0.2:
        files, user = from_chart_tree(r, seed)
    else:
        files, user = lint_chart(r, "c", 0), user_values(r)
    if r.random() < 0.03:
        del files["Chart.yaml"]
    opts = {
        "strict": r.random() < 0.3,
        "quiet": r.random() < 0.2,
        "with_subcharts": r.random() < 0.35,
        "skip_schema_validation": r.random() < 0.1,
        "namespace": r.choice(NAMESPACES) if r.random() < 0.3 else None,
        "kube_version": r.choice(KUBE_VERSIONS),
        # How the path is spelled: Helm prints it as given, and joins it
        # with charts/ (cleaned) for --with-subcharts; "pack": the chart
        # as an archive.
        "path": r.choice(["chart"] * 5 + ["./chart", "chart/", "chart//", "pack"]),
        # A second path: linted after the first (and before its subcharts).
        "extra_path": r.choice([None] * 8 + ["missing", "chart/charts/sub", "chart/templates", "chart/Chart.yaml"]),
    }
    return files, json.loads(json.dumps(user)), opts
