"""GPU check of the Ray engine's local-model path: `medsyn build --engine ray --backend transformers --engine-config`'s
own code (`builder/corpus/ray_vllm.py`: the YAML, the GPU check, `ray.data.llm`'s vLLM engine processor) writes
notes from medsyn's prompts with a small LLaMA-architecture model and the LoRA adapter `medsyn train` saved
(issue 24). Needs a CUDA machine with `pip install 'medsyn[vllm]'` (vLLM has no CPU build here).

    python benchmarks/gpu_vllm_check.py --base-model DIR --adapter ADAPTER_DIR [--n 64] [--seed 0] \
        [--engine-config engine.yaml] [--max-new-tokens 128]

`--engine-config` is the build's file (README, "Running on a cluster"): `tensor_parallel_size` (default 1),
`batch_size` (16), `gpu_memory_utilization` (0.5), `max_model_len` (1024), `concurrency` (engines, 1),
`max_lora_rank` (64), `adapter` (default: `--adapter`). For example:

    tensor_parallel_size: 1
    batch_size: 16
    gpu_memory_utilization: 0.5

Prints, one line each: the device and versions; the engine settings; `generated N/N notes, T tokens in S s (R
tokens/s), E empty`; the adapter every row was sent with (`lora: ADAPTER_DIR`); and the first note's code and
first 200 characters. Exit status 1 when a note is missing or empty, 2 (one line) when the file is bad, vLLM is
missing or the cluster has too few GPUs. Prompts are the build's own (`medsyn build --n N --seed S`'s priors and
prompts, `build.plan`), so the notes answer what the corpus asks.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

from medsyn.builder.corpus import build
from medsyn.builder.corpus.config import BuildConfig
from medsyn.builder.corpus.ray_engine import cluster_record
from medsyn.builder.corpus.ray_vllm import (VllmEngineConfig, VllmGeneration, load_engine_config, require_gpus,
                                            require_vllm)
from medsyn.builder.kg.graph import load_graph
from medsyn.errors import MedsynError


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-model", type=Path, required=True, help="a LLaMA-architecture model folder")
    parser.add_argument("--adapter", type=Path, required=True, help="the LoRA adapter folder of `medsyn train`")
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engine-config", type=Path)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    args = parser.parse_args()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        settings = load_engine_config(args.engine_config) if args.engine_config else VllmEngineConfig()
        require_vllm()
    except MedsynError as err:
        print(f"gpu_vllm_check: error: {err}", file=sys.stderr)
        return 2

    import ray
    import torch
    import vllm

    model = str(args.base_model.resolve())
    config = BuildConfig.of(out="unused", n=args.n, seed=args.seed, backend="transformers", model=model,
                            adapter=str(args.adapter.resolve()), max_new_tokens=args.max_new_tokens)
    prompts = build.plan(config, load_graph(), [])
    ray.init(include_dashboard=False)
    try:
        require_gpus(cluster_record(ray, None), settings)
    except MedsynError as err:
        print(f"gpu_vllm_check: error: {err}", file=sys.stderr)
        ray.shutdown()
        return 2
    generation = VllmGeneration(ray, config.generation, settings)
    print(f"device {torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none'}, ray {ray.__version__}, "
          f"vllm {vllm.__version__}")
    print("engine " + ", ".join(f"{key} {value}" for key, value in dataclasses.asdict(generation.settings).items()))
    requests = [build.make_request(prompt, config, generation.name, generation.model) for prompt in prompts]
    start = time.perf_counter()
    results = {result.key: result for result in generation.generate(requests)}
    wall = time.perf_counter() - start
    tokens = sum(result.completion_tokens for result in results.values())
    empty = sum(not result.ok for result in results.values())
    print(f"generated {len(results)}/{len(requests)} notes, {tokens} tokens in {wall:.1f} s "
          f"({tokens / wall:.0f} tokens/s), {empty} empty")
    print(f"lora: {generation.settings.adapter}")
    first = results.get(requests[0].key)
    print(f"first note ({prompts[0].icd10_code}): {(first.text or '')[:200] if first else None!r}")
    ray.shutdown()
    return 0 if len(results) == len(requests) and not empty else 1


if __name__ == "__main__":
    sys.exit(main())
