"""The build's settings: one dataclass per stage (sampling, prompts, generation, filters, output), composed.

Each group is the stage's own settings class, declared where the stage lives (`SamplingConfig`, `PromptConfig`,
`GenerationOptions`, `FilterConfig`) and passed to it as it is: every field is a flag of `medsyn build` (and of the
commands that run that stage alone, `medsyn sample` / `medsyn prompts`; the Space takes part of
`GenerationOptions`), a key of its `--config` YAML file, and documented by its `help`. Checks run before any work
(backend known, model path present, counts sane), so a bad config fails in a second, not after an hour of
generation.

`ImportConfig` is `medsyn import`'s column mapping and provenance. It lives here, beside the build's settings and
away from the modules that read and write parquet, so that `medsyn import --help` loads neither pyarrow nor
datasets.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib.util
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from medsyn.builder.corpus.ray_vllm import load_engine_config, require_vllm
from medsyn.builder.generate.backends import GenerationOptions
from medsyn.builder.generate.prompts import PromptConfig
from medsyn.builder.generate.sampling import SamplingConfig
from medsyn.builder.quality.filters import FilterConfig
from medsyn.builder.quality.scorers import filter_config_class
from medsyn.errors import MedsynError
from medsyn.options import option

__all__ = ["ENGINES", "GROUPS", "ROWS_PER_SHARD", "RUN_SETTINGS", "BuildConfig", "EngineOptions", "FilterConfig",
           "GenerationOptions", "ImportConfig", "OutputOptions", "PromptConfig", "SamplingConfig"]

# Rows per parquet shard of every corpus folder (`writer.write_corpus`): build and import take it as a flag, merge
# writes with it.
ROWS_PER_SHARD = 20_000


def check_rows_per_shard(value: object) -> None:
    """Refused before any work: a shard of no rows cannot be written."""
    if not isinstance(value, int) or value < 1:
        raise MedsynError(f"rows_per_shard must be an integer >= 1, got {value!r}")


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


ENGINES = ("local", "ray")
NO_RAY = ("--engine ray needs Ray, which is not installed: pip install 'medsyn[ray]' (ray[data]==2.60.0 and "
          "pydantic), or build with --engine local")


@dataclass
class EngineOptions:
    """Where the pipeline runs: in this process and its pool (`local`), or as a Ray Data pipeline on a cluster
    (`ray`). The corpus is the same either way, so `build_info.json` keeps these out of its `config`."""

    engine: str = option("local", "where the pipeline runs: local (this machine's processes) or ray (a Ray Data "
                         "pipeline; needs medsyn[ray])")
    ray_address: str | None = option(None, "address of a running Ray cluster (e.g. ray://head:10001 or auto; "
                                     "default with --engine ray: a Ray instance on this machine)")
    engine_config: str | None = option(None, "YAML file of vLLM engine settings (tensor_parallel_size, batch_size, "
                                       "gpu_memory_utilization, max_model_len, concurrency, max_lora_rank, adapter): "
                                       "with --engine ray and --backend transformers, the local model runs in "
                                       "ray.data.llm's vLLM engine processor on GPU workers (needs medsyn[vllm])")

    def validate(self) -> None:
        if self.engine not in ENGINES:
            close = difflib.get_close_matches(str(self.engine), ENGINES, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise MedsynError(f"unknown engine {self.engine!r}{hint}; choose one of {', '.join(ENGINES)}")
        if self.ray_address and self.engine != "ray":
            raise MedsynError("--ray-address applies to --engine ray only; add --engine ray or drop --ray-address")
        if self.engine == "ray" and importlib.util.find_spec("ray") is None:
            raise MedsynError(NO_RAY)
        if self.engine_config:
            if self.engine != "ray":
                raise MedsynError("--engine-config applies to --engine ray only; add --engine ray or drop "
                                  "--engine-config")
            load_engine_config(self.engine_config)


GROUPS = {"sampling": SamplingConfig, "prompts": PromptConfig, "generation": GenerationOptions,
          "filters": FilterConfig, "output": OutputOptions, "engine": EngineOptions}
# Settings of how the build ran, not of what it made: left out of build_info.json's `config`.
RUN_SETTINGS = frozenset(f.name for f in dataclasses.fields(EngineOptions))


def groups() -> dict[str, type]:
    """`GROUPS` with the filters' group extended by the registered scorers' settings (`filter_config_class`): what
    `medsyn build` parses. Read when asked, so that importing this module loads no plug-in."""
    found = {**GROUPS, "filters": filter_config_class()}
    check_distinct(list(found.values()))
    return found


def check_distinct(dtypes: list[type]) -> None:
    """No setting in two groups: a scorer plug-in's setting named like another flag (`n`, `out`) would make two
    flags of one name."""
    seen: dict[str, str] = {}
    for dtype in dtypes:
        for f in dataclasses.fields(dtype):
            if f.name in seen and seen[f.name] != dtype.__name__:
                raise MedsynError(f"the setting {f.name!r} of {dtype.__name__} is also one of {seen[f.name]}; a scorer "
                                  "plug-in must name its settings apart from every flag")
            seen.setdefault(f.name, dtype.__name__)


@dataclass
class BuildConfig:
    """Everything `medsyn build` needs, one group per stage of the flow."""

    output: OutputOptions
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    prompts: PromptConfig = field(default_factory=PromptConfig)
    generation: GenerationOptions = field(default_factory=GenerationOptions)
    filters: FilterConfig = field(default_factory=FilterConfig)
    engine: EngineOptions = field(default_factory=EngineOptions)

    @classmethod
    def of(cls, **values: Any) -> "BuildConfig":
        """From flat settings (`BuildConfig.of(out=..., n=3, backend="template")`), as flags name them."""
        dtypes = groups()
        values_of: dict[str, dict[str, Any]] = {name: {} for name in dtypes}
        owner = {f.name: name for name, dtype in dtypes.items() for f in dataclasses.fields(dtype)}
        for key, value in values.items():
            if key not in owner:
                close = difflib.get_close_matches(key, list(owner), n=1)
                raise MedsynError(f"unknown build setting {key!r}" + (f" (did you mean {close[0]}?)" if close else ""))
            values_of[owner[key]][key] = value
        return cls(**{name: dtypes[name](**values_of[name]) for name in dtypes})

    def flat(self) -> dict[str, Any]:
        """Every setting by its flag name, as `of` takes them."""
        return {key: value for name in GROUPS for key, value in dataclasses.asdict(getattr(self, name)).items()}

    def validate(self) -> None:
        for group in (self.sampling, self.prompts, self.generation, self.output, self.engine):
            group.validate()
        if self.engine.engine_config:
            if self.generation.backend != "transformers":
                raise MedsynError(f"--engine-config runs a local model, not the {self.generation.backend} backend; "
                                  "add --backend transformers --model DIR, or drop --engine-config")
            require_vllm()


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
