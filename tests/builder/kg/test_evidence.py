"""The evidence rule (`builder/kg/evidence.py`) on small hand-made graphs: where MedSyn's and HSDN's lists land,
which symptoms are dropped for naming their diagnosis, and the weights the sampler draws from as softmax(w / T)."""

import math
from pathlib import Path

import networkx as nx
import pytest

from medsyn.builder.generate.sampling import SamplingConfig
from medsyn.builder.kg.evidence import (
    LIST_SHARE,
    PSEUDO_NOTES,
    T0,
    add_hsdn,
    add_medsyn_edges,
    add_weights,
    drop_diagnosis_symptoms,
    knowledge_distribution,
    map_code,
    mesh_to_categories,
    source_coverage,
)
from medsyn.builder.kg.graph import MkgSources
from medsyn.builder.kg.lexicon import Lexicon
from medsyn.builder.kg.medsyn_tables import HsdnItem, MedsynRow
from medsyn.builder.kg.sources import HsdnPair


def _icd(graph: nx.DiGraph, code: str, name: str, sex: str | None = None, n_notes: int = 0) -> str:
    node = f"icd:{code}"
    kind = "category" if len(code) == 3 else "subcategory"
    graph.add_node(node, kind=kind, code=code, name=name, sex=sex, **({"n_notes": n_notes} if n_notes else {}))
    if kind == "subcategory":
        graph.add_edge(f"icd:{code[:3]}", node, kind="contains")
    return node


def _symptom(graph: nx.DiGraph, code_node: str, label: str, **edge) -> dict:
    graph.add_node(f"symptom:{label}", kind="symptom", label=label, lang="ru")
    graph.add_edge(code_node, f"symptom:{label}", kind="has_symptom", **edge)
    return graph.edges[code_node, f"symptom:{label}"]


def _row(code: str, gender: str | None = None, hsdn: tuple = (), listed: tuple = (), prob: float = 0.1) -> MedsynRow:
    items = tuple(HsdnItem(tuple(synonyms), tfidf, f"term {i}") for i, (synonyms, tfidf) in enumerate(hsdn))
    return MedsynRow(code, "main_proc.csv", 2, prob, gender, items, tuple(listed))


def _draw(weights: list[float]) -> list[float]:
    """The sampler's first-draw probabilities at its default temperature."""
    top = max(weights)
    exp = [math.exp((w - top) / T0) for w in weights]
    return [e / sum(exp) for e in exp]


@pytest.fixture
def spine() -> nx.DiGraph:
    graph = nx.DiGraph()
    _icd(graph, "M54", "Дорсалгия")
    _icd(graph, "M54.1", "Радикулопатия")
    _icd(graph, "M54.2", "Цервикалгия")
    _icd(graph, "E74", "Другие нарушения обмена углеводов")
    _icd(graph, "E74.0", "Болезни накопления гликогена")
    _icd(graph, "K40", "Паховая грыжа")
    _icd(graph, "K40.0", "Двусторонняя паховая грыжа")
    _icd(graph, "N40", "Гиперплазия предстательной железы", sex="male")
    return graph


LEXICON = Lexicon(
    {"боль в шее": "боль в шее", "цервикалгия": "боль в шее", "тошнота": "тошнота", "рвота": "рвота",
     "кашель": "кашель", "сердцебаение": None, "выпячивание в паху": "выпячивание в паху", "гипогликемия":
     "гипогликемия"}
)


def test_map_code_takes_the_nearest_mkb10_node(spine):
    assert map_code(spine, "M54.2") == "icd:M54.2"  # MedSyn's own level
    assert map_code(spine, "E74.04") == "icd:E74.0"  # an ICD-10-CM code МКБ-10 lacks: its parent
    assert map_code(spine, "M54.9") == "icd:M54"  # a subcategory the dictionary lacks: its category
    assert map_code(spine, "Z99.9") is None


def test_medsyn_lists_land_on_their_code_and_roll_up_to_the_category(spine):
    rows = [
        _row("M54.2", hsdn=[(("Боль в шее", "цервикалгия"), 5.0), (("Тошнота", "рвота"), 1.0)], listed=["Кашель"]),
        _row("M54.1", hsdn=[(("цервикалгия",), 2.0), (("сердцебаение",), 9.0)], listed=["кашель", "сердцебаение"]),
        _row("E74.04", listed=["Гипогликемия"], prob=0.4),
        _row("Z99.9", listed=["кашель"]),
    ]
    report = add_medsyn_edges(spine, rows, LEXICON)
    assert report["mapped_to_parent"] == {"E74.04": "E74.0"} and report["unmapped"] == ["Z99.9"]
    own = {v: d for _, v, d in spine.out_edges("icd:M54.2", data=True)}
    # one HSDN item is one symptom (its first synonym); "Кашель" and "кашель" are one lexicon label
    assert own == {"symptom:боль в шее": {"kind": "has_symptom", "medsyn_hsdn": 5.0},
                   "symptom:тошнота": {"kind": "has_symptom", "medsyn_hsdn": 1.0},
                   "symptom:кашель": {"kind": "has_symptom", "medsyn_list": 1}}
    category = {v: d for _, v, d in spine.out_edges("icd:M54", data=True) if d["kind"] == "has_symptom"}
    assert category["symptom:боль в шее"]["medsyn_hsdn"] == 5.0  # the largest HSDN weight of its codes
    assert category["symptom:кашель"]["medsyn_list"] == 2  # how many codes list it
    assert "symptom:рвота" not in spine  # the synonyms of one item are not split into symptoms
    assert "symptom:сердцебаение" not in spine  # a dropped misspelling gives no symptom
    assert {v for _, v in spine.out_edges("icd:E74")} >= {"icd:E74.0", "symptom:гипогликемия"}
    assert spine.nodes["icd:E74.0"]["medsyn_prob"] == 0.4 and "medsyn_prob" not in spine.nodes["icd:E74"]


def test_sex_from_medsyn_only_where_who_has_none_and_its_rows_agree(spine):
    rows = [
        _row("K40.0", gender="female", listed=["выпячивание в паху"]),
        _row("M54.1", gender="male", listed=["кашель"]),
        _row("M54.2", gender="female", listed=["кашель"]),
        _row("N40", gender=None),  # neutral, and no Russian list: still read for sex
    ]
    report = add_medsyn_edges(spine, rows, LEXICON)
    assert spine.nodes["icd:K40.0"]["sex"] == spine.nodes["icd:K40"]["sex"] == "female"
    assert spine.nodes["icd:M54.2"]["sex"] == "female" and spine.nodes["icd:M54"]["sex"] is None  # rows disagree
    assert spine.nodes["icd:N40"]["sex"] == "male"  # WHO's limit stays
    assert {"code": "N40", "node": "N40", "who": "male", "medsyn": None} in report["sex_disagreements"]
    assert not list(spine.successors("icd:N40"))


def test_symptoms_that_name_their_own_diagnosis_are_dropped():
    graph = nx.DiGraph()
    obesity = _icd(graph, "E66", "Ожирение")
    dorsalgia = _icd(graph, "M54", "Дорсалгия")
    for label in ("ожирение", "ожирение 2 степени", "одышка"):
        _symptom(graph, obesity, label, medsyn_list=1)
    _symptom(graph, dorsalgia, "дорсалгия", notes=3)
    _symptom(graph, dorsalgia, "боль в спине", notes=3)
    graph.add_node("symptom:mesh:D009765", kind="symptom", label="Obesity", lang="en")
    graph.add_edge(obesity, "symptom:mesh:D009765", kind="has_symptom", hsdn_tfidf=1.0)
    assert drop_diagnosis_symptoms(graph) == 3
    assert set(graph.successors(obesity)) == {"symptom:одышка", "symptom:mesh:D009765"}  # English edges stay
    assert set(graph.successors(dorsalgia)) == {"symptom:боль в спине"}


def test_knowledge_distribution_gives_hand_written_lists_the_larger_share():
    edges = [{"medsyn_list": 2}, {"medsyn_list": 1, "medsyn_hsdn": 3.0}, {"medsyn_hsdn": 1.0}, {}]
    p_list, p_hsdn = [2 / 3, 1 / 3, 0, 0], [0, 3 / 4, 1 / 4, 0]
    expected = [LIST_SHARE * a + (1 - LIST_SHARE) * b for a, b in zip(p_list, p_hsdn)]
    assert knowledge_distribution(edges) == pytest.approx(expected)
    assert sum(knowledge_distribution(edges)) == pytest.approx(1.0)
    one_each = knowledge_distribution([{"medsyn_list": 1}, {"medsyn_hsdn": 9.0}])
    assert one_each[0] > one_each[1]


def test_knowledge_distribution_uses_the_one_source_present_alone():
    assert knowledge_distribution([{"medsyn_hsdn": 3.0}, {"medsyn_hsdn": 1.0}]) == pytest.approx([0.75, 0.25])
    assert knowledge_distribution([{"medsyn_list": 1}, {"medsyn_list": 3}]) == pytest.approx([0.25, 0.75])
    assert knowledge_distribution([{"notes": 4}, {}]) == [0.0, 0.0]


def test_t0_is_the_samplers_default_temperature():
    assert T0 == SamplingConfig().symptom_temperature


def _noted_graph() -> nx.DiGraph:
    graph = nx.DiGraph()
    many = _icd(graph, "J06", "Острые инфекции верхних дыхательных путей", n_notes=20)
    few = _icd(graph, "J20", "Острый бронхит", n_notes=4)
    none = _icd(graph, "J45", "Астма")
    _symptom(graph, many, "кашель", notes=10)
    _symptom(graph, many, "насморк", notes=8)
    _symptom(graph, many, "боль в горле", notes=6, medsyn_list=1)  # backed by notes: keeps its real weight
    _symptom(graph, many, "одышка", medsyn_list=2)
    _symptom(graph, many, "хрипы", medsyn_hsdn=4.0)
    _symptom(graph, few, "кашель", notes=4)
    _symptom(graph, few, "одышка", medsyn_list=1)
    _symptom(graph, none, "одышка", medsyn_list=3, medsyn_hsdn=2.0)
    _symptom(graph, none, "кашель", medsyn_list=1)
    _symptom(graph, none, "хрипы", medsyn_hsdn=6.0)
    return graph


def _weights(graph: nx.DiGraph, code: str) -> dict[str, float]:
    return {graph.nodes[v]["label"]: d["weight"] for _, v, d in graph.out_edges(f"icd:{code}", data=True)}


def test_real_note_edges_weigh_by_specificity():
    graph = _noted_graph()
    add_weights(graph)
    many, few = _weights(graph, "J06"), _weights(graph, "J20")
    n_codes = 2  # codes with real notes
    assert many["кашель"] == pytest.approx(10 / 20 * math.log(1 + n_codes / 2), abs=1e-6)
    assert many["насморк"] == pytest.approx(8 / 20 * math.log(1 + n_codes / 1), abs=1e-6)
    assert many["боль в горле"] == pytest.approx(6 / 20 * math.log(1 + n_codes / 1), abs=1e-6)
    assert few["кашель"] == pytest.approx(4 / 4 * math.log(1 + n_codes / 2), abs=1e-6)
    assert many["насморк"] > many["кашель"]  # fewer notes, but a symptom of this code alone


def test_a_code_without_notes_draws_its_knowledge_distribution_at_t0():
    graph = _noted_graph()
    edges = [d for _, _, d in graph.out_edges("icd:J45", data=True)]
    p_know = knowledge_distribution(edges)
    add_weights(graph)
    weights = [d["weight"] for d in edges]
    assert max(weights) == 1.0
    assert _draw(weights) == pytest.approx(p_know, abs=1e-4)


def test_knowledge_only_edges_share_the_first_draw_by_the_code_s_notes():
    graph = _noted_graph()
    known = [d for _, _, d in graph.out_edges("icd:J06", data=True) if "notes" not in d]
    p_know = knowledge_distribution(known)
    add_weights(graph)
    shares = {}
    for code, n_notes in (("J06", 20), ("J20", 4)):
        edges = [d for _, _, d in graph.out_edges(f"icd:{code}", data=True)]
        drawn = _draw([d["weight"] for d in edges])
        shares[code] = sum(p for p, d in zip(drawn, edges) if "notes" not in d)
        assert shares[code] == pytest.approx(PSEUDO_NOTES / (PSEUDO_NOTES + n_notes), abs=1e-4)
    assert shares["J20"] > shares["J06"]  # the more real notes, the more they dominate
    one, other = [d["weight"] for d in known]  # split between them by p_know
    assert math.exp((one - other) / T0) == pytest.approx(p_know[0] / p_know[1], rel=1e-3)


def test_english_hsdn_edges_weigh_by_their_share_of_the_code_s_largest_tfidf():
    graph = nx.DiGraph()
    code = _icd(graph, "E11", "Сахарный диабет 2 типа")
    for mesh, tfidf in (("D011141", 4.0), ("D006943", 1.0)):
        graph.add_node(f"symptom:mesh:{mesh}", kind="symptom", label=mesh, lang="en")
        graph.add_edge(code, f"symptom:mesh:{mesh}", kind="has_symptom", hsdn_cooccurs=3, hsdn_tfidf=tfidf)
    add_weights(graph)
    assert graph.edges[code, "symptom:mesh:D011141"]["weight"] == 1.0
    assert graph.edges[code, "symptom:mesh:D006943"]["weight"] == 0.25


def test_mesh_maps_give_in_force_categories_and_skip_ranges(tmp_path: Path):
    cm = tmp_path / "MESH_ICD10_Mapping.csv"
    cm.write_text("MESH_ID,ICD10CM_CODE\nMESH:D003924,E11.9\nMESH:D003924,E10-E14\nD001249,J45.909\nD000001,\n",
                  encoding="utf-8")
    who = tmp_path / "dict.txt"
    who.write_text("D006973;I10;Hypertension\nD003924;E11;Diabetes\nD009999;Z99;Unknown\n\n", encoding="utf-8")
    src = MkgSources(icd10=tmp_path / "icd.csv", mesh_icd10_cm=cm, mesh_icd10_who=who)
    mapping = mesh_to_categories(src, {"E11", "I10", "J45"})
    assert mapping == {"D003924": {"E11"}, "D001249": {"J45"}, "D006973": {"I10"}}
    assert mesh_to_categories(MkgSources(icd10=tmp_path / "icd.csv"), {"E11"}) == {}


def test_hsdn_pairs_sum_co_occurrences_and_keep_the_largest_tfidf_per_category():
    graph = nx.DiGraph()
    _icd(graph, "E10", "Инсулинозависимый сахарный диабет")
    _icd(graph, "E11", "Инсулиннезависимый сахарный диабет")
    pairs = [
        HsdnPair("Polyuria", "D011141", "Diabetes Mellitus", "D003920", 30, 0.5),
        HsdnPair("Polyuria", "D011141", "Diabetes Mellitus", "D003920", 10, 0.9),
        HsdnPair("Cough", "D003371", "Asthma", "D001249", 50, 2.0),  # a disease no category maps to
    ]
    added = add_hsdn(graph, pairs, {"D003920": {"E10", "E11"}})
    assert added == 4
    for code in ("E10", "E11"):
        edge = graph.edges[f"icd:{code}", "symptom:mesh:D011141"]
        assert (edge["hsdn_cooccurs"], edge["hsdn_tfidf"]) == (40, 0.9)
    assert graph.nodes["symptom:mesh:D011141"]["lang"] == "en" and "symptom:mesh:D003371" not in graph
    coverage = source_coverage(graph)
    assert coverage["hsdn"] == "2 categories with English symptoms" and coverage["notes"].startswith("0 ")
