"""MedSyn's own tables in the graph: readers, one lexicon, evidence-weighted edges, sex limits, coverage."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medsyn.builder.kg.lexicon import build_lexicon, is_typo_of, normalise
from medsyn.builder.kg.graph import MkgSources, build_graph, load_graph, save_graph
from medsyn.builder.generate.sampling import PriorSampler, SamplingConfig
from medsyn.cli import main
from medsyn.errors import MedsynError

MAIN_COLUMNS = ["icd_10", "DOID", "MESH", "ULMS", "Alternateids", "Name", "Name_DO", "Descriptions", "probs", "gender",
                "pharmgkb_ids", "symptoms", "symptoms_mesh_id", "sympotoms_tf_idfs", "names_ru", "descriptions_ru",
                "symptoms_ru", "symptoms_ru_no_stat"]
ICD_ROWS = [  # ID, code, name, parent: a chapter-less slice of МКБ-10 is enough for the graph
    (1, "K40", "Паховая грыжа", ""), (2, "K40.0", "Двусторонняя паховая грыжа", 1),
    (3, "N40", "Гиперплазия предстательной железы", ""), (4, "M54", "Дорсалгия", ""),
    (5, "M54.2", "Цервикалгия", 4), (6, "E74", "Другие нарушения обмена углеводов", ""),
    (7, "E74.0", "Болезни накопления гликогена", 6),
]


def _write_sources(folder: Path, rows: list[dict]) -> MkgSources:
    icd = folder / "icd.csv"
    with open(icd, "w", encoding="utf-8") as handle:
        handle.write("ID;REC_CODE;MKB_CODE;MKB_NAME;ID_PARENT;ADDL_CODE;ACTUAL;DATE\n")
        for row_id, code, name, parent in ICD_ROWS:
            handle.write(f'{row_id};0;"{code}";"{name}";{parent};;1;\n')
    tables = folder / "medsyn_mkg"
    tables.mkdir(exist_ok=True)
    with open(tables / "main_proc.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, MAIN_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({column: row.get(column, "") for column in MAIN_COLUMNS})
    return MkgSources(icd10=icd, medsyn_mkg=tables)


def _row(code: str, gender: str = "neutral", listed: str = "", hsdn: list | None = None, prob: float = 0.1) -> dict:
    row = {"icd_10": code, "probs": str(prob), "gender": gender, "symptoms_ru_no_stat": listed}
    if hsdn:
        row["symptoms_ru"] = repr([ru for ru, _ in hsdn])
        row["sympotoms_tf_idfs"] = repr([w for _, w in hsdn])
        row["symptoms"] = repr([f"term {i}" for i in range(len(hsdn))])
    return row


ROWS = [
    _row("K40.0", gender="female", listed="Выпячивание в паху, боль в паху при  нагрузке", prob=0.3),
    _row("N40.0", listed="Слабая струя мочи, Никтурия", prob=0.1),
    _row("M54.2", hsdn=[("Боль в шее, цервикалгия", 5.0), ("тошнота, рвота ", 1.0)], prob=0.2),
    _row("E74.04", listed="Гипогликемия, увеличение печени", prob=0.4),
    _row("Z99.9", listed="Слабость", prob=0.0),  # no Z99 in this slice of МКБ-10: unmapped
]


@pytest.fixture
def small_graph(tmp_path):
    src = _write_sources(tmp_path, ROWS)
    graph, provenance = build_graph(src, progress=False)
    save_graph(graph, provenance, tmp_path / "g.json.gz")
    return load_graph(tmp_path / "g.json.gz")


def test_lexicon_merges_case_spaces_lemmas_and_typos_but_keeps_markup_labels():
    lexicon = build_lexicon(
        {"боль в суставах", "тошнота", "рвота"},
        ["Кашель", "кашель  ", "КАШЕЛЬ", "боли в суставах", "Боль в сутавах", "гипотермия", "гипертермия",
         "дисфония", "дисфория", "ОРВИ", "Высокая температура", "температура", "Тошнота"],
    )
    assert lexicon["Кашель"] == lexicon["кашель  "] == lexicon["КАШЕЛЬ"] == "кашель"
    # Lemma keys: the markup label keeps its surface form; a typo of it joins it too.
    assert lexicon["боли в суставах"] == lexicon["Боль в сутавах"] == "боль в суставах"
    # Words that are different terms, not typos, stay apart.
    assert lexicon["гипотермия"] != lexicon["гипертермия"] and lexicon["дисфония"] != lexicon["дисфория"]
    assert normalise("  ОРВИ  ") == "ОРВИ" and lexicon["ОРВИ"] == "ОРВИ"
    # A synonym item is one symptom: the markup label among its synonyms, else its first; never fused.
    assert lexicon.resolve_synonyms(["Тошнота", "рвота"]) == "тошнота"
    assert lexicon.resolve_synonyms(["Высокая температура", "температура"]) == "высокая температура"
    assert lexicon["тошнота"] != lexicon["рвота"]
    counts = lexicon.counts
    assert counts["labels_raw"] > counts["labels_normalised"] > counts["labels_merged"] == 11
    assert is_typo_of("галзные", "глазные") and not is_typo_of("дисфония", "дисфория")


def test_graph_keeps_full_codes_rolls_up_and_maps_icd10cm_codes(small_graph):
    stats = small_graph.stats()
    assert stats["mapped_to_parent"] == {"E74.04": "E74.0", "N40.0": "N40"} and stats["unmapped"] == ["Z99.9"]
    assert small_graph.full_codes_with_symptoms == ["E74.0", "K40.0", "M54.2", "N40"]
    assert small_graph.codes_with_symptoms == ["E74", "K40", "M54", "N40"]
    own = {link.label: link for link in small_graph.symptoms("K40.0")}
    assert set(own) == {"выпячивание в паху", "боль в паху при нагрузке"}
    assert all(link.sources == {"medsyn_list": 1} for link in own.values())
    rolled = {link.label for link in small_graph.symptoms("K40")}
    assert rolled == set(own)
    neck = {link.label: link for link in small_graph.symptoms("M54")}
    assert set(neck) == {"боль в шее", "тошнота"} and neck["боль в шее"].sources == {"medsyn_hsdn": 5.0}
    assert neck["боль в шее"].weight > neck["тошнота"].weight


def test_sex_limits_from_who_and_medsyn_and_disagreements_listed(small_graph):
    assert small_graph.node("K40")["sex"] == "female"  # MedSyn's gender column (WHO has none)
    assert small_graph.node("N40")["sex"] == "male"  # WHO (MedSyn says neutral)
    disagreements = small_graph.stats()["sex_disagreements"]
    assert {"code": "N40.0", "node": "N40", "who": "male", "medsyn": None} in disagreements
    # codes named: a default plan leaves out codes too poor in complaints (coherence.MIN_USABLE), as M54 is here
    codes = tuple(small_graph.codes_with_symptoms)
    priors = list(PriorSampler(small_graph, SamplingConfig(code_strategy="uniform", codes=codes)).sample(400, seed=3))
    sexes = {code: {p.sex for p in priors if p.icd10_code == code} for code in small_graph.codes_with_symptoms}
    assert sexes["K40"] == {"female"} and sexes["N40"] == {"male"} and sexes["M54"] == {"male", "female"}


def test_medsyn_strategy_follows_paper_probabilities(small_graph):
    codes = tuple(small_graph.codes_with_symptoms)  # named, so that no code is left out for too few complaints
    priors = list(PriorSampler(small_graph, SamplingConfig(code_strategy="medsyn", codes=codes)).sample(4000, seed=0))
    share = {code: sum(p.icd10_code == code for p in priors) / len(priors) for code in ("E74", "K40", "M54", "N40")}
    assert share == pytest.approx({"E74": 0.4, "K40": 0.3, "M54": 0.2, "N40": 0.1}, abs=0.03)


def test_rebuild_is_byte_identical(tmp_path):
    src = _write_sources(tmp_path, ROWS)
    outs = []
    for name in ("a.json.gz", "b.json.gz"):
        graph, provenance = build_graph(src, progress=False)
        save_graph(graph, provenance, tmp_path / name)
        outs.append((tmp_path / name).read_bytes())
    assert outs[0] == outs[1]


@pytest.mark.parametrize(
    ("row", "line", "message"),
    [
        (_row("K40.0", gender="sometimes", listed="боль"), 3, "gender 'sometimes'"),
        ({**_row("K40.0"), "probs": "often"}, 3, "probs 'often' is not a number"),
        ({**_row("M54.2", hsdn=[("боль", 1.0)]), "sympotoms_tf_idfs": "[1.0, 2.0]"}, 3, "aligned lists"),
        ({**_row("M54.2", hsdn=[("боль", 1.0)]), "symptoms_ru": "['боль'"}, 3, "not a Python list literal"),
        (_row("54.2", listed="боль"), 3, "not an ICD-10 code"),
    ],
)
def test_malformed_medsyn_row_is_named_with_its_line(tmp_path, row, line, message):
    src = _write_sources(tmp_path, [ROWS[0], row])
    with pytest.raises(MedsynError) as err:
        build_graph(src, progress=False)
    assert f"main_proc.csv:{line}" in str(err.value) and message in str(err.value)


def test_missing_medsyn_table_is_named(tmp_path):
    src = _write_sources(tmp_path, ROWS)
    (src.medsyn_mkg / "main_proc.csv").unlink()
    with pytest.raises(MedsynError, match="main_proc.csv: file not found"):
        build_graph(src, progress=False)
    assert main(["mkg", "build", "--icd10", str(src.icd10), "--medsyn-mkg", str(tmp_path / "nowhere"),
                 "--out", str(tmp_path / "g.json.gz")]) == 2
    assert not (tmp_path / "g.json.gz").exists()


# ------------------------------------------------------------------------------------------- the embedded graph


def test_embedded_graph_coverage(graph, capsys):
    assert main(["mkg", "stats", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["categories_with_russian_symptoms"] >= 219 and stats["full_codes_with_russian_symptoms"] >= 600
    assert stats["lexicon"]["labels_raw"] > stats["lexicon"]["labels_merged"]
    sampler = PriorSampler(graph, SamplingConfig(code_strategy="uniform"))
    codes = {p.icd10_code for p in sampler.sample(50_000, 0)}
    # a plan that names no codes draws every code but those too poor in complaints for a note (coherence.MIN_USABLE,
    # judged_labels.tsv): 33 of the 122 codes without notes, fewer codes rather than wrong notes
    assert len(codes) >= 190 and codes == set(graph.codes_with_symptoms) - set(sampler.skipped)
    assert len(sampler.skipped) <= 35 and all(not graph.node(code).get("n_notes") for code in sampler.skipped)


def test_real_notes_dominate_rumedtop3_codes(graph):
    assert "диарея" not in [link.label for link in graph.symptoms("J06")[:10]]
    assert "чихание" not in [link.label for link in graph.symptoms("M54")[:10]]
    top = graph.symptoms("J06")[:5]
    assert all(link.notes > 0 for link in top)


def test_show_code_without_notes_lists_russian_symptoms_with_sources(capsys):
    assert main(["mkg", "show", "K80", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["symptoms"] and all(s["lang"] == "ru" and s["sources"] for s in info["symptoms"])
    assert main(["mkg", "show", "B00", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["n_notes"] == 0 and info["symptoms"]
    assert {name for s in info["symptoms"] for name in s["sources"]} <= {"medsyn_hsdn", "medsyn_list"}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**31 - 1), strategy=st.sampled_from(["uniform", "frequency", "budget", "medsyn"]),
       k_max=st.integers(1, 8))
def test_every_drawn_symptom_is_linked_to_its_code(graph, seed, strategy, k_max):
    sampler = PriorSampler(graph, SamplingConfig(code_strategy=strategy, k_min=1, k_max=k_max))
    for prior in sampler.sample(25, seed):
        node = graph.symptom_node(prior.icd10_code)
        assert prior.symptoms
        for symptom in prior.symptoms:
            assert graph.graph.has_edge(node, f"symptom:{symptom.label}")


def test_example_family_falls_back_to_symptoms_for_codes_without_notes(graph):
    from medsyn.builder.generate.prompts import PromptBuilder, PromptConfig
    from medsyn.builder.generate.sampling import sample_priors
    from medsyn.builder.kg.sources import Note

    notes = [Note("n1", "Беспокоят боли в шее при поворотах головы, хруст.", "M54")]
    builder = PromptBuilder(PromptConfig(families=["example=1"]), notes, graph)
    priors = sample_priors(graph, 30, 0, SamplingConfig(code_strategy="uniform"), codes=["M54", "K80"])
    families = {(p.icd10_code, builder.build(p).prompt_family, builder.build(p).fallback_from) for p in priors}
    assert families == {("M54", "example", None), ("K80", "symptoms", "example")}


def test_template_build_over_all_codes(tmp_path, shared_data):
    out = tmp_path / "corpus"
    args = ["build", "--out", str(out), "--quiet", "--n", "150", "--code-strategy", "uniform",
            "--examples", str(shared_data / "rumedbench/RuMedTop3/train_v1.jsonl"),
            "--families", "symptoms=0.5", "example=0.5"]
    assert main(args) == 0
    info = json.loads((out / "build_info.json").read_text(encoding="utf-8"))
    graph = load_graph()
    without_notes = [c for c in graph.codes_with_symptoms if not graph.node(c).get("n_notes")]
    assert info["summary"]["kept"] > 100 and info["example_fallback_to_symptoms"] > 0
    assert info["prompt_families"].get("example", 0) > 0
    from datasets import load_dataset

    codes = set(load_dataset(str(out), split="train", cache_dir=str(tmp_path / "hf"))["icd10_code"])
    assert codes & set(without_notes) and len(codes) > 80
