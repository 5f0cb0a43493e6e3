"""`medsyn ift build`: instruction data (builder prompt -> real training note) for fine-tuning a generator."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from medsyn.config import ConfigParser, dispatch
from medsyn.io import prepare_output
from medsyn.options import option
from medsyn.training.ift import build_instruction_data

HELP = "build instruction-tuning data from real training notes"
BUILD_DESCRIPTION = (
    "Pair each RuMedTop3-format training note with the prompt the builder would send for its code and symptoms "
    "(markup label + MKG symptoms the note mentions); the note is the completion. Notes of the benchmark's "
    "dev/test files (by default every dev*/test* .jsonl beside --notes) never enter."
)


@dataclass
class IftBuildOptions:
    notes: Path = option(help="RuMedTop3-format training notes (train_v1.jsonl)")
    markup: Path = option(help="RuMedBench rec_markup.csv")
    out: Path = option(help="output dataset folder")
    graph: Path | None = option(None, "knowledge graph file (default: the embedded graph)")
    heldout_share: float = option(0.05, "share of notes held out")
    example_share: float = option(0.3, "share of prompts of the 'example' family, the rest 'symptoms'")
    exclude: list[Path] | None = option(None, "benchmark files whose notes must not enter (default: dev*/test* "
                                        ".jsonl beside --notes)")
    seed: int = option(0, "seed of demographics and held-out split")
    overwrite: bool = option(False, "replace an existing output folder")
    quiet: bool = option(False, "no progress bar")


def main(argv: list[str], prog: str = "medsyn ift") -> int:
    return dispatch(argv, prog, HELP, {"build": ("write prompt-completion pairs (train + heldout splits) as a "
                                                 "datasets folder", run_build)})


def run_build(argv: list[str], prog: str) -> int:
    (o,) = ConfigParser([IftBuildOptions], prog=prog, description=BUILD_DESCRIPTION).parse(argv)
    prepare_output(o.out, o.overwrite)
    report = build_instruction_data(
        o.notes, o.markup, o.out, graph_path=o.graph, heldout_share=o.heldout_share, seed=o.seed,
        example_share=o.example_share, exclude=o.exclude, overwrite=o.overwrite, progress=not o.quiet,
    )
    n_skipped = sum(report.skipped.values())
    total = report.n_train + report.n_heldout + n_skipped
    print(f"wrote {o.out}: {report.n_train} train, {report.n_heldout} heldout pairs ({dict(report.families)})")
    if n_skipped:
        reasons = ", ".join(f"{reason} {count}" for reason, count in report.skipped.most_common())
        # Not an error, but a share worth knowing: a note without a recognised symptom has no prompt to pair with.
        print(f"skipped {n_skipped} of {total} notes ({n_skipped / total:.0%}): {reasons}", file=sys.stderr)
    return 0
