"""The `medsyn` command: one entry point, one subcommand per step of the pipeline.

Each subcommand lives in `medsyn/commands/<name>.py` with `add_parser(subparsers)`; heavy libraries (torch,
transformers, gradio) are imported inside the command's function, so `medsyn --help` and light commands stay fast.
"""

from __future__ import annotations

import argparse
import importlib
import keyword
import logging
import sys

from medsyn import __version__
from medsyn.errors import MedsynError

# Order is the order of the pipeline: sources -> MKG -> priors -> prompts -> generations -> corpus -> card/Hub
# (`import` and `merge` make corpora from notes generated elsewhere and from other corpora).
COMMANDS = ["mkg", "sample", "prompts", "build", "import", "merge", "benchmark", "card", "push", "ift", "train", "space"]


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="medsyn",
        description="Build, benchmark and publish a Russian synthetic clinical-notes corpus.",
    )
    parser.add_argument("--version", action="version", version=f"medsyn {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = f"{name}_" if keyword.iskeyword(name) else name  # `import` lives in commands/import_.py
        importlib.import_module(f"medsyn.commands.{module}").add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    # Our own messages at INFO; third-party libraries (pymorphy3, httpx, datasets) only when they warn.
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    logging.getLogger("medsyn").setLevel(logging.DEBUG if args.verbose else logging.INFO)
    try:
        result = args.func(args)
    except MedsynError as err:
        print(f"medsyn {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"medsyn {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
