"""How real the `template` backend's notes look, and how well a classifier trained on them alone transfers.

    .venv/bin/python benchmarks/bench_realism.py [--n 10000] [--seeds 3] [--code-strategy frequency]
                                                 [--symptom-temperature 0.2] [--data ../shared/data] [--no-accuracy]

Builds --n template notes with `medsyn build` (default priors and prompt families) and prints, from the texts:
- the share of notes holding the most common sentence pattern (a sentence with numbers and symptom words masked;
  target <= 20%);
- fever/temperature consistency: of notes whose prior has a fever symptom and that state a temperature, the share
  at 37.5 °C or more (target >= 95%);
- acute-duration consistency: of notes of acute codes (`clinical.acuity`) that state a duration, the share of at
  most 4 weeks (target >= 95%);
- invalid vitals (outside `clinical.LIMITS`, pulse pressure included; target 0) and distinct values per field;
- the build's keep rate (filters) and wall time.
Then the benchmark's synthetic-only dev accuracy: a template corpus as large as RuMedTop3 train over its codes,
built as `bench_prior_tstr.py` builds it (codes by their real note counts, symptoms at T 0.2; its docstring says
why), tfidf-lr trained on it alone, scored on dev.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent



def build(out: Path, n: int, extra: list[str]) -> tuple[list[dict], list[dict], float]:
    import pyarrow.parquet as pq

    from medsyn.cli import main as medsyn

    start = time.perf_counter()
    code = medsyn(["build", "--out", str(out), "--quiet", "--n", str(n), "--seed", "0", *extra])
    elapsed = time.perf_counter() - start
    if code:
        raise SystemExit(code)
    everything = [row for shard in sorted((out / "unfiltered").glob("*.parquet")) for row in pq.read_table(shard).to_pylist()]
    return everything, [r for r in everything if r["keep"]], elapsed


def synthetic_accuracy(data: Path, strategy: str, temperature: float, seeds: int, work: Path) -> tuple[float, float]:
    from medsyn.training.benchmark.run import (
        TSTR, Setting, SourceOptions, SyntheticCorpus, load_notes, load_synthetic, training_set,
    )
    from medsyn.training.benchmark.classifiers import TfidfLogReg

    top3 = data / "rumedbench" / "RuMedTop3"
    real, dev = load_notes(top3 / "train_v1.jsonl"), load_notes(top3 / "dev_v1.jsonl")
    codes = sorted({note.code for note in real})
    corpus = work / "accuracy-corpus"
    build(corpus, len(real),
          ["--code-strategy", strategy, "--symptom-temperature", str(temperature), "--codes", *codes])
    synthetic: SyntheticCorpus = load_synthetic(corpus, SourceOptions(), set(codes))
    setting = Setting(TSTR, "tstr")
    accs, hits = [], []
    for seed in range(seeds):
        texts, labels, _ = training_set(setting, real, synthetic, seed, {})
        predictions = TfidfLogReg(seed=seed).fit(texts, labels).predict_top_k([n.text for n in dev], 3)
        accs.append(sum(p[0] == n.code for p, n in zip(predictions, dev)) / len(dev))
        hits.append(sum(n.code in p for p, n in zip(predictions, dev)) / len(dev))
    return sum(accs) / seeds, sum(hits) / seeds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--code-strategy", default="frequency", choices=["uniform", "frequency", "budget", "medsyn"])
    parser.add_argument("--symptom-temperature", type=float, default=0.2)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--no-accuracy", action="store_true", help="skip the synthetic-only dev accuracy")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="medsyn-realism-"))
    rows, kept, elapsed = build(work / "corpus", args.n, [])
    print(f"template build: {args.n} notes in {elapsed:.1f} s; filters keep {len(kept)} ({100 * len(kept) / len(rows):.2f}%)"
          f"; reasons {dict(Counter(r for row in rows for r in row['reject_reasons']))}")
    shapes = Counter(row["prompt_template"] for row in rows)
    print(f"prompt templates: {dict(shapes)}")
    from medsyn.builder.generate.template.realism import realism  # the measures, shared with the tests

    report = realism(rows)
    print(f"most common sentence pattern: {100 * report['top_pattern_share']:.1f}% of notes (target <= 20%): "
          f"{report['top_pattern']!r}")
    print(f"fever/temperature consistency: {100 * report['fever_consistency']:.1f}% of "
          f"{report['fever_notes_with_temperature']} notes (target >= 95%)")
    print(f"acute codes with a duration <= 4 weeks: {100 * report['acute_duration_consistency']:.1f}% of "
          f"{report['acute_notes_with_duration']} notes (target >= 95%)")
    print(f"invalid vitals: {report['invalid_vitals']} notes (target 0)")
    print(f"distinct values per field: {report['distinct_values']}")
    if not args.no_accuracy:
        acc, hit3 = synthetic_accuracy(args.data, args.code_strategy, args.symptom_temperature, args.seeds, work)
        print(f"synthetic-only dev accuracy (tfidf-lr, {args.seeds} seeds, template corpus as large as RuMedTop3 "
              f"train, {args.code_strategy} codes, symptom T {args.symptom_temperature}): {100 * acc:.1f} (hit@3 {100 * hit3:.1f}; target >= 25)")
    print(json.dumps(report, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
