"""Person names: natasha's NER with medical eponyms, field labels and placeholders told apart, checked against
hand-judged MedSyn GPT-3.5 notes that were never used to tune the detector."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medsyn.builder.quality import filters
from medsyn.builder.quality.names import add_person_names, person_names

JUDGED = Path(__file__).resolve().parents[2] / "data" / "person_names_judged.json"


@pytest.mark.parametrize("text, expected", [
    ("Имя пациента: Андрей Иванов\nВозраст: 45 лет", ["Андрей Иванов"]),
    ("Ф.И.О: Иванова Ольга Петровна\nПол: женский", ["Иванова Ольга Петровна"]),
    ("Пациентка жалуется на боли. Врач: Петрова А.С.", ["Петрова А.С."]),
    ("Мужчина 45 лет, по имени Сергей, обратился с кашлем.", ["Сергей"]),
])  # fmt: skip
def test_names_of_patients_and_doctors_are_found(text, expected):
    assert person_names([text]) == [expected]


@pytest.mark.parametrize("text", [
    "Пол: мужской\nВозраст: 45 лет\nЖалобы: кашель, насморк.",
    "В семье случаи болезни Паркинсона и болезни Альцгеймера. Проба Манту отрицательная.",
    "Анализ мочи по Нечипоренко, симптом Ласега положительный, синдром Рейно в анамнезе.",
    "Имя пациента: [ФИО пациента]\nПол: [Пол]\nЦефалгия беспокоит по утрам.",
    "Пациент А., 45 лет, живет в г. Москва, ул. Пушкина. Уродинамика не нарушена.",
])  # fmt: skip
def test_eponyms_labels_placeholders_and_places_are_not_people(text):
    assert person_names([text]) == [[]]


def test_rows_get_the_column_and_the_reason_or_null_when_switched_off():
    rows = [{"text": "Имя пациента: Анна Смирнова. Жалобы на кашель.", "reject_reasons": []},
            {"text": "Жалобы на кашель и насморк три дня.", "reject_reasons": ["too_short"]}]  # fmt: skip
    add_person_names(rows, filters.FilterConfig())
    assert rows[0]["person_names"] == ["Анна Смирнова"] and rows[0]["reject_reasons"] == ["person_name"]
    assert rows[1]["person_names"] == [] and rows[1]["reject_reasons"] == ["too_short"]
    add_person_names(rows, filters.FilterConfig(detect_person_names=False))
    assert rows[0]["person_names"] is None


def test_build_and_import_take_the_switch_as_a_flag(tmp_path):
    from medsyn.cli import command_module

    build = command_module("build").parse(["--out", str(tmp_path / "b"), "--detect-person-names", "false"])
    assert build.filters.detect_person_names is False
    _, _, import_filters = command_module("import").parser().parse(
        ["notes.jsonl", "--out", str(tmp_path / "i"), "--preset", "medsyn", "--detect-person-names", "false"])
    assert import_filters.detect_person_names is False
    assert command_module("build").parse(["--out", str(tmp_path / "b")]).filters.detect_person_names is True


def test_hand_judged_held_out_notes(shared_data):
    """>= 95% of the held-out notes that name a person are flagged, <= 2% of those that do not."""
    judged = json.loads(JUDGED.read_text(encoding="utf-8"))["held_out"]
    texts = {}
    for path in sorted((shared_data / "medsyn_generated").glob("*/*.json")):
        for record in json.loads(path.read_text(encoding="utf-8")):
            if record["UID"] in judged:
                texts[record["UID"]] = record["response"].strip()
    assert set(texts) == set(judged)
    ids = list(judged)
    found = dict(zip(ids, person_names([texts[i] for i in ids])))
    named = [i for i in ids if judged[i]]
    unnamed = [i for i in ids if not judged[i]]
    assert len(named) >= 50 and len(unnamed) >= 50
    assert sum(bool(found[i]) for i in named) / len(named) >= 0.95
    assert sum(bool(found[i]) for i in unnamed) / len(unnamed) <= 0.02
