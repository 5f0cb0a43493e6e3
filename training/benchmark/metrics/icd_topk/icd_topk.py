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

from .topk_scores import weighted_scores

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
