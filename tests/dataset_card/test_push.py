"""`medsyn push` against the in-process Hub emulator, with the real huggingface_hub and datasets clients.

The clients run in subprocesses because both libraries read HF_ENDPOINT once, at import: setting it in a child's
environment is the one way that is guaranteed to precede every import.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from medsyn.dataset_card.card import write_card
from tests.corpus_factory import make_corpus, make_results
from tests.hub_emulator import hub  # noqa: F401  (the fixture)

REPO = "medsyn-org/medsyn-ru"
ROOT = Path(__file__).resolve().parents[2]


def build_corpus(out: Path, variant: str, seed: int, shards: int = 1, results: Path | None = None) -> Path:
    """Stands in for `medsyn build` + `medsyn card` until the builder lands: the one place to swap."""
    make_corpus(out, n=40, seed=seed, variant=variant, shards=shards)
    write_card(out, make_results(results, corpus=out) if results else None)
    return out


def cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "medsyn.cli", "push", *args], env=env, cwd=ROOT, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


def client(env: dict, code: str) -> dict:
    """Run `code` (which sets `out`) in a fresh interpreter against the emulator and return `out`."""
    script = f"import json\n{code}\nprint('RESULT=' + json.dumps(out))\n"
    proc = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT=")][-1]
    return json.loads(line[len("RESULT=") :])


def kept_ids(folder: Path) -> list[str]:
    return sorted(i for p in sorted((folder / "data").glob("*.parquet")) for i in pq.read_table(p)["id"].to_pylist())


@pytest.fixture
def env(hub, tmp_path):  # noqa: F811
    return hub.client_env(tmp_path / "hf_home")


def test_push_two_versions_and_load_pinned(hub, env, tmp_path):  # noqa: F811
    v1 = build_corpus(tmp_path / "v1", "a", seed=1, shards=2, results=tmp_path / "results")
    v2 = build_corpus(tmp_path / "v2", "b", seed=2, shards=1)

    assert "Not yet published" in (v1 / "README.md").read_text(encoding="utf-8")
    first = cli(env, str(v1), "--repo-id", REPO, "--version", "v1.0", "--notes", "first release")
    assert first.returncode == 0, first.stderr[-3000:]
    assert "tagged v1.0" in first.stdout
    # the card that went up names the version it belongs to; the folder's own card is now that card, not the
    # unpublished one, without a `medsyn card` rerun
    uploaded = hub.repo(REPO).commits[hub.repo(REPO).tags["v1.0"]].files["README.md"].data.decode()
    for card in (uploaded, (v1 / "README.md").read_text(encoding="utf-8")):
        assert f'load_dataset("{REPO}", revision="v1.0")' in card and "note         = {Version v1.0}" in card
        assert "| v1.0 |" in card and "Not yet published" not in card and "Not published yet" not in card
        assert not [p for p in ("<version tag>", "<org>", "<name>") if p in card]
    assert (v1 / "README.md").read_text(encoding="utf-8") == uploaded
    second = cli(env, str(v2), "--repo-id", REPO, "--version", "v1.1", "--notes", "more codes")
    assert second.returncode == 0, second.stderr[-3000:]

    repo = hub.repo(REPO)
    assert set(repo.tags) == {"v1.0", "v1.1"} and repo.tags["v1.1"] == repo.branches["main"]
    # one commit per version (plus the repo's initial commit), each carrying data and card together
    assert len(repo.commits) == 3
    v1_files = repo.commits[repo.tags["v1.0"]].files
    assert {"README.md", "build_info.json", "data/train-00000-of-00002.parquet", "assets/notes_per_code.png"} <= set(v1_files)
    assert "assets/benchmark/accuracy.png" in v1_files
    # v1.1 has one shard: the stale second shard of v1.0 must be gone from it, or it would be loaded too
    v2_files = repo.commits[repo.tags["v1.1"]].files
    assert "data/train-00001-of-00002.parquet" not in v2_files
    assert v2_files["data/train-00000-of-00001.parquet"].lfs

    out = client(
        env,
        f"""
from datasets import load_dataset
old = load_dataset({REPO!r}, revision="v1.0")["train"]
new = load_dataset({REPO!r}, revision="v1.1")["train"]
everything = load_dataset({REPO!r}, "unfiltered", revision="v1.0")["train"]
from huggingface_hub import hf_hub_download
card = open(hf_hub_download({REPO!r}, "README.md", repo_type="dataset", revision="v1.1"), encoding="utf-8").read()
out = {{"old": sorted(old["id"]), "new": sorted(new["id"]), "unfiltered": len(everything), "card": card}}
""",
    )
    assert out["old"] == kept_ids(v1)
    assert out["new"] == kept_ids(v2)
    assert out["unfiltered"] == 40
    # the uploaded card pins the version it belongs to and carries the history
    assert f'load_dataset("{REPO}", revision="v1.1")' in out["card"]
    assert "| v1.0 |" in out["card"] and "first release" in out["card"] and "| v1.1 |" in out["card"]

    # the token never leaves the Authorization header: not printed, not in any request body, not in the folder
    for text in (first.stdout, first.stderr, second.stdout, second.stderr):
        assert hub.token not in text
    assert not any(hub.token.encode() in body for body in hub.state.bodies)
    for path in v1.rglob("*"):
        if path.is_file():
            assert hub.token.encode() not in path.read_bytes()
    # writes were authenticated (LFS object PUTs go to pre-signed URLs without the token, as on the real Hub)
    assert all(ok for method, path, ok in hub.state.requests if method == "POST" and "/commit/" in path)


def test_existing_tag_and_interrupted_push_leave_repo_intact(hub, env, tmp_path):  # noqa: F811
    v1 = build_corpus(tmp_path / "v1", "a", seed=1)
    v2 = build_corpus(tmp_path / "v2", "b", seed=2)
    assert cli(env, str(v1), "--repo-id", REPO, "--version", "v1.0").returncode == 0
    repo = hub.repo(REPO)
    head = repo.branches["main"]

    again = cli(env, str(v2), "--repo-id", REPO, "--version", "v1.0")
    assert again.returncode == 2
    assert "already has tag v1.0" in again.stderr
    assert repo.branches["main"] == head and len(repo.commits) == 2

    hub.state.fail_commits = 1  # the server dies on the commit call, after the LFS uploads went through
    broken = cli(env, str(v2), "--repo-id", REPO, "--version", "v1.1")
    assert broken.returncode == 2
    assert "previous version is unchanged" in broken.stderr and "Traceback" not in broken.stderr
    assert repo.branches["main"] == head and "v1.1" not in repo.tags
    out = client(env, f"from datasets import load_dataset\nout = sorted(load_dataset({REPO!r})['train']['id'])")
    assert out == kept_ids(v1)

    retry = cli(env, str(v2), "--repo-id", REPO, "--version", "v1.1")
    assert retry.returncode == 0, retry.stderr[-3000:]
    assert repo.tags["v1.1"] == repo.branches["main"] != head


def test_create_pr_leaves_main_and_tags_alone(hub, env, tmp_path):  # noqa: F811
    v1 = build_corpus(tmp_path / "v1", "a", seed=1)
    assert cli(env, str(v1), "--repo-id", REPO, "--version", "v1.0", "--private").returncode == 0
    repo = hub.repo(REPO)
    assert repo.private
    head = repo.branches["main"]
    v2 = build_corpus(tmp_path / "v2", "b", seed=2)
    proposed = cli(env, str(v2), "--repo-id", REPO, "--version", "v1.1", "--create-pr")
    assert proposed.returncode == 0, proposed.stderr[-3000:]
    assert "pull request" in proposed.stdout
    assert repo.branches["main"] == head and set(repo.tags) == {"v1.0"}
    assert repo.commits[repo.prs[1]].files["README.md"].data != repo.commits[head].files["README.md"].data


@pytest.mark.parametrize(
    "args, message",
    [
        (["--repo-id", "no-slash", "--version", "v1.0"], "is not ORG/NAME"),
        (["--repo-id", "a/b/c", "--version", "v1.0"], "is not ORG/NAME"),
        (["--repo-id", REPO, "--version", "1.0"], "is not a version tag"),
    ],
)
def test_bad_arguments_send_nothing(hub, env, tmp_path, args, message):  # noqa: F811
    folder = build_corpus(tmp_path / "c", "a", seed=1)
    proc = cli(env, str(folder), *args)
    assert proc.returncode == 2 and message in proc.stderr
    assert hub.state.requests == [] or all(path == "/api/agent-harnesses" for _, path, _ in hub.state.requests)


def test_empty_dataset_is_refused_before_any_request(hub, env, tmp_path):  # noqa: F811
    folder = build_corpus(tmp_path / "c", "a", seed=1)
    for shard in (folder / "data").glob("*.parquet"):
        table = pq.read_table(shard)
        pq.write_table(table.slice(0, 0), shard)
    proc = cli(env, str(folder), "--repo-id", REPO, "--version", "v1.0")
    assert proc.returncode == 2 and "empty" in proc.stderr
    assert not hub.state.repos


def test_missing_token_with_real_endpoint(tmp_path):
    folder = build_corpus(tmp_path / "c", "a", seed=1)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_"))}
    # a non-loopback endpoint that cannot be reached: the error must come before any connection is tried
    env.update(HF_ENDPOINT="https://hub.invalid", HF_HOME=str(tmp_path / "hf_home"), HF_HUB_DISABLE_XET="1")
    proc = cli(env, str(folder), "--repo-id", REPO, "--version", "v1.0")
    assert proc.returncode == 2
    assert "no Hugging Face token" in proc.stderr and "HF_TOKEN" in proc.stderr


def test_push_adapter_folder_as_model_repo(hub, env, tmp_path):  # noqa: F811
    from safetensors.numpy import save_file
    import numpy as np

    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(
        json.dumps({"base_model_name_or_path": str(tmp_path / "tiny-llama"), "peft_type": "LORA", "r": 4})
    )
    save_file({"lora_A": np.zeros((4, 8), dtype=np.float32)}, str(adapter / "adapter_model.safetensors"))
    proc = cli(env, str(adapter), "--repo-id", "medsyn-org/tiny-adapter", "--version", "v0.1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    repo = hub.repo("medsyn-org/tiny-adapter", "model")
    files = repo.commits[repo.tags["v0.1"]].files
    assert {"adapter_config.json", "adapter_model.safetensors", "README.md", ".gitattributes"} <= set(files)
    from huggingface_hub import ModelCard

    card = ModelCard(files["README.md"].data.decode())
    assert card.data.library_name == "peft" and "medsyn" in card.data.tags
    assert "Not for clinical use" in card.text
    # the base was a local folder: neither the generated card nor a hand-written one publishes its path
    (adapter / "README.md").write_text(f"---\nbase_model: {tmp_path / 'tiny-llama'}\nlibrary_name: peft\n---\n# Mine\n")
    proc = cli(env, str(adapter), "--repo-id", "medsyn-org/tiny-adapter", "--version", "v0.2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    for version in ("v0.1", "v0.2"):
        files = repo.commits[repo.tags[version]].files
        assert not [n for n in ("README.md", "adapter_config.json") if str(tmp_path).encode() in files[n].data], version
    assert "# Mine" in files["README.md"].data.decode()


def test_the_emulator_serves_on_its_own_for_a_push_without_a_hub_account(tmp_path):
    """README's recipe: `python -m tests.hub_emulator --port P`, export what it prints, push, load the version."""
    import re
    import signal

    from tests.tiny_models import free_port

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "tests.hub_emulator", "--port", str(port)], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        exports = {}
        for line in server.stdout:
            if line.startswith("# Ctrl+C"):
                break
            if match := re.match(r"export (\w+)=(.*)$", line.strip()):
                exports[match.group(1)] = match.group(2)
        assert exports["HF_ENDPOINT"] == f"http://127.0.0.1:{port}", server.stderr.read() if server.poll() else exports
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_"))} | exports
        corpus = build_corpus(tmp_path / "c", "a", seed=1)
        pushed = cli(env, str(corpus), "--repo-id", REPO, "--version", "v1.0")
        assert pushed.returncode == 0, pushed.stderr[-3000:]
        out = client(env, f"from datasets import load_dataset\n"
                          f"out = sorted(load_dataset({REPO!r}, revision='v1.0')['train']['id'])")
        assert out == kept_ids(corpus)
    finally:
        os.killpg(server.pid, signal.SIGINT)
        server.wait(timeout=30)
    assert server.returncode == 0 and "Traceback" not in server.stderr.read()


def test_a_corpus_whose_audit_failed_is_refused_unless_forced(hub, env, tmp_path):  # noqa: F811
    from medsyn.cli import main

    corpus = build_corpus(tmp_path / "v1", "a", seed=1)
    copied = pq.read_table(sorted((corpus / "data").glob("*.parquet"))[0]).slice(0, 1).to_pylist()[0]
    real = tmp_path / "train.jsonl"
    real.write_text(json.dumps({"idx": "r1", "symptoms": copied["text"], "code": "J06"}, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    assert main(["audit", str(corpus), "--real", str(real), "--out", str(tmp_path / "audit")]) == 1
    assert main(["card", "--dataset", str(corpus), "--audit", str(tmp_path / "audit")]) == 0
    card = (corpus / "README.md").read_text(encoding="utf-8")
    assert "## Privacy and quality" in card and re.search(r"\*\*failed\*\* \(\d+ kept notes copy a real note\)", card)
    refused = cli(env, str(corpus), "--repo-id", REPO, "--version", "v1.0")
    assert refused.returncode == 2 and ("dataset", REPO) not in hub.state.repos
    assert refused.stderr.strip().count("\n") == 0 and re.search(r"its audit failed \(\d+ kept notes copy", refused.stderr)
    forced = cli(env, str(corpus), "--repo-id", REPO, "--version", "v1.0", "--force")
    assert forced.returncode == 0, forced.stderr[-3000:]
    assert "tagged v1.0" in forced.stdout
