"""The ICD-10 benchmark: does adding synthetic notes to real training data make a code classifier better?

Every setting (real only; real + synthetic at several ratios of the real size; TSTR, synthetic only; synthetic
notes added only for the codes with the fewest real notes), at every share of the real training notes asked for,
is trained with several seeds and scored on the same evaluation file. Differences to real-only come with paired
bootstrap intervals over the evaluation notes, averaged over seeds, so that "synthetic helps" is a claim about the
data and not about one lucky seed. "Hard codes" are the codes a real-only model gets worst on a dev split, chosen
before the evaluation file is looked at; "rare codes" those with the fewest real training notes.
"""

from __future__ import annotations

import functools
import json
import logging
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from medsyn.builder.corpus import readers
from medsyn.builder.corpus.provenance import corpus_fingerprint
from medsyn.builder.generate.sampling import code_budget_record, read_code_budget
from medsyn.builder.kg.sources import Note, read_notes
from medsyn.errors import MedsynError
from medsyn.io import atomic_dir, write_jsonl
from medsyn.training.benchmark.sets import (  # noqa: F401  (re-exported: the benchmark's vocabulary)
    TSTR, Setting, SyntheticCorpus, check_fractions, cut_code, fit_to_corpus, rare_codes, settings_for, split_dev,
    stream, subsample, training_set, upsample_plan,
)
from medsyn.training.benchmark.generate import corpus_key, generate_corpora
from medsyn.training.benchmark import report as benchmark_report
from medsyn.training.benchmark.classifiers import TfidfLogReg, make_classifier
from medsyn.training.benchmark.features import NgramCounts
from medsyn.training.benchmark.config import BenchmarkConfig, SourceOptions
from medsyn.training.benchmark.weighting import fit_weight
from medsyn.training.benchmark.stats import K, METRICS, Run, bootstrap_summary, real_notes_saved

log = logging.getLogger(__name__)

DEFAULT_TEXT_COLUMN, DEFAULT_CODE_COLUMN = "text", "icd10_code"  # the columns `medsyn build` writes
DESCRIBED = ("backend", "generation_model")  # what medsyn corpora record about how their notes were written
METRIC_PATH = Path(__file__).resolve().parent / "metrics" / "icd_topk" / "icd_topk.py"
PREDICTION_FILE = "RuMedTop3.jsonl"  # the name RuMedBench's eval.py looks for in its --out_dir


HARD_QUANTILE = 0.25  # hard codes: real-only dev accuracy at or below this quantile of the per-code accuracies
UPSAMPLE_QUANTILE = 0.25  # the upsample setting adds synthetic notes to the codes at or below this count quantile


# ---------------------------------------------------------------------------------------------------- inputs


def load_notes(path: str | Path, code_level: int = 3) -> list[Note]:
    """RuMedTop3-format notes (`{"idx", "symptoms", "code"}` per line), read by the one reader of the project,
    codes cut to `code_level` characters."""
    notes = [replace(note, code=cut_code(note.code, code_level)) for note in read_notes(path)]
    if not notes:
        raise MedsynError(f"{path}: no notes; expected RuMedTop3 JSON lines {{\"idx\", \"symptoms\", \"code\"}}")
    return notes


def _missing(where: object, columns: Iterable[str], wanted: Sequence[str]) -> MedsynError:
    found = list(columns)
    lacking = [c for c in wanted if c not in found]
    return MedsynError(
        f"{where}: no column {', '.join(repr(c) for c in lacking)} (columns found: {', '.join(found) or 'none'}); "
        "name the note text and code columns with --text-column and --code-column"
    )


def _read_pairs(values: list, text_column: str, code_column: str, split: str) -> tuple[list[tuple], dict, dict]:
    """(text, code) of every record of the sources, read by the project's one reader (`builder/corpus/readers.py`),
    with what results.json says of the source: its kind, and what its notes record of how they were written."""
    wanted = (text_column, code_column)
    paths = [Path(v) for v in values]
    if len(paths) == 1 and readers.is_corpus_folder(paths[0]):
        folder, pattern = paths[0], f"data/{split}-*.parquet"
        names = readers.column_names(folder, pattern)
        if not names:
            raise MedsynError(f"{folder}: the synthetic corpus has no notes (no {pattern}); build it first")
        if text_column not in names or code_column not in names:
            raise _missing(folder, names, wanted)
        wanted_here = list(dict.fromkeys([*wanted, *(c for c in DESCRIBED if c in names)]))
        columns = readers.read_columns(folder, pattern, wanted_here)
        # `medsyn card --benchmark` checks the fingerprint against the corpus it publishes
        info = readers.read_build_info(folder) if (folder / "build_info.json").is_file() else None
        extra = {c: dict(Counter(columns[c]).most_common()) for c in DESCRIBED if c in names}
        kind = {"kind": "medsyn build folder", "fingerprint": corpus_fingerprint(folder)}
        return list(zip(columns[text_column], columns[code_column])), kind, {**extra, "build_info": info}
    if len(values) == 1 and not paths[0].exists() and readers.HUB_ID.match(str(values[0])):
        records = readers.read(readers.expand([str(values[0])], split)[0])
        names = list(dict.fromkeys(key for record in records for key in record.values))
        if records and (text_column not in names or code_column not in names):
            raise _missing(values[0], names, wanted)
        extra = {c: dict(Counter(r.values[c] for r in records).most_common()) for c in DESCRIBED if c in names}
        return [(r.values[text_column], r.values[code_column]) for r in records], {"kind": "Hub dataset"}, extra
    for path in paths:
        if not path.exists():
            raise MedsynError(f"{path}: synthetic source not found; pass a `medsyn build` folder, a Hub dataset id, "
                              "or JSON/JSONL/parquet/CSV/TSV files")
    files = readers.expand([str(path) for path in paths], split)
    pairs = []
    for source in files:
        for record in readers.read(source):
            if text_column not in record.values or code_column not in record.values:
                raise _missing(f"{source.path} (record {record.line})", record.values.keys(), wanted)
            pairs.append((record.values[text_column], record.values[code_column]))
    return pairs, {"kind": "files", "n_files": len(files)}, {}


def read_synthetic(sources: str | Path | Sequence[str | Path], text_column: str | None = None,
                   code_column: str | None = None, split: str = "train") -> SyntheticCorpus:
    """Texts and codes (as written, uncut) of every note with a non-empty text and code, and where they came from.

    `sources`: one corpus folder medsyn wrote, one Hub dataset id (through `load_dataset`, from the cache when
    offline), or data files and folders of them. Records whose text or code is empty are skipped and counted.
    """
    values = [sources] if isinstance(sources, (str, Path)) else list(sources)
    if not values:
        raise MedsynError("no synthetic source given; pass --synthetic")
    text_column, code_column = text_column or DEFAULT_TEXT_COLUMN, code_column or DEFAULT_CODE_COLUMN
    source: dict = {"path": ", ".join(str(v) for v in values), "text_column": text_column, "code_column": code_column}
    pairs, kind, extra = _read_pairs(values, text_column, code_column, split)
    source.update(kind)
    kept = [(t, str(c).strip()) for t, c in pairs if isinstance(t, str) and t.strip() and c is not None
            and str(c).strip()]
    if len(kept) < len(pairs):
        log.warning("%s: skipped %d notes with an empty text or code", source["path"], len(pairs) - len(kept))
    if not kept:
        raise MedsynError(f"{source['path']}: the synthetic corpus has no notes (columns {text_column!r}, "
                          f"{code_column!r}); build it first or check the columns")
    texts, codes = map(list, zip(*kept))
    source.update({"n_read": len(pairs), "n_skipped_empty": len(pairs) - len(kept)}, **extra)
    return SyntheticCorpus(texts, codes, source)


def load_synthetic(source, options: SourceOptions, real_codes: set[str]) -> SyntheticCorpus:
    """Synthetic notes with codes cut to the real files' level; unless kept, notes of codes the real training file
    lacks are dropped (a classifier would only learn extra classes that the evaluation never asks for)."""
    notes = read_synthetic(source, options.text_column, options.code_column)
    codes = [cut_code(code, options.code_level) for code in notes.codes]
    unseen = Counter(code for code in codes if code not in real_codes)
    keep = [i for i, code in enumerate(codes) if options.keep_unseen_codes or code not in unseen]
    info = dict(notes.source)
    info["code_level"] = options.code_level
    info["unseen_codes"] = {"n_notes": sum(unseen.values()), "n_codes": len(unseen), "codes": sorted(unseen),
                            "dropped": not options.keep_unseen_codes}
    if unseen and not options.keep_unseen_codes:
        log.warning("synthetic notes: dropped %d of %d whose code (%d codes) is not in the real training file "
                    "(--keep-unseen-codes keeps them)", sum(unseen.values()), len(codes), len(unseen))
    if not keep:
        raise MedsynError(f"{info['path']}: no synthetic note has a code of the real training file (codes cut to "
                          f"{options.code_level} characters); is the corpus for another code set?")
    texts, codes = [notes.texts[i] for i in keep], [codes[i] for i in keep]
    info.update({"n_notes": len(texts), "n_codes": len(set(codes)),
                 "notes_per_code": dict(sorted(Counter(codes).items()))})
    return SyntheticCorpus(texts, codes, info)


# ---------------------------------------------------------------------------------------------------- hard codes


def choose_hard_codes(
    real: list[Note], dev: list[Note] | None, config: BenchmarkConfig, metric, options: dict | None = None
) -> tuple[list[str], dict]:
    """Codes whose real-only dev accuracy is at or below the `HARD_QUANTILE` of per-code accuracies.

    Only codes present both in the dev notes and in training are eligible: a code never seen in training is not
    "hard", it is missing.
    """
    dev_fraction = config.design.dev_fraction
    chosen_on = "dev" if dev is not None else f"{dev_fraction:g} of the training file (per code)"
    fit_notes, dev_notes = (real, dev) if dev is not None else split_dev(real, dev_fraction)
    if not dev_notes:
        raise MedsynError("no notes to choose hard codes on; pass --dev or use a training file with repeated codes")
    model = config.model
    classifier = make_classifier(model.classifier, seed=0, options=options or model.settings())
    classifier.fit([n.text for n in fit_notes], [n.code for n in fit_notes])
    predictions = classifier.predict_top_k([n.text for n in dev_notes], K)
    per_code = metric.compute(predictions=predictions, references=[n.code for n in dev_notes], k=K)[
        "per_code_accuracy"
    ]
    seen = {n.code for n in fit_notes}
    eligible = {code: acc for code, acc in per_code.items() if code in seen}
    threshold = float(np.quantile(list(eligible.values()), HARD_QUANTILE)) if eligible else 0.0
    hard = sorted(code for code, acc in eligible.items() if acc <= threshold)
    info = {
        "chosen_on": chosen_on,
        "path": str(config.inputs.dev) if dev is not None else str(config.inputs.train),
        "n_notes": len(dev_notes),
        "quantile": HARD_QUANTILE,
        "threshold_accuracy": threshold,
        "dev_accuracy": {code: eligible[code] for code in hard},
    }
    return hard, info



# ---------------------------------------------------------------------------------------------------- the run


def load_metric():
    """The icd_topk metric through `evaluate`, by path, so it works offline and is the one shipped in the repo."""
    import evaluate

    return evaluate.load(str(METRIC_PATH), keep_in_memory=True)


def unseen_codes(notes: list[Note], known: set[str]) -> dict:
    missing = Counter(n.code for n in notes if n.code not in known)
    return {"n_notes": sum(missing.values()), "n_codes": len(missing), "codes": sorted(missing)}


def shared_options(config: BenchmarkConfig, texts: list[str]) -> dict:
    """Classifier options with n-gram counts of every note computed once (TF-IDF); the encoder needs none."""
    options = config.model.settings()
    if config.model.classifier == "tfidf-lr":
        features = TfidfLogReg(**options)  # the analyzer and n-gram range the fits will ask for
        log.info("counting character n-grams of %d distinct notes (once for all fits)", len(set(texts)))
        options["counts"] = NgramCounts.fit(texts, features.analyzer, tuple(features.ngram_range))
    return options


def baselines(settings: list[Setting]) -> dict[str, str]:
    """Each setting is compared with real-only at its own real fraction; TSTR with real-only at the largest."""
    real = {s.real_fraction: s.key for s in settings if s.kind == "real"}
    return {s.key: real[max(real) if s.kind == "tstr" else s.real_fraction] for s in settings if s.kind != "real"}


def run_benchmark(config: BenchmarkConfig) -> dict:
    """Run every setting x real fraction x seed, write RESULTS_DIR (results.json, results.md, plots, predictions)."""
    inputs, design, model = config.inputs, config.design, config.model
    config.validate()
    settings = settings_for(design.ratio_values(), design.fraction_values())
    level = config.sources.code_level
    real = load_notes(inputs.train, level)
    evaluation = load_notes(inputs.eval, level)
    dev = load_notes(inputs.dev, level) if inputs.dev else None
    real_codes = {n.code for n in real}
    work = tempfile.TemporaryDirectory(prefix="medsyn-generate-")
    corpora = synthetic_corpora(config, real, real_codes, Path(work.name))
    largest = max(design.fraction_values())
    synthetic = corpus_for(corpora, largest, 0)  # what results.json describes; TSTR trains on it
    source = synthetic.source
    source["real_codes_without_synthetic"] = sorted(real_codes - set(synthetic.codes))
    if config.generation.generate:
        source["generated"] = [{"real_fraction": key[0], "seed": key[1], **{k: c.source.get(k) for k in (
            "fingerprint", "n_notes", "n_codes")}, "generator_notes": (c.source.get("build_info") or {}).get(
            "generator_notes")} for key, c in sorted(corpora.items())]
    settings, synthetic_use = fit_to_corpus(settings, len(synthetic.texts), len(real))
    unseen = unseen_codes(evaluation, real_codes)
    if unseen["n_notes"]:
        log.warning("%s: %d notes have %d code(s) never seen in %s (always scored wrong): %s", inputs.eval,
                    unseen["n_notes"], unseen["n_codes"], inputs.train, ", ".join(unseen["codes"]))
    rare = rare_codes([n.code for n in real], design.rare_quantile)

    with atomic_dir(inputs.out, overwrite=inputs.overwrite) as tmp:
        metric = load_metric()
        options = shared_options(config, [n.text for n in real + evaluation + (dev or [])]
                                 + [text for corpus in corpora.values() for text in corpus.texts])
        hard, hard_info = choose_hard_codes(real, dev, config, metric, options)
        log.info("hard codes (%d, %s): %s", len(hard), hard_info["chosen_on"], ", ".join(hard))
        references = [n.code for n in evaluation]
        eval_texts = [n.text for n in evaluation]
        entries, runs, plans = [], [], {}
        jobs = [(seed, setting) for seed in range(design.seeds) for setting in settings]
        for seed, setting in tqdm(jobs, desc=f"benchmark {model.classifier}", unit="fit"):
            subset = subsample(real, setting.real_fraction, seed) if setting.kind != "tstr" else []
            plan = upsample_plan([n.code for n in subset], UPSAMPLE_QUANTILE) if subset else {}
            if setting.kind == "upsample":
                plans[setting.real_fraction] = plan
            corpus = corpus_for(corpora, largest if setting.kind == "tstr" else setting.real_fraction, seed)
            texts, codes, n_synthetic = training_set(setting, subset, corpus, seed, plan, len(real))
            make = functools.partial(make_classifier, model.classifier, seed=seed, options=options)
            weight, chosen = fit_weight(model.synthetic_weight, setting.kind, len(texts) - n_synthetic, texts, codes,
                                        make, seed)
            classifier = make()
            weights = None if weight == 1 else [1.0] * (len(texts) - n_synthetic) + [weight] * n_synthetic
            classifier.fit(texts, codes, sample_weight=weights)
            predictions = classifier.predict_top_k(eval_texts, K)
            trained = set(codes)
            scores = metric.compute(predictions=predictions, references=references, k=K, hard_codes=hard,
                                    rare_codes=rare)
            folder = Path("predictions") / model.classifier / f"real{setting.real_fraction:g}" / setting.name
            entries.append({
                "name": setting.name,
                "classifier": model.classifier,
                "seed": seed,
                "real_fraction": setting.real_fraction,
                "synthetic_ratio": setting.ratio,
                "n_train_real": len(texts) - n_synthetic,
                "n_train_synthetic": n_synthetic,
                "synthetic_weight": weight,
                **({"weight_cv_accuracy": {f"{w:g}": a for w, a in chosen.accuracy.items()}} if chosen else {}),
                "unseen_eval_notes": sum(code not in trained for code in references),
                "metrics": {m: scores[m] for m in METRICS},
                "per_code_accuracy": scores["per_code_accuracy"],
                "predictions": f"{folder}/seed{seed}/{PREDICTION_FILE}",
            })
            runs.append(Run(setting.key, seed, predictions))
            write_jsonl(tmp / folder / f"seed{seed}" / PREDICTION_FILE, (
                {"idx": note.note_id, "code": note.code, "prediction": prediction}
                for note, prediction in zip(evaluation, predictions)
            ))
        summary = bootstrap_summary(runs, references, set(hard), design.bootstrap, rare=set(rare),
                                    baseline=baselines(settings))
        results = results_record(config, settings, entries, summary, real, evaluation, synthetic, hard, hard_info,
                                 rare, plans, unseen, synthetic_use)
        with open(tmp / "results.json", "w", encoding="utf-8") as handle:
            json.dump(results, handle, ensure_ascii=False, indent=2)
        (tmp / "results.md").write_text(benchmark_report.markdown_report(results), encoding="utf-8")
        benchmark_report.write_plots(results, tmp)
    work.cleanup()
    return results


def synthetic_corpora(config: BenchmarkConfig, real: list[Note], real_codes: set[str],
                      work: Path) -> dict[tuple[float, int] | None, SyntheticCorpus]:
    """The synthetic notes of every (real fraction, seed): one given corpus for all (key None), or with --generate
    one built from each fraction's own real notes (`generate.py`); --code-budget keeps at most its count per code."""
    budget = read_code_budget(config.sources.code_budget) if config.sources.code_budget else None
    if not config.generation.generate:
        given = {None: load_synthetic(config.inputs.synthetic, config.sources, real_codes)}
    else:
        options = replace(config.sources, text_column=None, code_column=None)
        given = {key: load_synthetic(folder, options, real_codes)
                 for key, folder in generate_corpora(config, real, work).items()}
    return {key: apply_budget(corpus, budget, config.sources.code_budget) if budget else corpus
            for key, corpus in given.items()}


def corpus_for(corpora: dict, fraction: float, seed: int) -> SyntheticCorpus:
    return corpora[None] if None in corpora else corpora[corpus_key(fraction, seed)]


def apply_budget(corpus: SyntheticCorpus, budget: dict[str, int], path) -> SyntheticCorpus:
    """At most `budget[code]` notes of each code (a seeded choice, the same for every seed), none of other codes."""
    by_code: dict[str, list[int]] = {}
    for i, code in enumerate(corpus.codes):
        by_code.setdefault(code, []).append(i)
    keep = sorted(i for code, members in by_code.items()
                  for i in stream(0, f"budget/{code}").permutation(members)[: budget.get(code, 0)].tolist())
    if not keep:
        raise MedsynError(f"--code-budget {path}: leaves no synthetic note (its codes: "
                          f"{', '.join(sorted(budget)[:5]) or 'none'}); is it for this corpus's codes?")
    source = {**corpus.source, "code_budget": {"path": str(path), "n_before": len(corpus.texts), "n_after": len(keep),
                                              **code_budget_record(path)},
              "n_notes": len(keep), "notes_per_code": dict(sorted(Counter(corpus.codes[i] for i in keep).items()))}
    return SyntheticCorpus([corpus.texts[i] for i in keep], [corpus.codes[i] for i in keep], source)


def results_record(config, settings, entries, summary, real, evaluation, synthetic, hard, hard_info, rare, plans,
                   unseen, synthetic_use: dict | None = None) -> dict:
    """Everything results.json holds (one place, so additions to it merge)."""
    used: dict[tuple, int] = {}  # the most synthetic notes a setting trained on over the seeds (fixed but for upsample)
    for e in entries:
        key = (e["name"], e["real_fraction"])
        used[key] = max(used.get(key, 0), e["n_train_synthetic"])
    rows = [{"name": s.name, "classifier": config.model.classifier, "real_fraction": s.real_fraction,
             "synthetic_ratio": s.ratio, "n_train_synthetic": used.get((s.name, s.real_fraction), 0),
             "n_seeds": config.design.seeds, "metrics": summary[s.key]} for s in settings]
    real_counts = Counter(n.code for n in real)
    return {
        "settings": entries,
        "hard_codes": hard,
        "rare_codes": rare,
        "synthetic_source": synthetic.source,
        "synthetic_use": synthetic_use or {},
        "summary": rows,
        "real_notes_saved": notes_saved(rows, len(real)),
        "tstr_per_code": tstr_per_code(entries, real_counts, Counter(synthetic.codes),
                                       Counter(n.code for n in evaluation)),
        "hard_codes_selection": hard_info,
        "rare_codes_selection": {"quantile": config.design.rare_quantile, "counted_on": str(config.inputs.train),
                                 "max_real_notes": max((real_counts[c] for c in rare), default=0)},
        "train": {"path": str(config.inputs.train), "n_notes": len(real),
                  "notes_per_code": dict(sorted(real_counts.items()))},
        "eval": {"path": str(config.inputs.eval), "n_notes": len(evaluation), "unseen_codes": unseen},
        "upsample": {"quantile": UPSAMPLE_QUANTILE, "codes": plans.get(max(config.design.fraction_values()), {}),
                     "codes_by_real_fraction": {f"{f:g}": plan for f, plan in sorted(plans.items())}},
        "intervals": "95% BCa bootstrap over evaluation notes (scipy.stats.bootstrap), paired across settings",
        "config": _config_record(config),
    }


def notes_saved(rows: list[dict], n_real: int, metric: str = "accuracy") -> dict[str, list[dict]]:
    """Per real+synthetic setting: real notes it is worth at each real fraction (needs two fractions or more)."""
    curve = {r["real_fraction"]: r["metrics"][metric]["mean"] for r in rows if r["name"] == "real"}
    if len(curve) < 2:
        return {}
    out = {}
    for name in dict.fromkeys(r["name"] for r in rows if r["synthetic_ratio"] is not None or r["name"] == "upsample"):
        mixed = {r["real_fraction"]: r["metrics"][metric]["mean"] for r in rows if r["name"] == name}
        out[name] = real_notes_saved(curve, mixed, n_real)
    return out


def tstr_per_code(entries: list[dict], real_counts: Counter, synthetic_counts: Counter, eval_counts: Counter) -> list:
    """Which codes the corpus describes well: TSTR accuracy per evaluation code beside real-only (full fraction)."""
    def mean_per_code(name: str, fraction: float | None) -> dict[str, float]:
        sums: dict[str, list[float]] = {}
        for e in entries:
            if e["name"] == name and (fraction is None or e["real_fraction"] == fraction):
                for code, acc in e["per_code_accuracy"].items():
                    sums.setdefault(code, []).append(acc)
        return {code: float(np.mean(v)) for code, v in sums.items()}

    tstr = mean_per_code(TSTR, None)
    fractions = [e["real_fraction"] for e in entries if e["name"] == "real"]
    real = mean_per_code("real", max(fractions)) if fractions else {}
    rows = [{"code": code, "n_eval": eval_counts[code], "n_train_real": real_counts[code],
             "n_synthetic": synthetic_counts[code], "tstr_accuracy": acc, "real_accuracy": real.get(code)}
            for code, acc in tstr.items()]
    return sorted(rows, key=lambda r: (-r["tstr_accuracy"], -r["n_eval"], r["code"]))


def _config_record(config: BenchmarkConfig) -> dict:
    def plain(value):
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return value

    return plain(config.flat())
