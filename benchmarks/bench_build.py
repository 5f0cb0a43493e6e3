"""Paper-scale build: 41,185 notes with the `template` backend, end to end (issue target: < 60 s, < 1.5 GB RSS).

    .venv/bin/python benchmarks/bench_build.py [--n 41185]

Runs `medsyn build` in a child process (the real command, from sampling to the written dataset folder and card)
and prints its wall time and peak resident memory.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=41_185)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="medsyn-bench-") as tmp:
        out = Path(tmp) / "corpus"
        command = [sys.executable, "-m", "medsyn.cli", "build", "--out", str(out), "--n", str(args.n),
                   "--seed", str(args.seed), "--quiet"]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            sys.exit(f"build failed:\n{done.stderr}")
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        summary = [line for line in done.stderr.splitlines() if line.startswith("built ")]
        print(f"notes requested: {args.n}")
        print(summary[0] if summary else done.stderr[-500:])
        print(f"wall time: {wall:.1f} s (target < 60 s)")
        print(f"peak RSS: {peak_mb:.0f} MB (target < 1536 MB)")


if __name__ == "__main__":
    main()
