"""Atomic writes and JSON-lines reading: nothing half-written is ever left where a result is expected."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

from medsyn.errors import MedsynError, located

log = logging.getLogger(__name__)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Every temporary sibling medsyn creates is named `.<name>.<pid>-<random>.tmp` (a folder being written) or
# `.<name>.old-<pid>` (the previous folder, moved aside for the instant of the swap), so that a later run can tell
# its own leftovers from anything else and knows whether the process that made them is still alive.
MANIFEST = ".medsyn-output.json"  # written into every folder atomic_dir produces: what medsyn put there
_STALE = re.compile(r"^\.(?P<name>.+)\.(?:(?P<pid>\d+)-[^.]+\.tmp|old-(?P<old>\d+)|(?P<legacy>[a-z0-9_]{8})\.tmp)$")


def _temp_prefix(path: Path) -> str:
    return f".{path.name}.{os.getpid()}-"


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def clean_stale(path: str | os.PathLike) -> list[Path]:
    """Remove the temporary siblings of `path` that a killed medsyn run left behind; return what was removed.

    A folder moved aside during a replacement whose process died before the new one took its place is put back
    (nothing is lost). Leftovers whose process still runs are left alone; leftovers of the older naming (no
    process id) cannot be told apart from a running build, so they are reported, not removed.
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        return []
    removed = []
    for entry in sorted(parent.iterdir()):
        match = _STALE.match(entry.name)
        if not match or match["name"] != path.name:
            continue
        if match["legacy"]:
            log.warning("%s (%.1f MB) looks like a temporary folder left by an interrupted medsyn run; "
                        "remove it if no medsyn command is writing %s", entry, _size(entry) / 1e6, path)
            continue
        pid = int(match["pid"] or match["old"])
        if _alive(pid):
            continue
        if match["old"] and entry.is_dir() and not path.exists():
            os.replace(entry, path)
            log.warning("restored %s from %s (a replacement of it was interrupted)", path, entry.name)
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()
        log.info("removed %s, left by an interrupted earlier run", entry.name)
        removed.append(entry)
    return removed


def check_writable(path: str | os.PathLike, flag: str = "--out") -> None:
    """Fail now, not after hours of work, if `path` cannot be created: a file in the way, no permission,
    a read-only file system. Probes the nearest existing folder on the way to `path` with a real file."""
    path = Path(path)
    ancestor = path.parent if str(path.parent) else Path(".")
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise MedsynError(f"{flag} {path}: {ancestor} is a file, not a folder; choose another {flag}")
    try:
        fd, probe = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=".tmp", dir=ancestor)
    except OSError as err:
        raise MedsynError(
            f"{flag} {path}: cannot write in {ancestor} ({err.strerror}); choose a writable {flag}"
        ) from None
    os.close(fd)
    os.unlink(probe)


def _check_replaceable(path: Path, flag: str, legacy: tuple[str, Iterable[str]] | None) -> None:
    """Only a folder medsyn wrote may be replaced: its manifest must list every entry that is in it now."""
    if not path.is_dir():
        raise MedsynError(f"{flag} {path} exists and is not a folder; remove it or choose another {flag}")
    resolved, here = path.resolve(), Path.cwd().resolve()
    if resolved == here or resolved in here.parents:
        raise MedsynError(f"{flag} {path} is the current folder or contains it; choose a new folder name")
    entries = {entry.name for entry in path.iterdir()}
    manifest = path / MANIFEST
    known: set[str] | None = None
    if manifest.is_file():
        try:
            known = set(json.loads(manifest.read_text(encoding="utf-8"))["entries"]) | {MANIFEST}
        except (ValueError, KeyError, TypeError):
            known = None
    elif legacy and (path / legacy[0]).is_file():
        known = set(legacy[1])
    if known is None:
        raise MedsynError(f"{flag} {path} exists and was not written by medsyn; --overwrite only replaces a "
                          f"folder medsyn wrote. Move it away or choose another {flag}")
    foreign = sorted(entries - known)
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise MedsynError(f"{flag} {path} holds files medsyn did not write ({shown}); --overwrite would delete "
                          f"them. Move them out or choose another {flag}")


def prepare_output(path: str | os.PathLike, overwrite: bool, flag: str = "--out",
                   legacy: tuple[str, Iterable[str]] | None = None) -> None:
    """Everything that can be said about an output folder before any work: exists without --overwrite, not
    medsyn's, not writable. Also clears temporary leftovers of killed earlier runs."""
    path = Path(path)
    if not path.name or path.name in (".", ".."):
        path = path.resolve()
    clean_stale(path)
    if path.exists() or path.is_symlink():
        if not overwrite:
            raise MedsynError(f"{flag} {path} already exists; pass --overwrite to replace it or choose another {flag}")
        _check_replaceable(path, flag, legacy)
    check_writable(path, flag)


def check_output_file(path: str | os.PathLike, flag: str = "--out") -> None:
    """An output file can be written (replacing a file is fine: it is written to a sibling and renamed)."""
    path = Path(path)
    if path.is_dir():
        raise MedsynError(f"{flag} {path} is a folder; give a file name, e.g. {path / 'out.jsonl'}")
    clean_stale(path)
    check_writable(path, flag)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[Any]:
    """Open a temporary sibling of `path` for writing and rename it over `path` only if the block succeeds.

    The temporary file lives in the same directory so that the final rename is atomic on POSIX.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=".tmp", dir=path.parent)
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
def atomic_dir(path: str | os.PathLike, overwrite: bool = False, flag: str = "--out",
               legacy: tuple[str, Iterable[str]] | None = None) -> Iterator[Path]:
    """Yield a temporary directory next to `path` that replaces `path` only when the block succeeds.

    An existing `path` is refused unless `overwrite`, and even then unless medsyn wrote it (its manifest,
    `.medsyn-output.json`, lists every entry in it; `legacy` = (signature file, names) recognises folders written
    before manifests). The old directory is removed only after the new one is complete, so an interrupted run
    never destroys the previous result; a kill between the two renames is repaired by the next run (clean_stale).
    """
    path = Path(path)
    if not path.name or path.name in (".", ".."):
        path = path.resolve()
    prepare_output(path, overwrite, flag, legacy)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(path), suffix=".tmp", dir=path.parent))
    os.chmod(tmp, 0o777 & ~_umask())
    try:
        yield tmp
        entries = sorted(entry.name for entry in tmp.iterdir())
        (tmp / MANIFEST).write_text(json.dumps({"written_by": "medsyn", "entries": entries}) + "\n", encoding="utf-8")
        if path.exists():
            _check_replaceable(path, flag, legacy)  # it may have changed while we worked
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def json_problem(err: json.JSONDecodeError) -> str:
    """The whole of what the decoder found, with where: its `msg` alone can end mid-sentence ("... at")."""
    return f"{err.msg.removesuffix(' at')} at column {err.colno}"


def write_digest_named(folder: Path, stem: str, data: bytes, suffix: str = ".parquet") -> Path:
    """Write `data` as `folder/<stem>-<digest><suffix>`, the digest being the first 16 hex digits of its SHA-256.

    For the data files of folders a user reads with a plain `datasets.load_dataset(FOLDER)`: datasets keys its cache
    of a local folder by the folder's name and a hash of the card's `configs`, not by the files' contents, so two
    folders of the same name (or one rewritten with --overwrite) would share a cache entry and a load would return
    rows that are no longer there. A card that lists these files by name changes whenever their bytes do.
    """
    path = folder / f"{stem}-{hashlib.sha256(data).hexdigest()[:16]}{suffix}"
    path.write_bytes(data)
    return path


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
                problem = f"not valid JSON ({json_problem(err)}); expected one JSON object per line"
                raise located(path, lineno, problem) from None
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
