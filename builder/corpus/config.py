"""The build's settings: one dataclass per stage (sampling, prompts, generation, filters, output), composed.

Every field is a flag of `medsyn build` (and, for sampling and prompts, of `medsyn sample` / `medsyn prompts`), a
key of its `--config` YAML file, and documented by its `help`. Defaults come from the stage's own config
(`SamplingConfig`, `PromptConfig`, `FilterConfig`), so each default lives in one place. Checks run before any work
(backend known, model path present, counts sane), so a bad config fails in a second, not after an hour of
generation.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from medsyn.builder.quality.filters import FilterConfig
from medsyn.builder.generate.prompts import PromptConfig
from medsyn.builder.generate.sampling import SamplingConfig
from medsyn.options import option
from medsyn.errors import MedsynError

_SAMPLING = SamplingConfig()
_PROMPTS = PromptConfig()


def split_codes(items: list[str]) -> list[str]:
    """`--codes M54,J06` as well as `--codes M54 J06` (and a mix of both)."""
    return [code for item in items for code in item.replace(",", " ").split()]


def _has_a_line(path: Path) -> bool:
    """Whether a text file has a non-blank line (read up to the first one only)."""
    with open(path, "rb") as handle:
        return any(line.strip() for line in handle)


@dataclass
class SamplingOptions:
    """Which priors are drawn from the knowledge graph."""

    graph: Path | None = option(None, "knowledge graph file (default: the embedded graph)")
    seed: int = option(0, "random seed of priors, prompts and generation")
    codes: list[str] | None = option(None, "restrict to these ICD-10 codes (space or comma separated)")
    code_strategy: Literal["uniform", "frequency", "budget", "medsyn"] = option(
        _SAMPLING.code_strategy, "how codes are picked among all codes with Russian symptoms: "
        "uniform, by real-note frequency, MedSyn's J3(examples) x J3(symptoms) budget, or MedSyn's own code "
        "probabilities (medsyn)")
    k_min: int = option(_SAMPLING.k_min, "fewest symptoms per prior")
    k_max: int = option(_SAMPLING.k_max, "most symptoms per prior")
    symptom_temperature: float = option(_SAMPLING.temperature, "T of the symptom draw p = softmax(weight / T)")

    def sampling_config(self) -> SamplingConfig:
        codes = tuple(split_codes(self.codes)) if self.codes else None
        return SamplingConfig(code_strategy=self.code_strategy, k_min=self.k_min, k_max=self.k_max,
                              temperature=self.symptom_temperature, codes=codes)

    def validate(self) -> None:
        self.sampling_config().validate()
        if self.graph and not Path(self.graph).is_file():
            raise MedsynError(f"graph file {self.graph} not found")


@dataclass
class PromptOptions:
    """How priors become prompts."""

    examples: Path | None = option(None, "RuMedTop3-format training notes used as style examples (enables the "
                                   "'example' family)")
    families: list[str] = option([f"{k}={v}" for k, v in _PROMPTS.families.items()],
                                 "prompt family shares as FAMILY=SHARE, e.g. symptoms=0.6 example=0.3 code=0.1")

    def family_shares(self) -> dict[str, float]:
        shares = {}
        for item in self.families:
            family, sep, share = str(item).partition("=")
            try:
                shares[family.strip()] = float(share) if sep else 1.0
            except ValueError:
                raise MedsynError(f"families {item!r}: expected FAMILY=SHARE with a number, e.g. symptoms=0.5") from None
        return shares

    def prompt_config(self) -> PromptConfig:
        return PromptConfig(families=self.family_shares())

    def validate(self) -> None:
        self.prompt_config().validate()
        if self.examples and not Path(self.examples).is_file():
            raise MedsynError(f"examples file {self.examples} not found")
        if self.examples and not _has_a_line(Path(self.examples)):
            # Else the 'example' family would silently vanish from the corpus the user asked it for.
            raise MedsynError(f"examples file {self.examples} holds no notes; give RuMedTop3-format notes (one JSON "
                              "object per line with idx, symptoms, code) or leave out --examples")


@dataclass
class GenerationOptions:
    """Which backend writes the notes, and how."""

    backend: str = option("template", "generation backend: template (no LLM), openai, transformers, or one "
                          "registered by a package under the `medsyn.backends` entry-point group")
    model: str | None = option(None, "model name (openai) or local path / hub id (transformers)")
    adapter: str | None = option(None, "PEFT adapter folder for the transformers backend")
    base_url: list[str] = option([], "OpenAI-compatible base URL(s), e.g. http://127.0.0.1:8000/v1; several "
                                 "spread the requests")
    api_key_env: str = option("OPENAI_API_KEY", "environment variable holding the API key (never a flag value)")
    concurrency: int = option(16, "requests in flight (openai backend)")
    timeout: float = option(120.0, "per-request timeout in seconds")
    max_retries: int = option(6, "retries of transient errors per request")
    batch_size: int = option(8, "batch size of the transformers backend")
    workers: int = option(0, "processes that compose template notes and score every backend's notes (0: one per "
                          "CPU core); the corpus is the same for any number")
    temperature: float = option(0.7, "generation temperature")
    top_p: float = option(0.95, "nucleus sampling top-p")
    max_new_tokens: int = option(512, "most tokens generated per note")
    price_per_1k_input: float = option(0.0, "price of 1,000 prompt tokens, for the cost report")
    price_per_1k_output: float = option(0.0, "price of 1,000 completion tokens, for the cost report")

    def validate(self) -> None:
        from medsyn.builder.generate.backends import get_backend

        spec = get_backend(self.backend)
        for name in ("concurrency", "batch_size", "max_new_tokens"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise MedsynError(f"{name} must be an integer >= 1, got {value!r}")
        if not isinstance(self.workers, int) or self.workers < 0:
            raise MedsynError(f"workers must be an integer >= 0 (0: one per CPU core), got {self.workers!r}")
        if not isinstance(self.temperature, (int, float)) or self.temperature < 0:
            raise MedsynError(f"temperature must be a number >= 0 (0: greedy), got {self.temperature!r}")
        if not isinstance(self.top_p, (int, float)) or not 0 < self.top_p <= 1:
            raise MedsynError(f"top_p must be in (0, 1] (1: no nucleus cut), got {self.top_p!r}")
        for name in ("price_per_1k_input", "price_per_1k_output"):
            if not isinstance(getattr(self, name), (int, float)) or getattr(self, name) < 0:
                raise MedsynError(f"{name} must be a number >= 0, got {getattr(self, name)!r}")
        if self.max_retries < 0 or self.timeout <= 0:
            raise MedsynError("max_retries must be >= 0 and timeout > 0")
        spec.check(self)


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


GROUPS = {"sampling": SamplingOptions, "prompts": PromptOptions, "generation": GenerationOptions,
          "filters": FilterConfig, "output": OutputOptions}


@dataclass
class BuildConfig:
    """Everything `medsyn build` needs, one group per stage of the flow."""

    output: OutputOptions
    sampling: SamplingOptions = field(default_factory=SamplingOptions)
    prompts: PromptOptions = field(default_factory=PromptOptions)
    generation: GenerationOptions = field(default_factory=GenerationOptions)
    filters: FilterConfig = field(default_factory=FilterConfig)

    @classmethod
    def of(cls, **values: Any) -> "BuildConfig":
        """From flat settings (`BuildConfig.of(out=..., n=3, backend="template")`), as flags name them."""
        groups: dict[str, dict[str, Any]] = {name: {} for name in GROUPS}
        owner = {f.name: name for name, dtype in GROUPS.items() for f in dataclasses.fields(dtype)}
        for key, value in values.items():
            if key not in owner:
                import difflib

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
