"""Does this tree write the same corpora as another revision? Same commands, same seed, byte for byte.

    python benchmarks/same_corpus.py --ref 609be71 [--n 2000] [--seed 3] [--sources ../shared/data]

Exports REF with `git archive`, lays it out as the installed package would be (pyproject's package-dir map:
builder/ -> medsyn/builder, ...), and runs three jobs with both, each tree in its own working folder with the same
relative output paths: `medsyn build --backend template --n N` (`build/`), `medsyn import
SOURCES/medsyn_generated --preset medsyn` (MedSyn's GPT-3.5 notes, `import/`) and `medsyn merge build import`
(`merged/`). Every file of the three folders is compared by SHA-256. `build_info.json` is compared without its `created` date, so that a run across
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


def run(pythonpath: Path | None, work: Path, args: list[str]) -> None:
    """`medsyn ARGS` in `work` with the code at `pythonpath` (None: this tree, as installed)."""
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    if pythonpath is not None:  # the exported revision must be what runs, not the installed tree
        where = subprocess.run([sys.executable, "-c", "import medsyn.builder, os; print(os.path.realpath("
                                "medsyn.builder.__file__))"], env=env, capture_output=True, text=True, cwd=work).stdout
        if not where.strip().startswith(str(pythonpath.parent)):
            sys.exit(f"the exported revision is shadowed by {where.strip()}")
    done = subprocess.run([sys.executable, "-m", "medsyn.cli", *args, "--quiet"], env=env, capture_output=True,
                          text=True, cwd=work)
    if done.returncode != 0:
        sys.exit(f"medsyn {args[0]} failed ({'ref' if pythonpath else 'this tree'}):\n{done.stderr[-3000:]}")


def jobs(n: int, seed: int, sources: Path) -> list[list[str]]:
    return [
        ["build", "--backend", "template", "--out", "build", "--n", str(n), "--seed", str(seed)],
        ["import", str(sources / "medsyn_generated"), "--preset", "medsyn", "--out", "import"],
        ["merge", "build", "import", "--out", "merged"],
    ]


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
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--sources", type=Path, default=ROOT.parent / "shared" / "data",
                        help="folder in the shared/data layout (for medsyn_generated/)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="same-corpus-") as tmp:
        tmp = Path(tmp)
        tree = tmp / "ref"
        tree.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.ref], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
        site = layout(tree, tmp / "ref-site")
        found = {}
        for side, pythonpath in (("before", site), ("after", None)):
            (tmp / side).mkdir()
            for job in jobs(args.n, args.seed, args.sources.resolve()):
                print(f"{side}: medsyn {job[0]} ...", file=sys.stderr, flush=True)
                run(pythonpath, tmp / side, job)
            found[side] = digests(tmp / side)
    before, after = found["before"], found["after"]
    differing = 0
    for name in sorted(set(before) | set(after)):
        same = before.get(name) == after.get(name)
        differing += not same
        print(f"{'same     ' if same else 'DIFFERENT'} {name}  {(after.get(name) or 'missing')[:16]}")
    for job in ("build", "import", "merged"):
        names = [name for name in set(before) | set(after) if name.startswith(job + "/")]
        bad = sum(before.get(name) != after.get(name) for name in names)
        print(f"{job}: {len(names)} files, " + ("byte-identical" if not bad else f"{bad} differ"))
    print(f"{len(before)} files at {args.ref}, {len(after)} in this tree: "
          + ("byte-identical" if not differing else f"{differing} differ"))
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
