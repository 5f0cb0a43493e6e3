"""The little syntax of a complaint (`builder/text/syntax.py`): clauses, comma pieces, what a far adjective
describes and how far a negation reaches. Tested here on the module's own functions; `test_matching_grammar.py`
tests the same rules through the matcher."""

import pytest

from medsyn.builder.text.morphology import lemma
from medsyn.builder.text.syntax import (
    Token,
    attached_nouns,
    clauses,
    governs,
    negated,
    opens_phrase,
    postposed,
    tokenize,
)


def _tokens(text: str) -> list[Token]:
    (offset, clause), = clauses(text)
    return tokenize(clause, offset)


def _negated(text: str, mention: str) -> bool:
    """Whether the words of `mention` (as written in `text`, lower case) are negated there, as the matcher asks."""
    tokens = _tokens(text)
    chosen = [i for i, tok in enumerate(tokens) if tok.word in mention.split()]
    assert len(chosen) == len(mention.split()), (text, mention)
    return negated(chosen, tokens, [lemma(tok.word) for tok in tokens])


def _attached(clause: str, adjective: str) -> list[str]:
    tokens = tokenize(clause, 0)
    forms = [tok.word for tok in tokens]
    return [forms[j] for j in attached_nouns(forms, [tok.piece for tok in tokens], forms.index(adjective))]


# --- clauses ----------------------------------------------------------------------------------------------------


def test_clauses_end_at_sentence_marks_and_keep_their_offsets():
    text = "Жалобы на кашель; насморк! Температура? Нет\nСлабость. Всё"
    found = clauses(text)
    expected = ["жалобы на кашель", "насморк", "температура", "нет", "слабость", "все"]
    assert [clause.strip() for _, clause in found] == expected
    assert all(text[offset : offset + len(clause)].lower().replace("ё", "е") == clause for offset, clause in found)


@pytest.mark.parametrize(
    "text",
    ["Боли в обл. сердца", "Боли в поясн. отд. позвоночника", "Нарушение м.цикла", "Отек л\\зап.суставе"],
)
def test_a_dot_that_closes_an_abbreviation_does_not_end_a_clause(text):
    assert len(clauses(text)) == 1


@pytest.mark.parametrize(
    "text",
    [
        "Боли в обл. Сердце в норме",  # a capital after the dot: a new sentence
        "Боли в области сердца. тошнота",  # a whole word before the dot, however the next begins
        "Плохо сна.эффекта от лечения нет",  # a known word of three letters glued to the next one
    ],
)
def test_a_dot_after_a_word_or_before_a_capital_ends_a_clause(text):
    assert len(clauses(text)) == 2


# --- tokens, comma pieces and list items ------------------------------------------------------------------------


def test_tokens_carry_offsets_in_the_text_and_a_slip_before_a_word_is_cut():
    text = "Кашель. Жалобы на ьболи в шее"
    offset, clause = clauses(text)[1]
    tokens = tokenize(clause, offset)
    assert [tok.word for tok in tokens] == ["жалобы", "на", "боли", "в", "шее"]
    assert all(text[tok.start : tok.end].lower() == tok.word for tok in tokens)


def test_a_new_complaint_after_a_comma_is_a_new_segment():
    tokens = tokenize("боли в шее, кашель", 0)
    assert [(tok.piece, tok.segment) for tok in tokens] == [(0, 0), (0, 0), (0, 0), (1, 1)]


@pytest.mark.parametrize(
    "clause",
    [
        "боли в шее, ноющие, периодические",  # no noun of its own
        "головные боли, жгучего характера",  # a descriptor phrase
        "боли в голове, в височной области",
        "снижение памяти, внимания, слуха",  # the head word left out before each genitive
        "боли в шее, появляются при движениях",  # the predicate of the complaint before it
    ],
)
def test_a_piece_that_only_goes_on_with_the_complaint_joins_its_segment(clause):
    tokens = tokenize(clause, 0)
    assert len({tok.piece for tok in tokens}) > 1
    assert {tok.segment for tok in tokens} == {0}


def test_dashes_and_bullets_separate_list_items_but_a_dash_after_a_number_does_not():
    items = [(tok.word, tok.item) for tok in tokenize("- слабость - одышка * кашель", 0)]
    assert items == [("слабость", 1), ("одышка", 2), ("кашель", 3)]
    assert {tok.piece for tok in tokenize("боль по ваш 8 - баллов", 0)} == {0}


# --- what a far adjective describes -----------------------------------------------------------------------------


def test_a_far_adjective_describes_the_complaint_it_agrees_with_not_a_place():
    clause = "боли в поясничном отделе позвоночника в покое, усиливаются при движении, острые"
    assert _attached(clause, "острые") == ["боли"]
    assert _attached("боль в животе, тошнота, сильная", "сильная") == ["тошнота"]  # the last one it agrees with
    assert _attached("головокружение, острые", "острые") == []  # agrees with nothing before it


def test_an_adjective_before_a_noun_it_agrees_with_describes_that_noun():
    assert _attached("головокружение, острые приступы", "острые") == []
    assert _attached("слабость, сухой кашель", "сухой") == []


def test_a_descriptor_phrase_describes_the_complaint_named_before_it():
    assert _attached("головные боли, жгучего характера", "жгучего") == ["боли"]
    assert _attached("боли в голове, в височной области", "височной") == ["боли"]
    assert _attached("боли в пояснице с иррадиацией, жгучего характера", "жгучего") == ["боли"]


def test_prepositional_objects_it_agrees_with_are_kept_as_candidates_on_the_way():
    assert _attached("боли в области сердца, пульсирующие", "пульсирующие") == ["сердца", "боли"]


@pytest.mark.parametrize(
    "clause", ["боли в пояснице с иррадиацией в паховую область", "боли в пояснице, иррадиируют в паховую область"]
)
def test_a_place_after_a_radiation_word_describes_nothing(clause):
    assert _attached(clause, "паховую") == []


def test_the_na_of_complaints_places_nothing():
    assert _attached("жалобы на кашель, сухой", "сухой") == ["кашель"]


# --- negation ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,mention",
    [
        ("Не отмечает тошноты", "тошноты"),
        ("Нет кашля", "кашля"),
        ("Тошноту отрицает", "тошноту"),
        ("Тошноты не отмечает", "тошноты"),
        ("Кашля нет", "кашля"),
        ("Болей в животе не отмечалось", "болей животе"),
        ("Температура не повышалась", "температура повышалась"),  # a cue between the words of the mention
        ("Аллергии отр", "аллергии"),  # "отр.": отрицает, written after what it negates
    ],
)
def test_negation_before_between_and_after_a_mention(text, mention):
    assert _negated(text, mention)


@pytest.mark.parametrize(
    "text,mention",
    [
        ("Боль не проходит", "боль"),  # a bare "не" after a mention negates its verb
        ("Тошнота, боли не проходят", "тошнота"),
        ("Головная боль, которая не проходит после анальгина", "головная боль"),  # a relative clause
        ("Боли, которые не купируются", "боли"),
        ("Кашель, без мокроты", "кашель"),  # the cue comes after it and negates what follows it
        ("Снижение аппетита, вялость, нет слез", "снижение аппетита"),  # "нет" opens a phrase of its own
        ("Жалоб нет температура нормальная", "температура"),  # "нет" after a noun negates that noun
        ("Кашель", "кашель"),
    ],
)
def test_what_is_not_a_negation_of_the_mention(text, mention):
    assert not _negated(text, mention)


@pytest.mark.parametrize(
    "text,mention,is_negated",
    [
        ("Без тошноты, рвоты", "рвоты", True),  # "без" wants the genitive: the list goes on
        ("Без повышения температуры, насморк", "насморк", False),  # a nominative starts a new item
        ("Отрицает кашель, насморк", "насморк", True),  # "отрицает" governs the accusative
        ("Не беспокоит кашель, насморк", "насморк", True),  # a transitive verb after "не" too
        ("Не болит горло, насморк", "насморк", False),  # an intransitive one does not
        ("Жалоб нет, кашель", "кашель", False),  # the "нет" of "Жалоб нет" negates what stands before it
    ],
)
def test_a_cue_in_an_earlier_comma_piece_reaches_as_far_as_its_case(text, mention, is_negated):
    assert _negated(text, mention) is is_negated


def test_governs_follows_the_case_a_cue_wants():
    assert governs("без", "тошноты", "рвоты")
    assert not governs("без", "температуры", "насморк")
    assert governs("отрицать", "кашель", "насморк")
    assert governs("не", "беспокоит", "насморк") and not governs("не", "болит", "насморк")


def test_postposed_and_opens_phrase():
    assert postposed(["жалоб", "нет"], 1, [0, 0])
    assert not postposed(["жалоб", "нет"], 1, [0, 1])  # another comma piece
    assert not postposed(["без", "нет"], 1, [0, 0])  # no noun before it
    assert opens_phrase("слез") and opens_phrase("сухой") and not opens_phrase("беспокоит")
