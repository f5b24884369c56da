"""set-expressions: random --set, --set-string, --set-json and
--set-literal expressions (keys with dots, escapes, indexes, odd values),
parsed by Helm's strvals and by berth's (the driver); the values (numbers
compared by value: JSON from Go loses int64 vs float64) or errors compared."""
import random

import harness

from .base import Suite

KEYS = ["a", "b", "name", "x.y", "a\\.b", "list[0]", "list[1]", "list[2].k", "ünï", "with-dash", "n[0][1]",
        "a.b.c", "x", "a[", "a]", "m.k", "list[-1]", "list[70000]", "a b", "", "a..b", ".a", "a.", "k\\=v",
        "a[0]", "a.b", "list[0].x", "list[1]", "d\\,e", "_", "0", "a[0].b[1]"]
VALS = ["1", "0x1f", "1e3", "017", "true", "false", "null", "", "a\\,b", "{1,2}", "{a,b,c}", "[x]",
        "9223372036854775807", "9223372036854775808", "-1", "+1", "1.5", "01", "0", "-0", "a=b", "\\\\",
        "é", " spaced ", "{}", "{ x , y }", "\\", "a\\=b", "TRUE", "True", "Null", "NULL", "~", "0o17", "1_000",
        "-9223372036854775808", "007", "{1,{2}}", "a\\.b", "'q'", '"dq"', "1,2"]
JSONV = ['{"a":1}', '[1,2]', '"s"', '1.5', 'null', 'true', '{bad', '1e400', '12345678901234567890',
         '{"a":{"b":[1,{"c":null}]}}', '[]', '{}', '"a,b"', '1', '-0', '1.0', '"\\u00e9"', '[1,', 'x']
FLAG = {"set": "--set", "string": "--set-string", "json": "--set-json", "literal": "--set-literal"}


class SetExpr(Suite):
    NAME = "set-expressions"
    ABOUT = "--set/--set-string/--set-json/--set-literal parsed by Helm's strvals vs berth's"

    def generate(self, seed):
        r = random.Random(seed)
        kind = r.choice(["set", "set", "string", "json", "literal"])
        parts = []
        for _ in range(r.randint(1, 4)):
            k = r.choice(KEYS)
            v = r.choice(JSONV if kind == "json" else VALS)
            parts.append(k + "=" + v if r.random() < 0.95 else k)
        return {"kind": kind, "expr": ",".join(parts)}

    def run(self, case, work):
        req = {"op": "strvals", "kind": case["kind"], "expr": case["expr"]}
        return [self._as_output(a) for a in (harness.helm().call(req), harness.berth().call(req))]

    @staticmethod
    def _as_output(a):
        return {"output": a["values"]} if "values" in a else a

    def compare(self, h, b):
        return harness.classify(h, b, equal=harness.same)

    def smaller(self, case):
        parts = case["expr"].split(",")
        for i in range(len(parts)):
            if len(parts) > 1:
                yield {"kind": case["kind"], "expr": ",".join(parts[:i] + parts[i + 1:])}

    def reproducer(self, case):
        return {"files": {}, "args": ["template", "rel", "CHART", FLAG[case["kind"]], case["expr"]]}
