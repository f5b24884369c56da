"""Known differences between berth and Helm, deliberately left: a case
that shows one of these is counted as known, not reported as new.

Each entry names the suites it applies to, why it is left, and a `match`
that recognises it by the construct that triggers it AND the shape of the
difference, as narrowly as that allows: a broad match would hide new
differences. `match(text, h, b)` gets the reproducer's files as one text
(templates, values, flags) and both answers.

To see what an entry hides, remove it and run its suites: the cases it
matched come out as new, shrunk.

KNOWN are the deliberate ones; OPEN, below, the ones difftest found that
are still to fix.
"""
import json
import re

import shrink


class Known:
    def __init__(self, name, suites, reason, match):
        self.name, self.suites, self.reason, self.match = name, suites, reason, match


def dump(answer):
    return json.dumps(answer, ensure_ascii=False, sort_keys=True)


def squash(s):
    """s without case and whitespace: a template may pass a message through
    upper, nospace, indent... and the shrinker keeps whatever hides the
    difference from an entry, so entries compare squashed texts."""
    return re.sub(r"\s+", "", s).lower()


def both_errors(h, b):
    return "error" in h and "error" in b


def index_string_uint8(text, h, b):
    # Helm: `index "abc" 1` is a byte (uint8), as Go's index of a string;
    # berth's value model has no uint8. Shows in typeOf/kindOf/%T and in
    # "got uint8" errors; nothing else may differ.
    hs, bs = squash(dump(h)), squash(dump(b))
    return re.search(r"\bindex\b", text) is not None and "uint8" in hs and hs.replace("uint8", "uint64") == bs


def without_go_structs(s):
    """Squashed s with each `&{...}` (Go's %d of a pointer to a struct,
    fields and all, braces balanced) as `&{}`."""
    out, i = [], 0
    while (j := s.find("&{", i)) >= 0:
        out.append(s[i:j] + "&{}")
        depth, k = 0, j + 1
        while k < len(s):
            depth += {"{": 1, "}": -1}.get(s[k], 0)
            k += 1
            if depth == 0:
                break
        i = k
    return "".join(out) + s[i:]


BERTH_NIL_STRUCT = re.compile(r"%!.\(<nil>\)")


def printf_struct_of(construct):
    # Helm's %d (or a bad verb: %!) of a pointer to a struct prints its
    # fields (&{1 2 3 %!d(string=) ...}); berth has no such struct and
    # prints %!d(<nil>). Only a printf of the construct, and nothing else.
    def match(text, h, b):
        hs, bs = squash(dump(h)), squash(dump(b))
        return (construct in text and re.search(r"printf\b", text) is not None
                and BERTH_NIL_STRUCT.search(bs) is not None
                and without_go_structs(hs) == BERTH_NIL_STRUCT.sub("&{}", bs))
    return match


def printf_time_location_struct(text, h, b):
    # A time.Time under a verb other than v, s, x, X, q prints its struct
    # {wall ext loc}; a loc other than UTC is a pointer: Helm prints its
    # address (%d) or its fields (a bad verb), berth one address or
    # `&{NAME}`. Only those parts may differ.
    hs, bs = squash(dump(h)), squash(dump(b))
    address = re.compile(r"\d{6,}\}")
    return (re.search(r"printf\b", text) is not None
            and ("*time.location=&{" in hs or address.search(hs) is not None)
            and address.sub("A}", without_go_structs(hs)) == address.sub("A}", without_go_structs(bs)))


DATE_WORDS = re.compile(
    r"\d+|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|mon|tue|wed|thu|fri|sat|sun")


def extreme_unix_time(text, h, b):
    # A time at the int64 limits of Unix seconds: Go's seconds since year 1
    # (time.Unix adds unixToInternal) wrap there, so Sub, Before and `ago`
    # see such a time on the other side of now (`ago 9223372036854775807`:
    # Helm the greatest duration, berth the least). Its calendar date is
    # Go's (dates.rs follows absSec's wrapping). Only the numbers may differ.
    hs, bs = squash(dump(h)), squash(dump(b))
    return (re.search(r"922337203685477\d{4}", text) is not None and hs != bs
            and ("error" in h) == ("error" in b)
            and DATE_WORDS.sub("", hs) == DATE_WORDS.sub("", bs))


def slice_within_capacity(text, h, b):
    # Go's slice may reach past a slice's length up to its capacity (the
    # spare room append left: regexFindAll, initial, uniq...); berth's
    # lists have no capacity, and refuse with Go's out-of-bounds error.
    # Helm may then fail later on (berth stopped at the slice).
    refusal = "error calling slice: reflect.Value.Slice: slice index out of bounds"
    return (re.search(r"\bslice\b", text) is not None and "error" in b
            and refusal in b["error"] and refusal not in h.get("error", ""))


def tag_without_content(text, h, b):
    # A tag with no content in a flow sequence (`[!!str]`): libyaml wants a
    # node after the tag, berth takes an empty one.
    return (re.search(r"!!?\w*\s*\]", text) is not None and "error" not in b
            and "did not find expected ',' or ']'" in dump(h))


def range_huge_duration(text, h, b):
    # `range` over an integer as big as a long Duration loops for as long
    # as in Go: both sides stop only at their time limits.
    return re.search(r"\brange\b", text) is not None and "hang" in h and "hang" in b


# A range over a literal of a million or more: `range $v := deepCopy 1000000`,
# `range add 1e6`.
BIG_RANGE = re.compile(r"\{\{-?\s*range\b[^}]*?\b(?:\d{6,}|\d+(?:\.\d+)?[eE]\+?0*(?:[6-9]|[1-9]\d+))\b")


def range_long_loop_berth_time_limit(text, h, b):
    # A loop of a million rounds, each doing real work (fromYaml): the
    # driver, a debug build under nice, cancels the render at its 8 s limit
    # where Helm finishes in its 30. Time, not the answer, differs.
    return (BIG_RANGE.search(text) is not None and "the operation was cancelled" in b.get("hang", "")
            and ("output" in h or "error" in h))


NUMBER = re.compile(r"\d+")


def address_length(text, h, b):
    # The length of a text holding a pointer's address (the context's
    # .Capabilities printed by `{{ . }}`): helm-python-sdk runs Helm as a
    # c-shared library whose heap lay at 0x29da808ee420 (14 characters),
    # where a Go program's heap starts at 0xc000000000 (12), as berth's
    # one address (0xc000010000) does.
    # Only numbers may differ, Helm's larger by a multiple of two.
    if re.search(r"\blen\b", text) is None or "output" not in h or "output" not in b:
        return False
    hs, bs = dump(h), dump(b)
    hn, bn = NUMBER.findall(hs), NUMBER.findall(bs)
    return (NUMBER.sub("N", hs) == NUMBER.sub("N", bs) and hn != bn
            and all((int(x) - int(y)) % 2 == 0 and 0 <= int(x) - int(y) <= 40 for x, y in zip(hn, bn)))


# values of a dict literal of two or more entries, or of a map in .Values.
MAP_ORDER = re.compile(r"""\bvalues\s+(\(dict(\s+"[^"]*"\s+(\([^()]*\)|[^\s()]+)){2,}\s*\)|\$?\.Values[.\w]*)""")


def map_order_error_choice(text, h, b):
    # Sprig's `values` lists a map in Go's iteration order, which Helm's
    # runs mostly agree on and berth does not follow; what a template then
    # fails on first can differ. Errors only: an output that differs still
    # counts.
    return MAP_ORDER.search(text) is not None and both_errors(h, b)


SCHEMA_ERRORS = re.compile(r"(?:^- at '[^\n]*\n)+", re.M)
ADDITIONAL = re.compile(r"(additional properties )('[^\n]*?')( not allowed)")


def schema_errors_sorted(s):
    """s with each run of a schema's error lines (`- at '/x': ...`, the
    first after its rule's `: `) sorted, and the names each `additional
    properties 'a', 'b' not allowed` lists."""
    s = ADDITIONAL.sub(lambda m: m.group(1) + ", ".join(sorted(m.group(2).split(", "))) + m.group(3), s)
    s = s.replace(": - at '", ":\n- at '")
    return SCHEMA_ERRORS.sub(lambda m: "".join(sorted(m.group(0).splitlines(True))), s)


def schema_error_order(text, h, b):
    # The jsonschema validator walks a schema's properties, and an
    # object's (the names `additional properties` lists), in Go's map
    # order, so Helm lists them in either order from run to run; asked
    # again, Helm may agree with itself by chance (an order one time in
    # eight for two names; otherwise counted helm-unstable). Only the
    # order of those lines and names may differ.
    hs, bs = h.get("output"), b.get("output")
    return (isinstance(hs, str) and isinstance(bs, str) and hs != bs
            and "- at '" in hs and schema_errors_sorted(hs) == schema_errors_sorted(bs))


CLI_SUITES = ["values", "charts", "yaml", "capabilities", "show-only"]


def escape_controls(s):
    """cli/src/output.rs escape_controls: control characters but line
    breaks and tabs written out as \\xNN."""
    return "".join(f"\\x{ord(c):02x}" if (ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F) and c not in "\n\t" else c
                   for c in s)


def cli_escapes_controls(text, h, b):
    # README ("Security"): errors write control characters out (`\x1b`)
    # rather than send them to the terminal, where Helm prints them raw.
    return both_errors(h, b) and h["error"] != b["error"] and escape_controls(h["error"]) == b["error"]


KNOWN = [
    Known("index-string-uint8", ["templates"],
          "berth-template has no uint8: index of a string gives a uint64 where Go gives a byte",
          index_string_uint8),
    Known("printf-d-semver", ["templates"],
          "printf %d (or a bad verb) of a *semver.Version: Go prints the struct's fields, berth %!d(<nil>)",
          printf_struct_of("semver")),
    Known("printf-d-time-location", ["templates"],
          "printf %d (or a bad verb) of a *time.Location: Go prints the struct's fields, berth %!d(<nil>)",
          printf_struct_of("Location")),
    Known("printf-time-location-struct", ["templates"],
          "printf %d (or a bad verb) of a time.Time in a zone other than UTC: Go prints the "
          "location's address or fields, berth one address or &{NAME}",
          printf_time_location_struct),
    Known("slice-within-capacity", ["templates"],
          "slice past a Go slice's length but within its capacity: Go allows it, berth refuses",
          slice_within_capacity),
    Known("flow-tag-without-content", ["templates", "yaml", "values"],
          "`k: [!!str]`: libyaml refuses a tag with no node in a flow sequence, berth accepts it",
          tag_without_content),
    Known("map-order-error-choice", ["templates"],
          "two errors, which one comes first follows Go's map iteration order (Sprig's values)",
          map_order_error_choice),
    Known("extreme-unix-time", ["templates"],
          "a time at the int64 limit of Unix seconds: Go's seconds since year 1 wrap, "
          "so durations and comparisons from it differ from berth's",
          extreme_unix_time),
    Known("range-huge-duration", ["templates"],
          "range over a huge integer (a Duration's nanoseconds) runs for ever, in Helm as in berth",
          range_huge_duration),
    Known("range-long-loop-berth-time-limit", ["templates"],
          "range over a million or more with work in each round: berth's debug driver stops at its "
          "8 s limit where Helm finishes",
          range_long_loop_berth_time_limit),
    Known("address-length", ["templates"],
          "len of a text holding a pointer's address: Helm's heap, in helm-python-sdk's c-shared "
          "library, has addresses two characters longer than a Go program's, which berth prints",
          address_length),
    Known("schema-error-order", ["lint"],
          "a schema's errors in Go's map order of its properties: Helm's order varies from run to run",
          schema_error_order),
    Known("cli-escapes-controls", CLI_SUITES,
          "berth's CLI writes an error's control characters out (\\x7f), as README.md's "
          "Security section says; Helm prints them raw",
          cli_escapes_controls),
]




# ---------------------------------------------------------------- open
#
# Differences difftest found that are not fixed yet: each is a bug to fix
# (the reproducer is in the entry), matched as narrowly as the ones above.
# They are counted as "open" in the summary and do not fail a run, so that
# a run says whether a change brought something new; remove the entry
# with the fix, and the suite checks the fix from then on.

def yaml_flow_scanner_error_after_a_dash_then_bracket(text, h, b):
    # In a flow collection on one line that could be a simple key (the
    # root `[`), libyaml's scanner reads the rest of the line before its
    # parser fails inside: a scanner error further on is the error. berth
    # reads a `-` before a flow indicator again quoted (granit-parser
    # refuses it plain), and granit-parser's scanner stops right after a
    # quoted scalar followed by a bracket. `fromYaml "[[[-{}]]]-"`: Helm
    # `block sequence entries are not allowed in this context` (the last
    # `-`), berth `did not find expected ',' or ']'` (at the `{`); `[-{}]
    # @`: Helm `found character that cannot start any token`. Found by
    # difftest (templates, seed 1441631: fromYaml of a kebabcase of a
    # printed list).
    hs, bs = dump(h), dump(b)
    scanner = ("block sequence entries are not allowed in this context" in hs
               or "found character that cannot start any token" in hs)
    return (re.search(r"-[\[{]", text) is not None and scanner
            and "not allowed in this context" not in bs and "cannot start any token" not in bs
            and re.search(r"yaml: did not find expected ',' or '[\]}]'", bs) is not None)


def yaml_bad_anchor_in_an_open_flow_collection(text, h, b):
    # An anchor or alias whose name libyaml refuses (`&a[`, `&#34;[x`,
    # what `html` makes of a quoted flow text) in a flow collection the
    # text leaves open: granit-parser's scanner holds the anchor's token
    # while it could start a key and fails at the end first, so berth
    # reports the open collection where libyaml refused the name.
    refusal = "did not find expected alphabetic or numeric character"
    return (re.search(r"[&*]|\bhtml\b", text) is not None and refusal in dump(h)
            and refusal not in dump(b) and "did not find expected" in dump(b))


OPEN = [
    # Reproducer: {{ (fromYaml "&a[").Error }}, {{ fromYaml (html (quote (list 1))) }}
    Known("open: yaml-bad-anchor-in-an-open-flow-collection", ["templates", "yaml", "values"],
          "an anchor name libyaml refuses in a flow collection left open (`&a[`): libyaml's "
          "error at the name, berth's at the open collection's end",
          yaml_bad_anchor_in_an_open_flow_collection),
    # Reproducer: {{ (fromYaml "[[[-{}]]]-").Error }}
    Known("open: yaml-flow-scanner-error-after-a-dash-then-bracket", ["templates", "yaml", "values"],
          "a `-` then `[` or `{` in a flow collection on one line (`[[[-{}]]]-`): libyaml's scanner "
          "error further on the line, berth's parser error at the bracket",
          yaml_flow_scanner_error_after_a_dash_then_bracket),
]


def which(suite, reproducer, h, b):
    """The name of the known (or open) difference this is, or None."""
    text = "\n".join(t for t in reproducer["files"].values() if isinstance(t, str))
    # and the texts inside chart archives (subcharts packed as .tgz)
    for p, t in reproducer["files"].items():
        if isinstance(t, bytes) and p.endswith(".tgz"):
            text += "\n" + "\n".join(x for x in shrink.untgz(t).values() if isinstance(x, str))
    text += "\n" + " ".join(reproducer.get("args", []))
    for k in KNOWN + OPEN:
        if suite in k.suites and k.match(text, h, b):
            return k.name
    return None
