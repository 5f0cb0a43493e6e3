"""Settings of the Space: defaults, then a YAML file, then `MEDSYN_<SETTING>` environment variables (a Space sets
secrets and variables in its settings page, so the environment has the last word).

The same machinery as every command (`medsyn.config`): the fields below are also the flags of `medsyn space`, the
keys of its YAML file, and the variables' names (`max_new_tokens` -> `MEDSYN_MAX_NEW_TOKENS`). With no
configuration at all the app runs offline on the `template` backend, which is what a fresh Space or `medsyn space`
needs to start without network access.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from medsyn.errors import MedsynError
from medsyn.options import option

MAX_NEW_TOKENS_LIMIT = 4096  # a Space visitor must not be able to hold a worker for minutes
MAX_CONCURRENCY_LIMIT = 64
CONFIG_ENV = "MEDSYN_SPACE_CONFIG"


@dataclass(frozen=True)
class SpaceConfig:
    backend: str = option("template", "generation backend: template (offline), openai, transformers, or a "
                          "registered plug-in")
    model: str | None = option(None, "openai: the served model name; transformers: a local path or hub id")
    base_url: str | None = option(None, "openai only, e.g. http://127.0.0.1:8000/v1")
    adapter: str | None = option(None, "transformers only: a PEFT adapter folder")
    dataset: str | None = option(None, "a built corpus folder or Hub dataset id for the browse tab")
    dataset_version: str | None = option(None, "the version tag of a Hub dataset the browse tab reads, e.g. v1.0 "
                                         "(default: its main branch, which moves with every release)")
    examples: Path | None = option(None, "RuMedTop3-format notes: enables the `example` prompt family")
    graph: Path | None = option(None, "knowledge graph file (default: the embedded graph)")
    max_new_tokens: int = option(512, f"most tokens per note (at most {MAX_NEW_TOKENS_LIMIT})")
    concurrency: int = option(2, "generations running at once")
    queue_size: int = option(32, "requests waiting at most")
    temperature: float = option(0.7, "generation temperature")
    top_p: float = option(0.95, "nucleus sampling top-p")
    timeout: float = option(120.0, "per-request timeout in seconds (openai)")

    def validate(self) -> None:
        from medsyn.builder.generate.backends import get_backend

        problems = []
        try:
            get_backend(self.backend).check(self)
        except MedsynError as err:
            problems.append(str(err).replace("--model", "a model (MEDSYN_MODEL or `model:` in the config)")
                            .replace("--base-url", "a base URL (MEDSYN_BASE_URL"))
        if not 1 <= self.max_new_tokens <= MAX_NEW_TOKENS_LIMIT:
            problems.append(f"max_new_tokens must be in 1..{MAX_NEW_TOKENS_LIMIT}, got {self.max_new_tokens}")
        if not 1 <= self.concurrency <= MAX_CONCURRENCY_LIMIT:
            problems.append(f"concurrency must be in 1..{MAX_CONCURRENCY_LIMIT}, got {self.concurrency}")
        if self.queue_size < 1:
            problems.append(f"queue_size must be >= 1, got {self.queue_size}")
        if not 0 < self.temperature <= 2:
            problems.append(f"temperature must be in (0, 2], got {self.temperature}")
        if not 0 < self.top_p <= 1:
            problems.append(f"top_p must be in (0, 1], got {self.top_p}")
        if self.dataset_version and not self.dataset:
            problems.append(f"dataset_version {self.dataset_version} needs a dataset (a Hub dataset id)")
        if not self.timeout > 0:
            problems.append(f"timeout must be > 0 seconds, got {self.timeout}")
        for name in ("examples", "graph"):
            value = getattr(self, name)
            if value and not Path(value).is_file():
                problems.append(f"{name} file {value!r} not found")
        if problems:
            raise MedsynError("invalid Space settings: " + "; ".join(problems))


def load_config(path: str | os.PathLike | None = None, environ: Mapping[str, str] | None = None) -> SpaceConfig:
    """Defaults, then the YAML file (`path`, else $MEDSYN_SPACE_CONFIG), then MEDSYN_* variables; validated."""
    from medsyn.config import load

    environ = os.environ if environ is None else environ
    return load(SpaceConfig, path or environ.get(CONFIG_ENV) or None, environ)
