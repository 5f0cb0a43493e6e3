"""Diagnosis names and ICD-10 codes in a text (`builder/text/diagnosis_names.py`), on real МКБ-10 names.
`tests/builder/quality/test_filters.py` tests the leakage score built on them; these are the functions' own rules."""

import pytest

from medsyn.builder.text.diagnosis_names import _code_pattern, leaking_variants, mentions_diagnosis, name_variants
from medsyn.errors import MedsynError


@pytest.mark.parametrize(
    "name,variants",
    [
        # a bracket at the end is a synonym of the whole name
        ("Тиреотоксикоз [гипертиреоз]", ["тиреотоксикоз", "гипертиреоз"]),
        ("Стенокардия [грудная жаба]", ["стенокардия", "грудная жаба"]),
        # a one-adjective bracket replaces the word before it
        ("Эссенциальная [первичная] гипертензия", ["эссенциальная гипертензия", "первичная гипертензия"]),
        # a bracket followed by more words replaces the word before it
        (
            "Врожденные аномалии [пороки развития] сердечной перегородки",
            ["врожденные аномалии сердечной перегородки", "врожденные пороки развития сердечной перегородки"],
        ),
        # comma parts and "и" between nominatives are alternatives; course qualifiers are dropped
        ("Хронический ринит, назофарингит и фарингит", ["ринит", "назофарингит", "фарингит"]),
        ("Гастрит и дуоденит", ["гастрит", "дуоденит"]),
        # a genitive after "и" continues the noun before it; nothing to name before "и" keeps the name whole
        ("Камни почки и мочеточника", ["камни почки мочеточника"]),
        ("Вазомоторный и аллергический ринит", ["вазомоторный аллергический ринит"]),
        # generic words go; a part without a noun ("Обильные") names nothing
        ("Другие формы гипотиреоза", ["гипотиреоза"]),
        ("Обильные, частые и нерегулярные менструации", ["частые нерегулярные менструации"]),
        ("Острые инфекции верхних дыхательных путей множественной и неуточненной локализации",
         ["инфекции верхних дыхательных путей"]),
        # a generic head alone and a participle's narrowing part are left out; an abbreviation stands for the name
        (
            "Болезнь, вызванная вирусом иммунодефицита человека [ВИЧ], проявляющаяся в виде инфекционных и "
            "паразитарных болезней",
            ["вич"],
        ),
        ("Головная боль", ["головная боль"]),
    ],
)
def test_name_variants_of_real_icd10_names(name, variants):
    assert name_variants(name) == variants


def test_name_variants_fold_yo():
    assert name_variants("Отёк гортани") == name_variants("Отек гортани") == ["отек гортани"]


@pytest.mark.parametrize(
    "text",
    ["Диагноз: М54.2", "м54", "M 54", "шифр M54.16", "(M54)", "Код по МКБ M54."],  # М and м: Cyrillic letters
)
def test_code_pattern_finds_the_category_with_any_subcategory_and_lookalike_letters(text):
    assert _code_pattern("M54.2").search(text)


@pytest.mark.parametrize("text", ["M541", "AM54", "5M54", "M53", "Мм54", "вес 54 кг"])
def test_code_pattern_does_not_find_other_codes_or_numbers(text):
    assert not _code_pattern("M54").search(text)


@pytest.mark.parametrize(
    "code,text",
    [("K29", "Изжога беспокоит к 29 годам"), ("C20", "Курит с 20 лет"), ("B20", "Впервые в 20 лет"),
     ("O10", "Рассказала о 10 эпизодах")],
)
def test_a_preposition_before_a_number_is_no_code(code, text):
    """A one-letter Russian preposition or conjunction that looks like the code letter, then a space and a number,
    is lower case: no code ("к 29 годам" is not K29). Upper case with a space still is ("K 29")."""
    assert not _code_pattern(code).search(text)
    assert _code_pattern(code).search(text.upper())  # "К 29": an upper-case letter and a space still count


@pytest.mark.parametrize(
    "code,text", [("I10", "І10"), ("I10", "Ӏ10"), ("K29", "К29.7"), ("H10", "Н10"), ("J00", "j00")]
)
def test_every_lookalike_of_the_code_letter_counts(code, text):
    assert _code_pattern(code).search(text)


@pytest.mark.parametrize("code", ["54", "MM5", "M5", ""])
def test_a_malformed_code_is_refused_with_the_form_it_needs(code):
    with pytest.raises(MedsynError, match="letter \\+ two digits"):
        _code_pattern(code)


def test_leaking_variants_excuse_what_the_prompt_symptoms_gave_away():
    # one variant put together from several prompt symptoms
    assert leaking_variants("Боль в горле и в груди", ("боль в горле", "боль в груди")) == set()
    assert leaking_variants("Боль в горле и в груди", ("боль в горле",)) == {"боль горле груди"}
    assert leaking_variants("Гастрит и дуоденит", ("гастрит",)) == {"дуоденит"}
    assert leaking_variants("Головная боль", ("головная боль",)) == set()  # the prompt's own label
    assert leaking_variants("Головная боль", ("боль в голове",)) == {"головная боль"}  # another lemma: "головной"


def test_leaking_variants_excuse_a_real_complaint_of_the_code():
    assert leaking_variants("Тиреотоксикоз [гипертиреоз]", ("слабость",)) == {"тиреотоксикоз", "гипертиреоз"}
    assert leaking_variants("Тиреотоксикоз [гипертиреоз]", ("слабость",), ("гипертиреоз",)) == {"тиреотоксикоз"}
    assert leaking_variants("", ("слабость",)) == set()


@pytest.mark.parametrize(
    "text,named",
    [
        ("Обострение хронического гастрита.", True),  # a variant in another case
        ("Страдает дуоденитом.", True),
        ("Данных за гастрит нет.", True),  # negated, it still names the diagnosis
        ("Шифр К29.7", True),  # the code, with a Cyrillic К
        ("Боли в эпигастрии натощак, изжога.", False),
        ("Гастроэнтерит в детстве.", False),  # another diagnosis that shares letters, not the name
    ],
)
def test_mentions_diagnosis_by_code_or_name(text, named):
    assert mentions_diagnosis(text, "K29", "Гастрит и дуоденит") is named


def test_mentions_diagnosis_without_a_name_looks_for_the_code_only():
    assert mentions_diagnosis("Шифр K29", "K29", "")
    assert not mentions_diagnosis("Хронический гастрит", "K29", "")
