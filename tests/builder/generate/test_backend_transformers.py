"""The `transformers` backend on tiny LLaMAs built in the test (with and without a chat template, with a LoRA)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from medsyn.builder.generate.backends.transformers import TransformersBackend
from medsyn.builder.generate.prompts import alpaca_prompt
from medsyn.builder.generate.backends import Request, SamplingParams
from medsyn.errors import MedsynError
from tests.tiny_models import make_tiny_llama

ROOT = Path(__file__).resolve().parents[3]
SYSTEM = "Ты врач-терапевт. Напиши жалобы пациента."


def make_requests(n: int, max_new_tokens: int = 12, temperature: float = 0.9, seed0: int = 0) -> list[Request]:
    return [
        Request(
            key=f"k{i}",
            messages=[
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": "Симптомы: кашель, насморк" + ", слабость" * i},
            ],
            seed=seed0 + i,
            params=SamplingParams(temperature=temperature, top_p=0.9, max_new_tokens=max_new_tokens),
        )
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def chat_model(tmp_path_factory) -> Path:
    return make_tiny_llama(tmp_path_factory.mktemp("chat"), chat_template=True)


@pytest.fixture(scope="module")
def plain_model(tmp_path_factory) -> Path:
    return make_tiny_llama(tmp_path_factory.mktemp("plain"), chat_template=False)


@pytest.fixture(scope="module")
def chat_backend(chat_model) -> TransformersBackend:
    return TransformersBackend(str(chat_model), batch_size=3)


def texts(backend: TransformersBackend, requests: list[Request]) -> dict[str, str | None]:
    return {r.key: r.text for r in backend.generate(requests)}


def test_alpaca_prompt_maps_system_and_user_messages():
    both = alpaca_prompt([{"role": "system", "content": "Опиши жалобы."}, {"role": "user", "content": "кашель"}])
    assert both == "### Задание:\nОпиши жалобы.\n\n### Вход:\nкашель\n\n### Ответ:\n"
    only_user = alpaca_prompt([{"role": "user", "content": "Опиши жалобы при кашле."}])
    assert only_user == "### Задание:\nОпиши жалобы при кашле.\n\n### Вход:\n\n\n### Ответ:\n"
    several = alpaca_prompt([{"role": "user", "content": "Задача"}, {"role": "user", "content": "данные"}])
    assert several.startswith("### Задание:\nЗадача\n\n### Вход:\nданные\n\n")
    with pytest.raises(MedsynError, match="system and user messages only.*assistant"):
        alpaca_prompt([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}])
    with pytest.raises(MedsynError, match="at least one"):
        alpaca_prompt([])


def test_chat_template_model_generates_every_request_with_token_counts(chat_model, chat_backend):
    requests = make_requests(5)
    results = list(chat_backend.generate(requests))
    assert [r.key for r in results] == [r.key for r in requests]  # batches in order
    assert chat_backend.uses_chat_template and chat_backend.model == str(chat_model)
    tokenizer = chat_backend.tokenizer
    for request, result in zip(requests, results):
        assert result.ok and result.text
        prompt = tokenizer.apply_chat_template(request.messages, tokenize=False, add_generation_prompt=True)
        assert chat_backend.prompt(request.messages) == prompt
        assert result.prompt_tokens == len(tokenizer(prompt, add_special_tokens=False)["input_ids"])
        assert 1 <= result.completion_tokens <= request.params.max_new_tokens


def test_same_inputs_same_texts_and_seeds_matter(chat_backend):
    requests = make_requests(5)
    first, second = texts(chat_backend, requests), texts(chat_backend, requests)
    assert first == second
    reseeded = texts(chat_backend, make_requests(5, seed0=100))
    assert sum(first[k] != reseeded[k] for k in first) >= 4


def test_a_note_does_not_depend_on_its_batch(chat_model, chat_backend):
    requests = make_requests(5)
    batched = texts(chat_backend, requests)
    alone = TransformersBackend(str(chat_model), batch_size=1)
    assert texts(alone, requests) == batched
    assert texts(alone, requests[3:4]) == {"k3": batched["k3"]}


def test_each_row_keeps_its_own_token_limit(chat_backend):
    [long] = make_requests(1, max_new_tokens=16)
    short = Request("short", long.messages, long.seed, SamplingParams(0.9, 0.9, max_new_tokens=4))
    by_key = {r.key: r for r in chat_backend.generate([long, short])}
    assert by_key["short"].completion_tokens == 4 and by_key["k0"].completion_tokens > 4
    # same prompt and seed: the short note is the long one cut at 4 tokens (a cut UTF-8 byte decodes as U+FFFD)
    prefix = by_key["short"].text.rstrip("\ufffd")
    assert prefix and by_key["k0"].text.startswith(prefix)


def test_temperature_zero_is_greedy_like_plain_generate(chat_model, chat_backend):
    import torch
    from transformers import AutoModelForCausalLM

    [request] = make_requests(1, max_new_tokens=10, temperature=0.0)
    [result] = chat_backend.generate([request])
    reference = AutoModelForCausalLM.from_pretrained(chat_model)
    tokenizer = chat_backend.tokenizer
    ids = tokenizer(chat_backend.prompt(request.messages), return_tensors="pt", add_special_tokens=False)
    with torch.inference_mode():
        out = reference.generate(**ids, do_sample=False, max_new_tokens=10, pad_token_id=tokenizer.pad_token_id)
    expected = tokenizer.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True).strip()
    assert result.text == expected


def test_model_without_chat_template_uses_the_alpaca_prompt(plain_model):
    backend = TransformersBackend(str(plain_model), batch_size=2)
    requests = make_requests(3)
    results = list(backend.generate(requests))
    assert not backend.uses_chat_template
    assert all(r.ok for r in results)
    for request, result in zip(requests, results):
        prompt = backend.prompt(request.messages)
        assert prompt == alpaca_prompt(request.messages) and "### Ответ:" in prompt
        assert result.prompt_tokens == len(backend.tokenizer(prompt)["input_ids"])


def test_lora_adapter_is_loaded_and_changes_the_notes(chat_model, chat_backend, tmp_path):
    import torch
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(chat_model)
    lora = LoraConfig(r=4, lora_alpha=32, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    peft_model = get_peft_model(base, lora)
    adapter_dir = tmp_path / "adapter"
    peft_model.save_pretrained(adapter_dir)

    backend = TransformersBackend(str(chat_model), adapter=str(adapter_dir), batch_size=2)
    assert isinstance(backend.network, PeftModel)
    assert backend.model == f"{chat_model}+{adapter_dir}"
    requests = make_requests(4, temperature=0.0)
    tuned = list(backend.generate(requests))
    assert all(r.ok for r in tuned)
    plain = texts(chat_backend, requests)
    assert sum(r.text != plain[r.key] for r in tuned) >= 3  # a nonzero LoRA changes greedy output

    # ...and it is exactly the adapter we saved: same greedy text as the in-memory PEFT model
    tokenizer = backend.tokenizer
    ids = tokenizer(backend.prompt(requests[0].messages), return_tensors="pt", add_special_tokens=False)
    peft_model.eval()
    with torch.inference_mode():
        out = peft_model.generate(**ids, do_sample=False, max_new_tokens=12, pad_token_id=tokenizer.pad_token_id)
    expected = tokenizer.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True).strip()
    assert tuned[0].text == expected


def test_missing_model_or_adapter_path_fails_before_loading(chat_model, tmp_path):
    missing = tmp_path / "no-such-model"
    with pytest.raises(MedsynError, match=f"model path {missing} does not exist"):
        TransformersBackend(str(missing))
    with pytest.raises(MedsynError, match="model path ./relative/model/dir does not exist"):
        TransformersBackend("./relative/model/dir")
    with pytest.raises(MedsynError, match=f"adapter path {missing} does not exist"):
        TransformersBackend(str(chat_model), adapter=str(missing))
    with pytest.raises(MedsynError, match="batch_size must be an integer >= 1"):
        TransformersBackend(str(chat_model), batch_size=0)
    with pytest.raises(MedsynError, match="dtype must be one of"):
        TransformersBackend(str(chat_model), dtype="fp8")


def test_uncached_hub_id_offline_is_a_clear_error(tmp_path):
    """HF_HUB_OFFLINE is read when huggingface_hub is imported, hence a fresh interpreter."""
    code = (
        "from medsyn.builder.generate.backends.transformers import TransformersBackend\n"
        "from medsyn.errors import MedsynError\n"
        "try:\n"
        "    TransformersBackend('medsyn-test/not-a-model')\n"
        "except MedsynError as e:\n"
        "    print('MEDSYN', e)\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert "MEDSYN cannot load model 'medsyn-test/not-a-model' (HF_HUB_OFFLINE is set" in done.stdout, done.stderr


# A tiny untrained model writes noise: filters loose enough that its notes are kept, so the corpus is checked.
LOOSE = ["--min-symptom-recall", "0", "--min-cyrillic-share", "0", "--min-words", "0", "--max-words", "100000"]


def test_corpus_is_built_through_the_transformers_backend_with_a_lora_adapter(chat_model, tmp_path):
    from datasets import load_dataset
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from medsyn.cli import main

    adapter = tmp_path / "adapter"
    peft_model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(chat_model),
        LoraConfig(r=4, lora_alpha=32, target_modules=["q_proj", "v_proj"], init_lora_weights=False),
    )
    peft_model.save_pretrained(adapter)
    out = tmp_path / "corpus"
    args = ["build", "--out", str(out), "--n", "6", "--seed", "1", "--backend", "transformers", "--model",
            str(chat_model), "--adapter", str(adapter), "--batch-size", "3", "--max-new-tokens", "16", "--quiet"]
    assert main([*args, *LOOSE]) == 0
    rows = load_dataset(str(out), "unfiltered", split="train", cache_dir=str(tmp_path / "cache")).to_list()
    assert len(rows) == 6 and all(row["text"] and row["completion_tokens"] > 0 for row in rows)
    assert {row["generation_model"] for row in rows} == {f"{chat_model}+{adapter}"}
    assert {row["backend"] for row in rows} == {"transformers"}
