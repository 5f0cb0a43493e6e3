"""Synthetic notes from wherever they live: a `medsyn build` folder, a Hub dataset, or JSON/JSONL/parquet/CSV files.

The benchmark (and any command that imports foreign corpora) needs only two columns, a note's text and its ICD-10
code, so every reader returns exactly those, with the source described for results.json. MedSyn's own release
(JSON arrays with `desease_code` and `response`) reads with `text_column="response", code_column="desease_code"`.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import re
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from medsyn.builder.corpus.provenance import corpus_fingerprint
from medsyn.errors import MedsynError

log = logging.getLogger(__name__)

FILE_SUFFIXES = (".json", ".jsonl", ".parquet", ".csv")
DEFAULT_TEXT_COLUMN, DEFAULT_CODE_COLUMN = "text", "icd10_code"  # the columns `medsyn build` writes
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass
class SyntheticNotes:
    texts: list[str]
    codes: list[str]
    source: dict


def cut_code(code: str, level: int) -> str:
    """An ICD-10 code at `level` characters not counting the dot: `M54.5` -> `M54` (3) or `M54.5` (4)."""
    raw = code.strip().upper().replace(".", "")
    cut = raw[:level]
    return cut if len(cut) <= 3 else f"{cut[:3]}.{cut[3:]}"


def _missing(where: object, columns: Iterable[str], wanted: Sequence[str]) -> MedsynError:
    found = list(columns)
    lacking = [c for c in wanted if c not in found]
    return MedsynError(
        f"{where}: no column {', '.join(repr(c) for c in lacking)} (columns found: {', '.join(found) or 'none'}); "
        "name the note text and code columns with --text-column and --code-column"
    )


def _records_of_json(path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        if "Extra data" not in err.msg:  # JSON lines saved as .json are common; anything else is broken
            raise MedsynError(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from None
        return _records_of_jsonl(path)
    if isinstance(data, dict) and all(isinstance(v, list) for v in data.values()):  # columnar {"col": [...]}
        keys = list(data)
        return [dict(zip(keys, row)) for row in zip(*data.values())]
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise MedsynError(f"{path}: expected a JSON array of records (objects), found {type(data).__name__}")
    return data


def _records_of_jsonl(path: Path) -> list[dict]:
    records = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as err:
                    raise MedsynError(f"{path}:{number}: not valid JSON ({err.msg})") from None
    return records


def _pairs_of_records(path: Path, records: list, text_column: str, code_column: str) -> list[tuple]:
    pairs = []
    for number, record in enumerate(records, 1):
        if not isinstance(record, dict):
            raise MedsynError(f"{path}: record {number} is {type(record).__name__}, expected an object")
        if text_column not in record or code_column not in record:
            raise _missing(f"{path} (record {number})", record.keys(), (text_column, code_column))
        pairs.append((record[text_column], record[code_column]))
    return pairs


def _pairs_of_file(path: Path, text_column: str, code_column: str) -> list[tuple]:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        names = pq.read_schema(path).names
        if text_column not in names or code_column not in names:
            raise _missing(path, names, (text_column, code_column))
        table = pq.read_table(path, columns=[text_column, code_column])
        return list(zip(table.column(text_column).to_pylist(), table.column(code_column).to_pylist()))
    if suffix == ".csv":
        with open(path, encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            names = reader.fieldnames or []
            if text_column not in names or code_column not in names:
                raise _missing(path, names, (text_column, code_column))
            return [(row[text_column], row[code_column]) for row in reader]
    records = _records_of_jsonl(path) if suffix == ".jsonl" else _records_of_json(path)
    return _pairs_of_records(path, records, text_column, code_column)


def data_files(paths: Sequence[Path]) -> list[Path]:
    """The files named, and the JSON/JSONL/parquet/CSV files under the folders named (recursively, sorted)."""
    files = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in FILE_SUFFIXES
                           and not any(part.startswith(".") for part in p.relative_to(path).parts))
            if not found:
                raise MedsynError(f"{path}: no {'/'.join(s[1:] for s in FILE_SUFFIXES)} files in this folder")
            files += found
        elif path.suffix.lower() in FILE_SUFFIXES:
            files.append(path)
        else:
            raise MedsynError(f"{path}: unsupported file type; give {', '.join(FILE_SUFFIXES)} files, a folder, "
                              "a `medsyn build` folder or a Hub dataset id")
    return files


def is_build_folder(path: Path) -> bool:
    """A folder written by `medsyn build` (README.md with configs and data/train-*.parquet)."""
    return path.is_dir() and (path / "README.md").is_file() and (path / "data").is_dir()


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").upper() in {"1", "ON", "YES", "TRUE"} or os.environ.get(
        "HF_DATASETS_OFFLINE", ""
    ).upper() in {"1", "ON", "YES", "TRUE"}


def _load_dataset(name: str, split: str, hub: bool):
    from datasets import load_dataset

    try:
        if hub:
            return load_dataset(name, split=split)
        # A local folder is read through a private, temporary cache: datasets keys its cache on the folder's name
        # and file times, so a corpus rebuilt in place (or another folder named alike) could be scored stale.
        with tempfile.TemporaryDirectory(prefix="medsyn-load-") as cache:
            return load_dataset(name, split=split, cache_dir=cache, keep_in_memory=True)
    except Exception as err:  # datasets raises many types for a source it cannot read; all mean "bad source"
        if "corresponds to no data" in str(err):  # how datasets reports a split whose shards hold zero rows
            raise MedsynError(f"{name}: the synthetic corpus has no notes (split {split}); build it first") from None
        if hub and _offline():
            raise MedsynError(f"{name}: Hub dataset not in the local cache and HF_HUB_OFFLINE is set; load it once "
                              "online (or unset HF_HUB_OFFLINE), or pass local files") from None
        what = "Hub dataset" if hub else "corpus folder"
        raise MedsynError(f"{name}: could not load the {what} ({type(err).__name__}: {err})") from None


def read_synthetic(
    sources: str | Path | Sequence[str | Path],
    text_column: str | None = None,
    code_column: str | None = None,
    split: str = "train",
) -> SyntheticNotes:
    """Texts and codes (as written, uncut) of every note with a non-empty text and code, and where they came from.

    `sources`: one `medsyn build` folder, one Hub dataset id (through `load_dataset`, from the cache when offline),
    or data files and folders of them. Records whose text or code is empty are skipped and counted.
    """
    values = [sources] if isinstance(sources, (str, Path)) else list(sources)
    if not values:
        raise MedsynError("no synthetic source given; pass --synthetic")
    text_column, code_column = text_column or DEFAULT_TEXT_COLUMN, code_column or DEFAULT_CODE_COLUMN
    paths = [Path(v) for v in values]
    source: dict = {"path": ", ".join(str(v) for v in values), "text_column": text_column, "code_column": code_column}
    extra: dict = {}
    if len(paths) == 1 and is_build_folder(paths[0]):
        dataset = _load_dataset(str(paths[0]), split, hub=False)
        source["kind"] = "medsyn build folder"
        pairs, extra = _pairs_of_dataset(str(paths[0]), dataset, text_column, code_column)
        # `medsyn card --benchmark` checks this against the corpus it publishes
        source["fingerprint"] = corpus_fingerprint(paths[0])
        info = paths[0] / "build_info.json"
        extra["build_info"] = json.loads(info.read_text(encoding="utf-8")) if info.is_file() else None
    elif len(values) == 1 and not paths[0].exists() and HUB_ID.match(str(values[0])):
        dataset = _load_dataset(str(values[0]), split, hub=True)
        source["kind"] = "Hub dataset"
        pairs, extra = _pairs_of_dataset(str(values[0]), dataset, text_column, code_column)
    else:
        for path in paths:
            if not path.exists():
                raise MedsynError(f"{path}: synthetic source not found; pass a `medsyn build` folder, a Hub dataset "
                                  "id, or JSON/JSONL/parquet/CSV files")
        files = data_files(paths)
        source["kind"] = "files"
        source["n_files"] = len(files)
        pairs = [pair for path in files for pair in _pairs_of_file(path, text_column, code_column)]
    kept = [(t, str(c).strip()) for t, c in pairs if isinstance(t, str) and t.strip() and c is not None
            and str(c).strip()]
    if len(kept) < len(pairs):
        log.warning("%s: skipped %d notes with an empty text or code", source["path"], len(pairs) - len(kept))
    if not kept:
        raise MedsynError(f"{source['path']}: the synthetic corpus has no notes (columns {text_column!r}, "
                          f"{code_column!r}); build it first or check the columns")
    texts, codes = map(list, zip(*kept))
    source.update({"n_read": len(pairs), "n_skipped_empty": len(pairs) - len(kept)}, **extra)
    return SyntheticNotes(texts, codes, source)


def _pairs_of_dataset(name: str, dataset, text_column: str, code_column: str) -> tuple[list[tuple], dict]:
    if text_column not in dataset.column_names or code_column not in dataset.column_names:
        raise _missing(name, dataset.column_names, (text_column, code_column))
    extra = {}
    for column in ("backend", "generation_model"):  # what medsyn corpora record about how notes were written
        if column in dataset.column_names:
            extra[column] = dict(Counter(dataset[column]).most_common())
    return list(zip(dataset[text_column], dataset[code_column])), extra
