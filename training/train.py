"""Supervised fine-tuning of a causal LM with a LoRA adapter (TRL `SFTTrainer` + PEFT), the way MedSyn tuned
LLaMA-2-7B: r=16, alpha=16, dropout 0.05 on q/k/v/o, lr 2e-5 cosine with 100 warm-up steps, 5 epochs, effective
batch 256, 2,048 tokens, loss on the answer only.

Everything that can be wrong with the inputs (base model path, data columns, LoRA target modules, batch arithmetic)
is checked before the weights load, so a bad run fails in seconds. Checkpoints go to `OUT.work/checkpoints`; a rerun
of the same command resumes from the last complete one. The finished adapter is written to a temporary sibling of OUT
and renamed into place, so OUT is either absent or complete; it is a `save_pretrained` folder with a model card
(README.md), `training_info.json` and `generator_eval.json`, ready for `PeftModel.from_pretrained`, for
`medsyn build --backend transformers --adapter OUT` and for upload as a Hub model repo.

Prompts are rendered as the `transformers` backend renders them at generation time: with the tokenizer's chat
template when it has one (TRL's conversational prompt-completion path), else with `alpaca_prompt`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Literal

from medsyn.builder.generate.prompts import alpaca_prompt
from medsyn.errors import MedsynError
from medsyn.io import atomic_dir
from medsyn.options import option
from medsyn.training.generator_eval import evaluate_generator
from medsyn.training.ift import HELDOUT_SPLIT, TRAIN_SPLIT, load_instruction_data
from medsyn.training.model_card import hub_base_model, write_model_card

if TYPE_CHECKING:  # TRL's classes are built by the parser, after the flags are checked (`medsyn.config.Stored`)
    from trl import ModelConfig, SFTConfig

log = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("prompt", "completion")
DEFAULTS = Path(__file__).resolve().parent / "configs" / "medsyn_defaults.yaml"  # MedSyn's 7B recipe


@dataclass
class TrainArgs:
    """medsyn's own settings of `medsyn train`; everything else is a field of TRL's `SFTConfig` or `ModelConfig`."""

    data: Path = option(help="instruction data folder from `medsyn ift build`")
    out: Path = option(help="adapter output folder")
    effective_batch_size: int | None = option(None, "examples per optimizer step over all GPUs: sets "
                                              "gradient_accumulation_steps from the per-device batch and GPUs")
    precision: Literal["auto", "bf16", "fp16", "fp32"] = option(
        "auto", "auto: bf16 where supported, fp16 on older GPUs, fp32 on CPU (unless --bf16/--fp16 is given)")
    eval_samples: int = option(16, "notes generated from held-out prompts for generator_eval.json (0: none)")
    eval_max_new_tokens: int = option(256, "max new tokens of those notes")
    merge: bool = option(False, "also write base + adapter merged into one model")
    merged_out: Path | None = option(None, "folder of the merged model (default OUT-merged)")
    overwrite: bool = option(False, "replace existing output folders")
    quiet: bool = option(False, "no progress bars")

    def validate(self) -> None:
        if self.effective_batch_size is not None and self.effective_batch_size < 1:
            raise MedsynError(f"effective_batch_size must be >= 1, got {self.effective_batch_size}")
        if self.eval_samples < 0 or self.eval_max_new_tokens < 1:
            raise MedsynError("eval_samples must be >= 0 and eval_max_new_tokens >= 1")


@dataclass
class TrainConfig:
    """`medsyn train`'s settings: medsyn's own, TRL's SFTConfig and ModelConfig (LoRA), as TRL's scripts take them."""

    args: TrainArgs
    sft: SFTConfig
    model: ModelConfig

    def validate(self) -> None:
        self.args.validate()
        check_model(self.model)

    @property
    def base_model(self) -> str:
        return self.model.model_name_or_path

    @property
    def target_modules(self) -> list[str]:
        targets = self.model.lora_target_modules
        return [targets] if isinstance(targets, str) else list(targets)


def check_model(model: ModelConfig | SimpleNamespace) -> None:
    """The ModelConfig settings medsyn needs; `model` is a ModelConfig or, before TRL is imported, its values."""
    if not model.model_name_or_path:
        raise MedsynError("--model-name-or-path (--base-model) is required: a local model folder or a hub id")
    if not model.use_peft:
        raise MedsynError("medsyn train trains a LoRA adapter: --use-peft must stay true")
    if not model.lora_target_modules:
        raise MedsynError("--lora-target-modules must name at least one module, e.g. q_proj v_proj")


# --- checks before any weight loads ----------------------------------------------------------------------------


def check_base_model(name: str) -> str:
    """A path-looking name must be an existing model folder; a hub id (ORG/NAME) is left to the (offline) cache."""
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise MedsynError(f"--base-model {name}: folder has no config.json; pass a save_pretrained model folder")
        return str(path)
    if name.startswith((".", "/", "~")) or name.count("/") != 1:
        raise MedsynError(f"--base-model {name}: no such folder; pass a local model folder or a hub id like ORG/NAME")
    return name


def load_data(path: str | Path):
    """The instruction data with its columns checked: `train` (and optional `heldout`) with prompt, completion."""
    data = load_instruction_data(path)
    if TRAIN_SPLIT not in data:
        raise MedsynError(f"--data {path}: no `{TRAIN_SPLIT}` split (found {', '.join(data) or 'none'}); "
                          "write the folder with `medsyn ift build`")
    for split in (TRAIN_SPLIT, HELDOUT_SPLIT):
        if split not in data:
            continue
        missing = [c for c in REQUIRED_COLUMNS if c not in data[split].column_names]
        if missing:
            raise MedsynError(
                f"--data {path}: split `{split}` lacks column(s) {', '.join(missing)} (found "
                f"{', '.join(data[split].column_names)}); expected prompt-completion records as written by "
                "`medsyn ift build`"
            )
        if len(data[split]) == 0:
            raise MedsynError(f"--data {path}: split `{split}` is empty")
    return data


def check_target_modules(base_model: str, targets: list[str]) -> None:
    """Every LoRA target must name a module of the model; checked on an empty (meta) copy, before weights load."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    try:
        config = AutoConfig.from_pretrained(base_model)
    except (OSError, ValueError) as exc:
        raise MedsynError(f"--base-model {base_model}: cannot read its config ({exc})") from None
    with torch.device("meta"):
        skeleton = AutoModelForCausalLM.from_config(config)
    leaves = {name.rsplit(".", 1)[-1] for name, _ in skeleton.named_modules() if name}
    missing = [t for t in targets if t not in leaves and not any(n == t for n, _ in skeleton.named_modules())]
    if missing:
        linear = sorted({name.rsplit(".", 1)[-1] for name, module in skeleton.named_modules()
                         if isinstance(module, torch.nn.Linear)})
        raise MedsynError(
            f"LoRA target module(s) {', '.join(missing)} not in {base_model} ({config.model_type}); "
            f"its linear layers are: {', '.join(linear)}. Pass --target-modules with some of these"
        )


def resolve_precision(precision: str) -> str:
    """'auto': bf16 on GPUs that support it, fp16 on older GPUs, fp32 on CPU."""
    import torch

    if precision != "auto":
        if precision in ("bf16", "fp16") and not torch.cuda.is_available():
            raise MedsynError(f"--precision {precision} needs a GPU; use fp32 (or auto) on CPU")
        return precision
    if not torch.cuda.is_available():
        return "fp32"
    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


def gradient_accumulation(config: TrainConfig, world_size: int) -> int:
    per_device, effective = config.sft.per_device_train_batch_size, config.args.effective_batch_size
    if effective is None:
        return config.sft.gradient_accumulation_steps
    per_step = per_device * world_size
    if effective % per_step:
        raise MedsynError(
            f"effective batch {effective} is not a multiple of per-device batch {per_device} x {world_size} "
            "process(es); change --effective-batch-size or --per-device-batch-size"
        )
    return effective // per_step


# --- data formatting -----------------------------------------------------------------------------------------------


def for_tokenizer(dataset, tokenizer):
    """Keep conversational records for a tokenizer with a chat template; else render the prompt with
    `alpaca_prompt` and the completion as plain text, exactly as the transformers backend prompts at generation."""
    keep = [c for c in REQUIRED_COLUMNS]
    dataset = dataset.select_columns(keep)
    if getattr(tokenizer, "chat_template", None):
        return dataset
    first = dataset[0]
    if isinstance(first["prompt"], str):
        return dataset

    def render(example: dict) -> dict:
        completion = example["completion"]
        text = completion if isinstance(completion, str) else "".join(m["content"] for m in completion)
        return {"prompt": alpaca_prompt(example["prompt"]), "completion": text}

    return dataset.map(render, desc="Alpaca prompts")


# --- the run -------------------------------------------------------------------------------------------------------


@dataclass
class TrainResult:
    out: Path
    resumed_from: str | None
    global_step: int
    log_history: list[dict]
    eval_loss: float | None
    merged: Path | None = None


def work_dir(out: Path) -> Path:
    return out.with_name(out.name + ".work")


def last_complete_checkpoint(checkpoints: Path, remove_incomplete: bool = True) -> str | None:
    """The newest checkpoint a resume can load, or None.

    The Trainer writes a checkpoint file by file and `trainer_state.json` last, so a run killed while saving leaves a
    `checkpoint-N` folder without it (or with it cut short); resuming from that folder fails. Such folders are skipped
    (and removed, by the main process only), so the rerun falls back to the checkpoint before.
    """
    if not checkpoints.is_dir():
        return None
    found = []
    for path in checkpoints.glob("checkpoint-*"):
        step = path.name.removeprefix("checkpoint-")
        if path.is_dir() and step.isdigit():
            found.append((int(step), path))
    for _, path in sorted(found, reverse=True):
        try:
            json.loads((path / "trainer_state.json").read_text(encoding="utf-8"))
            return str(path)
        except (OSError, ValueError):
            log.warning("skipping %s: it was not completely written (the run was stopped while saving)", path)
            if remove_incomplete:
                shutil.rmtree(path, ignore_errors=True)
    return None


def sft_config(config: TrainConfig, output_dir: Path, precision: str, world_size: int):
    """The parsed SFTConfig with what medsyn decides at run time: checkpoint folder (unless --output_dir was
    given), gradient accumulation from --effective-batch-size, and mixed precision from --precision."""
    from trl import SFTConfig

    values = {f.name: getattr(config.sft, f.name) for f in dataclasses.fields(SFTConfig) if f.init}
    # "trainer_output" is what TrainingArguments puts in when --output_dir is not given: checkpoints then go to
    # OUT.work/checkpoints, where a rerun of the same command finds them.
    if values.get("output_dir") in (None, "trainer_output"):
        values["output_dir"] = str(output_dir)
    values["gradient_accumulation_steps"] = gradient_accumulation(config, world_size)
    values.update(bf16=precision == "bf16", fp16=precision == "fp16", use_cpu=precision == "fp32" and not _cuda())
    return SFTConfig(**values)


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def train(config: TrainConfig, progress: bool = True) -> TrainResult:
    """Check, train (resuming), evaluate, save the adapter with its card; optionally write a merged model."""
    config.validate()
    out, overwrite = Path(config.args.out), config.args.overwrite
    merge_out = (config.args.merged_out or out.with_name(out.name + "-merged")) if config.args.merge else None
    if out.exists() and not overwrite:
        raise MedsynError(f"{out} already exists; pass --overwrite to replace it or choose another --out")
    if merge_out is not None and Path(merge_out).exists() and not overwrite:
        raise MedsynError(f"{merge_out} already exists; pass --overwrite to replace it or choose another --merged-out")
    base = check_base_model(config.base_model)
    data = load_data(config.args.data)
    check_target_modules(base, config.target_modules)
    explicit = "bf16" if config.sft.bf16 else "fp16" if config.sft.fp16 else None
    precision = resolve_precision(explicit if config.args.precision == "auto" and explicit else config.args.precision)
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    gradient_accumulation(config, world_size)

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, set_seed
    from trl import SFTTrainer, get_peft_config

    set_seed(config.sft.seed)
    tokenizer = AutoTokenizer.from_pretrained(base)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision, torch.float32)
    model = AutoModelForCausalLM.from_pretrained(base, dtype=dtype)
    train_set = for_tokenizer(data[TRAIN_SPLIT], tokenizer)
    eval_set = for_tokenizer(data[HELDOUT_SPLIT], tokenizer) if HELDOUT_SPLIT in data else None

    lora = get_peft_config(config.model)
    args = sft_config(config, work_dir(out) / "checkpoints", precision, world_size)
    checkpoints = Path(args.output_dir)
    if not progress:
        args.disable_tqdm = True
    trainer = SFTTrainer(model=model, args=args, train_dataset=train_set, eval_dataset=eval_set,
                         processing_class=tokenizer, peft_config=lora)
    if len(trainer.train_dataset) == 0:
        raise MedsynError(
            f"no training example keeps any answer token within max_length {config.sft.max_length}: every prompt is "
            "longer; raise --max-length"
        )
    last = last_complete_checkpoint(checkpoints, remove_incomplete=trainer.is_world_process_zero())
    if last:
        log.info("resuming from %s", last)
    started = time.time()
    trainer.train(resume_from_checkpoint=last)
    metrics = trainer.evaluate() if eval_set is not None else {}
    eval_loss = metrics.get("eval_loss")
    result = TrainResult(out, last, trainer.state.global_step, list(trainer.state.log_history), eval_loss)
    if not trainer.is_world_process_zero():
        return result

    info = {
        "base_model": config.base_model,
        "base_model_hub_id": hub_base_model(config.base_model),  # what a published card may name; None: a local folder
        "data": str(config.args.data),
        "data_info": _data_info(config.args.data),
        "n_train": len(train_set),
        "n_heldout": len(eval_set) if eval_set is not None else 0,
        "prompt_format": "chat_template" if getattr(tokenizer, "chat_template", None) else "alpaca",
        "precision": precision,
        "world_size": world_size,
        "gradient_accumulation_steps": args.gradient_accumulation_steps,
        "config": {"medsyn": {k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(config.args).items()},
                   "sft": args.to_dict(), "model": dataclasses.asdict(config.model)},
        "global_step": trainer.state.global_step,
        "resumed_from": last,
        "train_seconds_this_run": round(time.time() - started, 1),
        "eval_loss": eval_loss,
        "log_history": trainer.state.log_history,
    }
    with atomic_dir(out, overwrite=overwrite) as tmp:
        trainer.model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / "training_info.json").write_text(json.dumps(info, ensure_ascii=False, indent=2, default=str) + "\n", "utf-8")
        evaluation = evaluate_generator(
            base, tmp, data[HELDOUT_SPLIT] if HELDOUT_SPLIT in data else data[TRAIN_SPLIT], eval_loss,
            n_samples=config.args.eval_samples, seed=config.sft.seed, max_new_tokens=config.args.eval_max_new_tokens,
        )
        write_model_card(tmp, info, evaluation)
    if merge_out is not None:
        result.merged = merge_adapter(base, out, merge_out, overwrite=overwrite)
    return result


def _data_info(data: str) -> dict:
    path = Path(data) / "ift_info.json"
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    return {}


def merge_adapter(base_model: str, adapter: str | Path, out: str | Path, overwrite: bool = False) -> Path:
    """Base weights + LoRA folded in, saved as a plain model folder (no PEFT needed to load it)."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = AutoModelForCausalLM.from_pretrained(base_model, dtype="auto")
    merged = PeftModel.from_pretrained(base, str(adapter)).merge_and_unload()
    with atomic_dir(out, overwrite=overwrite) as tmp:
        merged.save_pretrained(tmp)
        AutoTokenizer.from_pretrained(str(adapter)).save_pretrained(tmp)
    return Path(out)


def perplexity(loss: float | None) -> float | None:
    if loss is None:
        return None
    return math.exp(loss) if loss < 50 else float("inf")
