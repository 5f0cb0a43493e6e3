"""The real notes a corpus is checked against: read from files, or found where a build's generator learnt them.

A build knows what real notes its generator saw: the knowledge graph's provenance names the training notes its
symptom weights (and the template's wordings) came from, by file name and SHA-256, and `--examples` is the file
whose complaints went into prompts. The check is on by default: the examples file is read, and the graph's notes
are looked for beside it and in the `shared/data` layout `medsyn mkg build` reads (`../shared/data`), accepted only
with the recorded SHA-256. `--real FILES` names them instead. Where none is found the copy columns stay null
and build_info.json says which files were missing, so a card never claims a check that did not run.

Files are RuMedTop3 JSON lines (`idx`, `symptoms`, `code`), corpus folders (`id`, `text`), or any file `import`
reads with a `text` column (ids from `id` or `idx`, else FILE#LINE).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from medsyn.builder.corpus import readers
from medsyn.builder.corpus.writer import DATA_GLOB, UNFILTERED_GLOB, shard_paths
from medsyn.builder.kg.graph import KnowledgeGraph
from medsyn.builder.kg.sources import RUMEDTOP3, SHARED_DATA, sha256
from medsyn.builder.quality.real_notes import RealNotes
from medsyn.errors import MedsynError

SHARED_NOTES = SHARED_DATA / RUMEDTOP3  # where `mkg build` reads them by default
TEXT_COLUMNS = ("symptoms", "text")  # RuMedTop3's, then a corpus's or any file's
ID_COLUMNS = ("idx", "id")


def read_real_notes(paths: Sequence[str | Path], flag: str = "--real") -> RealNotes:
    """Every note of these files and folders, with each file's name, SHA-256 and note count."""
    ids: list[str] = []
    texts: list[str] = []
    sources: list[dict] = []
    for given in paths:
        path = Path(given)
        if readers.is_corpus_folder(path):
            shard = UNFILTERED_GLOB if shard_paths(path, UNFILTERED_GLOB) else DATA_GLOB
            notes = readers.read_columns(path, shard, ["id", "text"])
            ids += notes["id"]
            texts += notes["text"]
            sources.append({"file": path.name, "sha256": None, "count": len(notes["id"])})
            continue
        try:
            files = readers.expand([str(path)])
        except MedsynError as err:
            raise MedsynError(f"{flag} {err}") from None
        for source in files:
            if source.path is None:
                raise MedsynError(f"{flag} {given}: a Hub id; pass local files of real notes")
            count = 0
            for record in readers.read(source):
                text_column = next((c for c in TEXT_COLUMNS if c in record.values), None)
                if text_column is None:
                    raise MedsynError(f"{flag} {source.path}:{record.line}: no {' or '.join(TEXT_COLUMNS)} column "
                                      f"(columns: {', '.join(map(str, record.values))}); pass RuMedTop3 JSON lines or "
                                      "files with a text column")
                text = record.values[text_column]
                if not isinstance(text, str) or not text.strip():
                    continue
                id_column = next((c for c in ID_COLUMNS if c in record.values), None)
                ids.append(str(record.values[id_column]) if id_column else f"{source.name}#{record.line}")
                texts.append(text)
                count += 1
            sources.append({"file": source.name, "sha256": sha256(source.path), "count": count})
    if not texts:
        raise MedsynError(f"{flag} {' '.join(map(str, paths))}: no notes found; pass files of real notes")
    return RealNotes(ids, texts, sources)


def generator_sources(graph: KnowledgeGraph, examples: str | Path | None) -> tuple[list[Path], list[str]]:
    """(the files of real notes this build's generator learnt from that are here, those recorded but not found)."""
    found: list[Path] = [Path(examples)] if examples else []
    missing: list[str] = []
    places = [Path(examples).parent] if examples else []
    for source in graph.provenance.get("sources", []):
        if source.get("name") != "notes":
            continue
        candidates = [place / source["file"] for place in [*places, SHARED_NOTES]]
        match = next((c for c in candidates if c.is_file() and sha256(c) == source["sha256"]), None)
        if match is None:
            missing.append(f"{source['file']} (sha256 {source['sha256'][:12]}…)")
        elif all(match.resolve() != f.resolve() for f in found):
            found.append(match)
    return found, missing


def real_notes_for_build(real_notes: Sequence[str], graph: KnowledgeGraph,
                         examples: str | Path | None) -> tuple[RealNotes | None, dict]:
    """The real notes to check a build against (`--real`, else what the generator learnt from) and what
    build_info.json records of them: each file's name, SHA-256 and count, and the files not found."""
    if real_notes:
        notes = read_real_notes(real_notes)
        return notes, {"checked": True, "given": True, "sources": notes.sources, "missing": []}
    files, missing = generator_sources(graph, examples)
    notes = read_real_notes(files) if files else None
    return notes, {"checked": notes is not None, "given": False, "sources": notes.sources if notes else [],
                   "missing": missing}
