"""The corpus schema: the contract with everyone who `load_dataset`s a medsyn corpus.

Used both to write the parquet shards and to read and check a folder, so the columns a user sees never drift from
what README documents. The scores are typed by the scorers that fill them (`builder/quality/scorers.py`), the
other columns here; `LAYOUT` keeps every built-in column where it has always stood, and a plug-in scorer's columns
come after them all, so that installing one moves no column of an existing corpus.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from medsyn.builder.quality.scorers import BUILTIN, Column, Scorer, registry
from medsyn.errors import MedsynError


@cache
def own() -> dict[str, Any]:
    """The columns no scorer fills: the note and how it was made, the verdicts, and where imported notes came from.
    Built on first use: `datasets` costs seconds to import, and `medsyn build --help` must not pay them."""
    from datasets import List, Value

    symptom = {"label": Value("string"), "weight": Value("float32")}
    prior = {
        "symptoms": List(symptom),
        "sex": Value("string"),
        "age": Value("int32"),
        "marital_status": Value("string"),
        "smoking": Value("bool"),
    }
    message = {"role": Value("string"), "content": Value("string")}
    return {
        "id": Value("string"),
        "icd10_code": Value("string"),
        "icd10_name": Value("string"),
        "icd10_chapter": Value("string"),
        "generation_model": Value("string"),
        "backend": Value("string"),
        "prompt_family": Value("string"),
        "prompt_template": Value("string"),
        "messages": List(message),
        "prior": prior,
        "example_id": Value("string"),
        "text": Value("string"),
        "seed": Value("int64"),
        "prompt_tokens": Value("int32"),
        "completion_tokens": Value("int32"),
        "near_duplicate_of": Value("string"),
        # BERTScore against the style example (else the prompt's symptom list); null unless the build was given a
        # local encoder (`--bertscore-model PATH`). A score, never a verdict.
        "bertscore_precision": Value("float32"),
        "bertscore_recall": Value("float32"),
        "bertscore_f1": Value("float32"),
        "keep": Value("bool"),
        "reject_reasons": List(Value("string")),
        # Provenance of notes that `medsyn import` or `medsyn merge` brought in: the source they came from and the
        # ICD-10 code exactly as that source gave it (`icd10_code` is its МКБ-10 category). Null for notes
        # `medsyn build` generated.
        "source": Value("string"),
        "source_code": Value("string"),
    }


# The order of the built-in columns, those of the built-in scorers included (`person_names` came after the verdicts).
LAYOUT = (
    "id", "icd10_code", "icd10_name", "icd10_chapter", "generation_model", "backend", "prompt_family",
    "prompt_template", "messages", "prior", "example_id", "text", "seed", "prompt_tokens", "completion_tokens",
    "symptom_recall", "matched_symptoms", "semantic_symptom_recall", "leakage", "example_overlap",
    "example_longest_ngram", "cyrillic_share", "n_words", "near_duplicate_of", "bertscore_precision",
    "bertscore_recall", "bertscore_f1", "keep", "reject_reasons", "person_names", "source", "source_code",
)  # fmt: skip


def feature(column: Column) -> Any:
    from datasets import List, Value

    return List(Value(column.dtype)) if column.many else Value(column.dtype)


def features(scorers: Sequence[Scorer] | None = None) -> Features:
    """The corpus columns with `scorers`' (default: the registry's): the built-in ones in `LAYOUT`'s order, then
    each other scorer's in registry order."""
    from datasets import Features

    scorers = registry() if scorers is None else scorers
    scored = {column.name: feature(column) for scorer in scorers for column in scorer.columns}
    clash = sorted(set(scored) & set(own()))
    if clash:
        raise MedsynError(f"a scorer's column {clash[0]!r} is a column of the corpus schema already; rename it")
    columns = {**own(), **scored}
    ordered = {name: columns.pop(name) for name in LAYOUT}
    return Features({**ordered, **columns})


def __getattr__(name: str) -> Any:
    """`FEATURES`, the built-in columns (what every corpus has, whatever scorers are installed), built on first use."""
    if name == "FEATURES":
        return features(BUILTIN)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

# Splits/configs of a corpus folder: `default` holds the kept notes (split `train`); `unfiltered` holds every
# generated note with its scores and verdicts, so users can re-threshold.
DEFAULT_CONFIG = "default"
UNFILTERED_CONFIG = "unfiltered"
