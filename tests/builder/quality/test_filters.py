"""Scores, verdicts and near-duplicate removal of generated notes (builder/quality/filters.py).

All note texts here are written for the tests; none comes from a real patient.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medsyn.builder.quality.filters import (
    COPYING,
    LEAKAGE,
    LOW_SYMPTOM_RECALL,
    NOT_RUSSIAN,
    TOO_LONG,
    TOO_SHORT,
    FilterConfig,
    cyrillic_share,
    reject_reasons,
    score_note,
)
from medsyn.builder.quality.dedup import near_duplicates
from medsyn.builder.text.diagnosis_names import mentions_diagnosis, name_variants
from medsyn.errors import MedsynError

NECK = "боль в шейном отделе позвоночника"
SYMPTOMS = [NECK, "тошнота", "головокружение"]


def score(text, symptoms=SYMPTOMS, code="M54", name="Дорсалгия", example=None):
    return score_note(text, symptoms, code, name, example)


# --- symptom recall ----------------------------------------------------------------------------------------------


def test_recall_matches_inflected_mentions():
    s = score("Жалобы на боли в шейном отделе позвоночника, частые головокружения и тошноту по утрам.")
    assert s.symptom_recall == 1.0
    assert s.matched_symptoms == SYMPTOMS  # in prompt order


def test_negated_mention_is_not_recall():
    s = score("Беспокоят боли в шейном отделе позвоночника. Не отмечает тошноты, отрицает головокружение.")
    assert s.matched_symptoms == [NECK]
    assert s.symptom_recall == pytest.approx(1 / 3)
    assert LOW_SYMPTOM_RECALL in reject_reasons(s, FilterConfig())


def test_recall_without_symptoms_is_vacuous():
    assert score("Пациент без жалоб, пришёл на плановый осмотр.", symptoms=[]).symptom_recall == 1.0


# --- leakage -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["Диагноз M54.", "Шифр по МКБ: М54.2 (кириллица).", "код m54", "dx: M 54"])
def test_code_leaks_in_latin_and_cyrillic_letters(text):
    assert score(text).leakage


@pytest.mark.parametrize("text", ["Вес 54 кг, рост 170 см.", "Исключить M541 и M53.", "Палата AM54."])
def test_other_codes_and_numbers_do_not_leak(text):
    assert not score(text).leakage


@pytest.mark.parametrize("text", ["Страдает дорсалгией много лет.", "Признаки ДОРСАЛГИИ.", "дорсалгия"])
def test_single_word_name_leaks_in_any_case(text):
    assert score(text).leakage


def test_multiword_name_leaks_in_another_case_and_generic_words_are_ignored():
    assert score("Ранее выявлена железодефицитной анемией?", code="D50", name="Железодефицитная анемия").leakage
    assert score("Наблюдается по поводу железодефицитной анемии.", code="D50", name="Железодефицитная анемия").leakage
    assert not score("Анемии в анамнезе нет, гемоглобин в норме.", code="D50", name="Железодефицитная анемия").leakage
    hypo = dict(code="E03", name="Другие формы гипотиреоза")
    assert score("Длительно лечится от гипотиреоза.", **hypo).leakage
    assert not score("Другие формы лечения не применялись.", **hypo).leakage
    # "не классифицированные в других рубриках" is boilerplate, not a diagnosis
    assert name_variants("Другие дорсопатии, не классифицированные в других рубриках") == ["дорсопатии"]


def test_negated_name_still_leaks():
    assert score("Данных за пневмонию нет.", code="J18", name="Пневмония без уточнения возбудителя").leakage


def test_name_part_that_is_a_prompt_symptom_is_not_leakage():
    j00 = dict(code="J00", name="Острый назофарингит [насморк]")
    assert not score("Третий день беспокоит насморк и заложенность.", symptoms=["насморк"], **j00).leakage
    assert score("Третий день беспокоит насморк и заложенность.", symptoms=["кашель"], **j00).leakage
    assert score("Насморк, по-видимому острый назофарингит.", symptoms=["насморк"], **j00).leakage


def test_mentions_diagnosis_checks_examples_without_symptom_excuses():
    j00 = ("J00", "Острый назофарингит [насморк]")
    assert mentions_diagnosis("Беспокоит насморк.", *j00)
    assert mentions_diagnosis("Шифр J00.", *j00)
    assert not mentions_diagnosis("Беспокоит кашель и першение в горле.", *j00)


def test_clean_note_passes_every_filter():
    text = (
        "Пациентка 46 лет обратилась с жалобами на боли в шейном отделе позвоночника, усиливающиеся к вечеру, "
        "и периодическое головокружение при поворотах головы. Отрицает тошноту. Симптомы беспокоят около двух "
        "недель, появились после длительной работы за компьютером. Объективно: состояние удовлетворительное, "
        "движения в шее ограничены из-за боли, давление 130/85."
    )
    s = score(text)
    assert not s.leakage
    assert s.symptom_recall == pytest.approx(2 / 3)
    assert reject_reasons(s, FilterConfig()) == []


# --- copying from the style example ---------------------------------------------------------------------------

EXAMPLE = (
    "Жалуется на давящие боли за грудиной при подъёме на второй этаж, проходящие в покое через пять минут. "
    "Около месяца отмечает одышку при быстрой ходьбе."
)


def test_long_span_copied_from_example_is_detected():
    note = (
        "Пациент 60 лет. Со слов, давящие боли за грудиной при подъёме на второй этаж, проходящие в покое через "
        "пять минут, беспокоят давно. Курит."
    )
    s = score(note, example=EXAMPLE)
    assert s.example_longest_ngram == 15
    assert 0.4 < s.example_overlap < 1.0
    assert COPYING in reject_reasons(s, FilterConfig())


def test_short_common_phrase_is_not_copying():
    note = "Около месяца беспокоят головные боли в затылке, чаще утром; давление не измеряла."
    s = score(note, example=EXAMPLE)
    assert s.example_longest_ngram == 2  # "около месяца"
    assert s.example_overlap == 0.0
    assert COPYING not in reject_reasons(s, FilterConfig())


def test_no_example_means_no_copying():
    s = score(EXAMPLE, example=None)
    assert (s.example_overlap, s.example_longest_ngram) == (0.0, 0)
    whole = score(EXAMPLE, example=EXAMPLE)
    assert whole.example_overlap == 1.0 and whole.example_longest_ngram == whole.n_words


# --- language and length --------------------------------------------------------------------------------------


def test_cyrillic_share():
    assert cyrillic_share("Боль в шее") == 1.0
    assert cyrillic_share("Neck pain for two weeks") == 0.0
    assert cyrillic_share("Приём: ibuprofen") == pytest.approx(5 / 14)
    assert cyrillic_share("120/80 !!!") == 0.0
    english = score("The patient complains of neck pain and dizziness for two weeks, no nausea at all today.")
    assert NOT_RUSSIAN in reject_reasons(english, FilterConfig())


def test_length_bounds():
    config = FilterConfig(min_words=5, max_words=10)
    assert score("Боль в шее.").n_words == 3
    assert TOO_SHORT in reject_reasons(score("Боль в шее."), config)
    assert reject_reasons(score("Боль в шейном отделе позвоночника и тошнота, головокружение."), config) == []
    long = score("Боль в шейном отделе позвоночника, тошнота и головокружение беспокоят пациента уже неделю.")
    assert reject_reasons(long, config) == [TOO_LONG]


def test_reasons_are_listed_in_a_stable_order():
    s = score("Diagnosis M54.", example="Diagnosis M54.")
    assert reject_reasons(s, FilterConfig(max_example_longest_ngram=1)) == [
        LOW_SYMPTOM_RECALL, LEAKAGE, COPYING, NOT_RUSSIAN, TOO_SHORT,
    ]  # fmt: skip


def test_bad_settings_and_codes_are_refused():
    with pytest.raises(MedsynError, match="dedup_threshold"):
        FilterConfig(dedup_threshold=1.5)
    with pytest.raises(MedsynError, match="min_words"):
        FilterConfig(min_words=50, max_words=10)
    with pytest.raises(MedsynError, match="M5"):
        score("текст", code="M5")


# --- near duplicates ------------------------------------------------------------------------------------------

VOCAB = (
    "боль шея спина голова тошнота слабость кашель насморк температура давление утро вечер неделя месяц "
    "усиливается проходит после нагрузки покоя ходьбы сон аппетит стул диурез отёки одышка сердцебиение "
    "головокружение потливость озноб жжение зуд сыпь онемение покалывание ломота скованность хромота"
).split()


def corpus(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(VOCAB) for _ in range(80)) for _ in range(n)]


def edit(text: str, changes: int, seed: int = 1) -> str:
    rng = random.Random(seed)
    tokens = text.split()
    for _ in range(changes):
        tokens[rng.randrange(len(tokens))] = "изменено"
    return " ".join(tokens)


def test_lightly_edited_note_is_a_near_duplicate_and_unrelated_notes_are_not():
    texts = corpus(40)
    texts.append(edit(texts[7], 2))
    ids = [f"n{i}" for i in range(len(texts))]
    assert near_duplicates(ids, texts, FilterConfig()) == {"n40": "n7"}


def test_order_decides_which_note_is_kept_and_reruns_agree():
    texts = corpus(20)
    copy = edit(texts[3], 2)
    ids = ["copy", *[f"n{i}" for i in range(20)]]
    result = near_duplicates(ids, [copy, *texts], FilterConfig())
    assert result == {"n3": "copy"}
    assert near_duplicates(ids, [copy, *texts], FilterConfig()) == result


def test_duplicates_point_to_kept_notes_only():
    base = corpus(1)[0]
    texts = [base, edit(base, 2, seed=1), edit(base, 2, seed=2), base]
    result = near_duplicates(["a", "b", "c", "d"], texts, FilterConfig())
    assert result == {"b": "a", "c": "a", "d": "a"}


def test_threshold_is_respected():
    base = corpus(1)[0]
    heavily = edit(base, 30)
    assert near_duplicates(["a", "b"], [base, heavily], FilterConfig()) == {}
    assert near_duplicates(["a", "b"], [base, heavily], FilterConfig(dedup_threshold=0.15)) == {"b": "a"}


def test_band_candidates_are_those_of_datasketch_minhash_lsh():
    """`dedup` looks bands up in its own dicts for speed: a note must be a candidate of exactly the notes that
    datasketch's MinHashLSH, with the same bands and rows, would return for it."""
    from datasketch import MinHash, MinHashLSH

    from medsyn.builder.quality import dedup

    texts = corpus(60, seed=5)
    texts += [edit(texts[i], changes, seed=i) for i, changes in [(1, 1), (2, 3), (3, 8), (4, 15), (5, 25)]]
    config = FilterConfig(dedup_threshold=0.5)
    sets = [dedup.shingles(text, config.shingle_size) for text in texts]
    signatures = dedup.signature_matrix(sets, config)
    bands, rows = dedup.lsh_bands(config.dedup_threshold, config.num_perm)
    keys = dedup.band_keys(signatures, bands, rows)
    lsh = MinHashLSH(num_perm=config.num_perm, params=(bands, rows))
    sketches = list(MinHash.generator((s.tolist() for s in sets), num_perm=config.num_perm, seed=config.minhash_seed,
                                      hashfunc=dedup._identity))
    assert all((sketch.hashvalues == row).all() for sketch, row in zip(sketches, signatures))
    for index, sketch in enumerate(sketches):
        lsh.insert(index, sketch)
    pairs = 0
    for index, sketch in enumerate(sketches):
        ours = {other for other in range(len(texts)) if (keys[other] == keys[index]).any()}
        assert ours == set(lsh.query(sketch)), index
        pairs += len(ours) - 1
    assert pairs >= 2 * 4  # the edited copies did share bands with their originals


def test_mismatched_inputs_are_refused():
    with pytest.raises(ValueError, match="unique"):
        near_duplicates(["a", "a"], ["x", "y"], FilterConfig())
    with pytest.raises(ValueError, match="texts"):
        near_duplicates(["a"], ["x", "y"], FilterConfig())


# --- properties -----------------------------------------------------------------------------------------------

russian_words = st.lists(st.sampled_from(VOCAB + ["не", "и", "в", "M54", "hello", "12", "."]), max_size=60)


@settings(max_examples=60, deadline=None)
@given(words=russian_words, example=st.one_of(st.none(), russian_words))
def test_scores_stay_in_range(words, example):
    text = " ".join(words)
    s = score_note(text, ["тошнота", "боль в шее"], "M54", "Дорсалгия", " ".join(example) if example else None)
    assert 0.0 <= s.symptom_recall <= 1.0
    assert set(s.matched_symptoms) <= {"тошнота", "боль в шее"}
    assert 0.0 <= s.cyrillic_share <= 1.0
    assert 0.0 <= s.example_overlap <= 1.0
    assert 0 <= s.example_longest_ngram <= s.n_words
    assert s.leakage == ("M54" in words)


@settings(max_examples=30, deadline=None)
@given(picks=st.lists(st.integers(0, 5), min_size=1, max_size=12))
def test_dedup_maps_later_notes_to_earlier_kept_ones(picks):
    pool = corpus(6, seed=3)
    ids = [f"n{i}" for i in range(len(picks))]
    result = near_duplicates(ids, [pool[p] for p in picks], FilterConfig())
    first = {}
    for note_id, p in zip(ids, picks):
        first.setdefault(p, note_id)
    assert result == {note_id: first[p] for note_id, p in zip(ids, picks) if first[p] != note_id}


# --- BERTScore ------------------------------------------------------------------------------------------------


def test_bertscore_with_a_local_model(tmp_path, monkeypatch):
    from medsyn.builder.quality.filters import bertscore
    from tests.tiny_models import make_tiny_llama

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    model = make_tiny_llama(tmp_path / "model")
    same = "Боль в шейном отделе позвоночника."
    p, r, f = bertscore([same, same], [same, "Отмечает повышение температуры тела, насморк и кашель."], str(model))
    assert p[0] == pytest.approx(1.0, abs=1e-5) and r[0] == pytest.approx(1.0, abs=1e-5)
    assert f[1] < f[0]
    assert all(-1.0 <= x <= 1.0 for x in p + r + f)
    with pytest.raises(MedsynError, match="local encoder"):
        bertscore([same], [same], str(tmp_path / "missing"))


def test_leakage_counts_only_name_parts_that_name_a_diagnosis():
    """Calibrated on MedSyn's GPT-3.5 notes (issue 16): a comma part that is a site continues the name's head, a
    generic head alone, a name the prompt spelt out and a real complaint word of the code are not leaks."""
    from medsyn.builder.text.diagnosis_names import leaking_variants, name_variants

    variants = name_variants("Доброкачественное новообразование ободочной кишки, прямой кишки")
    assert "прямой кишки" not in variants and "доброкачественное новообразование прямой кишки" in variants
    assert name_variants("Инфекции, вызванные вирусом герпеса") == []  # "инфекции" alone names nothing
    hearing = ("потеря слуха кондуктивная", "нейросенсорная потеря слуха")
    assert leaking_variants("Кондуктивная и нейросенсорная потеря слуха", hearing) == set()
    assert leaking_variants("Кондуктивная и нейросенсорная потеря слуха", ("кашель",)) != set()
    j00 = ("Третий день беспокоит насморк и заложенность носа.", ["кашель"], "J00", "Острый назофарингит [насморк]")
    assert score_note(*j00).leakage  # without the code's complaints "насморк" still names J00
    assert not score_note(*j00, complaints=("насморк", "кашель")).leakage
    assert score_note("Диагноз: назофарингит.", *j00[1:], complaints=("насморк",)).leakage
