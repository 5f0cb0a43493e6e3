"""The template generator's tables learnt from real notes, rebuilt from whichever notes a graph is built from.

A graph built from a subset of the real notes (`medsyn mkg build --notes SUBSET`) must not let the generator say
what only the other notes say: a clinic with 465 notes has only those to learn from, and a benchmark at 10% real
notes that used wordings learnt from all of them would credit the synthetic notes with the other 90%. The graph's
edges already come from its own notes; this module learns the rest from the same notes, and the graph file carries
it in its provenance (`provenance.generator`):

- `wordings`: how patients say each label (`wordings.extract_wordings`, over the graph's labels);
- `openers`: how often a note opens with each opener of the complaint sentence (`OPENERS`);
- `notes`: which notes these came from (file name, SHA-256, note count), which `build_info.json` records as
  `generator_notes`.

A graph whose notes are the ones the shipped tables were learnt from (`builder/data/wordings.json`'s sources, the
embedded graph's notes) carries no such section: the generator reads the shipped tables, and the embedded graph
stays byte-identical to its rebuild.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import networkx as nx

from medsyn.builder.kg import sources, wordings
from medsyn.builder.kg.graph import KnowledgeGraph, MkgSources, build_graph

# Openers of a complaint sentence, as the template's complaints-only notes draw them, and how a real note that
# opens with one is recognised (the first that matches; none: a bare list of complaints). A bare "На боли ..."
# counts as "Жалобы на": the template spells it out (`template/notes.py` says why).
OPENERS: tuple[tuple[str, re.Pattern], ...] = (
    ("dash", re.compile(r"^[-*•]")),
    ("complaints_colon", re.compile(r"^жалобы\s*:")),
    ("complaints_on", re.compile(r"^(жалобы\s+)?на\s")),
    ("complains", re.compile(r"^жалуется")),
    ("came", re.compile(r"^(обратил|пришел|пришла|пришёл|явил)")),
    ("bother", re.compile(r"^беспоко")),
    ("persist", re.compile(r"^(сохраня|на момент)")),
    ("during", re.compile(r"^в течение")),
    ("notes", re.compile(r"^((пациент|больн)\w*\s+)?отмеча")),
)
BARE = "bare"


def opener_of(text: str) -> str:
    """The opener a note begins with (`OPENERS`), else `BARE`."""
    start = text.strip().lower()
    return next((name for name, pattern in OPENERS if pattern.match(start)), BARE)


def learn_openers(notes: list[sources.Note]) -> dict[str, int]:
    """How many of the notes open with each opener (every opener listed, 0 where no note uses it)."""
    counts = Counter(opener_of(note.text) for note in notes)
    return {name: counts.get(name, 0) for name in [BARE, *(name for name, _ in OPENERS)]}


def shipped_notes() -> set[str]:
    """SHA-256 of the notes the shipped wordings table was learnt from."""
    table = wordings.data_path()
    if not table.is_file():
        return set()
    provenance = json.loads(table.read_text(encoding="utf-8"))["provenance"]["sources"]
    return {sha for name, sha in provenance.items() if name.endswith(".jsonl")}


def learn(graph: KnowledgeGraph, note_paths: list[Path], markup: Path | None) -> dict | None:
    """The generator section for a graph built from `note_paths` (None when they are the shipped tables' notes)."""
    if not note_paths:
        return {"notes": [], "wordings": {}, "openers": learn_openers([])}
    per_file = {Path(path): sources.read_notes(path) for path in note_paths}
    files = [{"file": path.name, "sha256": sources.sha256(path), "count": len(read)} for path, read in per_file.items()]
    if {f["sha256"] for f in files} == shipped_notes() and len(files) == 1:
        return None
    notes = [note for read in per_file.values() for note in read]
    table = wordings.learn_table({note.note_id: note.text for note in notes}, markup, graph)
    return {
        "notes": files,
        "wordings": {label: [[w, n] for w, n in options] for label, options in sorted(table.items())},
        "openers": learn_openers(notes),
    }


def generator_notes(graph: KnowledgeGraph) -> list[dict]:
    """The real notes the generator of this graph learnt from: its section's, else the graph's notes sources (the
    shipped tables were learnt from those)."""
    section = graph.provenance.get("generator") if graph.provenance else None
    if section is not None:
        return section["notes"]
    files = [s for s in graph.provenance.get("sources", []) if s["name"] == "notes"]
    total = graph.provenance.get("counts", {}).get("notes")
    return [{"file": s["file"], "sha256": s["sha256"], "count": total if len(files) == 1 else None} for s in files]


def build(src: MkgSources, progress: bool = True) -> tuple[nx.DiGraph, dict]:
    """`graph.build_graph`, with the generator's tables learnt from the same notes in the provenance."""
    graph, provenance = build_graph(src, progress)
    section = learn(KnowledgeGraph(graph, provenance), list(src.notes), src.markup)
    if section is not None:
        provenance["generator"] = section
    return graph, provenance
