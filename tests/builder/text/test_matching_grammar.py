"""The matcher's grammar (`builder/text/syntax.py`): far modifiers, negation scope, clause ends, elided words, and the
typos and wordings added while tuning recall on the RuMedTop3 train markup. Texts are written here, not taken
from the data."""

import pytest

from medsyn.builder.text.matching import SymptomMatcher


def test_a_far_adjective_counts_where_it_agrees_with_the_head():
    matcher = SymptomMatcher(["острая боль", "пульсирующая боль", "боль жгучая", "приступообразная боль"])
    assert matcher.present("Боли в пояснице в покое, усиливаются при ходьбе, острые.") == {"острая боль"}
    assert matcher.present("Головные боли в лобной области в височной области, периодические пульсирующие.") == {
        "пульсирующая боль"
    }
    assert matcher.present("Боли в шее, иррадиирующие в плечо, жгучего характера.") == {"боль жгучая"}
    assert matcher.present("Головные боли, 2 раза в неделю, приступообразные.") == {"приступообразная боль"}
    # "острые" agrees with "приступы", a noun of its own that is no prepositional object: it describes that.
    assert matcher.present("Боли в животе, приступы кашля острые.") == set()
    # "приступообразный" is written next to "кашель": it describes the cough.
    assert matcher.present("Боли в груди, приступообразный кашель.") == set()
    # A negated modifier negates the mention.
    assert matcher.present("Боли в спине, не острые.") == set()


def test_a_place_after_a_radiation_word_is_not_where_the_pain_is():
    matcher = SymptomMatcher(["боль в паховой области", "головная боль в височной области"])
    assert matcher.present("Боли в пояснице при наклонах, с иррадиацией в паховую область.") == set()
    assert matcher.present("Головные боли по ВАШ 8 - баллов, в височной области.") == {
        "головная боль в височной области"
    }


@pytest.mark.parametrize(
    "text,label,present",
    [
        ("Кашель сухой, без повышения температуры, насморк по утрам.", "насморк", True),
        ("Без тошноты, рвоты.", "рвота", False),
        ("Температура не повышалась, потливость, слабость.", "потливость", True),
        ("Снижение аппетита, вялость, нет слез.", "снижение аппетита", True),
        ("Тошноты, рвоты не отмечалось.", "тошнота", False),
        ("Жалоб нет. Головной боли нет.", "головная боль", False),
        ("Отрицает боли в груди, одышку.", "одышка", False),
        ("Жалоб нет Хр. стресс на работе.", "стресс на работе", True),
    ],
)
def test_negation_reaches_as_far_as_its_case_does(text, label, present):
    assert (label in SymptomMatcher([label]).present(text)) is present


def test_abbreviation_dots_do_not_end_a_clause_but_sentence_dots_do():
    matcher = SymptomMatcher(["боль в области сердца", "нерегулярные менструации", "боль в шее"])
    assert matcher.present("Боли в обл. сердца при нагрузке.") == {"боль в области сердца"}
    assert matcher.present("Нерегулярность м.цикла с весны.") == {"нерегулярные менструации"}
    # A capital after the dot starts a new sentence: the negation before it stays there.
    assert matcher.present("Головные боли не беспокоят.Боли в шее по утрам.") == {"боль в шее"}


def test_elided_words_of_a_list_are_restored():
    matcher = SymptomMatcher(["снижение слуха", "боль в грудном отделе позвоночника", "люмбалгия"])
    assert matcher.present("Снижение памяти, внимания, слуха.") == {"снижение слуха"}
    assert matcher.present("Боли в шейном, грудном отделе позвоночника.") == {"боль в грудном отделе позвоночника"}
    assert matcher.present("Боли в шейном отделе позвоночника, грудном и поясничном отд. позвоночника.") == {
        "боль в грудном отделе позвоночника",
        "люмбалгия",
    }
    # A noun in another case is a new item, not an elided one.
    assert matcher.present("Снижение памяти, слух в норме.") == set()


def test_ambiguous_typos_count_only_next_to_the_labels_other_words():
    matcher = SymptomMatcher(["боль тупая", "стресс на работе", "острая боль", "усиление боли"])
    assert matcher.present("Боли тепые, периодические.") == {"боль тупая"}  # тупые, not теплые
    assert matcher.present("После стресса на работае.") == {"стресс на работе"}  # работе, not работает
    assert matcher.present("Боль в пояснице, остая, простреливающая.") == {"острая боль"}
    assert matcher.present("Края раны остые, боли в спине.") == set()
    assert matcher.present("За неделю услились боли.") == {"усиление боли"}  # a typo of a linked word


def test_wordings_added_from_general_usage():
    pairs = [
        ("боль в спине", "Боли в позвоночнике при наклонах."),
        ("задержка менструации", "Задержка месячных на неделю."),
        ("одышка при физической нагрузке", "Одышка смешанного характера при ФН."),
        ("чувство сдавления в груди", "Чувство сдавления в грудной клетке."),
        ("затруднение при ходьбе", "Сложности при ходьбе."),
        ("снижение концентрации внимания", "Снижение внимания к вечеру."),
        ("частый стул", "Учащенная дефекация."),
    ]
    for label, text in pairs:
        assert label in SymptomMatcher([label]).present(text), (label, text)


def test_miss_judgements_fixture_holds_verdicts_and_no_note_text():
    import csv
    import re
    from pathlib import Path

    path = Path(__file__).resolve().parents[3] / "benchmarks" / "data" / "matcher_miss_judgements.csv"
    with open(path, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    splits = [r["split"] for r in rows]
    assert splits.count("train") >= 200 and splits.count("dev") >= 100
    assert {r["verdict"] for r in rows} == {"stated", "not_stated"}
    assert all((r["reason"] == "paraphrase") == (r["verdict"] == "stated") for r in rows)
    assert {r["reason"] for r in rows} <= {"paraphrase", "negated", "other_site", "other_symptom", "modifier", "nothing"}
    assert all(re.fullmatch(r"q[0-9a-f]{7}", r["note_id"]) and len(r["label"]) <= 60 for r in rows)
