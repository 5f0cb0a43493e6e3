"""Prior sampling: reproducible, batch-size invariant, faithful to the graph and to sex-specific codes."""

from __future__ import annotations

import json
import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medsyn.builder.generate import demographics
from medsyn.builder.generate.demographics import draw_demographics
from medsyn.builder.generate.sampling import PriorSampler, SamplingConfig, j3, sample_priors, uniforms
from medsyn.builder.kg import evidence
from medsyn.cli import main
from medsyn.errors import MedsynError


def test_same_seed_same_priors_whatever_the_batch_size(graph):
    sampler = PriorSampler(graph)
    whole = list(sampler.sample(300, seed=7, batch_size=300))
    assert list(sampler.sample(300, seed=7, batch_size=13)) == whole
    assert list(sampler.sample(100, seed=7, start=200, batch_size=9)) == whole[200:]
    assert list(sampler.sample(300, seed=8)) != whole


def test_uniforms_are_uniform_and_independent_of_shape():
    u = uniforms(3, np.arange(20000, dtype=np.uint64), 0)
    assert 0 <= u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.01
    grid = uniforms(3, np.arange(10, dtype=np.uint64)[:, None], np.arange(4)[None, :])
    assert np.array_equal(grid[:, 0], u[:10])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 2**40),
    k_min=st.integers(1, 4),
    extra=st.integers(0, 4),
    codes=st.lists(st.sampled_from(["M54", "N40", "N76", "O23", "J06", "I10", "K29", "E11", "G43"]), min_size=1, max_size=4),
    strategy=st.sampled_from(["uniform", "frequency", "budget"]),
)
def test_priors_respect_the_graph_property(graph, seed, k_min, extra, codes, strategy):
    available = [code for code in codes if code in graph.codes_with_symptoms]
    if not available:
        return
    config = SamplingConfig(code_strategy=strategy, k_min=k_min, k_max=k_min + extra, codes=tuple(available))
    for prior in PriorSampler(graph, config).sample(25, seed):
        linked = {link.label: link.weight for link in graph.symptoms(prior.icd10_code)}
        labels = [s.label for s in prior.symptoms]
        assert prior.icd10_code in available
        assert set(labels) <= set(linked) and len(labels) == len(set(labels))
        assert min(k_min, len(linked)) <= len(labels) <= min(k_min + extra, len(linked))
        assert all(math.isclose(s.weight, linked[s.label]) for s in prior.symptoms)
        limit = graph.node(prior.icd10_code).get("sex")
        assert limit is None or prior.sex == limit
        assert not (prior.smoking and prior.age < 16)
        assert prior.icd10_name == graph.name(prior.icd10_code)


def test_sex_specific_codes_never_get_the_other_sex(graph):
    priors = sample_priors(graph, 400, 1, codes=["N40", "N76", "O26"] if "O26" in graph.codes_with_symptoms else ["N40", "N76"])
    by_code = {code: Counter(p.sex for p in priors if p.icd10_code == code) for code in {p.icd10_code for p in priors}}
    assert set(by_code["N40"]) == {"male"} and set(by_code["N76"]) == {"female"}


def test_the_default_temperature_is_the_one_the_evidence_weights_are_made_for():
    # One constant, not a copy: the weights of codes without notes assume the draw runs at `evidence.T0`.
    assert SamplingConfig().symptom_temperature is evidence.T0


def test_first_symptom_follows_softmax_of_weights(graph):
    t = 0.1
    priors = sample_priors(graph, 6000, 11, SamplingConfig(k_min=1, k_max=1, symptom_temperature=t), codes=["M54"])
    weights = {link.label: link.weight for link in graph.symptoms("M54")}
    logits = np.array(list(weights.values())) / t
    expected = dict(zip(weights, np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()))
    seen = Counter(p.symptoms[0].label for p in priors)
    for label in sorted(expected, key=expected.get, reverse=True)[:3]:
        share = seen[label] / len(priors)
        sd = math.sqrt(expected[label] * (1 - expected[label]) / len(priors))
        assert abs(share - expected[label]) < 5 * sd + 1e-3, label


def test_code_strategies(graph):
    freq = Counter(p.icd10_code for p in sample_priors(graph, 5000, 2, SamplingConfig(code_strategy="frequency")))
    budget = Counter(p.icd10_code for p in sample_priors(graph, 5000, 2, SamplingConfig(code_strategy="budget")))
    # M54 has 560 real notes, the rarest codes 11: frequency favours it far more than the damped budget does.
    assert freq["M54"] > 3 * budget["M54"]
    assert j3(0) == 0 and j3(10) < j3(100) < 1.3


def test_smoking_and_demographic_shares(graph, monkeypatch):
    priors = sample_priors(graph, 8000, 5)
    men = [p for p in priors if p.sex == "male"]
    women = [p for p in priors if p.sex == "female"]
    assert abs(sum(p.smoking for p in men) / len(men) - 0.346) < 0.04
    assert abs(sum(p.smoking for p in women) / len(women) - 0.083) < 0.03
    assert all(18 <= p.age <= 95 for p in priors)
    young = ((10, 15, 100, 100), (16, 17, 100, 100))
    monkeypatch.setattr(demographics, "AGE_SEX_TABLE", young)
    draws = [draw_demographics((u / 100, (u * 7 % 100) / 100, 0.5, 0.0)) for u in range(100)]
    assert any(d.age < 16 for d in draws) and not any(d.smoking and d.age < 16 for d in draws)
    assert any(d.smoking for d in draws if d.age >= 16)


def test_unknown_and_symptomless_codes_are_clear_errors(graph):
    with pytest.raises(MedsynError, match="close matches: .*M54"):
        PriorSampler(graph, SamplingConfig(codes=("M5",)))
    with pytest.raises(MedsynError, match="no Russian symptoms"):
        PriorSampler(graph, SamplingConfig(codes=("A00",)))
    with pytest.raises(MedsynError, match="k_min"):
        PriorSampler(graph, SamplingConfig(k_min=4, k_max=2))


def test_cli_sample_writes_reproducible_jsonl(tmp_path, capsys):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    assert main(["sample", "--n", "50", "--seed", "3", "--codes", "M54,N40", "--out", str(a)]) == 0
    assert main(["sample", "--n", "50", "--seed", "3", "--codes", "M54", "N40", "--out", str(b)]) == 0
    assert a.read_bytes() == b.read_bytes()
    records = [json.loads(line) for line in a.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 50
    required = {"id", "icd10_code", "icd10_name", "symptoms", "sex", "age", "marital_status", "smoking"}
    assert all(required <= set(r) and r["sex"] in {"male", "female"} for r in records)
    assert all({"label", "weight"} == set(s) for r in records for s in r["symptoms"])
    assert main(["sample", "--n", "5", "--codes", "Q99.9X", "--out", str(tmp_path / "c.jsonl")]) == 2
    assert "unknown ICD-10 code" in capsys.readouterr().err and not (tmp_path / "c.jsonl").exists()


def test_prior_to_dict_is_asdict_and_round_trips(graph):
    """`to_dict` is written by hand for speed: it must stay what `asdict` gives, every field included."""
    from dataclasses import asdict

    from medsyn.builder.generate.sampling import Prior

    for prior in sample_priors(graph, 20, seed=3):
        assert prior.to_dict() == asdict(prior)
        assert Prior.from_dict(prior.to_dict()) == prior


# -- issue 22: coherent symptom sets for codes without real notes ------------------------------------------------


def _codes_without_notes(graph) -> list[str]:
    return [code for code in graph.codes_with_symptoms if not graph.node(code).get("n_notes")]


def test_codes_without_notes_draw_only_coherent_sets_one_per_head_noun(graph):
    """Every drawn label of a code without real notes passes `coherence.py`'s rules (a complaint of the code's
    body system), and no two share a head noun; before the rule K59 drew "энкопрез, радикулит, глухота"."""
    from medsyn.builder.kg.coherence import Coherence
    from medsyn.builder.text.symptom_concepts import head_lemma

    rules = Coherence(graph)
    codes = _codes_without_notes(graph)
    allowed = {code: {label for label, ok in zip([l.label for l in graph.symptoms(code)],
                                                 rules.candidates(code, [l.label for l in graph.symptoms(code)]).allowed)
                      if ok} for code in codes}
    for prior in sample_priors(graph, 3000, seed=5, codes=codes):
        labels = [s.label for s in prior.symptoms]
        assert labels, prior.icd10_code
        if len(allowed[prior.icd10_code]) > 0:
            assert set(labels) <= allowed[prior.icd10_code], (prior.icd10_code, labels)
        heads = [head_lemma(label) for label in labels]
        assert len(heads) == len(set(heads)), (prior.icd10_code, labels)
    k59 = {s.label for p in sample_priors(graph, 300, seed=1, codes=["K59"]) for s in p.symptoms}
    assert "запор" in k59 and not k59 & {"глухота", "радикулит", "энкопрез", "умственная отсталость", "кома"}


def test_no_diagnosis_name_is_drawn_as_a_complaint(graph):
    """Diagnosis names ("стенокардия", "острый коронарный синдром", "синдром хорнера", "ожирение") are found from
    the ICD-10 names and never drawn for a code without real notes, while complaints named like an ICD-10 code
    ("запор", K59.0 Запор) stay."""
    from medsyn.builder.kg.coherence import Coherence

    rules = Coherence(graph)
    for label in ("стенокардия", "нестабильная стенокардия", "синдром хорнера", "синдром корсакова", "ожирение",
                  "надъядерный паралич прогрессирующий", "пурпура тромбоцитопеническая идиопатическая"):
        assert rules.is_diagnosis(label), label
    for label in ("запор", "кашель", "головная боль", "боль в ухе", "шум в ушах", "одышка", "тошнота"):
        assert not rules.is_diagnosis(label), label
    drawn = {s.label for p in sample_priors(graph, 3000, seed=9, codes=_codes_without_notes(graph)) for s in p.symptoms}
    assert not {label for label in drawn if rules.is_diagnosis(label)}
    assert not drawn & {"острый коронарный синдром", "стенокардия", "синдром хорнера", "ожирение"}


def test_codes_with_real_notes_draw_as_before_but_for_list_only_diagnoses(graph):
    """Codes with real notes keep their draw (the same Gumbel order), only a list-only label that names a diagnosis
    is skipped: the quickstart's G20 note ended with "надъядерный паралич прогрессирующий"."""
    from medsyn.builder.kg.coherence import Coherence

    rules = Coherence(graph)
    sampler = PriorSampler(graph, SamplingConfig(codes=("G20", "M54", "J06")))
    plain = {link.label for link in graph.symptoms("G20") if link.notes == 0 and rules.is_diagnosis(link.label)}
    assert "надъядерный паралич прогрессирующий" in plain
    drawn = [prior for prior in sampler.sample(1000, seed=3)]
    assert not {s.label for p in drawn if p.icd10_code == "G20" for s in p.symptoms} & plain
    real = {link.label for code in ("M54", "J06") for link in graph.symptoms(code) if link.notes > 0}
    assert any(s.label in real for p in drawn for s in p.symptoms)


def test_symptoms_of_one_sex_organs_fix_the_patients_sex(graph):
    """B37 candidiasis is a code of both sexes, but a man of 90 complained of "зуд во влагалище": a drawn label
    naming a vagina (or a scrotum) makes the patient a woman (a man); other B37 notes keep both sexes."""
    from medsyn.builder.text.symptom_concepts import implied_sex

    assert implied_sex("ощущения зуда и раздражения во влагалище и вульве") == "female"
    assert implied_sex("(боли в яичках)") == "male" and implied_sex("увеличение яичников") == "female"
    assert implied_sex("боль внизу живота") is None
    priors = sample_priors(graph, 400, 3, codes=["B37"])
    sexes = Counter(p.sex for p in priors if not any(implied_sex(s.label) for s in p.symptoms))
    assert set(sexes) == {"male", "female"}
    for p in priors:
        named = {implied_sex(s.label) for s in p.symptoms} - {None}
        assert named <= {p.sex}, (p.sex, [s.label for s in p.symptoms])
    assert any(implied_sex(s.label) for p in priors for s in p.symptoms)


def test_menstruation_and_menopause_fix_the_patients_age(graph):
    """An 86-year-old with "кровянистые выделения в периоды между менструациями" read as absurd: a label about
    menstruation keeps the woman at most 52, one about the menopause at least 45."""
    from medsyn.builder.text.symptom_concepts import implied_ages

    assert implied_ages("межменструальные кровянистые выделения") == (0, 52)
    assert implied_ages("кровянистые выделения из половых путей после наступления менопаузы") == (45, 200)
    priors = sample_priors(graph, 400, 5, codes=["C54"])
    told = [p for p in priors if any(implied_ages(s.label) != (0, 200) for s in p.symptoms)]
    assert told and any(p.age > 52 for p in priors)
    for p in told:
        for s in p.symptoms:
            lo, hi = implied_ages(s.label)
            assert lo <= p.age <= hi, (p.age, s.label)
