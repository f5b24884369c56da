"""Differential tests of berth against real Helm v4 (README.md,
"Differential testing"). Run it through scripts/difftest.sh, which builds
the driver and the CLI and provides the venv:

    run.py [SUITE...] [--count N] [--seed S] [--minutes M] [--out DIR] [--no-shrink]
           [--driver PATH] [--berth PATH]

Each suite runs the cases of seeds S, S+1, ... until it has run N of them
or M minutes have passed (each suite its own N and M). A difference that
is not in known.py (KNOWN: deliberate; OPEN: found, to fix) is shrunk and
written to OUT/found/<suite>/<kind>-<seed>/: case.json (the reproducer,
Helm's and berth's answers) and the files the reproducer names. One
summary line per suite; the exit status is 1 when a suite found a new
difference.
"""
import argparse
import collections
import json
import os
import shutil
import sys
import time

import harness
import known
import shrink
from suites import ALL

HERE = os.path.dirname(os.path.abspath(__file__))

# A difference counts only if Helm answers the same this many more times,
# before and after shrinking: Go's map order lets it choose among errors
# or order `values`, one way nine times in ten for a small map.
HELM_RERUNS = 20


def tally(counter):
    return ", ".join(f"{k} {v}" for k, v in counter.most_common())


def verdict(suite, case, work):
    """(kind or None, known entry or None, helm, berth) for one case."""
    h, b = suite.run(case, work)
    kind = suite.compare(h, b)
    if kind is None or kind == "helm-crash":
        return kind, None, h, b
    return kind, known.which(suite.NAME, suite.reproducer(case), h, b), h, b


def helm_is_stable(suite, case, work, h):
    return all(suite.helm_again(case, work) == h for _ in range(HELM_RERUNS))


def shrunk(suite, case, kind, work):
    """(the smallest case that keeps the difference, the known entry it
    turned out to be or None)."""
    def verdict_of(c):
        k, entry, _, _ = verdict(suite, c, work)
        return k, entry

    small = shrink.greedy(case, suite.smaller, suite.size, lambda c: verdict_of(c) == (kind, None))
    # A known difference can hide from its entry behind what the case does
    # with it (`b64enc` of the message); the first shrink keeps such a
    # wrapper, since without it the case is known. Shrinking on with the
    # entries ignored shows it: every step from here lands on a known case.
    smallest = shrink.greedy(small, suite.smaller, suite.size, lambda c: verdict_of(c)[0] == kind)
    return small, verdict_of(smallest)[1]


def examine(suite, case, work, shrinking):
    """What a case shows: ("same"|"helm-crash"|"helm-unstable"|"known NAME", None),
    or ("new", (kind, the case shrunk, Helm's answer, berth's))."""
    kind, entry, h, b = verdict(suite, case, work)
    if kind is None:
        return ("same error" if "error" in h else "same"), None
    if kind == "helm-crash":
        return "helm-crash", None  # Helm died or hung: nothing to compare
    if entry is not None:
        return "known " + entry, None
    if not helm_is_stable(suite, case, work, h):
        return "helm-unstable", None  # Go's map order chose Helm's answer
    if not shrinking:
        return "new", (kind, case, h, b)
    small, entry = shrunk(suite, case, kind, work)
    if entry is not None:
        return f"known {entry} (shrunk)", None
    k, entry, hs, bs = verdict(suite, small, work)
    if (k, entry) == (kind, None) and helm_is_stable(suite, small, work, hs):
        return "new", (kind, small, hs, bs)
    return "new", (kind, case, h, b)  # the shrinker went by a lucky Helm answer


def write_found(found_dir, suite, seed, kind, case, h, b):
    d = os.path.join(found_dir, f"{kind}-{seed}")
    shutil.rmtree(d, ignore_errors=True)
    rep = suite.reproducer(case)
    harness.write_tree(d, rep["files"])
    report = {
        "suite": suite.NAME,
        "kind": kind,
        "seed": seed,
        "again": f"scripts/difftest.sh {suite.NAME} --seed {seed} --count 1",
        "berth": " ".join(["berth"] + [json.dumps(a) if not a or " " in a else a for a in rep["args"]]),
        "answers": {"helm": h, "berth": b},
        "files": harness.json_safe(rep["files"]),
        "case": case if not isinstance(case.get("files"), dict) else dict(case, files=None),
    }
    with open(os.path.join(d, "case.json"), "w") as f:
        json.dump(report, f, indent=1, ensure_ascii=False)
        f.write("\n")
    return d


def run_suite(suite, args, out):
    work = os.path.join(out, "work", suite.NAME)
    found_dir = os.path.join(out, "found", suite.NAME)
    shutil.rmtree(found_dir, ignore_errors=True)
    os.makedirs(work, exist_ok=True)
    t0 = time.monotonic()
    deadline = t0 + args.minutes * 60 if args.minutes else None
    seen, known_seen, still_open, new = collections.Counter(), collections.Counter(), collections.Counter(), []
    seed = args.seed
    n = 0
    while (args.count is None or n < args.count) and (deadline is None or time.monotonic() < deadline):
        what, found = examine(suite, suite.generate(seed), work, not args.no_shrink)
        n += 1
        if what.startswith("known open: "):
            still_open[what[len("known open: "):]] += 1
        elif what.startswith("known "):
            known_seen[what[len("known "):]] += 1
        elif what == "new":
            kind, case, h, b = found
            path = write_found(found_dir, suite, seed, kind, case, h, b)
            new.append((kind, seed, path))
            print(f"  {suite.NAME} seed {seed}: NEW {kind}: {os.path.relpath(path)}", flush=True)
        else:
            seen[what] += 1
        seed += 1
    secs = time.monotonic() - t0
    parts = [f"{n} cases (seeds {args.seed}-{seed - 1}) in {secs:.0f}s", tally(seen)]
    for label, hits in (("known", known_seen), ("open", still_open)):
        if hits:
            parts.append(f"{label} {sum(hits.values())} ({tally(hits)})")
    parts.append(f"NEW {len(new)}" if new else "no new difference")
    print(f"{suite.NAME}: " + "; ".join(p for p in parts if p), flush=True)
    return new


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("suites", nargs="*", metavar="SUITE", help="of: " + ", ".join(ALL) + " (default: all)")
    ap.add_argument("--count", type=int, help="cases per suite (default 200 unless --minutes)")
    ap.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    ap.add_argument("--minutes", type=float, help="time per suite")
    ap.add_argument("--out", default=os.path.join(HERE, "out"), help="output directory (default difftest/out)")
    ap.add_argument("--no-shrink", action="store_true", help="write differences as generated")
    ap.add_argument("--driver", default=harness.DRIVER, help="the driver binary (default: difftest/driver's build)")
    ap.add_argument("--berth", default=harness.BERTH, help="the berth binary (default: target/debug/berth)")
    args = ap.parse_args()
    if args.count is None and args.minutes is None:
        args.count = 200
    unknown = [s for s in args.suites if s not in ALL]
    if unknown:
        ap.error(f"unknown suite {', '.join(unknown)}; suites: {', '.join(ALL)}")
    harness.SCRATCH = os.path.join(args.out, "work", "helm")
    harness.DRIVER, harness.BERTH = os.path.abspath(args.driver), os.path.abspath(args.berth)
    new = []
    try:
        for name in args.suites or ALL:
            new += run_suite(ALL[name], args, args.out)
    finally:
        harness.close_workers()
    if new:
        print(f"{len(new)} new difference(s), in {os.path.relpath(os.path.join(args.out, 'found'))}/")
    return 1 if new else 0


if __name__ == "__main__":
    sys.exit(main())
