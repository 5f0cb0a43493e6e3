"""`medsyn budget`: synthetic notes per code, learnt from a benchmark's per-code gains (`training/benchmark/budget.py`
gives the rule); `medsyn build --code-budget` and `medsyn benchmark --code-budget` follow the file it writes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from medsyn.config import ConfigParser
from medsyn.io import atomic_file, check_output_file
from medsyn.options import option
from medsyn.training.benchmark.budget import budget_from_results

HELP = "synthetic notes per code, learnt from a benchmark's per-code gains"
DESCRIPTION = (
    "Read a benchmark's results.json (per-code accuracy of real-only, real + synthetic and TSTR at the largest real "
    "fraction, and real notes per code) and write notes per code: as many synthetic notes as real ones where "
    "synthetic notes helped, half as many where the run could not tell, none where they hurt. Learn it on a "
    "benchmark whose --eval is not the file you report on."
)


@dataclass
class BudgetOptions:
    benchmark: Path = option(help="results folder of `medsyn benchmark` (its results.json)")
    out: Path = option(help="budget JSON file to write")


def main(argv: list[str], prog: str = "medsyn budget") -> int:
    (args,) = ConfigParser([BudgetOptions], prog=prog, description=DESCRIPTION).parse(argv)
    check_output_file(args.out)
    budget = budget_from_results(args.benchmark)
    with atomic_file(args.out) as handle:
        json.dump(budget, handle, ensure_ascii=False, indent=1)
    verdicts = [row["verdict"] for row in budget["per_code"]]
    print(f"wrote {args.out}: {budget['n_notes']} notes over {sum(n > 0 for n in budget['codes'].values())} codes "
          f"({verdicts.count('helps')} help, {verdicts.count('hurts')} hurt, {verdicts.count('unknown')} unknown; "
          f"learnt on {Path(budget['learnt_from']['eval']).name})")
    return 0
