"""The benchmark's settings: one dataclass per concern (inputs, how synthetic notes are read, the design of the
experiment, the classifier), composed into `BenchmarkConfig`.

Every field is a flag of `medsyn benchmark` and a key of its `--config` YAML file, and the benchmark reads the same
objects the parser returns, so a setting is declared once and never copied into another class on the way. Kept free
of numpy, scikit-learn and torch, so that `--help` and a wrong flag answer at once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from medsyn.builder.kg.sources import SHARED_DATA
from medsyn.errors import MedsynError
from medsyn.options import option

AUTO = "auto"  # --synthetic-weight chosen by cross-validation (`weighting.py`)


def numbers(values: Sequence[str], flag: str, example: str) -> tuple[float, ...]:
    """`--ratios 0.25,0.5 1`: numbers given space or comma separated (and a mix of both)."""
    try:
        return tuple(float(item) for raw in values for item in str(raw).split(",") if item.strip())
    except ValueError:
        raise MedsynError(f"{flag} {' '.join(map(str, values))}: expected numbers such as {example}") from None


def check_fractions(fractions: Sequence[float]) -> None:
    if not fractions:
        raise MedsynError("--real-fractions: give at least one fraction, e.g. 0.1,0.25,1")
    for fraction in fractions:
        if not 0 < fraction <= 1:
            raise MedsynError(f"--real-fractions: {fraction:g} is outside (0, 1]; give shares of the real training "
                              "notes such as 0.1,0.25,1")


@dataclass
class BenchmarkInputs:
    """The notes compared, and where the results go."""

    train: Path = option(help="real training notes, RuMedTop3 JSON lines {idx, symptoms, code}")
    eval: Path = option(help="evaluation notes in the same format")
    out: Path = option(help="results folder to create")
    synthetic: list[str] = option([], "synthetic notes: a `medsyn build --out` folder, a Hub dataset id "
                                  "(load_dataset; from the cache when offline), or JSON/JSONL/parquet/CSV files or "
                                  "folders (not with --generate)")
    dev: Path | None = option(None, "dev notes to choose the hard codes on (default: a per-code split of --train)")
    overwrite: bool = option(False, "replace an existing --out")


@dataclass
class SourceOptions:
    """How synthetic notes are read and matched to the real codes."""

    text_column: str | None = option(None, "column of the note text (default: text)")
    code_column: str | None = option(None, "column of the ICD-10 code (default: icd10_code)")
    code_level: int = option(3, "ICD-10 characters compared, dot not counted (3: M54.5 -> M54)")
    keep_unseen_codes: bool = option(False, "keep synthetic notes whose code is absent from --train (default: drop "
                                     "and count them)")
    code_budget: Path | None = option(None, "budget.json of `medsyn budget`: keep at most this many synthetic notes "
                                      "per code (seeded choice; codes it leaves out get none)")

    def validate(self) -> None:
        if self.code_level < 1:
            raise MedsynError(f"--code-level {self.code_level}: give the ICD-10 characters to compare, e.g. 3")
        if self.code_budget is not None and not Path(self.code_budget).is_file():
            raise MedsynError(f"--code-budget {self.code_budget}: file not found; write one with `medsyn budget "
                              "--benchmark RESULTS_DIR --out budget.json`")


@dataclass
class GenerateOptions:
    """Synthetic notes built by the benchmark itself, per real fraction, from that fraction's own real notes."""

    generate: Literal["template"] | None = option(None, "build the synthetic notes per real fraction and seed: the "
                                                  "graph, wordings and openers learnt from that fraction's real "
                                                  "notes only, then `medsyn build` with this backend")
    generate_n: int | None = option(None, "notes per generated corpus (default: as many as --train has)")
    generate_config: Path | None = option(None, "build settings YAML for the generated corpora (`medsyn build "
                                          "--config`; default: the build defaults; codes: --train's)")
    knowledge_sources: Path = option(SHARED_DATA, "folder in the shared/data layout with the "
                                     "knowledge-only sources (МКБ-10, MedSyn's tables, HSDN, the symptom markup)")

    def validate(self) -> None:
        if self.generate_n is not None and self.generate_n < 1:
            raise MedsynError(f"--generate-n {self.generate_n}: give a positive number of notes, e.g. 4690")
        if self.generate_config is not None and not Path(self.generate_config).is_file():
            raise MedsynError(f"--generate-config {self.generate_config}: file not found; give a build settings YAML")
        if self.generate and not (Path(self.knowledge_sources) / "mkb10_nsi").is_dir():
            raise MedsynError(f"--knowledge-sources {self.knowledge_sources}: no mkb10_nsi/ folder; give the "
                              "shared/data folder")


@dataclass
class DesignOptions:
    """Which training sets are compared, how often, and how the differences are judged."""

    real_fractions: list[str] = option(["1"], "shares of each code's real training notes to train with, crossed "
                                       "with every setting (space or comma separated, in (0, 1])")
    ratios: list[str] = option(["0.25", "0.5", "1"], "synthetic notes added, as shares of the real training "
                               "size (space or comma separated); ratios past the corpus size run once, on all of it")
    seeds: int = option(3, "seeds per setting")
    rare_quantile: float = option(0.25, "rare codes: at most this quantile of per-code real training counts")
    dev_fraction: float = option(0.2, "share of each code's training notes held out to choose hard codes when "
                                 "--dev is not given")
    bootstrap: int = option(1000, "bootstrap resamples for the 95%% intervals")

    def ratio_values(self) -> tuple[float, ...]:
        return numbers(self.ratios, "--ratios", "0.25 0.5 1")

    def fraction_values(self) -> tuple[float, ...]:
        return numbers(self.real_fractions, "--real-fractions", "0.1 0.25 1")

    def validate(self) -> None:
        self.ratio_values()
        check_fractions(self.fraction_values())
        if self.seeds < 1:
            raise MedsynError(f"--seeds {self.seeds}: need at least one seed")


@dataclass
class ClassifierOptions:
    """The code classifier trained on every training set."""

    classifier: Literal["tfidf-lr", "encoder"] = option("tfidf-lr", "char n-gram TF-IDF + logistic regression, "
                                                         "or a fine-tuned encoder")
    encoder: Path | None = option(None, "local model directory for --classifier encoder")
    epochs: int = option(3, "encoder fine-tuning epochs")
    batch_size: int = option(32, "encoder batch size")
    learning_rate: float = option(5e-5, "encoder learning rate")
    max_length: int = option(256, "encoder max tokens per note")
    synthetic_weight: float | str = option(1.0, "weight of a synthetic note in the fit (a real note weighs 1; TSTR, "
                                           "synthetic only, is unweighted), or auto: chosen for each fit by "
                                           "cross-validation on its own real notes")

    def settings(self) -> dict[str, Any]:
        """The classifier's own settings (`classifiers.make_classifier`): the encoder's, none for TF-IDF."""
        if self.classifier != "encoder":
            return {}
        return {"model_path": str(self.encoder), "epochs": self.epochs, "batch_size": self.batch_size,
                "learning_rate": self.learning_rate, "max_length": self.max_length}

    def validate(self) -> None:
        if self.synthetic_weight != AUTO:
            given = self.synthetic_weight
            try:
                self.synthetic_weight = float(given)
            except (TypeError, ValueError):
                self.synthetic_weight = float("nan")
            if not self.synthetic_weight > 0:
                raise MedsynError(f"--synthetic-weight {given}: give a positive weight, e.g. 0.5, or "
                                  "auto (chosen by cross-validation on the real notes)")
        elif self.classifier != "tfidf-lr":
            raise MedsynError("--synthetic-weight auto fits 12 extra classifiers per setting: use it with "
                              "--classifier tfidf-lr")
        if self.classifier == "encoder" and self.encoder is None:
            raise MedsynError("--classifier encoder needs --encoder PATH (a local model directory)")


GROUPS = {"inputs": BenchmarkInputs, "sources": SourceOptions, "design": DesignOptions, "model": ClassifierOptions,
          "generation": GenerateOptions}


@dataclass
class BenchmarkConfig:
    """Everything `medsyn benchmark` needs, one group per concern."""

    inputs: BenchmarkInputs
    sources: SourceOptions = dataclasses.field(default_factory=SourceOptions)
    design: DesignOptions = dataclasses.field(default_factory=DesignOptions)
    model: ClassifierOptions = dataclasses.field(default_factory=ClassifierOptions)
    generation: GenerateOptions = dataclasses.field(default_factory=GenerateOptions)

    def flat(self) -> dict[str, Any]:
        """Every setting by its flag name: the `config` of results.json, the flags that rerun it."""
        return {key: value for name in GROUPS for key, value in dataclasses.asdict(getattr(self, name)).items()}

    def validate(self) -> None:
        if bool(self.inputs.synthetic) == bool(self.generation.generate):
            raise MedsynError("give the synthetic notes with --synthetic SOURCE, or let the benchmark build them "
                              "with --generate template (one of the two)")
        for name in GROUPS:
            group = getattr(self, name)
            if hasattr(group, "validate"):
                group.validate()
