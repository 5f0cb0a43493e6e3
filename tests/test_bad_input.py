"""A new user's bad inputs and interruptions: one line and exit 2, nothing written, nothing lost, no leftovers.

Every case of the table runs the real command line (`medsyn.cli.main`) and checks the same five things: exit
status 2, exactly one line on stderr, that line names the problem, no traceback, and no file anywhere in the test's
folders created, changed or removed. Read-only file systems, kills and broken pipes need a real process.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from medsyn.cli import main
from tests.corpus_factory import make_corpus, make_results

MEDSYN = [sys.executable, "-m", "medsyn.cli"]
# Made-up notes in the RuMedTop3 format (never real note text).
NOTES = [("1", "Боль в пояснице после нагрузки.", "M54"),
         ("2", "Кашель, насморк и боль в горле третий день.", "J06"),
         ("3", "Боль в пояснице, отдаёт в ногу.", "M54"),
         ("4", "Заложенность носа, кашель, температура.", "J06")]


def _snapshot(*roots: Path) -> dict[str, tuple]:
    """Every folder, and every file with its size and modification time: what 'nothing touched' means. (A folder's
    own mtime is left out: probing that an output can be written creates and removes a file, leaving nothing.)"""
    seen = {}
    for root in roots:
        for path in [root, *root.rglob("*")]:
            stat = path.lstat()
            seen[str(path)] = "folder" if path.is_dir() else (stat.st_size, stat.st_mtime_ns)
    return seen


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    """Inputs of every kind, good and bad, in one folder the cases may only read."""
    base = tmp_path_factory.mktemp("world")
    assert main(["build", "--out", str(base / "corpus"), "--n", "12", "--seed", "2", "--quiet"]) == 0
    truncated = base / "truncated"
    shutil.copytree(base / "corpus", truncated)
    shard = next((truncated / "data").glob("*.parquet"))
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    make_results(base / "results-other", seeds=(0,), corpus=make_corpus(base / "other", n=20, seed=5))
    make_results(base / "results-old", seeds=(0,))  # no fingerprint: written before medsyn recorded one
    (base / "afile").write_text("not a folder\n", encoding="utf-8")
    (base / "foreign").mkdir()
    (base / "foreign" / "important.txt").write_text("the user's own file\n", encoding="utf-8")
    (base / "broken.work").mkdir()
    (base / "broken.work" / "generations.sqlite").write_bytes(b"this is not a database" * 100)
    (base / "control.jsonl").write_text('{"id": "a\tb"}\n', encoding="utf-8")
    notes = "".join(json.dumps({"idx": i, "symptoms": t, "code": c}, ensure_ascii=False) + "\n" for i, t, c in NOTES)
    (base / "train.jsonl").write_text(notes, encoding="utf-8")
    (base / "eval.jsonl").write_text(notes, encoding="utf-8")
    (base / "bad.yaml").write_text("backend: template\nbakend: openai\n", encoding="utf-8")
    (base / "engine.yaml").write_text("tensor_parallel_size: 1\nbatch_size: 8\n", encoding="utf-8")
    (base / "engine-bad.yaml").write_text("batch_size: 0\n", encoding="utf-8")
    (base / "priors.jsonl").write_text("", encoding="utf-8")
    assert main(["sample", "--n", "2", "--out", str(base / "priors.jsonl")]) == 0
    return base


BUILD = ["build", "--quiet", "--out", "{w}/new"]
BENCH = ["benchmark", "--train", "{w}/train.jsonl", "--eval", "{w}/eval.jsonl", "--synthetic", "{w}/corpus"]
CASES = [
    # build: values (README: one line, exit 2)
    ("families-not-a-number", [*BUILD, "--families", "symptoms=abc"], "families 'symptoms=abc'"),
    ("families-unknown", [*BUILD, "--families", "sympotms=1"], "did you mean symptoms"),
    ("families-all-zero", [*BUILD, "--families", "symptoms=0"], "not all 0"),
    ("filters-unknown-key", [*BUILD, "--min-recal", "0.5"], "unrecognized argument(s): --min-recal 0.5 (did you mean"),
    ("filters-not-a-number", [*BUILD, "--min-symptom-recall", "high"], "invalid float value: 'high'"),
    ("filters-out-of-range", [*BUILD, "--min-symptom-recall", "2"], "min_symptom_recall must be in [0, 1]"),
    ("filters-not-whole", [*BUILD, "--max-words", "3.5"], "invalid int value: '3.5'"),
    ("temperature-negative", [*BUILD, "--temperature", "-1"], "temperature must be a number >= 0"),
    ("top-p-above-1", [*BUILD, "--top-p", "7"], "top_p must be in (0, 1]"),
    ("top-p-zero", [*BUILD, "--top-p", "0"], "top_p must be in (0, 1]"),
    ("k-min-above-k-max", [*BUILD, "--k-min", "5", "--k-max", "3"], "need 1 <= k_min <= k_max, got k_min=5, k_max=3"),
    ("price-negative", [*BUILD, "--price-per-1k-input", "-2"], "price_per_1k_input must be a number >= 0"),
    ("backend-typo", [*BUILD, "--backend", "openia"], "did you mean 'openai'"),
    ("n-negative", [*BUILD, "--n", "-3"], "n must be an integer >= 1"),
    ("code-unknown", [*BUILD, "--codes", "XYZ123"], "unknown ICD-10 code 'XYZ123'"),
    ("examples-missing", [*BUILD, "--examples", "{w}/nowhere.jsonl"], "not found"),
    ("config-missing", [*BUILD, "--config", "{w}/nowhere.yaml"], "nowhere.yaml not found"),
    ("config-unknown-key", [*BUILD, "--config", "{w}/bad.yaml"], "unknown key 'bakend' (did you mean backend?)"),
    ("real-missing", [*BUILD, "--real", "{w}/nowhere.jsonl"], "nowhere.jsonl: no such file or folder"),
    ("real-distance-out-of-range", [*BUILD, "--min-real-distance", "2"], "min_real_distance must be in [0, 1]"),
    # build: where it writes
    ("out-under-a-file", ["build", "--quiet", "--out", "{w}/afile/sub"], "afile is a file, not a folder"),
    ("out-is-a-file", ["build", "--quiet", "--out", "{w}/afile", "--overwrite"], "exists and is not a folder"),
    ("out-exists", ["build", "--quiet", "--out", "{w}/corpus"], "already exists; pass --overwrite"),
    ("out-not-medsyn", ["build", "--quiet", "--out", "{w}/foreign", "--overwrite"], "was not written by medsyn"),
    ("out-current-folder", ["build", "--quiet", "--out", ".", "--overwrite"], "is the current folder"),
    ("work-dir-under-a-file", [*BUILD, "--work-dir", "{w}/afile/work"], "--work-dir"),
    ("store-damaged", ["build", "--quiet", "--out", "{w}/broken"], "generations.sqlite: the store of finished"),
    # sample and prompts
    ("sample-out-under-a-file", ["sample", "--n", "2", "--out", "{w}/afile/p.jsonl"], "afile is a file"),
    ("sample-out-is-a-folder", ["sample", "--n", "2", "--out", "{w}/foreign"], "is a folder; give a file name"),
    ("sample-temperature", ["sample", "--n", "2", "--symptom-temperature", "-1"], "temperature must be > 0"),
    ("sample-k-min-zero", ["sample", "--n", "2", "--k-min", "0"], "1 <= k_min <= k_max"),
    ("sample-code-unknown", ["sample", "--n", "2", "--codes", "XYZ123"], "unknown ICD-10 code 'XYZ123'"),
    ("prompts-control-character", ["prompts", "--priors", "{w}/control.jsonl"], "Invalid control character at column"),
    ("prompts-families", ["prompts", "--priors", "{w}/priors.jsonl", "--families", "symptoms=abc"], "symptoms=abc"),
    ("prompts-missing", ["prompts", "--priors", "{w}/nowhere.jsonl"], "file not found"),
    # audit
    ("audit-real-missing", ["audit", "{w}/corpus", "--real", "{w}/nowhere.jsonl", "--out", "{w}/audit"],
     "nowhere.jsonl: no such file or folder"),
    ("audit-not-a-corpus", ["audit", "{w}/foreign", "--real", "{w}/train.jsonl", "--out", "{w}/audit"],
     "not a corpus folder"),
    ("audit-out-not-medsyn", ["audit", "{w}/corpus", "--real", "{w}/train.jsonl", "--out", "{w}/foreign",
                              "--overwrite"], "was not written by medsyn"),
    ("card-audit-missing", ["card", "--dataset", "{w}/corpus", "--audit", "{w}/foreign"], "no audit.json"),
    # benchmark, card, push
    ("benchmark-no-synthetic", ["benchmark", "--train", "{w}/train.jsonl", "--eval", "{w}/eval.jsonl", "--out",
                                "{w}/r"], "--synthetic SOURCE, or let the benchmark build them"),
    ("benchmark-synthetic-weight", [*BENCH, "--out", "{w}/r", "--synthetic-weight", "0"], "give a positive weight"),
    ("benchmark-synthetic-weight-word", [*BENCH, "--out", "{w}/r", "--synthetic-weight", "half"],
     "--synthetic-weight half: give a positive weight, e.g. 0.5, or auto"),
    ("benchmark-code-budget-missing", [*BENCH, "--out", "{w}/r", "--code-budget", "{w}/nowhere.json"],
     "nowhere.json: file not found"),
    ("build-code-budget-not-json", [*BUILD, "--code-budget", "{w}/bad.yaml"], "not a budget file"),
    ("budget-no-results", ["budget", "--benchmark", "{w}/foreign", "--out", "{w}/b.json"], "no results.json"),
    ("benchmark-out-under-a-file", [*BENCH, "--out", "{w}/afile/sub"], "afile is a file, not a folder"),
    ("benchmark-out-not-medsyn", [*BENCH, "--out", "{w}/foreign", "--overwrite"], "was not written by medsyn"),
    ("benchmark-ratios", [*BENCH, "--out", "{w}/res", "--ratios", "half"], "--ratios half: expected numbers"),
    ("benchmark-truncated-parquet", [*BENCH[:-1], "{w}/truncated", "--out", "{w}/res"], "not a readable parquet"),
    ("card-truncated-parquet", ["card", "--dataset", "{w}/truncated"], "not a readable parquet file"),
    ("card-other-corpus", ["card", "--dataset", "{w}/corpus", "--benchmark", "{w}/results-other"],
     "computed on another corpus"),
    ("card-no-fingerprint", ["card", "--dataset", "{w}/corpus", "--benchmark", "{w}/results-old"],
     "records no corpus fingerprint"),
    ("push-a-file", ["push", "{w}/afile", "--repo-id", "a/b", "--version", "v1.0"], "not a folder"),
    # the rest
    ("mkg-unknown-code", ["mkg", "show", "XYZ123"], "unknown ICD-10 code 'XYZ123'"),
    ("mkg-out-under-a-file", ["mkg", "build", "--out", "{w}/afile/g.json.gz"], "afile is a file"),
    ("ift-notes-missing", ["ift", "build", "--notes", "{w}/nowhere.jsonl", "--markup", "{w}/m.csv", "--out",
                           "{w}/ift"], "nowhere.jsonl: file not found"),
    ("space-port", ["space", "--port", "0"], "--port must be in 1..65535"),
    # issue 22: a preset's id column may be missing from a file, an id column the user names may not
    ("import-named-id-column-missing", ["import", "{w}/train.jsonl", "--preset", "medsyn", "--text-column", "symptoms",
                                        "--code-column", "code", "--id-column", "UID", "--out", "{w}/imported"],
     "no column 'UID' (--id-column)"),
    # issue 22: published cards name no local path (push --base-model); the Space reads the version it links
    ("push-base-model-a-path", ["push", "{w}/corpus", "--repo-id", "a/b", "--version", "v1.0", "--base-model",
                                "{w}/foreign"], "is not a Hub model id ORG/NAME"),
    ("push-base-model-of-a-dataset", ["push", "{w}/corpus", "--repo-id", "a/b", "--version", "v1.0", "--base-model",
                                      "org/base"], "names the base of a model or adapter"),
    ("space-dataset-version-alone", ["space", "--dataset-version", "v1.0"], "dataset_version v1.0 needs a dataset"),
    ("space-gpu-without-export", ["space", "--gpu"], "--gpu applies to --export DIR only"),
    # issue 22: the openai backend's server errors (a server refusing every prompt: test_build.py, it needs a server)
    ("openai-base-url-not-http", [*BUILD, "--backend", "openai", "--model", "m", "--base-url", "localhost:8000"],
     "base URL 'localhost:8000' is not an http(s) URL"),
    ("openai-server-unreachable", [*BUILD, "--backend", "openai", "--model", "m", "--base-url", "http://127.0.0.1:9"],
     "cannot reach the server at http://127.0.0.1:9/v1"),
    # issue 22: refused instead of accepted silently, and messages that name the right flag and folder
    ("build-examples-empty", [*BUILD, "--examples", str(Path(__file__).resolve().parent / "data" / "empty.jsonl")],
     "holds no notes"),
    ("sample-n-zero", ["sample", "--n", "0", "--out", "{w}/p0.jsonl"], "--n must be >= 1"),
    ("space-export-unpushed-dataset", ["space", "--export", "{w}/sp", "--dataset", "{w}/corpus"],
     "corpus --repo-id ORG/NAME"),
    ("space-export-not-medsyn", ["space", "--export", "{w}/foreign", "--overwrite"], "choose another --export"),
    ("build-flag-extended", [*BUILD, "--n-notes", "5"], "(did you mean --n?)"),
    # issue 24: the Ray engine
    ("build-engine-unknown", [*BUILD, "--engine", "spark"], "unknown engine 'spark'"),
    ("build-ray-address-without-ray-engine", [*BUILD, "--ray-address", "auto"],
     "--ray-address applies to --engine ray only"),
    ("build-engine-ray-without-ray", [*BUILD, "--engine", "ray"], "--engine ray needs Ray, which is not installed"),
    ("build-engine-config-without-ray-engine", [*BUILD, "--engine-config", "{w}/engine.yaml"],
     "--engine-config applies to --engine ray only"),
    ("build-engine-config-missing", [*BUILD, "--engine", "ray", "--engine-config", "{w}/nope.yaml"],
     "nope.yaml: no such file; write a YAML file of engine settings"),
    ("build-engine-config-unknown-setting", [*BUILD, "--engine", "ray", "--engine-config", "{w}/bad.yaml"],
     "unknown setting 'backend'"),
    ("build-engine-config-bad-value", [*BUILD, "--engine", "ray", "--engine-config", "{w}/engine-bad.yaml"],
     "batch_size must be an integer >= 1, got 0"),
    ("build-engine-config-template-backend", [*BUILD, "--engine", "ray", "--engine-config", "{w}/engine.yaml"],
     "--engine-config runs a local model, not the template backend"),
    ("build-engine-config-without-vllm", [*BUILD, "--engine", "ray", "--engine-config", "{w}/engine.yaml",
                                          "--backend", "transformers", "--model", "{w}/corpus"],
     "--engine-config needs vLLM, which is not installed"),
]
# Cases run as if these modules were not installed (an optional extra left out).
NOT_INSTALLED = {"build-engine-ray-without-ray": ("ray",), "build-engine-config-without-vllm": ("vllm",)}


@pytest.mark.parametrize("argv, message", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input_is_one_line_exit_2_and_touches_nothing(world, tmp_path, monkeypatch, capsys, request, argv,
                                                          message):
    monkeypatch.chdir(tmp_path)
    for module in NOT_INSTALLED.get(request.node.callspec.id, ()):
        monkeypatch.setitem(sys.modules, module, None)  # `import ray` raises ImportError, find_spec finds none
    argv = [arg.replace("{w}", str(world)) for arg in argv]
    before = _snapshot(world, tmp_path)
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"medsyn {argv[0]}: error: ") and message in lines[0]
    assert "Traceback" not in captured.err + captured.out
    assert _snapshot(world, tmp_path) == before


def test_the_table_covers_at_least_30_inputs_over_the_subcommands():
    assert len(CASES) >= 30 and len({case[0] for case in CASES}) == len(CASES)
    assert {case[1][0] for case in CASES} >= {"build", "sample", "prompts", "benchmark", "card", "push", "mkg"}


def _readonly_run(tmp_path: Path, commands: list[list[str]]) -> list[subprocess.CompletedProcess]:
    """Run commands with `tmp_path/ro` a read-only file system (a private mount namespace; no root needed)."""
    if not shutil.which("unshare"):
        pytest.skip("unshare (util-linux) is needed to mount a read-only file system")
    ro = tmp_path / "ro"
    ro.mkdir()
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", f"mount -t tmpfs -o ro tmpfs {ro} && touch {ro}/x"],
                           capture_output=True, text=True)
    if "Read-only file system" not in probe.stderr:
        pytest.skip(f"cannot mount a read-only file system here: {probe.stderr.strip()}")
    runs = []
    for argv in commands:
        script = f"mount -t tmpfs -o ro tmpfs {ro} && exec \"$@\""
        runs.append(subprocess.run(["unshare", "-rm", "sh", "-c", script, "sh", *MEDSYN, *argv],
                                   capture_output=True, text=True, cwd=tmp_path))
    return runs


def test_read_only_out_is_one_line_before_any_work(world, tmp_path):
    ro = tmp_path / "ro"
    runs = _readonly_run(tmp_path, [
        ["build", "--out", str(ro / "corpus"), "--n", "3"],
        ["sample", "--n", "3", "--out", str(ro / "priors.jsonl")],
        ["benchmark", "--train", str(world / "train.jsonl"), "--eval", str(world / "eval.jsonl"),
         "--synthetic", str(world / "corpus"), "--out", str(ro / "results")],
    ])
    for run in runs:
        assert run.returncode == 2, run.stderr[-2000:]
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and "Read-only file system" in lines[0] and "choose a writable --out" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ro"]  # not even a work dir beside it


def test_overwrite_refuses_a_folder_medsyn_did_not_write_and_keeps_every_file(tmp_path, capsys):
    files = {"important.txt": "keep me", "notes/2024/visit.md": "# визит", "data/mine.parquet": "not ours"}
    folder = tmp_path / "mine"
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text, encoding="utf-8")
    assert main(["build", "--out", str(folder), "--n", "3", "--quiet", "--overwrite"]) == 2
    assert "was not written by medsyn" in capsys.readouterr().err
    # a corpus medsyn wrote, with one file of the user's added: also refused, and the file named
    corpus = tmp_path / "corpus"
    assert main(["build", "--out", str(corpus), "--n", "3", "--quiet"]) == 0
    (corpus / "my-analysis.ipynb").write_text("{}", encoding="utf-8")
    assert main(["build", "--out", str(corpus), "--n", "4", "--quiet", "--overwrite"]) == 2
    assert "holds files medsyn did not write (my-analysis.ipynb)" in capsys.readouterr().err
    found = {p.relative_to(folder).as_posix(): p.read_text(encoding="utf-8") for p in folder.rglob("*") if p.is_file()}
    assert found == files
    assert (corpus / "my-analysis.ipynb").is_file() and (corpus / "build_info.json").is_file()
    assert not (tmp_path / "mine.work").exists()


KILL_AT = textwrap.dedent("""
    import os, signal, sys
    if sys.argv[1] == "card":  # inside the temporary folder, after the shards are written
        import medsyn.dataset_card.card as card
        card.write_card = lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGKILL)
    else:  # between moving the old folder aside and moving the new one in
        real_replace = os.replace
        def replace(src, dst):
            real_replace(src, dst)
            if ".old-" in os.path.basename(str(dst)):
                os.kill(os.getpid(), signal.SIGKILL)
        os.replace = replace
    from medsyn.cli import main
    sys.exit(main(sys.argv[2:]))
""")


def _killed(tmp_path: Path, where: str, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", KILL_AT, where, *argv], capture_output=True, text=True,
                          cwd=tmp_path, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def test_sigkill_during_the_final_write_leaves_no_stale_temp_folder(tmp_path, monkeypatch, capsys):
    def leftovers() -> list[str]:
        return sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".corpus."))

    monkeypatch.chdir(tmp_path)
    build = ["build", "--out", "corpus", "--n", "8", "--quiet"]
    first = _killed(tmp_path, "card", *build)
    assert first.returncode == -signal.SIGKILL and not (tmp_path / "corpus").exists()
    assert len(leftovers()) == 1 and leftovers()[0].endswith(".tmp")  # the half-written folder of the killed run
    assert main(build) == 0
    assert leftovers() == [] and (tmp_path / "corpus" / "build_info.json").is_file()
    kept = json.loads((tmp_path / "corpus" / "build_info.json").read_text())["summary"]["kept"]

    # A killed --overwrite rebuild, between the two renames: the next run puts the old corpus back, loses nothing.
    again = _killed(tmp_path, "swap", *build[:-2], "11", "--quiet", "--overwrite")
    assert again.returncode == -signal.SIGKILL and not (tmp_path / "corpus").exists() and leftovers()
    capsys.readouterr()
    assert main(build) == 2 and "already exists" in capsys.readouterr().err
    assert leftovers() == []
    assert json.loads((tmp_path / "corpus" / "build_info.json").read_text())["summary"]["kept"] == kept


def test_card_takes_results_of_the_same_content_only(tmp_path, capsys):
    corpus = make_corpus(tmp_path / "corpus", n=30, seed=1)
    results = make_results(tmp_path / "results", corpus=corpus)
    copy = tmp_path / "elsewhere" / "copy"
    shutil.copytree(corpus, copy)  # the same notes under another path: the same corpus
    assert main(["card", "--dataset", str(copy), "--benchmark", str(results)]) == 0
    fingerprint = json.loads((results / "results.json").read_text())["synthetic_source"]["fingerprint"]
    assert fingerprint.startswith("sha256:") and fingerprint in (copy / "README.md").read_text(encoding="utf-8")
    assert capsys.readouterr().out.count("wrote") == 1

    other = make_corpus(tmp_path / "other", n=30, seed=2)
    assert main(["card", "--dataset", str(other), "--benchmark", str(results)]) == 2
    assert "computed on another corpus" in capsys.readouterr().err and not (other / "README.md").exists()
    assert main(["card", "--dataset", str(other), "--benchmark", str(results), "--force"]) == 0
    assert fingerprint in (other / "assets" / "benchmark" / "results.json").read_text(encoding="utf-8")


def _strings(value) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)] + [str(k) for k in value]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def test_published_files_name_no_local_path(tmp_path, monkeypatch):
    from medsyn.builder.kg.graph import embedded_path

    monkeypatch.chdir(tmp_path)
    graph = tmp_path / "private" / "graphs" / "mkg.json.gz"
    graph.parent.mkdir(parents=True)
    shutil.copy(embedded_path(), graph)
    notes = tmp_path / "private" / "train_notes.jsonl"
    notes.write_text("".join(json.dumps({"idx": i, "symptoms": t, "code": c}, ensure_ascii=False) + "\n"
                             for i, t, c in NOTES), encoding="utf-8")
    corpus = tmp_path / "corpus"
    assert main(["build", "--out", str(corpus), "--n", "10", "--quiet", "--graph", str(graph), "--examples",
                 str(notes), "--codes", "M54", "J06", "--work-dir", str(tmp_path / "private" / "work")]) == 0
    results = make_results(tmp_path / "results", seeds=(0,), corpus=corpus)
    record = json.loads((results / "results.json").read_text())
    # where `medsyn benchmark` writes paths into results.json
    record["synthetic_source"].update(path=str(corpus), build_info=json.loads((corpus / "build_info.json").read_text()))
    record["train"]["path"] = str(tmp_path / "private" / "train.jsonl")
    record["eval"]["path"] = "../private/dev.jsonl"
    record["config"] = {"train": str(tmp_path / "private" / "train.jsonl"), "out": "results",
                        "encoder": str(tmp_path / "private" / "rubert")}
    (results / "results.json").write_text(json.dumps(record), encoding="utf-8")
    assert main(["card", "--dataset", str(corpus), "--benchmark", str(results)]) == 0

    published = {name: (corpus / name).read_text(encoding="utf-8")
                 for name in ("build_info.json", "assets/benchmark/results.json", "README.md")}
    for name, text in published.items():
        assert str(tmp_path) not in text and "private/" not in text, name
    for name in ("build_info.json", "assets/benchmark/results.json"):
        strings = _strings(json.loads(published[name]))
        assert not [s for s in strings if s.startswith(("/", "~", "./", "../"))], name
    info = json.loads(published["build_info.json"])
    assert info["mkg"]["path"] == "mkg.json.gz" and info["config"]["examples"] == "train_notes.jsonl"
    assert info["config"]["codes"] == ["M54", "J06"] and info["config"]["n"] == 10  # the README's `config` key


def test_api_key_comes_only_from_the_variable_named(tmp_path, monkeypatch, capsys):
    from tests.fault_server import FaultServer

    monkeypatch.setenv("OPENAI_API_KEY", "secret")  # must not be used when --api-key-env names another variable
    monkeypatch.delenv("MEDSYN_TEST_KEY", raising=False)
    with FaultServer(api_key="secret") as server:
        args = ["build", "--out", str(tmp_path / "c"), "--n", "3", "--quiet", "--backend", "openai", "--model",
                "fake-model", "--base-url", server.base_url, "--api-key-env", "MEDSYN_TEST_KEY"]
        assert main(args) == 2
        err = capsys.readouterr().err
        assert "refused the API key (401); put the key in $MEDSYN_TEST_KEY" in err and "--api-key " not in err
        monkeypatch.setenv("MEDSYN_TEST_KEY", "secret")
        assert main(args) == 0


def test_closed_pipe_is_not_a_traceback(tmp_path):
    proc = subprocess.Popen([*MEDSYN, "mkg", "show", "M54", "--json", "--top", "500"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    proc.stdout.close()  # `| head` that has already gone
    stderr = proc.stderr.read()
    proc.wait(timeout=120)
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr


def test_every_option_of_every_subcommand_has_help():
    import argparse

    from medsyn.cli import make_parser

    missing = []

    def walk(parser: argparse.ArgumentParser, name: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub, subparser in action.choices.items():
                    walk(subparser, f"{name} {sub}")
            elif not action.help:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")

    walk(make_parser(), "medsyn")
    assert missing == []
