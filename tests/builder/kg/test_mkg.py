"""The knowledge graph: built from the shared sources, reproducible, inspectable, strict about bad input."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from medsyn.builder.kg.graph import MkgSources, build_graph, embedded_path, load_graph, save_graph
from medsyn.cli import main
from medsyn.errors import MedsynError


def test_cli_build_reproduces_embedded_graph_byte_for_byte(shared_data, tmp_path):
    out = tmp_path / "mkg.json.gz"
    assert main(["mkg", "build", "--sources", str(shared_data), "--out", str(out)]) == 0
    assert out.read_bytes() == embedded_path().read_bytes()


def test_embedded_graph_is_small_and_holds_no_note_text(graph, shared_data):
    assert embedded_path().stat().st_size < 3 * 1024 * 1024
    payload = gzip.decompress(embedded_path().read_bytes()).decode("utf-8")
    notes = [json.loads(line)["symptoms"] for line in open(shared_data / "rumedbench/RuMedTop3/train_v1.jsonl")]
    long_notes = [text for text in notes if len(text) > 60]
    assert long_notes and not any(text in payload for text in long_notes[:500])


def test_graph_matches_documented_join_counts(graph):
    stats = graph.stats()
    assert stats["codes_with_russian_symptoms"] == 227  # MedSyn's lists (SOURCE.md: 227 categories)
    assert stats["codes_with_notes"] == 105
    assert len({v for _, v, d in graph.graph.edges(data=True) if d.get("markup_count")}) == 219  # markup labels
    assert graph.provenance["counts"]["markup_pairs"] == 1424
    assert graph.provenance["counts"]["notes"] == 4690  # train only: dev has 848 more
    assert sum(d.get("n_notes", 0) for _, d in graph.graph.nodes(data=True)) == 4690
    licenses = {s["name"]: s["license"] for s in graph.provenance["sources"]}
    assert "Apache" in licenses["notes"] and "MIT" in licenses["icd10"]
    assert all(len(s["sha256"]) == 64 for s in graph.provenance["sources"])


def test_hierarchy_names_and_flags(graph):
    assert graph.name("M54") == "Дорсалгия"
    kinds = [p["kind"] for p in graph.parents("M54.5")]
    assert kinds == ["category", "block", "block", "chapter"]
    assert graph.chapter("M54")["code"] == "XIII"
    assert graph.node("N40")["sex"] == "male" and graph.node("N76")["sex"] == "female"
    assert graph.node("O80")["sex"] == "female" and graph.node("O80")["age_max"] == 49
    assert graph.node("M54")["sex"] is None
    assert graph.node("A17.0")["dual_coding"] == "dagger"
    with pytest.raises(MedsynError):
        graph.node("A90")  # withdrawn (replaced by A97): dropped


def test_edges_keep_counts_and_specificity(graph):
    links = graph.symptoms("M54")
    assert links == sorted(links, key=lambda s: (-s.weight, s.label))
    top = links[0]
    # Dorsalgia's top symptom is back pain, however the lexicon words it ("боль в спине", "...позвоночника").
    assert top.notes >= max(top.markup_count, top.lemma_count) > 0
    assert any(("позвоночник" in link.label or "спин" in link.label) and link.markup_count for link in links[:3])
    # Specificity: a symptom of many codes weighs less than its raw frequency would suggest.
    assert all(link.weight >= 0 for link in links if link.notes)
    english = graph.symptoms("I10", lang=None)
    assert any(link.lang == "en" and link.hsdn_cooccurs > 0 for link in english)


def test_show_lists_russian_symptoms_of_m54_with_counts(capsys):
    assert main(["mkg", "show", "M54", "--top", "10"]) == 0
    out = capsys.readouterr().out
    assert "Дорсалгия" in out and "боль в шейном отделе позвоночника" in out
    assert main(["mkg", "show", "M54", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["parents"][0]["code"] == "M50-M54"
    labels = [s["label"] for s in info["symptoms"]]
    assert any(label.startswith("боль") for label in labels)
    # Every symptom is Russian and backed by real notes or one of MedSyn's lists, which the sources name.
    assert all(s["lang"] == "ru" and s["sources"] and (s["notes"] > 0) == bool({"markup", "lemma"} & set(s["sources"]))
               for s in info["symptoms"])


def test_stats_json(capsys):
    assert main(["mkg", "stats", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["nodes"]["category"] > 2000 and stats["edges"]["has_symptom"] > 1000


def test_unknown_code_names_close_matches(capsys):
    assert main(["mkg", "show", "M5"]) == 2
    err = capsys.readouterr().err
    assert "unknown ICD-10 code 'M5'" in err and "M54" in err


def _copy_sources(shared_data: Path, tmp_path: Path) -> MkgSources:
    icd = tmp_path / "icd.csv"
    shutil.copy(next((shared_data / "mkb10_nsi").glob("*.csv")), icd)
    markup = tmp_path / "rec_markup.csv"
    shutil.copy(shared_data / "rumedbench/raw/rec_markup.csv", markup)
    notes = tmp_path / "train_v1.jsonl"
    shutil.copy(shared_data / "rumedbench/RuMedTop3/train_v1.jsonl", notes)
    return MkgSources(icd10=icd, notes=[notes], markup=markup)


def _build_fails(src: MkgSources, out: Path) -> str:
    with pytest.raises(MedsynError) as err:
        graph, provenance = build_graph(src, progress=False)
        save_graph(graph, provenance, out)
    assert not out.exists() and not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}")]
    return str(err.value)


def test_missing_source_file_is_named(tmp_path, shared_data):
    src = _copy_sources(shared_data, tmp_path)
    src.markup = tmp_path / "nope.csv"
    assert "nope.csv: file not found" in _build_fails(src, tmp_path / "g.json.gz")


def test_wrong_columns_name_file_and_line(tmp_path, shared_data):
    src = _copy_sources(shared_data, tmp_path)
    text = src.icd10.read_text(encoding="utf-8").replace("MKB_NAME", "NAME", 1)
    src.icd10.write_text(text, encoding="utf-8")
    message = _build_fails(src, tmp_path / "g.json.gz")
    assert "icd.csv:1" in message and "MKB_NAME" in message


def test_bad_encoding_names_file_and_line(tmp_path, shared_data):
    src = _copy_sources(shared_data, tmp_path)
    lines = src.notes[0].read_bytes().splitlines(keepends=True)
    lines[4] = json.dumps({"idx": "x", "symptoms": "боль", "code": "M54"}, ensure_ascii=False).encode("cp1251") + b"\n"
    src.notes[0].write_bytes(b"".join(lines))
    assert "train_v1.jsonl:5: not UTF-8" in _build_fails(src, tmp_path / "g.json.gz")


def test_malformed_row_and_unknown_note_code(tmp_path, shared_data):
    src = _copy_sources(shared_data, tmp_path)
    with open(src.notes[0], "a", encoding="utf-8") as handle:
        handle.write('{"idx": "zz", "symptoms": "кашель", "code": "Q99X"}\n')
    assert "is not an ICD-10 code" in _build_fails(src, tmp_path / "g.json.gz")
    src = _copy_sources(shared_data, tmp_path)
    with open(src.notes[0], "a", encoding="utf-8") as handle:
        handle.write('{"idx": "zz", "symptoms": "кашель", "code": "U99"}\n')
    assert "not an in-force ICD-10 category" in _build_fails(src, tmp_path / "g.json.gz")


def test_dev_notes_are_refused(tmp_path, shared_data):
    src = _copy_sources(shared_data, tmp_path)
    src.notes = [shared_data / "rumedbench/RuMedTop3/dev_v1.jsonl"]
    assert "dev/test split" in _build_fails(src, tmp_path / "g.json.gz")


def test_cli_error_exit_and_nothing_written(tmp_path, capsys):
    out = tmp_path / "g.json.gz"
    assert main(["mkg", "build", "--icd10", str(tmp_path / "missing.csv"), "--out", str(out)]) == 2
    assert "missing.csv" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_load_rejects_foreign_files(tmp_path):
    bad = tmp_path / "bad.json.gz"
    bad.write_bytes(gzip.compress(b'{"format": "other"}'))
    with pytest.raises(MedsynError, match="rebuild it"):
        load_graph(bad)
    with pytest.raises(MedsynError, match="not found"):
        load_graph(tmp_path / "none.json.gz")


def test_lexicon_typos_are_dropped_at_build(graph):
    """issue 22: "распиратоные звуки" (164 notes of a build said it) and other misspelt list labels without a
    correct twin are gone from the embedded graph; ICD-10 terms pymorphy3 does not know stay."""
    from medsyn.builder.kg.lexicon import build_lexicon

    labels = {link.label for code in graph.full_codes_with_symptoms for link in graph.symptoms(code)}
    assert not any("распиратон" in label or "сердцебаение" in label or "кашль" in label for label in labels)
    assert graph.provenance["counts"]["lexicon"]["typo_drops"] > 0
    lexicon = build_lexicon([], ["распиратоные звуки", "респираторная аспирация", "дистония", "влажный кашль",
                                 "кашель"], terms=["Дистония", "Острые респираторные инфекции"])
    assert lexicon["распиратоные звуки"] is None and lexicon["влажный кашль"] is None
    assert lexicon["дистония"] == "дистония" and lexicon["кашель"] == "кашель"
    assert lexicon.resolve_synonyms(["распиратоные звуки", "кашель"]) == "кашель"
