"""What a published file may say about where it came from: the corpus by its content, files by their names.

A benchmark is only evidence for the corpus it was run on, so results carry a fingerprint of the notes they used
(a hash of the kept shards' bytes: the same for a copy, a download of the pushed version or a same-seed rebuild,
different after any change), and the card refuses results whose fingerprint is not the corpus's own. Published
JSON (build_info.json, the card's copy of results.json) must not name the maintainer's machine: local paths are
reduced to their file names.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from medsyn.errors import MedsynError

KEPT_SHARDS = "data/train-*.parquet"
# Keys whose string values are local paths in build_info.json and results.json (and benchmark configs).
# (`model` and `adapter` may be hub ids, ORG/NAME: only absolute or ./ ../ paths of those are reduced.)
PATH_KEYS = {"path", "graph", "examples", "train", "eval", "dev", "synthetic", "out", "encoder", "model_path",
             "work_dir", "bertscore_model", "real_notes", "real", "holdout", "judge_cache"}


def corpus_fingerprint(folder: str | os.PathLike) -> str:
    """`sha256:<hex>` of the kept notes: every data shard's relative name and bytes, in name order."""
    folder = Path(folder)
    shards = sorted(folder.glob(KEPT_SHARDS))
    if not shards:
        raise MedsynError(f"{folder}: no {KEPT_SHARDS} shards to fingerprint; is this a `medsyn build` folder?")
    digest = hashlib.sha256()
    for shard in shards:
        digest.update(shard.relative_to(folder).as_posix().encode() + b"\0")
        with open(shard, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    return f"sha256:{digest.hexdigest()}"


def _looks_local(value: str) -> bool:
    return value.startswith(("/", "~", "./", "../", "\\")) or (len(value) > 2 and value[1:3] in (":\\", ":/"))


def public(value: Any, key: str | None = None) -> Any:
    """`value` with every local path reduced to its file name (hub ids like ORG/NAME and URLs are kept)."""
    if isinstance(value, dict):
        return {k: public(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [public(v, key) for v in value]
    if isinstance(value, str) and "://" not in value and (_looks_local(value) or (key in PATH_KEYS and "/" in value)):
        return Path(value.rstrip("/\\")).name or value
    return value
