"""Graph load time and prior sampling throughput (issue targets: load < 1 s, > 20,000 priors/s on one core).

    .venv/bin/python benchmarks/bench_sampling.py [--n 100000] [--runs 3]

Each run is a fresh process (the graph's load is a cold one, as a command's is); prints every run and the median.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def measure(n: int, seed: int) -> dict:
    from medsyn.builder.generate.sampling import PriorSampler
    from medsyn.builder.kg.graph import load_graph

    start = time.perf_counter()
    graph = load_graph()
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    sampler = PriorSampler(graph)
    setup_s = time.perf_counter() - start
    start = time.perf_counter()
    count = sum(1 for _ in sampler.sample(n, seed))
    sample_s = time.perf_counter() - start
    return {"load_s": load_s, "setup_s": setup_s, "priors_per_s": count / sample_s, "n": count}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # a child: one run, as JSON
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.n, args.seed)))
        return
    runs = []
    for i in range(args.runs):
        done = subprocess.run([sys.executable, __file__, "--one", "--n", str(args.n), "--seed", str(args.seed)],
                              capture_output=True, text=True, check=True)
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        r = runs[-1]
        print(f"run {i + 1}: graph load {r['load_s']:.3f} s, sampler setup {r['setup_s']:.3f} s, "
              f"{r['priors_per_s']:,.0f} priors/s")
    median = {key: statistics.median(r[key] for r in runs) for key in ("load_s", "setup_s", "priors_per_s")}
    print(f"median of {len(runs)} (load average {os.getloadavg()[0]:.2f}):")
    print(f"graph load: {median['load_s']:.3f} s (target < 1 s)")
    print(f"sampler setup: {median['setup_s']:.3f} s")
    print(f"sampling: {median['priors_per_s']:,.0f} priors/s of {args.n} (target > 20,000/s)")


if __name__ == "__main__":
    main()
