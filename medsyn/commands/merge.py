"""`medsyn merge`: combine corpus folders into one, near-duplicates removed across them, sources kept apart."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from medsyn.commands.dataclass_flags import add_dataclass_flags, dataclass_overrides


@dataclass
class MergeConfig:
    dedup_threshold: float = 0.7
    pretty_name: str | None = None


HELP = {
    "dedup_threshold": "Jaccard similarity of word 3-grams above which two notes are near-duplicates (default 0.7)",
    "pretty_name": "title of the merged dataset card (default: the source names joined by ' + ')",
}


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "merge",
        help="combine corpus folders into one, with near-duplicates removed across them",
        description="Merge corpus folders (from `medsyn build`, `medsyn import` or `medsyn merge`) into one. Rows "
        "keep their scores and verdicts and get a `source` (the folder's source or name); near-duplicates are "
        "looked for across all folders, the note of the earlier folder kept. The card breaks the corpus down by "
        "source.",
    )
    parser.add_argument("dirs", nargs="+", type=Path, metavar="DIR", help="corpus folders, in order of precedence")
    parser.add_argument("--out", type=Path, required=True, help="output corpus folder")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    add_dataclass_flags(parser, MergeConfig, HELP)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from medsyn.builder.filters import FilterConfig
    from medsyn.builder.merging import merge_corpora

    config = MergeConfig(**dataclass_overrides(args, MergeConfig))
    report = merge_corpora(
        args.dirs, args.out, FilterConfig(dedup_threshold=config.dedup_threshold), overwrite=args.overwrite,
        progress=not args.quiet, pretty_name=config.pretty_name,
    )  # fmt: skip
    print(f"\nmerged {args.out}: {report.kept} notes kept of {report.rows}; {report.cross_duplicates} kept notes "
          "removed as near-duplicates of another source's", file=sys.stderr)  # fmt: skip
    for source in report.sources:
        print(f"  {source.name}: {len(source.rows)} notes, {source.kept_before} kept in its corpus, {source.kept} here "
              f"({source.cross_duplicates} near-duplicates of an earlier source)", file=sys.stderr)  # fmt: skip
    return 0
