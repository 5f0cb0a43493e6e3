"""ICD-10 top-k classification metric: the scores the benchmark reports, loadable offline by path.

Shipped as an `evaluate` module so anyone can score a RuMedBench-format prediction file exactly as the dataset card
does: `evaluate.load("<repo>/training/benchmark/metrics/icd_topk/icd_topk.py").compute(predictions=[[top-k codes]...],
references=[gold code...])`. Accuracy and hit@k follow RuMedBench's own `eval.py`: top-1 equal to the gold code,
and the gold code among the first k predictions.
"""

from __future__ import annotations

from collections import defaultdict

import datasets
import evaluate
import numpy as np

_DESCRIPTION = """
Top-k ICD-10 code classification scores. `predictions` holds, per note, the predicted codes best first; `references`
the gold code. Returns accuracy (top-1), hit@k, macro-F1 of the top-1 code over the codes present in `references`,
per-code accuracy, and the accuracy on the notes whose gold code is in `hard_codes` (None when none are) or in
`rare_codes` (likewise).
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (list of list of str): predicted codes per note, best first (an empty list counts as wrong).
    references (list of str): the gold code per note.
    k (int): the cut-off of hit@k (default 3).
    hard_codes (list of str, optional): codes whose notes form the "hard codes" subset.
    rare_codes (list of str, optional): codes whose notes form the "rare codes" subset.
Returns:
    accuracy, hit@k, macro_f1, hard_codes_accuracy and rare_codes_accuracy (float or None), per_code_accuracy
    (dict code -> float), n.
Examples:
    >>> metric = evaluate.load("training/benchmark/metrics/icd_topk/icd_topk.py")
    >>> metric.compute(predictions=[["M54", "G44", "J06"]], references=["G44"])["hit@3"]
    1.0
"""

_CITATION = """
@misc{blinov2022rumedbench,
  title={RuMedBench: A Russian Medical Language Understanding Benchmark},
  author={Blinov, Pavel and Reshetnikova, Arina and Nesterov, Aleksandr and Zubkova, Galina and Kokh, Vladimir},
  year={2022}, eprint={2201.06499}, archivePrefix={arXiv}
}
"""


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


def score(predictions: list[list[str]], references: list[str], k: int = 3, hard_codes=None, rare_codes=None) -> dict:
    """The metric for one set of predictions (`weighted_scores` with every note counted once)."""
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
    n = len(references)
    if n == 0:
        return {"accuracy": 0.0, f"hit@{k}": 0.0, "macro_f1": 0.0, "hard_codes_accuracy": None,
                "rare_codes_accuracy": None, "per_code_accuracy": {}, "n": 0}
    values = {key: float(v[0]) for key, v in weighted_scores(np.ones((1, n)), predictions, references,
                                                             hard_codes, k, rare_codes).items()}
    by_code: dict[str, list[bool]] = defaultdict(list)
    for p, ref in zip(predictions, references):
        by_code[ref].append(bool(p) and p[0] == ref)
    for metric in ("hard_codes_accuracy", "rare_codes_accuracy"):
        if np.isnan(values[metric]):
            values[metric] = None
    return {
        **values,
        "per_code_accuracy": {code: sum(v) / len(v) for code, v in sorted(by_code.items())},
        "n": n,
    }


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class IcdTopk(evaluate.Metric):
    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Sequence(datasets.Value("string")), "references": datasets.Value("string")}
            ),
            reference_urls=["https://github.com/sb-ai-lab/MedBench"],
        )

    def _compute(self, predictions, references, k: int = 3, hard_codes=None, rare_codes=None) -> dict:
        return score([list(p) for p in predictions], list(references), k=k, hard_codes=hard_codes,
                     rare_codes=rare_codes)
