"""Does a corpus remember its generator's real notes? Figures read against a holdout of real notes never used.

- DCR: each synthetic note's distance to the closest training note, and to the closest holdout note. A generator
  that learnt the population and not the patients writes notes no closer to the notes it saw than to others like
  them. SDMetrics' DCR overfitting protection asks for the share of synthetic notes closer to the training set than
  to the holdout: about half means no memorisation. The training set is subsampled to the holdout's size first
  (a set twice as large has closer neighbours by chance alone); ties count half.
- Membership inference (distance-based): an attacker who holds a real note guesses it was a training note when some
  synthetic note lies close to it. The AUC of that guess over training notes (members) against holdout notes
  (non-members), both of the same size, is 0.5 when the corpus gives nothing away and 1.0 when it gives away
  every member.
Both with 95% percentile bootstrap intervals, seeded. The share's resamples draw the synthetic notes *and* the
real ones (training subsample and holdout): with 41,185 synthetic notes the real notes are most of the
uncertainty (two draws of 538 holdout notes gave 0.53 and 0.60 for one template corpus, where resampling the
synthetic notes alone gave intervals 0.01 wide). A resample's closest real note is the nearest of the note's
`NEIGHBOURS` closest that the resample drew (all 20 left out: p = e^-20). The vectors are those of `real_notes`,
with IDF fitted on training and holdout notes together, so that neither side is favoured.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from medsyn.builder.quality.real_notes import nearest, nearest_k, vectorizer

NEIGHBOURS = 20


def _interval(values: np.ndarray) -> list[float]:
    return [round(float(np.percentile(values, 2.5)), 4), round(float(np.percentile(values, 97.5)), 4)]


def distribution(distances: np.ndarray) -> dict:
    """Percentiles and mean of a set of distances (what the card and audit.json show)."""
    if not len(distances):
        return {}
    points = {f"p{p}": round(float(np.percentile(distances, p)), 4) for p in (1, 5, 25, 50)}
    return {"n": int(len(distances)), "mean": round(float(distances.mean()), 4), **points,
            "min": round(float(distances.min()), 4)}  # fmt: skip


def auc(members: np.ndarray, others: np.ndarray) -> float:
    """P(a member's score > a non-member's), ties half: the Mann-Whitney AUC, by ranks."""
    from scipy.stats import rankdata

    ranks = rankdata(np.concatenate([members, others]))
    return float((ranks[: len(members)].sum() - len(members) * (len(members) + 1) / 2) / (len(members) * len(others)))


def _first_drawn(rows: np.ndarray, distances: np.ndarray, drawn: np.ndarray) -> np.ndarray:
    """Each row's distance to its nearest neighbour among the real notes a resample drew (`drawn` > 0)."""
    mask = drawn[rows] > 0
    first = mask.argmax(axis=1)
    found = distances[np.arange(len(rows)), first]
    none = ~mask.any(axis=1)
    found[none] = distances[none, -1]
    return found


def holdout_figures(synthetic: Sequence[str], train: Sequence[str], holdout: Sequence[str], seed: int = 0,
                    resamples: int = 400) -> dict:
    """The DCR against training and holdout notes, the share of synthetic notes closer to the training notes, and
    the membership-inference AUC, with bootstrap intervals."""
    rng = np.random.default_rng(seed)
    size = min(len(train), len(holdout))
    train_sample = rng.choice(len(train), size, replace=False) if len(train) > size else np.arange(len(train))
    holdout_sample = rng.choice(len(holdout), size, replace=False) if len(holdout) > size else np.arange(len(holdout))
    fitted = vectorizer(len(train) + len(holdout)).fit([*train, *holdout])
    s = fitted.transform(synthetic)
    t = fitted.transform([train[i] for i in train_sample])
    h = fitted.transform([holdout[i] for i in holdout_sample])
    t_rows, t_distances = nearest_k(s, t, NEIGHBOURS)
    h_rows, h_distances = nearest_k(s, h, NEIGHBOURS)
    to_train, to_holdout = t_distances[:, 0], h_distances[:, 0]
    closer = (to_train < to_holdout) + 0.5 * (to_train == to_holdout)
    share_draws = np.empty(resamples)
    for r in range(resamples):
        pick = rng.integers(0, len(closer), len(closer))
        d_train = _first_drawn(t_rows[pick], t_distances[pick], np.bincount(rng.integers(0, size, size), minlength=size))
        d_holdout = _first_drawn(h_rows[pick], h_distances[pick],
                                 np.bincount(rng.integers(0, size, size), minlength=size))
        share_draws[r] = ((d_train < d_holdout) + 0.5 * (d_train == d_holdout)).mean()
    # membership: a real note's distance to the closest synthetic note (closer = more likely a member)
    _, member = nearest(t, s)
    _, non_member = nearest(h, s)
    auc_draws = np.array([auc(-member[rng.integers(0, size, size)], -non_member[rng.integers(0, size, size)])
                          for _ in range(resamples)])  # fmt: skip
    return {
        "train_subsample": int(size),
        "holdout": int(len(holdout_sample)),
        "dcr_train": distribution(to_train),
        "dcr_holdout": distribution(to_holdout),
        "closer_to_train": {"share": round(float(closer.mean()), 4), "ci95": _interval(share_draws),
                            "expected_without_memorisation": 0.5},  # fmt: skip
        "membership_auc": {"auc": round(auc(-member, -non_member), 4), "ci95": _interval(auc_draws),
                           "expected_without_memorisation": 0.5},  # fmt: skip
    }
