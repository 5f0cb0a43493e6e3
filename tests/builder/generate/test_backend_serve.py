"""The `openai` backend against a real `transformers serve` (tiny LLaMA built here, CPU, loopback only)."""

from __future__ import annotations

import pytest

from medsyn.builder.generate.backends.openai import OpenAIBackend
from medsyn.builder.generate.backends import Request, SamplingParams
from medsyn.errors import MedsynError
from tests.tiny_models import CONTEXT, make_tokenizer, served_tiny_llama

MAX_NEW_TOKENS = 16  # of the served corpus build


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(base_url, model_id) of a `transformers serve` pinned to a tiny LLaMA, for the whole module."""
    with served_tiny_llama(tmp_path_factory.mktemp("serve")) as server:
        yield server


def note_requests(n: int, seed0: int = 0) -> list[Request]:
    return [
        Request(
            key=f"note-{i}",
            messages=[
                {"role": "system", "content": "Ты врач. Напиши жалобы пациента."},
                {"role": "user", "content": f"Симптомы: головная боль, слабость. Пациент {i}."},
            ],
            seed=seed0 + i,
            params=SamplingParams(temperature=1.0, top_p=1.0, max_new_tokens=12),
        )
        for i in range(n)
    ]


def test_notes_are_generated_through_transformers_serve(served):
    base_url, model_id = served
    backend = OpenAIBackend(model_id, [base_url.removesuffix("/v1")], concurrency=3, timeout=60, max_retries=2)
    try:
        backend.check()
        results = list(backend.generate(note_requests(6)))
    finally:
        backend.close()
    assert sorted(r.key for r in results) == [f"note-{i}" for i in range(6)]
    assert all(r.ok for r in results), [r.error for r in results]
    assert all(r.prompt_tokens > 10 and 1 <= r.completion_tokens <= 12 for r in results)
    assert backend.usage.completion_tokens == sum(r.completion_tokens for r in results)


def test_seed_reaches_the_server(served):
    base_url, model_id = served
    with OpenAIBackend(model_id, [base_url], concurrency=1, timeout=60) as backend:
        [a] = backend.generate(note_requests(1, seed0=7))
        [b] = backend.generate(note_requests(1, seed0=7))
        different = [next(iter(backend.generate(note_requests(1, seed0=s)))).text for s in (8, 9, 10)]
    assert a.ok and a.text == b.text
    assert any(text != a.text for text in different)


def test_a_prompt_over_the_served_models_context_is_refused_once_with_the_servers_words(served):
    """`transformers serve` answers {"detail": ...}: its words reach the user (the SDK's message is only "Error code:
    400"), with what to change, and the request is not retried."""
    base_url, model_id = served
    [request] = note_requests(1)
    too_long = Request(request.key, [{"role": "user", "content": "головная боль, слабость, " * 1000}], request.seed,
                       request.params)
    with OpenAIBackend(model_id, [base_url], concurrency=1, timeout=60, max_retries=3) as backend:
        [result] = backend.generate([too_long])
    assert result.error.startswith("HTTP 400: The prompt has") and f"the model takes at most {CONTEXT}" in result.error
    assert "lower --max-new-tokens" in result.error
    assert result.refused and backend.usage.retries == 0


def test_check_names_the_models_the_server_has(served):
    base_url, model_id = served
    with pytest.raises(MedsynError, match=f"does not serve model 'gpt-4o'; it serves: {model_id}"):
        OpenAIBackend("gpt-4o", [base_url]).check()


def test_corpus_is_built_through_transformers_serve(served, tmp_path):
    from datasets import load_dataset

    from medsyn.cli import main

    base_url, model_id = served
    out = tmp_path / "corpus"
    args = ["build", "--out", str(out), "--n", "5", "--backend", "openai", "--model", model_id, "--base-url",
            base_url, "--max-new-tokens", str(MAX_NEW_TOKENS), "--concurrency", "2", "--quiet",
            # a tiny untrained model writes noise: keep its notes so that the corpus itself is checked
            "--min-symptom-recall", "0", "--min-cyrillic-share", "0", "--min-words", "0", "--max-words", "100000"]
    assert main(args) == 0
    rows = load_dataset(str(out), "unfiltered", split="train", cache_dir=str(tmp_path / "cache")).to_list()
    assert len(rows) == 5 and all(row["text"] for row in rows)
    assert {row["generation_model"] for row in rows} == {model_id} and {row["backend"] for row in rows} == {"openai"}
    assert all(row["prompt_tokens"] > 0 and row["completion_tokens"] > 0 for row in rows)


def test_the_served_model_takes_every_prompt_medsyn_sends_with_room_to_spare(graph):
    """The served build must test generation, not the server's 400 for a prompt over the tiny model's context (with
    512 positions a 525-token prompt did, issue 22): the longest prompt of every template, a style example of the
    longest kept length included, fits in half the context."""
    from medsyn.builder.corpus.config import BuildConfig
    from medsyn.builder.corpus.build import plan
    from medsyn.builder.generate.prompts import MAX_EXAMPLE_CHARS, TEMPLATES
    from medsyn.builder.kg.sources import Note

    codes = ["M54", "J06", "I10", "K29"]
    # Real Russian words the tokenizer was not trained on, as long as an example may be after clipping.
    words = ", ".join(dict.fromkeys(s.label for code in graph.codes_with_symptoms[:60] for s in graph.symptoms(code)))
    assert len(words) > MAX_EXAMPLE_CHARS
    examples = [Note(f"example-{code}", words, code) for code in codes]
    prompts = plan(BuildConfig.of(out="unused", n=2000), graph, []) + plan(
        BuildConfig.of(out="unused", n=100, codes=codes, families=["example=1"]), graph, examples)
    tokenizer = make_tokenizer()
    chats = [tokenizer.apply_chat_template(p.messages, add_generation_prompt=True, tokenize=False) for p in prompts]
    lengths = [len(ids) for ids in tokenizer(chats, add_special_tokens=False)["input_ids"]]
    assert {p.prompt_template for p in prompts} == set(TEMPLATES)
    assert 2 * (max(lengths) + MAX_NEW_TOKENS) <= CONTEXT, max(lengths)
