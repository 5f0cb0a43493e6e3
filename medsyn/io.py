"""Atomic writes and JSON-lines reading: nothing half-written is ever left where a result is expected."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from medsyn.errors import MedsynError, located


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[Any]:
    """Open a temporary sibling of `path` for writing and rename it over `path` only if the block succeeds.

    The temporary file lives in the same directory so that the final rename is atomic on POSIX.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; results should get the usual permissions
    try:
        with open(tmp, mode, encoding=None if "b" in mode else encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary directory next to `path` that replaces `path` only when the block succeeds.

    An existing `path` is refused unless `overwrite`; with `overwrite` the old directory is removed only after
    the new one is complete, so an interrupted run never destroys the previous result.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise MedsynError(f"{path} already exists; pass --overwrite to replace it or choose another --out")
    if path.exists() and not path.is_dir():
        raise MedsynError(f"{path} exists and is not a directory; remove it or choose another --out")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    os.chmod(tmp, 0o777 & ~_umask())
    try:
        yield tmp
        if path.exists():
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_jsonl(path: str | os.PathLike, records: Iterable[dict]) -> int:
    """Write one JSON object per line (UTF-8, Cyrillic unescaped) atomically; return the number of lines."""
    count = 0
    with atomic_file(path) as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count


def read_jsonl(path: str | os.PathLike, required: Iterable[str] = ()) -> list[dict]:
    """Read a JSON-lines file, naming the file and line of the first malformed record or missing field."""
    path = Path(path)
    if not path.is_file():
        raise MedsynError(f"{path}: file not found")
    required = tuple(required)
    records = []
    with open(path, "rb") as handle:
        for lineno, raw in enumerate(handle, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise located(path, lineno, f"not UTF-8 text (byte {err.start}); re-save the file as UTF-8") from None
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise located(path, lineno, f"not valid JSON ({err.msg}); expected one JSON object per line") from None
            if not isinstance(record, dict):
                raise located(path, lineno, "expected a JSON object per line")
            missing = [key for key in required if key not in record]
            if missing:
                raise located(path, lineno, f"missing field(s) {', '.join(missing)}; expected {', '.join(required)}")
            records.append(record)
    return records


def read_yaml(path: str | os.PathLike) -> dict[str, Any]:
    """A YAML file's top-level mapping, with keys as flag names (`batch-size` and `batch_size` alike).

    Errors name the file (and line, for syntax errors); which keys are allowed is the caller's business.
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise MedsynError(f"config file {path} not found")
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise MedsynError(f"{where}: not valid YAML ({getattr(err, 'problem', err)})") from None
    except UnicodeDecodeError:
        raise MedsynError(f"{path}: not UTF-8 text; re-save it as UTF-8") from None
    if not isinstance(values, dict):
        raise MedsynError(f"{path}: expected a mapping of option: value at the top level")
    return {str(key).replace("-", "_"): value for key, value in values.items()}
