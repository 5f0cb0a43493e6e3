"""Instruction data from the open RuMedTop3 notes, LoRA training of a tiny LLaMA built here, resuming, merging, and
building a corpus with the adapter; bad inputs fail before training starts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from medsyn.cli import main
from medsyn.errors import MedsynError

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
    from medsyn.builder.mkg import load_graph
    from medsyn.builder.prompts import PromptBuilder
    from medsyn.builder.sources import read_notes
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

    from medsyn.builder.config import BuildConfig
    from medsyn.builder.corpus import build_corpus

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
    assert "base_model:" in card and "library_name: peft" in card and "held-out loss" in card
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

    build_corpus(config, progress=False, finish=write_card)
    rows = datasets.load_dataset(str(tmp_path / "corpus"), "unfiltered", split="train", cache_dir=str(tmp_path / "ds-cache"))
    assert len(rows) >= 1 and set(rows["generation_model"]) == {f"{tiny_model}+{adapter}"}


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
