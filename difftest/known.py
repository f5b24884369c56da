"""Known differences between berth and Helm, deliberately left: a case
that shows one of these is counted as known, not reported as new.

Each entry names the suites it applies to, why it is left, and a `match`
that recognises it by the construct that triggers it AND the shape of the
difference, as narrowly as that allows: a broad match would hide new
differences. `match(text, h, b)` gets the reproducer's files as one text
(templates, values, flags) and both answers.

To see what an entry hides, remove it and run its suites: the cases it
matched come out as new, shrunk.
"""
import json
import re


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


# Both on squashed text.
GO_COLLECTION_KEY = re.compile(
    r"invalidmapkey:(?:\[\]interface\{\}|map\[interface\{\}\]interface\{\}|map\[string\]interface\{\})\{")
BERTH_COLLECTION_KEY = "invalidmapkey:acollectioncannotbeakey"


def berth_collection_key_wording(s):
    """Squashed s with each of go-yaml's `invalid map key: <%#v of the key>` for a
    collection key worded as berth words it."""
    out, i = [], 0
    while (m := GO_COLLECTION_KEY.search(s, i)) is not None:
        out.append(s[i:m.start()] + BERTH_COLLECTION_KEY)
        depth, j = 0, m.end() - 1
        while j < len(s):
            depth += {"{": 1, "}": -1}.get(s[j], 0)
            j += 1
            if depth == 0:
                break
        i = j
    return "".join(out) + s[i:]


def collection_key(text, h, b):
    # A complex key (`? [1]`) or a flow collection before a colon, and the
    # only difference the wording of go-yaml's error for it.
    hs, bs = squash(dump(h)), squash(dump(b))
    return (re.search(r"\?\s*[\[{]|[\]}]\s*:", text) is not None and BERTH_COLLECTION_KEY in bs
            and berth_collection_key_wording(hs) == bs)


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


def printf_d_of(construct):
    # Helm's %d of a pointer to a struct prints its fields (&{1 2 3
    # %!d(string=) ...}); berth has no such struct and prints %!d(<nil>).
    # Only the printf of the construct with a d verb, and nothing else.
    def match(text, h, b):
        hs, bs = squash(dump(h)), squash(dump(b))
        return (construct in text and re.search(r"printf\b.*%[-+# 0-9.]*d", text) is not None
                and "%!d(<nil>)" in bs and without_go_structs(hs) == bs.replace("%!d(<nil>)", "&{}"))
    return match


def slice_within_capacity(text, h, b):
    # Go's slice may reach past a slice's length up to its capacity (the
    # spare room append left: regexFindAll, initial, uniq...); berth's
    # lists have no capacity, and refuse with Go's out-of-bounds error.
    return (re.search(r"\bslice\b", text) is not None and "error" not in h and "error" in b
            and "error calling slice: reflect.Value.Slice: slice index out of bounds" in b["error"])


def tag_without_content(text, h, b):
    # A tag with no content in a flow sequence (`[!!str]`): libyaml wants a
    # node after the tag, berth takes an empty one.
    return (re.search(r"!!?\w*\s*\]", text) is not None and "error" not in b
            and "did not find expected ',' or ']'" in dump(h))


def range_huge_duration(text, h, b):
    # `range` over an integer as big as a long Duration loops for as long
    # as in Go: both sides stop only at their time limits.
    return re.search(r"\brange\b", text) is not None and "hang" in h and "hang" in b


DEPENDENCIES_PREFIX = "chart dependencies processing failed: "


def dependencies_prefix(text, h, b):
    # Exactly Helm's message less the prefix.
    return both_errors(h, b) and h["error"] == DEPENDENCIES_PREFIX + b["error"]


KNOWN = [
    Known("index-string-uint8", ["templates"],
          "berth-template has no uint8: index of a string gives a uint64 where Go gives a byte",
          index_string_uint8),
    Known("collection-key-wording", ["templates", "yaml", "values"],
          "a collection as a YAML mapping key: go-yaml prints the key with %#v "
          "(`invalid map key: []interface {}{1}`), berth says `a collection cannot be a key`",
          collection_key),
    Known("dependencies-error-prefix", ["charts", "show-only"],
          "an error of dependency processing (conditions, import-values) lacks the "
          "`chart dependencies processing failed: ` that Helm's install puts before it",
          dependencies_prefix),
    Known("printf-d-semver", ["templates"],
          "printf %d of a *semver.Version: Go prints the struct's fields, berth %!d(<nil>)",
          printf_d_of("semver")),
    Known("printf-d-time-location", ["templates"],
          "printf %d of a *time.Location: Go prints the struct's fields, berth %!d(<nil>)",
          printf_d_of("Location")),
    Known("slice-within-capacity", ["templates"],
          "slice past a Go slice's length but within its capacity: Go allows it, berth refuses",
          slice_within_capacity),
    Known("flow-tag-without-content", ["templates", "yaml", "values"],
          "`k: [!!str]`: libyaml refuses a tag with no node in a flow sequence, berth accepts it",
          tag_without_content),
    Known("range-huge-duration", ["templates"],
          "range over a huge integer (a Duration's nanoseconds) runs for ever, in Helm as in berth",
          range_huge_duration),
]


def which(suite, reproducer, h, b):
    """The name of the known difference this is, or None."""
    text = "\n".join(t for t in reproducer["files"].values() if isinstance(t, str))
    text += "\n" + " ".join(reproducer.get("args", []))
    for k in KNOWN:
        if suite in k.suites and k.match(text, h, b):
            return k.name
    return None
