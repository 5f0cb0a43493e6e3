"""Prompts: three families, four symptom templates, the diagnosis hidden where it must be."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from medsyn.builder.generate.prompts import FAMILIES, HIDDEN_DIAGNOSIS_FAMILIES, SYMPTOM_TEMPLATES, PromptBuilder, PromptConfig
from medsyn.builder.generate.sampling import sample_priors
from medsyn.builder.kg.sources import read_notes
from medsyn.cli import main
from medsyn.errors import MedsynError


@pytest.fixture(scope="module")
def examples(shared_data):
    return read_notes(shared_data / "rumedbench/RuMedTop3/train_v1.jsonl")


def test_hidden_families_never_show_code_or_name(graph, examples):
    builder = PromptBuilder(examples=examples, graph=graph)
    with_notes = [code for code in graph.codes_with_symptoms if graph.node(code).get("n_notes")]
    priors = sample_priors(graph, 600, 4, codes=with_notes)  # forced `example` family: codes with example notes
    counts = Counter()
    for prior in priors:
        for family in HIDDEN_DIAGNOSIS_FAMILIES:
            prompt = builder.build(prior, family=family)
            text = " ".join(m["content"] for m in prompt.messages).lower()
            assert prior.icd10_code.lower() not in text
            assert prior.icd10_name.lower() not in text
            counts[prompt.prompt_template] += 1
    assert set(SYMPTOM_TEMPLATES) | {"example"} == set(counts)


def test_examples_that_name_their_diagnosis_are_never_used(graph, examples):
    from medsyn.builder.text.diagnosis_names import mentions_diagnosis

    builder = PromptBuilder(examples=examples, graph=graph)
    naming = [n for n in examples if mentions_diagnosis(n.text, n.code, graph.name(n.code))]
    assert naming  # real notes do name diagnoses ("лейомиома матки" for D25): the screen has work to do
    used = {n.note_id for notes in builder._examples.values() for n in notes}
    assert used and not used & {n.note_id for n in naming}
    with pytest.raises(ValueError, match="needs the graph"):
        PromptBuilder(examples=examples)


def test_every_family_lists_its_symptoms_and_is_chat_messages(graph, examples):
    builder = PromptBuilder(examples=examples, graph=graph)
    prior = sample_priors(graph, 1, 9, codes=["M54"])[0]
    for family in FAMILIES:
        prompt = builder.build(prior, family=family)
        assert [m["role"] for m in prompt.messages] == ["system", "user"]
        user = prompt.messages[1]["content"]
        if family == "code":
            assert "M54" in user and prior.icd10_name in user
        else:
            assert all(s.label in user for s in prior.symptoms)
        assert "русском" in prompt.messages[0]["content"]


def test_example_family_uses_a_train_note_of_the_same_code(graph, examples):
    builder = PromptBuilder(examples=examples, graph=graph)
    by_id = {note.note_id: note for note in examples}
    with_notes = [code for code in graph.codes_with_symptoms if graph.node(code).get("n_notes")]
    for prior in sample_priors(graph, 50, 2, codes=with_notes):
        prompt = builder.build(prior, family="example")
        example = by_id[prompt.example_id]
        assert example.code == prior.icd10_code
        assert "не копируй" in prompt.messages[0]["content"]
        assert "Обязательно используй все эти симптомы" in prompt.messages[1]["content"]


def test_family_choice_is_deterministic_and_follows_shares(graph, examples):
    builder = PromptBuilder(PromptConfig(families=["symptoms=0.5", "example=0.5"]), examples, graph)
    with_notes = [code for code in graph.codes_with_symptoms if graph.node(code).get("n_notes")]
    priors = sample_priors(graph, 2000, 1, codes=with_notes)  # codes without notes fall back to symptoms
    first = [builder.build(p).id for p in priors]
    assert first == [builder.build(p).id for p in priors]
    shares = Counter(i.split("/")[1] for i in first)
    assert set(shares) == {"symptoms", "example"} and abs(shares["example"] / 2000 - 0.5) < 0.05


def test_example_family_without_examples_is_skipped_or_refused(graph):
    builder = PromptBuilder()
    prior = sample_priors(graph, 1, 0)[0]
    assert builder.build(prior).prompt_family in {"symptoms", "code"}
    with pytest.raises(MedsynError, match="no style example"):
        builder.build(prior, family="example")
    with pytest.raises(MedsynError, match="unknown prompt famil"):
        PromptBuilder(PromptConfig(families=["poems=1"]))


def test_cli_prompts_from_priors(tmp_path, shared_data, capsys):
    priors, prompts = tmp_path / "priors.jsonl", tmp_path / "prompts.jsonl"
    assert main(["sample", "--n", "30", "--seed", "1", "--out", str(priors)]) == 0
    examples = str(shared_data / "rumedbench/RuMedTop3/train_v1.jsonl")
    assert main(["prompts", "--priors", str(priors), "--examples", examples, "--out", str(prompts)]) == 0
    records = [json.loads(line) for line in prompts.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 30 and {r["prompt_family"] for r in records} <= set(FAMILIES)
    dev = str(shared_data / "rumedbench/RuMedTop3/dev_v1.jsonl")
    assert main(["prompts", "--priors", str(priors), "--examples", dev, "--out", str(tmp_path / "x.jsonl")]) == 2
    assert "dev/test split" in capsys.readouterr().err
    broken = tmp_path / "broken.jsonl"
    broken.write_text(priors.read_text(encoding="utf-8") + "{not json\n", encoding="utf-8")
    assert main(["prompts", "--priors", str(broken), "--out", str(tmp_path / "y.jsonl")]) == 2
    assert "broken.jsonl:31" in capsys.readouterr().err and not (tmp_path / "y.jsonl").exists()
