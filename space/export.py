"""`medsyn space --export DIR`: a self-contained Space folder that the Hub can build and run as it is.

The folder holds `app.py` (a launcher of `medsyn.space.app`), `settings.yaml` (the Space settings, same keys as
`medsyn space --config`), `README.md` (the Space YAML, linking the dataset at its version and the models),
`requirements.txt` and, unless a pinned VCS URL is given, the medsyn wheel built from this source.

Secrets never enter the folder: settings that carry one are refused, and the app reads OPENAI_API_KEY from the
Space's secrets at run time. The Space builder installs `requirements.txt` before it copies the repository's files
(only that file is mounted), so a wheel path relative to the folder works for a local `pip install -r` but not on
the Hub: `medsyn push --space` uploads the wheel and points the requirement at that uploaded copy, pinned by its
sha256 (`hub_requirements`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from urllib.parse import quote, urlsplit

import yaml

import medsyn
from medsyn.dataset_card.stats import read_build_info
from medsyn.errors import MedsynError
from medsyn.hub_ids import REPO_ID, VERSION, is_loopback
from medsyn.io import atomic_dir
from medsyn.space.config import SpaceConfig, space_settings

log = logging.getLogger(__name__)

SETTINGS_FILE = "settings.yaml"
APP_FILE = "app.py"
TEMPLATE = Path(__file__).with_name("space_card.md")
WHEEL_LINE = re.compile(r"^\./(medsyn-[^/\s]+\.whl)\s*$")
# PyTorch's own index of CPU-only wheels. PyPI's Linux torch is the CUDA build (several GB of CUDA libraries that a
# CPU Space downloads, installs and never uses); the Space builder's pip reads index options inside requirements.txt.
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# Keys whose value is a credential, and values that look like one whatever the key (OpenAI, Hugging Face, GitHub,
# Anthropic-style keys; a bearer token; credentials inside a URL).
SECRET_KEY = re.compile(r"(?:^|[_-])(api[_-]?key|key|token|secret|password|passwd|credentials?)$", re.IGNORECASE)
SECRET_VALUE = re.compile(r"\b(sk-[A-Za-z0-9_-]{16,}|hf_[A-Za-z0-9]{20,}|gh[pousr]_[A-Za-z0-9]{20,}|Bearer\s+\S{16,})")
SECRET_QUERY = re.compile(r"[?&](api[_-]?key|key|token|access_token)=", re.IGNORECASE)

APP_PY = '''"""The medsyn demo as a Hugging Face Space (written by `medsyn space --export`).

Settings come from settings.yaml next to this file; MEDSYN_* variables of the Space override them, and the
openai backend reads its key from the OPENAI_API_KEY secret at run time.
"""

import os
from pathlib import Path

os.environ.setdefault("MEDSYN_SPACE_CONFIG", str(Path(__file__).with_name("{settings}")))

from medsyn.space.app import launch, make_demo  # noqa: E402

demo = make_demo()

if __name__ == "__main__":
    launch(demo)  # a Space sets GRADIO_SERVER_NAME/GRADIO_SERVER_PORT; locally 127.0.0.1:7860
'''


@dataclass
class DatasetLink:
    repo_id: str
    version: str


def find_secrets(values: dict, where: str = "settings") -> list[str]:
    """Names (never values) of the settings that hold a credential."""
    found = []
    for key, value in values.items():
        if value in (None, "", [], {}):
            continue
        text = str(value)
        if SECRET_KEY.search(str(key)) or SECRET_VALUE.search(text):
            found.append(f"{where}: {key}")
        elif isinstance(value, str) and "://" in text:
            parts = urlsplit(text)
            if parts.password or SECRET_QUERY.search("?" + parts.query if parts.query else ""):
                found.append(f"{where}: {key} (credentials inside the URL)")
    return found


def refuse_secrets(values: dict, where: str, doing: str = "export", after: str = "nothing was written") -> None:
    found = find_secrets(values, where)
    if found:
        raise MedsynError(
            f"refusing to {doing} settings that hold a secret ({'; '.join(found)}): a Space folder is public. Remove "
            f"it and set it as a Space secret instead (Settings > Variables and secrets, e.g. OPENAI_API_KEY); {after}"
        )


def check_vcs_url(url: str) -> str:
    """`git+https://host/org/repo@REF` (also with `medsyn @ ` in front), REF a tag or commit: never a moving branch."""
    spec = url.split(" @ ", 1)[1].strip() if " @ " in url else url.strip()
    parts = urlsplit(spec)
    if not parts.scheme.startswith("git+") or not parts.netloc:
        raise MedsynError(f"--vcs {url!r} is not a VCS URL like git+https://github.com/ORG/medsyn@v0.1.0")
    path, _, ref = parts.path.rpartition("@")
    if not path or not ref or ref in ("main", "master", "HEAD"):
        raise MedsynError(
            f"--vcs {url!r} is not pinned: end it with @TAG or @COMMIT (e.g. ...medsyn@v0.1.0), so the Space cannot "
            "change under you when the branch moves"
        )
    return f"medsyn @ {spec}"


# -- the source and its wheel ---------------------------------------------------------------------------------


def source_root() -> Path:
    """The checkout this medsyn runs from (a wheel is built from it), or a clear error for an installed medsyn."""
    root = Path(medsyn.__file__).resolve().parents[1]
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file() or 'name = "medsyn"' not in pyproject.read_text(encoding="utf-8"):
        raise MedsynError(
            f"medsyn is installed from a wheel ({root}), not from a source checkout, so there is no source to build "
            "the Space's wheel from: run the export from a checkout (`pip install -e .`) or pass --vcs "
            "git+https://.../medsyn@TAG"
        )
    return root


def _source_files(root: Path) -> list[Path]:
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    package_dirs = config.get("tool", {}).get("setuptools", {}).get("package-dir") or {"medsyn": "medsyn"}
    dirs = sorted(set(package_dirs.values()))
    files = [root / "pyproject.toml"]
    readme = config.get("project", {}).get("readme")
    if isinstance(readme, str):
        files.append(root / readme)
    files += [root / name for name in ("LICENSE", "LICENSE.txt", "MANIFEST.in") if (root / name).is_file()]
    for folder in dirs:
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and not path.name.endswith((".pyc", ".tmp")):
                files.append(path)
    return files


def build_wheel(root: Path, out_dir: Path) -> Path:
    """`pip wheel --no-deps` of a clean copy of the source (no build/ or egg-info left in the checkout).

    SOURCE_DATE_EPOCH fixes the timestamps inside the wheel, so the same source gives the same bytes and a re-push
    of an unchanged Space uploads nothing new.
    """
    with tempfile.TemporaryDirectory(prefix="medsyn-wheel-") as tmp:
        src = Path(tmp) / "src"
        for path in _source_files(root):
            target = src / path.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        env = {**os.environ, "SOURCE_DATE_EPOCH": os.environ.get("SOURCE_DATE_EPOCH", "315532800")}
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-q",
                   "-w", str(Path(tmp) / "dist"), str(src)]  # fmt: skip
        if _has_modern_setuptools():
            command.insert(4, "--no-build-isolation")  # no download of a build backend we already have
        proc = subprocess.run(command, env=env, capture_output=True, text=True)
        wheels = sorted((Path(tmp) / "dist").glob("medsyn-*.whl"))
        if proc.returncode != 0 or len(wheels) != 1:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
            raise MedsynError(f"building the medsyn wheel from {root} failed: {' | '.join(tail)}")
        out_dir.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copy2(wheels[0], out_dir / wheels[0].name))


def _has_modern_setuptools() -> bool:
    """setuptools >= 70.1 builds wheels by itself (no `wheel` package), so build isolation is not needed."""
    try:
        major, minor = (int(x) for x in metadata.version("setuptools").split(".")[:2])
    except Exception:  # not installed, or an odd version string
        return False
    return (major, minor) >= (70, 1)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def hub_requirements(text: str, folder: Path, endpoint: str, repo_id: str) -> str:
    """requirements.txt as the Space builder needs it: the shipped wheel fetched from the Space repo, by sha256."""
    lines = []
    for line in text.splitlines():
        match = WHEEL_LINE.match(line.strip())
        if match:
            name = match.group(1)
            url = f"{endpoint.rstrip('/')}/spaces/{repo_id}/resolve/main/{quote(name)}"
            line = f"medsyn @ {url}#sha256={sha256(folder / name)}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def shipped_wheels(text: str) -> list[str]:
    return [m.group(1) for line in text.splitlines() if (m := WHEEL_LINE.match(line.strip()))]


# -- links ------------------------------------------------------------------------------------------------------


def resolve_dataset(value: str | None, version: str | None) -> DatasetLink | None:
    """The Hub dataset (and version) the Space shows: a Hub id with --dataset-version, or a pushed corpus folder."""
    if not value:
        if version:
            raise MedsynError("--dataset-version needs --dataset (a Hub dataset id or a pushed corpus folder)")
        return None
    if version and not VERSION.match(version):
        raise MedsynError(f"--dataset-version {version!r} is not a version tag like v1.0")
    folder = Path(value)
    if folder.is_dir():
        info = read_build_info(folder)
        repo_id = info.get("repo_id")
        if not repo_id:
            raise MedsynError(
                f"{folder} has not been pushed to the Hub (its build_info.json names no repo_id), and a Space cannot "
                f"read a local folder: run `medsyn push {folder} --repo-id ORG/NAME --version v1.0` first, or pass "
                "--dataset ORG/NAME --dataset-version vX.Y"
            )
        versions = [v["version"] for v in info.get("versions") or [] if isinstance(v, dict) and v.get("version")]
        version = version or (versions[-1] if versions else None)
        if not version:
            raise MedsynError(f"{folder}/build_info.json records no published version; pass --dataset-version vX.Y")
        return DatasetLink(repo_id, version)
    if not REPO_ID.match(value):
        raise MedsynError(
            f"--dataset {value!r} is neither a corpus folder nor a Hub dataset id ORG/NAME (a Space reads the corpus "
            "from the Hub)"
        )
    if not version:
        raise MedsynError(
            f"--dataset {value} needs --dataset-version vX.Y (the tag `medsyn push` created), so that the Space "
            "links to the version it was deployed with"
        )
    return DatasetLink(value, version)


def hub_models(settings: dict) -> list[str]:
    """Hub ids among the model and adapter; a local path cannot travel to a Space and is refused."""
    models = []
    for key in ("model", "adapter"):
        value = settings.get(key)
        if not value:
            continue
        if Path(value).exists():
            raise MedsynError(
                f"{key} {value!r} is a local path, which the Space cannot read: push it (`medsyn push {value} "
                f"--repo-id ORG/NAME --version v0.1`) and pass its Hub id"
            )
        if REPO_ID.match(value):  # an openai server's model name is listed only when it is a Hub id
            models.append(value)
    return models


# -- the folder -----------------------------------------------------------------------------------------------


def _settings_yaml(settings: dict) -> str:
    header = (
        "# Space settings (the keys of `medsyn space --config`); MEDSYN_* variables of the Space override them.\n"
        "# Never put a key here: the openai backend reads OPENAI_API_KEY from the Space's secrets.\n"
    )
    return header + yaml.safe_dump(settings, allow_unicode=True, sort_keys=False)


def torch_requirement(gpu: bool) -> str:
    """The torch lines: the CPU build of the torch this export runs (a free Space has no GPU), from PyTorch's CPU
    index; for GPU hardware nothing, and PyPI's default (CUDA) build comes in as medsyn's dependency."""
    if gpu:
        return ""
    public = metadata.version("torch").split("+", 1)[0]
    return (
        "# torch: the CPU-only build of the version this Space was exported with (PyPI's Linux torch is the CUDA build)\n"
        f"--extra-index-url {TORCH_CPU_INDEX}\n"
        f"torch=={public}+cpu\n"
    )


def _requirements(wheel: str | None, vcs: str | None, gpu: bool = False) -> str:
    torch = torch_requirement(gpu)
    if vcs:
        return f"{torch}# medsyn from a pinned VCS URL; its other dependencies come from PyPI.\n{vcs}\n"
    return (
        f"{torch}"
        "# medsyn, built from the exporting checkout (the wheel next to this file); its dependencies come from PyPI.\n"
        "# `medsyn push DIR --space` rewrites this line to the wheel's copy in the Space repo, pinned by sha256:\n"
        "# the Space builder installs this file before it copies the other files.\n"
        f"./{wheel}\n"
    )


def render_readme(
    *, title: str, settings: dict, dataset: DatasetLink | None, models: list[str], install: str, cpu_torch: bool = True
) -> str:
    from huggingface_hub import SpaceCard, SpaceCardData

    data = SpaceCardData(
        title=title,
        sdk="gradio",
        sdk_version=metadata.version("gradio"),  # the Space runs the gradio this export was made (and tested) with
        python_version=f"{sys.version_info.major}.{sys.version_info.minor}",
        app_file=APP_FILE,
        license="apache-2.0",
        datasets=[dataset.repo_id] if dataset else None,
        models=models or None,
        tags=["medsyn", "medical", "synthetic", "clinical-notes", "russian"],
        emoji="🩺",
        colorFrom="blue",
        colorTo="green",
        pinned=False,
        short_description="Generate and judge synthetic Russian outpatient notes",
    )
    card = SpaceCard.from_template(
        data, template_path=str(TEMPLATE), dataset=dataset, models=models, settings=settings,
        settings_file=SETTINGS_FILE, install=install, cpu_torch=cpu_torch,
        needs_key=settings.get("backend") == "openai",
    )  # fmt: skip
    return str(card).rstrip("\n") + "\n"


def export_space(
    out: str | Path,
    settings: dict,
    *,
    dataset: DatasetLink | None = None,
    vcs: str | None = None,
    title: str = "MedSyn-ru synthetic clinical notes",
    overwrite: bool = False,
    gpu: bool = False,
) -> Path:
    """Write the Space folder `out` (atomically: a failure leaves nothing, or the previous folder, behind).

    `gpu`: the Space will run on GPU hardware, so torch is left to PyPI's CUDA build instead of pinned to the CPU one.
    """
    if Path(out).exists() and not overwrite:
        raise MedsynError(f"{out} already exists; pass --overwrite to replace it or choose another --export DIR")
    settings = {k: v for k, v in settings.items() if v is not None}
    refuse_secrets(settings, "settings")
    if dataset is not None:  # the browse tab reads the version the README links, not the moving main
        settings["dataset"], settings["dataset_version"] = dataset.repo_id, dataset.version
    elif settings.get("dataset") and Path(settings["dataset"]).exists():
        raise MedsynError(
            f"dataset {settings['dataset']!r} is a local folder, which the Space cannot read: push it and pass "
            "--dataset FOLDER (or ORG/NAME with --dataset-version)"
        )
    for key in ("examples", "graph"):
        if settings.get(key):
            raise MedsynError(
                f"{key} {settings[key]!r} is a local file the Space cannot read; export without it (the Space uses "
                "the embedded knowledge graph and the symptoms/code prompt families)"
            )
    models = hub_models(settings)
    if settings.get("base_url") and is_loopback(settings["base_url"]):
        log.warning(
            "base_url %s is a loopback address: on the Space it points at the Space itself, not at this machine; "
            "set MEDSYN_BASE_URL in the Space's variables to a server it can reach", settings["base_url"],
        )  # fmt: skip
    defaults = space_settings(SpaceConfig())
    # only what differs from the defaults: the file reads as the deployment's choices
    settings = {
        key: settings[key] for key in defaults
        if key in settings and (key == "backend" or defaults[key] != settings[key])
    }  # fmt: skip
    requirement = check_vcs_url(vcs) if vcs else None
    root = None if requirement else source_root()
    with atomic_dir(out, overwrite=overwrite, flag="--export") as tmp:
        wheel = build_wheel(root, tmp).name if root else None
        install = requirement or f"./{wheel}"
        (tmp / APP_FILE).write_text(APP_PY.format(settings=SETTINGS_FILE), encoding="utf-8")
        (tmp / SETTINGS_FILE).write_text(_settings_yaml(settings), encoding="utf-8")
        (tmp / "requirements.txt").write_text(_requirements(wheel, requirement, gpu), encoding="utf-8")
        readme = render_readme(title=title, settings=settings, dataset=dataset, models=models, install=install,
                               cpu_torch=not gpu)
        (tmp / "README.md").write_text(readme, encoding="utf-8")
    return Path(out)


def validate_space_folder(folder: Path) -> dict:
    """What `medsyn push --space` checks before any request: card, app file, settings, requirements, no secrets."""
    from huggingface_hub import SpaceCard

    readme = folder / "README.md"
    if not readme.is_file():
        raise MedsynError(f"{folder}: no README.md with the Space YAML; export the folder with `medsyn space --export`")
    try:
        card = SpaceCard(readme.read_text(encoding="utf-8"))
    except Exception as err:  # the metadata parser raises several types
        raise MedsynError(f"{readme}: its YAML metadata does not parse ({err})") from None
    meta = card.data.to_dict()
    if not meta.get("sdk"):
        raise MedsynError(f"{readme}: the Space YAML names no `sdk` (gradio); re-export the folder")
    app_file = meta.get("app_file") or APP_FILE
    if not (folder / app_file).is_file():
        raise MedsynError(f"{folder}: app_file {app_file} named in README.md is missing")
    settings_path = folder / SETTINGS_FILE
    if settings_path.is_file():
        try:
            settings = yaml.safe_load(settings_path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as err:
            raise MedsynError(f"{settings_path}: not valid YAML ({err})") from None
        if not isinstance(settings, dict):
            raise MedsynError(f"{settings_path}: expected a mapping of setting: value")
        refuse_secrets(settings, str(settings_path), "push", "nothing was uploaded")
    requirements = folder / "requirements.txt"
    text = requirements.read_text(encoding="utf-8") if requirements.is_file() else ""
    for name in shipped_wheels(text):
        if not (folder / name).is_file():
            raise MedsynError(f"{requirements} installs ./{name}, which is not in the folder; re-export it")
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix in (".py", ".md", ".txt", ".yaml", ".yml", ".json", ".toml", ".env"):
            hit = SECRET_VALUE.search(path.read_text(encoding="utf-8", errors="replace"))
            if hit:
                raise MedsynError(
                    f"{path} contains what looks like a key or token; remove it (use a Space secret); nothing was "
                    "uploaded"
                )
    return meta
