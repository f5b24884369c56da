#!/usr/bin/env python3
"""Real Helm v4 driven step by step (helper of benches/upgrade.rs).

    helm_upgrade.py KUBECONFIG [QPS]

Reads one command per line on stdin and answers each with one line:

    install NAME CHART          -> "ok SECONDS"   (--wait, kstatus watcher)
    upgrade NAME CHART TAG      -> "ok SECONDS"   (--wait, image.tag=TAG)
    uninstall NAME              -> "ok SECONDS"   (--wait)

or "error MESSAGE". SECONDS is the time of the SDK call alone (the
interpreter and the SDK are loaded once, before the first command), so
the bench can interleave Helm's steps with berth's on one simulator.

QPS is client-go's rate limit (queries per second, and as many as a
burst); "default" keeps Helm's own (client-go's 5 per second after a burst
of 100), which throttles a 200-object release for minutes; the default is
1000, which never throttles here: the bench compares against Helm at its
fastest.
"""
import pathlib
import sys
import time

from helm_python import Config

TIMEOUT = 300


def main():
    kubeconfig = pathlib.Path(sys.argv[1]).read_text()
    qps = sys.argv[2] if len(sys.argv) > 2 else "1000"
    limits = {} if qps == "default" else {"qps": float(qps), "burst_limit": int(float(qps))}
    with Config(kubeconfig_content=kubeconfig, namespace="default", **limits) as cfg:
        for line in sys.stdin:
            words = line.split()
            if not words:
                continue
            verb, name, rest = words[0], words[1], words[2:]
            if verb == "install":
                step = lambda: cfg.install(rest[0], name, {}, wait="watcher", timeout=TIMEOUT)
            elif verb == "upgrade":
                values = {"image": {"tag": rest[1]}}
                step = lambda: cfg.upgrade(rest[0], name, values, wait="watcher", timeout=TIMEOUT)
            elif verb == "uninstall":
                step = lambda: cfg.uninstall(name, wait="watcher", timeout=TIMEOUT)
            else:
                print(f"error unknown command {verb!r}", flush=True)
                continue
            start = time.perf_counter()
            try:
                step()
            except Exception as e:  # the bench reports it and stops
                print("error " + " ".join(str(e).split()), flush=True)
                continue
            print(f"ok {time.perf_counter() - start}", flush=True)


if __name__ == "__main__":
    main()
