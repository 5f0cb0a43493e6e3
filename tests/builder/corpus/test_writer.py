"""The one folder writer of build, import and merge (`builder/corpus/writer.py`): layout, shard names, atomicity."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from medsyn.builder.corpus import writer
from medsyn.builder.corpus.build import build_corpus
from medsyn.builder.corpus.config import ROWS_PER_SHARD, BuildConfig, ImportConfig, OutputOptions
from medsyn.builder.corpus.importing import import_corpus
from medsyn.builder.corpus.schema import FEATURES
from medsyn.errors import MedsynError

SHARD = re.compile(r"train-(\d{5})-of-(\d{5})-[0-9a-f]{16}\.parquet")


def rows(n: int) -> list[dict]:
    return [{"id": f"n{i}", "text": f"запись {i}", "keep": i % 3 != 0, "reject_reasons": [] if i % 3 else ["too_short"],
             "against_duplicate": False} for i in range(n)]  # fmt: skip


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def ids(folder: Path, pattern: str) -> list[str]:
    return [i for shard in writer.shard_paths(folder, pattern) for i in pq.read_table(shard).column("id").to_pylist()]


def test_the_folder_holds_kept_and_all_rows_in_named_shards_and_build_info(tmp_path):
    out = writer.write_corpus(tmp_path / "corpus", rows(7), {"format": "medsyn-corpus", "note": "ж"}, rows_per_shard=2)
    unfiltered = writer.shard_paths(out, writer.UNFILTERED_GLOB)
    data = writer.shard_paths(out, writer.DATA_GLOB)
    assert [SHARD.fullmatch(p.name).groups() for p in unfiltered] == [(f"0000{i}", "00004") for i in range(4)]
    assert [SHARD.fullmatch(p.name).groups() for p in data] == [("00000", "00002"), ("00001", "00002")]
    assert ids(out, writer.UNFILTERED_GLOB) == [f"n{i}" for i in range(7)]
    assert ids(out, writer.DATA_GLOB) == ["n1", "n2", "n4", "n5"]
    # The schema's columns only: a stage's own column (pipeline.AGAINST_DUPLICATE) is not written.
    assert pq.read_schema(unfiltered[0]).names == list(FEATURES)
    assert json.loads((out / "build_info.json").read_text(encoding="utf-8")) == {"format": "medsyn-corpus", "note": "ж"}
    assert (out / "build_info.json").read_text(encoding="utf-8").endswith('"ж"\n}\n')


def test_shard_names_carry_their_bytes_digest_and_an_empty_config_has_one_shard(tmp_path):
    first = writer.write_corpus(tmp_path / "a", rows(2), {})
    second = writer.write_corpus(tmp_path / "b", rows(2), {})
    assert files_of(first) == files_of(second)  # same rows, same names and bytes
    other = writer.write_corpus(tmp_path / "c", rows(3), {})
    assert writer.shard_paths(other, writer.UNFILTERED_GLOB)[0].name != writer.shard_paths(first, writer.UNFILTERED_GLOB)[0].name
    empty = writer.write_corpus(tmp_path / "d", [rows(1)[0]], {})  # its one row is rejected: no kept notes
    assert len(writer.shard_paths(empty, writer.DATA_GLOB)) == 1 and ids(empty, writer.DATA_GLOB) == []


def test_build_import_and_merge_share_one_rows_per_shard_default():
    assert ROWS_PER_SHARD == 20_000
    assert OutputOptions.__dataclass_fields__["rows_per_shard"].default == ROWS_PER_SHARD
    assert ImportConfig.__dataclass_fields__["rows_per_shard"].default == ROWS_PER_SHARD
    assert inspect.signature(writer.write_corpus).parameters["rows_per_shard"].default == ROWS_PER_SHARD


def test_extra_files_are_written_inside_and_appear_with_the_data(tmp_path):
    seen = {}

    def card(folder: Path) -> None:
        seen["data"] = len(writer.shard_paths(folder, writer.DATA_GLOB))
        seen["where"] = folder
        (folder / "README.md").write_text("# card\n", encoding="utf-8")

    out = writer.write_corpus(tmp_path / "corpus", rows(4), {}, extra_files=card)
    assert seen["data"] == 1 and seen["where"] != out and seen["where"].parent == out.parent
    assert (out / "README.md").read_text(encoding="utf-8") == "# card\n"
    assert json.loads((out / ".medsyn-output.json").read_text(encoding="utf-8"))["entries"] == [
        "README.md", "build_info.json", "data", "unfiltered"]


def failing_card(folder: Path) -> None:
    (folder / "README.md").write_text("half a card", encoding="utf-8")
    raise MedsynError("the card failed")


def test_a_failure_inside_leaves_no_half_folder(tmp_path):
    with pytest.raises(MedsynError, match="the card failed"):
        writer.write_corpus(tmp_path / "corpus", rows(4), {}, extra_files=failing_card)
    assert list(tmp_path.iterdir()) == []  # neither the folder nor its temporary sibling


def test_a_failure_inside_leaves_an_existing_folder_intact(tmp_path):
    out = writer.write_corpus(tmp_path / "corpus", rows(4), {"version": 1}, extra_files=lambda f: None)
    before = files_of(out)
    with pytest.raises(MedsynError, match="the card failed"):
        writer.write_corpus(out, rows(9), {"version": 2}, overwrite=True, extra_files=failing_card)
    assert files_of(out) == before and [p.name for p in tmp_path.iterdir()] == ["corpus"]
    writer.write_corpus(out, rows(9), {"version": 2}, overwrite=True)
    assert len(ids(out, writer.UNFILTERED_GLOB)) == 9


def test_an_existing_folder_is_refused_without_overwrite(tmp_path):
    out = writer.write_corpus(tmp_path / "corpus", rows(2), {})
    with pytest.raises(MedsynError, match="already exists; pass --overwrite"):
        writer.prepare(out, overwrite=False)
    with pytest.raises(MedsynError, match="already exists"):
        writer.write_corpus(out, rows(3), {})
    assert len(ids(out, writer.UNFILTERED_GLOB)) == 2


def test_build_and_import_leave_the_card_to_the_command(tmp_path):
    """Nothing under builder/ writes the card: `medsyn build` and `medsyn import` pass it in (as merge's command)."""
    built = tmp_path / "built"
    build_corpus(BuildConfig.of(out=built, n=4, codes=["J06"], min_symptom_recall=0.0), progress=False)
    source = tmp_path / "notes.jsonl"
    source.write_text(json.dumps({"note": "Третий день кашель, насморк, температура 37,5, слабость и ломота в теле, "
                                          "горло болит при глотании.", "icd": "J06.9"}, ensure_ascii=False) + "\n",
                      encoding="utf-8")  # fmt: skip
    imported = tmp_path / "imported"
    import_corpus([str(source)], imported, ImportConfig(text_column="note", code_column="icd"), progress=False)
    for folder in (built, imported):
        assert sorted(p.name for p in folder.iterdir()) == [".medsyn-output.json", "build_info.json", "data",
                                                            "unfiltered"]  # fmt: skip
