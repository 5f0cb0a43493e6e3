"""Paper-scale build: 41,185 notes with the `template` backend, end to end (issue target: < 60 s, < 1.5 GB).

    .venv/bin/python benchmarks/bench_build.py [--n 41185] [--workers 0]

Runs `medsyn build` in a child process (the real command, from sampling to the written dataset folder and card)
and prints its wall time and memory: the peak RSS of its largest process, and the peak of the whole process tree
(the build and its worker processes) as PSS, which counts the pages forked workers share with the build once.
`--workers 1` runs everything in the build's own process (the build's default, 0, is one process per core).
"""

from __future__ import annotations

import argparse
import resource
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=41_185)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="medsyn-bench-") as tmp:
        out = Path(tmp) / "corpus"
        command = [sys.executable, "-m", "medsyn.cli", "build", "--out", str(out), "--n", str(args.n),
                   "--seed", str(args.seed), "--workers", str(args.workers), "--quiet"]
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
        _, stderr = child.communicate()
        if child.returncode != 0:
            sys.exit(f"build failed:\n{stderr}")
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        summary = [line for line in stderr.splitlines() if line.startswith("built ")]
        print(f"notes requested: {args.n}, workers: {args.workers or 'one per core'}")
        print(summary[0] if summary else stderr[-500:])
        print(f"wall time: {wall:.1f} s (target < 60 s)")
        print(f"peak RSS of the largest process: {peak_mb:.0f} MB; peak PSS of all its processes together: "
              f"{peak_pss / 2**20:.0f} MB (target < 1536 MB)")


if __name__ == "__main__":
    main()
