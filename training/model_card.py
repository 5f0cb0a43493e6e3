"""The README.md model card of a trained adapter: what a reader of the Hub model repo needs to reuse or judge it
(base model, data, hyperparameters, held-out loss, sample scores, how to load it). Metadata goes through
`huggingface_hub.ModelCardData`, so the front matter is what the Hub validates.

The card is public as soon as `medsyn push` uploads the folder, so it names the base model only by a Hub id (the
one training loaded, or one the user gives at push time) and the data only by folder name: a path of the training
machine means nothing to a reader and may say more than its owner wants published.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from medsyn.builder.corpus.provenance import public
from medsyn.errors import MedsynError
from medsyn.hub_ids import REPO_ID
from medsyn.training.generator_eval import EVAL_FILE

NO_BASE = ("Base model: a local model folder, so this card names none; name its Hub id with `medsyn push ADAPTER_DIR "
           "--repo-id ORG/NAME --version vX.Y --base-model BASE_ORG/BASE_NAME`.")


def hub_base_model(name: str) -> str | None:
    """The Hub id under which a base model may be published: `name` itself when training loaded it from the Hub,
    ORG/NAME when it is a snapshot folder of the Hub cache (`models--ORG--NAME/snapshots/REV`); None for any other
    local folder, which has no public name."""
    path = Path(name).expanduser()
    if not path.exists():
        return name if REPO_ID.match(name) else None
    parts = path.resolve().parts
    for i, part in enumerate(parts[:-2]):
        if part.startswith("models--") and parts[i + 1] == "snapshots":
            repo = part[len("models--"):].replace("--", "/")
            return repo if REPO_ID.match(repo) else None
    return None


def public_training_info(info: dict, base_model: str | None) -> dict:
    """training_info.json as published: local paths reduced to names, the base model by its Hub id or null."""
    out = public(info)
    out["base_model"] = out["base_model_hub_id"] = base_model
    config = out.get("config") or {}
    if isinstance(config.get("model"), dict):
        config["model"]["model_name_or_path"] = base_model
    for record, keys in ((out, ("resumed_from",)), (config.get("sft") or {}, ("output_dir", "logging_dir"))):
        for key in keys:
            if isinstance(record.get(key), str):
                record[key] = Path(record[key].rstrip("/\\")).name
    return out


def _table(rows: list[tuple[str, Any]]) -> str:
    lines = ["| | |", "| --- | --- |"]
    lines += [f"| {key} | {json.dumps(value, ensure_ascii=False) if isinstance(value, (list, dict)) else value} |"
              for key, value in rows]
    return "\n".join(lines)


def write_model_card(folder: str | Path, info: dict, evaluation: dict) -> Path:
    """README.md of a freshly trained adapter folder: already publishable as it is (no local path in it)."""
    from huggingface_hub import ModelCard

    path = Path(folder) / "README.md"
    ModelCard(render_model_card(info, evaluation, info.get("base_model_hub_id"))).save(path)
    return path


def render_model_card(
    info: dict, evaluation: dict, base_model: str | None, repo_id: str | None = None, version: str | None = None
) -> str:
    """The card text; `repo_id`/`version` (at push time) make the loading snippet name the published revision."""
    from huggingface_hub import ModelCard, ModelCardData

    config = info["config"]
    data = ModelCardData(
        base_model=base_model,
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
    data_info = {key: public(value, "path") for key, value in (info.get("data_info") or {}).items()}  # names only
    base_line = f"Base model: [{base_model}](https://huggingface.co/{base_model})." if base_model else NO_BASE
    base_name = base_model or "BASE_MODEL"
    adapter = f'"{repo_id}", revision="{version}"' if repo_id and version else '"PATH_OR_REPO_OF_THIS_ADAPTER"'
    body = f"""
# MedSyn generator adapter (LoRA{f' on {base_model}' if base_model else ''})

A LoRA adapter that turns MedSyn prompts (ICD-10 code prior: symptoms, demographics, optionally a style example)
into Russian outpatient notes. Trained with `medsyn train` (TRL `SFTTrainer` + PEFT) on instruction data written
by `medsyn ift build`. Prompts are rendered with the {'tokenizer chat template' if info['prompt_format'] == 'chat_template' else 'Alpaca template (`### Задание:` / `### Вход:` / `### Ответ:`)'}.

{base_line}

## Data

- folder: `{Path(str(info['data']).rstrip('/')).name}` ({info['n_train']} training pairs, {info['n_heldout']} held out)
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

base = AutoModelForCausalLM.from_pretrained("{base_name}")
model = PeftModel.from_pretrained(base, {adapter})
```

or build a corpus with it:

```bash
medsyn build --backend transformers --model {base_name} --adapter PATH_OF_THIS_ADAPTER --out corpus --n 200
```
"""
    return str(ModelCard(f"---\n{data.to_yaml()}\n---\n{body}"))


def base_model_of(folder: Path, given: str | None) -> str | None:
    """The Hub id a published model card names as base: `--base-model`, else the one training recorded, else the
    adapter config's when it is a Hub id; None when the base was a local folder (its path is never published)."""
    if given:
        return given
    info_path = folder / "training_info.json"
    if info_path.is_file():
        info = json.loads(info_path.read_text(encoding="utf-8"))
        return info["base_model_hub_id"] if "base_model_hub_id" in info else hub_base_model(info.get("base_model") or "")
    adapter = folder / "adapter_config.json"
    if adapter.is_file():
        return hub_base_model(json.loads(adapter.read_text(encoding="utf-8")).get("base_model_name_or_path") or "")
    return None


def model_card_text(folder: Path, repo_id: str, version: str, base_model: str | None = None) -> str:
    """A `medsyn train` folder's card rendered again for this repo and version; else the folder's own README if it
    has one (it must parse); else a short generated model card. Every one names the base model only as `base_model`."""
    from huggingface_hub import ModelCard, ModelCardData

    info_path, readme = folder / "training_info.json", folder / "README.md"
    if info_path.is_file():
        info = json.loads(info_path.read_text(encoding="utf-8"))
        evaluation = json.loads((folder / EVAL_FILE).read_text(encoding="utf-8")) if (folder / EVAL_FILE).is_file() else {}
        return render_model_card(info, evaluation, base_model, repo_id, version)
    if readme.is_file():
        try:
            card = ModelCard(readme.read_text(encoding="utf-8"))
        except Exception as err:  # yaml / ValueError from the metadata parser
            raise MedsynError(f"{readme}: its YAML metadata does not parse ({err}); fix it or remove the file")
        named = card.data.base_model
        if base_model:
            card.data.base_model = base_model
        elif isinstance(named, str) and hub_base_model(named) is None:  # a hand-written local path is not published
            card.data.base_model = None
        return str(card)
    adapter = folder / "adapter_config.json"
    data = ModelCardData(
        language=["ru"],
        library_name="peft" if adapter.is_file() else "transformers",
        base_model=base_model,
        tags=["medsyn", "medical", "synthetic", "clinical-notes", "text-generation"],
        pipeline_tag="text-generation",
    )
    kind = "LoRA adapter" if adapter.is_file() else "model"
    base = f"Base model: {base_model}. " if base_model else ("Base model: see config.json. " if not adapter.is_file()
                                                            else "Base model: not named (trained from a local folder). ")
    description = (
        f"A {kind} trained with medsyn to write Russian synthetic clinical notes from a prompt built on a medical "
        f"knowledge-graph prior (a MedSyn re-implementation). {base}"
        f"Version {version}; load it pinned with `revision=\"{version}\"`. "
        "Not for clinical use: its output is machine-generated text that may be medically wrong."
    )
    return str(ModelCard.from_template(data, model_id=repo_id, model_description=description))
