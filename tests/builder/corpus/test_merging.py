"""Merging corpus folders (`builder/corpus/merging.py`): near-duplicates across sources, verdicts kept, sources named,
written by the one writer with the command's card."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from medsyn.builder.corpus import readers, writer
from medsyn.builder.corpus.merging import merge_corpora
from medsyn.builder.quality import filters
from medsyn.cli import main
from medsyn.errors import MedsynError
from tests.builder.corpus.test_pipeline import BACK, COUGH, COUGH_AGAIN, SHORT

OTHER = ("Головная боль в висках по утрам вторую неделю, давление 150 на 95, шум в ушах. Таблетки от давления "
         "принимает нерегулярно, к врачу не обращалась.")
DUPLICATE = [filters.NEAR_DUPLICATE]


def note(id_: str, text: str, reasons: list[str] | None = None, duplicate_of: str | None = None) -> dict:
    reasons = reasons or []
    return {"id": id_, "icd10_code": "J06", "text": text, "generation_model": "template", "keep": not reasons,
            "reject_reasons": reasons, "near_duplicate_of": duplicate_of, "n_words": len(text.split())}  # fmt: skip


def corpus(folder: Path, rows: list[dict], **info) -> Path:
    return writer.write_corpus(folder, rows, {"format": "medsyn-corpus", "filters": {"min_words": 15}, **info})


@pytest.fixture
def two(tmp_path) -> tuple[Path, Path]:
    first = corpus(tmp_path / "first", [note("a1", COUGH), note("a2", BACK), note("a3", SHORT, [filters.TOO_SHORT])])
    second = corpus(tmp_path / "second", [note("b1", COUGH_AGAIN), note("b2", OTHER),
                                          note("b3", OTHER + " Да.", DUPLICATE, duplicate_of="b2")])  # fmt: skip
    return first, second


def merged_rows(folder: Path) -> dict[str, dict]:
    rows, _ = readers.read_corpus(folder)
    return {row["id"]: row for row in rows}


def test_a_note_repeating_an_earlier_sources_note_is_rejected_and_counted(two, tmp_path):
    out = tmp_path / "merged"
    report = merge_corpora(list(two), out, progress=False)
    rows = merged_rows(out)
    assert rows["b1"]["near_duplicate_of"] == "a1" and rows["b1"]["reject_reasons"] == DUPLICATE
    assert not rows["b1"]["keep"] and rows["a1"]["keep"]
    # Verdicts and marks of their own corpus stay: the short note stays rejected, b3 stays b2's duplicate.
    assert rows["a3"]["reject_reasons"] == [filters.TOO_SHORT] and not rows["a3"]["keep"]
    assert rows["b3"]["near_duplicate_of"] == "b2" and rows["b3"]["reject_reasons"] == DUPLICATE
    assert {row["source"] for row in rows.values()} == {"first", "second"}
    assert (report.rows, report.kept, report.cross_duplicates) == (6, 3, 1)
    assert [(s.name, s.kept_before, s.kept, s.cross_duplicates) for s in report.sources] == [
        ("first", 2, 2, 0), ("second", 2, 1, 1)]
    info = json.loads((out / "build_info.json").read_text(encoding="utf-8"))
    assert info["summary"] == {"requested": 6, "generated": 6, "failed": 0, "kept": 3, "filtered": 3,
                               "near_duplicates": 2}  # fmt: skip
    assert info["reject_reasons"] == {"near_duplicate": 2, "too_short": 1}
    assert info["filters"] == {"min_words": 15} and info["merge"]["cross_duplicates"] == 1
    assert readers.read_columns(out, writer.DATA_GLOB, ["id"])["id"] == ["a1", "a2", "b2"]


def test_the_earlier_folder_wins(two, tmp_path):
    merge_corpora(list(reversed(two)), tmp_path / "merged", progress=False)
    rows = merged_rows(tmp_path / "merged")
    assert rows["a1"]["near_duplicate_of"] == "b1" and not rows["a1"]["keep"] and rows["b1"]["keep"]


def test_ids_repeated_across_folders_are_prefixed_with_their_source(tmp_path):
    first = corpus(tmp_path / "gpt", [note("n1", COUGH), note("n2", BACK)], **{"import": {"source_name": "gpt35"}})
    second = corpus(tmp_path / "tpl", [note("n1", OTHER), note("n2", COUGH_AGAIN)])
    report = merge_corpora([first, second], tmp_path / "merged", progress=False)
    rows = merged_rows(tmp_path / "merged")
    assert report.ids_prefixed and set(rows) == {"gpt35:n1", "gpt35:n2", "tpl:n1", "tpl:n2"}
    assert rows["tpl:n2"]["near_duplicate_of"] == "gpt35:n1" and rows["tpl:n2"]["source"] == "tpl"


def test_the_card_is_the_commands_and_appears_with_the_data(two, tmp_path):
    out = tmp_path / "merged"
    merge_corpora(list(two), out, progress=False)
    assert not (out / "README.md").exists()  # nothing under builder/ writes the card

    def failing_card(folder: Path) -> None:
        (folder / "README.md").write_text("half", encoding="utf-8")
        raise MedsynError("no card")

    with pytest.raises(MedsynError, match="no card"):
        merge_corpora(list(two), tmp_path / "other", progress=False, extra_files=failing_card)
    assert not (tmp_path / "other").exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert main(["merge", *map(str, two), "--out", str(tmp_path / "carded"), "--quiet"]) == 0
    card = (tmp_path / "carded" / "README.md").read_text(encoding="utf-8")
    assert card.startswith("---\n") and "`first`" in card and "`second`" in card


@pytest.mark.parametrize("case, message", [
    ("one", "merge needs at least two corpus folders"),
    ("twice", "the same corpus folder is given twice"),
    ("out", "is one of the folders to merge"),
    ("empty", "no unfiltered/train-*.parquet or data/train-*.parquet shards"),
])  # fmt: skip
def test_bad_input_is_refused_before_anything_is_written(two, tmp_path, case, message):
    first, second = two
    (tmp_path / "empty").mkdir()
    folders, out = {"one": ([first], tmp_path / "m"), "twice": ([first, first], tmp_path / "m"),
                    "out": ([first, second], second), "empty": ([first, tmp_path / "empty"], tmp_path / "m")}[case]
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(MedsynError, match=re.escape(message)):
        merge_corpora(folders, out, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
