"""`medsyn train`: LoRA fine-tuning of a generator with TRL's SFTTrainer (MedSyn's 7B recipe as defaults).

Flags are parsed the way TRL's own scripts parse them (`TrlParser` over `SFTConfig` and `ModelConfig`), plus
medsyn's few own settings (`TrainArgs`): any SFTConfig or ModelConfig field is a flag and a `--config` YAML key.
MedSyn's defaults come from training/configs/medsyn_defaults.yaml. Multi-GPU: run the same command under
`accelerate launch --config_file training/configs/accelerate_8gpu.yaml -m medsyn.cli train ...`.
"""

from __future__ import annotations

import sys
from pathlib import Path

HELP = "fine-tune a generator with LoRA (TRL SFTTrainer)"
DESCRIPTION = (
    "Fine-tune a causal LM on `medsyn ift build` data with a LoRA adapter (loss on the answer only). Checks inputs "
    "before loading weights, checkpoints to OUT.work and resumes from it when rerun, writes the adapter with a "
    "model card, training_info.json and generator_eval.json to OUT. Every trl.SFTConfig and trl.ModelConfig field "
    "is a flag; defaults are MedSyn's 7B recipe (training/configs/medsyn_defaults.yaml)."
)
# medsyn's earlier flag names, still accepted (flags and YAML keys) for the TRL fields they set.
ALIASES = {
    "base_model": "model_name_or_path",
    "epochs": "num_train_epochs",
    "per_device_batch_size": "per_device_train_batch_size",
    "lr_scheduler": "lr_scheduler_type",
    "target_modules": "lora_target_modules",
}


def parser(prog: str = "medsyn train"):
    from trl import ModelConfig, SFTConfig, TrlParser

    from medsyn.config import ConfigParser
    from medsyn.training.train import TrainArgs

    class TrainParser(ConfigParser, TrlParser):
        """TRL's parser, with medsyn's --config handling (paths against the file, one-line errors)."""

    parsed = TrainParser([TrainArgs, SFTConfig, ModelConfig], prog=prog, description=DESCRIPTION)
    for name, dest in ALIASES.items():
        parsed.alias(name, dest)
    return parsed


def parse(argv: list[str], prog: str = "medsyn train"):
    from medsyn.training.train import DEFAULTS, TrainConfig

    args, sft, model = parser(prog).parse(argv, defaults=DEFAULTS)
    config = TrainConfig(args, sft, model)
    config.validate()
    return config


def main(argv: list[str], prog: str = "medsyn train") -> int:
    from medsyn.training.train import perplexity, train

    from medsyn.io import prepare_output

    config = parse(argv, prog)
    out = Path(config.args.out)
    merge_out = (config.args.merged_out or out.with_name(out.name + "-merged")) if config.args.merge else None
    for folder, flag in ((out, "--out"), (merge_out, "--merged-out")):
        if folder is not None:  # before any weights load
            prepare_output(folder, config.args.overwrite, flag)
    result = train(config, progress=not config.args.quiet)
    resumed = f", resumed from {result.resumed_from}" if result.resumed_from else ""
    loss = f", held-out loss {result.eval_loss:.4f} (perplexity {perplexity(result.eval_loss):.2f})" \
        if result.eval_loss is not None else ""
    print(f"trained {result.global_step} steps{resumed}{loss}; adapter in {result.out}"
          + (f", merged model in {result.merged}" if result.merged else ""), file=sys.stderr)
    return 0
