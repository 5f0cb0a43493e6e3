"""Typo look-ups (`builder/text/typos.py`): which lexicon word an unknown word may be a slip of, and when a slip
is too ambiguous or too short to count."""

import pytest

from medsyn.builder.text.matching import SymptomMatcher
from medsyn.builder.text.morphology import morph, parses
from medsyn.builder.text.typos import MIN_TYPO_LEN, TypoIndex, near_other_word, within_one_edit


def _forms(word: str) -> set[str]:
    return {form.word.replace("ё", "е") for form in parses(word)[0].lexeme}


@pytest.fixture(scope="module")
def index() -> TypoIndex:
    typos = TypoIndex()
    typos.add({"острый", "аппетит", "сонливость", "тошнота"})
    return typos


@pytest.mark.parametrize(
    "slip,form",
    [
        ("отсрые", "острые"),  # two neighbours swapped
        ("апетита", "аппетита"),  # a letter dropped
        ("сонливовсть", "сонливость"),  # a letter added
        ("тошнотта", "тошнота"),
        ("тошнотв", "тошнота"),  # a letter changed
    ],
)
def test_a_one_edit_slip_of_any_inflected_form_is_found(index, slip, form):
    assert form in index.near(slip)
    assert within_one_edit(slip, form)


def test_a_word_two_edits_away_is_no_candidate(index):
    assert not {form for form in index.near("апеттта") if within_one_edit("апеттта", form)}
    assert not index.near("кашель")


def test_within_one_edit_counts_a_swap_of_neighbours_as_one():
    assert within_one_edit("отсрые", "острые") and within_one_edit("рвота", "рвоат")
    assert not within_one_edit("рвота", "ротва")  # letters swapped across one between them: two edits
    assert not within_one_edit("остр", "острые")


def test_near_among_answers_only_for_the_named_words():
    typos = TypoIndex()
    typos.add({"сухой", "сухость"})
    assert "сухая" in typos.near("суххая", among={"сухой"})
    assert "сухая" not in typos.near("суххая", among={"сухость"})


def test_a_slip_also_one_edit_from_another_dictionary_word_is_ambiguous():
    острый = _forms("острый")
    assert near_other_word("остые", острый)  # "осты", "осте" are dictionary words too
    assert not near_other_word("отсрые", острый)  # only "острые" is that close
    assert near_other_word("отсрые", set())  # the lexicon's own forms are what makes it unambiguous


def test_a_changed_letter_is_not_tried_for_other_words():
    # "апатита" is one changed letter from "апетита": such words are too many to make every slip ambiguous
    assert morph().word_is_known("апатита") and within_one_edit("апетита", "апатита")
    assert not near_other_word("апетита", _forms("аппетит"))


def test_a_real_word_is_never_taken_for_a_typo():
    # "голодные" is one letter from "головные", and a word of its own ("голодные боли")
    matcher = SymptomMatcher(["головная боль"])
    assert matcher.present("Голодные боли по ночам.") == set()
    assert matcher.present("Голвоные боли по утрам.") == {"головная боль"}


def test_short_words_are_never_typos():
    typos = TypoIndex()
    typos.add({"сон", "зуд"})
    offered = set().union(*(typos.near(slip) for slip in ("сонн", "снаа", "сно", "зудд", "зу")))
    assert offered and min(map(len, offered)) >= MIN_TYPO_LEN - 1  # "сон", "сна", "зуд" are not indexed
    itch = SymptomMatcher(["зуд"])
    assert "зуда" in typos.near("зудд") and itch.present("зудд кожи") == set()  # a candidate, but a short word
    assert itch.present("зуд кожи") == {"зуд"}
    assert SymptomMatcher(["тошнота"]).present("тошнотта") == {"тошнота"}  # the same slip in a long word counts
