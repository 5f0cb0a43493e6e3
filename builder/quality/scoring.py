"""Scoring a build's notes, code by code, over several processes.

Scoring is most of a template build's time (matching every clause of every note). Each code's notes go to one
process of the pool (`parallel.build_pool`), which compiles that code's matcher once; `filters.SymptomScorer`
gives a note the same scores in any process or order (each code's matcher holds the code's whole lexicon from the
start), so the split changes nothing in the corpus.
"""

from __future__ import annotations

import weakref
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import Executor, as_completed
from dataclasses import dataclass

from tqdm.auto import tqdm

from medsyn.builder.kg.graph import KnowledgeGraph
from medsyn.builder.quality import filters


@dataclass(frozen=True)
class NoteToScore:
    """What `filters.score_note` reads of one note: its text, its prompt's symptoms, code and example."""

    text: str
    symptoms: tuple[str, ...]
    code: str
    code_name: str
    example_text: str | None
    complaints: tuple[str, ...]  # the code's MKG symptoms: its matcher's lexicon (see `filters.score_note`)


def complaint_labels(graph: KnowledgeGraph, code: str) -> tuple[str, ...]:
    """The code's Russian MKG symptoms: the words real notes of the code use for complaints (see score_note).

    Kept per graph (weakly, so a graph is not held alive): every note of a code asks, and walking the code's edges
    was a fifth of a template build."""
    per_graph = _COMPLAINTS.setdefault(graph, {})
    if code not in per_graph:
        per_graph[code] = tuple(link.label for link in graph.symptoms(code))
    return per_graph[code]


_COMPLAINTS: "weakref.WeakKeyDictionary[KnowledgeGraph, dict[str, tuple[str, ...]]]" = weakref.WeakKeyDictionary()


def score_notes(notes: Sequence[NoteToScore], pool: Executor | None = None, progress: bool = False,
                scorer: filters.SymptomScorer | None = None) -> list[filters.NoteScores]:
    """`filters.score_note` of every note, in order; code by code over `pool`'s processes when one is given, else
    in this process with `scorer` (one made for the call when none is given: the Space passes its own)."""
    by_code: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, note in enumerate(notes):
        by_code[(note.code, note.code_name)].append(i)
    # Largest codes first, so that no process is left with a big one at the end.
    groups = sorted(by_code.values(), key=len, reverse=True)
    scores: list[filters.NoteScores | None] = [None] * len(notes)
    with tqdm(total=len(notes), desc="scoring notes", unit="note", disable=not progress) as bar:
        if pool is None:
            scorer = scorer if scorer is not None else filters.SymptomScorer()
            for group in groups:
                for i, result in zip(group, _score_group([notes[i] for i in group], scorer)):
                    scores[i] = result
                bar.update(len(group))
        else:
            futures = {pool.submit(_score_in_worker, [notes[i] for i in group]): group for group in groups}
            for future in as_completed(futures):
                group = futures[future]
                for i, result in zip(group, future.result()):
                    scores[i] = result
                bar.update(len(group))
    return scores  # type: ignore[return-value]  (every index is filled)


def _score_group(notes: list[NoteToScore], scorer: filters.SymptomScorer) -> list[filters.NoteScores]:
    return [
        filters.score_note(note.text, list(note.symptoms), note.code, note.code_name, note.example_text, scorer,
                           complaints=note.complaints)
        for note in notes
    ]


_WORKER_SCORER: filters.SymptomScorer | None = None  # one per worker process, for all the codes it is given


def _score_in_worker(notes: list[NoteToScore]) -> list[filters.NoteScores]:
    global _WORKER_SCORER
    if _WORKER_SCORER is None:
        _WORKER_SCORER = filters.SymptomScorer()
    return _score_group(notes, _WORKER_SCORER)
