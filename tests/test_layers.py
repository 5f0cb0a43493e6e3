"""The import rules of the layout (`[tool.importlinter]` in pyproject.toml), decided by import-linter itself.

`lint-imports` runs on a copy of the package in its installed layout: grimp finds a package's modules by walking
its folder, and in the checkout builder/, training/, dataset_card/ and space/ lie beside medsyn/ (setuptools maps
them in, see `[tool.setuptools] package-dir`), so run on the checkout it would see medsyn/ alone.
"""

from __future__ import annotations

import ast
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


# ------------------------------------------------------------------------------------ imports inside functions

# A function may import only an optional heavy dependency: one that costs seconds or may be absent, so that importing
# a module (and `medsyn COMMAND --help`) does not load it. Everything else is imported at the top of the module, where
# a reader sees what the module depends on and import-linter sees it at the layer it belongs to.
LAZY_ALLOWED = frozenset({
    "torch", "transformers", "trl", "peft", "accelerate", "datasets", "huggingface_hub", "openai", "aiohttp", "httpx",
    "httpx2", "gradio", "gradio_client", "matplotlib", "sklearn", "scipy", "evaluate", "natasha", "navec", "slovnet",
    "pyarrow", "joblib", "ray", "vllm", "uvicorn", "fastapi", "datasketch",
})
# Files not checked (a path ending in "/" stands for a folder): none.
OTHER_BRANCH: frozenset[str] = frozenset()
# (module, import) pairs allowed inside a function though not heavy themselves, with why: none. A medsyn module that
# needs a heavy library imports that library inside the function that uses it, so every module, the commands
# included, imports medsyn modules at the top and `medsyn COMMAND --help` stays free of them (tests/test_cli.py).
WAITING: dict[tuple[str, str], str] = {}


def package_files() -> list[str]:
    """Every Python file the package installs, as a path in the checkout."""
    package_dir = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["setuptools"]["package-dir"]
    return sorted({str(path.relative_to(ROOT)) for folder in package_dir.values()
                   for path in (ROOT / folder).rglob("*.py")})


def imports_in_functions(path: str) -> list[tuple[int, str]]:
    """(line, imported module) of each import statement inside a function body, nested functions included once."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"), path)
    found = {}
    for function in ast.walk(tree):
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(function):
                if isinstance(node, ast.Import):
                    found.update({(node.lineno, alias.name): None for alias in node.names})
                elif isinstance(node, ast.ImportFrom):
                    found[(node.lineno, "." * node.level + (node.module or ""))] = None
    return sorted(found)


def test_functions_import_only_optional_heavy_dependencies():
    checked = [p for p in package_files() if not any(p == skip or (skip.endswith("/") and p.startswith(skip))
                                                     for skip in OTHER_BRANCH)]
    assert "medsyn/cli.py" in checked and "builder/text/matching.py" in checked  # the scan sees the whole package
    wrong, waiting = [], set()
    for path in checked:
        for line, module in imports_in_functions(path):
            if module.split(".")[0] in LAZY_ALLOWED:
                continue
            if (path, module) in WAITING:
                waiting.add((path, module))
                continue
            wrong.append(f"{path}:{line} imports {module} inside a function")
    assert wrong == []
    assert waiting == set(WAITING)  # an import moved to the top leaves WAITING
