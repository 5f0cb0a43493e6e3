"""The README.md model card of a trained adapter: what a reader of the Hub model repo needs to reuse or judge it
(base model, data, hyperparameters, held-out loss, sample scores, how to load it). Metadata goes through
`huggingface_hub.ModelCardData`, so the front matter is what the Hub validates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _table(rows: list[tuple[str, Any]]) -> str:
    lines = ["| | |", "| --- | --- |"]
    lines += [f"| {key} | {json.dumps(value, ensure_ascii=False) if isinstance(value, (list, dict)) else value} |"
              for key, value in rows]
    return "\n".join(lines)


def write_model_card(folder: str | Path, info: dict, evaluation: dict) -> Path:
    from huggingface_hub import ModelCard, ModelCardData

    config = info["config"]
    data = ModelCardData(
        base_model=info["base_model"],
        language="ru",
        library_name="peft",
        pipeline_tag="text-generation",
        tags=["medsyn", "lora", "sft", "trl", "medical", "clinical-notes"],
    )
    sft, lora, ours = config["sft"], config["model"], config["medsyn"]
    targets = lora["lora_target_modules"]
    hyper = [
        ("LoRA r / alpha / dropout", f"{lora['lora_r']} / {lora['lora_alpha']} / {lora['lora_dropout']}"),
        ("LoRA target modules", targets if isinstance(targets, str) else ", ".join(targets)),
        ("learning rate, schedule", f"{sft['learning_rate']}, {sft['lr_scheduler_type']}"),
        ("warm-up steps", sft["warmup_steps"]),
        ("epochs / max steps", f"{sft['num_train_epochs']} / {sft['max_steps']}"),
        ("effective batch", ours["effective_batch_size"]),
        ("per-device batch x grad. accumulation x processes",
         f"{sft['per_device_train_batch_size']} x {info['gradient_accumulation_steps']} x {info['world_size']}"),
        ("max length (tokens)", sft["max_length"]),
        ("packing", sft["packing"]),
        ("gradient checkpointing", sft.get("gradient_checkpointing") or sft.get("activation_checkpointing")),
        ("precision", info["precision"]),
        ("loss", "completion only" if sft.get("completion_only_loss") is not False else "whole sequence"),
        ("seed", sft["seed"]),
        ("optimizer steps", info["global_step"]),
    ]
    sample = evaluation.get("sample", {})
    results = [
        ("held-out loss", evaluation.get("heldout_loss")),
        ("held-out perplexity", evaluation.get("heldout_perplexity")),
    ] + [(f"sample: {key}", value) for key, value in sample.items()]
    data_info = info.get("data_info", {})
    body = f"""
# MedSyn generator adapter (LoRA on {info['base_model']})

A LoRA adapter that turns MedSyn prompts (ICD-10 code prior: symptoms, demographics, optionally a style example)
into Russian outpatient notes. Trained with `medsyn train` (TRL `SFTTrainer` + PEFT) on instruction data written
by `medsyn ift build`. Prompts are rendered with the {'tokenizer chat template' if info['prompt_format'] == 'chat_template' else 'Alpaca template (`### Задание:` / `### Вход:` / `### Ответ:`)'}.

## Data

- folder: `{info['data']}` ({info['n_train']} training pairs, {info['n_heldout']} held out)
- notes: `{data_info.get('notes', 'unknown')}`; symptom markup: `{data_info.get('markup', 'unknown')}`
- benchmark dev/test notes excluded: {', '.join(data_info.get('excluded_files', [])) or 'not recorded'}

## Hyperparameters

{_table(hyper)}

## Evaluation

{_table(results)}

## Use

```python
from transformers import AutoModelForCausalLM
from peft import PeftModel

base = AutoModelForCausalLM.from_pretrained("{info['base_model']}")
model = PeftModel.from_pretrained(base, "PATH_OR_REPO_OF_THIS_ADAPTER")
```

or build a corpus with it:

```bash
medsyn build --backend transformers --model {info['base_model']} --adapter PATH_OF_THIS_ADAPTER --out corpus --n 200
```
"""
    card = ModelCard(f"---\n{data.to_yaml()}\n---\n{body}")
    path = Path(folder) / "README.md"
    card.save(path)
    return path
