"""What a corpus folder holds, counted: the kept and unfiltered shards and `build_info.json` read into the figures the
dataset card reports.

Reading and counting are a job of their own, apart from putting the figures into a page (`card`): `medsyn push`
and the Space export read the folder through this module too, and a truncated shard or broken build info fails
here, with its path, before anything is rendered.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from medsyn.builder.corpus.readers import read_build_info  # noqa: F401  (re-exported: the card reads it here)
from medsyn.builder.quality.scorers import BUILTIN, Scorer
from medsyn.dataset_card.validate import DATA_GLOB, UNFILTERED_GLOB, shard_paths
from medsyn.errors import MedsynError

STAT_COLUMNS = [
    "id", "icd10_code", "icd10_name", "icd10_chapter", "generation_model", "backend", "prompt_family",
    "example_id", "n_words", "symptom_recall", "example_overlap", "example_longest_ngram", "leakage", "keep",
    "reject_reasons",
]  # fmt: skip


def read_table(dataset_dir: Path, pattern: str, columns: list[str] | None = None):
    """All shards of one config as one pyarrow Table (None when the config has no shards)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    paths = shard_paths(dataset_dir, pattern)
    if not paths:
        return None
    tables = []
    for path in paths:
        try:
            tables.append(pq.read_table(path, columns=columns))
        except (pa.ArrowException, OSError) as err:  # truncated or overwritten shards
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise MedsynError(f"{path}: not a readable parquet file ({reason}); rebuild the corpus with "
                              "`medsyn build --overwrite`") from None
    return pa.concat_tables(tables)


def spread(values: list[float]) -> dict[str, float] | None:
    """Mean, extremes and percentiles (numpy's default linear interpolation) of a score column."""
    clean = np.array([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    if clean.size == 0:
        return None
    summary = {"n": int(clean.size), "mean": float(clean.mean()), "min": float(clean.min()), "max": float(clean.max())}
    for q in (5, 10, 50, 90, 95, 99):
        summary[f"p{q}"] = float(np.percentile(clean, q))
    return summary


def _shares(generated: Counter, kept: Counter) -> list[dict]:
    total = sum(kept.values()) or 1
    keys = sorted(set(generated) | set(kept), key=lambda k: (-kept[k], -generated[k], str(k)))
    return [{"key": k, "generated": generated[k], "kept": kept[k], "share": kept[k] / total} for k in keys]


@dataclass
class CorpusStats:
    kept: int
    generated: int
    per_code: list[dict]  # {code, name, chapter, notes}, most notes first
    per_chapter: list[dict]  # {chapter, notes}
    words: dict | None
    recall: dict | None
    models: list[dict]  # {key: (model, backend), generated, kept, share}
    families: list[dict]
    reject_reasons: list[tuple[str, int]]
    privacy_all: dict
    privacy_kept: dict
    example_row: dict


def _privacy(rows: list[dict]) -> dict:
    with_example = [r for r in rows if r.get("example_id")]
    return {
        "n": len(with_example),
        "overlap": spread([r["example_overlap"] for r in with_example]),
        "ngram": spread([r["example_longest_ngram"] for r in with_example]),
        "leakage": sum(1 for r in with_example if r.get("leakage")),
    }


def collect_stats(dataset_dir: Path) -> CorpusStats:
    """Everything the card reports about the data itself, from the kept and unfiltered shards."""
    kept_table = read_table(dataset_dir, DATA_GLOB, STAT_COLUMNS)
    if kept_table is None or kept_table.num_rows == 0:
        raise MedsynError(f"{dataset_dir}: no kept notes in {DATA_GLOB}; build the corpus first (`medsyn build`)")
    kept = kept_table.to_pylist()
    all_table = read_table(dataset_dir, UNFILTERED_GLOB, STAT_COLUMNS)
    generated = all_table.to_pylist() if all_table is not None else kept

    names = {r["icd10_code"]: (r["icd10_name"], r["icd10_chapter"]) for r in kept}
    code_counts = Counter(r["icd10_code"] for r in kept)
    per_code = [
        {"code": code, "name": names[code][0], "chapter": names[code][1], "notes": n}
        for code, n in sorted(code_counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    chapter_counts = Counter(r["icd10_chapter"] for r in kept)
    per_chapter = [{"chapter": c, "notes": n} for c, n in sorted(chapter_counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    reasons = Counter(reason for r in generated for reason in (r.get("reject_reasons") or []))

    first = read_table(dataset_dir, DATA_GLOB).slice(0, 1).to_pylist()[0]
    return CorpusStats(
        kept=len(kept),
        generated=len(generated),
        per_code=per_code,
        per_chapter=per_chapter,
        words=spread([r["n_words"] for r in kept]),
        recall=spread([r["symptom_recall"] for r in kept]),
        models=_shares(
            Counter((r["generation_model"], r["backend"]) for r in generated),
            Counter((r["generation_model"], r["backend"]) for r in kept),
        ),
        families=_shares(
            Counter(r["prompt_family"] for r in generated), Counter(r["prompt_family"] for r in kept)
        ),
        reject_reasons=sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])),
        privacy_all=_privacy(generated),
        privacy_kept=_privacy(kept),
        example_row=first,
    )


def filter_table(recorded: Mapping[str, Any], scorers: Sequence[Scorer]) -> list[tuple[str, str]]:
    """The card's filters and thresholds: a row for each scorer whose settings the corpus records (build_info.json's
    `filters`), in registry order, then one for each recorded setting no scorer here claims (a plug-in's, the card
    being rendered where it is not installed)."""
    rows = [row for scorer in scorers if (row := scorer.card_row(recorded)) is not None]
    claimed = {setting.name for scorer in scorers for setting in scorer.settings}
    return rows + [(f"`{key}`", str(value)) for key, value in recorded.items() if key not in claimed]


def scorer_fields(columns: Iterable[str], scorers: Sequence[Scorer]) -> list[tuple[str, str]]:
    """The card's Fields rows of the plug-in scorers whose columns the folder has (the built-in ones are written
    out in the template): their columns, what they hold and the reasons they give."""
    present, builtin = set(columns), {scorer.name for scorer in BUILTIN}
    rows = []
    for scorer in scorers:
        if scorer.name in builtin or not any(column.name in present for column in scorer.columns):
            continue
        about = "; ".join(f"{column.name}: {column.about}" for column in scorer.columns if column.about)
        reasons = ", ".join(f"`{rule.reason}`" for rule in scorer.rules)
        rows.append((", ".join(f"`{column.name}`" for column in scorer.columns),
                     f"{about or scorer.about or scorer.name} (scorer `{scorer.name}`"
                     + (f"; a failing note is rejected as {reasons})" if reasons else ")")))
    return rows
