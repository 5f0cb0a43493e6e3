"""`medsyn card`: (re)write a corpus folder's dataset card and plots from its data and benchmark results."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "card",
        help="write DIR/README.md (dataset card) and its plots from the corpus data",
        description=(
            "Rewrite DIR/README.md from the corpus in DIR: statistics, plots (stored under DIR/assets so they "
            "upload with the data), generation details from build_info.json and, with --benchmark, the ICD-10 "
            "benchmark table. YAML keys already in README.md (e.g. written by `datasets`) are kept."
        ),
    )
    parser.add_argument("--dataset", required=True, type=Path, metavar="DIR", help="corpus folder from `medsyn build`")
    parser.add_argument(
        "--benchmark", type=Path, metavar="RESULTS_DIR", help="folder with results.json from `medsyn benchmark`"
    )
    parser.add_argument(
        "--force", action="store_true",
        help="add --benchmark results even if they were computed on another corpus (their fingerprint differs)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from medsyn.dataset_card.card import write_card

    readme = write_card(args.dataset, args.benchmark, force=args.force)
    print(f"wrote {readme}")
    return 0
