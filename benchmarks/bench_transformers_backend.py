"""Generation throughput of the `transformers` backend at batch 16 over batch 1, with the tiny test LLaMA (issue
target: at least 4x). Tokens are completion tokens as the backend counts them (padding excluded).

    .venv/bin/python benchmarks/bench_transformers_backend.py [--requests 32] [--max-new-tokens 64] [--device cpu]

With `--model DIR` it measures a real model folder instead of building the tiny one.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.tiny_models


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N")
    parser.add_argument("--model", default=None, help="a model folder; default: the tiny test LLaMA, built here")
    args = parser.parse_args()

    import torch

    from medsyn.builder.generate.backends.transformers import TransformersBackend
    from medsyn.builder.generate.backends import Request, SamplingParams

    torch.set_num_threads(1)  # a fair, repeatable comparison on a shared machine
    with tempfile.TemporaryDirectory() as tmp:
        if args.model is None:
            from tests.tiny_models import make_tiny_llama

            model = str(make_tiny_llama(tmp))
        else:
            model = args.model
        params = SamplingParams(temperature=0.9, top_p=0.95, max_new_tokens=args.max_new_tokens)
        requests = [
            Request(
                key=f"r{i}",
                messages=[
                    {"role": "system", "content": "Ты врач. Напиши жалобы пациента."},
                    {"role": "user", "content": "Симптомы: кашель, слабость" + ", насморк" * (i % 4)},
                ],
                seed=i,
                params=params,
            )
            for i in range(args.requests)
        ]
        rates = {}
        for batch_size in args.batch_sizes:
            backend = TransformersBackend(model, batch_size=batch_size, device=args.device)
            list(backend.generate(requests[:batch_size]))  # warm up
            start = time.perf_counter()
            results = list(backend.generate(requests))
            wall = time.perf_counter() - start
            tokens = sum(r.completion_tokens for r in results)
            rates[batch_size] = tokens / wall
            print(f"batch {batch_size:>3}: {tokens} tokens in {wall:.2f} s = {rates[batch_size]:.0f} tokens/s")
            backend.close()
    first, last = args.batch_sizes[0], args.batch_sizes[-1]
    print(f"transformers backend ({args.device}, {model if args.model else 'tiny LLaMA'}): "
          f"batch {last} / batch {first} = {rates[last] / rates[first]:.1f}x tokens/s (target >= 4x)")


if __name__ == "__main__":
    main()
