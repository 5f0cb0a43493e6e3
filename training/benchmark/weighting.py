"""`--synthetic-weight auto`: how much a synthetic note weighs, chosen on the fit's own real notes.

A synthetic note is worth less than a real one, but how much less depends on the generator and on how many real
notes there are; a weight picked on the evaluation file is tuned on it. A clinic with 465 notes can still choose it
honestly: cross-validation on those notes alone. Each candidate weight trains on the other folds' real notes plus
all the setting's synthetic notes and is scored on the held-out fold; the weight with the best mean accuracy wins
(ties: the larger weight, so synthetic notes are not discounted without evidence). Nothing reads the evaluation
file. The grid and the folds were fixed before the first run on dev.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from medsyn.training.benchmark.classifiers import Classifier
from medsyn.training.benchmark.config import AUTO
from medsyn.training.benchmark.sets import stream

WEIGHTS = (0.1, 0.25, 0.5, 1.0)
FOLDS = 3


@dataclass
class WeightChoice:
    weight: float
    accuracy: dict[float, float]  # candidate weight -> mean held-out accuracy over the folds


def choose_weight(real_texts: Sequence[str], real_codes: Sequence[str], synthetic_texts: Sequence[str],
                  synthetic_codes: Sequence[str], make: Callable[[], Classifier], seed: int,
                  weights: Sequence[float] = WEIGHTS, folds: int = FOLDS) -> WeightChoice:
    """The weight of `weights` whose fits, on `folds`-fold splits of the real notes (seeded), predict the held-out
    real notes best; `make` gives a fresh classifier."""
    fold_of = stream(seed, "weight-folds").permutation(len(real_texts)) % folds
    scores = {w: [] for w in weights}
    for fold in range(folds):
        train = [i for i in range(len(real_texts)) if fold_of[i] != fold]
        held = [i for i in range(len(real_texts)) if fold_of[i] == fold]
        texts = [real_texts[i] for i in train] + list(synthetic_texts)
        codes = [real_codes[i] for i in train] + list(synthetic_codes)
        for weight in weights:
            model = make().fit(texts, codes, sample_weight=[1.0] * len(train) + [weight] * len(synthetic_texts))
            top = model.predict_top_k([real_texts[i] for i in held], 1)
            scores[weight].append(float(np.mean([p[0] == real_codes[i] for p, i in zip(top, held)])))
    accuracy = {w: float(np.mean(s)) for w, s in scores.items()}
    best = max(weights, key=lambda w: (round(accuracy[w], 12), w))
    return WeightChoice(best, accuracy)


def fit_weight(configured: float | str, kind: str, n_real: int, texts: Sequence[str], codes: Sequence[str],
               make: Callable[[], Classifier], seed: int) -> tuple[float, WeightChoice | None]:
    """The weight of one fit's synthetic notes (the last `len(texts) - n_real` of `texts`): 1 for synthetic-only
    (TSTR) or none, the configured weight, or with "auto" the cross-validated choice (and its scores)."""
    if kind == "tstr" or len(texts) == n_real:
        return 1.0, None
    if configured != AUTO:
        return float(configured), None
    choice = choose_weight(texts[:n_real], codes[:n_real], texts[n_real:], codes[n_real:], make, seed)
    return choice.weight, choice

