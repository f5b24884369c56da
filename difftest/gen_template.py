"""Random Helm templates for the templates suite: type-directed, over ~200
of Sprig's and Helm's functions, printf verbs, control structures
(if/range/with/define/template/block/break/continue), trim markers, and
values (values.yaml plus user values, nulls included) the template refers
to. About a third render; the rest fail somewhere, and the error is
compared as the output is.

A case is {"seed", "chart_values": values.yaml text, "values": user values,
"body": the tree of templates/t.yaml, "helpers": the tree of
templates/_helpers.tpl}. A template is a tree of nodes (lists), so that
`smaller` can shrink it:
  E nodes (expressions):
    ["E","lit",text]            literal / field / variable: printed as is
    ["E","call",name,[args]]    function call
    ["E","pipe",head,[[name,[args]],...]]
  S nodes (statements):
    ["S","text",s]
    ["S","out",E,trim]
    ["S","if",[[cond,body],...],else_body_or_None,trim]
    ["S","range",decl,E,body,else_or_None,trim]
    ["S","with",E,body,else_or_None,trim]
    ["S","assign",var,E,declare,trim]
    ["S","comment",text,trim]
    ["S","template",name,E,trim]
    ["S","block",name,E,body,trim]
    ["S","define",name,body]
    ["S","kw",word,trim]        break / continue
"""
import copy
import json
import random

import yaml

# ---------------------------------------------------------------- values

STR_POOL = [
    "", "hello", "Hello World", "a,b,c", "  spaced  ", "ünïcødé ✓", "日本語テキスト", "true", "yes",
    "no", "null", "~", "1.0", "0x1F", "017", "0o17", "1e3", "+1", "-", "a: b", "- x", "#c",
    "multi\nline\n", "tab\there", 'quo"te', "back\\slash", "{{ .Values.s }}", "1.2.3",
    "v1.2.3-beta.1", "http://user:pw@host:80/p?q=1#f", "aGVsbG8=", "<b>&amp;", "%d %s", "😀x",
    "e\u0301", "ZZ", "snake_case_word", "CamelCaseWord", "kebab-case-word", "x=1,y=2", "[1, 2]",
    "{a: 1}", '{"j": [1, 2.5, null]}', "  ", "\u00a0nbsp", "123", "-7", "3.25", "NaN", ".inf",
    "on", "Off", "y", "1_000", "0b101", "2001-12-14", "12:30:45", "a/b/../c.txt", "FOO_BAR",
    "The quick brown fox jumps", "a\u200bb", "\x7f", "é", "İ", "ß", "ǅ", "ﬃ",
]
INT_POOL = [0, 1, -1, 2, 3, 7, 42, -42, 100, 1000000, 2**31, 2**53 + 1, 2**63 - 1, -2**63, 10**20, 123456789, 65, 255]
FLOAT_POOL = [0.5, -1.5, 1e-7, 3.14159, 1e21, 1.5e300, 100.5, 0.1, 2.5, -0.0, 1e6 + 0.5, 123456.789, 1e-300, 5e-324]
KEY_POOL = ["a", "b", "c", "name", "list", "map", "n", "s", "x", "y", "z", "enabled", "port", "tags", "image",
            "Key", "KEY", "k1", "_u"]
ODD_KEYS = ["with-dash", "dot.key", "ünï", "1num", "", "sp ace", "$x", "nil", "true"]


def rand_scalar(r):
    k = r.random()
    if k < 0.4:
        return r.choice(STR_POOL)
    if k < 0.6:
        return r.choice(INT_POOL)
    if k < 0.75:
        return r.choice(FLOAT_POOL)
    if k < 0.9:
        return r.choice([True, False])
    return None


def rand_value(r, depth=0):
    k = r.random()
    if depth < 3 and k < 0.25:
        return [rand_value(r, depth + 1) for _ in range(r.randint(0, 4))]
    if depth < 3 and k < 0.5:
        return rand_map(r, depth + 1)
    return rand_scalar(r)


def rand_key(r):
    return r.choice(ODD_KEYS) if r.random() < 0.05 else r.choice(KEY_POOL)


def rand_map(r, depth=0, n=None):
    m = {}
    for _ in range(r.randint(0, 4) if n is None else n):
        m[rand_key(r)] = rand_value(r, depth)
    return m


def coalesce(chart, user):
    """Approximate Helm coalescing, for the generator's model only."""
    out = dict(chart) if isinstance(chart, dict) else {}
    for k, v in (user or {}).items():
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = coalesce(out[k], v)
        else:
            out[k] = v
    return out


def kind_of(v):
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "float"  # Helm's values are float64
    if isinstance(v, str):
        return "str"
    if isinstance(v, list):
        return "list"
    if isinstance(v, dict):
        return "map"
    return "nil"


IDENT_OK = lambda k: k and (k[0].isalpha() or k[0] == "_") and all(c.isalnum() or c == "_" for c in k) and k.isascii()


def paths(v, prefix=(), out=None):
    if out is None:
        out = []
    out.append((prefix, v))
    if isinstance(v, dict):
        for k, x in v.items():
            paths(x, prefix + (k,), out)
    return out


# ---------------------------------------------------------------- templates

def gostr(s, r):
    """A Go string literal for s (quoted or raw)."""
    if "`" not in s and r.random() < 0.2:
        return "`" + s + "`"
    return json.dumps(s, ensure_ascii=r.random() < 0.3)


def L(t):
    return ["E", "lit", t]


def C(name, *args):
    return ["E", "call", name, list(args)]


class Gen:
    def __init__(self, r, values, depth=2):
        self.r = r
        self.values = values
        self.vpaths = [(p, v) for p, v in paths(values) if p]
        self.vars = [("$", "any")]
        self.defines = []
        self.depth = depth
        self.nvar = 0
        self.in_range = 0
        self.dot_root = True
        self.cur_define = None

    # -- terms
    def value_ref(self, want=None):
        r = self.r
        cands = [(p, v) for p, v in self.vpaths if want is None or kind_of(v) == want or (want == "any")]
        root = ".Values" if self.dot_root else "$.Values"
        if not cands or r.random() < 0.04:
            # missing key
            return L(root + "." + ("nope.deeper" if r.random() < 0.1 else "missing")), "any"
        p, v = r.choice(cands)
        if all(IDENT_OK(k) for k in p):
            return L(root + "." + ".".join(p)), kind_of(v)
        return C("index", L(root), *[L(json.dumps(k)) for k in p]), kind_of(v)

    def lit(self, t):
        r = self.r
        if t == "str":
            return L(gostr(r.choice(STR_POOL), r))
        if t == "int":
            return L(r.choice(["0", "1", "2", "3", "-1", "7", "10", "42", "1000000", "0x1f", "0o17", "017", "1_000",
                               "'a'", "'\\n'", "9223372036854775807", "-9223372036854775808", "0b101", "100"]))
        if t == "float":
            return L(r.choice(["1.5", "0.5", "-2.25", "1e3", "1e6", "1.0", "3.0", "2.5e-3", "1e21", "0.1", "1E2", "6.02e23",
                               "0x1p-2", "100.0", "1_000.5", "-0.0"]))
        if t == "bool":
            return L(r.choice(["true", "false"]))
        if t == "nil":
            return L("nil")
        if t == "list":
            return r.choice([C("list"), C("list", self.lit("int"), self.lit("str")), C("list", self.lit("str"), self.lit("float")), C("splitList", L('","'), L('"a,b,,c"'))])
        if t == "map":
            return r.choice([C("dict"), C("dict", L('"a"'), self.lit("int")), C("dict", L('"k"'), C("list", self.lit("str")), L('"b"'), self.lit("float"))])
        return L(gostr(r.choice(STR_POOL), r))

    def var_of(self, want):
        c = [v for v, t in self.vars if v != "$" and (t == want or want == "any" or t == "any")]
        return L(self.r.choice(c)) if c else None

    # -- expressions of a wanted type
    def expr(self, want="any", d=0):
        r = self.r
        if d > self.depth or r.random() < 0.3:
            k = r.random()
            if k < 0.4:
                e, t = self.value_ref(None if want == "any" else ("float" if want == "int" else want))
                if want == "int" and r.random() < 0.9:
                    return C("int", e)
                return e
            if k < 0.55:
                v = self.var_of(want)
                if v:
                    return v
            if want in ("list", "map", "any") and r.random() < 0.5:
                return self.expr_call(want, d + 1)
            return self.lit(want if want != "any" else r.choice(["str", "int", "float", "bool", "str"]))
        return self.expr_call(want, d + 1)

    def a(self, t, d):
        return self.expr(t, d)

    def expr_call(self, want, d):
        r = self.r
        fs = FUNCS.get(want) or FUNCS["any"]
        if want == "any":
            fs = [f for t in FUNCS.values() for f in t]
        f = r.choice(fs)
        e = f(self, d)
        if r.random() < 0.15 and e[1] == "call" and e[3]:
            # rewrite last arg as pipe head
            head = e[3][-1]
            e = ["E", "pipe", head, [[e[2], e[3][:-1]]]]
        return e

    # -- statements
    def body(self, n, d):
        saved = list(self.vars)
        b = [self.stmt(d) for _ in range(n)]
        self.vars = saved
        return b

    def trim(self):
        r = self.r
        return [r.random() < 0.25, r.random() < 0.25]

    def text(self):
        return ["S", "text", self.r.choice(["\n", " ", "x: ", "\n  ", "  \n\n", "a", "-", ",", "\n- ", ": "])]

    def stmt(self, d=0):
        r = self.r
        k = r.random()
        if d > 2 or k < 0.35:
            return ["S", "out", self.out_expr(d), self.trim()]
        if k < 0.45:
            return self.text()
        if k < 0.55:
            arms = [[self.cond(d), self.body(r.randint(1, 3), d + 1)] for _ in range(r.randint(1, 3))]
            return ["S", "if", arms, self.body(r.randint(1, 2), d + 1) if r.random() < 0.5 else None, self.trim()]
        if k < 0.67:
            coll = r.choice(["list", "map", "list", "int", "list", "map", "any", "str"])
            if coll == "int":
                src = L(r.choice(["3", "0", "2", "-1"])) if r.random() < 0.7 else C("len", self.expr("any", d + 2))
            elif coll == "str":
                src = self.expr("str", d + 2)
            else:
                src = self.expr(coll, d + 1)
            self.nvar += 1
            decl = r.choice(["", f"$v{self.nvar}", f"$i{self.nvar}, $v{self.nvar}"])
            saved = list(self.vars)
            if decl:
                for v in decl.split(", "):
                    self.vars.append((v, "any"))
            self.in_range += 1
            saved_dot, self.dot_root = self.dot_root, False
            b = self.body(r.randint(1, 3), d + 1)
            self.dot_root = saved_dot
            if r.random() < 0.2:
                b.insert(r.randint(0, len(b)), ["S", "if", [[self.cond(d + 1), [["S", "kw", r.choice(["break", "continue"]), self.trim()]]]], None, self.trim()])
            self.in_range -= 1
            self.vars = saved
            return ["S", "range", decl, src, b, self.body(1, d + 1) if r.random() < 0.3 else None, self.trim()]
        if k < 0.74:
            e = self.expr(r.choice(["map", "str", "list", "any"]), d + 1)
            saved_dot, self.dot_root = self.dot_root, False
            b = self.body(r.randint(1, 3), d + 1)
            self.dot_root = saved_dot
            return ["S", "with", e, b, self.body(1, d + 1) if r.random() < 0.3 else None, self.trim()]
        if k < 0.82:
            self.nvar += 1
            t = r.choice(["str", "int", "float", "list", "map", "bool", "any"])
            name = f"$x{self.nvar}"
            st = ["S", "assign", name, self.expr(t, d + 1), True, self.trim()]
            self.vars.append((name, t))
            return st
        if k < 0.85:
            return ["S", "comment", r.choice(["c", " a comment ", "multi\nline"]), self.trim()]
        if k < 0.92 and self.callable_defines():
            name = r.choice(self.callable_defines())
            return ["S", "template", name, self.ctx_arg(d), self.trim()]
        if k < 0.95:
            self.nvar += 1
            name = f"blk{self.nvar}"
            saved = self.vars
            self.vars = [("$", "any")]
            b = self.body(r.randint(1, 2), 3)
            self.vars = saved
            return ["S", "block", name, L(r.choice([".", "$", "$"])), b, self.trim()]
        if self.vars and k < 0.98:
            v, t = r.choice(self.vars)
            if v != "$":
                return ["S", "assign", v, self.expr(t, d + 1), False, self.trim()]
        return ["S", "out", self.out_expr(d), self.trim()]

    def callable_defines(self):
        if self.cur_define is None:
            return self.defines
        return self.defines[: self.defines.index(self.cur_define)]

    def ctx_arg(self, d):
        r = self.r.random()
        if r < 0.75:
            return L("$")
        if r < 0.85:
            return None
        return self.expr("any", d + 2)

    def cond(self, d):
        return self.expr(self.r.choice(["bool", "bool", "any", "str", "list", "map"]), d + 1)

    def out_expr(self, d):
        r = self.r
        e = self.expr(r.choice(["str", "str", "any", "int", "float", "list", "map", "bool"]), d)
        k = r.random()
        if k < 0.3:
            fmt = r.choice(FORMATTERS)
            return fmt(self, e)
        return e

    def define(self, name):
        saved = self.vars
        self.vars = [("$", "any")]
        self.cur_define = name
        b = self.body(self.r.randint(1, 3), 1)
        self.cur_define = None
        self.vars = saved
        return ["S", "define", name, b]


def pipe1(e, name, *args):
    return ["E", "pipe", e, [[name, list(args)]]]


FORMATTERS = [
    lambda g, e: pipe1(e, "toYaml"),
    lambda g, e: pipe1(e, "toJson"),
    lambda g, e: pipe1(e, "toPrettyJson"),
    lambda g, e: pipe1(e, "toRawJson"),
    lambda g, e: pipe1(e, "toToml"),
    lambda g, e: pipe1(e, "quote"),
    lambda g, e: pipe1(e, "squote"),
    lambda g, e: pipe1(e, "toString"),
    lambda g, e: pipe1(e, "typeOf"),
    lambda g, e: pipe1(e, "kindOf"),
    lambda g, e: C("printf", L(json.dumps(g.r.choice(PRINTF_FMTS))), e),
    lambda g, e: C("printf", L(json.dumps(g.r.choice(PRINTF_FMTS) + " %v")), e, g.expr("any", 3)),
    lambda g, e: C("print", e, g.expr("any", 3)),
    lambda g, e: C("println", e),
    lambda g, e: pipe1(pipe1(e, "toYaml"), "nindent", L(g.r.choice(["2", "4", "0"]))),
    lambda g, e: pipe1(pipe1(e, "toYaml"), "indent", L(g.r.choice(["2", "1"]))),
    lambda g, e: pipe1(e, "html"),
    lambda g, e: pipe1(e, "js"),
    lambda g, e: pipe1(e, "urlquery"),
    lambda g, e: pipe1(e, "toYamlPretty"),
    lambda g, e: pipe1(e, "empty"),
    lambda g, e: pipe1(e, "len"),
]

PRINTF_FMTS = ["%v", "%d", "%s", "%q", "%x", "%X", "%o", "%b", "%e", "%E", "%f", "%g", "%G", "%t", "%T",
               "%5.2f", "%-8s|", "%+d", "%#v", "%08.3f", "%U", "%c", "%6d", "%-6d|", "%.3s", "%10.4v", "%+v",
               "%#x", "% x", "%x%%", "%.0f", "%.2e", "%#o", "%v %v", "%[1]v", "%*d", "%.1g", "%#q", "%O", "%08b",
               "%!", "%z", "%s%d"]


# Function generators by return type: each takes (gen, depth) -> E node.
def _f(name, *types):
    return lambda g, d: C(name, *[g.a(t, d) for t in types])


def _fv(name, t, lo, hi):
    return lambda g, d: C(name, *[g.a(t, d) for _ in range(g.r.randint(lo, hi))])


def _lit(name, choices, *types):
    return lambda g, d: C(name, L(json.dumps(g.r.choice(choices))), *[g.a(t, d) for t in types])


def _intlit(name, choices, *types):
    return lambda g, d: C(name, L(str(g.r.choice(choices))), *[g.a(t, d) for t in types])


REGEXES = ["a", "[a-z]+", "^h", "(\\w+)\\s(\\w+)", "\\d+", "x*", "", "(?i)HELLO", "[", "é|ü", "^$", "\\bw", "(a)(b)?", "\\pL+", "[[:alpha:]]+", "a{2,}"]
SEMVERS = ["1.2.3", "v1.2.3", "1.2", "1", "1.2.3-beta.1", "1.2.3+build", "x", "", "2.0.0-rc.1+b2", "01.2.3", "1.2.3.4"]
CONSTRAINTS = [">1.0", "^1.2", "~1.2.3", ">=1.0.0 <2.0.0", "1.x", "*", "!=1.2.3", "<=1.2.3-0", ">= 1.2, < 3", "1.2.3 || 2.x", "bad", "=1.2.3", "~> 1.2"]
DATES = ["2006-01-02", "02 Jan 06 15:04", "2006-01-02T15:04:05Z07:00", "Mon Jan _2", "15:04:05.000"]

FUNCS = {
    "str": [
        _f("upper", "str"), _f("lower", "str"), _f("title", "str"), _f("untitle", "str"), _f("trim", "str"),
        _f("trimAll", "str", "str"), _f("trimPrefix", "str", "str"), _f("trimSuffix", "str", "str"),
        _intlit("trunc", [0, 3, -3, 5, 100], "str"), _intlit("abbrev", [3, 4, 5, 10], "str"),
        _intlit("abbrevboth", [0, 1, 5], "int", "str"), _f("nospace", "str"), _f("initials", "str"),
        _f("snakecase", "str"), _f("camelcase", "str"), _f("kebabcase", "str"), _f("swapcase", "str"),
        _intlit("wrap", [3, 5, 80], "str"), _lit("wrapWith", ["<br>", "\n"], "str", "str"),
        _intlit("repeat", [0, 1, 3], "str"), _f("replace", "str", "str", "str"), _fv("cat", "any", 0, 3),
        _intlit("indent", [0, 2, 4], "str"), _intlit("nindent", [0, 2], "str"), _fv("quote", "any", 0, 3),
        _fv("squote", "any", 0, 2), _f("b64enc", "str"), _f("b64dec", "str"), _f("b32enc", "str"),
        _f("b32dec", "str"), _f("sha256sum", "str"), _f("sha1sum", "str"), _f("adler32sum", "str"),
        _f("toString", "any"), _f("toJson", "any"), _f("toYaml", "any"), _f("toRawJson", "any"),
        _f("toPrettyJson", "any"), _f("toToml", "any"), _f("typeOf", "any"), _f("kindOf", "any"),
        lambda g, d: C("printf", L(json.dumps(g.r.choice(PRINTF_FMTS))), *[g.a("any", d) for _ in range(g.r.randint(0, 2))]),
        _fv("print", "any", 0, 3), _fv("println", "any", 0, 2), _f("html", "any"), _f("js", "any"),
        _f("urlquery", "any"), _lit("join", [",", "", " - "], "list"), _lit("regexFind", REGEXES, "str"),
        _lit("regexReplaceAll", REGEXES, "str", "str"), _lit("regexReplaceAllLiteral", REGEXES, "str", "str"),
        _f("regexQuoteMeta", "str"), _f("base", "str"), _f("dir", "str"), _f("ext", "str"), _f("clean", "str"),
        _intlit("substr", [0, 1, -1, 3], "int", "str"), _lit("plural", ["one"], "str", "int"),
        _f("sha512sum", "str"), _f("toString", "str"),
        lambda g, d: C("include", L(json.dumps(g.r.choice(g.callable_defines()))), g.ctx_arg(d) or L(".")) if g.callable_defines() else C("include", g.a("str", d), L("$")),
        lambda g, d: C("tpl", L(gostr(g.r.choice(TPL_TEXTS), g.r)), g.r.choice([L("."), L("$"), g.a("any", d)])),
        lambda g, d: C("tpl", g.a("str", d), L("$")),
        lambda g, d: C("default", g.a("any", d), g.a("any", d)),
        lambda g, d: C("ternary", g.a("str", d), g.a("str", d), g.a("bool", d)),
        lambda g, d: C("coalesce", *[g.a("any", d) for _ in range(g.r.randint(0, 3))]),
        lambda g, d: C("required", L(json.dumps("need it")), g.a("any", d)),
        lambda g, d: C("index", g.a("str", d), L(g.r.choice(["0", "1", "-1", "10"]))),
        lambda g, d: C("slice", g.a("str", d), *[L(g.r.choice(["0", "1", "2", "5"])) for _ in range(g.r.randint(0, 2))]),
        _lit("date", DATES, "any"), _lit("dateInZone", DATES, "any", "str"),
        lambda g, d: C("durationRound", g.r.choice([L('"1h30m"'), L("3600"), L('"-2m5s"'), g.a("any", d)])),
        lambda g, d: C("duration", g.r.choice([L("3600"), L("1.5"), L('"90"'), g.a("any", d)])),
        _f("toDecimal", "any"), lambda g, d: C("toString", C("semver", L(json.dumps(g.r.choice(SEMVERS))))),
        _f("sha256sum", "any"), _fv("nospace", "str", 1, 1), _lit("getHostByName", ["localhost"]),
        lambda g, d: C("printf", L('"%v"'), C("lookup", L('"v1"'), L('"Pod"'), L('"ns"'), L('"x"'))),
        _f("osBase", "str"), _f("urlJoin", "map"),
    ],
    "int": [
        _f("len", "any"), _f("int", "any"), _f("int64", "any"), _f("atoi", "str"), _fv("add", "any", 0, 3),
        _f("sub", "any", "any"), _fv("mul", "any", 1, 3), _f("div", "any", "any"), _f("mod", "any", "any"),
        _f("add1", "any"), _fv("max", "any", 1, 3), _fv("min", "any", 1, 3), _f("floor", "any"),
        _f("ceil", "any"), lambda g, d: C("round", g.a("any", d), L(g.r.choice(["0", "1", "2", "-1"]))),
        _f("float64", "any"), _fv("addf", "any", 0, 3), _f("subf", "any", "any"), _fv("mulf", "any", 1, 2),
        _f("divf", "any", "any"), _f("add1f", "any"), _fv("maxf", "any", 1, 3), _fv("minf", "any", 1, 2),
        lambda g, d: C("index", g.a("list", d), L(g.r.choice(["0", "1", "-1"]))),
        _f("len", "str"),
        lambda g, d: C("toDecimal", L(json.dumps(g.r.choice(["0777", "17", "-010", "x", "0o7"])))),
    ],
    "float": [_f("float64", "any"), _fv("addf", "any", 1, 3), _f("divf", "any", "any"), _fv("mulf", "any", 1, 2),
              _fv("maxf", "any", 1, 3), _f("round", "any", "int"), _f("floor", "any"), _f("ceil", "any")],
    "bool": [
        lambda g, d: C(g.r.choice(["eq", "ne", "lt", "le", "gt", "ge"]), g.a(g.r.choice(["int", "str", "float", "any"]), d), g.a(g.r.choice(["int", "str", "float", "any"]), d)),
        lambda g, d: C("eq", *[g.a("any", d) for _ in range(g.r.randint(2, 4))]),
        lambda g, d: C(g.r.choice(["and", "or"]), *[g.a("any", d) for _ in range(g.r.randint(1, 3))]),
        _f("not", "any"), _f("empty", "any"), _f("hasKey", "map", "str"), _f("contains", "str", "str"),
        _f("hasPrefix", "str", "str"), _f("hasSuffix", "str", "str"), _lit("regexMatch", REGEXES, "str"),
        lambda g, d: C("kindIs", L(json.dumps(g.r.choice(["string", "map", "slice", "float64", "int", "bool", "invalid"]))), g.a("any", d)),
        lambda g, d: C("typeIs", L(json.dumps(g.r.choice(["string", "map[string]interface {}", "[]interface {}", "float64", "int", "bool"]))), g.a("any", d)),
        lambda g, d: C("semverCompare", L(json.dumps(g.r.choice(CONSTRAINTS))), L(json.dumps(g.r.choice(SEMVERS)))),
        _f("deepEqual", "any", "any"), _f("has", "any", "list"), _fv("all", "any", 0, 3), _fv("any", "any", 0, 3),
        _f("isAbs", "str"), lambda g, d: C("empty", C("lookup", L('"v1"'), L('"Pod"'), L('""'), L('""'))),
    ],
    "list": [
        _fv("list", "any", 0, 4), _lit("splitList", [",", "", " ", "a"], "str"), _intlit("until", [0, 3, -2, 5]),
        lambda g, d: C("untilStep", *[L(str(g.r.choice([0, 1, 2, 5, -1, 10, -3]))) for _ in range(3)]),
        lambda g, d: pipe1(C("keys", g.a("map", d)), "sortAlpha"),
        _f("sortAlpha", "any"), _f("uniq", "list"), _f("compact", "list"), _f("append", "list", "any"),
        _f("prepend", "list", "any"), _fv("concat", "list", 1, 3), _f("reverse", "list"), _f("rest", "list"),
        _f("initial", "list"), _f("without", "list", "any"), _f("toStrings", "any"),
        lambda g, d: C("regexFindAll", L(json.dumps(g.r.choice(REGEXES))), g.a("str", d), L(g.r.choice(["-1", "1", "0", "2"]))),
        lambda g, d: C("regexSplit", L(json.dumps(g.r.choice(REGEXES))), g.a("str", d), L(g.r.choice(["-1", "1", "0", "2"]))),
        lambda g, d: C("slice", g.a("list", d), *[L(g.r.choice(["0", "1", "2"])) for _ in range(g.r.randint(0, 2))]),
        lambda g, d: C("pluck", g.a("str", d), *[g.a("map", d) for _ in range(g.r.randint(1, 2))]),
        lambda g, d: C("fromYamlArray", L(gostr(g.r.choice(YAML_TEXTS), g.r))),
        lambda g, d: C("fromJsonArray", L(gostr(g.r.choice(JSON_TEXTS), g.r))),
        lambda g, d: C("mustAppend", g.a("list", d), g.a("any", d)), _f("first", "list"), _f("last", "list"),
        lambda g, d: C("chunk", L(g.r.choice(["1", "2", "0"])), g.a("list", d)),
        lambda g, d: C("values", g.a("map", d)) if g.r.random() < 0.1 else pipe1(C("values", C("dict", L('"a"'), g.a("any", d))), "toJson"),
        lambda g, d: C("seq", *[L(g.r.choice(["1", "3", "-1", "0", "2"])) for _ in range(g.r.randint(1, 3))]),
        _lit("split", [",", "a", ""], "str"),
    ],
    "map": [
        lambda g, d: C("dict", *[x for _ in range(g.r.randint(0, 3)) for x in (L(json.dumps(rand_key(g.r))), g.a("any", d))]),
        _fv("merge", "map", 1, 3), _fv("mergeOverwrite", "map", 1, 3), _f("deepCopy", "any"),
        lambda g, d: C("set", g.a("map", d), L(json.dumps(rand_key(g.r))), g.a("any", d)),
        lambda g, d: C("unset", g.a("map", d), L(json.dumps(rand_key(g.r)))),
        lambda g, d: C("pick", g.a("map", d), *[L(json.dumps(rand_key(g.r))) for _ in range(g.r.randint(0, 2))]),
        lambda g, d: C("omit", g.a("map", d), *[L(json.dumps(rand_key(g.r))) for _ in range(g.r.randint(0, 2))]),
        lambda g, d: C("fromYaml", L(gostr(g.r.choice(YAML_TEXTS), g.r))), lambda g, d: C("fromYaml", g.a("str", d)),
        lambda g, d: C("fromJson", L(gostr(g.r.choice(JSON_TEXTS), g.r))), lambda g, d: C("fromJson", g.a("str", d)),
        lambda g, d: C("fromToml", L(gostr(g.r.choice(TOML_TEXTS), g.r))),
        lambda g, d: C("get", g.a("map", d), L(json.dumps(rand_key(g.r)))),
        lambda g, d: C("dig", *[L(json.dumps(rand_key(g.r))) for _ in range(g.r.randint(1, 3))], g.a("any", d), g.a("map", d)),
        lambda g, d: C("urlParse", L(json.dumps(g.r.choice(["http://user:pw@host:80/p?q=1#f", "x", "/a b", "https://h/%zz"])))),
        lambda g, d: C("semver", L(json.dumps(g.r.choice(SEMVERS)))),
        lambda g, d: C("index", g.a("map", d), L(json.dumps(rand_key(g.r)))),
        lambda g, d: C("fromYaml", C("toYaml", g.a("any", d))),
        lambda g, d: C("fromJson", C("toJson", g.a("any", d))),
        _f("mustMerge", "map", "map"), lambda g, d: L(g.r.choice(["$.Values", "$.Values", "$.Release", "$.Template", "$.Capabilities.KubeVersion"])),
    ],
}
FUNCS["any"] = [
    lambda g, d: C("first", g.a("list", d)), lambda g, d: C("last", g.a("any", d)),
    lambda g, d: C("index", g.a("any", d), g.a("any", d)), lambda g, d: C("default", g.a("any", d), g.a("any", d)),
    lambda g, d: C("ternary", g.a("any", d), g.a("any", d), g.a("any", d)),
    lambda g, d: C("coalesce", *[g.a("any", d) for _ in range(g.r.randint(1, 3))]),
    lambda g, d: C("fromYaml", g.a("any", d)), lambda g, d: C("dig", L('"a"'), L('"b"'), g.a("any", d), g.a("any", d)),
    lambda g, d: C("and", g.a("any", d), g.a("any", d)), lambda g, d: C("or", g.a("any", d), g.a("any", d)),
    lambda g, d: C("get", g.a("any", d), g.a("str", d)), lambda g, d: C("mustFirst", g.a("any", d)),
    lambda g, d: C("index", g.a("any", d), *[g.a(g.r.choice(["int", "str"]), d) for _ in range(g.r.randint(0, 2))]),
]

TPL_TEXTS = ["{{ .Values.s }}", "{{ . }}", "x{{ .Release.Name }}y", "{{ toYaml . }}", "{{ include \"d0\" . }}",
             "{{ .Template.Name }}", "{{ template \"d0\" . }}", "{{ $.Values }}", "{{ define \"inner\" }}i{{ end }}{{ include \"inner\" . }}",
             "{{ if . }}t{{ else }}f{{ end }}", "{{ .nope }}", "{{ .Values.missing.deeper }}", "{{ 1 | add 2 }}", "{{", "{{ end }}",
             "{{ .Files.Get \"x\" }}", "plain", ""]
YAML_TEXTS = ["a: 1", "a: [1, 2]\nb: {c: d}", "- 1\n- two", "x", "", "a: 1\na: 2", "a: !!str 1", "a: 1e3\nb: 0x1f\nc: 017\nd: 0o17",
              "a: &x 1\nb: *x", "{", "a: yes\nb: ~\nc: .inf", "a: |\n  multi\n  line\n", "n: 12345678901234567890",
              "<<: {a: 1}\nb: 2", "a: 2001-12-14", "? [1]\n: x", "a: '1'\nb: \"\\t\"", "f: 1.0\ng: -0\nh: +5"]
JSON_TEXTS = ['{"a":1}', '[1,2,"x"]', '{"a":{"b":[true,null,1.5e3]}}', '"str"', "1", "", "{", '{"a":1,"a":2}', '{"n":12345678901234567890}',
              '{"u":"\\u00e9\\ud83d\\ude00"}', "null", "[]", "{} ", '{"f": 1.0, "e": 1e400}']
TOML_TEXTS = ['a = 1', 'a = "x"\n[b]\nc = [1, 2]', 'x = 1.5\ny = true', 'bad =', 'd = 1979-05-27T07:32:00Z', '[[t]]\na = 1\n[[t]]\na = 2',
              'big = 9223372036854775807', 'f = inf']


def render_expr(e, top=True):
    k = e[1]
    if k == "lit":
        return e[2]
    if k == "call":
        s = e[2] + "".join(" " + render_expr(a, False) for a in e[3])
        return s if top else "(" + s + ")"
    if k == "pipe":
        s = render_expr(e[2], False) if e[2][1] != "lit" else e[2][2]
        for name, args in e[3]:
            s += " | " + name + "".join(" " + render_expr(a, False) for a in args)
        return s if top else "(" + s + ")"
    raise ValueError(k)


def act(inner, trim):
    return "{{" + ("- " if trim[0] else " ") + inner + (" -}}" if trim[1] else " }}")


def render_body(b):
    return "".join(render_stmt(s) for s in b)


def render_stmt(s):
    k = s[1]
    if k == "text":
        return s[2]
    if k == "out":
        return act(render_expr(s[2]), s[3])
    if k == "if":
        out = ""
        for i, (c, b) in enumerate(s[2]):
            out += act(("if " if i == 0 else "else if ") + render_expr(c), s[4]) + render_body(b)
        if s[3] is not None:
            out += act("else", s[4]) + render_body(s[3])
        return out + act("end", s[4])
    if k == "range":
        head = "range " + (s[2] + " := " if s[2] else "") + render_expr(s[3])
        out = act(head, s[6]) + render_body(s[4])
        if s[5] is not None:
            out += act("else", s[6]) + render_body(s[5])
        return out + act("end", s[6])
    if k == "with":
        out = act("with " + render_expr(s[2]), s[5]) + render_body(s[3])
        if s[4] is not None:
            out += act("else", s[5]) + render_body(s[4])
        return out + act("end", s[5])
    if k == "assign":
        return act(s[2] + (" := " if s[4] else " = ") + render_expr(s[3]), s[5])
    if k == "comment":
        return ("{{- " if s[3][0] else "{{") + "/*" + s[2] + "*/" + (" -}}" if s[3][1] else "}}")
    if k == "template":
        return act('template "%s"' % s[2] + (" " + render_expr(s[3], False) if s[3] is not None else ""), s[4])
    if k == "block":
        return act('block "%s" %s' % (s[2], render_expr(s[3], False)), s[5]) + render_body(s[4]) + act("end", s[5])
    if k == "define":
        return '{{- define "%s" }}' % s[2] + render_body(s[3]) + "{{ end }}\n"
    if k == "kw":
        return act(s[2], s[3])
    raise ValueError(k)


def yaml_text(r, v):
    """v as YAML (block or flow, ASCII or not) or JSON."""
    style = r.random()
    if style < 0.2:
        return json.dumps(v, ensure_ascii=False)
    return yaml.safe_dump(v, allow_unicode=r.random() < 0.5, default_flow_style=r.random() < 0.2, sort_keys=False)


def gen_case(seed):
    r = random.Random(seed)
    chart_vals = rand_map(r, 0, r.randint(2, 7))
    user = rand_map(r, 0, r.randint(0, 4)) if r.random() < 0.7 else {}
    if r.random() < 0.1:
        # nulls in user values delete chart keys
        for k in list(chart_vals)[:1]:
            user[k] = None
    model = coalesce(chart_vals, user)
    g = Gen(r, model)
    defines = []
    for i in range(r.randint(0, 2)):
        g.defines.append(f"d{i}")
    for name in g.defines:
        defines.append(g.define(name))
    helpers = defines if r.random() < 0.5 else []
    body = ([d for d in defines if d not in helpers]) + g.body(r.randint(1, 6), 0)
    return {
        "seed": seed,
        "chart_values": yaml_text(r, chart_vals),
        "values": user,
        "body": body,
        "helpers": helpers,
    }


def case_files(case):
    files = {"templates/t.yaml": render_body(case["body"])}
    if case.get("helpers"):
        files["templates/_helpers.tpl"] = render_body(case["helpers"])
    return files



# ---------------------------------------------------------------- shrinking

def _is_node(x):
    return isinstance(x, list) and x and x[0] in ("S", "E")


def _positions(x, path=()):
    """Every (path, list) in the tree."""
    if isinstance(x, list):
        yield path, x
        for i, y in enumerate(x):
            yield from _positions(y, path + (i,))


def _get(root, path):
    for i in path:
        root = root[i]
    return root


def _descendants(node, cat):
    for _, x in _positions(node):
        if x is not node and _is_node(x) and x[0] == cat:
            yield x


def _tree_candidates(case, key):
    tree = case[key]
    for path, x in list(_positions(tree)):
        # drop an element of a body, an argument list or a pipeline's stages
        if x and not _is_node(x) and all(
                _is_node(y) or (isinstance(y, list) and len(y) == 2 and isinstance(y[0], str)) for y in x):
            for i in range(len(x)):
                c = copy.deepcopy(case)
                del _get(c[key], path)[i]
                yield c
        if _is_node(x) and x[0] == "S" and path:
            parent = _get(tree, path[:-1])
            if isinstance(parent, list) and not _is_node(parent):
                # a statement's bodies in its place
                for _, sub in _positions(x):
                    if sub and not _is_node(sub) and all(_is_node(y) and y[0] == "S" for y in sub):
                        c = copy.deepcopy(case)
                        _get(c[key], path[:-1])[path[-1]:path[-1] + 1] = copy.deepcopy(sub)
                        yield c
            if x[1] in ("out", "if", "range", "with", "assign", "comment", "template", "block", "kw"):
                t = x[-1]
                if isinstance(t, list) and len(t) == 2 and any(t):
                    c = copy.deepcopy(case)
                    _get(c[key], path)[-1] = [False, False]  # no trim markers
                    yield c
        if _is_node(x) and x[0] == "E" and path:
            for sub in list(_descendants(x, "E")):  # an expression by one of its parts
                c = copy.deepcopy(case)
                _get(c[key], path[:-1])[path[-1]] = copy.deepcopy(sub)
                yield c
            if x[1] != "lit":
                for lit in ('"x"', "1"):
                    c = copy.deepcopy(case)
                    _get(c[key], path[:-1])[path[-1]] = L(lit)
                    yield c
            if x[1] == "pipe" and x[3]:
                # x | f a  ->  f a x
                c = copy.deepcopy(case)
                node = _get(c[key], path)
                head, stages = node[2], node[3]
                call = C(stages[0][0], *stages[0][1], head)
                if len(stages) == 1:
                    _get(c[key], path[:-1])[path[-1]] = call
                else:
                    node[2], node[3] = call, stages[1:]
                yield c
        if _is_node(x) and x[0] == "S" and x[1] == "text" and x[2] not in ("", "\n"):
            c = copy.deepcopy(case)
            _get(c[key], path)[2] = "\n"
            yield c


def smaller(case):
    """Smaller variants of a case, for the shrinker to try in turn."""
    for key in ("helpers", "body"):
        yield from _tree_candidates(case, key)
    for k in list(case["values"]):
        c = copy.deepcopy(case)
        del c["values"][k]
        yield c
    try:
        cv = yaml.safe_load(case["chart_values"])
    except yaml.YAMLError:
        return
    if isinstance(cv, dict):
        for k in list(cv):
            c = copy.deepcopy(case)
            d = dict(cv)
            del d[k]
            c["chart_values"] = yaml.safe_dump(d, allow_unicode=True, sort_keys=False) if d else ""
            yield c
        plain = yaml.safe_dump(cv, allow_unicode=True, sort_keys=False)
        if case["chart_values"] != plain:
            c = copy.deepcopy(case)
            c["chart_values"] = plain
            yield c
