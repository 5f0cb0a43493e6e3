"""The arithmetic of the icd_topk metric, apart from its `evaluate` wrapper (icd_topk.py).

A file of its own because the benchmark's bootstrap (`training/benchmark/stats.py`) calls it on every resample, and
importing the wrapper imports `evaluate`, which imports transformers and torch (seconds). `evaluate.load` copies this
file beside the script (a relative import), so the metric still loads by path, offline.
"""

from __future__ import annotations

import numpy as np


def weighted_scores(weights, predictions: list[list[str]], references: list[str], hard_codes=(), k: int = 3,
                    rare_codes=()) -> dict:
    """accuracy, hit@k, macro-F1 (of the top-1 code over the gold codes present; a code never predicted scores 0)
    and hard- and rare-code accuracy under each row of `weights` (counts per note), vectorised over rows.

    The one implementation of the metric: `score` is its row of ones, and the benchmark's bootstrap passes its
    resample counts. Averaging F1 over the gold codes only keeps a classifier with extra classes (synthetic-only
    codes) comparable with one without them; over the codes present in the row, so that a resample that misses a
    code does not count it as an F1 of 0 (which biased the bootstrap's intervals below the point estimate).
    """
    weights = np.atleast_2d(np.asarray(weights, dtype=float))
    references_arr = np.array(references)
    top = np.array([p[0] if p else "" for p in predictions])
    correct = (top == references_arr).astype(float)
    hit = np.array([r in list(p)[:k] for p, r in zip(predictions, references)], dtype=float)
    total = weights.sum(axis=1)
    labels = sorted(set(references))
    position = {code: j for j, code in enumerate(labels)}
    gold = np.zeros((len(references), len(labels)))
    gold[np.arange(len(references)), [position[r] for r in references]] = 1
    guessed = np.zeros_like(gold)
    rows = [i for i, t in enumerate(top) if t in position]
    guessed[rows, [position[top[i]] for i in rows]] = 1
    tp, support, predicted = weights @ (gold * correct[:, None]), weights @ gold, weights @ guessed
    denominator = support + predicted
    f1 = np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)
    present = support > 0
    out = {
        "accuracy": weights @ correct / total,
        f"hit@{k}": weights @ hit / total,
        "macro_f1": (f1 * present).sum(axis=1) / np.maximum(present.sum(axis=1), 1),
    }
    for metric, codes in (("hard_codes_accuracy", hard_codes), ("rare_codes_accuracy", rare_codes)):
        members = set(codes or ())
        member = np.array([r in members for r in references], dtype=float)
        subset = weights @ member
        with np.errstate(invalid="ignore", divide="ignore"):
            out[metric] = np.where(subset > 0, (weights @ (correct * member)) / subset, np.nan)
    return out
