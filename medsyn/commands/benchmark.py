"""`medsyn benchmark`: ICD-10 classification with and without synthetic notes (RuMedTop3 format)."""

from __future__ import annotations

import argparse
from pathlib import Path

from medsyn.errors import MedsynError

# Defaults live here rather than in argparse so that --config values can sit between them and the flags.
DEFAULTS = {
    "dev": None,
    "seeds": 3,
    "ratios": "0.25,0.5,1",
    "classifier": "tfidf-lr",
    "encoder": None,
    "epochs": 3,
    "batch_size": 32,
    "learning_rate": 5e-5,
    "max_length": 256,
    "bootstrap": 1000,
    "dev_fraction": 0.2,
    "overwrite": False,
}
REQUIRED = ("train", "eval", "synthetic", "out")
PATHS = ("train", "eval", "dev", "synthetic", "out", "encoder")


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "benchmark",
        help="ICD-10 classification benchmark: real vs real + synthetic notes",
        description="Train an ICD-10 code classifier on real notes, real + synthetic notes at several ratios, "
        "synthetic notes only, and real notes upsampled with synthetic ones for the rarest codes; score each on "
        "--eval with several seeds; write results.json, results.md, plots and RuMedBench prediction files.",
    )
    parser.add_argument("--train", type=Path, help="real training notes, RuMedTop3 JSON lines {idx, symptoms, code}")
    parser.add_argument("--eval", type=Path, help="evaluation notes in the same format")
    parser.add_argument("--dev", type=Path, help="dev notes to choose the hard codes on "
                        "(default: a per-code split of --train)")
    parser.add_argument("--synthetic", type=Path, help="synthetic corpus folder written by `medsyn build --out`")
    parser.add_argument("--out", type=Path, help="results folder to create")
    parser.add_argument("--overwrite", action="store_true", default=None, help="replace an existing --out")
    parser.add_argument("--seeds", type=int, help=f"seeds per setting (default {DEFAULTS['seeds']})")
    parser.add_argument("--ratios", help="synthetic notes added, as shares of the real training size "
                        f"(comma-separated, default {DEFAULTS['ratios']})")
    parser.add_argument("--classifier", choices=["tfidf-lr", "encoder"],
                        help="char n-gram TF-IDF + logistic regression (default) or a fine-tuned encoder")
    parser.add_argument("--encoder", type=Path, help="local model directory for --classifier encoder")
    parser.add_argument("--epochs", type=int, help=f"encoder fine-tuning epochs (default {DEFAULTS['epochs']})")
    parser.add_argument("--batch-size", type=int, help=f"encoder batch size (default {DEFAULTS['batch_size']})")
    parser.add_argument("--learning-rate", type=float,
                        help=f"encoder learning rate (default {DEFAULTS['learning_rate']})")
    parser.add_argument("--max-length", type=int,
                        help=f"encoder max tokens per note (default {DEFAULTS['max_length']})")
    parser.add_argument("--bootstrap", type=int,
                        help=f"bootstrap resamples for the 95%% intervals (default {DEFAULTS['bootstrap']})")
    parser.add_argument("--dev-fraction", type=float, help="share of each code's training notes held out to choose "
                        f"hard codes when --dev is not given (default {DEFAULTS['dev_fraction']})")
    parser.add_argument("--config", type=Path, help="YAML file whose keys mirror these flags (e.g. `train:`, "
                        "`batch-size:`); flags given on the command line win; relative paths are relative to it")
    parser.set_defaults(func=run)


def load_config(path: Path) -> dict:
    """A YAML mapping of flag names (dashes or underscores) to values; paths resolved against its folder."""
    import yaml

    if not path.is_file():
        raise MedsynError(f"{path}: config file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise MedsynError(f"{path}: not valid YAML ({err})") from None
    if not isinstance(data, dict):
        raise MedsynError(f"{path}: expected a mapping of flag names to values, e.g. `train: train.jsonl`")
    known = set(DEFAULTS) | set(REQUIRED)
    values = {}
    for key, value in data.items():
        name = str(key).replace("-", "_")
        if name not in known:
            raise MedsynError(f"{path}: unknown key {key!r}; known keys: "
                              + ", ".join(sorted(k.replace("_", "-") for k in known)))
        if name in PATHS and value is not None:
            value = path.parent / Path(str(value)).expanduser()
        values[name] = value
    return values


def parse_ratios(value) -> tuple[float, ...]:
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    try:
        return tuple(float(item) for item in items if str(item).strip())
    except ValueError:
        raise MedsynError(f"--ratios {value!r}: expected comma-separated numbers such as 0.25,0.5,1") from None


def resolve(args: argparse.Namespace) -> dict:
    """Flags over config over defaults."""
    values = dict(DEFAULTS)
    if args.config is not None:
        values.update(load_config(args.config))
    for name in set(DEFAULTS) | set(REQUIRED):
        given = getattr(args, name, None)
        if given is not None:
            values[name] = given
    missing = [name for name in REQUIRED if values.get(name) is None]
    if missing:
        raise MedsynError("missing " + ", ".join(f"--{m}" for m in missing) + " (give the flag or the key in --config)")
    return values


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


def run(args: argparse.Namespace) -> int:
    from medsyn.io import prepare_output
    from medsyn.training.benchmark import BenchmarkConfig, run_benchmark

    values = resolve(args)
    options = {}
    if values["classifier"] == "encoder":
        if values["encoder"] is None:
            raise MedsynError("--classifier encoder needs --encoder PATH (a local model directory)")
        options = {key: values[key] for key in ("epochs", "batch_size", "learning_rate", "max_length")}
        options["model_path"] = str(values["encoder"])
    config = BenchmarkConfig(
        train=Path(values["train"]),
        eval=Path(values["eval"]),
        dev=Path(values["dev"]) if values["dev"] else None,
        synthetic=Path(values["synthetic"]),
        out=Path(values["out"]),
        seeds=int(values["seeds"]),
        ratios=parse_ratios(values["ratios"]),
        classifier=values["classifier"],
        classifier_options=options,
        bootstrap=int(values["bootstrap"]),
        dev_fraction=float(values["dev_fraction"]),
        overwrite=bool(values["overwrite"]),
    )
    prepare_output(config.out, config.overwrite)  # before hours of training, not after
    check_shards(config.synthetic)
    run_benchmark(config)
    print((config.out / "results.md").read_text(encoding="utf-8"))
    print(f"wrote {config.out}/results.json, results.md, metric_vs_ratio.png, per_code_gain.png and predictions/")
    return 0
