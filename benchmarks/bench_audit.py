"""Time `medsyn audit` on a paper-scale corpus: 41,185 template notes against 5,000 real notes (RuMedTop3 train and
the first 310 dev notes), the other 538 dev notes as the holdout. Prints the wall time and the figures.

    nice .venv/bin/python benchmarks/bench_audit.py [--shared ../shared/data] [--corpus DIR]

Without --corpus a default template corpus of 41,185 notes is built first (not timed).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from medsyn.cli import main


def run() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--corpus", type=Path)
    args = parser.parse_args()
    top3 = args.shared / "rumedbench" / "RuMedTop3"
    work = Path(tempfile.mkdtemp(prefix="bench-audit-"))
    corpus = args.corpus or work / "corpus"
    if args.corpus is None:
        main(["build", "--out", str(corpus), "--n", "41185", "--quiet"])
    dev = (top3 / "dev_v1.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    train = (top3 / "train_v1.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    real, holdout = work / "real.jsonl", work / "holdout.jsonl"
    extra = 5000 - len(train)
    real.write_text("".join(train + dev[:extra]), encoding="utf-8")
    holdout.write_text("".join(dev[extra:]), encoding="utf-8")
    start = time.perf_counter()
    main(["audit", str(corpus), "--real", str(real), "--holdout", str(holdout), "--out", str(work / "audit")])
    wall = time.perf_counter() - start
    result = json.loads((work / "audit" / "audit.json").read_text(encoding="utf-8"))
    print(f"audit of {result['notes']} notes against {sum(s['count'] for s in result['real'])} real notes "
          f"(holdout {sum(s['count'] for s in result['holdout'])}): {wall:.1f} s wall")


if __name__ == "__main__":
    run()
