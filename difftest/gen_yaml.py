"""Random YAML values documents for the yaml suite: YAML 1.1 scalars
(booleans, octals, sexagesimals, infinities, big integers), quoting and
escapes, tags, block scalars with indicators, anchors, aliases and merge
keys, flow collections, odd keys, comments and document separators.
"""

SCALARS = [
    "1", "-1", "0", "017", "0o17", "0x1F", "0X1f", "0b101", "1_000", "1_000.5", "+12", "1e3", "1E3", "1.5e+3", "6.02e23",
    ".inf", "-.inf", "+.inf", ".Inf", ".INF", ".nan", ".NaN", ".NAN", "NaN", "inf",
    "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
    "18446744073709551615", "18446744073709551616", "123456789012345678901234567890", "0.1", "1.", ".5", "-0", "-0.0", "00", "08", "09.5", "0o8",
    "yes", "no", "on", "off", "y", "n", "Y", "N", "YES", "Yes", "True", "TRUE", "true", "false", "False", "FALSE", "On", "OFF",
    "~", "null", "Null", "NULL", "", "''", '""', "'~'", '"null"', "'yes'",
    '"\\u00e9\\t\\n\\x41\\U0001F600"', '"a\\"b\\\\c"', '"\\/"', '"\\0\\a\\b\\e\\v\\f\\r"', '"\\N\\_\\L\\P"', '"line1\\\n  line2"',
    "'it''s'", "'multi\n  line'", "plain text", "a: b", "- x", "a #not comment", "a#b", "2001-12-14", "2001-12-14t21:59:43.10-05:00",
    "12:30:45", "1:20", "190:20:30", "!!str 123", "!!int '42'", "!!float 1", "!!bool yes", "!!str", "!!null ''",
    "!!binary aGVsbG8=", "!foo bar", "!foo", "!!map {}", "!!seq []", "!!int 0x10", "!!float .inf", "!!str true",
    "<<", "=", "@x", "`x`", "%x", "ünï", "日本", "😀", "&a1 anchored", "[]", "{}", "[1, 2, [3]]", "{a: 1, b: [x, y]}",
    "{a: 1, a: 2}", "[a, b, ]", "{ ? a : b }", "!!set {a, b}", "!!omap [a: 1]", "!!map a", "!!seq 1", "!!foo 12",
    "!!omap x", "!!merge y", "!!timestamp 2001-12-14", "!!timestamp x", "0.0000001", "1e-7", "100000000000000000000",
    "1e21", "1.0", "2.50", "0x_1F", "-0x1F", "+0x1F", "0o-1", "1__0", "_1", "1_", "3.", "+.5", "-.5e-2",
]
BLOCKS = [
    "|\n  line1\n  line2\n", "|-\n  line1\n  line2\n\n", "|+\n  line1\n\n", ">\n  folded\n  text\n\n  para\n", ">-\n  a\n  b\n",
    ">+\n  a\n\n\n", "|2\n    indented\n  x\n", "|1-\n  a\n", "|\n\n  leading blank\n", ">\n  a\n    more\n  b\n",
    "|\n  tab\there\n", "|-\n", ">\n", "|\n  # not a comment\n", "|+\n",
]


def scalar(r):
    s = r.choice(SCALARS)
    if "nan" in s.lower() or "inf" in s.lower():
        s = r.choice(SCALARS)
    return s


def value(r, ind, depth, anchors):
    """Returns text placed after 'key:' (either ' scalar\\n' or '\\n' + block)."""
    k = r.random()
    pad = " " * ind
    if depth < 3 and k < 0.2:
        lines = []
        before = list(anchors)
        for i in range(r.randint(0, 3)):
            key = r.choice(["a", "b", "c", "x", "1", "2.5", "true", "null", "~", "yes", "'q'", '"d q"', "0x10", "y", "on", "? a"] + (["[1, 2]", "{a: 1}"] if r.random() < 0.05 else []))
            if key == "? a":
                lines.append(f"{pad}? a\n{pad}: v{i}\n")
                continue
            lines.append(f"{pad}{key}:{value(r, ind + 2, depth + 1, anchors)}")
        if r.random() < 0.3 and before:
            a = r.choice(before)
            lines.insert(0, f"{pad}<<: *{a}\n" if r.random() < 0.6 else f"{pad}<<: [*{a}]\n")
        if not lines:
            return " {}\n"
        anc = ""
        if r.random() < 0.3:
            name = f"an{len(anchors)}"
            anc = f" &{name}"
            anchors.append(name)
        return anc + "\n" + "".join(lines)
    if depth < 3 and k < 0.35:
        lines = []
        for _ in range(r.randint(0, 3)):
            lines.append(f"{pad}-{value(r, ind + 2, depth + 1, anchors)}" if r.random() < 0.3 else f"{pad}- {scalar(r)}\n")
        if not lines:
            return " []\n"
        return "\n" + "".join(lines)
    if k < 0.45:
        b = r.choice(BLOCKS)
        first, rest = b.split("\n", 1)
        rest = "".join(pad + l + "\n" if l else "\n" for l in rest.split("\n")[:-1])
        return " " + first + "\n" + rest
    if k < 0.5 and anchors:
        return f" *{r.choice(anchors)}\n"
    if k < 0.55:
        name = f"an{len(anchors)}"
        anchors.append(name)
        return f" &{name} {scalar(r)}\n"
    s = scalar(r)
    if "\n" in s:
        s = s.replace("\n", "\n" + pad)
    c = f"  # c{r.randint(0, 9)}" if r.random() < 0.1 else ""
    return f" {s}{c}\n"


def gen_doc(r):
    anchors = []
    out = []
    if r.random() < 0.1:
        out.append("# leading comment\n")
    if r.random() < 0.1:
        out.append("---\n" if r.random() < 0.7 else "--- # c\n")
    keys = ["k%d" % i for i in range(8)] + ["global", "1", "true", "null", "0x1F", "y", "k0"]
    for _ in range(r.randint(1, 5)):
        k = r.choice(keys)
        out.append(f"{k}:{value(r, 2, 0, anchors)}")
        if r.random() < 0.05:
            out.append("# comment line\n")
        if r.random() < 0.04:
            out.append(r.choice(["---\n", "...\n---\n", "---\n---\n", "--- \n"]))
    if r.random() < 0.05:
        out.append(r.choice(["---\n", "...\n", "--- |\n  scalar doc\n", "---\n- a list doc\n", "---\nfoo\n"]))
    return "".join(out)
