"""Which learnt tables the template generator reads: those of the graph the build samples from.

A graph built from a subset of the real notes carries wordings and opener counts learnt from the same notes
(`builder/kg/generator_tables.py`); a graph without them (the embedded one) means the shipped tables. The build
names its graph here once (`activate`), and the template backend hands the same path to its worker processes, so a
note never mixes one graph's priors with another's wordings.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from medsyn.builder.kg.graph import KnowledgeGraph, load_graph
from medsyn.builder.kg.lexicon import merge_key
from medsyn.builder.kg.wordings import load_wordings


@dataclass(frozen=True)
class GeneratorTables:
    wordings: dict[str, list[tuple[str, int]]]  # label -> [(wording, count)], most frequent first
    openers: dict[str, int] | None  # opener -> notes opening with it; None: the template's own weights
    known_keys: frozenset[tuple[str, ...]]  # lemma keys of the graph's symptom labels


_active: str | None = None


def activate(graph_path: str | Path | None, graph: KnowledgeGraph | None = None) -> None:
    """Use the tables of the graph at `graph_path` (None: the embedded graph) from now on, in this process."""
    global _active
    _active = str(graph_path) if graph_path else None
    if graph is not None:
        _remember(_active, graph)


def active_path() -> str | None:
    return _active


def current() -> GeneratorTables:
    return tables(_active)


_loaded: dict[str | None, GeneratorTables] = {}


def _remember(path: str | None, graph: KnowledgeGraph) -> GeneratorTables:
    section = graph.provenance.get("generator")
    if section is None:
        wordings, openers = load_wordings(), None
    else:
        wordings = {label: [(w, int(n)) for w, n in rows] for label, rows in section["wordings"].items()}
        openers = {name: int(n) for name, n in section["openers"].items()}
    keys = frozenset(merge_key(label) for label in graph.symptom_labels)
    _loaded[path] = GeneratorTables(wordings, openers, keys)
    return _loaded[path]


def tables(path: str | None) -> GeneratorTables:
    if path in _loaded:
        return _loaded[path]
    return _remember(path, load_graph(path))
