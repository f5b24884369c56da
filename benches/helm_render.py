#!/usr/bin/env python3
"""Real Helm v4's rendering time for one chart (helper of benches/render.rs).

    helm_render.py CHART_DIR RELEASE VALUES_JSON ITERATIONS

Loads the chart once, renders it ITERATIONS times with helm-python-sdk
(Helm's own engine), prints the median seconds per render.
"""
import json
import statistics
import sys
import time

from helm_python import Chart


def main():
    chart_dir, release, values, iterations = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4])
    chart = Chart.load(chart_dir)
    chart.render(values=values, name=release)  # warm-up
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        chart.render(values=values, name=release)
        times.append(time.perf_counter() - start)
    print(statistics.median(times))


if __name__ == "__main__":
    main()
