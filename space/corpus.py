"""The browse tab's data: a built corpus (every generated note, kept or not, with scores and verdicts)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from medsyn.errors import MedsynError


@dataclasses.dataclass
class Corpus:
    """A built corpus (all generated notes, with scores and verdicts) for the browse tab."""

    source: str
    rows: list[dict]
    revision: str | None = None

    @property
    def codes(self) -> list[str]:
        return sorted({row["icd10_code"] for row in self.rows})


def load_corpus(source: str, revision: str | None = None) -> Corpus:
    """The `unfiltered` config of a corpus folder or Hub dataset (every note, kept or not), at `revision` for a Hub
    dataset: a deployed Space shows the version it links to, not whatever `main` has moved on to since."""
    from datasets import load_dataset

    if revision and Path(source).is_dir():
        raise MedsynError(
            f"dataset_version {revision} applies to a Hub dataset id; {source} is a local folder, which has one "
            "version: unset dataset_version (MEDSYN_DATASET_VERSION) or set dataset to the Hub id"
        )
    try:
        table = load_dataset(source, "unfiltered", split="train", **({"revision": revision} if revision else {}))
    except Exception as err:  # datasets raises many types for a missing/odd folder or repo
        at = f" at {revision}" if revision else ""
        raise MedsynError(
            f"cannot load the corpus {source!r}{at} for the browse tab ({type(err).__name__}: {err}); set "
            "MEDSYN_DATASET to a folder written by `medsyn build --out DIR` or a Hub dataset id (and "
            "MEDSYN_DATASET_VERSION to one of its version tags)"
        ) from None
    columns = ["id", "icd10_code", "icd10_name", "generation_model", "prompt_family", "symptom_recall", "leakage",
               "n_words", "keep", "reject_reasons", "text"]
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise MedsynError(f"corpus {source!r} lacks column(s) {', '.join(missing)}: rebuild it with `medsyn build`")
    return Corpus(source, table.select_columns(columns).to_list(), revision)
