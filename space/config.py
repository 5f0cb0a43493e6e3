"""Settings of the Space: defaults, then a YAML file, then environment variables (a Space sets secrets and
variables in its settings page, so the environment has the last word).

With no configuration at all the app runs offline on the `template` backend, which is what a fresh Space or
`medsyn space` needs to start without network access.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any


from medsyn.builder.config import read_yaml
from medsyn.errors import MedsynError

BACKENDS = ("template", "openai", "transformers")
MAX_NEW_TOKENS_LIMIT = 4096  # a Space visitor must not be able to hold a worker for minutes
MAX_CONCURRENCY_LIMIT = 64

# Environment variable -> field. Only these are read; the API key stays in OPENAI_API_KEY and is never shown.
ENV = {
    "MEDSYN_BACKEND": "backend",
    "MEDSYN_MODEL": "model",
    "MEDSYN_BASE_URL": "base_url",
    "MEDSYN_ADAPTER": "adapter",
    "MEDSYN_DATASET": "dataset",
    "MEDSYN_EXAMPLES": "examples",
    "MEDSYN_GRAPH": "graph",
    "MEDSYN_MAX_NEW_TOKENS": "max_new_tokens",
    "MEDSYN_CONCURRENCY": "concurrency",
    "MEDSYN_QUEUE_SIZE": "queue_size",
    "MEDSYN_TEMPERATURE": "temperature",
    "MEDSYN_TOP_P": "top_p",
    "MEDSYN_TIMEOUT": "timeout",
}
CONFIG_ENV = "MEDSYN_SPACE_CONFIG"


@dataclass(frozen=True)
class SpaceConfig:
    backend: str = "template"
    model: str | None = None  # openai: the served model name; transformers: a local path or hub id
    base_url: str | None = None  # openai only, e.g. http://127.0.0.1:8000/v1
    adapter: str | None = None  # transformers only: a PEFT adapter folder
    dataset: str | None = None  # a built corpus folder or Hub dataset id for the browse tab
    examples: str | None = None  # RuMedTop3-format notes: enables the `example` prompt family
    graph: str | None = None  # None: the embedded knowledge graph
    max_new_tokens: int = 512
    concurrency: int = 2
    queue_size: int = 32
    temperature: float = 0.7
    top_p: float = 0.95
    timeout: float = 120.0

    def validate(self) -> None:
        problems = []
        if self.backend not in BACKENDS:
            problems.append(f"backend {self.backend!r} unknown; choose one of {', '.join(BACKENDS)}")
        if self.backend in ("openai", "transformers") and not self.model:
            problems.append(f"the {self.backend} backend needs a model (MEDSYN_MODEL or `model:` in the config)")
        if self.backend == "openai" and not self.base_url:
            problems.append("the openai backend needs a base URL (MEDSYN_BASE_URL, e.g. http://127.0.0.1:8000/v1)")
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
        if not self.timeout > 0:
            problems.append(f"timeout must be > 0 seconds, got {self.timeout}")
        for name in ("examples", "graph"):
            value = getattr(self, name)
            if value and not Path(value).is_file():
                problems.append(f"{name} file {value!r} not found")
        if problems:
            raise MedsynError("invalid Space settings: " + "; ".join(problems))


def _coerce(name: str, raw: Any, where: str) -> Any:
    kind = {f.name: f.type for f in fields(SpaceConfig)}[name]
    if isinstance(raw, list) and len(raw) == 1:  # read_yaml turns `base_url: URL` into [URL] (the build's list form)
        raw = raw[0]
    if raw is None or raw == "":
        return None if "None" in str(kind) else SpaceConfig.__dataclass_fields__[name].default
    try:
        if kind == "int":
            if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                raise ValueError
            return int(raw)
        if kind == "float":
            return float(raw)
    except (TypeError, ValueError):
        raise MedsynError(f"{where}: {name} must be a{'n integer' if kind == 'int' else ' number'}, got {raw!r}") from None
    return str(raw)


def load_config(path: str | os.PathLike | None = None, environ: Mapping[str, str] | None = None) -> SpaceConfig:
    """Defaults, then the YAML file (`path`, else $MEDSYN_SPACE_CONFIG), then MEDSYN_* variables; validated."""
    environ = os.environ if environ is None else environ
    path = path or environ.get(CONFIG_ENV) or None
    values: dict[str, Any] = {}
    if path:
        loaded = read_yaml(path, {f.name for f in fields(SpaceConfig)})
        values.update({key: _coerce(key, value, str(path)) for key, value in loaded.items()})
    for variable, name in ENV.items():
        if variable in environ:
            values[name] = _coerce(name, environ[variable], f"${variable}")
    config = SpaceConfig(**values)
    config.validate()
    return config
