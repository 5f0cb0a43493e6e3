"""`medsyn merge`: combine corpus folders into one, near-duplicates removed across them, sources kept apart."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from medsyn.builder.corpus.merging import merge_corpora
from medsyn.builder.quality.filters import FilterConfig
from medsyn.config import ConfigParser
from medsyn.dataset_card.card import write_card
from medsyn.options import option

HELP = "combine corpus folders into one, with near-duplicates removed across them"
DESCRIPTION = (
    "Merge corpus folders (from `medsyn build`, `medsyn import` or `medsyn merge`) into one. Rows keep their scores "
    "and verdicts and get a `source` (the folder's source or name); near-duplicates are looked for across all "
    "folders, the note of the earlier folder kept. The card breaks the corpus down by source."
)


@dataclass
class MergeOptions:
    dirs: list[Path] = option(help="corpus folders, in order of precedence")
    out: Path = option(help="output corpus folder")
    overwrite: bool = option(False, "replace an existing output folder (only one medsyn wrote)")
    quiet: bool = option(False, "no progress bars")
    dedup_threshold: float = option(0.7, "Jaccard similarity of word 3-grams at which two notes are near-duplicates")
    pretty_name: str | None = option(None, "title of the merged dataset card (default: the source names joined "
                                     "by ' + ')")

    def validate(self) -> None:
        FilterConfig(dedup_threshold=self.dedup_threshold)


def main(argv: list[str], prog: str = "medsyn merge") -> int:
    (o,) = ConfigParser([MergeOptions], prog=prog, description=DESCRIPTION, positional="dirs").parse(argv)

    # The card is written inside the corpus's temporary folder, so that it appears together with the data.
    report = merge_corpora(o.dirs, o.out, FilterConfig(dedup_threshold=o.dedup_threshold), overwrite=o.overwrite,
                           progress=not o.quiet, pretty_name=o.pretty_name, extra_files=write_card)
    print(f"merged {o.out}: {report.kept} notes kept of {report.rows}; {report.cross_duplicates} kept notes "
          "removed as near-duplicates of another source's")
    for source in report.sources:
        print(f"  {source.name}: {len(source.rows)} notes, {source.kept_before} kept in its corpus, {source.kept} here "
              f"({source.cross_duplicates} near-duplicates of an earlier source)")
    return 0
