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
    hyper = [
        ("LoRA r / alpha / dropout", f"{config['lora_r']} / {config['lora_alpha']} / {config['lora_dropout']}"),
        ("LoRA target modules", ", ".join(config["target_modules"])),
        ("learning rate, schedule", f"{config['learning_rate']}, {config['lr_scheduler']}"),
        ("warm-up steps", config["warmup_steps"]),
        ("epochs / max steps", f"{config['epochs']} / {config['max_steps']}"),
        ("effective batch", config["effective_batch_size"]),
        ("per-device batch x grad. accumulation x processes",
         f"{config['per_device_batch_size']} x {info['gradient_accumulation_steps']} x {info['world_size']}"),
        ("max length (tokens)", config["max_length"]),
        ("packing", config["packing"]),
        ("gradient checkpointing", config["gradient_checkpointing"]),
        ("precision", info["precision"]),
        ("loss", "completion only"),
        ("seed", config["seed"]),
        ("optimizer steps", info["global_step"]),
    ]
    if config.get("sft"):
        hyper.append(("other SFTConfig values", config["sft"]))
    if config.get("lora"):
        hyper.append(("other LoraConfig values", config["lora"]))
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
