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
    "only (TSTR), and real notes upsampled with synthetic ones for the rarest codes, at each share of the real "
    "notes asked for; score each on --eval with several seeds; write results.json, results.md, plots and "
    "RuMedBench prediction files."
)


def _numbers(values: list[str], flag: str, example: str) -> tuple[float, ...]:
    try:
        return tuple(float(item) for raw in values for item in str(raw).split(",") if item.strip())
    except ValueError:
        raise MedsynError(f"{flag} {' '.join(map(str, values))}: expected numbers such as {example}") from None


@dataclass
class BenchmarkOptions:
    train: Path = option(help="real training notes, RuMedTop3 JSON lines {idx, symptoms, code}")
    eval: Path = option(help="evaluation notes in the same format")
    synthetic: list[str] = option(help="synthetic notes: a `medsyn build --out` folder, a Hub dataset id "
                                  "(load_dataset; from the cache when offline), or JSON/JSONL/parquet/CSV files or "
                                  "folders")
    out: Path = option(help="results folder to create")
    text_column: str | None = option(None, "column of the note text (default: text)")
    code_column: str | None = option(None, "column of the ICD-10 code (default: icd10_code)")
    code_level: int = option(3, "ICD-10 characters compared, dot not counted (3: M54.5 -> M54)")
    keep_unseen_codes: bool = option(False, "keep synthetic notes whose code is absent from --train (default: drop "
                                     "and count them)")
    real_fractions: list[str] = option(["1"], "shares of each code's real training notes to train with, crossed "
                                       "with every setting (space or comma separated, in (0, 1])")
    rare_quantile: float = option(0.25, "rare codes: at most this quantile of per-code real training counts")
    dev: Path | None = option(None, "dev notes to choose the hard codes on (default: a per-code split of --train)")
    overwrite: bool = option(False, "replace an existing --out")
    seeds: int = option(3, "seeds per setting")
    ratios: list[str] = option(["0.25", "0.5", "1"], "synthetic notes added, as shares of the real training "
                               "size (space or comma separated); ratios past the corpus size run once, on all of it")
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
        return _numbers(self.ratios, "--ratios", "0.25 0.5 1")

    def fraction_values(self) -> tuple[float, ...]:
        return _numbers(self.real_fractions, "--real-fractions", "0.1 0.25 1")

    def validate(self) -> None:
        from medsyn.training.benchmark.sets import check_fractions

        self.ratio_values()
        check_fractions(self.fraction_values())
        if self.classifier == "encoder" and self.encoder is None:
            raise MedsynError("--classifier encoder needs --encoder PATH (a local model directory)")


def check_shards(corpus: Path) -> None:
    """A damaged shard named once, here, rather than three times over by `datasets`' own logging."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    for shard in sorted(corpus.glob("data/*.parquet")):
        try:
            pq.ParquetFile(shard)
        except (pa.ArrowException, OSError) as err:
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise MedsynError(f"{shard}: not a readable parquet file ({reason}); rebuild the corpus with "
                              "`medsyn build --overwrite`") from None


def main(argv: list[str], prog: str = "medsyn benchmark") -> int:
    from medsyn.config import ConfigParser

    parser = ConfigParser([BenchmarkOptions], prog=prog, description=DESCRIPTION, maybe_paths=["synthetic"])
    (o,) = parser.parse(argv)
    from medsyn.io import prepare_output
    from medsyn.training.benchmark.run import BenchmarkConfig, SourceOptions, run_benchmark  # torch, scikit-learn

    options = {}
    if o.classifier == "encoder":
        options = {"epochs": o.epochs, "batch_size": o.batch_size, "learning_rate": o.learning_rate,
                   "max_length": o.max_length, "model_path": str(o.encoder)}
    config = BenchmarkConfig(
        train=o.train, eval=o.eval, dev=o.dev, synthetic=o.synthetic, out=o.out, seeds=o.seeds,
        ratios=o.ratio_values(), classifier=o.classifier, classifier_options=options, bootstrap=o.bootstrap,
        dev_fraction=o.dev_fraction, overwrite=o.overwrite, real_fractions=o.fraction_values(),
        rare_quantile=o.rare_quantile,
        sources=SourceOptions(text_column=o.text_column, code_column=o.code_column, code_level=o.code_level,
                              keep_unseen_codes=o.keep_unseen_codes),
    )
    prepare_output(config.out, config.overwrite)  # before hours of training, not after
    for source in config.synthetic:
        if Path(source).is_dir():
            check_shards(Path(source))
    run_benchmark(config)
    print((config.out / "results.md").read_text(encoding="utf-8"))
    print(f"wrote {config.out}/results.json, results.md, plots (*.png) and predictions/")
    return 0
