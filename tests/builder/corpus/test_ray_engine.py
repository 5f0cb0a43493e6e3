"""`medsyn build --engine ray`: the pipeline's stages as Ray Data pipelines give the local engine's corpus, row for
row, on a local Ray instance (2 CPUs), with the template backend and with the openai backend through
`ray.data.llm`'s HTTP processor against the fault-injecting server (`test_ray_cluster.py`: two nodes).

One Ray session per module (`ray_local`): starting Ray costs seconds, so every test here shares it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest

from medsyn.cli import main
from tests.corpus_factory import stored_generations
from tests.fault_server import OK, RATE_LIMIT, RESET, SERVER_ERROR, FaultServer

pytest.importorskip("ray")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
MEDSYN = [sys.executable, "-m", "medsyn.cli"]


def _rows(folder: Path, config: str = "unfiltered") -> list[dict]:
    """The rows in the order the folder holds them (not sorted: 'row for row' includes the order)."""
    from datasets import load_dataset

    return load_dataset(str(folder), config, split="train", cache_dir=tempfile.mkdtemp(prefix="medsyn-ds-")).to_list()


def _info(folder: Path) -> dict:
    info = json.loads((folder / "build_info.json").read_text(encoding="utf-8"))
    info["created"] = info["config"]["out"] = None
    return info


@pytest.fixture(scope="module")
def ray_local():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def local_corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("local") / "corpus"
    assert main(["build", "--out", str(out), "--n", "300", "--seed", "5", "--quiet"]) == 0
    return out


def test_ray_engine_gives_the_local_corpus_row_for_row(ray_local, local_corpus, tmp_path, capsys):
    out = tmp_path / "corpus"
    assert main(["build", "--out", str(out), "--n", "300", "--seed", "5", "--quiet", "--engine", "ray"]) == 0
    assert "300 requested" in capsys.readouterr().out
    ray_rows, local_rows = _rows(out), _rows(local_corpus)
    assert len(ray_rows) == 300 and ray_rows == local_rows
    assert _rows(out, "default") == _rows(local_corpus, "default")
    ray_info, local_info = _info(out), _info(local_corpus)
    engine = ray_info.pop("engine")
    assert "engine" not in local_info and ray_info == local_info  # the config record leaves the engine out
    assert engine["name"] == "ray" and engine["nodes"] == 1 and engine["cpus"] == 2
    assert sorted(p.name for p in (out / "data").iterdir()) == sorted(p.name for p in (local_corpus / "data").iterdir())


def test_a_rerun_on_ray_resumes_every_note(ray_local, local_corpus, tmp_path, capsys):
    out = tmp_path / "corpus"
    args = ["build", "--out", str(out), "--n", "300", "--seed", "5", "--quiet", "--engine", "ray"]
    assert main(args) == 0
    capsys.readouterr()
    assert main([*args, "--overwrite"]) == 0
    assert "this run: 0 new, 300 resumed" in capsys.readouterr().out
    assert _rows(out) == _rows(local_corpus)


def _judge_reply(body: dict) -> str:
    """Scores that differ from note to note (so a mean of batch means would differ from the run's mean), and no
    usable answer for notes that mention "температур"."""
    note = body["messages"][-1]["content"].split("Запись:")[1]
    if "температур" in note:
        return "Не могу оценить."
    return json.dumps({"plausibility": 1 + len(note) % 5, "agreement": 1 + len(note) % 3, "fluency": 5,
                       "reason": "ок"})


def test_the_judges_usage_of_every_scoring_actor_adds_up_to_the_local_runs(ray_local, tmp_path, monkeypatch):
    from medsyn.builder.corpus import ray_engine

    monkeypatch.setattr(ray_engine, "SCORE_BATCH", 16)  # 40 notes: three batches, judged in their actors
    with FaultServer(reply=_judge_reply) as server:
        flags = ["--n", "40", "--seed", "6", "--quiet", "--judge-model", "fake-model", "--judge-base-url",
                 server.base_url, "--judge-price-per-1k-input", "0.5"]
        assert main(["build", "--out", str(tmp_path / "local"), *flags]) == 0
        assert main(["build", "--out", str(tmp_path / "ray"), *flags, "--engine", "ray"]) == 0
    local, ray_ = (json.loads((tmp_path / name / "build_info.json").read_text())["judge"] for name in ("local", "ray"))
    assert 0 < local["failed"] < 40 and local["requests"] == 40 and len(set(local["means"].values())) == 3
    assert ray_ == local
    assert _rows(tmp_path / "ray") == _rows(tmp_path / "local")


# ------------------------------------------------------------------------- the openai backend via ray.data.llm

OPENAI = ["--backend", "openai", "--model", "fake-model", "--concurrency", "4", "--quiet"]


def _faulty(body: dict, attempt: int) -> str:
    """Every prompt meets one fault on its first try (rate limit, worker crash or dropped connection, by its
    seed), then succeeds."""
    return (RATE_LIMIT, SERVER_ERROR, RESET)[body["seed"] % 3] if attempt == 0 else OK


def test_openai_through_the_http_processor_retries_faults_counts_usage_and_matches_local(ray_local, tmp_path,
                                                                                          capsys):
    n = 30
    with FaultServer() as server:  # the reference: the local engine against a server that never fails
        assert main(["build", "--out", str(tmp_path / "local"), "--n", str(n), *OPENAI,
                     "--base-url", server.base_url]) == 0
    with FaultServer(script=_faulty, retry_after="0") as server:
        assert main(["build", "--out", str(tmp_path / "ray"), "--n", str(n), *OPENAI, "--base-url", server.base_url,
                     "--engine", "ray"]) == 0
        seen = server.requests_seen
    assert "failures" not in capsys.readouterr().out
    assert {s.action for s in seen} == {RATE_LIMIT, SERVER_ERROR, RESET, OK}
    answered = Counter(json.dumps([s.body["messages"], s.body["seed"]]) for s in seen if s.action == OK)
    assert len(answered) == n and set(answered.values()) == {1}  # every note generated once
    assert _rows(tmp_path / "ray") == _rows(tmp_path / "local")  # texts and token usage, row for row
    summary = json.loads((tmp_path / "ray" / "build_info.json").read_text(encoding="utf-8"))["summary"]
    assert summary["completion_tokens"] > 0 and summary["failed"] == 0
    assert summary["completion_tokens"] == sum(r["completion_tokens"] for r in _rows(tmp_path / "local"))



def test_killed_on_a_cluster_and_rerun_gives_the_uninterrupted_corpus(ray_local, tmp_path):
    """The build's driver is killed (SIGKILL) mid-run on a running cluster and the same command run again: it
    sends only the notes not yet stored and writes the corpus an uninterrupted run writes."""
    n = 120  # results come back a block (32 rows) at a time: enough blocks that the kill lands between two
    with FaultServer(latency=0.1) as server:
        command = [*MEDSYN, "build", "--n", str(n), *OPENAI, "--base-url", server.base_url, "--engine", "ray",
                   "--ray-address", ray_local.get_runtime_context().gcs_address]
        out = tmp_path / "corpus"
        driver = subprocess.Popen([*command, "--out", str(out)], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 240
        while stored_generations(tmp_path / "corpus.work" / "generations.sqlite") < 5 and time.monotonic() < deadline:
            assert driver.poll() is None, "the build ended before it could be killed"
            time.sleep(0.05)
        os.killpg(driver.pid, signal.SIGKILL)
        driver.wait()
        stored = stored_generations(tmp_path / "corpus.work" / "generations.sqlite")
        assert 5 <= stored < n and not out.exists()
        before = len(server.requests_seen)
        rerun = subprocess.run([*command, "--out", str(out)], capture_output=True, text=True)
        assert rerun.returncode == 0, rerun.stderr[-2000:]
        assert f"{stored} resumed" in rerun.stdout
        assert len(server.requests_seen) - before <= n - stored + 32  # the rest, and a block that was in flight
        subprocess.run([*MEDSYN, "build", "--n", str(n), *OPENAI, "--base-url", server.base_url,
                        "--out", str(tmp_path / "reference")], check=True, capture_output=True)
    assert _rows(out) == _rows(tmp_path / "reference")
    assert _rows(out, "default") == _rows(tmp_path / "reference", "default")


def test_the_http_processor_has_a_batchs_requests_in_flight_together(ray_local):
    """Ray 2.60's HTTP stage awaits a batch's requests one after another; with `EagerSession` they are all sent
    before the first answer is awaited, so an actor's 4 concurrent batches of 8 put 32 requests in flight, not 4."""
    from medsyn.builder.corpus.ray_llm import ASYNC_BATCHES, HTTP_BATCH, HttpGeneration
    from medsyn.builder.generate.backends import GenerationOptions, Request, SamplingParams
    from medsyn.builder.generate.backends.openai import OpenAIBackend

    concurrency = HTTP_BATCH * ASYNC_BATCHES
    requests = [Request(key=f"r{i}", seed=i, params=SamplingParams(max_new_tokens=32),
                        messages=[{"role": "user", "content": f"Жалобы пациента номер {i}."}])
                for i in range(concurrency)]
    with FaultServer(latency=0.3) as server:
        options = GenerationOptions(backend="openai", model="fake-model", base_url=[server.base_url],
                                    concurrency=concurrency, max_retries=1)
        backend = OpenAIBackend("fake-model", [server.base_url], concurrency=concurrency)
        results = list(HttpGeneration(ray_local, backend, options).generate(requests))
        assert sorted(result.key for result in results if result.ok) == sorted(r.key for r in requests)
        assert server.max_in_flight == concurrency


def test_the_http_processor_keeps_its_connections_alive_across_batches(ray_local):
    """The HTTP stage opens a session per batch; `EagerSession` shares one per actor, so 16 batches of requests go
    over the connections of the first, not a new TCP connection (and server thread) for every request."""
    from medsyn.builder.corpus.ray_llm import ASYNC_BATCHES, HTTP_BATCH, HttpGeneration
    from medsyn.builder.generate.backends import GenerationOptions, Request, SamplingParams
    from medsyn.builder.generate.backends.openai import OpenAIBackend

    concurrency = HTTP_BATCH * ASYNC_BATCHES
    requests = [Request(key=f"r{i}", seed=i, params=SamplingParams(max_new_tokens=32),
                        messages=[{"role": "user", "content": f"Жалобы пациента номер {i}."}])
                for i in range(concurrency * 4)]
    with FaultServer() as server:
        options = GenerationOptions(backend="openai", model="fake-model", base_url=[server.base_url],
                                    concurrency=concurrency, max_retries=1)
        backend = OpenAIBackend("fake-model", [server.base_url], concurrency=concurrency)
        results = list(HttpGeneration(ray_local, backend, options).generate(requests))
        assert sorted(result.key for result in results if result.ok) == sorted(r.key for r in requests)
        assert server.connections <= concurrency
