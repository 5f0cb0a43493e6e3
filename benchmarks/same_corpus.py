"""Does this tree build the same corpus as another revision? Same command, same seed, byte for byte.

    python benchmarks/same_corpus.py --ref 609be71 [--n 300] [--seed 3]

Exports REF with `git archive`, lays it out as the installed package would be (pyproject's package-dir map:
builder/ -> medsyn/builder, ...), runs `medsyn build --backend template` with both, and compares every file of the
two corpus folders by SHA-256. `build_info.json` is compared without its `created` date, so that a run across
midnight does not count as a difference. Prints one line per file and exits 1 on any difference.
Refactors that must not change output (issue 10: one config system, backends as a package) are checked with it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def layout(tree: Path, dest: Path) -> Path:
    """`dest` with the packages of `tree` under their import names (what `pip install` would put in site-packages)."""
    project = tomllib.loads((tree / "pyproject.toml").read_text(encoding="utf-8"))
    package_dir = project["tool"]["setuptools"]["package-dir"]
    for name, folder in sorted(package_dir.items()):
        target = dest.joinpath(*name.split("."))
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            target.symlink_to((tree / folder).resolve(), target_is_directory=True)
    return dest


def build(pythonpath: Path | None, out: Path, n: int, seed: int) -> None:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    if pythonpath is not None:  # the exported revision must be what runs, not the installed tree
        where = subprocess.run([sys.executable, "-c", "import medsyn.builder.corpus as m; print(m.__file__)"],
                               env=env, capture_output=True, text=True, cwd=out.parent).stdout.strip()
        if not where.startswith(str(pythonpath)):
            sys.exit(f"the exported revision is shadowed by {where}")
    command = [sys.executable, "-m", "medsyn.cli", "build", "--out", str(out), "--n", str(n), "--seed", str(seed),
               "--quiet"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=out.parent)
    if done.returncode != 0:
        sys.exit(f"build failed ({'ref' if pythonpath else 'this tree'}):\n{done.stderr[-3000:]}")


def digests(folder: Path) -> dict[str, str]:
    found = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if path.name == "build_info.json":
            info = json.loads(data)
            info.pop("created", None)
            data = json.dumps(info, sort_keys=True).encode()
        found[str(path.relative_to(folder))] = hashlib.sha256(data).hexdigest()
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ref", default="HEAD", help="git revision to compare with (default HEAD)")
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="same-corpus-") as tmp:
        tmp = Path(tmp)
        tree = tmp / "ref"
        tree.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.ref], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
        build(layout(tree, tmp / "ref-site"), tmp / "before", args.n, args.seed)
        build(None, tmp / "after", args.n, args.seed)
        before, after = digests(tmp / "before"), digests(tmp / "after")
    differing = 0
    for name in sorted(set(before) | set(after)):
        same = before.get(name) == after.get(name)
        differing += not same
        print(f"{'same     ' if same else 'DIFFERENT'} {name}  {(after.get(name) or 'missing')[:16]}")
    print(f"{len(before)} files at {args.ref}, {len(after)} in this tree: "
          + ("byte-identical" if not differing else f"{differing} differ"))
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
