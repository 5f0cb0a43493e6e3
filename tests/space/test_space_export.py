"""`medsyn space --export` and `medsyn push --space`: the Space folder installs from its own wheel in a fresh
virtual environment, serves `/generate`, and goes to the Hub (emulator) as a tagged Space linked to its dataset.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import site
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from medsyn.cli import main as medsyn_main
from medsyn.hub import push
from medsyn.errors import MedsynError
from tests.hub_emulator import hub  # noqa: F401  (the fixture)
from tests.dataset_card.test_push import build_corpus, cli, client
from tests.tiny_models import free_port

pytest.importorskip("gradio_client")

DATASET = "medsyn-org/medsyn-ru"
SPACE = "medsyn-org/medsyn-ru-demo"


def front_matter(readme: Path | str) -> dict:
    text = readme.read_text(encoding="utf-8") if isinstance(readme, Path) else readme
    return yaml.safe_load(text.split("---", 2)[1])


def overlay_without_medsyn(target: Path) -> Path:
    """This interpreter's installed packages, minus medsyn: the heavy dependencies without a second download."""
    target.mkdir()
    for directory in [*site.getsitepackages(), site.getusersitepackages()]:
        directory = Path(directory)
        if not directory.is_dir():
            continue
        for entry in directory.iterdir():
            name = entry.name.lower()
            if name.startswith(("medsyn", "__editable__")) or name.endswith(".pth") or (target / entry.name).exists():
                continue
            (target / entry.name).symlink_to(entry)
    return target


def fresh_venv(path: Path, overlay: Path) -> Path:
    # --without-pip: the venv's own old setuptools would shadow the newer one torch's metadata asks for;
    # pip itself comes from the overlay and installs into this venv (sys.prefix)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120)
    python = path / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    (Path(purelib) / "zz_overlay.pth").write_text(f"{overlay}\n", encoding="utf-8")
    return python


def clean_env(tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "MEDSYN_", "HF_"))}
    env.update(HF_HOME=str(tmp_path / "hf_home"), HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False",
               NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")  # fmt: skip
    return env


def test_exported_space_installs_from_its_wheel_in_a_fresh_venv_and_generates(tmp_path):
    import gradio

    folder = tmp_path / "space"
    assert medsyn_main(["space", "--export", str(folder)]) == 0
    wheels = sorted(folder.glob("medsyn-*.whl"))
    assert len(wheels) == 1
    # `.medsyn-output.json` lists what medsyn wrote (for a later --overwrite); push leaves hidden files out
    assert {p.name for p in folder.iterdir() if not p.name.startswith(".")} == {
        "app.py", "README.md", "requirements.txt", "settings.yaml", wheels[0].name}
    meta = front_matter(folder / "README.md")
    assert meta["sdk"] == "gradio" and meta["sdk_version"] == gradio.__version__ and meta["app_file"] == "app.py"
    assert meta["python_version"] == f"{sys.version_info.major}.{sys.version_info.minor}"
    requirements = [ln for ln in (folder / "requirements.txt").read_text().splitlines() if ln and not ln.startswith("#")]
    # a CPU Space gets the CPU build of the torch exported with (PyPI's Linux torch is the CUDA one), then medsyn
    torch = importlib.metadata.version("torch").split("+")[0]
    assert requirements == ["--extra-index-url https://download.pytorch.org/whl/cpu", f"torch=={torch}+cpu",
                            f"./{wheels[0].name}"]
    assert yaml.safe_load((folder / "settings.yaml").read_text()) == {"backend": "template"}

    env = clean_env(tmp_path)
    python = fresh_venv(tmp_path / "venv", overlay_without_medsyn(tmp_path / "overlay"))
    probe = "import importlib.util; print(importlib.util.find_spec('medsyn'))"
    assert subprocess.run([str(python), "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True).stdout.strip() == "None"
    # exactly what the Space builder runs, offline: every dependency is satisfied, medsyn comes from the wheel
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--no-index", "--disable-pip-version-check", "-r", "requirements.txt"],
        cwd=folder, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert install.returncode == 0, install.stdout[-2000:] + install.stderr[-2000:]
    where = subprocess.run(
        [str(python), "-c", "import json, medsyn, importlib.metadata as m; "
         "print(json.dumps([medsyn.__file__, json.loads(m.distribution('medsyn').read_text('direct_url.json'))['url']]))"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    module_file, url = json.loads(where.stdout)
    assert Path(module_file).is_relative_to(tmp_path / "venv"), module_file
    assert url.endswith("/" + wheels[0].name)

    port = free_port()
    env.update(GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port))
    app = subprocess.Popen([str(python), "app.py"], cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        from gradio_client import Client

        client = None
        deadline = time.monotonic() + 180
        while client is None:
            assert app.poll() is None, app.stdout.read().decode(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "the exported app did not start"
            try:
                client = Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=str(tmp_path / "dl"))
            except Exception:  # not listening yet
                time.sleep(0.5)
        note, _marked, verdict, scores, _file = client.predict(
            "M54", 7, "боль в пояснице\nскованность", "symptoms", "anamnesis", api_name="/generate"
        )
    finally:
        app.terminate()
        app.wait(timeout=30)
    letters = [c for c in note if c.isalpha()]
    assert len(note.split()) >= 10
    assert sum("а" <= c.lower() <= "я" or c.lower() == "ё" for c in letters) / len(letters) > 0.9
    assert scores["generation"]["backend"] == "template" and "Verdict" in verdict


def test_push_space_tagged_and_linked_both_ways_with_the_dataset(hub, tmp_path):  # noqa: F811
    env = hub.client_env(tmp_path / "hf_home")
    corpus = build_corpus(tmp_path / "corpus", "a", seed=1)
    pushed = cli(env, str(corpus), "--repo-id", DATASET, "--version", "v1.0", "--demo", SPACE)
    assert pushed.returncode == 0, pushed.stderr[-3000:]
    dataset_repo = hub.repo(DATASET)
    card = dataset_repo.commits[dataset_repo.tags["v1.0"]].files["README.md"].data.decode()
    assert f"https://huggingface.co/spaces/{SPACE}" in card
    info = json.loads((corpus / "build_info.json").read_text())
    assert info["repo_id"] == DATASET and info["space"] == SPACE and info["versions"][-1]["version"] == "v1.0"

    folder = tmp_path / "space"
    assert medsyn_main(["space", "--export", str(folder), "--dataset", str(corpus)]) == 0
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert front_matter(readme)["datasets"] == [DATASET]
    assert f"https://huggingface.co/datasets/{DATASET}/tree/v1.0" in readme
    assert f'load_dataset("{DATASET}", revision="v1.0")' in readme
    settings = yaml.safe_load((folder / "settings.yaml").read_text())
    assert (settings["dataset"], settings["dataset_version"]) == (DATASET, "v1.0")

    with pytest.raises(MedsynError, match="is a dataset folder, not a space folder"):
        push(corpus, SPACE, "v1.0", repo_type="space")  # refused before any request
    proc = cli(env, str(folder), "--repo-id", SPACE, "--version", "v1.0", "--space")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "tagged v1.0" in proc.stdout and hub.token not in proc.stdout + proc.stderr
    repo = hub.repo(SPACE, "space")
    assert repo.tags["v1.0"] == repo.branches["main"] and len(repo.commits) == 2  # one commit on the initial one

    download = subprocess.run(
        [sys.executable, "-c", f"from huggingface_hub import snapshot_download; "
         f"print(snapshot_download({SPACE!r}, repo_type='space', revision='v1.0'))"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert download.returncode == 0, download.stderr[-3000:]
    remote = Path(download.stdout.strip().splitlines()[-1])
    local_files = {p.name for p in folder.iterdir() if not p.name.startswith(".")}
    assert {p.name for p in remote.iterdir() if not p.name.startswith(".")} == local_files
    for name in local_files - {"requirements.txt"}:
        assert (remote / name).read_bytes() == (folder / name).read_bytes(), name
    # the Space builder installs requirements.txt before the other files arrive: the wheel comes from the repo
    wheel = next(folder.glob("medsyn-*.whl"))
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    line = (remote / "requirements.txt").read_text().strip().splitlines()[-1]
    url = f"{hub.url}/spaces/{SPACE}/resolve/main/{wheel.name}"
    assert line == f"medsyn @ {url}#sha256={digest}"
    with urllib.request.urlopen(url, timeout=30) as response:  # anonymously, as the Space builder fetches it
        assert hashlib.sha256(response.read()).hexdigest() == digest

    # the dataset moves on; the deployed Space's browse tab still shows the version it links to, not `main`
    newer = build_corpus(tmp_path / "corpus-b", "b", seed=2)
    assert cli(env, str(newer), "--repo-id", DATASET, "--version", "v1.1").returncode == 0
    browse = client(env, f"""
from medsyn.space.config import load_config
from medsyn.space.session import Space
space = Space(load_config({str(remote / "settings.yaml")!r}, {{}}))
out = [space.corpus.revision, sorted(row["id"] for row in space.corpus.rows)]
""")
    assert browse == ["v1.0", sorted(r["id"] for p in sorted((corpus / "unfiltered").glob("*.parquet"))
                                     for r in pq.read_table(p).to_pylist())]


def test_export_refuses_secrets_local_paths_and_moving_targets(tmp_path, capsys):
    def refused(*args: str) -> str:
        out = tmp_path / "out"
        assert medsyn_main(["space", "--export", str(out), *args]) == 2
        assert not out.exists()
        return capsys.readouterr().err

    config = tmp_path / "space.yaml"
    config.write_text("backend: openai\nmodel: gpt-4o-mini\nbase_url: https://api.openai.com/v1\napi_key: sk-abcdefghijklmnop1234\n")
    err = refused("--config", str(config))
    assert "secret" in err and "api_key" in err and "sk-abc" not in err
    config.write_text("backend: openai\nmodel: m\nbase_url: https://user:pa55word@llm.example/v1\n")
    assert "credentials inside the URL" in refused("--config", str(config))
    assert "local path" in refused("--backend", "transformers", "--model", str(tmp_path))
    assert "--dataset-version" in refused("--dataset", DATASET)
    assert "not pinned" in refused("--vcs", "git+https://github.com/medsyn-org/medsyn")

    # a pinned VCS URL replaces the wheel; the openai settings survive the YAML round trip the Space makes
    config.write_text("backend: openai\nmodel: medsyn-org/medsyn-ru-llama\nbase_url: http://10.0.0.5:8000/v1\n")
    folder = tmp_path / "vcs"
    vcs = "git+https://github.com/medsyn-org/medsyn@v0.1.0"
    assert medsyn_main(["space", "--export", str(folder), "--config", str(config), "--vcs", vcs]) == 0
    assert not list(folder.glob("*.whl"))
    assert f"medsyn @ {vcs}" in (folder / "requirements.txt").read_text().splitlines()
    assert front_matter(folder / "README.md")["models"] == ["medsyn-org/medsyn-ru-llama"]
    assert "OPENAI_API_KEY" in (folder / "README.md").read_text()
    from medsyn.space.config import load_config

    loaded = load_config(folder / "settings.yaml", {})
    generation = loaded.generation
    assert (generation.backend, generation.model, generation.base_url) == ("openai", "medsyn-org/medsyn-ru-llama",
                                                                          ["http://10.0.0.5:8000/v1"])
    assert "from medsyn.space.app import launch, make_demo" in (folder / "app.py").read_text()


def test_push_space_refuses_a_hand_added_secret_before_any_request(tmp_path):
    folder = tmp_path / "space"
    assert medsyn_main(["space", "--export", str(folder), "--vcs", "git+https://github.com/o/medsyn@0123abc"]) == 0
    with open(folder / "settings.yaml", "a", encoding="utf-8") as handle:
        handle.write("openai_api_key: sk-live0123456789abcdefXYZ\n")
    with pytest.raises(MedsynError, match=r"settings\.yaml: openai_api_key") as raised:
        push(folder, SPACE, "v1.0", repo_type="space")  # validation precedes the token lookup and every request
    assert "sk-live" not in str(raised.value)
    (folder / "settings.yaml").write_text("backend: template\n")
    (folder / "app.py").write_text("KEY = 'hf_abcdefghijklmnopqrstuvwxyz0123'\n")
    with pytest.raises(MedsynError, match="looks like a key or token"):
        push(folder, SPACE, "v1.0", repo_type="space")
