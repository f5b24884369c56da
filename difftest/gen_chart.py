"""Random chart trees for the charts and show-only suites: subcharts as
directories and as .tgz, nested two deep, aliases, conditions, tags,
import-values (both forms), globals, nulls in parent values, library
charts, apiVersion v1 charts with requirements.yaml, .Files (Get, Glob,
Lines, AsConfig, AsSecrets), .helmignore, crds/, NOTES.txt, several
documents a template, and user values over all of it.

`gen_case(seed)` gives (files: {path: text or .tgz bytes}, user values).
"""
import gzip
import io
import random
import tarfile

import yaml

KINDS = ["ConfigMap", "Service", "Deployment", "Namespace", "ServiceAccount", "Secret", "Job", "Foo", "Bar", "CustomResourceDefinition"]
SCAL = [True, False, "true", "false", "yes", 1, 0, None, "x", 2.5, "", [], {}]
FILES = {
    "files/a.txt": "alpha\nbeta\n\ngamma",
    "files/b.conf": "k=v\n",
    "files/keep.txt": "keep me\r\nline2\n",
    "conf/x.yaml": "x: 1\n",
    "conf/sub/y.json": '{"y": 2}',
    "README.md": "# readme\n",
    ".hidden": "h",
    "top.txt": "top",
    "data.bin": "\x01\x02 text",
    "templates/notatemplate.txt": "# plain x",
    "files/sp ace.txt": "space",
}
IGNORE = ["*.md", "files/b*", "conf/", "!files/keep.txt", "# comment", "*.txt", "/files/a.txt", "conf/*.yaml",
          "sub", "*.bin", ".hidden", "files/", "top.txt", "templates/notatemplate.txt", "files/*.txt",
          "conf/sub/", "!top.txt", "", "  *.conf  ", "files", "templates/*.txt", "a.txt", "files/?.txt", "[ab].txt", "files/[!a].txt"]
FILE_EXPRS = [
    '{{ .Files.Get "files/a.txt" | toJson }}',
    '{{ .Files.Get "missing" | toJson }}',
    '{{ .Files.GetBytes "files/b.conf" | toJson }}',
    '{{ .Files.Lines "files/a.txt" | toJson }}',
    '{{ .Files.Lines "files/keep.txt" | toJson }}',
    '{{ .Files.Lines "missing" | toJson }}',
    '{{ range $k, $v := .Files.Glob "files/*" }}{{ $k }}={{ toJson (toString $v) }};{{ end }}',
    '{{ range $k, $v := .Files.Glob "**" }}{{ $k }}={{ toJson (toString $v) }};{{ end }}',
    '{{ range $k, $v := .Files.Glob "**.txt" }}{{ $k }}={{ toJson (toString $v) }};{{ end }}',
    '{{ range $k, $v := .Files.Glob "*" }}{{ $k }}={{ toJson (toString $v) }};{{ end }}',
    '{{ range $k, $v := .Files.Glob "conf/**" }}{{ $k }}={{ toJson (toString $v) }};{{ end }}',
    '{{ range $k, $v := .Files.Glob "{files,conf}/*" }}{{ $k }}={{ toJson (toString $v) }};{{ end }}',
    '{{ (.Files.Glob "files/*").AsConfig | toJson }}',
    '{{ (.Files.Glob "conf/**").AsSecrets | toJson }}',
    '{{ (.Files.Glob "nothing/*").AsConfig | toJson }}',
    '{{ range $k, $v := .Files }}{{ $k }};{{ end }}',
    '{{ .Files.Get "Chart.yaml" | toJson }}',
    '{{ .Files.Get "values.yaml" | toJson }}',
    '{{ .Files.Get "templates/cm.yaml" | toJson }}',
    '{{ .Files.Get ".helmignore" | toJson }}',
    '{{ .Files.Get "charts/deep/Chart.yaml" | toJson }}',
    '{{ (.Files.Glob "**.yaml").AsConfig | toJson }}',
]
CHART_EXPRS = [
    '{{ .Chart.Name | toJson }}', '{{ .Chart.Version | toJson }}', '{{ .Chart.AppVersion | toJson }}',
    '{{ .Chart.Type | toJson }}', '{{ .Chart.IsRoot | toJson }}', '{{ .Chart | toJson }}',
    '{{ .Chart.Dependencies | toJson }}', '{{ .Chart.Annotations | toJson }}', '{{ .Chart.Description | toJson }}',
    '{{ keys .Subcharts | sortAlpha | toJson }}', '{{ .Template.Name | toJson }}', '{{ .Template.BasePath | toJson }}',
    '{{ .Chart.Keywords | toJson }}', '{{ .Chart.APIVersion | toJson }}', '{{ .Chart.KubeVersion | toJson }}',
    '{{ .Chart.Deprecated | toJson }}', '{{ .Chart.Maintainers | toJson }}', '{{ .Chart.Home | toJson }}',
    '{{ .Release | toJson }}', '{{ .Capabilities.KubeVersion.Version | toJson }}',
    '{{ range $k, $v := .Subcharts }}{{ $k }}={{ $v.Chart.Name }}/{{ $v.Values | toJson }};{{ end }}',
    '{{ include "helpers.name" . | toJson }}', '{{ .Values.global | toJson }}',
]


def rv(r, depth=0):
    k = r.random()
    if depth < 2 and k < 0.2:
        return {r.choice(["x", "y", "z", "w", "enabled"]): rv(r, depth + 1) for _ in range(r.randint(0, 3))}
    if depth < 2 and k < 0.3:
        return [rv(r, depth + 1) for _ in range(r.randint(0, 2))]
    return r.choice(SCAL + ["s1", "s2", 7, -3])


class Spec:
    def __init__(self, name, depth):
        self.name = name
        self.depth = depth
        self.type = None
        self.api = "v2"
        self.values = {}
        self.deps = []        # Chart.yaml dependencies entries
        self.subs = []        # (Spec, packed)
        self.templates = {}
        self.files = {}
        self.extra_meta = {}


def gen_spec(r, name, depth):
    s = Spec(name, depth)
    if depth > 0 and r.random() < 0.05:
        s.api = "v1"
    for _ in range(r.randint(0, 3)):
        s.values[r.choice(["x", "y", "z", "w", "list", "m"])] = rv(r)
    if r.random() < 0.5:
        s.values["global"] = {r.choice(["g1", "g2", "g3"]): rv(r) for _ in range(r.randint(0, 3))}
    if r.random() < 0.4:
        s.values["exports"] = {r.choice(["data", "d2", "x"]): rv(r, 0) for _ in range(r.randint(1, 2))}
        if r.random() < 0.7:
            s.values["exports"]["data"] = {"ek": rv(r, 1), "ek2": "v"}
    if r.random() < 0.3:
        s.values["enabled"] = r.choice(SCAL)
    if r.random() < 0.3:
        s.extra_meta["annotations"] = {"a": "b"}
    if r.random() < 0.2:
        s.extra_meta["appVersion"] = r.choice(["1.0", 1.0, "v2", 1])
    if r.random() < 0.1:
        s.extra_meta["kubeVersion"] = r.choice([">=1.20.0", "<1.0.0", ">=1.20.0-0"])
    # files
    for p in r.sample(list(FILES), r.randint(0, 5)):
        s.files[p] = FILES[p]
    if r.random() < 0.4:
        s.files[".helmignore"] = "\n".join(r.sample(IGNORE, r.randint(1, 4))) + "\n"
    if r.random() < 0.2:
        s.files["crds/crd.yaml"] = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: %s.example.com\n" % name
    # templates
    exprs = r.sample(CHART_EXPRS, r.randint(1, 4)) + r.sample(FILE_EXPRS, r.randint(0, 3))
    data = "\n".join(f"  e{i}: |-\n    {e}" for i, e in enumerate(exprs))
    s.templates["cm.yaml"] = (f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}-cm\ndata:\n"
                              f"  values: {{{{ toJson .Values | quote }}}}\n{data}\n")
    s.templates["_helpers.tpl"] = '{{- define "helpers.name" -}}' + name + ' {{ .Chart.Name }}{{- end -}}\n' + \
        ('{{- define "%s.own" -}}own-%s{{- end -}}\n' % (name, name))
    for i in range(r.randint(0, 3)):
        kind = r.choice(KINDS)
        docs = []
        for j in range(r.randint(1, 2)):
            k2 = kind if j == 0 else r.choice(KINDS)
            docs.append(f"apiVersion: v1\nkind: {k2}\nmetadata:\n  name: {name}-{i}-{j}\n")
        s.templates[r.choice(["a", "b", "z", "m", "sub/c", "_p", "B"]) + f"{i}.yaml"] = "---\n".join(docs) if r.random() < 0.8 else "\n---\n".join(docs) + "\n---\n"
    if r.random() < 0.5:
        s.templates["NOTES.txt"] = "notes of %s {{ .Chart.Name }} {{ .Values.x | toJson }} {{ .Template.Name }}\n" % name
    return s


def gen_lib(r, name):
    s = Spec(name, 1)
    s.type = "library"
    s.values = {"x": rv(r)} if r.random() < 0.5 else {}
    s.templates["_helpers.tpl"] = ('{{- define "%s.hello" -}}hello from %s chart={{ .Chart.Name }} x={{ .Values.x | toJson }}{{- end -}}\n' % (name, name))
    if r.random() < 0.5:
        s.templates["cm.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: lib-%s\n" % name
    if r.random() < 0.3:
        s.templates["NOTES.txt"] = "lib notes\n"
    return s


def add_subs(r, s, names, depth):
    n = r.randint(1, 3) if depth == 0 else r.randint(0, 1)
    for i in range(n):
        if depth == 0 and r.random() < 0.2:
            name = "lib%d" % i
            sub = gen_lib(r, name)
            lib_user = True
        else:
            name = names[depth][i] if depth < len(names) else "x%d" % i
            sub = gen_spec(r, name, depth + 1)
            if depth == 0 and r.random() < 0.5:
                add_subs(r, sub, names, depth + 1)
            lib_user = False
        packed = r.random() < 0.35
        s.subs.append((sub, packed))
        if lib_user and r.random() < 0.8:
            s.templates["uselib.yaml"] = (f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {s.name}-uselib\ndata:\n"
                                          f'  lib: {{{{ include "{name}.hello" . | quote }}}}\n')
        # dependency entry
        if r.random() < 0.9:
            dep = {"name": name}
            if r.random() < 0.9:
                dep["version"] = r.choice(["0.1.0", "0.1.0", "^0.1.0", ">=0.1.0", "~0.1", "1.0.0", "*", "0.1.x", ">0.1.0"])
            dep["repository"] = r.choice(["", "file://charts/" + name, "https://example.com/charts"]) if r.random() < 0.5 else ""
            if not dep["repository"]:
                del dep["repository"]
            if r.random() < 0.3:
                dep["alias"] = r.choice(["al1", "al2", name + "-al"])
            key = dep.get("alias", name)
            if r.random() < 0.5:
                conds = [r.choice([key + ".enabled", "missing.enabled", "flags." + key, key + ".x", key + ".enabled", "global.on"]) for _ in range(r.randint(1, 2))]
                dep["condition"] = ",".join(conds) if r.random() < 0.8 else ", ".join(conds)
            if r.random() < 0.4:
                dep["tags"] = r.sample(["front", "back", "t3"], r.randint(1, 2))
            if r.random() < 0.4:
                iv = []
                for _ in range(r.randint(1, 2)):
                    c = r.random()
                    if c < 0.4:
                        iv.append(r.choice(["data", "d2", "missing"]))
                    else:
                        iv.append({"child": r.choice(["exports.data", "x", "data", "m", "global", "nope", "exports"]),
                                   "parent": r.choice(["imported", "x", "myimp.deep", "global", key, "y"])})
                dep["import-values"] = iv
            s.deps.append(dep)
            if r.random() < 0.1:
                d2 = dict(dep)
                d2["alias"] = "twin"
                d2.pop("condition", None)
                s.deps.append(d2)
        # parent values about this sub
        key = s.deps[-1].get("alias", name) if s.deps and s.deps[-1]["name"] == name else name
        if r.random() < 0.7:
            sv = {}
            for _ in range(r.randint(0, 3)):
                sv[r.choice(["x", "y", "z", "enabled", "list", "m"])] = rv(r)
            if r.random() < 0.3:
                sv["global"] = {r.choice(["g1", "g2", "g4"]): rv(r)}
            if r.random() < 0.3 and sub.values:
                sv[r.choice(list(sub.values))] = None
            s.values[key] = sv if r.random() < 0.95 else r.choice([None, "str", 3])
    if r.random() < 0.4:
        s.values["tags"] = {t: r.choice([True, False, "true", None]) for t in r.sample(["front", "back", "t3"], r.randint(1, 2))}
    if r.random() < 0.3:
        s.values["flags"] = {nm: r.choice([True, False, "false", 0]) for nm in ["al1", "al2", "alpha", "beta", "deep"]}


def gen_case(seed):
    r = random.Random(seed)
    root = gen_spec(r, "par", 0)
    add_subs(r, root, [["alpha", "beta", "gamma"], ["deep", "deep2"]], 0)
    # user values
    user = {}
    for _ in range(r.randint(0, 3)):
        k = r.choice(["x", "global", "alpha", "beta", "al1", "tags", "flags", "gamma", "y"])
        if k == "global":
            user[k] = {r.choice(["g1", "g2", "g5"]): rv(r)}
        elif k == "tags":
            user[k] = {r.choice(["front", "back"]): r.choice([True, False, None])}
        elif k in ("alpha", "beta", "al1", "gamma"):
            user[k] = {r.choice(["x", "enabled", "y", "deep", "global"]): rv(r)} if r.random() < 0.9 else None
            if r.random() < 0.3 and user[k] is not None:
                user[k]["deep"] = {"x": rv(r), "enabled": r.choice([True, False])}
        else:
            user[k] = rv(r)
    return chart_files(root), user


def chart_yaml(s):
    m = {"apiVersion": s.api, "name": s.name, "version": "0.1.0"}
    if s.type:
        m["type"] = s.type
    m.update(s.extra_meta)
    if s.deps and s.api == "v2":
        m["dependencies"] = s.deps
    return m


def spec_files(s):
    out = {"Chart.yaml": yaml.safe_dump(chart_yaml(s), sort_keys=False)}
    if s.deps and s.api == "v1":
        out["requirements.yaml"] = yaml.safe_dump({"dependencies": s.deps}, sort_keys=False)
    out["values.yaml"] = yaml.safe_dump(s.values, sort_keys=False) if s.values else ""
    for p, t in s.templates.items():
        out["templates/" + p] = t
    out.update(s.files)
    return out


def tgz(files, name):
    """files packed under name/ as `helm package` would, byte for byte the
    same for the same files (no times, no owners)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tf:
        for path, data in sorted(files.items()):
            data = data if isinstance(data, bytes) else data.encode()
            info = tarfile.TarInfo(f"{name}/{path}")
            info.size = len(data)
            info.mode = 0o644
            tf.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def chart_files(s):
    """The chart's files, its subcharts' under charts/ (directories or .tgz)."""
    out = spec_files(s)
    for sub, packed in s.subs:
        sub_files = chart_files(sub)
        if packed:
            out[f"charts/{sub.name}-0.1.0.tgz"] = tgz(sub_files, sub.name)
        else:
            out.update({f"charts/{sub.name}/{p}": t for p, t in sub_files.items()})
    return out
