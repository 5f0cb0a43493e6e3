"""The build's settings are the stages' own settings classes: what the parser returns is what each stage takes, with
no copy into another class on the way."""

from __future__ import annotations

import dataclasses

from medsyn.builder.corpus.config import GROUPS, BuildConfig
from medsyn.builder.generate.backends import GenerationOptions, open_backend
from medsyn.builder.generate.prompts import PromptBuilder, PromptConfig
from medsyn.builder.generate.sampling import PriorSampler, SamplingConfig
from medsyn.builder.quality.filters import FilterConfig


def test_each_group_is_the_stage_config():
    assert list(GROUPS.values())[:4] == [SamplingConfig, PromptConfig, GenerationOptions, FilterConfig]
    # the flags of `medsyn build` (README, build_info.json's `config`) stay as they were, stage by stage
    assert [f.name for f in dataclasses.fields(SamplingConfig)] == [
        "graph", "seed", "codes", "code_strategy", "k_min", "k_max", "symptom_temperature", "code_budget"]
    assert [f.name for f in dataclasses.fields(PromptConfig)] == ["examples", "families"]


def test_the_stages_take_the_groups_the_flags_fill(graph):
    config = BuildConfig.of(out="corpus", codes=["M54,J06"], k_min=2, k_max=2, symptom_temperature=0.5,
                            families=["symptoms=1"], workers=1)
    sampler = PriorSampler(graph, config.sampling)
    assert sampler.config is config.sampling and sampler.codes == ["J06", "M54"]
    priors = list(sampler.sample(20, seed=1))
    assert {len(p.symptoms) for p in priors} == {2} and {p.icd10_code for p in priors} == {"J06", "M54"}
    prompts = PromptBuilder(config.prompts, [], graph)
    assert {prompts.build(prior).prompt_family for prior in priors} == {"symptoms"}
    backend = open_backend(config.generation)
    assert (backend.name, backend.workers) == ("template", 1)
