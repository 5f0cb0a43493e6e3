"""Publishing a corpus (dataset repo), an adapter/model folder (model repo) or a Space folder as one tagged version
on the Hub.

The order is chosen so that a failure anywhere leaves the repo as it was: everything is validated locally first,
the tag is checked before any upload, data and card go up in a single commit (a commit either lands whole or not
at all), and the tag is put on exactly that commit. The token comes from huggingface_hub's own lookup (HF_TOKEN
or the stored login) and is only ever handed to `HfApi`; it is never printed, logged or written.

The publisher sits above what it publishes (the dataset card, the model card, the Space export): they never import
it, so each of them can be used and tested without the Hub.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from medsyn.dataset_card.card import render_card
from medsyn.dataset_card.privacy import audit_failures
from medsyn.dataset_card.stats import collect_stats, read_build_info
from medsyn.dataset_card.validate import validate_folder
from medsyn.errors import MedsynError
from medsyn.hub_ids import REPO_ID, check_repo_id, check_version, is_loopback
from medsyn.io import atomic_file
from medsyn.space.export import hub_requirements, shipped_wheels, validate_space_folder
from medsyn.training.model_card import NO_BASE, base_model_of, model_card_text, public_training_info

log = logging.getLogger(__name__)

DATASET_PARTS = ("data/", "unfiltered/", "assets/")  # what a corpus version consists of besides the two files below
DATASET_FILES = ("README.md", "build_info.json")
MODEL_MARKERS = ("adapter_config.json", "config.json")


@dataclass
class PushResult:
    repo_id: str
    repo_type: str
    version: str
    commit_oid: str
    commit_url: str
    tagged: bool
    pr_url: str | None = None


def hub_token() -> str | None:
    """The token huggingface_hub would use; a real (non-loopback) endpoint without one is refused up front."""
    from huggingface_hub import constants, get_token

    token = get_token()
    if token is None and not is_loopback(constants.ENDPOINT):
        raise MedsynError(
            f"no Hugging Face token for {constants.ENDPOINT}: set HF_TOKEN to a token with write access "
            "(https://huggingface.co/settings/tokens) or run `hf auth login`; nothing was uploaded"
        )
    return token


def _hub_error(err: Exception, doing: str, after: str = "nothing was published") -> MedsynError:
    response = getattr(err, "response", None)
    status = getattr(response, "status_code", None)
    server = getattr(err, "server_message", None) or str(err).splitlines()[0]
    hint = ""
    if status == 401:
        from huggingface_hub import get_token

        hint = ("; no Hugging Face token was found: set HF_TOKEN to a token with write access "
                "(https://huggingface.co/settings/tokens) or run `hf auth login`" if get_token() is None else
                "; the token was refused (invalid or expired): set HF_TOKEN to a valid token with write access "
                "or run `hf auth login` again")
    elif status == 403:
        hint = "; check that the token has write access to this namespace"
    return MedsynError(f"{doing} failed (HTTP {status}: {server}){hint}; {after}")


# -- what goes into a version ---------------------------------------------------------------------------------


def is_space_folder(folder: Path) -> bool:
    """A Space folder has an app file and a README whose YAML names an `sdk` (what `medsyn space --export` writes)."""
    readme = folder / "README.md"
    if not (folder / "app.py").is_file() or not readme.is_file():
        return False
    head = readme.read_text(encoding="utf-8", errors="replace")
    return head.startswith("---") and re.search(r"^sdk:\s*\S", head.split("\n---", 1)[0], re.MULTILINE) is not None


def folder_kind(folder: Path) -> str:
    if is_space_folder(folder):
        return "space"
    if any((folder / m).is_file() for m in MODEL_MARKERS):
        return "model"
    if (folder / "data").is_dir() or (folder / "build_info.json").is_file():
        return "dataset"
    raise MedsynError(
        f"{folder}: neither a corpus folder (data/train-*.parquet), a model/adapter folder "
        f"({' or '.join(MODEL_MARKERS)}) nor a Space folder (app.py and README.md with `sdk:`); pass the folder "
        "`medsyn build`, `medsyn train` or `medsyn space --export` wrote"
    )


def _files_under(folder: Path, prefixes: tuple[str, ...] | None) -> dict[str, Path]:
    files = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if not path.is_file() or any(part.startswith(".") for part in rel.split("/")):
            continue
        if prefixes is None or rel.startswith(prefixes):
            files[rel] = path
    return files


def _previous_info(api, repo_id: str, repo_type: str, head: str) -> dict:
    """build_info.json of the version now on `main`: its `versions` list is the history this push extends."""
    from huggingface_hub.errors import EntryNotFoundError

    try:
        path = api.hf_hub_download(repo_id, "build_info.json", repo_type=repo_type, revision=head)
    except EntryNotFoundError:
        return {}
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        log.warning("build_info.json on the Hub is not JSON; starting the version history afresh")
        return {}


def _history(previous: list[dict], local: list[dict], version: str, notes: str) -> list[dict]:
    history: list[dict] = []
    for entry in [*previous, *local]:
        if isinstance(entry, dict) and entry.get("version") and entry["version"] != version:
            if entry["version"] not in {h["version"] for h in history}:
                history.append(entry)
    date = datetime.now(timezone.utc).date().isoformat()
    history.append({"version": version, "date": date, "notes": notes})
    return history


# -- the publishing transaction -------------------------------------------------------------------------------


def _publish(
    api,
    *,
    repo_id: str,
    repo_type: str,
    version: str,
    build,  # (api, head) -> (files {path_in_repo: Path | bytes}, managed prefixes, commit title, description)
    create_pr: bool,
    private: bool,
    create_options: dict | None = None,
) -> PushResult:
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete
    from huggingface_hub.errors import HfHubHTTPError

    try:
        api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True, **(create_options or {}))
        refs = api.list_repo_refs(repo_id, repo_type=repo_type)
    except HfHubHTTPError as err:
        raise _hub_error(err, f"opening {repo_type} repo {repo_id}") from None
    except Exception as err:  # connection refused, DNS, TLS: the httpx error types vary by client version
        if type(err).__module__.split(".")[0] not in ("httpx", "httpx2", "requests", "urllib3"):
            raise
        raise MedsynError(
            f"could not reach the Hub at {api.endpoint} ({type(err).__name__}: {err}); check HF_ENDPOINT and the "
            "network; nothing was published"
        ) from None
    if version in {tag.name for tag in refs.tags}:
        raise MedsynError(
            f"{repo_id} already has tag {version}; published versions are immutable, choose a new --version "
            f"(existing: {', '.join(sorted(t.name for t in refs.tags))})"
        )
    head = next((b.target_commit for b in refs.branches if b.name == "main"), None)
    try:
        files, managed, title, description = build(api, head)
        remote = [
            entry.path
            for entry in (api.list_repo_tree(repo_id, repo_type=repo_type, recursive=True, revision=head) if head else [])
            if getattr(entry, "blob_id", None) is not None
        ]
    except HfHubHTTPError as err:
        raise _hub_error(err, f"reading the current state of {repo_id}") from None
    stale = [
        p for p in remote
        if p not in files and p != ".gitattributes" and (managed is None or p.startswith(managed))
    ]  # fmt: skip
    operations = [CommitOperationDelete(path_in_repo=p) for p in stale]
    operations += [CommitOperationAdd(path_in_repo=p, path_or_fileobj=src if isinstance(src, bytes) else str(src)) for p, src in files.items()]  # noqa: E501
    log.info("committing %d file(s), deleting %d stale file(s) in %s", len(files), len(stale), repo_id)
    try:
        commit = api.create_commit(
            repo_id,
            operations,
            commit_message=title,
            commit_description=description,
            repo_type=repo_type,
            parent_commit=head,
            create_pr=create_pr,
        )
    except HfHubHTTPError as err:
        raise _hub_error(
            err, f"committing {version} to {repo_id}",
            "the commit did not land, the previous version is unchanged; rerun the same command",
        ) from None  # fmt: skip
    except (OSError, RuntimeError, ValueError) as err:  # upload of a file failed before the commit call
        raise MedsynError(
            f"uploading files for {version} to {repo_id} failed ({err}); nothing was committed, rerun the command"
        ) from None
    if create_pr:
        return PushResult(repo_id, repo_type, version, commit.oid, commit.commit_url, False, commit.pr_url)
    try:
        api.create_tag(repo_id, tag=version, revision=commit.oid, tag_message=title, repo_type=repo_type)
    except HfHubHTTPError as err:
        raise _hub_error(
            err, f"tagging commit {commit.oid[:8]} as {version}",
            "the files are on main but untagged; rerun the same command to add the tag (nothing is re-uploaded)",
        ) from None  # fmt: skip
    return PushResult(repo_id, repo_type, version, commit.oid, commit.commit_url, True)


def push_dataset(
    folder: Path,
    repo_id: str,
    version: str,
    *,
    create_pr: bool = False,
    private: bool = False,
    notes: str = "",
    demo: str | None = None,
) -> PushResult:
    from huggingface_hub import DatasetCard, HfApi


    report = validate_folder(folder)
    token = hub_token()
    stats = collect_stats(folder)
    local_info = read_build_info(folder)
    if local_info.get("repo_id") not in (None, repo_id):  # published elsewhere before: that history is not this repo's
        local_info = {k: v for k, v in local_info.items() if k not in ("repo_id", "versions", "space")}
    published: dict = {}  # the build_info.json and card that went up, kept locally once the version is tagged

    def build(api, head):
        previous = _previous_info(api, repo_id, "dataset", head) if head else {}
        info = dict(local_info)
        info["versions"] = _history(previous.get("versions") or [], local_info.get("versions") or [], version, notes)
        info["repo_id"] = repo_id
        space = demo or local_info.get("space") or previous.get("space")  # a named demo stays linked in later versions
        if space:
            info["space"] = space
        readme = render_card(folder, repo_id=repo_id, version=version, build_info=info, stats=stats)
        published.update(info=info, readme=readme)
        DatasetCard(readme)  # the uploaded text must parse as well as the local one did
        files: dict[str, Path | bytes] = _files_under(folder, DATASET_PARTS)
        files["README.md"] = readme.encode("utf-8")
        files["build_info.json"] = (json.dumps(info, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
        models = ", ".join(f"{m['key'][0]} {100 * m['share']:.0f}%" for m in stats.models)
        title = f"Publish {version}: {report.kept} notes over {len(stats.per_code)} ICD-10 codes"
        description = f"{report.generated} generated, {report.kept} kept. Models: {models}. {notes}".strip()
        return files, DATASET_PARTS, title, description

    api = HfApi(token=token)
    result = _publish(
        api, repo_id=repo_id, repo_type="dataset", version=version, build=build, create_pr=create_pr, private=private
    )
    if result.tagged:
        record_publication(folder, published["info"], published["readme"])
    return result


def record_publication(folder: Path, info: dict, readme: str | None = None) -> None:
    """Keep the published build_info.json (repo id, version history, demo Space) and card in the local folder too,
    so that the folder's README.md is the card of the version now on the Hub (not the unpublished one), `medsyn card`
    renders the real repo id and `medsyn space --export --dataset DIR` knows what to link to."""
    path = folder / "build_info.json"
    current = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    current.update({key: info[key] for key in ("repo_id", "versions", "space") if key in info})
    with atomic_file(path) as handle:
        handle.write(json.dumps(current, ensure_ascii=False, indent=2) + "\n")
    if readme is not None:
        with atomic_file(folder / "README.md") as handle:
            handle.write(readme)


def push_model(
    folder: Path, repo_id: str, version: str, *, create_pr: bool = False, private: bool = False,
    base_model: str | None = None,
) -> PushResult:
    """A model/adapter folder as a model repo. What training recorded about the machine it ran on (the base model's
    folder, data and checkpoint paths) goes up as names only: adapter_config.json and training_info.json are
    uploaded rewritten, with the base model as its Hub id or null."""
    from huggingface_hub import HfApi


    files: dict[str, Path | bytes] = _files_under(folder, None)
    if not any(p.endswith((".safetensors", ".bin")) for p in files):
        raise MedsynError(f"{folder}: no weights (*.safetensors or *.bin); pass the folder `medsyn train` wrote")
    base = base_model_of(folder, base_model)
    readme = model_card_text(folder, repo_id, version, base)
    if "adapter_config.json" in files:
        adapter = json.loads((folder / "adapter_config.json").read_text(encoding="utf-8"))
        adapter["base_model_name_or_path"] = base
        files["adapter_config.json"] = (json.dumps(adapter, indent=2) + "\n").encode("utf-8")
        if base is None:
            log.warning("%s", NO_BASE.replace("this card names none", "the published card names none"))
    if "training_info.json" in files:
        info = json.loads((folder / "training_info.json").read_text(encoding="utf-8"))
        files["training_info.json"] = (
            json.dumps(public_training_info(info, base), ensure_ascii=False, indent=2, default=str) + "\n"
        ).encode("utf-8")
    token = hub_token()

    def build(api, head):
        files["README.md"] = readme.encode("utf-8")
        return files, None, f"Publish {version}", f"medsyn {'adapter' if 'adapter_config.json' in files else 'model'}"

    return _publish(
        HfApi(token=token), repo_id=repo_id, repo_type="model", version=version, build=build,
        create_pr=create_pr, private=private,
    )  # fmt: skip


def push_space(
    folder: Path, repo_id: str, version: str, *, create_pr: bool = False, private: bool = False
) -> PushResult:
    """A Space folder from `medsyn space --export`: validated, one commit, tagged, like datasets and models.

    The Space builder installs requirements.txt before the repository's files are in place, so the requirement on
    the shipped wheel is uploaded as a URL of the wheel's copy in this same commit, pinned by its sha256.
    """
    from huggingface_hub import HfApi, constants


    meta = validate_space_folder(folder)
    files: dict[str, Path | bytes] = {
        rel: path for rel, path in _files_under(folder, None).items() if "__pycache__" not in rel.split("/")
    }
    token = hub_token()
    requirements = folder / "requirements.txt"
    if requirements.is_file():
        text = requirements.read_text(encoding="utf-8")
        if shipped_wheels(text):
            if private:
                log.warning(
                    "a private Space's builder may not be allowed to download the wheel from its own repo; if the "
                    "build fails, export with --vcs git+https://...@TAG instead"
                )
            files["requirements.txt"] = hub_requirements(text, folder, constants.ENDPOINT, repo_id).encode("utf-8")

    def build(api, head):
        sdk = f"{meta['sdk']} {meta.get('sdk_version') or ''}".strip()
        return files, None, f"Publish {version}", f"medsyn demo Space (sdk {sdk})"

    return _publish(
        HfApi(token=token), repo_id=repo_id, repo_type="space", version=version, build=build,
        create_pr=create_pr, private=private, create_options={"space_sdk": meta["sdk"]},
    )  # fmt: skip


REPO_TYPES = ("dataset", "model", "space")


def push(
    folder: str | Path,
    repo_id: str,
    version: str,
    *,
    create_pr: bool = False,
    private: bool = False,
    notes: str = "",
    repo_type: str | None = None,
    demo: str | None = None,
    base_model: str | None = None,
    force: bool = False,
) -> PushResult:
    """Validate everything locally, then publish the folder as `version` of `repo_id`.

    `repo_type` (dataset, model, space) must agree with what the folder is; None: whatever the folder is. `demo`
    names the Space that demos a dataset: its card links to it. `base_model` names the Hub id of a model folder's
    base where training used a local folder (the card never names a path).
    """
    folder = Path(folder)
    check_repo_id(repo_id)
    check_version(version)
    if demo is not None:
        check_repo_id(demo)
    if base_model is not None and not REPO_ID.match(base_model):
        raise MedsynError(
            f"--base-model {base_model!r} is not a Hub model id ORG/NAME; a published card names the base model by "
            "its Hub id, never by a local path"
        )
    if repo_type is not None and repo_type not in REPO_TYPES:
        raise MedsynError(f"--repo-type {repo_type!r} unknown; choose one of {', '.join(REPO_TYPES)}")
    if not folder.is_dir():
        raise MedsynError(
            f"{folder}: not a folder; pass the folder `medsyn build --out`, `medsyn train` or `medsyn space --export` "
            "wrote"
        )
    kind = folder_kind(folder)
    if repo_type is not None and repo_type != kind:
        hint = " (export one with `medsyn space --export DIR`)" if repo_type == "space" else ""
        raise MedsynError(f"{folder} is a {kind} folder, not a {repo_type} folder{hint}; nothing was uploaded")
    if demo is not None and kind != "dataset":
        raise MedsynError("--demo names the Space of a dataset; it applies to corpus folders only")
    if base_model is not None and kind != "model":
        raise MedsynError(f"--base-model names the base of a model or adapter; {folder} is a {kind} folder")
    if kind == "space":
        return push_space(folder, repo_id, version, create_pr=create_pr, private=private)
    if kind == "model":
        return push_model(folder, repo_id, version, create_pr=create_pr, private=private, base_model=base_model)
    failures = audit_failures(folder)
    if failures and not force:
        raise MedsynError(f"{folder}: its audit failed ({'; '.join(failures)}); fix the corpus (rebuild with the "
                          "default filters), audit it again and `medsyn card --audit`, or pass --force to publish it "
                          "anyway; nothing was uploaded")
    return push_dataset(folder, repo_id, version, create_pr=create_pr, private=private, notes=notes, demo=demo)
