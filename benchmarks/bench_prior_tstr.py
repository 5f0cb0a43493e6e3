"""Synthetic-only dev accuracy of template notes: how good are the graph's priors for the RuMedTop3 codes?

    .venv/bin/python benchmarks/bench_prior_tstr.py [--graph GRAPH.json.gz] [--seeds 3] [--data ../shared/data]
                                                    [--code-strategy frequency] [--symptom-temperature 0.2]

The benchmark's TSTR setting, on its own (the other settings do not depend on the prior): a `template` corpus with
as many notes as the real training file over the RuMedTop3 train codes (as `benchmark_tfidf.py --template` builds
it), the TF-IDF classifier trained on the synthetic notes only, scored on RuMedTop3 dev. Prints accuracy and hit@3
(mean over seeds). The evidence rule of `builder/kg/graph.py` was tuned on this figure (then with uniform codes, T 0.1).

The corpus is built as one would build a stand-in for RuMedTop3's training set (tuned on dev, classifier seed 0,
build seed 0):
- codes drawn by `frequency`, i.e. by their RuMedTop3 train note counts: TSTR asks whether synthetic notes can
  replace the real training set, and a replacement of the same size has the same code mix; drawn `uniform`ly, the
  classifier learns a flat code prior that the real notes (and dev) do not have, whatever the notes say (T 0.1:
  uniform 20.9, budget 18.8, frequency 23.6). MedSyn, too, draws codes by a probability table;
- symptoms drawn at T 0.2 rather than the build's default 0.1: at 0.1 the few heaviest symptoms of a code fill
  nearly every note, so the 560 notes of M54 say almost the same thing; at 0.2 they spread as real notes do
  (frequency 23.6 -> 28.7; budget 18.8 -> 20.9; complaint-only notes at T 0.05 / 0.1 / 0.2 / 0.3 / 0.5: 21.0 /
  25.5 / 28.2 / 26.2 / 21.8, so 0.2 and not higher). Fewer symptoms per note (k 2-5) gave 24.3 against 25.5.
The build's own defaults (MedSyn's budget, T 0.1) stay: they serve augmentation, where rare codes need notes more
than frequent ones. `--code-strategy uniform --symptom-temperature 0.1` gives the earlier figure.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--graph", type=Path, help="graph file (default: the embedded graph)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--build-seed", type=int, default=0)
    parser.add_argument("--code-strategy", default="frequency", choices=["uniform", "frequency", "budget", "medsyn"])
    parser.add_argument("--symptom-temperature", type=float, default=0.2)
    args = parser.parse_args()

    import os

    # datasets caches a local folder by its name, not its content: a fresh cache, or a stale corpus is scored.
    os.environ["HF_DATASETS_CACHE"] = tempfile.mkdtemp(prefix="medsyn-tstr-cache-")
    import numpy as np

    from medsyn.builder.corpus.config import BuildConfig
    from medsyn.builder.corpus.build import build_corpus
    from medsyn.dataset_card.card import write_card
    from medsyn.training.benchmark.run import (
        K, TSTR, Setting, SourceOptions, load_metric, load_notes, load_synthetic, training_set,
    )
    from medsyn.training.benchmark.classifiers import make_classifier

    top3 = args.data / "rumedbench" / "RuMedTop3"
    real = load_notes(top3 / "train_v1.jsonl")
    dev = load_notes(top3 / "dev_v1.jsonl")
    codes = sorted({note.code for note in real})
    corpus = Path(tempfile.mkdtemp(prefix="medsyn-tstr-")) / "corpus"
    start = time.perf_counter()
    config = BuildConfig.of(out=corpus, n=len(real), seed=args.build_seed, graph=args.graph, codes=codes,
                            code_strategy=args.code_strategy, symptom_temperature=args.symptom_temperature)
    build_corpus(config, progress=False, extra_files=write_card)  # the card's configs tell load_dataset the splits
    print(f"template corpus ({len(real)} notes over {len(codes)} codes, {args.code_strategy} codes, symptom T "
          f"{args.symptom_temperature}): {time.perf_counter() - start:.1f} s", flush=True)
    synthetic = load_synthetic(corpus, SourceOptions(), set(codes))
    metric = load_metric()
    references = [n.code for n in dev]
    scores = []
    for seed in range(args.seeds):
        texts, labels, _ = training_set(Setting(TSTR, "tstr"), real, synthetic, seed, {})
        classifier = make_classifier("tfidf-lr", seed=seed)
        classifier.fit(texts, labels)
        result = metric.compute(predictions=classifier.predict_top_k([n.text for n in dev], K),
                                references=references, k=K, hard_codes=[])
        scores.append((result["accuracy"], result["hit@3"]))
    accuracy, hit3 = (100 * np.mean([s[i] for s in scores]) for i in (0, 1))
    per_seed = ", ".join(f"{100 * s[0]:.1f}" for s in scores)
    print(json.dumps({"graph": str(args.graph or "embedded"), "code_strategy": args.code_strategy,
                      "symptom_temperature": args.symptom_temperature, "accuracy": round(accuracy, 2),
                      "hit@3": round(hit3, 2), "accuracy_per_seed": per_seed}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
