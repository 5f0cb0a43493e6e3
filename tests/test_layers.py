"""The import rules of the layout (`[tool.importlinter]` in pyproject.toml), decided by import-linter itself.

`lint-imports` runs on a copy of the package in its installed layout: grimp finds a package's modules by walking
its folder, and in the checkout builder/, training/, dataset_card/ and space/ lie beside medsyn/ (setuptools maps
them in, see `[tool.setuptools] package-dir`), so run on the checkout it would see medsyn/ alone.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
ILLEGAL = re.compile(r"^-\s+(medsyn\.[\w.]+) -> (medsyn\.[\w.]+) \(l\.", re.MULTILINE)

@dataclass
class Lint:
    broken: set[str]  # contract ids
    illegal: set[tuple[str, str]]  # (importer, imported) that the layers and forbidden contracts report
    output: str


def _contracts() -> dict[str, str]:
    """Contract name -> id: the report names contracts, the config and this test use ids."""
    config = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["importlinter"]
    return {contract["name"]: contract["id"] for contract in config["contracts"]}


def installed_layout(dest: Path) -> Path:
    """The package's Python files copied as they install: medsyn/, medsyn/builder/, medsyn/training/, ..."""
    package_dir = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["setuptools"]["package-dir"]

    def not_python(folder: str, names: list[str]) -> list[str]:
        return [n for n in names if n == "__pycache__" or (Path(folder, n).is_file() and not n.endswith(".py"))]

    for package, folder in sorted(package_dir.items()):  # medsyn first, then the folders mapped inside it
        shutil.copytree(ROOT / folder, dest.joinpath(*package.split(".")), ignore=not_python, dirs_exist_ok=True)
    return dest


def lint(tree: Path) -> Lint:
    """`lint-imports` with this repository's contracts, on the package found first on the path: the one in `tree`."""
    env = {**os.environ, "PYTHONPATH": str(tree), "COLUMNS": "400"}  # one report line per contract, unwrapped
    run = subprocess.run(
        [str(LINT_IMPORTS), "--no-logo", "--no-cache", str(PYPROJECT)],
        cwd=tree, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    output = run.stdout + run.stderr
    status = dict(re.findall(r"^(.+) (KEPT|BROKEN)$", output, re.MULTILINE))
    contracts = _contracts()
    assert status.keys() == contracts.keys(), output  # every contract was checked (a bad config checks none)
    broken = {contracts[name] for name, state in status.items() if state == "BROKEN"}
    assert run.returncode == (1 if broken else 0), output
    return Lint(broken, set(ILLEGAL.findall(output)), output)


@pytest.fixture(scope="module")
def layout(tmp_path_factory) -> Path:
    return installed_layout(tmp_path_factory.mktemp("layout"))


def test_the_import_contracts_are_kept(layout):
    result = lint(layout)
    assert not result.broken and not result.illegal, result.output


@pytest.mark.parametrize(
    "module, added, imported, contract",
    [
        ("medsyn/builder/text/morphology.py", "import medsyn.dataset_card.stats", "medsyn.dataset_card.stats",
         "builder-alone"),
        ("medsyn/builder/kg/graph.py", "from medsyn.builder.corpus import schema", "medsyn.builder.corpus.schema",
         "builder-layers"),
        ("medsyn/dataset_card/stats.py", "from medsyn.training.benchmark import report",
         "medsyn.training.benchmark.report", "card-reads-files"),
    ],
)
def test_a_forbidden_import_breaks_a_contract(layout, tmp_path, module, added, imported, contract):
    """One line added to a copy of the package, and import-linter reports that import and breaks the contract."""
    tree = shutil.copytree(layout, tmp_path / "tree")
    path = tree / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{added}\n", encoding="utf-8")
    importer = module.removesuffix(".py").replace("/", ".")
    before, after = lint(layout), lint(tree)
    assert contract in after.broken, after.output
    assert (importer, imported) in after.illegal - before.illegal, after.output
