"""A local model on Ray: `ray.data.llm`'s vLLM engine processor, set by `--engine-config` (YAML), on GPU workers.

`medsyn build --engine ray --backend transformers --model DIR --engine-config engine.yaml` writes the notes with
vLLM engines instead of transformers in each worker: an engine per `concurrency`, each over `tensor_parallel_size`
GPUs, fed `batch_size` rows at a time, with the LoRA adapter of `medsyn train` (`adapter`, else `--adapter`)
applied to every row. The processor's config imports without vLLM, so the file is checked here on any machine;
the engines need vLLM and a GPU, checked before any work (one line each, exit 2).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import importlib.util
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from medsyn.builder.generate.backends import GenerationOptions, Request, Result
from medsyn.errors import MedsynError


@dataclass
class VllmEngineConfig:
    """The engine settings `--engine-config` may set (any left out keeps its default)."""

    tensor_parallel_size: int = 1  # GPUs per engine
    batch_size: int = 16  # rows sent to an engine at a time
    gpu_memory_utilization: float = 0.5  # share of each GPU's memory vLLM may take
    max_model_len: int = 1024  # prompt + note tokens an engine is sized for
    concurrency: int = 1  # engines
    max_lora_rank: int = 64  # the largest LoRA rank the engines accept
    adapter: str | None = None  # LoRA adapter folder of `medsyn train` (default: --adapter)


def load_engine_config(path: str | Path) -> VllmEngineConfig:
    """The file's settings, or the one line that says what is wrong in it (an unknown key is refused: a typo
    would otherwise do nothing)."""
    where = f"--engine-config {path}"
    try:
        given = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MedsynError(f"{where}: no such file; write a YAML file of engine settings "
                          f"({', '.join(_names())})") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise MedsynError(f"{where}: not a readable YAML file ({str(err).splitlines()[0]})") from None
    given = {} if given is None else given
    if not isinstance(given, dict):
        raise MedsynError(f"{where}: expected a mapping of settings ({', '.join(_names())}), got "
                          f"{type(given).__name__}")
    values = {}
    for key, value in given.items():
        if key not in _names():
            close = difflib.get_close_matches(str(key), _names(), n=1)
            hint = f" (did you mean {close[0]}?)" if close else f"; known: {', '.join(_names())}"
            raise MedsynError(f"{where}: unknown setting {key!r}{hint}")
        values[key] = _checked(where, key, value)
    settings = VllmEngineConfig(**values)
    if settings.adapter is not None and not Path(settings.adapter).is_dir():
        raise MedsynError(f"{where}: adapter {settings.adapter} is not a folder; give the folder `medsyn train` "
                          "saved the LoRA adapter in")
    return settings


def _names() -> list[str]:
    return [f.name for f in dataclasses.fields(VllmEngineConfig)]


def _checked(where: str, key: str, value: Any) -> Any:
    if key == "adapter":
        if value is not None and not isinstance(value, str):
            raise MedsynError(f"{where}: adapter must be a folder path, got {value!r}")
        return value
    if key == "gpu_memory_utilization":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
            raise MedsynError(f"{where}: gpu_memory_utilization must be a share of memory in (0, 1], got {value!r}")
        return float(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise MedsynError(f"{where}: {key} must be an integer >= 1, got {value!r}")
    return value


def require_vllm() -> None:
    """vLLM on the driver: the engines need it on every GPU node, and a driver without it is the usual sign."""
    if importlib.util.find_spec("vllm") is None:
        raise MedsynError("--engine-config needs vLLM, which is not installed: pip install 'medsyn[vllm]' on a CUDA "
                          "machine, or drop --engine-config (the model then runs with transformers in each worker)")


def require_gpus(record: dict, settings: VllmEngineConfig) -> None:
    """Enough GPUs on the cluster for the engines (`record`: `ray_engine.cluster_record`)."""
    needed = settings.tensor_parallel_size * settings.concurrency
    if record.get("gpus", 0) < needed:
        raise MedsynError(f"--engine-config: the Ray cluster has {record.get('gpus', 0):g} GPUs, the engines need "
                          f"{needed} (tensor_parallel_size x concurrency); run on a cluster with GPU nodes, or "
                          "drop --engine-config")


def processor_config(settings: VllmEngineConfig, model: str) -> Any:
    """`ray.data.llm`'s `vLLMEngineProcessorConfig` for the settings (LoRA enabled when there is an adapter)."""
    from ray.data.llm import vLLMEngineProcessorConfig

    engine_kwargs = {"tensor_parallel_size": settings.tensor_parallel_size,
                     "gpu_memory_utilization": settings.gpu_memory_utilization,
                     "max_model_len": settings.max_model_len}
    if settings.adapter:
        engine_kwargs.update(enable_lora=True, max_lora_rank=settings.max_lora_rank)
    return vLLMEngineProcessorConfig(model_source=model, engine_kwargs=engine_kwargs,
                                     batch_size=settings.batch_size, concurrency=settings.concurrency)


class VllmGeneration:
    """A `Backend` for the generation run whose requests go through vLLM engines on the cluster."""

    name = "vllm"

    def __init__(self, ray: Any, options: GenerationOptions, settings: VllmEngineConfig):
        self.ray, self.options = ray, options
        self.model = str(options.model)
        adapter = settings.adapter or options.adapter
        self.settings = dataclasses.replace(settings, adapter=str(Path(adapter).resolve()) if adapter else None)

    def generate(self, requests: list[Request]) -> Iterator[Result]:
        if not requests:
            return
        from ray.data.llm import build_processor

        processor = build_processor(processor_config(self.settings, self.model),
                                    preprocess=functools.partial(_preprocess, adapter=self.settings.adapter),
                                    postprocess=_postprocess)
        rows = [{"key": r.key, "messages": json.dumps(r.messages, ensure_ascii=False), "seed": r.seed,
                 "temperature": r.params.temperature, "top_p": r.params.top_p,
                 "max_tokens": r.params.max_new_tokens} for r in requests]
        for row in processor(self.ray.data.from_items(rows)).iter_rows():
            text = str(row["text"] or "").strip()
            if text:
                yield Result(row["key"], text, int(row["prompt_tokens"]), int(row["completion_tokens"]), 0.0)
            else:
                yield Result(row["key"], None, error="empty completion: no content")

    def close(self) -> None:
        """Nothing held on the driver: the engines end with the processor's pipeline."""


def _preprocess(row: dict, adapter: str | None) -> dict:
    """A row for the engine: the chat, the note's own seed, and the adapter (a `model` other than the base)."""
    out = {"key": row["key"], "messages": json.loads(row["messages"]),
           "sampling_params": {"temperature": float(row["temperature"]), "top_p": float(row["top_p"]),
                               "seed": int(row["seed"]), "max_tokens": int(row["max_tokens"])}}
    if adapter:
        out["model"] = adapter
    return out


def _postprocess(row: dict) -> dict:
    return {"key": row["key"], "text": row.get("generated_text"), "prompt_tokens": row.get("num_input_tokens") or 0,
            "completion_tokens": row.get("num_generated_tokens") or 0}
