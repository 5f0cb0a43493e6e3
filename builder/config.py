"""The build configuration: one dataclass, read from YAML and overridden by flags, checked before any work.

Checking everything up front (backend known, model path present, counts sane, codes known) means a bad config
fails in a second with a clear message instead of after an hour of generation.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from medsyn.errors import MedsynError

BACKENDS = ("template", "openai", "transformers")


@dataclass
class BuildConfig:
    # What to build
    n: int = 200
    seed: int = 0
    graph: str | None = None  # None: the embedded graph
    codes: list[str] | None = None
    code_strategy: str = "budget"
    k_min: int = 3
    k_max: int = 6
    symptom_temperature: float = 0.1
    examples: str | None = None
    families: dict[str, float] = field(default_factory=lambda: {"symptoms": 0.6, "example": 0.3, "code": 0.1})
    # How to generate
    backend: str = "template"
    model: str | None = None
    adapter: str | None = None
    base_url: list[str] = field(default_factory=list)
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = 16
    timeout: float = 120.0
    max_retries: int = 6
    batch_size: int = 8
    temperature: float = 0.7
    top_p: float = 0.95
    max_new_tokens: int = 512
    price_per_1k_input: float = 0.0
    price_per_1k_output: float = 0.0
    # Filters, dedup and the run
    filters: dict[str, Any] = field(default_factory=dict)
    max_failure_rate: float = 0.05
    rows_per_shard: int = 20_000
    work_dir: str | None = None  # None: <out>.work next to the output folder
    pretty_name: str = "MedSyn-ru: synthetic Russian outpatient notes"
    license: str | None = None  # None: the card's default ("other", mixed-source licenses; see the card)

    @classmethod
    def from_sources(cls, yaml_path: str | Path | None, overrides: dict[str, Any]) -> "BuildConfig":
        """Defaults, then the YAML file, then flags (only flags the user gave)."""
        values: dict[str, Any] = {}
        if yaml_path:
            values.update(read_yaml(yaml_path, {f.name for f in fields(cls)}))
        values.update({k: v for k, v in overrides.items() if v is not None})
        config = cls(**values)
        config.validate()
        return config

    def validate(self) -> None:
        if self.backend not in BACKENDS:
            close = difflib.get_close_matches(self.backend, BACKENDS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise MedsynError(f"unknown backend {self.backend!r}{hint}; choose one of {', '.join(BACKENDS)}")
        for name in ("n", "concurrency", "batch_size", "max_new_tokens", "rows_per_shard", "k_min", "k_max"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise MedsynError(f"{name} must be an integer >= 1, got {value!r}")
        if self.k_min > self.k_max:
            raise MedsynError(f"k_min ({self.k_min}) must not exceed k_max ({self.k_max})")
        if not isinstance(self.temperature, (int, float)) or self.temperature < 0:
            raise MedsynError(f"temperature must be a number >= 0 (0: greedy), got {self.temperature!r}")
        if not isinstance(self.top_p, (int, float)) or not 0 < self.top_p <= 1:
            raise MedsynError(f"top_p must be in (0, 1] (1: no nucleus cut), got {self.top_p!r}")
        if not isinstance(self.symptom_temperature, (int, float)) or self.symptom_temperature <= 0:
            raise MedsynError(f"symptom_temperature must be a number > 0, got {self.symptom_temperature!r}")
        for name in ("price_per_1k_input", "price_per_1k_output"):
            if not isinstance(getattr(self, name), (int, float)) or getattr(self, name) < 0:
                raise MedsynError(f"{name} must be a number >= 0, got {getattr(self, name)!r}")
        from medsyn.builder.sampling import CODE_STRATEGIES

        if self.code_strategy not in CODE_STRATEGIES:
            raise MedsynError(
                f"unknown code_strategy {self.code_strategy!r}; choose one of {', '.join(CODE_STRATEGIES)}"
            )
        self._validate_families()
        from medsyn.builder.filters import FilterConfig

        FilterConfig.from_mapping(self.filters)
        if self.max_retries < 0 or self.timeout <= 0:
            raise MedsynError("max_retries must be >= 0 and timeout > 0")
        if not 0 <= self.max_failure_rate <= 1:
            raise MedsynError(f"max_failure_rate must be between 0 and 1, got {self.max_failure_rate}")
        if self.backend == "openai":
            if not self.model:
                raise MedsynError("the openai backend needs --model (the model name the server serves)")
            if not self.base_url:
                raise MedsynError("the openai backend needs --base-url (e.g. http://127.0.0.1:8000/v1), repeatable")
        if self.backend == "transformers":
            if not self.model:
                raise MedsynError("the transformers backend needs --model (a local path or a hub id)")
            _check_local(self.model, "--model")
            if self.adapter:
                _check_local(self.adapter, "--adapter")
        elif self.adapter:
            raise MedsynError("--adapter only applies to the transformers backend")
        for name in ("graph", "examples"):
            path = getattr(self, name)
            if path and not Path(path).is_file():
                raise MedsynError(f"{name} file {path} not found")

    def _validate_families(self) -> None:
        from medsyn.builder.prompts import FAMILIES

        if not isinstance(self.families, dict):
            raise MedsynError("families must map a family to a share, e.g. symptoms=0.6 example=0.3 code=0.1")
        for family, share in self.families.items():
            if family not in FAMILIES:
                close = difflib.get_close_matches(str(family), FAMILIES, n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                raise MedsynError(f"unknown prompt family {family!r}{hint}; choose from {', '.join(FAMILIES)}")
            if isinstance(share, bool) or not isinstance(share, (int, float)) or share < 0:
                raise MedsynError(f"families {family}={share!r}: the share must be a number >= 0, e.g. {family}=0.5")
        if not sum(self.families.values()) > 0:
            raise MedsynError("families: at least one share must be above 0, e.g. symptoms=1")

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _check_local(value: str, flag: str) -> None:
    """A value that looks like a path must exist; a hub id (ORG/NAME) is left to the loader (offline cache)."""
    looks_local = value.startswith((".", "/", "~")) or Path(value).exists() or value.count("/") != 1
    if looks_local and not Path(value).expanduser().exists():
        raise MedsynError(f"{flag} {value}: no such directory; pass a local model folder or a hub id like ORG/NAME")


def read_yaml(path: str | Path, known: set[str]) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise MedsynError(f"config file {path} not found")
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise MedsynError(f"{where}: not valid YAML ({getattr(err, 'problem', err)})") from None
    except UnicodeDecodeError:
        raise MedsynError(f"{path}: not UTF-8 text; re-save it as UTF-8") from None
    if not isinstance(values, dict):
        raise MedsynError(f"{path}: expected a mapping of option: value at the top level")
    values = {str(key).replace("-", "_"): value for key, value in values.items()}
    unknown = sorted(set(values) - known)
    if unknown:
        hints = [f"{key} (did you mean {difflib.get_close_matches(key, known, n=1)[0]}?)"
                 if difflib.get_close_matches(key, known, n=1) else key for key in unknown]
        raise MedsynError(f"{path}: unknown option(s) {', '.join(hints)}")
    if isinstance(values.get("base_url"), str):
        values["base_url"] = [values["base_url"]]
    return values
