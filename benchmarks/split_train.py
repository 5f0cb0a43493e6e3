"""Hold out a per-code share of the real training notes, for learning a code budget on notes the final report
does not use (`medsyn budget` learns from a benchmark's per-code accuracies; report on dev, learn on this holdout).

    .venv/bin/python benchmarks/split_train.py --train ../shared/data/rumedbench/RuMedTop3/train_v1.jsonl \
        --fraction 0.2 --out-dir budget-loop   # writes train_inner.jsonl and holdout_inner.jsonl

The split is the benchmark's own (`sets.split_dev`, seed 0): each code with two notes or more gives `fraction`
of them (at least one), codes with one note stay in training. Prints the sizes.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from medsyn.builder.kg.sources import read_notes
from medsyn.training.benchmark.sets import split_dev


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--fraction", type=float, default=0.2)
    parser.add_argument("--out-dir", type=Path, required=True)
    args = parser.parse_args()
    inner, holdout = split_dev(read_notes(args.train), args.fraction)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name, notes in (("train_inner", inner), ("holdout_inner", holdout)):
        with open(args.out_dir / f"{name}.jsonl", "w", encoding="utf-8") as handle:
            for note in notes:
                handle.write(json.dumps({"idx": note.note_id, "symptoms": note.text, "code": note.code},
                                        ensure_ascii=False) + "\n")
    print(f"{args.out_dir}: train_inner.jsonl {len(inner)} notes, holdout_inner.jsonl {len(holdout)} notes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
