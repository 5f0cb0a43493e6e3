"""`medsyn train`: LoRA fine-tuning of a generator with TRL's SFTTrainer (MedSyn's 7B recipe as defaults).

Flags are those TRL's own scripts take (`SFTConfig` and `ModelConfig` fields, as `HfArgumentParser` makes them; read
from training/configs/trl_flags.json, so that parsing imports neither TRL nor torch), plus medsyn's few own settings
(`TrainArgs`): any SFTConfig or ModelConfig field is a flag and a `--config` YAML key. The parser builds TRL's classes
from the values once the flags are known to be right (`medsyn.config.Stored`), and returns them with `TrainArgs`,
as every command's parser returns its groups.
MedSyn's defaults come from training/configs/medsyn_defaults.yaml. Multi-GPU: run the same command under
`accelerate launch --config_file training/configs/accelerate_8gpu.yaml -m medsyn.cli train ...`.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from medsyn.config import ConfigParser
from medsyn.io import prepare_output
from medsyn.training.train import DEFAULTS, TrainArgs, TrainConfig, check_model, perplexity, train
from medsyn.training.trl_settings import trl_settings

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
# Names transformers 5.25 gave to settings whose old names now warn on every run; an older transformers knows only
# the old ones, which then take the new names too (the defaults file uses the new ones).
RENAMED = {"activation_checkpointing": "gradient_checkpointing",
           "activation_checkpointing_kwargs": "gradient_checkpointing_kwargs"}


def parser(prog: str = "medsyn train") -> ConfigParser:
    sft, model = trl_settings()
    parsed = ConfigParser([TrainArgs, sft, replace(model, check=check_model)], prog=prog, description=DESCRIPTION)
    for name, dest in ALIASES.items():
        parsed.alias(name, dest)
    for new, old in RENAMED.items():
        if new not in parsed.settings and old in parsed.settings:
            parsed.alias(new, old)
    return parsed


def parse(argv: list[str], prog: str = "medsyn train") -> TrainConfig:
    config = TrainConfig(*parser(prog).parse(argv, defaults=DEFAULTS))  # ModelConfig checked before TRL loads
    config.validate()
    return config


def main(argv: list[str], prog: str = "medsyn train") -> int:
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
