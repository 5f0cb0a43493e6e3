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
    "real_fractions": "1",
    "rare_quantile": 0.25,
    "text_column": None,
    "code_column": None,
    "code_level": 3,
    "keep_unseen_codes": False,
}
REQUIRED = ("train", "eval", "synthetic", "out")
PATHS = ("train", "eval", "dev", "out", "encoder")  # `synthetic` may also be a Hub id: resolved when it exists


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "benchmark",
        help="ICD-10 classification benchmark: real vs real + synthetic notes",
        description="Train an ICD-10 code classifier on real notes, real + synthetic notes at several ratios, "
        "synthetic notes only (TSTR), and real notes upsampled with synthetic ones for the rarest codes, at each "
        "share of the real notes asked for; score each on --eval with several seeds; write results.json, "
        "results.md, plots and RuMedBench prediction files.",
    )
    parser.add_argument("--train", type=Path, help="real training notes, RuMedTop3 JSON lines {idx, symptoms, code}")
    parser.add_argument("--eval", type=Path, help="evaluation notes in the same format")
    parser.add_argument("--dev", type=Path, help="dev notes to choose the hard codes on "
                        "(default: a per-code split of --train)")
    parser.add_argument("--synthetic", nargs="+", help="synthetic notes: a `medsyn build --out` folder, a Hub dataset "
                        "id (load_dataset; from the cache when offline), or JSON/JSONL/parquet/CSV files or folders")
    parser.add_argument("--text-column", help="column of the note text (default: text)")
    parser.add_argument("--code-column", help="column of the ICD-10 code (default: icd10_code)")
    parser.add_argument("--code-level", type=int, help="ICD-10 characters compared, dot not counted "
                        f"(default {DEFAULTS['code_level']}: M54.5 -> M54)")
    parser.add_argument("--keep-unseen-codes", action="store_true", default=None,
                        help="keep synthetic notes whose code is absent from --train (default: drop and count them)")
    parser.add_argument("--real-fractions", help="shares of each code's real training notes to train with, crossed "
                        f"with every setting (comma-separated in (0, 1], default {DEFAULTS['real_fractions']})")
    parser.add_argument("--rare-quantile", type=float, help="rare codes: at most this quantile of per-code real "
                        f"training counts (default {DEFAULTS['rare_quantile']})")
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
        if name == "synthetic" and value is not None:
            items = value if isinstance(value, list) else [value]
            value = [str(path.parent / str(v)) if (path.parent / str(v)).exists() else str(v) for v in items]
        values[name] = value
    return values


def parse_ratios(value, flag: str = "--ratios", example: str = "0.25,0.5,1") -> tuple[float, ...]:
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    try:
        return tuple(float(item) for item in items if str(item).strip())
    except ValueError:
        raise MedsynError(f"{flag} {value!r}: expected comma-separated numbers such as {example}") from None


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
    from medsyn.training.benchmark import BenchmarkConfig, SourceOptions, check_fractions, run_benchmark

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
        synthetic=values["synthetic"],
        out=Path(values["out"]),
        seeds=int(values["seeds"]),
        ratios=parse_ratios(values["ratios"]),
        classifier=values["classifier"],
        classifier_options=options,
        bootstrap=int(values["bootstrap"]),
        dev_fraction=float(values["dev_fraction"]),
        overwrite=bool(values["overwrite"]),
        real_fractions=parse_ratios(values["real_fractions"], "--real-fractions", "0.1,0.25,1"),
        rare_quantile=float(values["rare_quantile"]),
        sources=SourceOptions(text_column=values["text_column"], code_column=values["code_column"],
                              code_level=int(values["code_level"]), keep_unseen_codes=bool(values["keep_unseen_codes"])),
    )
    check_fractions(config.real_fractions)
    prepare_output(config.out, config.overwrite)  # before hours of training, not after
    for source in config.synthetic:
        if Path(source).is_dir():
            check_shards(Path(source))
    run_benchmark(config)
    print((config.out / "results.md").read_text(encoding="utf-8"))
    print(f"wrote {config.out}/results.json, results.md, plots (*.png) and predictions/")
    return 0
