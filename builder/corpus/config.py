"""The build's settings: one dataclass per stage (sampling, prompts, generation, filters, output), composed.

Each group is the stage's own settings class, declared where the stage lives (`SamplingConfig`, `PromptConfig`,
`GenerationOptions`, `FilterConfig`) and passed to it as it is: every field is a flag of `medsyn build` (and of the
commands that run that stage alone, `medsyn sample` / `medsyn prompts`; the Space takes part of
`GenerationOptions`), a key of its `--config` YAML file, and documented by its `help`. Checks run before any work
(backend known, model path present, counts sane), so a bad config fails in a second, not after an hour of
generation.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medsyn.builder.generate.backends import GenerationOptions
from medsyn.builder.generate.prompts import PromptConfig
from medsyn.builder.generate.sampling import SamplingConfig
from medsyn.builder.quality.filters import FilterConfig
from medsyn.errors import MedsynError
from medsyn.options import option

__all__ = ["GROUPS", "BuildConfig", "FilterConfig", "GenerationOptions", "OutputOptions", "PromptConfig",
           "SamplingConfig"]


@dataclass
class OutputOptions:
    """How many notes, and where the corpus goes."""

    out: Path = option(help="output dataset folder")
    n: int = option(200, "number of notes to generate")
    overwrite: bool = option(False, "replace an existing output folder (only one medsyn wrote; other folders are refused)")
    quiet: bool = option(False, "no progress bars")
    max_failure_rate: float = option(0.05, "share of failed generations above which the build fails")
    rows_per_shard: int = option(20_000, "rows per parquet shard")
    work_dir: Path | None = option(None, "where finished generations are stored for resuming (default OUT.work)")
    pretty_name: str = option("MedSyn-ru: synthetic Russian outpatient notes", "the dataset card's title")
    license: str | None = option(None, "license of the corpus (default: the card's 'other', mixed sources)")

    def validate(self) -> None:
        for name in ("n", "rows_per_shard"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise MedsynError(f"{name} must be an integer >= 1, got {value!r}")
        if not 0 <= self.max_failure_rate <= 1:
            raise MedsynError(f"max_failure_rate must be between 0 and 1, got {self.max_failure_rate}")


GROUPS = {"sampling": SamplingConfig, "prompts": PromptConfig, "generation": GenerationOptions,
          "filters": FilterConfig, "output": OutputOptions}


@dataclass
class BuildConfig:
    """Everything `medsyn build` needs, one group per stage of the flow."""

    output: OutputOptions
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    prompts: PromptConfig = field(default_factory=PromptConfig)
    generation: GenerationOptions = field(default_factory=GenerationOptions)
    filters: FilterConfig = field(default_factory=FilterConfig)

    @classmethod
    def of(cls, **values: Any) -> "BuildConfig":
        """From flat settings (`BuildConfig.of(out=..., n=3, backend="template")`), as flags name them."""
        groups: dict[str, dict[str, Any]] = {name: {} for name in GROUPS}
        owner = {f.name: name for name, dtype in GROUPS.items() for f in dataclasses.fields(dtype)}
        for key, value in values.items():
            if key not in owner:
                close = difflib.get_close_matches(key, list(owner), n=1)
                raise MedsynError(f"unknown build setting {key!r}" + (f" (did you mean {close[0]}?)" if close else ""))
            groups[owner[key]][key] = value
        return cls(**{name: GROUPS[name](**groups[name]) for name in GROUPS})

    def flat(self) -> dict[str, Any]:
        """Every setting by its flag name, as `of` takes them."""
        return {key: value for name in GROUPS for key, value in dataclasses.asdict(getattr(self, name)).items()}

    def validate(self) -> None:
        for group in (self.sampling, self.prompts, self.generation, self.output):
            group.validate()
