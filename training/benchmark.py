"""The ICD-10 benchmark: does adding synthetic notes to real training data make a code classifier better?

Every setting (real only; real + synthetic at several ratios of the real size; synthetic only; synthetic notes
added only for the codes with the fewest real notes) is trained with several seeds and scored on the same
evaluation file. Differences to real-only come with paired bootstrap intervals over the evaluation notes, averaged
over seeds, so that "synthetic helps" is a claim about the data and not about one lucky seed. "Hard codes" are the
codes a real-only model gets worst on a dev split; they are chosen before the evaluation file is looked at.
"""

from __future__ import annotations

import functools
import json
import logging
import zlib
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
from tqdm.auto import tqdm

from medsyn.builder.sources import Note, read_notes
from medsyn.errors import MedsynError
from medsyn.io import atomic_dir, read_jsonl, write_jsonl
from medsyn.training.classifiers import make_classifier

log = logging.getLogger(__name__)

K = 3  # RuMedTop3 scores the top 3 codes
METRICS = ("accuracy", f"hit@{K}", "macro_f1", "hard_codes_accuracy")
METRIC_PATH = Path(__file__).resolve().parent / "metrics" / "icd_topk" / "icd_topk.py"
PREDICTION_FILE = "RuMedTop3.jsonl"  # the name RuMedBench's eval.py looks for in its --out_dir


@dataclass
class SyntheticCorpus:
    texts: list[str]
    codes: list[str]
    source: dict


@dataclass
class Setting:
    """One way of composing the training set; `ratio` is the synthetic share of the real size for kind 'mixed'."""

    name: str
    kind: str  # "real" | "mixed" | "synthetic" | "upsample"
    ratio: float | None = None


@dataclass
class BenchmarkConfig:
    train: Path
    eval: Path
    synthetic: Path
    out: Path
    dev: Path | None = None
    seeds: int = 3
    ratios: tuple[float, ...] = (0.25, 0.5, 1.0)
    classifier: str = "tfidf-lr"
    classifier_options: dict = field(default_factory=dict)
    bootstrap: int = 1000
    dev_fraction: float = 0.2
    hard_quantile: float = 0.25
    upsample_quantile: float = 0.25
    overwrite: bool = False


def settings_for(ratios: Sequence[float]) -> list[Setting]:
    for ratio in ratios:
        if not ratio > 0:
            raise MedsynError(f"synthetic ratio {ratio} must be positive (e.g. --ratios 0.25,0.5,1)")
    mixed = [Setting(f"real+synthetic@{ratio:g}", "mixed", float(ratio)) for ratio in sorted(set(ratios))]
    return [Setting("real", "real"), *mixed, Setting("synthetic", "synthetic"), Setting("upsample", "upsample")]


# ---------------------------------------------------------------------------------------------------- inputs


def load_notes(path: str | Path) -> list[Note]:
    """RuMedTop3-format notes (`{"idx", "symptoms", "code"}` per line), read by the one reader of the project."""
    notes = read_notes(path)
    if not notes:
        raise MedsynError(f"{path}: no notes; expected RuMedTop3 JSON lines {{\"idx\", \"symptoms\", \"code\"}}")
    return notes


def load_synthetic(path: str | Path) -> SyntheticCorpus:
    """The kept notes (default config) of a corpus folder written by `medsyn build`, with where they came from."""
    path = Path(path)
    if not path.is_dir():
        raise MedsynError(f"{path}: synthetic corpus folder not found; pass the --out folder of `medsyn build`")
    from datasets import load_dataset

    try:
        dataset = load_dataset(str(path), split="train")
    except Exception as err:  # datasets raises many types for a folder it cannot read; all mean "bad corpus"
        if "corresponds to no data" in str(err):  # how datasets reports a split whose shards hold zero rows
            raise MedsynError(f"{path}: the synthetic corpus has no notes (default config, split train); "
                              "build it first") from None
        raise MedsynError(
            f"{path}: not a readable corpus folder ({type(err).__name__}: {err}); expected README.md with configs "
            "and data/train-*.parquet as `medsyn build --out` writes"
        ) from None
    missing = [column for column in ("icd10_code", "text") if column not in dataset.column_names]
    if missing:
        raise MedsynError(
            f"{path}: the corpus has no {', '.join(missing)} column (columns: {', '.join(dataset.column_names)}); "
            "is it a medsyn corpus folder?"
        )
    pairs = [(t, c.strip()) for t, c in zip(dataset["text"], dataset["icd10_code"]) if t and c and c.strip()]
    if len(pairs) < len(dataset):
        log.warning("%s: skipped %d notes with an empty text or code", path, len(dataset) - len(pairs))
    if not pairs:
        raise MedsynError(f"{path}: the synthetic corpus has no notes (default config, split train); build it first")
    texts, codes = map(list, zip(*pairs))
    source: dict = {"path": str(path), "n_notes": len(texts), "n_codes": len(set(codes))}
    for column in ("backend", "generation_model"):
        if column in dataset.column_names:
            source[column] = dict(Counter(dataset[column]).most_common())
    info = path / "build_info.json"
    source["build_info"] = json.loads(info.read_text(encoding="utf-8")) if info.is_file() else None
    return SyntheticCorpus(texts, codes, source)


# ---------------------------------------------------------------------------------------------------- training sets


def _rng(seed: int, name: str) -> np.random.Generator:
    """A stream per (seed, setting): adding a setting never changes the samples of another."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def upsample_plan(real_codes: Sequence[str], quantile: float) -> dict[str, int]:
    """Synthetic notes to add per code: the codes at or below the `quantile` of real counts, up to the median."""
    counts = Counter(real_codes)
    values = np.array(sorted(counts.values()))
    threshold, target = np.quantile(values, quantile), int(np.median(values))
    return {code: target - n for code, n in sorted(counts.items()) if n <= threshold and n < target}


def training_set(
    setting: Setting, real: list[Note], synthetic: SyntheticCorpus, seed: int, upsample: dict[str, int]
) -> tuple[list[str], list[str], int]:
    """Texts and codes of one setting's training set and how many of them are synthetic."""
    rng = _rng(seed, setting.name)
    real_texts, real_codes = [n.text for n in real], [n.code for n in real]
    if setting.kind == "real":
        return real_texts, real_codes, 0
    if setting.kind == "upsample":
        chosen = []
        by_code: dict[str, list[int]] = {}
        for i, code in enumerate(synthetic.codes):
            by_code.setdefault(code, []).append(i)
        for code, need in upsample.items():
            pool = by_code.get(code, [])
            chosen.extend(rng.choice(pool, size=min(need, len(pool)), replace=False).tolist() if pool else [])
        texts = [synthetic.texts[i] for i in chosen]
        return real_texts + texts, real_codes + [synthetic.codes[i] for i in chosen], len(chosen)
    wanted = round(setting.ratio * len(real)) if setting.kind == "mixed" else len(real)
    if wanted > len(synthetic.texts):
        log.warning("%s: wants %d synthetic notes, the corpus has %d; using all", setting.name, wanted,
                    len(synthetic.texts))
    chosen = rng.choice(len(synthetic.texts), size=min(wanted, len(synthetic.texts)), replace=False).tolist()
    texts, codes = [synthetic.texts[i] for i in chosen], [synthetic.codes[i] for i in chosen]
    if setting.kind == "synthetic":
        return texts, codes, len(chosen)
    return real_texts + texts, real_codes + codes, len(chosen)


# ---------------------------------------------------------------------------------------------------- hard codes


def split_dev(real: list[Note], fraction: float, seed: int = 0) -> tuple[list[Note], list[Note]]:
    """Hold out `fraction` of each code's notes (codes with a single note stay in training)."""
    rng = np.random.default_rng(seed)
    by_code: dict[str, list[int]] = {}
    for i, note in enumerate(real):
        by_code.setdefault(note.code, []).append(i)
    held = set()
    for code in sorted(by_code):
        members = by_code[code]
        if len(members) >= 2:
            size = min(len(members) - 1, max(1, round(fraction * len(members))))
            held.update(rng.choice(members, size=size, replace=False).tolist())
    return [n for i, n in enumerate(real) if i not in held], [n for i, n in enumerate(real) if i in held]


def choose_hard_codes(
    real: list[Note], dev: list[Note] | None, config: BenchmarkConfig, metric
) -> tuple[list[str], dict]:
    """Codes whose real-only dev accuracy is at or below the `hard_quantile` of per-code accuracies.

    Only codes present both in the dev notes and in training are eligible: a code never seen in training is not
    "hard", it is missing.
    """
    chosen_on = "dev" if dev is not None else f"{config.dev_fraction:g} of the training file (per code)"
    fit_notes, dev_notes = (real, dev) if dev is not None else split_dev(real, config.dev_fraction)
    if not dev_notes:
        raise MedsynError("no notes to choose hard codes on; pass --dev or use a training file with repeated codes")
    classifier = make_classifier(config.classifier, seed=0, options=config.classifier_options)
    classifier.fit([n.text for n in fit_notes], [n.code for n in fit_notes])
    predictions = classifier.predict_top_k([n.text for n in dev_notes], K)
    per_code = metric.compute(predictions=predictions, references=[n.code for n in dev_notes], k=K)[
        "per_code_accuracy"
    ]
    seen = {n.code for n in fit_notes}
    eligible = {code: acc for code, acc in per_code.items() if code in seen}
    threshold = float(np.quantile(list(eligible.values()), config.hard_quantile)) if eligible else 0.0
    hard = sorted(code for code, acc in eligible.items() if acc <= threshold)
    info = {
        "chosen_on": chosen_on,
        "path": str(config.dev) if dev is not None else str(config.train),
        "n_notes": len(dev_notes),
        "quantile": config.hard_quantile,
        "threshold_accuracy": threshold,
        "dev_accuracy": {code: eligible[code] for code in hard},
    }
    return hard, info


# ---------------------------------------------------------------------------------------------------- bootstrap


@dataclass
class Run:
    setting: str
    seed: int
    predictions: list[list[str]]


def _weighted_scores(weights: np.ndarray, predictions: list[list[str]], references: list[str], hard: set[str]):
    """Every metric under each row of `weights`: the icd_topk metric's own implementation (`weighted_scores`)."""
    return _metric_module().weighted_scores(weights, predictions, references, hard, K)


@functools.lru_cache(maxsize=1)
def _metric_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("medsyn_icd_topk", METRIC_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _interval(values: np.ndarray) -> list[float | None]:
    values = values[~np.isnan(values)]
    if not len(values):
        return [None, None]
    return [float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))]


def _value(x: float) -> float | None:
    return None if x is None or np.isnan(x) else float(x)


def bootstrap_summary(
    runs: list[Run], references: list[str], hard: set[str], resamples: int, seed: int = 0
) -> dict[str, dict]:
    """Per setting and metric: the seed mean, its 95% bootstrap interval and the paired difference to real-only.

    The same resamples of evaluation notes are used for every setting and seed, so the difference interval
    accounts for the notes being shared; each resample's value is the mean over seeds.
    """
    n = len(references)
    rng = np.random.default_rng(seed)
    weights = np.vstack([np.ones(n), rng.multinomial(n, np.full(n, 1 / n), size=resamples)])
    by_setting: dict[str, list[dict]] = {}
    for run in runs:
        by_setting.setdefault(run.setting, []).append(_weighted_scores(weights, run.predictions, references, hard))
    means = {
        name: {m: np.mean([scores[m] for scores in seeds], axis=0) for m in METRICS}
        for name, seeds in by_setting.items()
    }
    summary = {}
    for name, metric_values in means.items():
        entry = {}
        for m, values in metric_values.items():
            entry[m] = {"mean": _value(values[0]), "ci95": _interval(values[1:])}
            if name != "real" and "real" in means:
                diff = values - means["real"][m]
                entry[m]["diff_to_real"] = {"mean": _value(diff[0]), "ci95": _interval(diff[1:])}
        summary[name] = entry
    return summary


# ---------------------------------------------------------------------------------------------------- the run


def load_metric():
    """The icd_topk metric through `evaluate`, by path, so it works offline and is the one shipped in the repo."""
    import evaluate

    return evaluate.load(str(METRIC_PATH), keep_in_memory=True)


def unseen_codes(notes: list[Note], known: set[str]) -> dict:
    missing = Counter(n.code for n in notes if n.code not in known)
    return {"n_notes": sum(missing.values()), "n_codes": len(missing), "codes": sorted(missing)}


def run_benchmark(config: BenchmarkConfig) -> dict:
    """Run every setting x seed, write RESULTS_DIR (results.json, results.md, plots, predictions); return results."""
    from medsyn.training import benchmark_report

    if config.seeds < 1:
        raise MedsynError(f"--seeds {config.seeds}: need at least one seed")
    settings = settings_for(config.ratios)
    real = load_notes(config.train)
    evaluation = load_notes(config.eval)
    dev = load_notes(config.dev) if config.dev else None
    synthetic = load_synthetic(config.synthetic)
    real_codes = {n.code for n in real}
    source = synthetic.source
    source["codes_not_in_real_train"] = sorted(set(synthetic.codes) - real_codes)
    source["real_codes_without_synthetic"] = sorted(real_codes - set(synthetic.codes))
    if not set(synthetic.codes) & real_codes:
        log.warning("no synthetic code occurs in %s: is the corpus for another code set?", config.train)
    unseen = unseen_codes(evaluation, real_codes)
    if unseen["n_notes"]:
        log.warning("%s: %d notes have %d code(s) never seen in %s (always scored wrong): %s", config.eval,
                    unseen["n_notes"], unseen["n_codes"], config.train, ", ".join(unseen["codes"]))

    with atomic_dir(config.out, overwrite=config.overwrite) as tmp:
        metric = load_metric()
        hard, hard_info = choose_hard_codes(real, dev, config, metric)
        log.info("hard codes (%d, %s): %s", len(hard), hard_info["chosen_on"], ", ".join(hard))
        plan = upsample_plan([n.code for n in real], config.upsample_quantile)
        references = [n.code for n in evaluation]
        entries, runs = [], []
        jobs = [(setting, seed) for setting in settings for seed in range(config.seeds)]
        for setting, seed in tqdm(jobs, desc=f"benchmark {config.classifier}", unit="fit"):
            texts, codes, n_synthetic = training_set(setting, real, synthetic, seed, plan)
            classifier = make_classifier(config.classifier, seed=seed, options=config.classifier_options)
            classifier.fit(texts, codes)
            predictions = classifier.predict_top_k([n.text for n in evaluation], K)
            trained = set(codes)
            scores = metric.compute(predictions=predictions, references=references, k=K, hard_codes=hard)
            entries.append({
                "name": setting.name,
                "classifier": config.classifier,
                "seed": seed,
                "synthetic_ratio": setting.ratio,
                "n_train_real": len(texts) - n_synthetic,
                "n_train_synthetic": n_synthetic,
                "unseen_eval_notes": sum(code not in trained for code in references),
                "metrics": {m: scores[m] for m in METRICS},
                "per_code_accuracy": scores["per_code_accuracy"],
            })
            runs.append(Run(setting.name, seed, predictions))
            folder = tmp / "predictions" / config.classifier / setting.name / f"seed{seed}"
            write_jsonl(folder / PREDICTION_FILE, (
                {"idx": note.note_id, "code": note.code, "prediction": prediction}
                for note, prediction in zip(evaluation, predictions)
            ))
        summary = bootstrap_summary(runs, references, set(hard), config.bootstrap)
        results = {
            "settings": entries,
            "hard_codes": hard,
            "synthetic_source": source,
            "summary": [
                {"name": s.name, "classifier": config.classifier, "synthetic_ratio": s.ratio,
                 "n_seeds": config.seeds, "metrics": summary[s.name]}
                for s in settings
            ],
            "hard_codes_selection": hard_info,
            "train": {"path": str(config.train), "n_notes": len(real),
                      "notes_per_code": dict(sorted(Counter(n.code for n in real).items()))},
            "eval": {"path": str(config.eval), "n_notes": len(evaluation), "unseen_codes": unseen},
            "upsample": {"quantile": config.upsample_quantile, "codes": plan},
            "config": _config_record(config),
        }
        with open(tmp / "results.json", "w", encoding="utf-8") as handle:
            json.dump(results, handle, ensure_ascii=False, indent=2)
        (tmp / "results.md").write_text(benchmark_report.markdown_table(results), encoding="utf-8")
        benchmark_report.plot_metric_vs_ratio(results, tmp / "metric_vs_ratio.png")
        benchmark_report.plot_per_code_gain(results, tmp / "per_code_gain.png")
    return results


def _config_record(config: BenchmarkConfig) -> dict:
    record = asdict(config)
    return {key: str(value) if isinstance(value, Path) else value for key, value in record.items()}
