"""The dataset card: its numbers must equal what the shards and results.json say, computed independently here."""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml
from huggingface_hub import DatasetCard

from medsyn.cli import main
from medsyn.dataset_card.card import write_card
from medsyn.dataset_card.validate import validate_folder
from medsyn.errors import MedsynError
from tests.corpus_factory import make_corpus, make_results


def rows(folder: Path, sub: str) -> list[dict]:
    return [r for p in sorted((folder / sub).glob("*.parquet")) for r in pq.read_table(p).to_pylist()]


def table_rows(text: str, header_start: str) -> list[list[str]]:
    """Cells of the Markdown table whose header line starts with `header_start`."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    out = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        out.append([c.strip() for c in line.strip().strip("|").split("|")])
    return out


@pytest.fixture(scope="module")
def carded(tmp_path_factory):
    base = tmp_path_factory.mktemp("card")
    folder = make_corpus(base / "corpus", n=80, seed=3, shards=2)
    results = make_results(base / "results", corpus=folder)
    readme = write_card(folder, results)
    return folder, results, readme.read_text(encoding="utf-8")


def test_metadata_parses_offline_and_has_required_keys(carded):
    folder, _, text = carded
    card = DatasetCard(text)
    meta = card.data.to_dict()
    assert meta["language"] == ["ru"] and meta["license"]
    assert {"text-generation", "text-classification"} <= set(meta["task_categories"])
    assert {"medical", "synthetic", "clinical-notes", "icd-10"} <= set(meta["tags"])
    assert meta["size_categories"] == ["n<1K"] and meta["pretty_name"] and meta["source_datasets"]
    configs = {c["config_name"]: c["data_files"][0]["path"] for c in meta["configs"]}
    # Shards by name, not by glob: datasets hashes these entries, not the files, into its cache key for the folder.
    assert configs == {sub: [f"{folder_}/train-{k:05d}-of-00002.parquet" for k in (0, 1)]
                       for sub, folder_ in (("default", "data"), ("unfiltered", "unfiltered"))}
    assert validate_folder(folder).kept == len(rows(folder, "data"))


def test_plots_are_pngs_in_the_folder(carded):
    folder, _, text = carded
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert {"assets/notes_per_code.png", "assets/notes_per_chapter.png", "assets/length.png",
            "assets/symptom_recall.png", "assets/benchmark/accuracy.png", "assets/benchmark/per_code_f1.png"} <= set(images)  # fmt: skip
    for image in images:
        assert not image.startswith(("/", "http"))
        assert (folder / image).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_code_chapter_and_share_tables_match_the_data(carded):
    folder, _, text = carded
    kept, everything = rows(folder, "data"), rows(folder, "unfiltered")
    per_code = {r[0]: int(r[3]) for r in table_rows(text, "| Code | Name |")}
    assert per_code == dict(Counter(r["icd10_code"] for r in kept))
    per_chapter = {r[0]: int(r[1]) for r in table_rows(text, "| Chapter | Notes |")}
    assert per_chapter == dict(Counter(r["icd10_chapter"] for r in kept))
    models = {r[0].strip("`"): (int(r[2]), int(r[3]), r[4]) for r in table_rows(text, "| Model | Backend |")}
    for model, n_kept in Counter(r["generation_model"] for r in kept).items():
        generated = sum(1 for r in everything if r["generation_model"] == model)
        assert models[model] == (generated, n_kept, f"{100 * n_kept / len(kept):.1f}%")
    reasons = {r[0]: int(r[1]) for r in table_rows(text, "| Reject reason |")}
    assert reasons == dict(Counter(x for r in everything for x in r["reject_reasons"]))
    assert f"{len(kept)} notes kept (of {len(everything)} generated)" in text
    words = np.array([r["n_words"] for r in kept], dtype=float)
    assert f"mean {words.mean():.1f} words, median {np.median(words):.1f}" in text


def test_privacy_table_matches_overlap_percentiles(carded):
    folder, _, text = carded
    table = {r[0]: r for r in table_rows(text, "| Notes | Count |")}
    for label, sub in (("all generated", "unfiltered"), ("kept", "data")):
        with_example = [r for r in rows(folder, sub) if r["example_id"]]
        ngram = np.array([r["example_longest_ngram"] for r in with_example], dtype=float)
        overlap = np.array([r["example_overlap"] for r in with_example], dtype=float)
        expected = [label, str(len(with_example)), f"{ngram.max():.0f}"]
        expected += [f"{np.percentile(ngram, q):.1f}" for q in (50, 95, 99)]
        expected += [f"{overlap.max():.3f}"] + [f"{np.percentile(overlap, q):.3f}" for q in (50, 95, 99)]
        expected += [str(sum(r["leakage"] for r in with_example))]
        assert table[label] == expected


def test_benchmark_tables_match_results_json_and_results_md(carded):
    _, results, text = carded
    data = json.loads((results / "results.json").read_text())
    table = table_rows(text, "| Setting | Real fraction |")
    assert [(r[0], r[1]) for r in table] == [
        (f"`{s['name']}`", "0 (TSTR)" if s["name"] == "TSTR" else f"{100 * s['real_fraction']:g}%")
        for s in data["summary"]
    ]
    for row, entry in zip(table, data["summary"]):
        stat = entry["metrics"]["accuracy"]
        # percent, one decimal, the interval around it
        assert row[4] == f"{100 * stat['mean']:.1f} [{100 * stat['ci95'][0]:.1f}, {100 * stat['ci95'][1]:.1f}]"
        seeds = [s["metrics"]["accuracy"] for s in data["settings"]
                 if s["name"] == entry["name"] and s["real_fraction"] == entry["real_fraction"]]
        assert stat["mean"] == pytest.approx(statistics.mean(seeds))
    # results.md and the card carry the same tables
    md = (results / "results.md").read_text(encoding="utf-8")
    assert table_rows(md, "| Setting | Real fraction |") == table
    assert table_rows(md, "| Setting | Real fraction | Accuracy | Matches") == table_rows(
        text, "| Setting | Real fraction | Accuracy | Matches")
    tstr = table_rows(text, "| Code | Eval notes |")
    assert [r[0] for r in tstr] == [r["code"] for r in data["tstr_per_code"]]
    assert "### Real notes saved" in text and "### TSTR per code" in text and "Rare codes (1" in text


def test_existing_yaml_keys_are_kept(tmp_path):
    folder = make_corpus(tmp_path / "c", n=30, seed=1)
    (folder / "README.md").write_text(
        "---\npretty_name: My own title\nlicense: cc-by-4.0\ntags:\n- russian\n"
        "dataset_info:\n  features:\n  - name: id\n    dtype: string\n  splits:\n  - name: train\n    num_examples: 22\n"
        "configs:\n- config_name: default\n  data_files:\n  - split: train\n    path: data/train-*.parquet\n---\nold body\n",
        encoding="utf-8",
    )
    text = write_card(folder).read_text(encoding="utf-8")
    meta = yaml.safe_load(text.split("---")[1])
    assert meta["pretty_name"] == "My own title" and meta["license"] == "cc-by-4.0"
    assert meta["dataset_info"]["splits"][0]["num_examples"] == 22
    assert meta["tags"][0] == "russian" and "synthetic" in meta["tags"]
    assert [c["config_name"] for c in meta["configs"]] == ["default", "unfiltered"]
    assert "old body" not in text and "# My own title" in text


def test_rerender_is_byte_identical_and_loads_with_datasets(tmp_path):
    import datasets

    folder = make_corpus(tmp_path / "c", n=30, seed=1)
    first = write_card(folder).read_bytes()
    png = (folder / "assets" / "notes_per_code.png").read_bytes()
    assert main(["card", "--dataset", str(folder)]) == 0
    assert (folder / "README.md").read_bytes() == first
    assert (folder / "assets" / "notes_per_code.png").read_bytes() == png
    ds = datasets.load_dataset(str(folder), cache_dir=str(tmp_path / "cache"))
    assert sorted(ds["train"]["id"]) == sorted(r["id"] for r in rows(folder, "data"))
    everything = datasets.load_dataset(str(folder), "unfiltered", cache_dir=str(tmp_path / "cache"))
    assert len(everything["train"]) == 30


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, re.DOTALL)


def test_unpublished_card_loads_its_own_folder_and_names_no_placeholder(tmp_path, monkeypatch):
    import datasets

    folder = make_corpus(tmp_path / "c", n=30, seed=1)
    text = write_card(folder).read_text(encoding="utf-8")
    assert not [p for p in ("<version tag>", "<org>", "<name>") if p in text]
    assert "revision=" not in python_blocks(text)[0]  # no version exists yet to pin
    assert 'load_dataset("my-org/medsyn-ru", revision="v1.0")' in text  # what the card will say once pushed
    # the card's own snippet, run where the card says (in the folder), loads exactly this folder's notes
    monkeypatch.chdir(folder)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "cache")
    scope: dict = {}
    exec(python_blocks(text)[0], scope)
    assert sorted(scope["notes"]["train"]["id"]) == sorted(r["id"] for r in rows(folder, "data"))
    assert len(scope["everything"]["train"]) == 30


def test_validation_names_the_problem(tmp_path):
    import pyarrow as pa

    folder = make_corpus(tmp_path / "c", n=30, seed=1)
    with pytest.raises(MedsynError, match="no dataset card"):
        validate_folder(folder)
    write_card(folder)
    (folder / "assets" / "length.png").unlink()
    with pytest.raises(MedsynError, match="assets/length.png"):
        validate_folder(folder)
    write_card(folder)
    shard = next((folder / "data").glob("*.parquet"))
    table = pq.read_table(shard)
    pq.write_table(table.append_column("extra", pa.array([1] * table.num_rows)), shard)
    with pytest.raises(MedsynError, match=r"unexpected column\(s\) extra"):
        validate_folder(folder)
    pq.write_table(table.drop(["text"]), shard)
    with pytest.raises(MedsynError, match=r"missing column\(s\) text"):
        validate_folder(folder)


def test_card_command_errors(tmp_path, capsys):
    assert main(["card", "--dataset", str(tmp_path / "missing")]) == 2
    assert "not a folder" in capsys.readouterr().err
    folder = make_corpus(tmp_path / "c", n=10, seed=1)
    assert main(["card", "--dataset", str(folder), "--benchmark", str(tmp_path)]) == 2
    assert "results.json" in capsys.readouterr().err
    assert not (folder / "README.md").exists()
