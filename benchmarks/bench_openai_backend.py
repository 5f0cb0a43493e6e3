"""Throughput of the `openai` backend against a loopback server with a fixed latency (issue target: within 1.5x of
the ideal `requests / concurrency x latency`).

The server (tests/fault_server.py) runs in its own process so that it does not share the client's GIL; it answers
every completion after `--latency` seconds. Prints the wall time, the ideal, their ratio and requests/s.

    .venv/bin/python benchmarks/bench_openai_backend.py [--requests 2000] [--concurrency 64] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cpu_seconds(pid: int) -> float:
    """User + system CPU of another process (Linux /proc), to tell a CPU-bound client from a slow server."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the server waits before answering")
    args = parser.parse_args()

    from medsyn.builder.generate.backends.openai import OpenAIBackend
    from medsyn.builder.generate.backends import Request, SamplingParams

    server = subprocess.Popen(
        [sys.executable, "-m", "tests.fault_server", "--port", "0", "--latency", str(args.latency)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        base_url = server.stdout.readline().strip()
        requests = [
            Request(
                key=f"r{i}",
                messages=[
                    {"role": "system", "content": "Ты врач. Напиши жалобы пациента."},
                    {"role": "user", "content": f"Симптомы: кашель, слабость. Номер {i}."},
                ],
                seed=i,
                params=SamplingParams(max_new_tokens=256),
            )
            for i in range(args.requests)
        ]
        with OpenAIBackend("fake-model", [base_url], concurrency=args.concurrency, timeout=30) as backend:
            list(backend.generate(requests[: args.concurrency]))  # warm up: open the connections
            start, cpu_start, server_start = time.perf_counter(), time.process_time(), cpu_seconds(server.pid)
            results = list(backend.generate(requests))
            wall = time.perf_counter() - start
            client_cpu, server_cpu = time.process_time() - cpu_start, cpu_seconds(server.pid) - server_start
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)

    failed = sum(not r.ok for r in results)
    ideal = args.requests / args.concurrency * args.latency
    print(f"openai backend: {args.requests} requests, concurrency {args.concurrency}, latency {args.latency * 1000:.0f} ms")
    print(f"  wall {wall:.2f} s, ideal {ideal:.2f} s, ratio {wall / ideal:.2f}x (target <= 1.5x), "
          f"{args.requests / wall:.0f} requests/s, {failed} failed")
    print(f"  CPU: client {client_cpu:.2f} s ({client_cpu / args.requests * 1000:.2f} ms/request), server "
          f"{server_cpu:.2f} s; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} "
          "(one client process: its CPU per request, not the server's latency, bounds the rate once it nears "
          "concurrency / latency)")


if __name__ == "__main__":
    main()
