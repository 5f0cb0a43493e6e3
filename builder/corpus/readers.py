"""The one reader of corpora: notes generated elsewhere (files or folders of JSON arrays, JSON lines, parquet, CSV or
TSV, or a Hub dataset) and corpus folders medsyn wrote. `medsyn import`, `medsyn merge` and the benchmark's
`--synthetic` all read through it, so a source one of them takes, the others take too.

Every record keeps where it came from (file and line, or row), so that a bad value can be reported where the user
can open it, and so that a record without an id column still gets a stable id. Files of a folder are read in
sorted path order, hidden ones left out: the same source always gives the same records in the same order.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from medsyn.builder.corpus.schema import features
from medsyn.builder.corpus.writer import DATA_GLOB, UNFILTERED_GLOB, shard_paths
from medsyn.errors import MedsynError, located
from medsyn.io import json_problem

EXTENSIONS = {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".csv": "csv", ".tsv": "tsv"}
# A Hub dataset id, ORG/NAME (optionally as hf://datasets/ORG/NAME), where no such path exists.
HUB_ID = re.compile(r"^(?:hf://datasets/)?([A-Za-z0-9][\w.-]*/[\w.-]+)$")


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
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in EXTENSIONS
                           and not any(part.startswith(".") for part in p.relative_to(path).parts))
            if not found:
                raise MedsynError(
                    f"{src}: no notes found (no {'/'.join(s[1:] for s in EXTENSIONS)} files in this folder); pass "
                    "files or folders of JSON arrays, JSON lines, parquet, CSV or TSV"
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
        if err.msg == "Extra data":  # JSON lines saved as .json are common; anything else is broken
            yield from _read_jsonl(source)
            return
        raise located(source.path, err.lineno, f"not valid JSON ({err.msg}); expected a JSON array of objects") from None
    if isinstance(data, dict):
        values = list(data.values())
        if len(values) == 1 and isinstance(values[0], list) and all(isinstance(v, dict) for v in values[0]):
            data = values[0]  # {"data": [...]}: a common wrapper
        elif values and all(isinstance(v, list) for v in values) and len({len(v) for v in values}) == 1:
            data = [dict(zip(data, row)) for row in zip(*values)]  # columns: {"text": [...], "code": [...]}
        else:
            data = [data]  # a single record
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
        if _offline():
            raise MedsynError(f"{repo_id}: Hub dataset not in the local cache and HF_HUB_OFFLINE is set; load it once "
                              "online (or unset HF_HUB_OFFLINE), or pass local files") from None
        raise MedsynError(
            f"{repo_id}: cannot load the Hub dataset's split {split!r} ({type(err).__name__}: {err}); check the id, "
            "the split and your access (HF_TOKEN)"
        ) from None
    return [Record(source.name, number, item) for number, item in enumerate(dataset, 1)]


def _offline() -> bool:
    return any(os.environ.get(name, "").upper() in {"1", "ON", "YES", "TRUE"}
               for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))  # fmt: skip


# ------------------------------------------------------------------------------------------- medsyn corpus folders


def is_corpus_folder(path: Path) -> bool:
    """A folder `medsyn build`, `import` or `merge` wrote (a card and data/), read by its shards, not as loose files."""
    return path.is_dir() and (path / "README.md").is_file() and (path / "data").is_dir()


def read_build_info(folder: Path) -> dict:
    """A corpus folder's build_info.json ({} where there is none)."""
    path = folder / "build_info.json"
    if not path.is_file():
        return {}
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise MedsynError(
            f"{path}:{err.lineno}: not valid JSON ({json_problem(err)}); rebuild the folder or fix it"
        ) from None
    if not isinstance(info, dict):
        raise MedsynError(f"{path}: expected a JSON object")
    return info


def read_columns(folder: Path, pattern: str, columns: list[str]) -> dict[str, list]:
    """Some columns of every shard of one config of a corpus folder, in shard order (no shard: empty lists)."""
    import pyarrow.parquet as pq

    found: dict[str, list] = {column: [] for column in columns}
    for shard in shard_paths(folder, pattern):
        try:
            table = pq.read_table(shard, columns=columns)
        except Exception as err:  # a damaged or foreign parquet file
            raise MedsynError(f"{shard}: cannot read {' and '.join(columns)} ({err})") from None
        for column in columns:
            found[column] += table.column(column).to_pylist()
    return found


def column_names(folder: Path, pattern: str) -> list[str]:
    """The columns of a config's first shard (those `read_columns` can be asked for)."""
    import pyarrow.parquet as pq

    shards = shard_paths(folder, pattern)
    if not shards:
        return []
    try:
        return pq.read_schema(shards[0]).names
    except Exception as err:  # a damaged or foreign parquet file
        raise MedsynError(f"{shards[0]}: not a readable parquet file ({err})") from None


def read_against(folders: list[str | Path]) -> list[tuple[str, list[str], list[str]]]:
    """(folder, ids, texts) of the kept notes of each existing corpus to deduplicate against
    (`pipeline.near_duplicates`)."""
    result = []
    for folder in folders:
        path = Path(folder)
        if not (path.is_dir() and shard_paths(path, DATA_GLOB)):
            raise MedsynError(f"--against {folder}: not a corpus folder (no {DATA_GLOB}); pass a `medsyn build` output")
        notes = read_columns(path, DATA_GLOB, ["id", "text"])
        result.append((folder, notes["id"], notes["text"]))
    return result


def read_corpus(path: Path) -> tuple[list[dict], dict]:
    """Every row of a corpus folder (the `unfiltered` config, else the kept notes) and its build_info.

    Folders written before a column existed (e.g. `person_names`, or a scorer plug-in's installed since) are read
    with that column null.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not path.is_dir():
        raise MedsynError(f"{path}: not a folder; pass corpus folders written by `medsyn build` or `medsyn import`")
    shards = shard_paths(path, UNFILTERED_GLOB) or shard_paths(path, DATA_GLOB)
    if not shards:
        raise MedsynError(f"{path}: no {UNFILTERED_GLOB} or {DATA_GLOB} shards; is this a corpus folder?")
    schema = features().arrow_schema
    rows: list[dict] = []
    for shard in shards:
        try:
            table = pq.read_table(shard)
        except Exception as err:  # pyarrow raises several types for damaged files
            raise MedsynError(f"{shard}: not a readable parquet file ({err})") from None
        extra = [name for name in table.column_names if name not in schema.names]
        if extra:
            raise MedsynError(f"{shard}: column(s) {', '.join(extra)} are not in the corpus schema "
                              "(builder/corpus/schema.py) nor a registered scorer's; install the scorer plug-in that "
                              "added them")
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
