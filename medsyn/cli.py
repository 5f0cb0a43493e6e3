"""The `medsyn` command: one entry point, one subcommand per step of the pipeline.

Each subcommand lives in `medsyn/commands/<name>.py` with `HELP` (one line) and `main(argv, prog)`, which parses its
own flags from typed dataclasses (see `medsyn/config.py`). The table below names them with their one-line helps, so
that `medsyn --help` imports no command and `medsyn COMMAND ...` imports that command's module alone: a command's
module imports what its work needs at the top, and the libraries that make the work slow (torch, gradio) load where
the work starts.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import keyword
import logging
import os
import sys
from types import ModuleType

from medsyn import __version__
from medsyn.errors import MedsynError

USER_OS_ERRORS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.ENOTDIR, errno.EISDIR}
# Subcommand -> its one-line help (the module's `HELP`, which a test keeps equal). Order is the order of the pipeline:
# sources -> MKG -> priors -> prompts -> generations -> corpus -> card/Hub (`import` and `merge` make corpora from
# notes generated elsewhere and from other corpora).
COMMANDS = {
    "mkg": "build and inspect the Medical Knowledge Graph",
    "sample": "sample priors as JSON lines",
    "prompts": "build chat prompts from priors",
    "build": "build a corpus dataset folder (the main job)",
    "import": "import notes generated elsewhere into a scored, deduplicated corpus folder",
    "merge": "combine corpus folders into one, with near-duplicates removed across them",
    "audit": "audit a corpus against real notes: copies, personal data, DCR and membership inference against a holdout",
    "benchmark": "ICD-10 classification benchmark: real vs real + synthetic notes",
    "budget": "synthetic notes per code, learnt from a benchmark's per-code gains",
    "card": "write DIR/README.md (dataset card) and its plots from the corpus data",
    "push": "publish a corpus, model or Space folder to the Hugging Face Hub as a tagged version",
    "ift": "build instruction-tuning data from real training notes",
    "train": "fine-tune a generator with LoRA (TRL SFTTrainer)",
    "space": "run the Gradio demo locally, or export it as a Hugging Face Space folder",
}


def command_module(name: str) -> ModuleType:
    """The module of a subcommand, looked up by name when it is invoked; `import` lives in commands/import_.py (a
    keyword cannot name a module)."""
    return importlib.import_module(f"medsyn.commands.{name}_" if keyword.iskeyword(name) else f"medsyn.commands.{name}")


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="medsyn",
        description="Build, benchmark and publish a Russian synthetic clinical-notes corpus. "
        "`medsyn COMMAND --help` lists a command's flags; every command also takes --config FILE.yaml.",
    )
    parser.add_argument("--version", action="version", version=f"medsyn {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, help_ in COMMANDS.items():
        subparsers.add_parser(name, help=help_, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # The words up to the command are medsyn's own options; the rest belongs to the command's parser.
    split = next((i + 1 for i, arg in enumerate(argv) if not arg.startswith("-")), len(argv))
    args = make_parser().parse_args(argv[:split])
    # Our own messages at INFO; third-party libraries (pymorphy3, httpx, datasets) only when they warn.
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    logging.getLogger("medsyn").setLevel(logging.DEBUG if args.verbose else logging.INFO)
    command = command_module(args.command)
    try:
        result = command.main(argv[split:], f"medsyn {args.command}")
        sys.stdout.flush()
    except MedsynError as err:
        print(f"medsyn {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"medsyn {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`medsyn mkg show M54 --json | head`): not an error of ours. Point stdout at
        # devnull so that the interpreter's final flush does not raise again (Python docs, "Note on SIGPIPE").
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as err:
        # A file system refusing a write we did not foresee (full disk, read-only mount, permissions): the
        # user's environment, not a bug, so one line that names the file.
        if err.errno not in USER_OS_ERRORS or not err.filename:
            raise
        print(f"medsyn {args.command}: error: {err.filename}: {err.strerror}; check the path and its permissions, "
              "or choose another location", file=sys.stderr)
        return 2
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
