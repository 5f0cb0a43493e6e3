"""`--engine-config` (YAML) for a local model on Ray through `ray.data.llm`'s vLLM engine processor: the file is
read and checked on any machine, the processor's config is built from it (it imports without vLLM), and the
runtime checks (vLLM on the driver, GPUs on the cluster) answer in one line. The engines themselves need a GPU:
`benchmarks/gpu_vllm_check.py` runs this same path there.
"""

from __future__ import annotations

import pytest

from medsyn.builder.corpus.ray_vllm import (VllmEngineConfig, _postprocess, _preprocess, load_engine_config,
                                            processor_config, require_gpus)
from medsyn.errors import MedsynError


def test_a_full_file_sets_every_setting(tmp_path):
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    path = tmp_path / "engine.yaml"
    path.write_text(f"tensor_parallel_size: 2\nbatch_size: 32\ngpu_memory_utilization: 0.8\nmax_model_len: 2048\n"
                    f"concurrency: 3\nmax_lora_rank: 16\nadapter: {adapter}\n", encoding="utf-8")
    assert load_engine_config(path) == VllmEngineConfig(2, 32, 0.8, 2048, 3, 16, str(adapter))


def test_an_empty_file_keeps_the_defaults(tmp_path):
    path = tmp_path / "engine.yaml"
    path.write_text("", encoding="utf-8")
    assert load_engine_config(path) == VllmEngineConfig()


@pytest.mark.parametrize("text, message", [
    ("batch_sise: 8\n", "unknown setting 'batch_sise' (did you mean batch_size?)"),
    ("tensor_parallel_size: 0\n", "tensor_parallel_size must be an integer >= 1, got 0"),
    ("batch_size: eight\n", "batch_size must be an integer >= 1, got 'eight'"),
    ("max_model_len: true\n", "max_model_len must be an integer >= 1, got True"),
    ("gpu_memory_utilization: 1.5\n", "gpu_memory_utilization must be a share of memory in (0, 1], got 1.5"),
    ("- batch_size\n", "expected a mapping of settings"),
    ("batch_size: [\n", "not a readable YAML file"),
    ("adapter: /no/such/adapter\n", "adapter /no/such/adapter is not a folder"),
    ("adapter: 3\n", "adapter must be a folder path, got 3"),
])
def test_a_bad_file_is_refused_in_one_line_that_names_it(tmp_path, text, message):
    path = tmp_path / "engine.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MedsynError) as caught:
        load_engine_config(path)
    assert str(caught.value).startswith(f"--engine-config {path}: ") and message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_processor_config_carries_the_settings_and_enables_lora_only_with_an_adapter(tmp_path):
    pytest.importorskip("ray.data.llm")
    plain = processor_config(VllmEngineConfig(tensor_parallel_size=2, batch_size=4, gpu_memory_utilization=0.6,
                                              max_model_len=512, concurrency=2), "/models/tiny")
    assert plain.model_source == "/models/tiny" and plain.batch_size == 4 and plain.concurrency == 2
    assert {key: plain.engine_kwargs[key] for key in ("tensor_parallel_size", "gpu_memory_utilization",
                                                      "max_model_len")} == {"tensor_parallel_size": 2,
                                                                            "gpu_memory_utilization": 0.6,
                                                                            "max_model_len": 512}
    assert "enable_lora" not in plain.engine_kwargs
    lora = processor_config(VllmEngineConfig(max_lora_rank=8, adapter=str(tmp_path)), "/models/tiny")
    assert lora.engine_kwargs["enable_lora"] is True and lora.engine_kwargs["max_lora_rank"] == 8


def test_rows_name_the_adapter_and_keep_the_notes_seed():
    row = {"key": "k1", "messages": '[{"role": "user", "content": "жалобы"}]', "seed": 7, "temperature": 0.7,
           "top_p": 0.9, "max_tokens": 64}
    sent = _preprocess(row, adapter="/runs/adapter")
    assert sent["model"] == "/runs/adapter" and sent["messages"][0]["content"] == "жалобы"
    assert sent["sampling_params"] == {"temperature": 0.7, "top_p": 0.9, "seed": 7, "max_tokens": 64}
    assert "model" not in _preprocess(row, adapter=None)  # the base model alone
    assert _postprocess({"key": "k1", "generated_text": "Жалобы на", "num_input_tokens": 12,
                         "num_generated_tokens": 3}) == {"key": "k1", "text": "Жалобы на", "prompt_tokens": 12,
                                                         "completion_tokens": 3}


def test_a_cluster_without_enough_gpus_is_refused_before_any_work():
    with pytest.raises(MedsynError, match="the Ray cluster has 0 GPUs, the engines need 2"):
        require_gpus({"gpus": 0}, VllmEngineConfig(tensor_parallel_size=2))
    require_gpus({"gpus": 4.0}, VllmEngineConfig(tensor_parallel_size=2, concurrency=2))
