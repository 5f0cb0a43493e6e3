"""Training throughput of the tiny LLaMA on this machine, without and with packing (tokens/s and the ratio).

Usage: .venv/bin/python benchmarks/bench_training.py [--steps 8] [--notes ../shared/data/rumedbench/RuMedTop3/train_v1.jsonl]
Builds instruction data from the first 60 real training notes in a temp folder, trains the tiny model for --steps
optimizer steps each way (batch 4, max length 1024, CPU, fp32) and counts the non-padding tokens the trainer saw.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.tiny_models


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--notes", type=Path, default=ROOT.parent / "shared/data/rumedbench/RuMedTop3/train_v1.jsonl")
    parser.add_argument("--markup", type=Path, default=ROOT.parent / "shared/data/rumedbench/raw/rec_markup.csv")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="medsyn-bench-train-"))
    os.environ.setdefault("HF_HOME", str(tmp / "hf"))
    from medsyn.training.ift import build_instruction_data
    from medsyn.commands.train import parse
    from medsyn.training.train import train
    from tests.tiny_models import make_tiny_llama

    with open(args.notes, encoding="utf-8") as handle:
        (tmp / "train_bench.jsonl").write_text("".join(next(handle) for _ in range(60)), encoding="utf-8")
    build_instruction_data(tmp / "train_bench.jsonl", args.markup, tmp / "ift", heldout_share=0.0,
                           exclude=[args.notes.with_name("dev_v1.jsonl")], progress=False)
    model = make_tiny_llama(tmp / "tiny")
    rates = {}
    for packing in (False, True):
        config = parse(["--base-model", str(model), "--data", str(tmp / "ift"), "--out", str(tmp / f"adapter-{packing}"),
                        "--max-steps", str(args.steps), "--learning-rate", "1e-3", "--warmup-steps", "0",
                        "--effective-batch-size", "4", "--per-device-batch-size", "4", "--max-length", "1024",
                        "--packing", str(packing).lower(), "--gradient-checkpointing", "false", "--logging-steps", "1",
                        "--save-steps", "10000", "--eval-samples", "0", "--quiet"])
        started = time.perf_counter()
        result = train(config, progress=False)
        tokens = max(entry.get("num_tokens", 0) for entry in result.log_history)
        runtime = next(e["train_runtime"] for e in result.log_history if "train_runtime" in e)
        rates[packing] = tokens / runtime
        print(f"packing={packing}: {tokens:.0f} tokens in {runtime:.1f} s of training "
              f"({time.perf_counter() - started:.1f} s with setup) -> {rates[packing]:.0f} tokens/s")
    print(f"packing / no packing throughput ratio: {rates[True] / rates[False]:.2f}")


if __name__ == "__main__":
    main()
