"""An in-process emulator of the Hugging Face Hub HTTP API, so publishing is tested with the real clients.

`huggingface_hub` and `datasets` run unchanged against it through `HF_ENDPOINT`. It speaks the parts of the
protocol that `medsyn push` and `load_dataset("org/name", revision=...)` use: repo creation (models, datasets and
Spaces, which need an `sdk`) and info, YAML validation, preupload, the git-LFS batch/upload/verify dance (basic
transfer), NDJSON commits (also as pull requests), tags and refs, tree / paths-info listings and `resolve`
downloads with ranges.

Repos are kept as immutable commit snapshots in memory: a failed commit changes nothing, exactly the guarantee the
real Hub gives and the one the interrupted-push test relies on. Xet storage is not emulated: clients talking to it
must run with `HF_HUB_DISABLE_XET=1` (`client_env` sets it), which selects the LFS protocol.

Use the `hub` fixture (`from tests.hub_emulator import hub`); run the client side in a subprocess with
`hub.client_env(hf_home)` because both libraries read `HF_ENDPOINT` once, at import time.

`python -m tests.hub_emulator [--port P]` serves it on its own (until Ctrl+C, repos in memory), so that `medsyn push`
and `load_dataset` can be tried without a Hub account: it prints the variables to set in the client's shell.
"""

from __future__ import annotations

import argparse
import base64
import fnmatch
import hashlib
import json
import os
import shutil
import signal
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

try:
    import pytest
except ImportError:  # served by `python -m tests.hub_emulator` in an install without the test extras
    pytest = None

TOKEN = "hf_emulatorTokenNeverPrintMe0123456789"
LFS_PATTERNS = ("*.parquet", "*.png", "*.safetensors", "*.bin", "*.arrow", "*.pt")
GITATTRIBUTES = "".join(f"{p} filter=lfs diff=lfs merge=lfs -text\n" for p in LFS_PATTERNS).encode()
PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}


def git_blob_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass(frozen=True)
class Blob:
    data: bytes
    lfs: bool

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def pointer(self) -> bytes:
        return f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.sha256}\nsize {len(self.data)}\n".encode()

    @property
    def oid(self) -> str:
        """The git object id: of the content for regular files, of the LFS pointer for LFS files."""
        return git_blob_oid(self.pointer if self.lfs else self.data)


@dataclass
class Commit:
    oid: str
    parent: str | None
    title: str
    files: dict[str, Blob]
    date: str


@dataclass
class Repo:
    type: str
    id: str
    private: bool
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    prs: dict[int, str] = field(default_factory=dict)

    def resolve(self, revision: str) -> Commit | None:
        revision = unquote(revision)
        if revision in self.branches:
            return self.commits[self.branches[revision]]
        if revision in self.tags:
            return self.commits[self.tags[revision]]
        if revision.startswith("refs/pr/") and revision[8:].isdigit() and int(revision[8:]) in self.prs:
            return self.commits[self.prs[int(revision[8:])]]
        matches = [c for oid, c in self.commits.items() if len(revision) >= 7 and oid.startswith(revision)]
        return matches[0] if len(matches) == 1 else None


class HubState:
    """Everything the server knows, plus the knobs tests turn (failures to inject) and what it saw."""

    def __init__(self, token: str = TOKEN):
        self.token = token
        self.repos: dict[tuple[str, str], Repo] = {}
        self.lfs: dict[str, bytes] = {}
        self.lock = threading.RLock()
        self.fail_commits = 0  # the next N commit calls answer 500 and change nothing
        self.requests: list[tuple[str, str, bool]] = []  # (method, path, had a bearer token)
        self.bodies: list[bytes] = []  # every request body, to check that no secret leaks into data
        self._counter = 0

    def new_commit(self, repo: Repo, parent: str | None, title: str, files: dict[str, Blob]) -> Commit:
        self._counter += 1
        oid = hashlib.sha1(f"{repo.id}:{self._counter}:{title}:{parent}".encode()).hexdigest()
        commit = Commit(oid, parent, title, files, datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z"))
        repo.commits[oid] = commit
        return commit


class _Reply(Exception):
    def __init__(self, status: int, body: object = None, headers: dict | None = None):
        self.status, self.body, self.headers = status, body, headers or {}


def _error(status: int, message: str, code: str | None = None) -> _Reply:
    headers = {"X-Error-Message": message}
    if code:
        headers["X-Error-Code"] = code
    return _Reply(status, {"error": message}, headers)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: HubState  # set on the subclass made per server

    def log_message(self, format: str, *args) -> None:  # keep pytest output clean
        pass

    # -- plumbing -------------------------------------------------------------------------------------------
    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        self.query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length) if length else b""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.body = self._read_chunked()
        auth = self.headers.get("Authorization", "")
        self.authorized = auth == f"Bearer {self.state.token}"
        with self.state.lock:
            self.state.requests.append((self.command, url.path, self.authorized))
            self.state.bodies.append(self.body)
        try:
            self._route(url.path)
        except _Reply as reply:
            self._send(reply.status, reply.body, reply.headers)

    def _read_chunked(self) -> bytes:
        data = b""
        while True:
            size = int(self.rfile.readline().strip().split(b";")[0], 16)
            if size == 0:
                self.rfile.readline()
                return data
            data += self.rfile.read(size)
            self.rfile.readline()

    def _send(self, status: int, body: object = None, headers: dict | None = None) -> None:
        if isinstance(body, (bytes, bytearray)):
            payload, ctype = bytes(body), "application/octet-stream"
        elif body is None:
            payload, ctype = b"", "application/json"
        else:
            payload, ctype = json.dumps(body).encode(), "application/json"
        self.send_response(status)
        headers = dict(headers or {})
        headers.setdefault("Content-Type", ctype)
        headers.setdefault("Content-Length", str(len(payload)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _dispatch

    def _json(self) -> dict:
        try:
            return json.loads(self.body or b"{}")
        except json.JSONDecodeError:
            raise _error(400, "body is not JSON")

    def _need_auth(self) -> None:
        if not self.authorized:
            raise _error(401, "Invalid credentials in Authorization header")

    def _repo(self, rtype: str, repo_id: str) -> Repo:
        repo = self.state.repos.get((rtype, repo_id))
        if repo is None or (repo.private and not self.authorized):
            raise _error(404, "Repository not found", "RepoNotFound")
        return repo

    def _commit(self, repo: Repo, revision: str) -> Commit:
        commit = repo.resolve(revision)
        if commit is None:
            raise _error(404, f"Invalid rev id: {unquote(revision)}", "RevisionNotFound")
        return commit

    # -- routing --------------------------------------------------------------------------------------------
    def _route(self, path: str) -> None:
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if parts[:3] == ["api", "repos", "create"]:
            return self._create_repo()
        if parts[:2] == ["api", "validate-yaml"]:
            return self._validate_yaml()
        if parts[:2] == ["api", "whoami-v2"]:
            self._need_auth()
            raise _Reply(200, {"name": "emulator", "type": "user", "orgs": [], "auth": {}})
        if len(parts) >= 4 and parts[0] == "api" and parts[1] in ("models", "datasets", "spaces"):
            rtype, repo_id, rest = parts[1][:-1], f"{parts[2]}/{parts[3]}", parts[4:]
            return self._api(rtype, repo_id, rest)
        if parts[:1] == ["lfs-upload"] and len(parts) == 2:
            return self._lfs_put(parts[1])
        if parts[:1] == ["lfs-verify"] and len(parts) == 2:
            if parts[1] not in self.state.lfs:
                raise _error(404, "object not uploaded")
            raise _Reply(200, {})
        rtype = "model"
        if parts and parts[0] in ("datasets", "spaces"):
            rtype, parts = parts[0][:-1], parts[1:]
        if len(parts) >= 3 and parts[2].endswith(".git") is False and len(parts) >= 5 and parts[2] == "resolve":
            return self._resolve(rtype, f"{parts[0]}/{parts[1]}", parts[3], "/".join(parts[4:]))
        if len(parts) >= 2 and parts[1].endswith(".git") and parts[2:] == ["info", "lfs", "objects", "batch"]:
            return self._lfs_batch(rtype, f"{parts[0]}/{parts[1][:-4]}")
        raise _error(404, f"emulator: no route for {self.command} {path}")

    def _api(self, rtype: str, repo_id: str, rest: list[str]) -> None:
        if not rest and self.command == "GET":
            return self._info(rtype, repo_id, "main")
        if rest[:1] == ["revision"] and len(rest) >= 2:
            return self._info(rtype, repo_id, "/".join(rest[1:]))
        if rest[:1] == ["preupload"]:
            return self._preupload(rtype, repo_id, "/".join(rest[1:]))
        if rest[:1] == ["commit"]:
            return self._commit_call(rtype, repo_id, "/".join(rest[1:]))
        if rest[:1] == ["tag"]:
            return self._tag(rtype, repo_id, "/".join(rest[1:]))
        if rest == ["refs"]:
            return self._refs(rtype, repo_id)
        if rest[:1] == ["tree"] and len(rest) >= 2:
            return self._tree(rtype, repo_id, rest[1], "/".join(rest[2:]))
        if rest[:1] == ["paths-info"]:
            return self._paths_info(rtype, repo_id, "/".join(rest[1:]))
        raise _error(404, f"emulator: no API route for {self.command} {rtype} {repo_id} {rest}")

    # -- endpoints ------------------------------------------------------------------------------------------
    def _create_repo(self) -> None:
        self._need_auth()
        payload = self._json()
        rtype = payload.get("type") or "model"
        if rtype not in PREFIX:
            raise _error(400, f"unknown repo type {rtype}")
        if rtype == "space" and payload.get("sdk") not in ("gradio", "streamlit", "docker", "static"):
            raise _error(400, "a Space needs an sdk (gradio, streamlit, docker or static)")
        repo_id = f"{payload.get('organization')}/{payload['name']}"
        url = f"{self._base()}/{PREFIX[rtype]}{repo_id}"
        with self.state.lock:
            if (rtype, repo_id) in self.state.repos:
                raise _Reply(409, {"error": "You already created this repo", "url": url})
            repo = Repo(rtype, repo_id, private=payload.get("visibility") == "private")
            first = self.state.new_commit(repo, None, "initial commit", {".gitattributes": Blob(GITATTRIBUTES, False)})
            repo.branches["main"] = first.oid
            self.state.repos[(rtype, repo_id)] = repo
        raise _Reply(200, {"url": url, "name": repo_id})

    def _validate_yaml(self) -> None:
        content = self._json().get("content", "")
        if content.startswith("---"):
            end = content.find("\n---", 3)
            try:
                meta = yaml.safe_load(content[3:end]) if end > 0 else None
            except yaml.YAMLError as err:
                raise _Reply(400, {"errors": [{"message": f"YAML: {err}"}], "warnings": []})
            if end < 0 or not isinstance(meta, dict):
                raise _Reply(400, {"errors": [{"message": "metadata is not a YAML mapping"}], "warnings": []})
        raise _Reply(200, {"errors": [], "warnings": []})

    def _base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def _info(self, rtype: str, repo_id: str, revision: str) -> None:
        with self.state.lock:
            repo = self._repo(rtype, repo_id)
            commit = self._commit(repo, revision)
            card = None
            readme = commit.files.get("README.md")
            if readme is not None and readme.data.startswith(b"---"):
                text = readme.data.decode()
                card = yaml.safe_load(text[3 : text.find("\n---", 3)])
            raise _Reply(
                200,
                {
                    "id": repo_id,
                    "_id": hashlib.md5(repo_id.encode()).hexdigest()[:24],
                    "author": repo_id.split("/")[0],
                    "sha": commit.oid,
                    "private": repo.private,
                    "disabled": False,
                    "gated": False,
                    "lastModified": commit.date,
                    "createdAt": next(iter(repo.commits.values())).date,
                    "tags": list((card or {}).get("tags", []) or []),
                    "cardData": card,
                    "siblings": [{"rfilename": p} for p in sorted(commit.files)],
                    "downloads": 0,
                    "likes": 0,
                },
            )

    def _preupload(self, rtype: str, repo_id: str, revision: str) -> None:
        self._need_auth()
        with self.state.lock:
            repo = self._repo(rtype, repo_id)
            commit = repo.resolve(revision)
        files = []
        for item in self._json().get("files", []):
            path, sample = item["path"], base64.b64decode(item.get("sample", ""))
            lfs = any(fnmatch.fnmatch(path.rsplit("/", 1)[-1], p) for p in LFS_PATTERNS) or b"\0" in sample
            lfs = lfs or item.get("size", 0) > 10 * 1024 * 1024
            existing = commit.files.get(path) if commit else None
            oid = None
            if existing is not None:
                oid = existing.sha256 if existing.lfs else existing.oid
            files.append({"path": path, "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False, "oid": oid})
        raise _Reply(200, {"files": files, "commitOid": commit.oid if commit else None})

    def _lfs_batch(self, rtype: str, repo_id: str) -> None:
        self._need_auth()
        with self.state.lock:
            self._repo(rtype, repo_id)
        payload = self._json()
        if "basic" not in payload.get("transfers", ["basic"]):
            raise _error(422, "emulator speaks only the basic LFS transfer")
        objects = []
        for obj in payload.get("objects", []):
            entry = {"oid": obj["oid"], "size": obj["size"], "authenticated": True}
            if obj["oid"] not in self.state.lfs:
                entry["actions"] = {
                    "upload": {"href": f"{self._base()}/lfs-upload/{obj['oid']}", "header": {}},
                    "verify": {"href": f"{self._base()}/lfs-verify/{obj['oid']}", "header": {}},
                }
            objects.append(entry)
        raise _Reply(200, {"transfer": "basic", "objects": objects, "hash_algo": "sha256"})

    def _lfs_put(self, oid: str) -> None:
        if hashlib.sha256(self.body).hexdigest() != oid:
            raise _error(400, "content does not match its sha256")
        with self.state.lock:
            self.state.lfs[oid] = self.body
        raise _Reply(200, None)

    def _commit_call(self, rtype: str, repo_id: str, revision: str) -> None:
        self._need_auth()
        lines = [json.loads(line) for line in self.body.splitlines() if line.strip()]
        create_pr = self.query.get("create_pr") == "1"
        with self.state.lock:
            repo = self._repo(rtype, repo_id)
            if self.state.fail_commits > 0:
                self.state.fail_commits -= 1
                raise _error(500, "emulated server error while committing")
            branch = unquote(revision)
            if branch not in repo.branches:
                raise _error(404, f"Invalid rev id: {branch}", "RevisionNotFound")
            parent = repo.commits[repo.branches[branch]]
            header = lines[0]["value"] if lines and lines[0]["key"] == "header" else {}
            if header.get("parentCommit") and not parent.oid.startswith(header["parentCommit"]):
                raise _error(412, "parent commit is not the head of the branch")
            files = dict(parent.files)
            for line in lines[1:]:
                key, value = line["key"], line["value"]
                if key == "file":
                    files[value["path"]] = Blob(base64.b64decode(value["content"]), False)
                elif key == "lfsFile":
                    if value["oid"] not in self.state.lfs:
                        raise _error(400, f"LFS object {value['oid']} of {value['path']} was never uploaded")
                    files[value["path"]] = Blob(self.state.lfs[value["oid"]], True)
                elif key == "deletedFile":
                    if value["path"] not in files:
                        raise _error(404, "A file with this name doesn't exist", "EntryNotFound")
                    del files[value["path"]]
                elif key == "deletedFolder":
                    prefix = value["path"].rstrip("/") + "/"
                    files = {p: b for p, b in files.items() if not p.startswith(prefix)}
                else:
                    raise _error(400, f"emulator: unknown commit operation {key}")
            commit = self.state.new_commit(repo, parent.oid, header.get("summary", ""), files)
            prefix = f"{self._base()}/{PREFIX[rtype]}{repo_id}"
            pr_url = None
            if create_pr:
                number = max(repo.prs, default=0) + 1
                repo.prs[number] = commit.oid
                pr_url = f"{prefix}/discussions/{number}"
            else:
                repo.branches[branch] = commit.oid
        raise _Reply(200, {"commitUrl": f"{prefix}/commit/{commit.oid}", "commitOid": commit.oid, "pullRequestUrl": pr_url})

    def _tag(self, rtype: str, repo_id: str, revision: str) -> None:
        self._need_auth()
        tag = self._json().get("tag")
        with self.state.lock:
            repo = self._repo(rtype, repo_id)
            commit = self._commit(repo, revision)
            if tag in repo.tags:
                raise _error(409, f"Tag {tag} already exists")
            repo.tags[tag] = commit.oid
        raise _Reply(200, {})

    def _refs(self, rtype: str, repo_id: str) -> None:
        with self.state.lock:
            repo = self._repo(rtype, repo_id)
            body = {
                "branches": [{"name": n, "ref": f"refs/heads/{n}", "targetCommit": o} for n, o in repo.branches.items()],
                "tags": [{"name": n, "ref": f"refs/tags/{n}", "targetCommit": o} for n, o in repo.tags.items()],
                "converts": [],
            }
            if self.query.get("include_prs") == "1":
                body["pullRequests"] = [
                    {"name": f"refs/pr/{n}", "ref": f"refs/pr/{n}", "targetCommit": o} for n, o in repo.prs.items()
                ]
        raise _Reply(200, body)

    @staticmethod
    def _entry(path: str, commit: Commit) -> dict:
        blob = commit.files.get(path)
        if blob is None:  # a folder
            return {"type": "directory", "oid": hashlib.sha1(f"{commit.oid}:{path}".encode()).hexdigest(), "size": 0, "path": path}
        entry = {"type": "file", "oid": blob.oid, "size": len(blob.data), "path": path}
        if blob.lfs:
            entry["lfs"] = {"oid": blob.sha256, "size": len(blob.data), "pointerSize": len(blob.pointer)}
        return entry

    @staticmethod
    def _folders(commit: Commit) -> set[str]:
        return {"/".join(p.split("/")[:i]) for p in commit.files for i in range(1, p.count("/") + 1)}

    def _tree(self, rtype: str, repo_id: str, revision: str, path: str) -> None:
        recursive = self.query.get("recursive", "false").lower() in ("1", "true")
        with self.state.lock:
            commit = self._commit(self._repo(rtype, repo_id), revision)
        folders = self._folders(commit)
        if path and path not in folders:
            raise _error(404, f"{path} does not exist on {revision}", "EntryNotFound")
        prefix = f"{path}/" if path else ""
        names = sorted(p for p in set(commit.files) | folders if p.startswith(prefix))
        if not recursive:
            names = [p for p in names if "/" not in p[len(prefix) :]]
        raise _Reply(200, [self._entry(p, commit) for p in names])

    def _paths_info(self, rtype: str, repo_id: str, revision: str) -> None:
        ctype = self.headers.get("Content-Type", "")
        if "json" in ctype:
            paths = self._json().get("paths", [])
        else:
            paths = parse_qs(self.body.decode()).get("paths", [])
        with self.state.lock:
            commit = self._commit(self._repo(rtype, repo_id), revision)
        folders = self._folders(commit)
        raise _Reply(200, [self._entry(p, commit) for p in paths if p in commit.files or p in folders])

    def _resolve(self, rtype: str, repo_id: str, revision: str, path: str) -> None:
        with self.state.lock:
            commit = self._commit(self._repo(rtype, repo_id), revision)
        blob = commit.files.get(path)
        if blob is None:
            raise _error(404, f"Entry not found: {path}", "EntryNotFound")
        headers = {"X-Repo-Commit": commit.oid, "ETag": f'"{blob.oid}"', "Accept-Ranges": "bytes"}
        if blob.lfs:
            headers["X-Linked-Etag"] = f'"{blob.sha256}"'
            headers["X-Linked-Size"] = str(len(blob.data))
        data, status = blob.data, 200
        ranged = self.headers.get("Range", "")
        if ranged.startswith("bytes="):
            start_s, _, end_s = ranged[6:].partition("-")
            if start_s == "":
                start, end = max(0, len(data) - int(end_s)), len(data) - 1
            else:
                start, end = int(start_s), int(end_s) if end_s else len(data) - 1
            end = min(end, len(data) - 1)
            if start > end:
                raise _Reply(416, None, {"Content-Range": f"bytes */{len(data)}"})
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            data, status = data[start : end + 1], 206
        raise _Reply(status, data, headers)


class HubEmulator:
    """A running emulator: `url` for HF_ENDPOINT, `state` to inspect or inject failures, `client_env` for children."""

    def __init__(self, token: str = TOKEN, host: str = "127.0.0.1", port: int = 0):
        self.state = HubState(token)
        handler = type("BoundHandler", (Handler,), {"state": self.state})
        self.server = ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = True
        self.url = f"http://{'127.0.0.1' if host in ('', '0.0.0.0') else host}:{self.server.server_address[1]}"
        self.token = token
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "HubEmulator":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def repo(self, repo_id: str, repo_type: str = "dataset") -> Repo:
        return self.state.repos[(repo_type, repo_id)]

    def client_env(self, hf_home: str | os.PathLike, token: bool = True) -> dict[str, str]:
        """Environment for a child process whose `huggingface_hub`/`datasets` must talk to this emulator."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_"))}
        env.update(
            HF_ENDPOINT=self.url,
            HF_HOME=str(hf_home),
            HF_HUB_DISABLE_XET="1",
            HF_HUB_DISABLE_TELEMETRY="1",
            HF_HUB_DISABLE_PROGRESS_BARS="1",
            HF_DATASETS_DISABLE_PROGRESS_BARS="1",
            NO_PROXY="127.0.0.1,localhost",
            no_proxy="127.0.0.1,localhost",
        )
        if token:
            env["HF_TOKEN"] = self.token
        return env


if pytest is not None:

    @pytest.fixture
    def hub():
        with HubEmulator() as emulator:
            yield emulator


def main(argv: list[str] | None = None) -> int:
    """Serve the emulator until interrupted; print what a shell must export for the clients to use it."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.hub_emulator",
        description="Serve the in-memory Hub emulator of medsyn's tests, to try `medsyn push` and `load_dataset` "
        "without a Hub account. Repos live in memory until it stops.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=0, help="port (default: any free one)")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be in 0..65535, got {args.port}")
    try:
        emulator = HubEmulator(host=args.host, port=args.port)
    except OSError as err:
        parser.error(f"cannot listen on {args.host}:{args.port} ({err.strerror}); choose another --port")
    home = tempfile.mkdtemp(prefix="medsyn-hub-emulator-home-")  # a cache of its own: not mixed with the real Hub's
    with emulator:
        print("# Hub emulator running; in the shell that runs medsyn and datasets, set:")
        for name, value in (("HF_ENDPOINT", emulator.url), ("HF_TOKEN", emulator.token), ("HF_HUB_DISABLE_XET", "1"),
                            ("HF_HOME", home), ("NO_PROXY", "127.0.0.1,localhost")):
            print(f"export {name}={value}")
        print("# Ctrl+C stops it (its repos are kept in memory only)", flush=True)
        # Ctrl+C and a plain kill both stop it cleanly, also where it was started with SIGINT ignored (a background
        # job of a non-interactive shell inherits that, and Python would then never raise KeyboardInterrupt).
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
    shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
