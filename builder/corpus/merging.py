"""Merging corpus folders (imported GPT notes with template notes, say) into one, with near-duplicates removed
across them and each row's `source` kept, so that the card can break the corpus down by source.

Rows keep the scores and verdicts their own build or import gave them (the style examples behind `copying` are
not in the folders, so the scores could not all be recomputed); only near-duplicates are looked for again, across
every source, in the order the folders are given: of two near-identical notes the one from the earlier folder
stays.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from medsyn import __version__
from medsyn.builder.quality import dedup, filters
from medsyn.builder.corpus.build import LEGACY_CORPUS, write_shards
from medsyn.builder.corpus.provenance import public
from medsyn.builder.corpus.schema import FEATURES
from medsyn.errors import MedsynError
from medsyn.io import atomic_dir, prepare_output

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


def read_corpus(path: Path) -> tuple[list[dict], dict]:
    """Every row of a corpus folder (the `unfiltered` config, else the kept notes) and its build_info.

    Folders written before a column existed (e.g. `person_names`) are read with that column null.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from medsyn.dataset_card.card import read_build_info
    from medsyn.dataset_card.validate import DATA_GLOB, UNFILTERED_GLOB, shard_paths

    if not path.is_dir():
        raise MedsynError(f"{path}: not a folder; pass corpus folders written by `medsyn build` or `medsyn import`")
    shards = shard_paths(path, UNFILTERED_GLOB) or shard_paths(path, DATA_GLOB)
    if not shards:
        raise MedsynError(f"{path}: no {UNFILTERED_GLOB} or {DATA_GLOB} shards; is this a corpus folder?")
    schema = FEATURES.arrow_schema
    rows: list[dict] = []
    for shard in shards:
        try:
            table = pq.read_table(shard)
        except Exception as err:  # pyarrow raises several types for damaged files
            raise MedsynError(f"{shard}: not a readable parquet file ({err})") from None
        extra = [name for name in table.column_names if name not in schema.names]
        if extra:
            raise MedsynError(f"{shard}: column(s) {', '.join(extra)} are not in the corpus schema (builder/corpus/schema.py)")
        for name in schema.names:
            if name not in table.column_names:
                table = table.append_column(name, pa.nulls(table.num_rows, schema.field(name).type))
        try:
            table = table.select(schema.names).cast(schema)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
            raise MedsynError(f"{shard}: does not match the corpus schema ({err})") from None
        rows += table.to_pylist()
    if not rows:
        raise MedsynError(f"{path}: the corpus has no notes")
    return rows, read_build_info(path)


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
) -> MergeReport:  # fmt: skip
    out = Path(out)
    if len(folders) < 2:
        raise MedsynError("merge needs at least two corpus folders")
    config = config or filters.FilterConfig()
    paths = [Path(folder) for folder in folders]
    if len({p.resolve() for p in paths}) != len(paths):
        raise MedsynError("the same corpus folder is given twice; pass each folder once")
    if out.resolve() in {p.resolve() for p in paths}:
        raise MedsynError(f"--out {out} is one of the folders to merge; choose another --out")
    prepare_output(out, overwrite, legacy=LEGACY_CORPUS)
    read = [read_corpus(path) for path in paths]
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
    candidates = [row for row in rows if not row["near_duplicate_of"]]
    duplicates = dedup.near_duplicates([r["id"] for r in candidates], [r["text"] for r in candidates], config, progress)
    source_of = {row["id"]: row["source"] for row in rows}
    by_source = {source.name: source for source in sources}
    for row in candidates:
        original = duplicates.get(row["id"])
        if original is None:
            continue
        row["near_duplicate_of"] = original
        if filters.NEAR_DUPLICATE not in row["reject_reasons"]:
            row["reject_reasons"] = [*row["reject_reasons"], filters.NEAR_DUPLICATE]
        if row["keep"] and source_of[original] != row["source"]:
            report.cross_duplicates += 1
            if row["source"] in by_source:
                by_source[row["source"]].cross_duplicates += 1
        row["keep"] = False
    for source in sources:
        source.kept = sum(1 for row in source.rows if row["keep"])
    report.rows = len(rows)
    report.kept = sum(1 for row in rows if row["keep"])
    if not report.kept:
        raise MedsynError("the merged corpus has no kept notes; nothing written")

    from medsyn.dataset_card.card import write_card

    info = merge_build_info(report, config, rows, pretty_name)
    with atomic_dir(out, overwrite=overwrite, legacy=LEGACY_CORPUS) as tmp:
        write_shards(tmp / "data", [row for row in rows if row["keep"]], 20_000)
        write_shards(tmp / "unfiltered", rows, 20_000)
        (tmp / "build_info.json").write_text(json.dumps(info, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        write_card(tmp)
    return report


def _common(values: list):
    """The value every source agrees on, else None."""
    return values[0] if values and all(v == values[0] for v in values) else None


def merge_build_info(report: MergeReport, config: filters.FilterConfig, rows: list[dict], pretty_name: str | None) -> dict:
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
            "near_duplicates": sum(1 for row in rows if row["near_duplicate_of"]),
        },
        "reject_reasons": dict(sorted(Counter(r for row in rows for r in row["reject_reasons"]).items(),
                                      key=lambda kv: (-kv[1], kv[0]))),  # fmt: skip
        "pretty_name": pretty_name or " + ".join(source.name for source in report.sources),
        **({"license": license_} if license_ else {}),
    })
