"""The stages every corpus goes through, whoever wrote its notes: score -> near-duplicates -> verdict -> counts.

`medsyn build` (notes it generated), `medsyn import` (notes generated elsewhere) and `medsyn merge` (rows of other
corpora) run these same functions, and `writer.write_corpus` writes what they return. A filter is not added here:
it is a scorer (`builder/quality/scorers.py`), and `score` runs every registered one. A stage takes a batch of rows
(a list of dicts with the columns of `schema.features()`) and returns it with its own columns filled. It reads
nothing but its arguments (no command, no global state), so the per-note stages (`score`, `bertscore`, `verdict`)
can run batch by batch on a distributed engine (Ray Data's `map_batches`); `near_duplicates` compares each note
with every earlier one and so needs the whole corpus in one batch.

The order of the stages is the order of a row's `reject_reasons`: the scorers' reasons, in the registry's order,
then `near_duplicate`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field

from medsyn.builder.kg.graph import KnowledgeGraph
from medsyn.builder.quality import dedup, filters
from medsyn.builder.quality.real_notes import RealNotes
from medsyn.builder.quality.scorers import Context, Scorer, registry, score_batch, symptom_labels
from medsyn.errors import MedsynError

# A column of the pipeline's own, not of the schema (the writer leaves it out): whether `near_duplicates` found
# the note in an earlier corpus (`against`) rather than among the rows themselves.
AGAINST_DUPLICATE = "against_duplicate"
# An earlier corpus to deduplicate against: (where it is, the ids of its notes, their texts).
Earlier = tuple[str, Sequence[str], Sequence[str]]
_AGAINST = "\0against"  # prefix of an earlier corpus's note ids inside the search (no row id holds a NUL)


def score(rows: list[dict], graph: KnowledgeGraph, config: filters.FilterConfig,
          examples: Mapping[str, str] | None = None, pool: Executor | None = None, progress: bool = False,
          scorers: Sequence[Scorer] | None = None, real: RealNotes | None = None,
          records: dict | None = None, symptom_scorer: filters.SymptomScorer | None = None) -> list[dict]:
    """Every scorer's columns (`scorers`, default: the registry's) and `reject_reasons`, the reasons a row fails
    `config`'s thresholds for.

    The built-in text filters score each note against its prompt's symptoms, code and style example (`examples`:
    example id -> text); a row whose prior has no symptoms (an import without a symptoms column) gets null symptom
    scores: nothing was asked, so nothing can be said to be missing. BERTScore is left null (`bertscore` fills
    it). With `pool` the codes are scored over its processes (`quality.scoring.score_notes`); the scores are the same
    either way. `real`: the real notes the generator learnt from (copies of them are rejected); None leaves the
    `real_copies` columns null. `records` receives what scorers report of the run (the judge's usage).
    `symptom_scorer` is one to reuse (a Ray worker keeps its own, with the matcher's lexicon and the navec vectors
    loaded once)."""
    context = Context(config, graph, examples or {}, pool, progress, symptom_scorer, real=real,
                      records=records if records is not None else {})
    score_batch(rows, context, registry() if scorers is None else scorers)
    for row in rows:
        row.update(bertscore_precision=None, bertscore_recall=None, bertscore_f1=None)
    return rows


def bertscore(rows: list[dict], examples: Mapping[str, str], config: filters.FilterConfig,
              progress: bool = False) -> list[dict]:
    """BERTScore of each note against its style example, or the prompt's symptom list where there was none (only
    with `config.bertscore_model`: a local encoder; null otherwise)."""
    if not config.bertscore_model:
        for row in rows:
            row.update(bertscore_precision=None, bertscore_recall=None, bertscore_f1=None)
        return rows
    references = [examples.get(row["example_id"]) if row["example_id"] else ", ".join(symptom_labels(row) or ())
                  for row in rows]  # fmt: skip
    scores = filters.bertscore([row["text"] for row in rows], references, config.bertscore_model, progress=progress)
    for row, precision, recall, f1 in zip(rows, *scores):
        row.update(bertscore_precision=precision, bertscore_recall=recall, bertscore_f1=f1)
    return rows


def find_near_duplicates(ids: Sequence[str], texts: Sequence[str], config: filters.FilterConfig,
                         against: Sequence[Earlier] = (), progress: bool = False) -> dict[str, str]:
    """Id of each near-duplicate -> the search's key of the earliest note it repeats (`mark_near_duplicates` reads
    it), the notes of `against` coming before all of `ids`. Needs only ids and texts, so a build runs it in one
    process of its pool while the others score."""
    before = [(f"{_AGAINST}{k}\0{id_}", text) for k, (_, ids_, texts_) in enumerate(against)
              for id_, text in zip(ids_, texts_)]  # fmt: skip
    return dedup.near_duplicates([key for key, _ in before] + list(ids), [text for _, text in before] + list(texts),
                                 config, progress)


def mark_near_duplicates(rows: list[dict], found: Mapping[str, str]) -> list[dict]:
    """`near_duplicate_of` and the `near_duplicate` reason from `find_near_duplicates`'s answer. A row already
    marked (by the corpus it was read from) is left as it is."""
    for row in rows:
        if row.get("near_duplicate_of"):
            continue
        original = found.get(row["id"])
        row[AGAINST_DUPLICATE] = bool(original) and original.startswith(_AGAINST)
        if original is None:
            row.setdefault("near_duplicate_of", None)
            continue
        row["near_duplicate_of"] = original.rpartition("\0")[2]
        if filters.NEAR_DUPLICATE not in row["reject_reasons"]:
            row["reject_reasons"] = [*row["reject_reasons"], filters.NEAR_DUPLICATE]
    return rows


def near_duplicates(rows: list[dict], config: filters.FilterConfig, against: Sequence[Earlier] = (),
                    progress: bool = False) -> list[dict]:
    """Mark each note that nearly repeats an earlier one (earlier in `rows`, or in an `against` corpus); of two
    near-identical notes the first stays. Rows already marked are neither marked again nor compared."""
    candidates = [row for row in rows if not row.get("near_duplicate_of")]
    found = find_near_duplicates([row["id"] for row in candidates], [row["text"] for row in candidates], config,
                                 against, progress)
    return mark_near_duplicates(rows, found)


def verdict(rows: list[dict]) -> list[dict]:
    """`keep`: a note is kept when no stage gave it a reason not to be."""
    for row in rows:
        row["keep"] = not row["reject_reasons"]
    return rows


@dataclass
class Counts:
    """What a report and build_info.json say about a corpus's rows."""

    rows: int = 0
    kept: int = 0
    near_duplicates: int = 0  # rows marked as a near-duplicate (whatever other reasons they have)
    duplicates_only: int = 0  # rejected for being a near-duplicate alone
    against_duplicates: int = 0  # near-duplicates of an earlier corpus's notes
    reject_reasons: Counter = field(default_factory=Counter)  # in the order the reasons first occur

    @property
    def filtered(self) -> int:
        """Rejected by at least one quality filter (a near-duplicate that also failed one counts here)."""
        return self.rows - self.kept - self.duplicates_only


def count(rows: list[dict]) -> Counts:
    return Counts(
        rows=len(rows),
        kept=sum(1 for row in rows if row["keep"]),
        near_duplicates=sum(1 for row in rows if row["near_duplicate_of"]),
        duplicates_only=sum(1 for row in rows if row["reject_reasons"] == [filters.NEAR_DUPLICATE]),
        against_duplicates=sum(1 for row in rows if row.get(AGAINST_DUPLICATE)),
        reject_reasons=Counter(reason for row in rows for reason in row["reject_reasons"]),
    )


def nothing_kept(counts: Counts, what: str, advice: str) -> MedsynError:
    """The one-line error when every note was rejected: how many, for which reasons, and what to do."""
    return MedsynError(
        f"all {counts.rows} {what} notes were filtered out ("
        + ", ".join(f"{reason} {n}" for reason, n in counts.reject_reasons.most_common())
        + f"); nothing written. {advice}"
    )
