"""What a corpus folder must satisfy before it may be published: a card whose metadata parses and data shards
that load with the corpus schema and are not empty.

Checked locally and offline, before anything is sent, so a broken folder never reaches the Hub as a half-good
version that users could pin.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from medsyn.builder.corpus.schema import features
from medsyn.builder.quality.scorers import BUILTIN
from medsyn.builder.corpus.writer import DATA_GLOB, UNFILTERED_GLOB, shard_paths  # noqa: F401  (re-exported)
from medsyn.errors import MedsynError

IMAGE_LINK = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")


@dataclass
class FolderReport:
    """What validation found out, for the push summary and the commit message."""

    kept: int
    generated: int
    shards: list[Path]
    images: list[str]


def check_schema(path: Path) -> int:
    """Compare one shard's columns and types with builder/corpus/schema.py and return its row count.

    Every built-in column must be there; a registered scorer plug-in's may be missing (the corpus was built before
    it was installed), and a column no registered scorer declares is refused."""
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as err:  # pyarrow raises several types for damaged files
        raise MedsynError(f"{path}: not a readable parquet file ({err}); rebuild it with `medsyn build`") from None
    schema = parquet.schema_arrow
    expected = features().arrow_schema
    missing = [name for name in features(BUILTIN).arrow_schema.names if name not in schema.names]
    extra = [name for name in schema.names if name not in expected.names]
    wrong = [
        f"{name} is {schema.field(name).type}, expected {expected.field(name).type}"
        for name in expected.names
        if name in schema.names and not schema.field(name).type.equals(expected.field(name).type)
    ]
    problems = []
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)}")
    if extra:
        problems.append(f"unexpected column(s) {', '.join(extra)} (no registered scorer declares them)")
    problems.extend(wrong)
    if problems:
        raise MedsynError(
            f"{path}: does not match the corpus schema (builder/corpus/schema.py): {'; '.join(problems)}; "
            "rebuild the folder with `medsyn build`"
        )
    return parquet.metadata.num_rows


def check_card(dataset_dir: Path) -> list[str]:
    """Parse README.md the way the Hub will and return the images it references (which must exist)."""
    from huggingface_hub import DatasetCard

    readme = dataset_dir / "README.md"
    if not readme.is_file():
        raise MedsynError(f"{readme}: no dataset card; run `medsyn card --dataset {dataset_dir}` first")
    text = readme.read_text(encoding="utf-8")
    if not text.startswith("---"):
        raise MedsynError(f"{readme}:1: the card has no YAML metadata block; regenerate it with `medsyn card`")
    try:
        card = DatasetCard(text)
    except Exception as err:  # yaml errors and ValueError from the metadata parser
        raise MedsynError(f"{readme}: the card's YAML metadata does not parse ({err}); fix it or rerun `medsyn card`")
    meta = card.data.to_dict()
    missing = [key for key in ("license", "language", "configs", "pretty_name") if not meta.get(key)]
    if missing:
        raise MedsynError(f"{readme}: metadata lacks {', '.join(missing)}; rerun `medsyn card` or add them")
    configs = {c.get("config_name"): c for c in meta["configs"] if isinstance(c, dict)}
    if "default" not in configs:
        raise MedsynError(f"{readme}: metadata `configs` has no `default` config; rerun `medsyn card`")
    for name, config in configs.items():
        for entry in config.get("data_files") or []:
            patterns = entry.get("path") if isinstance(entry, dict) else entry
            for pattern in [patterns] if isinstance(patterns, str) else patterns or []:
                if not list(dataset_dir.glob(pattern)):
                    raise MedsynError(f"{readme}: config {name!r} points at {pattern!r}, which matches no file")
    images = IMAGE_LINK.findall(card.text)
    for image in images:
        if "://" in image:
            continue
        if not (dataset_dir / image).is_file():
            raise MedsynError(f"{readme}: the card shows {image}, which is not in the folder; rerun `medsyn card`")
    return images


def validate_folder(dataset_dir: str | Path) -> FolderReport:
    """All checks `medsyn push` runs on a corpus folder; raises MedsynError naming the first problem."""
    dataset_dir = Path(dataset_dir)
    if not dataset_dir.is_dir():
        raise MedsynError(f"{dataset_dir}: not a folder; pass the folder `medsyn build --out` wrote")
    kept_shards = shard_paths(dataset_dir, DATA_GLOB)
    if not kept_shards:
        raise MedsynError(f"{dataset_dir}: no {DATA_GLOB} shards; is this a corpus folder from `medsyn build`?")
    unfiltered_shards = shard_paths(dataset_dir, UNFILTERED_GLOB)
    kept = sum(check_schema(path) for path in kept_shards)
    generated = sum(check_schema(path) for path in unfiltered_shards)
    if kept == 0:
        raise MedsynError(f"{dataset_dir}: the dataset is empty (0 kept notes); nothing to publish")
    images = check_card(dataset_dir)
    return FolderReport(kept=kept, generated=generated, shards=kept_shards + unfiltered_shards, images=images)
