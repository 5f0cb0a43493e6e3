"""GPU check of the Ray engine's local-model path: `ray.data.llm`'s vLLM engine processor writes notes from medsyn's
prompts with a small LLaMA-architecture model and the LoRA adapter `medsyn train` saved (issue 24). Needs a CUDA
machine with `pip install 'medsyn[vllm]'` (vLLM has no CPU build here).

    python benchmarks/gpu_vllm_check.py --base-model DIR --adapter ADAPTER_DIR [--n 64] [--seed 0] \
        [--engine-config engine.yaml]

`--engine-config` (YAML) sets the engine: `tensor_parallel_size` (GPUs per engine, default 1), `batch_size` (rows
per batch sent to an engine, default 16), `gpu_memory_utilization` (share of each GPU's memory vLLM may take,
default 0.5), `concurrency` (engines, default 1), `max_model_len` (default 1024), `max_lora_rank` (default 64),
`max_new_tokens` (default 128). For example:

    tensor_parallel_size: 1
    batch_size: 16
    gpu_memory_utilization: 0.5

Prints, one line each: the device and versions; the engine settings; `generated N/N notes, T tokens in S s (R
tokens/s), E empty`; whether every row went through the adapter (`lora: ADAPTER_DIR`); and the first note's
code and first 200 characters. Exit status 1 when a note is missing or empty. Prompts are the build's own
(`medsyn build --n N --seed S`'s priors and prompts, `build.plan`), so the notes answer what the corpus asks.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import yaml

from medsyn.builder.corpus import build
from medsyn.builder.corpus.config import BuildConfig
from medsyn.builder.kg.graph import load_graph

DEFAULTS = {"tensor_parallel_size": 1, "batch_size": 16, "gpu_memory_utilization": 0.5, "concurrency": 1,
            "max_model_len": 1024, "max_lora_rank": 64, "max_new_tokens": 128}


def engine_config(path: Path | None) -> dict:
    """The defaults, overridden by the YAML file; an unknown key is refused (a typo would silently do nothing)."""
    settings = dict(DEFAULTS)
    if path is not None:
        given = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        unknown = sorted(set(given) - set(DEFAULTS))
        if unknown:
            sys.exit(f"{path}: unknown engine settings {unknown}; known: {sorted(DEFAULTS)}")
        settings.update(given)
    return settings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-model", type=Path, required=True, help="a LLaMA-architecture model folder")
    parser.add_argument("--adapter", type=Path, required=True, help="the LoRA adapter folder of `medsyn train`")
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engine-config", type=Path)
    args = parser.parse_args()
    settings = engine_config(args.engine_config)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

    import ray
    import torch
    import vllm
    from ray.data.llm import build_processor, vLLMEngineProcessorConfig

    config = BuildConfig.of(out="unused", n=args.n, seed=args.seed)
    graph = load_graph()
    prompts = build.plan(config, graph, [])
    adapter = str(args.adapter.resolve())
    print(f"device {torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none'}, ray {ray.__version__}, "
          f"vllm {vllm.__version__}")
    print("engine " + ", ".join(f"{key} {value}" for key, value in settings.items()))

    processor = build_processor(
        vLLMEngineProcessorConfig(
            model_source=str(args.base_model.resolve()),
            engine_kwargs={"tensor_parallel_size": settings["tensor_parallel_size"],
                           "gpu_memory_utilization": settings["gpu_memory_utilization"],
                           "max_model_len": settings["max_model_len"], "enable_lora": True,
                           "max_lora_rank": settings["max_lora_rank"]},
            batch_size=settings["batch_size"], concurrency=settings["concurrency"]),
        # "model" other than the base names the LoRA adapter (a local folder: no dynamic_lora_loading_path).
        preprocess=lambda row: {"id": row["id"], "model": adapter, "messages": row["messages"],
                                "sampling_params": {"temperature": 0.7, "top_p": 0.95, "seed": int(row["seed"]),
                                                    "max_tokens": settings["max_new_tokens"]}},
        postprocess=lambda row: {"id": row["id"], "text": row["generated_text"],
                                 "tokens": row["num_generated_tokens"], "lora": row.get("model")},
    )
    rows = [{"id": prompt.prior_id, "messages": prompt.messages,
             "seed": build.make_request(prompt, config, "vllm", str(args.base_model)).seed} for prompt in prompts]
    ray.init(include_dashboard=False)
    start = time.perf_counter()
    out = processor(ray.data.from_items(rows)).take_all()
    wall = time.perf_counter() - start
    tokens = sum(row["tokens"] for row in out)
    empty = sum(not row["text"].strip() for row in out)
    print(f"generated {len(out)}/{len(rows)} notes, {tokens} tokens in {wall:.1f} s ({tokens / wall:.0f} tokens/s), "
          f"{empty} empty")
    print(f"lora: {', '.join(sorted({str(row['lora']) for row in out}))}")
    first = min(out, key=lambda row: row["id"])
    code = next(prompt.icd10_code for prompt in prompts if prompt.prior_id == first["id"])
    print(f"first note ({code}): {first['text'][:200]!r}")
    ray.shutdown()
    return 0 if len(out) == len(rows) and not empty else 1


if __name__ == "__main__":
    sys.exit(main())
