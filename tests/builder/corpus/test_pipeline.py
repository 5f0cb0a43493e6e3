"""The stages build, import and merge share (`builder/corpus/pipeline.py`), on small batches of rows."""

from __future__ import annotations

import copy
from collections import Counter

import pytest

from medsyn.builder.corpus import pipeline
from medsyn.builder.quality import filters

# Notes made up for the tests (no real note text). The first two differ by one word: near-duplicates at 0.7.
COUGH = ("Третий день беспокоит сухой кашель, насморк и першение в горле, температура до 37,5 по вечерам. "
         "Слабость, снижение аппетита. Контакт с больным ОРВИ на работе. Лекарства не принимал.")
COUGH_AGAIN = COUGH.replace("Третий", "Четвертый")
BACK = ("Боли в пояснице после подъема тяжести неделю назад, усиливаются при наклоне и к вечеру, отдают в левую "
        "ногу до колена. Спит плохо из-за боли. Мази помогают ненадолго.")
SHORT = "Кашель."
NAMED = BACK + " Осмотрел Сергеев Иван Петрович."
NO_NAMES = filters.FilterConfig(detect_person_names=False)


def row(id_: str, text: str, code: str = "J06", symptoms: list[str] | None = None) -> dict:
    """A row as build and import hand it to the stages: the generation columns, no scores yet."""
    return {
        "id": id_, "icd10_code": code, "icd10_name": None, "text": text, "example_id": None,
        "prior": {"symptoms": None if symptoms is None else [{"label": s, "weight": None} for s in symptoms]},
    }  # fmt: skip


@pytest.fixture
def scored(graph) -> list[dict]:
    rows = [row("a", COUGH, symptoms=["кашель", "насморк"]), row("b", COUGH_AGAIN, symptoms=["кашель"]),
            row("c", BACK, "M54", symptoms=["боль в пояснице"]), row("d", SHORT)]
    return pipeline.score(rows, graph, NO_NAMES)


def test_score_fills_every_score_and_the_filters_reasons(scored):
    by_id = {r["id"]: r for r in scored}
    assert by_id["a"]["symptom_recall"] == 1.0 and by_id["a"]["matched_symptoms"] == ["кашель", "насморк"]
    assert by_id["d"]["reject_reasons"] == [filters.TOO_SHORT] and by_id["d"]["n_words"] == 1
    assert all(r["cyrillic_share"] > 0.9 and r["bertscore_f1"] is None for r in scored)
    # No symptoms in the prior (an import without a symptoms column): nothing asked, nothing measured.
    assert by_id["d"]["symptom_recall"] is None and by_id["d"]["matched_symptoms"] is None
    assert by_id["d"]["semantic_symptom_recall"] is None


def test_a_near_duplicate_is_rejected_with_its_reason(scored):
    rows = pipeline.verdict(pipeline.near_duplicates(scored, NO_NAMES))
    by_id = {r["id"]: r for r in rows}
    assert by_id["b"]["near_duplicate_of"] == "a" and by_id["b"]["reject_reasons"] == [filters.NEAR_DUPLICATE]
    assert not by_id["b"]["keep"] and by_id["a"]["keep"] and by_id["a"]["near_duplicate_of"] is None
    assert by_id["c"]["keep"] and not by_id["d"]["keep"]
    counts = pipeline.count(rows)
    assert (counts.rows, counts.kept, counts.near_duplicates, counts.duplicates_only) == (4, 2, 1, 1)
    assert counts.filtered == 1 and counts.against_duplicates == 0
    assert counts.reject_reasons == Counter({filters.TOO_SHORT: 1, filters.NEAR_DUPLICATE: 1})


def test_a_duplicate_of_an_earlier_corpus_is_found_and_counted(scored):
    earlier = [("first", ["old-1", "old-2"], [BACK.replace("неделю", "две недели"), "Другая запись: зубная боль."])]
    rows = pipeline.verdict(pipeline.near_duplicates(scored, NO_NAMES, against=earlier))
    by_id = {r["id"]: r for r in rows}
    assert by_id["c"]["near_duplicate_of"] == "old-1" and not by_id["c"]["keep"]
    assert by_id["c"][pipeline.AGAINST_DUPLICATE] and not by_id["b"][pipeline.AGAINST_DUPLICATE]
    assert by_id["b"]["near_duplicate_of"] == "a"  # still found among the rows themselves
    counts = pipeline.count(rows)
    assert counts.near_duplicates == 2 and counts.against_duplicates == 1


def test_rows_already_marked_are_neither_marked_again_nor_compared(scored):
    """A merge reads rows their own corpus marked: they keep their mark, and no later note is called theirs."""
    first = copy.deepcopy(scored[0])
    first.update(near_duplicate_of="x-0", reject_reasons=[filters.NEAR_DUPLICATE])
    rows = pipeline.verdict(pipeline.near_duplicates([first, *scored[1:]], NO_NAMES))
    by_id = {r["id"]: r for r in rows}
    assert by_id["a"]["near_duplicate_of"] == "x-0" and by_id["a"]["reject_reasons"] == [filters.NEAR_DUPLICATE]
    assert by_id["b"]["near_duplicate_of"] is None and by_id["b"]["keep"]


def test_the_verdict_follows_the_reasons_of_every_stage():
    rows = [{"reject_reasons": []}, {"reject_reasons": [filters.LEAKAGE]}, {"reject_reasons": [filters.PERSON_NAME]}]
    assert [r["keep"] for r in pipeline.verdict(rows)] == [True, False, False]


def test_reasons_come_in_stage_order(graph):
    """The scorers' (the text filters', then person names'), then near-duplicates: the order build and import have
    always stored."""
    rows = [row("c", BACK, "M54", symptoms=["боль в пояснице"]), row("n", NAMED, "M54", symptoms=["кашель"])]
    config = filters.FilterConfig()
    rows = pipeline.score(rows, graph, config)
    rows = pipeline.verdict(pipeline.near_duplicates(rows, config))
    assert rows[1]["person_names"] == ["Сергеев Иван Петрович"] and rows[1]["near_duplicate_of"] == "c"
    assert rows[1]["reject_reasons"] == [filters.LOW_SYMPTOM_RECALL, filters.PERSON_NAME, filters.NEAR_DUPLICATE]
    assert rows[0]["keep"] and rows[0]["person_names"] == []


def test_a_stage_gives_each_row_the_same_result_in_any_batch(graph, scored):
    """What lets a per-note stage run batch by batch on a distributed engine: batches change nothing."""
    fresh = [{k: v for k, v in r.items() if k in ("id", "icd10_code", "icd10_name", "text", "example_id", "prior")}
             for r in scored]
    halves = [row for half in (fresh[:2], fresh[2:]) for row in pipeline.score(copy.deepcopy(half), graph, NO_NAMES)]
    assert halves == scored


def test_nothing_kept_names_the_reasons():
    rows = pipeline.verdict([{"near_duplicate_of": None, "reject_reasons": [filters.TOO_SHORT]}] * 3)
    error = pipeline.nothing_kept(pipeline.count(rows), "imported", "Loosen the filters.")
    assert str(error) == "all 3 imported notes were filtered out (too_short 3); nothing written. Loosen the filters."
