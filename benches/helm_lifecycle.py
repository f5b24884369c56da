#!/usr/bin/env python3
"""Real Helm v4's install/upgrade/rollback/uninstall times (helper of benches/lifecycle.rs).

    helm_lifecycle.py KUBECONFIG CHART_V1 CHART_V2 ROUNDS

Runs one warm-up round and ROUNDS measured rounds against the cluster in
KUBECONFIG, the same steps berth takes, and prints the median seconds of
each verb on one line.
"""
import pathlib
import statistics
import sys
import time

from helm_python import Config


def main():
    kubeconfig, v1, v2, rounds = pathlib.Path(sys.argv[1]).read_text(), sys.argv[2], sys.argv[3], int(sys.argv[4])
    times = [[], [], [], []]
    with Config(kubeconfig_content=kubeconfig, namespace="default") as cfg:
        for r in range(rounds + 1):
            name = f"h{r}"
            steps = [
                lambda: cfg.install(v1, name, {}),
                lambda: cfg.upgrade(v2, name, {"replicaCount": 3}),
                lambda: cfg.rollback(name, version=1),
                lambda: cfg.uninstall(name),
            ]
            for i, step in enumerate(steps):
                start = time.perf_counter()
                step()
                took = time.perf_counter() - start
                if r > 0:
                    times[i].append(took)
    print(" ".join(str(statistics.median(t)) for t in times))


if __name__ == "__main__":
    main()
