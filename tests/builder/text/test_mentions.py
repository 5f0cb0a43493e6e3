"""The lemma matcher (`builder/text/mentions.py`) the graph's evidence rule was tuned on: all content lemmas of a
label in one clause and a short window, in any order, with negation before and after the mention."""

import pytest

from medsyn.builder.text.mentions import LemmaMatcher

SPINE = "боль в шейном отделе позвоночника"


def _found(matcher: LemmaMatcher, text: str) -> list[tuple[str, str, bool]]:
    return [(m.label, text[m.start : m.end], m.negated) for m in matcher.mentions(text)]


@pytest.mark.parametrize(
    "text,span",
    [
        ("Боли в шейном отделе позвоночника.", "Боли в шейном отделе позвоночника"),
        ("Позвоночник, шейный отдел: боль.", "Позвоночник, шейный отдел: боль"),
        ("Жалобы на шейный отдел позвоночника, боль к вечеру", "шейный отдел позвоночника, боль"),
    ],
)
def test_a_label_matches_its_lemmas_in_any_order_inside_one_clause(text, span):
    assert _found(LemmaMatcher([SPINE]), text) == [(SPINE, span, False)]


def test_the_lemmas_must_stand_within_the_window():
    matcher = LemmaMatcher(["боль в шее"])  # two lemmas: a window of 2 x 2 + 1 = 5 tokens
    assert matcher.present("Боль отдает в шею.") == {"боль в шее"}
    assert matcher.present("Боль в правом плече, которая отдаёт в лопатку и кисть, а также немного в шею.") == set()


@pytest.mark.parametrize(
    "text", ["Боль в груди. Шея не беспокоит.", "Боль в груди; шея в норме.", "Боль в груди?\nШея.", "Боль! Шея."]
)
def test_a_label_is_not_put_together_across_a_sentence(text):
    assert LemmaMatcher(["боль в шее"]).mentions(text) == []


def test_labels_with_no_content_lemma_are_left_out():
    assert set(LemmaMatcher(["кашель", "в (на)"]).keys) == {"кашель"}


@pytest.mark.parametrize(
    "text",
    [
        "Не отмечает тошноты.",  # a cue before the mention
        "Без тошноты и рвоты.",
        "Нет тошноты.",
        "Тошноту отрицает.",  # after it
        "Тошноты нет.",
        "Тошноты не отмечает.",  # a bare "не" after it counts before a verb of reporting
        "Тошнота отсутствует.",
    ],
)
def test_negation_before_and_after_the_mention(text):
    matcher = LemmaMatcher(["тошнота"])
    assert [m.negated for m in matcher.mentions(text)] == [True]
    assert matcher.present(text) == set()


@pytest.mark.parametrize("text", ["Боль в шее не проходит.", "Боль в шее, не может повернуть голову."])
def test_a_bare_ne_after_a_mention_negates_something_else(text):
    assert LemmaMatcher(["боль в шее"]).present(text) == {"боль в шее"}


def test_negation_does_not_reach_past_its_window_or_its_clause():
    matcher = LemmaMatcher(["кашель"])
    assert matcher.present("Не было температуры, сильной слабости и озноба, кашель.") == {"кашель"}
    assert matcher.present("Температуры нет. Кашель.") == {"кашель"}


def test_present_drops_only_labels_negated_everywhere():
    matcher = LemmaMatcher(["тошнота", "рвота"])
    text = "Утром тошноты нет, рвоты нет. К вечеру тошнота."
    assert {(label, negated) for label, _, negated in _found(matcher, text)} == {
        ("тошнота", True), ("рвота", True), ("тошнота", False)
    }
    assert matcher.present(text) == {"тошнота"}


def test_mentions_come_in_text_order_with_their_offsets():
    matcher = LemmaMatcher(["кашель", "головная боль", "насморк"])
    text = "Насморк; головная боль, кашель."
    assert [(text[m.start : m.end], m.label) for m in matcher.mentions(text)] == [
        ("Насморк", "насморк"), ("головная боль", "головная боль"), ("кашель", "кашель")
    ]
