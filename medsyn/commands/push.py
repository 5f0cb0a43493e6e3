"""`medsyn push`: publish a corpus (dataset repo), a model/adapter (model repo) or a Space folder as a tagged version."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from medsyn.config import ConfigParser
from medsyn.errors import MedsynError
from medsyn.hub import push
from medsyn.options import option

HELP = "publish a corpus, model or Space folder to the Hugging Face Hub as a tagged version"
DESCRIPTION = (
    "Validate DIR (card metadata, data schema, not empty), create the repo if missing, upload data and card in one "
    "commit and tag it --version. An existing tag is refused. The token is read from HF_TOKEN or `hf auth login` "
    "and never printed. A folder with config.json/adapter_config.json is pushed as a model repo with a model card; "
    "a folder from `medsyn space --export` as a Space repo."
)


@dataclass
class PushOptions:
    dir: Path = option(help="corpus folder (medsyn build), model/adapter folder, or Space folder (medsyn space --export)")
    repo_id: str = option(help="Hub repository ORG/NAME, e.g. my-org/medsyn-ru")
    version: str = option(help="version tag to create, e.g. v1.0")
    notes: str = option("", "one line for the card's version history")
    create_pr: bool = option(False, "open a pull request instead of committing to main (no tag yet)")
    private: bool = option(False, "create the repo as private (if it does not exist)")
    repo_type: Literal["dataset", "model", "space"] | None = option(
        None, "the kind of repo; refused when DIR is another kind of folder (default: what DIR is)")
    space: bool = option(False, "same as --repo-type space")
    demo: str | None = option(None, "the Space (ORG/NAME) that demos this dataset: the dataset card links to it")
    force: bool = option(False, "publish a corpus whose audit (`medsyn card --audit`) failed its thresholds")
    base_model: str | None = option(None, "model/adapter folders: the Hub id (ORG/NAME) of the base model, for the "
                                    "card when training loaded it from a local folder (a path is never published)")

    def kind(self) -> str | None:
        return "space" if self.space else self.repo_type

    def validate(self) -> None:
        if self.space and self.repo_type not in (None, "space"):
            raise MedsynError(f"--space and --repo-type {self.repo_type} contradict each other; give one of them")


def main(argv: list[str], prog: str = "medsyn push") -> int:
    (options,) = ConfigParser([PushOptions], prog=prog, description=DESCRIPTION, positional="dir").parse(argv)
    # Waits on dataset_card/plots.py (matplotlib) and builder/corpus/schema.py (datasets), which import those at
    # import (see WAITING in tests/test_layers.py); until then after parsing, so --help stays light.

    for name in ("httpx", "httpx2"):  # one INFO line per request would bury what matters
        logging.getLogger(name).setLevel(logging.WARNING)

    result = push(options.dir, options.repo_id, options.version, create_pr=options.create_pr,
                  private=options.private, notes=options.notes, repo_type=options.kind(), demo=options.demo,
                  base_model=options.base_model, force=options.force)
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
