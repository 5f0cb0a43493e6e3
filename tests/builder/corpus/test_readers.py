"""The one reader of corpora made elsewhere (`builder/corpus/readers.py`): `medsyn import`, `medsyn merge` and the
benchmark's `--synthetic` take the same sources, named by the same Hub-id pattern and file suffixes."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from medsyn.builder.corpus import readers
from medsyn.errors import MedsynError
from medsyn.training.benchmark.run import read_synthetic

NOTES = [{"text": "Кашель третий день, насморк.", "code": "J06.9"}, {"text": "Боль в пояснице.", "code": "M54.5"}]


def records(path: Path) -> list[dict]:
    return [record.values for source in readers.expand([str(path)]) for record in readers.read(source)]


def test_there_is_one_reader():
    assert importlib.util.find_spec("medsyn.training.synthetic_sources") is None


@pytest.mark.parametrize("name, content", [
    ("notes.tsv", "text\tcode\n" + "".join(f"{n['text']}\t{n['code']}\n" for n in NOTES)),
    ("notes.ndjson", "".join(json.dumps(n, ensure_ascii=False) + "\n" for n in NOTES)),
    ("lines.json", "".join(json.dumps(n, ensure_ascii=False) + "\n" for n in NOTES)),  # JSON lines saved as .json
    ("columns.json", json.dumps({"text": [n["text"] for n in NOTES], "code": [n["code"] for n in NOTES]})),
    ("wrapped.json", json.dumps({"data": NOTES})),
])  # fmt: skip
def test_import_and_benchmark_read_the_same_files(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    assert records(path) == NOTES
    synthetic = read_synthetic(path, text_column="text", code_column="code")
    assert (synthetic.texts, synthetic.codes) == ([n["text"] for n in NOTES], [n["code"] for n in NOTES])


def test_a_folders_hidden_files_are_left_out(tmp_path):
    (tmp_path / "src" / ".cache").mkdir(parents=True)
    (tmp_path / "src" / "notes.json").write_text(json.dumps(NOTES), encoding="utf-8")
    (tmp_path / "src" / ".backup.json").write_text(json.dumps(NOTES), encoding="utf-8")
    (tmp_path / "src" / ".cache" / "old.jsonl").write_text(json.dumps(NOTES[0]) + "\n", encoding="utf-8")
    assert [source.name for source in readers.expand([str(tmp_path / "src")])] == ["src/notes.json"]
    assert read_synthetic(tmp_path / "src", text_column="text", code_column="code").source["n_files"] == 1


@pytest.mark.parametrize("value, repo", [("org/name", "org/name"), ("hf://datasets/org/name", "org/name"),
                                         ("../nowhere", None), ("./x/y", None), ("/abs/path", None)])  # fmt: skip
def test_one_hub_id_pattern(value, repo):
    match = readers.HUB_ID.match(value)
    assert (match.group(1) if match else None) == repo


def test_a_missing_relative_path_is_not_taken_for_a_hub_dataset(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(MedsynError, match=r"\.\./nowhere: no such file or folder"):
        readers.expand(["../nowhere"])
