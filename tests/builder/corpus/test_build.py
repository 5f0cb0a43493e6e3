"""`medsyn build`: a Hub-layout corpus that load_dataset reads, reproducible, resumable, strict about bad config."""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from medsyn.builder.corpus.schema import FEATURES
from medsyn.cli import main
from tests.corpus_factory import stored_generations
from tests.fault_server import (EMPTY, HANG, INVALID, MALFORMED, NO_CHOICES, OK, RATE_LIMIT, RESET, SERVER_ERROR,
                                TOO_LONG, TOO_LONG_DETAIL, UNAVAILABLE, FaultServer)

MEDSYN = [sys.executable, "-m", "medsyn.cli"]


def _rows(folder: Path, config: str = "default") -> list[dict]:
    from datasets import load_dataset

    # A fresh cache per load: datasets keys its cache on file names and mtimes, and these tests rewrite a folder
    # within the same second.
    dataset = load_dataset(str(folder), config, split="train", cache_dir=tempfile.mkdtemp(prefix="medsyn-ds-"))
    return sorted(dataset.to_list(), key=lambda row: row["id"])


@pytest.fixture(scope="module")
def template_corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("build") / "corpus"
    assert main(["build", "--out", str(out), "--n", "120", "--seed", "3", "--quiet"]) == 0
    return out


def test_corpus_loads_with_documented_features(template_corpus):
    from datasets import load_dataset

    dataset = load_dataset(str(template_corpus), cache_dir=tempfile.mkdtemp(prefix="medsyn-ds-"))
    assert list(dataset) == ["train"] and dataset["train"].features == FEATURES
    unfiltered = load_dataset(str(template_corpus), "unfiltered", split="train", cache_dir=tempfile.mkdtemp())
    assert unfiltered.features == FEATURES and len(unfiltered) == 120
    kept = dataset["train"]
    assert 0 < len(kept) <= 120 and all(kept["keep"]) and len(set(kept["id"])) == len(kept)
    assert set(kept["generation_model"]) == {"template"} and set(kept["backend"]) == {"template"}
    assert sum(not keep for keep in unfiltered["keep"]) == 120 - len(kept)
    row = kept[0]
    assert row["messages"][0]["role"] == "system" and row["prior"]["sex"] in {"male", "female"}
    assert set(row["prior"]["symptoms"][0]) == {"label", "weight"}
    assert all(r["symptom_recall"] >= 0.5 and not r["leakage"] for r in kept)
    shards = sorted(p.name for p in (template_corpus / "data").iterdir())
    assert len(shards) == 1 and re.fullmatch(r"train-00000-of-00001-[0-9a-f]{16}\.parquet", shards[0])
    readme = (template_corpus / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("---\n") and "language:" in readme and "configs:" in readme


def test_codes_left_out_of_the_plan_are_named_in_build_info_and_the_summary(template_corpus, graph, tmp_path, capsys):
    """Codes without notes too poor in complaints for a note (`PriorSampler.skipped`) are not drawn; the corpus
    says which, so that a user missing a code learns why and that `--codes` draws it anyway."""
    from medsyn.builder.generate.sampling import PriorSampler

    skipped = PriorSampler(graph).skipped
    info = json.loads((template_corpus / "build_info.json").read_text(encoding="utf-8"))
    assert skipped and info["sampling"]["skipped_codes"] == list(skipped)
    assert main(["build", "--out", str(tmp_path / "c"), "--n", "3", "--seed", "1", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert f"not drawn: {len(skipped)} codes without real notes" in out and skipped[0] in out and "--codes" in out


def test_same_seed_same_corpus(template_corpus, tmp_path):
    again = tmp_path / "again"
    assert main(["build", "--out", str(again), "--n", "120", "--seed", "3", "--quiet"]) == 0
    assert _rows(again, "unfiltered") == _rows(template_corpus, "unfiltered")
    other = tmp_path / "other"
    assert main(["build", "--out", str(other), "--n", "120", "--seed", "4", "--quiet"]) == 0
    assert [r["text"] for r in _rows(other, "unfiltered")] != [r["text"] for r in _rows(template_corpus, "unfiltered")]


def test_the_corpus_is_the_same_for_any_number_of_processes(template_corpus, tmp_path, monkeypatch):
    """Template notes and scores computed in worker processes (pools forced on for 120 notes) give, byte for byte,
    the rows one process gives; and the pools really ran."""
    from medsyn import pools
    from medsyn.builder.generate.backends import template
    from medsyn.builder.quality import parallel

    started = []
    real_pool = pools.process_pool

    def counted(workers):
        started.append(workers)
        return real_pool(workers)

    monkeypatch.setattr(pools, "process_pool", counted)
    monkeypatch.setattr(parallel, "MIN_PARALLEL_NOTES", 10)
    monkeypatch.setattr(template, "CHUNK", 16)
    split = tmp_path / "split"
    assert main(["build", "--out", str(split), "--n", "120", "--seed", "3", "--workers", "2", "--quiet"]) == 0
    assert started == [2, 2]  # one pool composed the notes, one scored them and looked for near-duplicates
    assert _rows(split, "unfiltered") == _rows(template_corpus, "unfiltered")
    infos = [json.loads((folder / "build_info.json").read_text(encoding="utf-8")) for folder in (split, template_corpus)]
    for info in infos:
        info["created"] = info["config"]["out"] = None  # the day and the folder may differ, nothing else
    assert infos[0] == infos[1]


def test_existing_output_is_refused_and_overwrite_replaces(template_corpus, tmp_path, capsys):
    out = tmp_path / "c"
    assert main(["build", "--out", str(out), "--n", "5", "--quiet"]) == 0
    assert main(["build", "--out", str(out), "--n", "7", "--quiet"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert len(_rows(out, "unfiltered")) == 5
    assert main(["build", "--out", str(out), "--n", "7", "--quiet", "--overwrite"]) == 0
    assert len(_rows(out, "unfiltered")) == 7
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


LOAD = """
import json, sys
from datasets import load_dataset
print(json.dumps([[len(load_dataset(folder, config, split="train")) for config in ("default", "unfiltered")]
                  for folder in sys.argv[1:]]))
"""


def _plain_loads(hf_home: Path, *folders: Path) -> list[list[int]]:
    """Rows of each folder's two configs through a plain `load_dataset(FOLDER)`, as README shows it: no cache_dir,
    one HF_HOME shared by every call (a process of its own, since datasets reads HF_HOME when imported)."""
    env = {k: v for k, v in os.environ.items() if k not in ("HF_DATASETS_CACHE", "HF_HOME")}
    env.update(HF_HOME=str(hf_home), HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    done = subprocess.run([sys.executable, "-c", LOAD, *map(str, folders)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_plain_load_dataset_returns_each_folders_own_rows(tmp_path):
    """datasets keys its cache of a local folder by the folder's name and the card's configs, not by the files:
    two corpora in folders named alike, or a rebuild with --overwrite, must not be served from each other's entry."""
    first, second = tmp_path / "a" / "c", tmp_path / "b" / "c"
    assert main(["build", "--out", str(first), "--n", "5", "--seed", "1", "--quiet"]) == 0
    assert main(["build", "--out", str(second), "--n", "8", "--seed", "2", "--quiet"]) == 0
    sizes = {folder: [len(_rows(folder, config)) for config in ("default", "unfiltered")] for folder in (first, second)}
    assert sizes[first] != sizes[second]
    hf_home = tmp_path / "hf_home"
    assert _plain_loads(hf_home, first, second) == [sizes[first], sizes[second]]
    assert main(["build", "--out", str(first), "--n", "11", "--seed", "3", "--quiet", "--overwrite"]) == 0
    rebuilt = [len(_rows(first, config)) for config in ("default", "unfiltered")]
    assert rebuilt[1] == 11 and _plain_loads(hf_home, first) == [rebuilt]


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--backend", "openia"], "unknown backend 'openia' (did you mean 'openai'?)"),
        (["--backend", "transformers", "--model", "./no/such/model"], "no such directory"),
        (["--backend", "openai", "--model", "m"], "needs --base-url"),
        (["--n", "-3"], "n must be an integer >= 1"),
        (["--codes", "M54", "Z99.99X"], "unknown ICD-10 code"),
        (["--codes", "A00"], "no Russian symptoms"),
        (["--min-symptom-recall", "2"], "min_symptom_recall must be in [0, 1]"),
        (["--workers", "-2"], "workers must be an integer >= 0 (0: one per CPU core)"),
    ],
)
def test_bad_config_fails_before_any_work(tmp_path, capsys, flags, message):
    out = tmp_path / "corpus"
    assert main(["build", "--out", str(out), "--quiet", *flags]) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # no output, no work dir


def test_unreachable_server_or_unknown_model_fails_before_generation(tmp_path, capsys):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tmp_path / "corpus"
    args = ["build", "--out", str(out), "--quiet", "--backend", "openai", "--n", "3"]
    assert main([*args, "--model", "m", "--base-url", f"http://127.0.0.1:{port}/v1"]) == 2
    assert f"127.0.0.1:{port}" in capsys.readouterr().err
    with FaultServer() as server:
        assert main([*args, "--model", "no-such-model", "--base-url", server.base_url]) == 2
        assert "no-such-model" in capsys.readouterr().err and not server.requests_seen
    assert list(tmp_path.iterdir()) == []


def test_all_notes_filtered_is_a_clear_error_and_a_rerun_regenerates_nothing(tmp_path, capsys):
    out = tmp_path / "corpus"
    assert main(["build", "--out", str(out), "--n", "6", "--quiet", "--min-words", "300"]) == 2
    assert "all 6 generated notes were filtered out (too_short 6)" in capsys.readouterr().err
    assert not out.exists() and (tmp_path / "corpus.work").is_dir()
    assert main(["build", "--out", str(out), "--n", "6", "--quiet"]) == 0
    assert "this run: 0 new, 6 resumed" in capsys.readouterr().out


def test_bertscore_columns_with_a_local_encoder(template_corpus, tmp_path):
    from tests.tiny_models import make_tiny_llama

    encoder = make_tiny_llama(tmp_path / "encoder")
    out = tmp_path / "corpus"
    assert main(["build", "--out", str(out), "--n", "8", "--quiet", "--bertscore-model", str(encoder)]) == 0
    rows = _rows(out, "unfiltered")
    assert all(-1.0 <= r["bertscore_recall"] <= 1.0 and r["bertscore_f1"] is not None for r in rows)
    assert all(r["bertscore_f1"] is None for r in _rows(template_corpus, "unfiltered"))


def test_yaml_config_with_flag_overrides(tmp_path, capsys):
    config = tmp_path / "build.yaml"
    config.write_text(yaml.safe_dump({"n": 9, "seed": 2, "codes": ["M54", "J06"], "families": {"symptoms": 1.0}}))
    out = tmp_path / "corpus"
    assert main(["build", "--config", str(config), "--out", str(out), "--n", "6", "--quiet"]) == 0
    rows = _rows(out, "unfiltered")
    assert len(rows) == 6 and {r["icd10_code"] for r in rows} <= {"M54", "J06"}
    assert {r["prompt_family"] for r in rows} == {"symptoms"}
    bad = tmp_path / "bad.yaml"
    bad.write_text("n: 5\nbackned: openai\n")
    assert main(["build", "--config", str(bad), "--out", str(tmp_path / "x"), "--quiet"]) == 2
    assert "bad.yaml: unknown key 'backned' (did you mean backend?)" in capsys.readouterr().err


def test_faulty_server_still_yields_a_complete_corpus(tmp_path):
    faults = [RATE_LIMIT, SERVER_ERROR, RESET, HANG, EMPTY, MALFORMED, NO_CHOICES]

    first_tries = itertools.count()

    def script(body, attempt):
        # Every prompt meets one fault on its first try (each fault in turn), then succeeds.
        return faults[next(first_tries) % len(faults)] if attempt == 0 else OK

    with FaultServer(script=script, retry_after="0", hang_seconds=5) as server:
        out = tmp_path / "corpus"
        args = ["build", "--out", str(out), "--n", "21", "--backend", "openai", "--model", "fake-model",
                "--base-url", server.base_url, "--timeout", "1", "--concurrency", "8", "--quiet"]
        assert main(args) == 0
        seen = {s.action for s in server.requests_seen}
    assert set(faults) <= seen
    rows = _rows(out, "unfiltered")
    assert len(rows) == 21 and all(r["text"] for r in rows)
    assert {r["generation_model"] for r in rows} == {"fake-model"}


def test_a_server_refusing_every_prompt_stops_the_build_with_its_words_and_what_to_change(tmp_path, capsys):
    """A prompt over the model's context is refused every time it is sent: one line with the server's own words and
    what to change, no rerun advice, each prompt sent once, and the build stops instead of sending all 60."""
    with FaultServer(script=lambda body, attempt: TOO_LONG) as server:
        out = tmp_path / "corpus"
        args = ["build", "--out", str(out), "--n", "60", "--backend", "openai", "--model", "fake-model",
                "--base-url", server.base_url, "--concurrency", "2", "--max-new-tokens", "64", "--quiet"]
        assert main(args) == 2
        seen, url = server.requests_seen, server.base_url
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert f"HTTP 400: {TOO_LONG_DETAIL} ({url})" in lines[0]
    assert "the prompt plus --max-new-tokens (64) is over the model's context: lower --max-new-tokens" in lines[0]
    assert "so the build stopped without generating the other" in lines[0] and "rerun" not in lines[0]
    assert all(s.attempt == 0 for s in seen) and len(seen) < 60
    assert not out.exists()


def test_refused_and_retryable_failures_each_get_their_own_advice(tmp_path, capsys):
    assigned: dict[int, str] = {}

    def script(body, attempt):  # every other prompt is refused, the rest meet a server that stays unavailable
        return assigned.setdefault(body["seed"], (INVALID, UNAVAILABLE)[len(assigned) % 2])

    with FaultServer(script=script) as server:
        args = ["build", "--out", str(tmp_path / "corpus"), "--n", "8", "--backend", "openai", "--model", "fake-model",
                "--base-url", server.base_url, "--max-retries", "1", "--quiet"]
        assert main(args) == 2
        seen = server.requests_seen
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "8 of 8 generations failed" in line
    assert "the server refused 4 (HTTP 422: 4) and will again until something changes: HTTP 422: temperature: " \
           "Input should be less than or equal to 2" in line
    assert "4 failed in ways a retry can fix (HTTP 503: 4): rerun the same command to retry them" in line
    assert sorted(s.attempt for s in seen if s.action == INVALID) == [0] * 4  # refusals are not retried
    assert sorted(s.attempt for s in seen if s.action == UNAVAILABLE) == [0, 0, 0, 0, 1, 1, 1, 1]


def test_a_refusal_under_the_failure_rate_is_shown_with_the_servers_words(tmp_path, capsys):
    refused: set[int] = set()

    def script(body, attempt):  # the first prompt to arrive is refused, every time it is sent
        if not refused:
            refused.add(body["seed"])
        return TOO_LONG if body["seed"] in refused else OK

    with FaultServer(script=script) as server:
        args = ["build", "--out", str(tmp_path / "corpus"), "--n", "4", "--backend", "openai", "--model", "fake-model",
                "--base-url", server.base_url, "--max-failure-rate", "0.5", "--quiet", "--min-symptom-recall", "0"]
        assert main(args) == 0
    out = capsys.readouterr().out
    assert "failures: HTTP 400 1" in out and f"HTTP 400 refused by the server: HTTP 400: {TOO_LONG_DETAIL}" in out



def test_sigkill_and_rerun_gives_the_uninterrupted_corpus(tmp_path):
    n = 40
    with FaultServer(latency=0.15) as server:
        def build(out: Path) -> list[str]:
            return [*MEDSYN, "build", "--out", str(out), "--n", str(n), "--backend", "openai", "--model",
                    "fake-model", "--base-url", server.base_url, "--concurrency", "2", "--quiet"]

        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        reference = tmp_path / "reference"
        subprocess.run(build(reference), check=True, env=env, capture_output=True)
        before = len(server.requests_seen)

        out = tmp_path / "interrupted"
        db = tmp_path / "interrupted.work" / "generations.sqlite"
        proc = subprocess.Popen(build(out), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while stored_generations(db) < 10 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        stored = stored_generations(db)
        assert 10 <= stored < n and not out.exists()
        first_run = len(server.requests_seen) - before

        subprocess.run(build(out), check=True, env=env, capture_output=True)
        second_run = len(server.requests_seen) - before - first_run
    # The rerun asked only for what was not stored; the corpus equals the uninterrupted one.
    assert second_run == n - stored
    assert _rows(out, "unfiltered") == _rows(reference, "unfiltered")


def test_a_note_that_copies_a_real_note_is_rejected_and_build_info_names_the_real_notes(template_corpus, tmp_path):
    kept = _rows(template_corpus)
    real = tmp_path / "train_notes.jsonl"
    real.write_text(json.dumps({"idx": "real-1", "symptoms": kept[0]["text"], "code": kept[0]["icd10_code"]},
                               ensure_ascii=False) + "\n", encoding="utf-8")
    out = tmp_path / "corpus"
    assert main(["build", "--out", str(out), "--n", "120", "--seed", "3", "--quiet", "--real", str(real)]) == 0
    rows = {row["id"]: row for row in _rows(out, "unfiltered")}
    copy = rows[kept[0]["id"]]
    assert copy["copies_real"] and copy["closest_real_id"] == "real-1" and copy["dcr"] < 1e-6
    assert copy["reject_reasons"] == ["copies_real"] and not copy["keep"]
    # other template notes may share a long formula with it; all are measured against the one real note
    assert {row["closest_real_id"] for row in rows.values()} == {"real-1"}
    assert all(row["copies_real"] == (row["longest_shared_ngram"] > 9 or row["dcr"] <= 0.35) for row in rows.values())
    info = json.loads((out / "build_info.json").read_text())
    assert info["real_notes"] == {"checked": True, "given": True, "missing": [],
                                  "sources": [{"file": "train_notes.jsonl", "sha256": info["real_notes"]["sources"][0]["sha256"],
                                               "count": 1}]}
