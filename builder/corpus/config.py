"""The build's settings: one dataclass per stage (sampling, prompts, generation, filters, output), composed.

Every field is a flag of `medsyn build` (and, for sampling and prompts, of `medsyn sample` / `medsyn prompts`), a
key of its `--config` YAML file, and documented by its `help`. Defaults come from the stage's own config
(`SamplingConfig`, `PromptConfig`, `FilterConfig`), so each default lives in one place. Checks run before any work
(backend known, model path present, counts sane), so a bad config fails in a second, not after an hour of
generation.

`ImportConfig` is `medsyn import`'s column mapping and provenance. It lives here, beside the build's settings and
away from the modules that read and write parquet, so that `medsyn import --help` loads neither pyarrow nor
datasets.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from medsyn.builder.quality.filters import FilterConfig
from medsyn.builder.generate.prompts import PromptConfig
from medsyn.builder.generate.sampling import SamplingConfig
from medsyn.options import option
from medsyn.errors import MedsynError

_SAMPLING = SamplingConfig()
_PROMPTS = PromptConfig()
# Rows per parquet shard of every corpus folder (`writer.write_corpus`): build and import take it as a flag, merge
# writes with it.
ROWS_PER_SHARD = 20_000


def check_rows_per_shard(value: object) -> None:
    """Refused before any work: a shard of no rows cannot be written."""
    if not isinstance(value, int) or value < 1:
        raise MedsynError(f"rows_per_shard must be an integer >= 1, got {value!r}")


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
    rows_per_shard: int = option(ROWS_PER_SHARD, "rows per parquet shard")
    work_dir: Path | None = option(None, "where finished generations are stored for resuming (default OUT.work)")
    pretty_name: str = option("MedSyn-ru: synthetic Russian outpatient notes", "the dataset card's title")
    license: str | None = option(None, "license of the corpus (default: the card's 'other', mixed sources)")

    def validate(self) -> None:
        if not isinstance(self.n, int) or self.n < 1:
            raise MedsynError(f"n must be an integer >= 1, got {self.n!r}")
        check_rows_per_shard(self.rows_per_shard)
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


# ------------------------------------------------------------------------------------------------ medsyn import

COLUMN_FIELDS = (
    "text_column", "code_column", "id_column", "symptoms_column", "prompt_column", "model_column",
    "sex_column", "age_column", "marital_status_column", "smoking_column",
)  # fmt: skip
# Column layouts of known generators' outputs. MedSyn (milteam/MedSyn, data/data_raw/chatgpt_generated): one JSON
# array per file of {desease_code, symptoms, prompt, response, gender, marital_state (1 married, 0 not), smoking
# ("курящий"/"некурящая"...), desease_name, UID}.
PRESETS: dict[str, dict[str, str]] = {
    "medsyn": {
        "text_column": "response",
        "code_column": "desease_code",
        "id_column": "UID",
        "symptoms_column": "symptoms",
        "prompt_column": "prompt",
        "sex_column": "gender",
        "marital_status_column": "marital_state",
        "smoking_column": "smoking",
    },
}
# A preset's columns that some files of its own generator lack: MedSyn's GPT-4 results (0_0.5k_gpt4) have no UID.
# A preset must read every file its generator wrote, so where such a column is missing the field is filled as if
# no column had been given (ids: FILE#LINE). A column the user names is still required.
PRESET_OPTIONAL: dict[str, frozenset[str]] = {"medsyn": frozenset({"id_column"})}


@dataclass
class ImportConfig:
    """How source columns map onto the corpus schema, and where the notes came from (each field is a flag of
    `medsyn import`; the filter thresholds are `FilterConfig`'s flags, as for `medsyn build`)."""

    preset: str | None = option(None, "column layout of a known generator: medsyn (desease_code, symptoms, prompt, "
                                "response, gender, marital_state, smoking, UID where a file has it)")
    text_column: str | None = option(None, "column holding the note")
    code_column: str | None = option(None, "column holding the note's ICD-10 code (checked against МКБ-10; "
                                     "ICD-10-CM codes map to their МКБ-10 parent)")
    id_column: str | None = option(None, "column with a unique note id (default: FILE#LINE)")
    symptoms_column: str | None = option(None, "column with the prompt's symptoms (a list, a JSON list, or "
                                         "';'-separated); enables symptom recall")
    prompt_column: str | None = option(None, "column with the prompt sent (a string or a list of chat messages)")
    model_column: str | None = option(None, "column naming the model that wrote each note")
    generation_model: str | None = option(None, "the model that wrote every note (instead of --model-column)")
    sex_column: str | None = option(None, "column with the patient's sex (male/female, м/ж, ...)")
    age_column: str | None = option(None, "column with the patient's age")
    marital_status_column: str | None = option(None, "column with marital status (married/single/divorced/widowed, "
                                               "or 1/0 for married)")
    smoking_column: str | None = option(None, "column with smoking status (true/false, курящий/некурящий, ...)")
    hub_split: str = option("train", "split to read from a Hub dataset source")
    source_name: str | None = option(None, "name of the source in the `source` column and the card (default: "
                                     "from the sources)")
    source_url: str | None = option(None, "where the notes come from (recorded in build_info.json and the card)")
    license: str | None = option(None, "license of the notes (card metadata, e.g. mit)")
    pretty_name: str | None = option(None, "title of the dataset card")
    against: list[Path] = option([], "existing corpus folder(s): also remove near-duplicates of their notes")
    graph: Path | None = option(None, "knowledge graph file (default: the embedded graph)")
    rows_per_shard: int = option(ROWS_PER_SHARD, "rows per parquet shard")

    def validate(self) -> None:
        self.resolved()

    def resolved(self) -> "ImportConfig":
        """The preset's columns under the flags given (flags win), checked before any file is read."""
        values = asdict(self)
        if self.preset is not None:
            if self.preset not in PRESETS:
                close = difflib.get_close_matches(self.preset, PRESETS, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise MedsynError(f"unknown preset {self.preset!r}{hint}; choose one of {', '.join(sorted(PRESETS))}")
            for key, column in PRESETS[self.preset].items():
                if values[key] is None:
                    values[key] = column
        config = replace(self, **values)
        missing = [f"--{name.replace('_', '-')}" for name in ("text_column", "code_column") if not values[name]]
        if missing:
            raise MedsynError(
                f"{' and '.join(missing)} needed: which source column holds the note and which its ICD-10 code "
                f"(or a --preset: {', '.join(sorted(PRESETS))})"
            )
        if config.model_column and config.generation_model:
            raise MedsynError("give either --model-column or --generation-model, not both")
        check_rows_per_shard(config.rows_per_shard)
        return config

    def columns(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in COLUMN_FIELDS if getattr(self, name)}

    def optional_columns(self) -> frozenset[str]:
        """The preset's columns a file may lack, less those the user named (call before `resolved`, which cannot
        tell a preset's column from the same column given as a flag)."""
        return frozenset(name for name in PRESET_OPTIONAL.get(self.preset or "", ()) if getattr(self, name) is None)
