"""`medsyn benchmark`: ICD-10 classification with and without synthetic notes (RuMedTop3 format)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from medsyn.errors import MedsynError
from medsyn.options import option

HELP = "ICD-10 classification benchmark: real vs real + synthetic notes"
DESCRIPTION = (
    "Train an ICD-10 code classifier on real notes, real + synthetic notes at several ratios, synthetic notes "
    "only, and real notes upsampled with synthetic ones for the rarest codes; score each on --eval with several "
    "seeds; write results.json, results.md, plots and RuMedBench prediction files."
)


@dataclass
class BenchmarkOptions:
    train: Path = option(help="real training notes, RuMedTop3 JSON lines {idx, symptoms, code}")
    eval: Path = option(help="evaluation notes in the same format")
    synthetic: Path = option(help="synthetic corpus folder written by `medsyn build --out`")
    out: Path = option(help="results folder to create")
    dev: Path | None = option(None, "dev notes to choose the hard codes on (default: a per-code split of --train)")
    overwrite: bool = option(False, "replace an existing --out")
    seeds: int = option(3, "seeds per setting")
    ratios: list[str] = option(["0.25", "0.5", "1"], "synthetic notes added, as shares of the real training "
                               "size (space or comma separated)")
    classifier: Literal["tfidf-lr", "encoder"] = option("tfidf-lr", "char n-gram TF-IDF + logistic regression, "
                                                         "or a fine-tuned encoder")
    encoder: Path | None = option(None, "local model directory for --classifier encoder")
    epochs: int = option(3, "encoder fine-tuning epochs")
    batch_size: int = option(32, "encoder batch size")
    learning_rate: float = option(5e-5, "encoder learning rate")
    max_length: int = option(256, "encoder max tokens per note")
    bootstrap: int = option(1000, "bootstrap resamples for the 95%% intervals")
    dev_fraction: float = option(0.2, "share of each code's training notes held out to choose hard codes when "
                                 "--dev is not given")

    def ratio_values(self) -> tuple[float, ...]:
        try:
            return tuple(float(item) for raw in self.ratios for item in str(raw).split(",") if item.strip())
        except ValueError:
            raise MedsynError(f"--ratios {' '.join(self.ratios)}: expected numbers such as 0.25 0.5 1") from None

    def validate(self) -> None:
        self.ratio_values()
        if self.classifier == "encoder" and self.encoder is None:
            raise MedsynError("--classifier encoder needs --encoder PATH (a local model directory)")


def main(argv: list[str], prog: str = "medsyn benchmark") -> int:
    from medsyn.config import ConfigParser
    from medsyn.training.benchmark import BenchmarkConfig, run_benchmark

    (o,) = ConfigParser([BenchmarkOptions], prog=prog, description=DESCRIPTION).parse(argv)
    options = {}
    if o.classifier == "encoder":
        options = {"epochs": o.epochs, "batch_size": o.batch_size, "learning_rate": o.learning_rate,
                   "max_length": o.max_length, "model_path": str(o.encoder)}
    config = BenchmarkConfig(
        train=o.train, eval=o.eval, dev=o.dev, synthetic=o.synthetic, out=o.out, seeds=o.seeds,
        ratios=o.ratio_values(), classifier=o.classifier, classifier_options=options, bootstrap=o.bootstrap,
        dev_fraction=o.dev_fraction, overwrite=o.overwrite,
    )
    run_benchmark(config)
    print((config.out / "results.md").read_text(encoding="utf-8"))
    print(f"wrote {config.out}/results.json, results.md, metric_vs_ratio.png, per_code_gain.png and predictions/")
    return 0
