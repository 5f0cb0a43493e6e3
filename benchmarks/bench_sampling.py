"""Graph load time and prior sampling throughput (issue targets: load < 1 s, > 20,000 priors/s on one core).

    .venv/bin/python benchmarks/bench_sampling.py [--n 100000]
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from medsyn.builder.kg.graph import load_graph
    from medsyn.builder.generate.sampling import PriorSampler

    start = time.perf_counter()
    graph = load_graph()
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    sampler = PriorSampler(graph)
    setup_s = time.perf_counter() - start
    start = time.perf_counter()
    count = sum(1 for _ in sampler.sample(args.n, args.seed))
    sample_s = time.perf_counter() - start
    print(f"graph load: {load_s:.3f} s (target < 1 s)")
    print(f"sampler setup: {setup_s:.3f} s")
    print(f"sampled {count} priors in {sample_s:.2f} s: {count / sample_s:,.0f} priors/s (target > 20,000/s)")


if __name__ == "__main__":
    main()
