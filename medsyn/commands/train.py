"""`medsyn train`: LoRA fine-tuning of a generator with TRL's SFTTrainer (MedSyn's 7B recipe as defaults).

Every TrainConfig field is a flag and a YAML key (`--config`); any other SFTConfig / LoraConfig field goes through
`--sft KEY=VALUE` / `--lora KEY=VALUE` or the YAML mappings `sft:` / `lora:`. Multi-GPU: run the same command under
`accelerate launch --config_file training/configs/accelerate_8gpu.yaml -m medsyn.cli train ...`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from medsyn.commands.dataclass_flags import add_dataclass_flags, dataclass_overrides

HELP = {
    "base_model": "base model: local folder or hub id (required)",
    "data": "instruction data folder from `medsyn ift build` (required)",
    "epochs": "training epochs (default 5)",
    "max_steps": "stop after N optimizer steps (overrides --epochs; default -1: off)",
    "learning_rate": "peak learning rate (default 2e-5)",
    "lr_scheduler": "transformers scheduler name (default cosine)",
    "warmup_steps": "warm-up steps (default 100)",
    "effective_batch_size": "examples per optimizer step over all GPUs (default 256)",
    "per_device_batch_size": "examples per forward pass per GPU (default 4); accumulation makes up the rest",
    "max_length": "tokens per example, or per packed block (default 2048)",
    "packing": "pack examples into max_length blocks (true/false, default false)",
    "gradient_checkpointing": "recompute activations to save memory (true/false, default true)",
    "precision": "auto (bf16 where supported, fp32 on CPU) | bf16 | fp16 | fp32",
    "lora_r": "LoRA rank (default 16)",
    "lora_alpha": "LoRA alpha (default 16)",
    "lora_dropout": "LoRA dropout (default 0.05)",
    "target_modules": "modules LoRA adapts (default q_proj k_proj v_proj o_proj)",
    "seed": "seed of initialisation, shuffling and dropout (default 0)",
    "logging_steps": "log every N steps (default 10)",
    "save_steps": "checkpoint every N steps, for resuming (default 200)",
    "save_total_limit": "checkpoints kept (default 2)",
    "eval_samples": "notes generated from held-out prompts for generator_eval.json (default 16; 0: none)",
    "eval_max_new_tokens": "max new tokens of those notes (default 256)",
    "sft": "any other trl.SFTConfig field, e.g. weight_decay=0.01 optim=adamw_torch_fused",
    "lora": "any other peft.LoraConfig field, e.g. use_rslora=true",
}


def add_parser(subparsers) -> None:
    from medsyn.training.train import TrainConfig

    parser = subparsers.add_parser(
        "train",
        help="fine-tune a generator with LoRA (TRL SFTTrainer)",
        description="Fine-tune a causal LM on `medsyn ift build` data with a LoRA adapter (loss on the answer only). "
        "Checks inputs before loading weights, checkpoints to OUT.work and resumes from it when rerun, writes the "
        "adapter with a model card, training_info.json and generator_eval.json to OUT.",
    )
    parser.add_argument("--config", type=Path, help="YAML file with any of the options below (flags win)")
    parser.add_argument("--out", type=Path, required=True, help="adapter output folder")
    parser.add_argument("--merge", action="store_true", help="also write base + adapter merged into one model")
    parser.add_argument("--merged-out", type=Path, help="folder of the merged model (default OUT-merged)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing output folders")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    add_dataclass_flags(parser, TrainConfig, HELP)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from medsyn.training.train import TrainConfig, perplexity, train

    from medsyn.io import prepare_output

    config = TrainConfig.from_sources(args.config, dataclass_overrides(args, TrainConfig))
    merge_out = (args.merged_out or args.out.with_name(args.out.name + "-merged")) if args.merge else None
    for folder, flag in ((args.out, "--out"), (merge_out, "--merged-out")):
        if folder is not None:  # before any weights load
            prepare_output(folder, args.overwrite, flag)
    result = train(config, args.out, overwrite=args.overwrite, merge_out=merge_out, progress=not args.quiet)
    resumed = f", resumed from {result.resumed_from}" if result.resumed_from else ""
    loss = f", held-out loss {result.eval_loss:.4f} (perplexity {perplexity(result.eval_loss):.2f})" \
        if result.eval_loss is not None else ""
    print(f"trained {result.global_step} steps{resumed}{loss}; adapter in {result.out}"
          + (f", merged model in {result.merged}" if result.merged else ""), file=sys.stderr)
    return 0
