"""Bootstrap intervals over evaluation notes, and how many real notes synthetic ones are worth.

Intervals are scipy's bias-corrected and accelerated (BCa) bootstrap: a plain percentile interval of macro-F1
is shifted below the estimate (a resample loses rare codes) and could exclude it. Every setting and seed is scored
on the same resamples, so differences to real-only are paired.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from medsyn.training.benchmark.metrics.icd_topk.topk_scores import weighted_scores

K = 3  # RuMedTop3 scores the top 3 codes
METRICS = ("accuracy", f"hit@{K}", "macro_f1", "hard_codes_accuracy", "rare_codes_accuracy")


@dataclass
class Run:
    setting: str  # the setting's key
    seed: int
    predictions: list[list[str]]


class Scorer:
    """Every metric of many runs under many resamples (rows of per-note weights): the icd_topk metric's own
    `weighted_scores`, whose row of ones is exactly the point estimate."""

    def __init__(self, references: list[str], hard: set[str], rare: set[str]):
        self.references, self.hard, self.rare = list(references), hard, rare

    def scores(self, weights: np.ndarray, predictions: list[list[str]]) -> dict[str, np.ndarray]:
        return weighted_scores(weights, predictions, self.references, self.hard, K, self.rare)


def _weights(indices: np.ndarray, n: int) -> np.ndarray:
    """Resampled note indices (rows) as per-note counts."""
    indices = np.atleast_2d(indices)
    rows = np.repeat(np.arange(indices.shape[0]), indices.shape[1])
    return np.bincount(rows * n + indices.ravel(), minlength=indices.shape[0] * n).reshape(-1, n).astype(float)


def bootstrap_summary(
    runs: list[Run], references: list[str], hard: set[str], resamples: int, seed: int = 0,
    rare: set[str] = frozenset(), baseline: dict[str, str] | None = None,
) -> dict[str, dict]:
    """Per setting key and metric: the seed mean, its 95% BCa interval and the paired difference to a baseline.

    `baseline` maps a setting key to the key it is compared with (default: every key to "real"); each resample's
    value is the mean over seeds.
    """
    from scipy.stats import bootstrap

    n = len(references)
    scorer = Scorer(references, hard, rare)
    keys = list(dict.fromkeys(run.setting for run in runs))
    baseline = baseline if baseline is not None else {key: "real" for key in keys if key != "real"}
    pairs = {key: ref for key, ref in baseline.items() if key in keys and ref in keys}
    labels = [(key, m, None) for key in keys for m in METRICS] + [(k, m, r) for k, r in pairs.items() for m in METRICS]

    def statistic(indices, axis=-1):
        weights = _weights(indices, n)
        per_key: dict[str, list] = {}
        for run in runs:
            per_key.setdefault(run.setting, []).append(scorer.scores(weights, run.predictions))
        means = {key: {m: np.mean([s[m] for s in seeds], axis=0) for m in METRICS} for key, seeds in per_key.items()}
        rows = [means[key][m] if ref is None else means[key][m] - means[ref][m] for key, m, ref in labels]
        out = np.nan_to_num(np.vstack(rows), nan=0.0)  # NaN: no hard/rare note in a resample (reported below)
        return out[:, 0] if np.ndim(indices) == 1 else out

    points = statistic(np.arange(n))
    full = np.ones((1, n))
    valid = {}
    for key in keys:
        for m in METRICS:
            values = [scorer.scores(full, run.predictions)[m][0] for run in runs if run.setting == key]
            valid[key, m] = not np.isnan(np.mean(values))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # degenerate rows (a difference that is always 0) are handled below
        result = bootstrap((np.arange(n),), statistic, n_resamples=resamples, vectorized=True, method="BCa",
                           rng=np.random.default_rng(seed), batch=max(1, min(resamples, 200_000 // max(n, 1))))
    low, high = np.atleast_1d(result.confidence_interval.low), np.atleast_1d(result.confidence_interval.high)
    spread = np.ptp(result.bootstrap_distribution, axis=-1)
    summary: dict[str, dict] = {key: {} for key in keys}
    for i, (key, m, ref) in enumerate(labels):
        ok = valid[key, m] and (ref is None or valid[ref, m])
        if not ok:
            stat = {"mean": None, "ci95": [None, None]}
        elif spread[i] == 0 or np.isnan(low[i]) or np.isnan(high[i]):
            stat = {"mean": float(points[i]), "ci95": [float(points[i])] * 2}  # no spread: the interval is a point
        else:
            stat = {"mean": float(points[i]), "ci95": [float(low[i]), float(high[i])]}
        if ref is None:
            summary[key][m] = stat
        else:
            summary[key][m]["diff_to_real"] = stat
    return summary


def real_notes_saved(curve: dict[float, float], mixed: dict[float, float], n_real: int) -> list[dict]:
    """For each real fraction f of a real+synthetic curve: the real-only fraction whose score it matches.

    `curve` and `mixed` map real fractions to a score. The real-only curve is interpolated linearly; the match is
    the largest fraction at or above f whose real-only score is at most the real+synthetic score at f. Beyond the
    largest fraction measured nothing is extrapolated (`at_least`).
    """
    xs = sorted(curve)
    out = []
    for f, score in sorted(mixed.items()):
        row = {"real_fraction": f, "score": score, "matched_real_fraction": None, "real_notes_saved": 0,
               "at_least": False}
        if f not in curve or score < curve[f]:
            out.append(row)  # synthetic notes do not help at this fraction
            continue
        match = f
        for a, b in zip(xs, xs[1:]):
            if b <= f:
                continue
            a = max(a, f)
            ya, yb = np.interp(a, xs, [curve[x] for x in xs]), curve[b]
            if yb <= score:
                match = b
            elif ya <= score:
                match = a + (score - ya) / (yb - ya) * (b - a)
                break
            else:
                break
        row["matched_real_fraction"] = float(match)
        row["real_notes_saved"] = int(round((match - f) * n_real))
        row["at_least"] = bool(match == xs[-1] and score > curve[xs[-1]])
        out.append(row)
    return out
