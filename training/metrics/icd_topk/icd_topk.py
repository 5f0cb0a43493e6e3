"""ICD-10 top-k classification metric: the scores the benchmark reports, loadable offline by path.

Shipped as an `evaluate` module so anyone can score a RuMedBench-format prediction file exactly as the dataset card
does: `evaluate.load("<repo>/training/metrics/icd_topk/icd_topk.py").compute(predictions=[[top-k codes]...],
references=[gold code...])`. Accuracy and hit@k follow RuMedBench's own `eval.py`: top-1 equal to the gold code,
and the gold code among the first k predictions.
"""

from __future__ import annotations

from collections import defaultdict

import datasets
import evaluate

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
    >>> metric = evaluate.load("training/metrics/icd_topk/icd_topk.py")
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


def top1(prediction: list[str]) -> str | None:
    return prediction[0] if prediction else None


def macro_f1(top: list[str | None], references: list[str]) -> float:
    """Macro-F1 of the top-1 code over the codes present in `references` (a code never predicted scores 0).

    Averaging over the gold codes only keeps a classifier with extra classes (synthetic-only codes) comparable
    with one without them.
    """
    from sklearn.metrics import f1_score

    labels = sorted(set(references))
    if not labels:
        return 0.0
    predicted = ["" if t is None else t for t in top]
    return float(f1_score(references, predicted, labels=labels, average="macro", zero_division=0))


def _subset_accuracy(correct: list[bool], references: list[str], codes) -> float | None:
    members = set(codes or ())
    chosen = [ok for ok, ref in zip(correct, references) if ref in members]
    return sum(chosen) / len(chosen) if chosen else None


def score(predictions: list[list[str]], references: list[str], k: int = 3, hard_codes=None, rare_codes=None) -> dict:
    """The metric's computation as a plain function (the benchmark's bootstrap is checked against it)."""
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
    n = len(references)
    top = [top1(list(p)) for p in predictions]
    correct = [t == r for t, r in zip(top, references)]
    hits = [r in list(p)[:k] for p, r in zip(predictions, references)]
    by_code: dict[str, list[bool]] = defaultdict(list)
    for ok, ref in zip(correct, references):
        by_code[ref].append(ok)
    return {
        "accuracy": sum(correct) / n if n else 0.0,
        f"hit@{k}": sum(hits) / n if n else 0.0,
        "macro_f1": macro_f1(top, references),
        "hard_codes_accuracy": _subset_accuracy(correct, references, hard_codes),
        "rare_codes_accuracy": _subset_accuracy(correct, references, rare_codes),
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
