"""`medsyn push`: publish a corpus folder (dataset repo) or a model/adapter folder (model repo) as a tagged version."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "push",
        help="publish a corpus or model folder to the Hugging Face Hub as a tagged version",
        description=(
            "Validate DIR (card metadata, data schema, not empty), create the repo if missing, upload data and "
            "card in one commit and tag it --version. An existing tag is refused. The token is read from HF_TOKEN "
            "or `hf auth login` and never printed. A folder with config.json/adapter_config.json is pushed as a "
            "model repo with a model card; a folder from `medsyn space --export` as a Space repo."
        ),
    )
    parser.add_argument(
        "dir", type=Path, metavar="DIR",
        help="corpus folder (medsyn build), model/adapter folder, or Space folder (medsyn space --export)",
    )  # fmt: skip
    parser.add_argument("--repo-id", required=True, metavar="ORG/NAME", help="Hub repository, e.g. my-org/medsyn-ru")
    parser.add_argument("--version", required=True, metavar="vX.Y", help="version tag to create, e.g. v1.0")
    parser.add_argument("--notes", default="", help="one line for the card's version history")
    parser.add_argument(
        "--create-pr", action="store_true", help="open a pull request instead of committing to main (no tag yet)"
    )
    parser.add_argument("--private", action="store_true", help="create the repo as private (if it does not exist)")
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument(
        "--repo-type", choices=["dataset", "model", "space"],
        help="the kind of repo; refused when DIR is another kind of folder (default: what DIR is)",
    )  # fmt: skip
    kind.add_argument(
        "--space", action="store_const", const="space", dest="repo_type", help="same as --repo-type space"
    )
    parser.add_argument(
        "--demo", metavar="ORG/NAME", help="the Space that demos this dataset: the dataset card links to it"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import logging

    from medsyn.dataset_card.publish import push

    for name in ("httpx", "httpx2"):  # one INFO line per request would bury what matters
        logging.getLogger(name).setLevel(logging.WARNING)

    result = push(
        args.dir, args.repo_id, args.version, create_pr=args.create_pr, private=args.private, notes=args.notes,
        repo_type=args.repo_type, demo=args.demo,
    )  # fmt: skip
    print(f"committed {result.commit_url}")
    if result.pr_url:
        print(f"opened pull request {result.pr_url}; after merging it, rerun this command to tag {result.version}")
    elif result.tagged:
        print(f"tagged {result.version}")
        if result.repo_type == "dataset":
            print(f'load it with: load_dataset("{result.repo_id}", revision="{result.version}")')
        if result.repo_type == "space":
            from huggingface_hub import constants

            print(f"the Space builds and starts at {constants.ENDPOINT}/spaces/{result.repo_id}")
    return 0
