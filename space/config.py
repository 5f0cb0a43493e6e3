"""Settings of the Space: defaults, then a YAML file, then `MEDSYN_<SETTING>` environment variables (a Space sets
secrets and variables in its settings page, so the environment has the last word).

The same machinery as every command (`medsyn.config`): the fields below are also the flags of `medsyn space`, the
keys of its YAML file, and the variables' names (`max_new_tokens` -> `MEDSYN_MAX_NEW_TOKENS`). The generation
settings are the build's own group, `GenerationOptions` (the part of it a stream uses: `GENERATION`), so that a
backend is opened with the same typed settings in the Space as in `medsyn build`, and `base_url` reads the same way
in both (one URL or a list of them; the Space streams from one). With no configuration at all the app runs offline
on the `template` backend, which is what a fresh Space or `medsyn space` needs to start without network access.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medsyn.builder.generate.backends import GenerationOptions
from medsyn.config import ConfigParser, Subset
from medsyn.errors import MedsynError
from medsyn.options import option

MAX_NEW_TOKENS_LIMIT = 4096  # a Space visitor must not be able to hold a worker for minutes
MAX_CONCURRENCY_LIMIT = 64
CONFIG_ENV = "MEDSYN_SPACE_CONFIG"

GENERATION = Subset(
    GenerationOptions,
    ("backend", "model", "base_url", "adapter", "max_new_tokens", "concurrency", "temperature", "top_p", "timeout"),
    defaults={"concurrency": 2},  # a Space's CPU runs two generations at once, not a build's 16 requests
    help={
        "backend": "generation backend: template (offline), openai, transformers, or a registered plug-in",
        "model": "openai: the served model name; transformers: a local path or hub id",
        "base_url": "openai only, e.g. http://127.0.0.1:8000/v1",
        "adapter": "transformers only: a PEFT adapter folder",
        "max_new_tokens": f"most tokens per note (at most {MAX_NEW_TOKENS_LIMIT})",
        "concurrency": "generations running at once",
        "timeout": "per-request timeout in seconds (openai)",
    },
)


@dataclass(frozen=True)
class SpaceOptions:
    """The Space's own settings: the corpus it browses, the notes and graph it prompts from, its queue."""

    dataset: str | None = option(None, "a built corpus folder or Hub dataset id for the browse tab")
    dataset_version: str | None = option(None, "the version tag of a Hub dataset the browse tab reads, e.g. v1.0 "
                                         "(default: its main branch, which moves with every release)")
    examples: Path | None = option(None, "RuMedTop3-format notes: enables the `example` prompt family")
    graph: Path | None = option(None, "knowledge graph file (default: the embedded graph)")
    queue_size: int = option(32, "requests waiting at most")


GROUPS = {"generation": GENERATION, "options": SpaceOptions}


@dataclass(frozen=True)
class SpaceConfig:
    """Everything the Space needs: the generation settings it shares with `medsyn build`, and its own."""

    generation: GenerationOptions = field(default_factory=GENERATION.make)
    options: SpaceOptions = field(default_factory=SpaceOptions)

    def validate(self) -> None:
        """Every problem in one line, in the words of a Space's settings page rather than of flags."""
        gen, own = self.generation, self.options
        problems = []
        try:
            gen.validate()
        except MedsynError as err:
            problems.append(str(err).replace("--model", "a model (MEDSYN_MODEL or `model:` in the config)")
                            .replace("--base-url", "a base URL (MEDSYN_BASE_URL or `base_url:` in the config)"))
        if gen.max_new_tokens > MAX_NEW_TOKENS_LIMIT:
            problems.append(f"max_new_tokens must be in 1..{MAX_NEW_TOKENS_LIMIT}, got {gen.max_new_tokens}")
        if gen.concurrency > MAX_CONCURRENCY_LIMIT:
            problems.append(f"concurrency must be in 1..{MAX_CONCURRENCY_LIMIT}, got {gen.concurrency}")
        if len(gen.base_url) > 1:
            problems.append(f"base_url: the Space streams from one server, got {len(gen.base_url)} "
                            f"({' '.join(gen.base_url)}); give one")
        if not 0 < gen.temperature <= 2:
            problems.append(f"temperature must be in (0, 2], got {gen.temperature}")
        if own.queue_size < 1:
            problems.append(f"queue_size must be >= 1, got {own.queue_size}")
        if own.dataset_version and not own.dataset:
            problems.append(f"dataset_version {own.dataset_version} needs a dataset (a Hub dataset id)")
        for name in ("examples", "graph"):
            value = getattr(own, name)
            if value and not Path(value).is_file():
                problems.append(f"{name} file {value!r} not found")
        if problems:
            raise MedsynError("invalid Space settings: " + "; ".join(problems))


def parser(prog: str = "medsyn space", before: tuple[type, ...] = (), description: str | None = None) -> ConfigParser:
    """The Space's settings (after `before`, a command's own groups) as one parser."""
    return ConfigParser([*before, *GROUPS.values()], prog=prog, description=description)


def load_config(path: str | os.PathLike | None = None, environ: Mapping[str, str] | None = None) -> SpaceConfig:
    """Defaults, then the YAML file (`path`, else $MEDSYN_SPACE_CONFIG), then MEDSYN_* variables; validated."""
    environ = os.environ if environ is None else environ
    groups = parser("SpaceConfig").parse([], environ=environ, config=path or environ.get(CONFIG_ENV) or None)
    config = SpaceConfig(*groups)
    config.validate()
    return config


def space_settings(config: SpaceConfig) -> dict[str, Any]:
    """The settings by key, as `settings.yaml` and the MEDSYN_* variables spell them: the one base URL as a string,
    paths as text."""
    values = {name: getattr(config.generation, name) for name in GENERATION.names}
    values["base_url"] = values["base_url"][0] if values["base_url"] else None
    values.update(dataclasses.asdict(config.options))
    return {key: str(value) if isinstance(value, Path) else value for key, value in values.items()}
