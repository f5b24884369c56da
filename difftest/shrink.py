"""Shrinking a case that shows a difference to a small one that still shows it.

`greedy` takes the first smaller variant (from the suite's `smaller`) that
keeps the difference, and starts again from it, until none does or the
budget is spent. `tree_smaller` gives the variants of a chart as a file
tree: a packed subchart unpacked, a file dropped, a line dropped, a user
value dropped.
"""
import copy
import gzip
import io
import json
import tarfile
import time


def greedy(case, smaller, size, keeps, tries=2000, seconds=180):
    best = case
    deadline = time.monotonic() + seconds
    spent = 0
    improved = True
    while improved and spent < tries and time.monotonic() < deadline:
        improved = False
        for c in smaller(best):
            if size(c) >= size(best):
                continue
            spent += 1
            if keeps(c):
                best = c
                improved = True
                break
            if spent >= tries or time.monotonic() >= deadline:
                break
    return best


def untgz(data):
    """{path inside the archive: text or bytes} of a .tgz."""
    out = {}
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data))) as tf:
        for m in tf.getmembers():
            if m.isfile():
                raw = tf.extractfile(m).read()
                try:
                    out[m.name] = raw.decode()
                except UnicodeDecodeError:
                    out[m.name] = raw
    return out


def tree_size(case):
    """Fewer archives first, then fewer characters."""
    files = case["files"]
    packed = sum(1 for p in files if p.endswith(".tgz"))
    chars = sum(len(t) for t in files.values()) + len(json.dumps(case.get("values") or {}))
    return (packed, chars)


def tree_smaller(case):
    files = case["files"]
    for p in sorted(files):
        if p.endswith(".tgz"):
            # charts/x-0.1.0.tgz -> charts/<its top directory>/...
            base = p.rsplit("/", 1)[0]
            c = copy.deepcopy(case)
            del c["files"][p]
            c["files"].update({f"{base}/{q}": t for q, t in untgz(files[p]).items()})
            yield c
    for p in sorted(files):
        if not p.endswith("Chart.yaml"):
            c = copy.deepcopy(case)
            del c["files"][p]
            yield c
    for p in sorted(files):
        text = files[p]
        if isinstance(text, bytes):
            continue
        lines = text.split("\n")
        for i in range(len(lines)):
            c = copy.deepcopy(case)
            c["files"][p] = "\n".join(lines[:i] + lines[i + 1:])
            yield c
    for k in list(case.get("values") or {}):
        c = copy.deepcopy(case)
        del c["values"][k]
        yield c


def text_smaller(case, keys):
    """A line dropped from one of the texts case[k] (k in keys)."""
    for k in keys:
        text = case.get(k)
        if not text:
            continue
        lines = text.split("\n")
        for i in range(len(lines)):
            c = dict(case)
            c[k] = "\n".join(lines[:i] + lines[i + 1:])
            yield c
