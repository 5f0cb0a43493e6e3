"""`medsyn ift build`: instruction data (builder prompt -> real training note) for fine-tuning a generator."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("ift", help="build instruction-tuning data from real training notes")
    sub = parser.add_subparsers(dest="ift_command", metavar="ACTION", required=True)
    build = sub.add_parser(
        "build",
        help="write prompt-completion pairs (train + heldout splits) as a datasets folder",
        description="Pair each RuMedTop3-format training note with the prompt the builder would send for its code "
        "and symptoms (markup label + MKG symptoms the note mentions); the note is the completion. Notes of the "
        "benchmark's dev/test files (by default every dev*/test* .jsonl beside --notes) never enter.",
    )
    build.add_argument("--notes", type=Path, required=True, help="RuMedTop3-format training notes (train_v1.jsonl)")
    build.add_argument("--markup", type=Path, required=True, help="RuMedBench rec_markup.csv")
    build.add_argument("--out", type=Path, required=True, help="output dataset folder")
    build.add_argument("--graph", type=Path, help="knowledge graph file (default: the embedded graph)")
    build.add_argument("--heldout-share", type=float, default=0.05, help="share of notes held out (default 0.05)")
    build.add_argument("--example-share", type=float, default=0.3,
                       help="share of prompts of the 'example' family, the rest 'symptoms' (default 0.3)")
    build.add_argument("--exclude", type=Path, nargs="+",
                       help="benchmark files whose notes must not enter (default: dev*/test* .jsonl beside --notes)")
    build.add_argument("--seed", type=int, default=0, help="seed of demographics and held-out split (default 0)")
    build.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    build.add_argument("--quiet", action="store_true", help="no progress bar")
    build.set_defaults(func=run_build)


def run_build(args: argparse.Namespace) -> int:
    from medsyn.io import prepare_output
    from medsyn.training.ift import build_instruction_data

    prepare_output(args.out, args.overwrite)

    report = build_instruction_data(
        args.notes, args.markup, args.out, graph_path=args.graph, heldout_share=args.heldout_share, seed=args.seed,
        example_share=args.example_share, exclude=args.exclude, overwrite=args.overwrite, progress=not args.quiet,
    )
    n_skipped = sum(report.skipped.values())
    total = report.n_train + report.n_heldout + n_skipped
    print(f"wrote {args.out}: {report.n_train} train, {report.n_heldout} heldout pairs ({dict(report.families)})")
    if n_skipped:
        reasons = ", ".join(f"{reason} {count}" for reason, count in report.skipped.most_common())
        # Not an error, but a share worth knowing: a note without a recognised symptom has no prompt to pair with.
        print(f"skipped {n_skipped} of {total} notes ({n_skipped / total:.0%}): {reasons}", file=sys.stderr)
    return 0
