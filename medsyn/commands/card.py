"""`medsyn card`: (re)write a corpus folder's dataset card and plots from its data and benchmark results."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from medsyn.config import ConfigParser
from medsyn.dataset_card.card import write_card
from medsyn.options import option

HELP = "write DIR/README.md (dataset card) and its plots from the corpus data"
DESCRIPTION = (
    "Rewrite DIR/README.md from the corpus in DIR: statistics, plots (stored under DIR/assets so they upload with "
    "the data), generation details from build_info.json and, with --benchmark, the ICD-10 benchmark table. YAML "
    "keys already in README.md (e.g. written by `datasets`) are kept."
)


@dataclass
class CardOptions:
    dataset: Path = option(help="corpus folder from `medsyn build`")
    benchmark: Path | None = option(None, "folder with results.json from `medsyn benchmark`")
    audit: Path | None = option(None, "folder with audit.json from `medsyn audit`: the Privacy and quality figures")
    force: bool = option(False, "add --benchmark results or an --audit even if they were computed on another corpus "
                         "(their fingerprint differs)")


def main(argv: list[str], prog: str = "medsyn card") -> int:
    (options,) = ConfigParser([CardOptions], prog=prog, description=DESCRIPTION).parse(argv)
    # Waits on dataset_card/plots.py (matplotlib) and builder/corpus/schema.py (datasets), which import those at
    # import (see WAITING in tests/test_layers.py).

    readme = write_card(options.dataset, options.benchmark, force=options.force, audit_dir=options.audit)
    print(f"wrote {readme}")
    return 0
