"""Instruction data from the open RuMedTop3 notes, LoRA training of a tiny LLaMA built here, resuming, merging, and
building a corpus with the adapter; bad inputs fail before training starts."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from medsyn.cli import main
from medsyn.errors import MedsynError
from tests.hub_emulator import hub  # noqa: F401  (the fixture)

N_NOTES = 40
TRAIN_FLAGS = [
    "--max-length", "768", "--per-device-batch-size", "4", "--effective-batch-size", "4",
    "--learning-rate", "2e-2", "--warmup-steps", "0", "--gradient-checkpointing", "false",
    "--logging-steps", "1", "--save-steps", "2", "--eval-samples", "2", "--eval-max-new-tokens", "8", "--quiet",
]


@pytest.fixture(scope="module")
def top3(shared_data) -> Path:
    return shared_data / "rumedbench" / "RuMedTop3"


@pytest.fixture(scope="module")
def markup(shared_data) -> Path:
    return shared_data / "rumedbench" / "raw" / "rec_markup.csv"


@pytest.fixture(scope="module")
def small_notes(tmp_path_factory, top3) -> Path:
    """The first notes of the real training split (kept in a temp folder, never in the repo)."""
    path = tmp_path_factory.mktemp("notes") / "train_small.jsonl"
    with open(top3 / "train_v1.jsonl", encoding="utf-8") as handle:
        path.write_text("".join(next(handle) for _ in range(N_NOTES)), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def ift_dir(tmp_path_factory, small_notes, markup, top3) -> Path:
    out = tmp_path_factory.mktemp("ift") / "data"
    assert main(["ift", "build", "--notes", str(small_notes), "--markup", str(markup), "--out", str(out),
                 "--heldout-share", "0.15", "--exclude", str(top3 / "dev_v1.jsonl"), "--quiet"]) == 0
    return out


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    from tests.tiny_models import make_tiny_llama

    return make_tiny_llama(tmp_path_factory.mktemp("models") / "tiny")


def test_instruction_pairs_are_builder_prompts_for_real_notes(ift_dir, small_notes, top3):
    from medsyn.builder.kg.graph import load_graph
    from medsyn.builder.generate.prompts import PromptBuilder
    from medsyn.builder.kg.sources import read_notes
    from medsyn.training.ift import check_no_leak, load_instruction_data, note_prior

    data = load_instruction_data(ift_dir)
    assert set(data) == {"train", "heldout"} and len(data["heldout"]) >= 1
    notes = {note.note_id: note for note in read_notes(small_notes)}
    graph = load_graph()
    families = set()
    for row in list(data["train"]) + list(data["heldout"]):
        note = notes[row["note_id"]]
        assert row["completion"] == [{"role": "assistant", "content": note.text.strip()}]
        assert row["example_id"] != row["note_id"]
        prior = note_prior(note, graph, row["symptoms"], seed=0)
        examples = [n for n in notes.values() if n.note_id == row["example_id"]]
        rebuilt = PromptBuilder(examples=examples, graph=graph).build(prior, family=row["prompt_family"],
                                                         template=row["prompt_template"])
        assert row["prompt"] == rebuilt.messages  # exactly what the builder sends for this prior
        assert row["symptoms"] and all(s in row["prompt"][1]["content"] for s in row["symptoms"])
        families.add(row["prompt_family"])
    assert families == {"symptoms", "example"}
    check_no_leak(ift_dir, [top3 / "dev_v1.jsonl"])
    info = json.loads((ift_dir / "ift_info.json").read_text(encoding="utf-8"))
    assert info["splits"]["train"] == len(data["train"])


def test_benchmark_notes_never_enter(tmp_path, small_notes, markup, top3):
    from medsyn.training.ift import build_instruction_data

    with pytest.raises(MedsynError, match="dev/test split"):
        build_instruction_data(top3 / "dev_v1.jsonl", markup, tmp_path / "a", progress=False)
    mixed = tmp_path / "train_mixed.jsonl"
    with open(top3 / "dev_v1.jsonl", encoding="utf-8") as dev:
        mixed.write_text(small_notes.read_text(encoding="utf-8") + next(dev), encoding="utf-8")
    with pytest.raises(MedsynError, match="also in the benchmark"):
        build_instruction_data(mixed, markup, tmp_path / "b", exclude=[top3 / "dev_v1.jsonl"], progress=False)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_instruction_folders_of_the_same_name_load_their_own_rows(tmp_path):
    """`medsyn train --data FOLDER` reads with a plain load_dataset, whose cache datasets keys by the folder's name
    and card: two instruction folders named alike, loaded with one HF_HOME, must each give their own pairs."""
    import os
    import subprocess
    import sys

    from medsyn.training.ift import write_splits

    folders = [tmp_path / parent / "ift" for parent in ("a", "b")]
    for n, folder in zip((2, 3), folders):
        folder.mkdir(parents=True)
        write_splits(folder, {"train": [{"prompt": f"жалобы {i}", "completion": f"запись {i}"} for i in range(n)]})
    code = ("import sys; from medsyn.training.ift import load_instruction_data as load; "
            "print([len(load(folder)['train']) for folder in sys.argv[1:]])")  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in ("HF_DATASETS_CACHE", "HF_HOME")}
    env.update(HF_HOME=str(tmp_path / "hf_home"), HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    done = subprocess.run([sys.executable, "-c", code, *map(str, folders)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["[2,", "3]"]


def _losses(info: dict) -> list[float]:
    return [entry["loss"] for entry in info["log_history"] if "loss" in entry]


def test_train_resume_merge_and_build(tmp_path, tiny_model, ift_dir):
    import datasets
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from medsyn.builder.corpus.config import BuildConfig
    from medsyn.builder.corpus.build import build_corpus

    adapter = tmp_path / "adapter"
    base = ["train", "--base-model", str(tiny_model), "--data", str(ift_dir), "--out", str(adapter), *TRAIN_FLAGS]
    assert main([*base, "--max-steps", "2"]) == 0
    first = json.loads((adapter / "training_info.json").read_text(encoding="utf-8"))
    assert first["global_step"] == 2 and first["resumed_from"] is None
    assert (adapter.with_name("adapter.work") / "checkpoints" / "checkpoint-2").is_dir()

    # A longer rerun of the same command resumes from the checkpoint instead of starting over.
    assert main([*base, "--max-steps", "6", "--overwrite", "--merge"]) == 0
    info = json.loads((adapter / "training_info.json").read_text(encoding="utf-8"))
    assert info["global_step"] == 6 and info["resumed_from"].endswith("checkpoint-2")
    losses = _losses(info)
    assert len(losses) == 6 and losses[-1] < losses[0]
    assert losses[:2] == pytest.approx(_losses(first), rel=1e-4)  # the first steps are the restored ones

    for name in ("adapter_config.json", "adapter_model.safetensors", "README.md", "generator_eval.json"):
        assert (adapter / name).is_file(), name
    card = (adapter / "README.md").read_text(encoding="utf-8")
    assert "library_name: peft" in card and "held-out loss" in card
    assert "base_model:" not in card and str(tiny_model) not in card  # a local base: named by no path
    evaluation = json.loads((adapter / "generator_eval.json").read_text(encoding="utf-8"))
    assert evaluation["heldout_loss"] == pytest.approx(info["eval_loss"])
    assert evaluation["sample"]["n"] == 2 and 0 <= evaluation["sample"]["leakage_rate"] <= 1

    # Reload the adapter; the merged model computes the same logits without PEFT.
    ids = torch.tensor([[1, 5, 9, 17, 33, 2]])
    peft_model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model), adapter).eval()
    merged = AutoModelForCausalLM.from_pretrained(tmp_path / "adapter-merged").eval()
    plain = AutoModelForCausalLM.from_pretrained(tiny_model).eval()
    with torch.no_grad():
        tuned_logits = peft_model(ids).logits
        assert torch.allclose(tuned_logits, merged(ids).logits, atol=1e-4)
        assert not torch.allclose(tuned_logits, plain(ids).logits, atol=1e-4)  # the adapter changed something

    config = BuildConfig.of(out=tmp_path / "corpus", n=3, backend="transformers", model=str(tiny_model),
                            adapter=str(adapter), max_new_tokens=8, max_failure_rate=1.0, families=["symptoms=1"],
                            min_symptom_recall=0.0, min_cyrillic_share=0.0, min_words=0)
    from medsyn.dataset_card.card import write_card

    build_corpus(config, progress=False, extra_files=write_card)
    rows = datasets.load_dataset(str(tmp_path / "corpus"), "unfiltered", split="train", cache_dir=str(tmp_path / "ds-cache"))
    assert len(rows) >= 1 and set(rows["generation_model"]) == {f"{tiny_model}+{adapter}"}


def test_pushed_adapter_of_a_local_base_names_no_local_path(tmp_path, tiny_model, ift_dir, hub):  # noqa: F811
    from huggingface_hub import ModelCard

    from tests.dataset_card.test_push import cli

    adapter = tmp_path / "adapter"
    assert main(["train", "--base-model", str(tiny_model), "--data", str(ift_dir), "--out", str(adapter), *TRAIN_FLAGS,
                 "--max-steps", "2", "--eval-samples", "1"]) == 0
    local = {str(tiny_model.parent.parent), str(tmp_path), str(ift_dir.parent)}  # every folder this run touched

    def no_local_path(files: dict[str, bytes], where: str) -> None:
        for name, data in files.items():
            if name.endswith((".json", ".md", ".jinja", ".txt")):
                text = data.decode("utf-8")
                assert not [p for p in local if p in text], f"{where}: {name} names a local path"
                if name.endswith(".json") and name != "tokenizer.json":
                    strings = re.findall(r'"((?:[^"\\]|\\.)*)"', text)
                    assert not [s for s in strings if s.startswith(("/", "~", "./", "../"))], f"{where}: {name}"

    no_local_path({"README.md": (adapter / "README.md").read_bytes()}, "local card")
    env = hub.client_env(tmp_path / "hf_home")
    repo_id = "medsyn-org/tiny-adapter"
    first = cli(env, str(adapter), "--repo-id", repo_id, "--version", "v0.1")
    assert first.returncode == 0, first.stderr[-3000:]
    assert "--base-model" in first.stderr  # says how to name the base the card could not
    repo = hub.repo(repo_id, "model")
    files = {name: blob.data for name, blob in repo.commits[repo.tags["v0.1"]].files.items()}
    no_local_path(files, "v0.1")
    card = ModelCard(files["README.md"].decode())
    assert card.data.base_model is None and "--base-model" in card.text
    assert json.loads(files["adapter_config.json"])["base_model_name_or_path"] is None
    assert files["adapter_model.safetensors"] == (adapter / "adapter_model.safetensors").read_bytes()

    second = cli(env, str(adapter), "--repo-id", repo_id, "--version", "v0.2", "--base-model", "medsyn-org/tiny-base")
    assert second.returncode == 0, second.stderr[-3000:]
    files = {name: blob.data for name, blob in repo.commits[repo.tags["v0.2"]].files.items()}
    no_local_path(files, "v0.2")
    card = ModelCard(files["README.md"].decode())
    assert card.data.base_model == "medsyn-org/tiny-base" and 'from_pretrained("medsyn-org/tiny-base")' in card.text
    assert f'"{repo_id}", revision="v0.2"' in card.text
    assert json.loads(files["adapter_config.json"])["base_model_name_or_path"] == "medsyn-org/tiny-base"
    assert json.loads(files["training_info.json"])["config"]["model"]["model_name_or_path"] == "medsyn-org/tiny-base"


def test_base_model_hub_id_is_the_id_or_the_hub_cache_snapshot_never_a_folder(tmp_path, tiny_model):
    from medsyn.training.model_card import hub_base_model

    snapshot = tmp_path / "hub" / "models--medsyn-org--tiny-llama" / "snapshots" / "0123abc"
    shutil.copytree(tiny_model, snapshot)
    assert hub_base_model(str(snapshot)) == "medsyn-org/tiny-llama"  # loaded from the Hub, through its cache
    assert hub_base_model("medsyn-org/tiny-llama") == "medsyn-org/tiny-llama"
    assert hub_base_model(str(tiny_model)) is None
    (tmp_path / "models").mkdir()
    shutil.copytree(tiny_model, tmp_path / "models" / "tiny")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)
        assert hub_base_model("models/tiny") is None  # shaped like ORG/NAME, but a folder here


def test_a_killed_training_run_resumes_from_its_last_checkpoint(tmp_path, tiny_model, ift_dir):
    import signal
    import subprocess
    import sys
    import time

    adapter = tmp_path / "adapter"
    checkpoints = tmp_path / "adapter.work" / "checkpoints"
    command = [sys.executable, "-m", "medsyn.cli", "train", "--base-model", str(tiny_model), "--data", str(ift_dir),
               "--out", str(adapter), *TRAIN_FLAGS, "--max-steps", "40", "--eval-samples", "0"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while not list(checkpoints.glob("checkpoint-*/trainer_state.json")) and proc.poll() is None \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    saved = sorted(int(p.parent.name.split("-")[1]) for p in checkpoints.glob("checkpoint-*/trainer_state.json"))
    assert saved and saved[-1] < 40 and not adapter.exists()  # killed mid-run: no adapter yet
    # The kill may also have landed while a later checkpoint was being written; make sure one such half-written
    # folder is there: a complete checkpoint without the trainer state the Trainer writes last.
    half = checkpoints / f"checkpoint-{saved[-1] + 1}"
    if not half.exists():
        shutil.copytree(checkpoints / f"checkpoint-{saved[-1]}", half)
        (half / "trainer_state.json").unlink()

    run = subprocess.run(command, capture_output=True, text=True)  # the same command again
    assert run.returncode == 0, run.stderr[-3000:]
    info = json.loads((adapter / "training_info.json").read_text(encoding="utf-8"))
    assert info["global_step"] == 40
    assert info["resumed_from"] is not None and int(info["resumed_from"].rsplit("-", 1)[1]) >= saved[-1]
    assert "not completely written" in run.stderr and not half.exists()


def test_bad_inputs_fail_before_training(tmp_path, tiny_model, ift_dir, capsys):
    import datasets

    out = tmp_path / "adapter"
    common = ["train", "--out", str(out), "--quiet", "--max-steps", "1"]

    assert main([*common, "--base-model", str(tmp_path / "missing"), "--data", str(ift_dir)]) == 2
    assert "no such folder" in capsys.readouterr().err

    wrong = tmp_path / "wrong"
    datasets.Dataset.from_list([{"text": "a"}]).to_parquet(str(wrong / "data" / "train.parquet"))
    assert main([*common, "--base-model", str(tiny_model), "--data", str(wrong)]) == 2
    assert "lacks column(s) prompt, completion" in capsys.readouterr().err

    assert main([*common, "--base-model", str(tiny_model), "--data", str(ift_dir),
                 "--target-modules", "q_proj", "query_key_value"]) == 2
    err = capsys.readouterr().err
    assert "query_key_value not in" in err and "q_proj" in err

    assert main([*common, "--base-model", str(tiny_model), "--data", str(ift_dir), "--learning_rat", "1"]) == 2
    assert "did you mean --learning_rate" in capsys.readouterr().err

    assert not out.exists() and not out.with_name("adapter.work").exists()


def test_resume_skips_checkpoints_that_were_cut_short(tmp_path):
    from medsyn.training.train import last_complete_checkpoint

    assert last_complete_checkpoint(tmp_path / "none") is None
    for step, state in [(2, '{"global_step": 2}'), (10, '{"global_step": 10}'), (12, '{"global_st'), (14, None)]:
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        if state is not None:
            (folder / "trainer_state.json").write_text(state, encoding="utf-8")
    (tmp_path / "checkpoint-final").mkdir()
    assert last_complete_checkpoint(tmp_path) == str(tmp_path / "checkpoint-10")  # 10 > 2 numerically, 12/14 cut
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-10", "checkpoint-2", "checkpoint-final"]
