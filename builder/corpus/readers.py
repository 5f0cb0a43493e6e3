"""Reading notes generated elsewhere: files or folders of JSON arrays, JSON lines, parquet or CSV, or a Hub dataset.

Every record keeps where it came from (file and line, or row), so that a bad value can be reported where the user
can open it, and so that a record without an id column still gets a stable id. Files of a folder are read in
sorted path order: the same source always gives the same records in the same order.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from medsyn.errors import MedsynError, located

EXTENSIONS = {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".csv": "csv", ".tsv": "tsv"}
HUB_ID = re.compile(r"^(?:hf://datasets/)?([\w.-]+/[\w.-]+)$")


@dataclass(frozen=True)
class Record:
    """One source row: its values and where it was read (`line` is a file line, or the row number from 1)."""

    file: str
    line: int
    values: dict


@dataclass(frozen=True)
class SourceFile:
    path: Path | None  # None for a Hub dataset
    name: str  # how ids and messages refer to it: the path relative to the source, or the Hub id
    kind: str  # json | jsonl | parquet | csv | tsv | hub


def expand(sources: list[str], hub_split: str = "train") -> list[SourceFile]:
    """The files behind the SRC arguments: a file as given, a folder's supported files (recursively, sorted), or a
    Hub dataset id (ORG/NAME, not an existing path)."""
    files: list[SourceFile] = []
    for src in sources:
        path = Path(src)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in EXTENSIONS)
            if not found:
                raise MedsynError(
                    f"{src}: no notes found (no {', '.join(sorted(EXTENSIONS))} file in the folder); pass files "
                    "or folders of JSON arrays, JSON lines, parquet or CSV"
                )
            files += [SourceFile(p, f"{path.name}/{p.relative_to(path).as_posix()}", EXTENSIONS[p.suffix.lower()])
                      for p in found]  # fmt: skip
        elif path.is_file():
            kind = EXTENSIONS.get(path.suffix.lower())
            if kind is None:
                raise MedsynError(
                    f"{src}: unsupported file type {path.suffix or '(none)'}; expected one of "
                    f"{', '.join(sorted(EXTENSIONS))}"
                )
            files.append(SourceFile(path, path.name, kind))
        elif HUB_ID.match(src):
            files.append(SourceFile(None, f"{HUB_ID.match(src).group(1)}:{hub_split}", "hub"))
        else:
            raise MedsynError(f"{src}: no such file or folder (nor a Hub dataset id like ORG/NAME)")
    names = [f.name for f in files]
    if len(set(names)) != len(names):
        duplicate = next(n for n in names if names.count(n) > 1)
        raise MedsynError(f"{duplicate}: given twice (directly or inside a folder); pass each source once")
    return files


def read(source: SourceFile) -> list[Record]:
    """All records of one file (or Hub split), each a dict of column -> value."""
    if source.kind == "hub":
        return _read_hub(source)
    reader = {"json": _read_json, "jsonl": _read_jsonl, "parquet": _read_parquet, "csv": _read_csv, "tsv": _read_csv}
    return list(reader[source.kind](source))


def fingerprint(sources: list[SourceFile]) -> str:
    """SHA-256 over the names and bytes of the source files (provenance: which exact files were imported)."""
    digest = hashlib.sha256()
    for source in sources:
        digest.update(source.name.encode() + b"\0")
        if source.path is not None:
            digest.update(hashlib.sha256(source.path.read_bytes()).digest())
    return digest.hexdigest()


def _text(source: SourceFile) -> str:
    raw = source.path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise located(source.path, line, "not UTF-8 text; re-save the file as UTF-8") from None


def _read_json(source: SourceFile) -> Iterator[Record]:
    try:
        data = json.loads(_text(source))
    except json.JSONDecodeError as err:
        raise located(source.path, err.lineno, f"not valid JSON ({err.msg}); expected a JSON array of objects") from None
    if isinstance(data, dict) and len(data) == 1 and isinstance(next(iter(data.values())), list):
        data = next(iter(data.values()))  # {"data": [...]}: a common wrapper
    if not isinstance(data, list):
        raise located(source.path, 1, f"expected a JSON array of objects, found a JSON {type(data).__name__}")
    for number, item in enumerate(data, 1):
        if not isinstance(item, dict):
            raise located(source.path, None, f"item {number} of the array is a {type(item).__name__}, not an object")
        yield Record(source.name, number, item)


def _read_jsonl(source: SourceFile) -> Iterator[Record]:
    for lineno, line in enumerate(_text(source).split("\n"), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as err:
            raise located(source.path, lineno, f"not valid JSON ({err.msg}); expected one JSON object per line") from None
        if not isinstance(item, dict):
            raise located(source.path, lineno, "expected a JSON object per line")
        yield Record(source.name, lineno, item)


def _read_parquet(source: SourceFile) -> Iterator[Record]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(source.path)
    except Exception as err:  # pyarrow raises several types for damaged files
        raise located(source.path, None, f"not a readable parquet file ({err})") from None
    for number, item in enumerate(table.to_pylist(), 1):
        yield Record(source.name, number, item)


def _read_csv(source: SourceFile) -> Iterator[Record]:
    text = _text(source)
    reader = csv.DictReader(text.splitlines(keepends=True), delimiter="\t" if source.kind == "tsv" else ",")
    try:
        for item in reader:
            if None in item or None in item.values():
                n = len(reader.fieldnames) + len(item.get(None, ())) - sum(v is None for v in item.values())
                raise located(source.path, reader.line_num, f"{n} fields, but the header has {len(reader.fieldnames)}")
            yield Record(source.name, reader.line_num, dict(item))
    except csv.Error as err:
        raise located(source.path, reader.line_num, f"not valid CSV ({err})") from None


def _read_hub(source: SourceFile) -> list[Record]:
    from datasets import load_dataset

    repo_id, _, split = source.name.rpartition(":")
    try:
        dataset = load_dataset(repo_id, split=split)
    except Exception as err:  # network, missing repo, missing split: all mean "cannot read this source"
        raise MedsynError(
            f"{repo_id}: cannot load the Hub dataset's split {split!r} ({type(err).__name__}: {err}); check the id, "
            "--hub-split and your access (HF_TOKEN)"
        ) from None
    return [Record(source.name, number, item) for number, item in enumerate(dataset, 1)]
