"""Merging corpus folders (imported GPT notes with template notes, say) into one, with near-duplicates removed
across them and each row's `source` kept, so that the card can break the corpus down by source.

Rows keep the scores and verdicts their own build or import gave them (the style examples behind `copying` are
not in the folders, so the scores could not all be recomputed); of the pipeline's stages (`pipeline`) only
near-duplicates and the verdict run again, across every source, in the order the folders are given: of two
near-identical notes the one from the earlier folder stays. The folder is written by the one writer (`writer`).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from medsyn import __version__
from medsyn.builder.corpus import pipeline, readers, writer
from medsyn.builder.corpus.provenance import public
from medsyn.builder.quality import filters
from medsyn.errors import MedsynError

log = logging.getLogger(__name__)


@dataclass
class MergeSource:
    path: Path
    name: str
    rows: list[dict]
    info: dict
    kept_before: int = 0
    kept: int = 0
    cross_duplicates: int = 0


@dataclass
class MergeReport:
    out: Path
    sources: list[MergeSource] = field(default_factory=list)
    rows: int = 0
    kept: int = 0
    cross_duplicates: int = 0
    ids_prefixed: bool = False


def _names(paths: list[Path], infos: list[dict]) -> list[str]:
    """A distinct name per folder: its import source name, else its folder name (numbered when repeated)."""
    base = [(info.get("import") or {}).get("source_name") or path.resolve().name for path, info in zip(paths, infos)]
    counts = Counter(base)
    seen: Counter = Counter()
    names = []
    for name in base:
        seen[name] += 1
        names.append(f"{name}-{seen[name]}" if counts[name] > 1 else name)
    return names


def merge_corpora(
    folders: list[str | Path], out: str | Path, config: filters.FilterConfig | None = None,
    overwrite: bool = False, progress: bool = True, pretty_name: str | None = None,
    extra_files: Callable[[Path], object] | None = None,
) -> MergeReport:  # fmt: skip
    """Write the corpus folder `out` from the rows of `folders`. The card is the command's: `extra_files(folder)`
    runs inside the folder before it appears (`writer.write_corpus`)."""
    out = Path(out)
    if len(folders) < 2:
        raise MedsynError("merge needs at least two corpus folders")
    config = config or filters.FilterConfig()
    paths = [Path(folder) for folder in folders]
    if len({p.resolve() for p in paths}) != len(paths):
        raise MedsynError("the same corpus folder is given twice; pass each folder once")
    if out.resolve() in {p.resolve() for p in paths}:
        raise MedsynError(f"--out {out} is one of the folders to merge; choose another --out")
    writer.prepare(out, overwrite)
    read = [readers.read_corpus(path) for path in paths]
    names = _names(paths, [info for _, info in read])
    sources = [MergeSource(path, name, rows, info) for path, name, (rows, info) in zip(paths, names, read)]
    report = MergeReport(out, sources)

    ids = Counter(row["id"] for source in sources for row in source.rows)
    report.ids_prefixed = any(n > 1 for n in ids.values())
    for source in sources:
        source.kept_before = sum(1 for row in source.rows if row["keep"])
        for row in source.rows:
            row["source"] = row["source"] or source.name
            if report.ids_prefixed:  # the same id in two folders: make every id `<source>:<id>`
                row["id"] = f"{source.name}:{row['id']}"
                if row["near_duplicate_of"]:
                    row["near_duplicate_of"] = f"{source.name}:{row['near_duplicate_of']}"
    rows = [row for source in sources for row in source.rows]
    if report.ids_prefixed:
        log.warning("the same note id appears in more than one folder; ids are prefixed with their source name")

    # Rows already marked as near-duplicates by their own build stay as they are; the rest are compared across.
    compared = {row["id"] for row in rows if not row["near_duplicate_of"]}
    kept_before = {row["id"] for row in rows if row["keep"]}
    pipeline.verdict(pipeline.near_duplicates(rows, config, progress=progress))
    source_of = {row["id"]: row["source"] for row in rows}
    by_source = {source.name: source for source in sources}
    for row in rows:
        original = row["near_duplicate_of"]
        if row["id"] in compared and original and row["id"] in kept_before and source_of[original] != row["source"]:
            report.cross_duplicates += 1
            if row["source"] in by_source:
                by_source[row["source"]].cross_duplicates += 1
    for source in sources:
        source.kept = sum(1 for row in source.rows if row["keep"])
    counts = pipeline.count(rows)
    report.rows, report.kept = counts.rows, counts.kept
    if not report.kept:
        raise MedsynError("the merged corpus has no kept notes; nothing written")
    info = merge_build_info(report, config, rows, counts, pretty_name)
    writer.write_corpus(out, rows, info, overwrite=overwrite, extra_files=extra_files)
    return report


def _common(values: list):
    """The value every source agrees on, else None."""
    return values[0] if values and all(v == values[0] for v in values) else None


def merge_build_info(report: MergeReport, config: filters.FilterConfig, rows: list[dict], counts: pipeline.Counts,
                     pretty_name: str | None) -> dict:  # fmt: skip
    kept = [row for row in rows if row["keep"]]
    infos = [source.info for source in report.sources]
    models = Counter(row["generation_model"] for row in kept)
    sources = []
    for source in report.sources:
        info = source.info
        sources.append({
            "name": source.name,
            "path": str(source.path),
            "pretty_name": info.get("pretty_name"),
            "backend": (info.get("backend") or {}).get("name"),
            "models": info.get("models"),
            "license": info.get("license"),
            "source_url": info.get("source_url") or (info.get("import") or {}).get("source_url"),
            "notes": len(source.rows),
            "kept_before": source.kept_before,
            "kept": source.kept,
            "cross_duplicates": source.cross_duplicates,
            "filters": info.get("filters"),
        })  # fmt: skip
    license_ = _common([info.get("license") for info in infos])
    # Published with the data: local paths are reduced to file names (nothing names the maintainer's machine).
    return public({
        "format": "medsyn-corpus",
        "medsyn_version": __version__,
        "backend": {"name": "merge", "model": None},
        "models": {str(k): v for k, v in sorted(models.items(), key=lambda kv: (-kv[1], str(kv[0])))},
        "merge": {"sources": sources, "ids_prefixed": report.ids_prefixed, "cross_duplicates": report.cross_duplicates},
        "mkg": _common([info.get("mkg") for info in infos]) or {},
        "filters": _common([info.get("filters") for info in infos]) or {},
        "dedup": {
            "method": "minhash-lsh",
            "threshold": config.dedup_threshold,
            "num_perm": config.num_perm,
            "shingle_size": config.shingle_size,
        },
        "summary": {
            "requested": report.rows,
            "generated": report.rows,
            "failed": 0,
            "kept": report.kept,
            "filtered": report.rows - report.kept,
            "near_duplicates": counts.near_duplicates,
        },
        "reject_reasons": dict(sorted(counts.reject_reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        "pretty_name": pretty_name or " + ".join(source.name for source in report.sources),
        **({"license": license_} if license_ else {}),
    })
