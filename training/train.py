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
from typing import Any

from medsyn.errors import MedsynError

log = logging.getLogger(__name__)

MEDSYN_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj"]
REQUIRED_COLUMNS = ("prompt", "completion")
PRECISIONS = ("auto", "bf16", "fp16", "fp32")


@dataclass
class TrainConfig:
    """MedSyn's 7B recipe as defaults; `sft` and `lora` pass any other SFTConfig / LoraConfig field through."""

    base_model: str | None = None
    data: str | None = None
    epochs: float = 5.0
    max_steps: int = -1  # > 0 overrides epochs
    learning_rate: float = 2e-5
    lr_scheduler: str = "cosine"
    warmup_steps: int = 100
    effective_batch_size: int = 256
    per_device_batch_size: int = 4
    max_length: int = 2048
    packing: bool = False
    gradient_checkpointing: bool = True
    precision: str = "auto"  # bf16 where supported, else fp16 on older GPUs, fp32 on CPU
    lora_r: int = 16
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    target_modules: list[str] = field(default_factory=lambda: list(MEDSYN_TARGETS))
    seed: int = 0
    logging_steps: int = 10
    save_steps: int = 200
    save_total_limit: int = 2
    eval_samples: int = 16  # notes generated from held-out prompts for generator_eval.json (0: none)
    eval_max_new_tokens: int = 256
    sft: dict[str, Any] = field(default_factory=dict)
    lora: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        if not self.base_model:
            raise MedsynError("--base-model is required (a local model folder or a hub id like ORG/NAME)")
        if not self.data:
            raise MedsynError("--data is required (a folder written by `medsyn ift build`)")
        for name in ("effective_batch_size", "per_device_batch_size", "max_length", "lora_r", "logging_steps",
                     "save_steps", "save_total_limit"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise MedsynError(f"{name} must be an integer >= 1, got {value!r}")
        if self.max_steps == 0 or self.max_steps < -1:
            raise MedsynError(f"max_steps must be > 0 (or -1 for --epochs), got {self.max_steps}")
        if not self.learning_rate > 0 or not self.epochs > 0 or self.warmup_steps < 0:
            raise MedsynError("learning_rate and epochs must be > 0 and warmup_steps >= 0")
        if not 0 <= self.lora_dropout < 1:
            raise MedsynError(f"lora_dropout must be in [0, 1), got {self.lora_dropout}")
        if self.precision not in PRECISIONS:
            raise MedsynError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if not self.target_modules:
            raise MedsynError("target_modules must name at least one module, e.g. q_proj v_proj")
        self._check_passthrough()

    def _check_passthrough(self) -> None:
        from peft import LoraConfig
        from trl import SFTConfig

        for name, cls, values in (("sft", SFTConfig, self.sft), ("lora", LoraConfig, self.lora)):
            known = {f.name for f in dataclasses.fields(cls)}
            unknown = sorted(set(values) - known)
            if unknown:
                import difflib

                hints = [f"{k} (did you mean {m[0]}?)" if (m := difflib.get_close_matches(k, known, n=1)) else k
                         for k in unknown]
                raise MedsynError(f"unknown {name} option(s) {', '.join(hints)}; see {cls.__name__}'s fields")

    @classmethod
    def from_sources(cls, yaml_path: str | Path | None, overrides: dict[str, Any]) -> "TrainConfig":
        """Defaults, then the YAML file, then flags (only those given)."""
        from medsyn.builder.config import read_yaml

        values: dict[str, Any] = {}
        if yaml_path:
            values.update(read_yaml(yaml_path, {f.name for f in dataclasses.fields(cls)}))
        for key in ("sft", "lora"):
            if key in values and not isinstance(values[key], dict):
                raise MedsynError(f"{yaml_path}: `{key}` must be a mapping of option: value")
            if overrides.get(key):
                values[key] = {**values.get(key, {}), **overrides.pop(key)}
        values.update({k: v for k, v in overrides.items() if v is not None})
        config = cls(**values)
        config.validate()
        return config


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
    from medsyn.training.ift import HELDOUT_SPLIT, TRAIN_SPLIT, load_instruction_data

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
    per_step = config.per_device_batch_size * world_size
    if config.effective_batch_size % per_step:
        raise MedsynError(
            f"effective batch {config.effective_batch_size} is not a multiple of per-device batch "
            f"{config.per_device_batch_size} x {world_size} process(es); change --effective-batch-size or "
            "--per-device-batch-size"
        )
    return config.effective_batch_size // per_step


# --- data formatting -----------------------------------------------------------------------------------------------


def for_tokenizer(dataset, tokenizer):
    """Keep conversational records for a tokenizer with a chat template; else render the prompt with
    `alpaca_prompt` and the completion as plain text, exactly as the transformers backend prompts at generation."""
    from medsyn.builder.backend_transformers import alpaca_prompt

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


def sft_config(config: TrainConfig, output_dir: Path, precision: str, has_eval: bool, world_size: int):
    from trl import SFTConfig

    values: dict[str, Any] = dict(
        output_dir=str(output_dir),
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler,
        warmup_steps=config.warmup_steps,
        per_device_train_batch_size=config.per_device_batch_size,
        per_device_eval_batch_size=config.per_device_batch_size,
        gradient_accumulation_steps=gradient_accumulation(config, world_size),
        max_length=config.max_length,
        packing=config.packing,
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        use_cpu=precision == "fp32" and not _cuda(),
        seed=config.seed,
        data_seed=config.seed,
        logging_steps=config.logging_steps,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        eval_strategy="no",
        report_to="none",
        completion_only_loss=True,
        disable_tqdm=False,
    )
    # Newer transformers name it activation checkpointing; older (<= 5.17, seen on GPU machines) gradient
    # checkpointing. Use whichever this installation's TrainingArguments has.
    name = "activation_checkpointing" if "activation_checkpointing" in SFTConfig.__dataclass_fields__ else "gradient_checkpointing"
    values[name] = config.gradient_checkpointing
    values[f"{name}_kwargs"] = {"use_reentrant": False} if config.gradient_checkpointing else None
    values.update(config.sft)
    return SFTConfig(**values)


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def train(config: TrainConfig, out: str | Path, overwrite: bool = False, merge_out: str | Path | None = None,
          progress: bool = True) -> TrainResult:
    """Check, train (resuming), evaluate, save the adapter with its card; optionally write a merged model."""
    out = Path(out)
    config.validate()
    if out.exists() and not overwrite:
        raise MedsynError(f"{out} already exists; pass --overwrite to replace it or choose another --out")
    if merge_out is not None and Path(merge_out).exists() and not overwrite:
        raise MedsynError(f"{merge_out} already exists; pass --overwrite to replace it or choose another --merged-out")
    base = check_base_model(config.base_model)
    data = load_data(config.data)
    check_target_modules(base, config.target_modules)
    precision = resolve_precision(config.precision)
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    gradient_accumulation(config, world_size)

    import torch
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, set_seed
    from trl import SFTTrainer

    from medsyn.training.ift import HELDOUT_SPLIT, TRAIN_SPLIT

    set_seed(config.seed)
    tokenizer = AutoTokenizer.from_pretrained(base)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision, torch.float32)
    model = AutoModelForCausalLM.from_pretrained(base, dtype=dtype)
    train_set = for_tokenizer(data[TRAIN_SPLIT], tokenizer)
    eval_set = for_tokenizer(data[HELDOUT_SPLIT], tokenizer) if HELDOUT_SPLIT in data else None

    lora = LoraConfig(**{
        "r": config.lora_r, "lora_alpha": config.lora_alpha, "lora_dropout": config.lora_dropout,
        "target_modules": list(config.target_modules), "task_type": "CAUSAL_LM", "bias": "none", **config.lora,
    })
    checkpoints = work_dir(out) / "checkpoints"
    args = sft_config(config, checkpoints, precision, eval_set is not None, world_size)
    if not progress:
        args.disable_tqdm = True
    trainer = SFTTrainer(model=model, args=args, train_dataset=train_set, eval_dataset=eval_set,
                         processing_class=tokenizer, peft_config=lora)
    if len(trainer.train_dataset) == 0:
        raise MedsynError(
            f"no training example keeps any answer token within max_length {config.max_length}: every prompt is "
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

    from medsyn.io import atomic_dir
    from medsyn.training.generator_eval import evaluate_generator
    from medsyn.training.model_card import write_model_card

    info = {
        "base_model": config.base_model,
        "data": str(config.data),
        "data_info": _data_info(config.data),
        "n_train": len(train_set),
        "n_heldout": len(eval_set) if eval_set is not None else 0,
        "prompt_format": "chat_template" if getattr(tokenizer, "chat_template", None) else "alpaca",
        "precision": precision,
        "world_size": world_size,
        "gradient_accumulation_steps": args.gradient_accumulation_steps,
        "config": dataclasses.asdict(config),
        "global_step": trainer.state.global_step,
        "resumed_from": last,
        "train_seconds_this_run": round(time.time() - started, 1),
        "eval_loss": eval_loss,
        "log_history": trainer.state.log_history,
    }
    with atomic_dir(out, overwrite=overwrite) as tmp:
        trainer.model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / "training_info.json").write_text(json.dumps(info, ensure_ascii=False, indent=2) + "\n", "utf-8")
        evaluation = evaluate_generator(
            base, tmp, data[HELDOUT_SPLIT] if HELDOUT_SPLIT in data else data[TRAIN_SPLIT], eval_loss,
            n_samples=config.eval_samples, seed=config.seed, max_new_tokens=config.eval_max_new_tokens,
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

    from medsyn.io import atomic_dir

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
