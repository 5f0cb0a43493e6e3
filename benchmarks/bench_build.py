"""Paper-scale build: 41,185 notes with the `template` backend, end to end (issue target: < 60 s, < 1.5 GB).

    .venv/bin/python benchmarks/bench_build.py [--n 41185] [--workers 0] [--runs 3]

Runs `medsyn build` in a child process (the real command, from sampling to the written dataset folder and card)
and prints its wall time and memory: the peak RSS of its largest process, and the peak of the whole process tree
(the build and its worker processes) as PSS, which counts the pages forked workers share with the build once.
`--workers 1` runs everything in the build's own process (the build's default, 0, is one process per core).
Each run builds into a fresh folder with a fresh work dir (nothing resumed); prints every run and the medians.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil  # installed with accelerate


def tree_pss(process: psutil.Process) -> int:
    """Bytes of proportional set size of a process and its descendants now (0 for those already gone)."""
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_full_info().pss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def run_once(n: int, seed: int, workers: int) -> tuple[float, float, float, str]:
    """Wall seconds, peak RSS of the largest process (MB), peak PSS of the process tree (MB), the build's summary."""
    with tempfile.TemporaryDirectory(prefix="medsyn-bench-") as tmp:
        out = Path(tmp) / "corpus"
        command = [sys.executable, "-m", "medsyn.cli", "build", "--out", str(out), "--n", str(n),
                   "--seed", str(seed), "--workers", str(workers), "--quiet"]
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        watched, peak_pss = psutil.Process(child.pid), 0
        while child.poll() is None:
            try:
                peak_pss = max(peak_pss, tree_pss(watched))
            except psutil.NoSuchProcess:
                pass
            time.sleep(0.5)  # reading the tree's page tables costs CPU: more often would slow the build
        wall = time.perf_counter() - start
        stdout, stderr = child.communicate()
        if child.returncode != 0:
            sys.exit(f"build failed:\n{stderr}")
        # ru_maxrss of children is the largest ever seen: a later run reports its own only when it is larger
        peak_mb = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024
        summary = [line for line in (stdout + stderr).splitlines() if line.startswith("built ")]
        return wall, peak_mb, peak_pss / 2**20, summary[0] if summary else stderr[-500:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=41_185)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"notes requested: {args.n}, workers: {args.workers or 'one per core'}")
    walls, rss, pss = [], [], []
    for i in range(args.runs):
        wall, peak_mb, peak_pss_mb, summary = run_once(args.n, args.seed, args.workers)
        walls.append(wall), rss.append(peak_mb), pss.append(peak_pss_mb)
        print(f"run {i + 1}: {wall:.1f} s, peak PSS {peak_pss_mb:.0f} MB; {summary}")
    print(f"median of {len(walls)} (load average {os.getloadavg()[0]:.2f}):")
    print(f"wall time: {statistics.median(walls):.1f} s (target < 60 s)")
    print(f"peak RSS of the largest process: {max(rss):.0f} MB (the largest of all runs); peak PSS of all its "
          f"processes together: {statistics.median(pss):.0f} MB (target < 1536 MB)")


if __name__ == "__main__":
    main()
