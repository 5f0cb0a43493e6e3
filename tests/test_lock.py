"""The lock is what the suite runs on: a fresh machine gets exactly these versions, whatever the registry publishes.

`scripts/setup` installs `requirements/lock*.txt` with hashes; `scripts/lock` refreshes them. These tests catch the
two ways the lock can stop meaning that: a dependency added to pyproject.toml but not locked (a fresh install would
then fail on `--no-deps`), and a suite run in an environment that is not the locked one.
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==(\S+)", re.MULTILINE)


def _locked(name: str) -> dict[str, str]:
    text = (ROOT / "requirements" / name).read_text(encoding="utf-8")
    return {canonicalize_name(package): version for package, version in PIN.findall(text)}


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_every_locked_line_carries_a_hash():
    for name in ("lock.txt", "lock-test.txt"):
        text = (ROOT / "requirements" / name).read_text(encoding="utf-8")
        entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
        pinned = [entry for entry in entries if PIN.match(entry)]
        assert len(pinned) == len(_locked(name)) > 50
        assert all("--hash=sha256:" in entry for entry in pinned), name


@pytest.mark.parametrize("lock, extras", [("lock.txt", ()), ("lock-test.txt", ("test", "ray"))])
def test_every_dependency_of_pyproject_is_locked_within_its_range(lock, extras):
    project = _pyproject()["project"]
    wanted = [Requirement(line) for line in project["dependencies"]]
    for extra in extras:
        wanted += [Requirement(line) for line in project["optional-dependencies"][extra]]
    locked = _locked(lock)
    for requirement in wanted:
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement.name} is in pyproject.toml but not in {lock}: run scripts/lock"
        assert requirement.specifier.contains(locked[name], prereleases=True), (requirement, locked[name])


def test_the_runtime_lock_holds_the_test_locks_versions():
    runtime, test = _locked("lock.txt"), _locked("lock-test.txt")
    assert runtime.items() <= test.items()


def test_the_suite_runs_on_the_locked_versions():
    """scripts/setup --test installed exactly the lock: a drifted environment would make a green run mean little."""
    drifted = {}
    for name, version in _locked("lock-test.txt").items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            drifted[name] = (version, installed)
    assert not drifted, f"installed versions differ from requirements/lock-test.txt (locked, installed): {drifted}"
