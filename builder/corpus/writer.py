"""The one writer of corpus folders: `medsyn build`, `medsyn import` and `medsyn merge` all write through it.

The folder is exactly what the Hub repo holds (parquet shards of the kept notes under data/, of every note under
unfiltered/, build_info.json, and whatever the command adds, such as the card), so `datasets.load_dataset(DIR)`
reads a local corpus through the same code path as the published dataset. It is written into a temporary sibling
and renamed into place: a crash, or a failure of the command's own files, never leaves a half-written corpus nor
touches the folder it would replace.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

from medsyn.builder.corpus.config import ROWS_PER_SHARD
from medsyn.builder.corpus.schema import features
from medsyn.io import atomic_dir, prepare_output, write_digest_named

# What a corpus folder held before medsyn wrote manifests: such a folder may still be replaced by --overwrite.
LEGACY_CORPUS = ("build_info.json", ("README.md", "build_info.json", "data", "unfiltered", "assets"))
DATA_GLOB = "data/train-*.parquet"  # the kept notes: the dataset's default config
UNFILTERED_GLOB = "unfiltered/train-*.parquet"  # every note with its scores and verdict: the `unfiltered` config

def shard_paths(folder: Path, pattern: str) -> list[Path]:
    """A config's shards in name order (the order their rows are read in)."""
    return sorted(Path(folder).glob(pattern))


def prepare(out: str | Path, overwrite: bool) -> None:
    """Everything that can be said about `out` before the work starts (see `medsyn.io.prepare_output`)."""
    prepare_output(out, overwrite, legacy=LEGACY_CORPUS)


def write_shards(folder: Path, rows: list[dict], rows_per_shard: int = ROWS_PER_SHARD,
                 split: str = "train") -> list[Path]:
    """`<split>-NNNNN-of-NNNNN-<digest>.parquet` shards with the declared features (at least one, possibly empty).

    Only the schema's columns are written (the registered scorers' included): a stage may carry columns of its own
    (`pipeline.against_duplicate`).
    The digest of each shard's bytes is what keeps a user's plain `datasets.load_dataset(FOLDER)` on this folder's
    rows (see `medsyn.io.write_digest_named`); the card's `configs` list the shards by name.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    schema = features().arrow_schema
    n_shards = max(1, math.ceil(len(rows) / rows_per_shard))
    paths = []
    for i in range(n_shards):
        chunk = rows[i * rows_per_shard : (i + 1) * rows_per_shard]
        sink = pa.BufferOutputStream()
        pq.write_table(pa.Table.from_pylist(chunk, schema=schema), sink)
        paths.append(write_digest_named(folder, f"{split}-{i:05d}-of-{n_shards:05d}", sink.getvalue().to_pybytes()))
    return paths


def write_corpus(out: str | Path, rows: list[dict], info: dict, rows_per_shard: int = ROWS_PER_SHARD,
                 overwrite: bool = False, extra_files: Callable[[Path], object] | None = None) -> Path:
    """Write the corpus folder `out`: the kept rows, every row, `info` as build_info.json, then `extra_files(tmp)`.

    `extra_files` is the command's (the dataset card): it runs inside the temporary folder, after the data is
    there, so its files appear together with the data or, if it fails, nothing does and an older `out` stays.
    """
    out = Path(out)
    with atomic_dir(out, overwrite=overwrite, legacy=LEGACY_CORPUS) as tmp:
        write_shards(tmp / "data", [row for row in rows if row["keep"]], rows_per_shard)
        write_shards(tmp / "unfiltered", rows, rows_per_shard)
        (tmp / "build_info.json").write_text(json.dumps(info, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        if extra_files is not None:
            extra_files(tmp)
    return out
