"""`medsyn import`: bring notes generated elsewhere (an API batch job, MedSyn's GPT notes, a Hub dataset) into a
corpus folder with medsyn's scores, verdicts, near-duplicate removal and card.

The settings are `ImportConfig` (builder/corpus/config.py: columns, provenance) and `FilterConfig` with every
registered scorer's settings (the same filter flags as `medsyn build`): every field is a flag and a `--config` YAML
key.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from medsyn.builder.corpus.config import ImportConfig, check_distinct
from medsyn.builder.corpus.importing import import_corpus
from medsyn.builder.quality.scorers import filter_config_class
from medsyn.config import ConfigParser
from medsyn.dataset_card.card import write_card
from medsyn.options import option

HELP = "import notes generated elsewhere into a scored, deduplicated corpus folder"
DESCRIPTION = (
    "Read SOURCES (files or folders of JSON arrays, JSON lines, parquet or CSV, or a Hub dataset id), map their columns "
    "onto the corpus schema (fields the source lacks stay null), check codes against МКБ-10, score and judge every "
    "note and remove near-duplicates as `medsyn build` does, and write a corpus folder with card that "
    "load_dataset, `medsyn benchmark`, `medsyn card` and `medsyn push` accept."
)


@dataclass
class ImportIO:
    sources: list[str] = option(help="files, folders or a Hub dataset id (ORG/NAME) to import")
    out: Path = option(help="output corpus folder")
    overwrite: bool = option(False, "replace an existing output folder (only one medsyn wrote)")
    quiet: bool = option(False, "no progress bars")


def parser(prog: str = "medsyn import"):
    dtypes = [ImportIO, ImportConfig, filter_config_class()]
    check_distinct(dtypes)
    return ConfigParser(dtypes, prog=prog, description=DESCRIPTION, positional="sources", maybe_paths=["sources"])


def main(argv: list[str], prog: str = "medsyn import") -> int:
    io, config, filter_config = parser(prog).parse(argv)

    # The card is written inside the corpus's temporary folder, so that it appears together with the data.
    report = import_corpus(io.sources, io.out, config, filter_config, overwrite=io.overwrite, progress=not io.quiet,
                           extra_files=write_card)
    codes = report.codes
    # The result is what the command is for, so it goes to stdout; progress and log lines go to stderr.
    print(
        f"imported {io.out}: {report.kept} notes kept of {report.imported} imported ({report.read} records read, "
        f"{report.read - report.imported} skipped, {report.imported - report.kept} filtered, "
        f"{report.near_duplicates} near-duplicates, {report.against_duplicates} of them of --against corpora)"
    )
    if codes.get("mapped"):
        print(f"codes: {codes['mapped_to_parent']} notes with ICD-10-CM codes mapped to their МКБ-10 parent ("
              + ", ".join(f"{k}->{v}" for k, v in list(codes["mapped"].items())[:8])
              + (", ..." if len(codes["mapped"]) > 8 else "") + ")")  # fmt: skip
    if codes.get("unknown"):
        print("codes not in МКБ-10 (records not imported): "
              + ", ".join(f"{k} {v}" for k, v in list(codes["unknown"].items())[:10]))  # fmt: skip
    if report.reject_reasons:
        print("filtered by: " + ", ".join(f"{k} {v}" for k, v in report.reject_reasons.most_common()))
    print(f'load it with:\n  python -c "from datasets import load_dataset; print(load_dataset(\'{io.out}\'))"')
    sys.stdout.flush()
    return 0
