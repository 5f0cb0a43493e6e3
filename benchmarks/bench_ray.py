"""The Ray engine's speed (issue 24): the HTTP processor against the ideal, and its overhead on a template build.

    .venv/bin/python benchmarks/bench_ray.py [--requests 10000] [--concurrency 32] [--latency 0.05] [--n 41185]

1. `--requests` chat completions to a loopback OpenAI-compatible server (tests/fault_server.py, its own process)
   that answers each after `--latency` seconds: through `ray.data.llm`'s HTTP request processor as
   `medsyn build --engine ray --backend openai` sends them (`ray_llm.HttpGeneration`, on a local Ray instance),
   and through the local engine's `openai` backend, in the same run, at the same concurrency. Prints each wall
   time against the ideal `requests / concurrency x latency` (target: Ray within 1.5x).
2. `medsyn build --n N` with the template backend, `--engine local` and `--engine ray` (a Ray instance started by
   the build: start-up included), each in a child process into a fresh folder: wall times and their ratio, and
   whether the two corpora's rows are the same.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from medsyn.builder.corpus.ray_llm import HttpGeneration
from medsyn.builder.generate.backends import GenerationOptions, Request, SamplingParams
from medsyn.builder.generate.backends.openai import OpenAIBackend

ROOT = Path(__file__).resolve().parent.parent
MEDSYN = [sys.executable, "-m", "medsyn.cli"]


def requests_of(n: int) -> list[Request]:
    return [Request(key=f"r{i}", seed=i, params=SamplingParams(max_new_tokens=256),
                    messages=[{"role": "system", "content": "Ты врач. Напиши жалобы пациента."},
                              {"role": "user", "content": f"Симптомы: кашель, слабость. Номер {i}."}])
            for i in range(n)]


def http_part(args: argparse.Namespace) -> None:
    import ray

    server = subprocess.Popen([sys.executable, "-m", "tests.fault_server", "--port", "0", "--latency",
                               str(args.latency)], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                              start_new_session=True)
    ideal = args.requests / args.concurrency * args.latency
    try:
        base_url = server.stdout.readline().strip()
        options = GenerationOptions(backend="openai", model="fake-model", base_url=[base_url],
                                    concurrency=args.concurrency, timeout=30)
        requests = requests_of(args.requests)
        ray.init(include_dashboard=False, log_to_driver=False)
        ray.data.DataContext.get_current().enable_progress_bars = False
        backend = OpenAIBackend("fake-model", [base_url], concurrency=args.concurrency, timeout=30)
        engine = HttpGeneration(ray, backend, options)
        list(engine.generate(requests[: args.concurrency]))  # warm up: the actors start
        start = time.perf_counter()
        ray_results = list(engine.generate(requests))
        ray_wall = time.perf_counter() - start
        ray.shutdown()
        with OpenAIBackend("fake-model", [base_url], concurrency=args.concurrency, timeout=30) as local:
            list(local.generate(requests[: args.concurrency]))
            start = time.perf_counter()
            local_results = list(local.generate(requests))
            local_wall = time.perf_counter() - start
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
    print(f"HTTP: {args.requests} requests, concurrency {args.concurrency}, latency {args.latency * 1000:.0f} ms, "
          f"ideal {ideal:.2f} s")
    for name, wall, results in (("ray.data.llm HTTP processor", ray_wall, ray_results),
                                ("local openai backend", local_wall, local_results)):
        failed = sum(not r.ok for r in results)
        print(f"  {name}: wall {wall:.2f} s, {wall / ideal:.2f}x the ideal, {args.requests / wall:.0f} requests/s, "
              f"{len(results)} answered, {failed} failed")


def build_part(args: argparse.Namespace) -> None:
    walls = {}
    with tempfile.TemporaryDirectory(prefix="medsyn-bench-ray-") as tmp:
        for engine in ("local", "ray"):
            out = Path(tmp) / engine
            start = time.perf_counter()
            done = subprocess.run([*MEDSYN, "build", "--out", str(out), "--n", str(args.n), "--seed", "0", "--quiet",
                                   "--engine", engine], capture_output=True, text=True,
                                  env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"})
            walls[engine] = time.perf_counter() - start
            if done.returncode:
                sys.exit(f"--engine {engine} failed:\n{done.stderr[-3000:]}")
        same = all((Path(tmp) / "local" / sub / shard.name).read_bytes() == shard.read_bytes()
                   for sub in ("data", "unfiltered") for shard in sorted((Path(tmp) / "ray" / sub).iterdir()))
    print(f"template build, {args.n} notes: --engine local {walls['local']:.1f} s, --engine ray {walls['ray']:.1f} s "
          f"(ratio {walls['ray'] / walls['local']:.2f}x, Ray start-up included); same parquet shards: {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the server waits before answering")
    parser.add_argument("--n", type=int, default=41_185, help="notes of the template build")
    parser.add_argument("--skip", choices=("http", "build"), help="leave one part out")
    args = parser.parse_args()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if args.skip != "http":
        http_part(args)
    if args.skip != "build":
        build_part(args)
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
