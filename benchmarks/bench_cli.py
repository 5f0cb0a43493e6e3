"""Wall time of the command line's quick answers: `medsyn --help`, every subcommand's `--help`, and one argument
error per subcommand (an unknown flag). Each is a fresh process, as a user's shell starts it; median of --runs.

These answers should not wait on the libraries that do the work (torch, transformers, TRL, datasets, gradio...):
the closing note of issue 22 quotes this table.

    .venv/bin/python benchmarks/bench_cli.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from medsyn.cli import COMMANDS

ACTION = {"mkg": "build", "ift": "build"}  # commands that pick an action first: its flags are timed


def invocations() -> list[tuple[str, list[str], int]]:
    """(label, argv, expected exit status)."""
    rows = [("medsyn --help", ["--help"], 0)]
    for command in COMMANDS:
        prefix = [command, ACTION[command]] if command in ACTION else [command]
        rows.append((f"medsyn {' '.join(prefix)} --help", [*prefix, "--help"], 0))
        rows.append((f"medsyn {' '.join(prefix)} --no-such-flag 1", [*prefix, "--no-such-flag", "1"], 2))
    return rows


def entry_point() -> list[str]:
    """The installed `medsyn` script beside this interpreter (what a user runs), else `python -m medsyn.cli`."""
    script = Path(sys.executable).with_name("medsyn")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "medsyn.cli"]


def time_one(argv: list[str], expected: int, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run([*entry_point(), *argv], capture_output=True, text=True, env=dict(os.environ))
        times.append(time.perf_counter() - start)
        if done.returncode != expected:
            raise SystemExit(f"{' '.join(argv)}: exit {done.returncode}, expected {expected}\n{done.stderr[-1000:]}")
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    print(f"{os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, "
          f"median of {runs} runs, via {' '.join(Path(p).name for p in entry_point())}")
    width = max(len(label) for label, _, _ in invocations())
    slowest = 0.0
    for label, argv, expected in invocations():
        seconds = time_one(argv, expected, runs)
        slowest = max(slowest, seconds)
        print(f"{label:<{width}}  {seconds:6.2f} s", flush=True)
    print(f"slowest: {slowest:.2f} s")


if __name__ == "__main__":
    main()
