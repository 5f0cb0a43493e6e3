"""ICD-10 code classifiers behind one interface: fit on (text, code) pairs, predict the top-k codes per note.

Two kinds, so the benchmark can ask whether synthetic notes help both a cheap lexical model and a fine-tuned
encoder: character n-gram TF-IDF + logistic regression (RuMedBench's strongest baseline) and any local
`transformers` encoder fine-tuned for sequence classification.
"""

from __future__ import annotations

import inspect
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np
from tqdm.auto import tqdm

from medsyn.errors import MedsynError
from medsyn.training.benchmark.features import NgramCounts

log = logging.getLogger(__name__)

CLASSIFIERS = ("tfidf-lr", "encoder")


class Classifier(Protocol):
    """What the benchmark needs from a classifier."""

    name: str

    def fit(self, texts: Sequence[str], codes: Sequence[str],
            sample_weight: Sequence[float] | None = None) -> "Classifier": ...

    def predict_top_k(self, texts: Sequence[str], k: int = 3) -> list[list[str]]: ...


def top_k_codes(scores: np.ndarray, classes: Sequence[str], k: int) -> list[list[str]]:
    """Codes of the k highest scores per row, best first; ties break towards the alphabetically first code."""
    classes = np.asarray(classes)
    k = min(k, len(classes))
    # A stable sort of the negated scores keeps the class order (sorted codes) among equal scores.
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return classes[order].tolist()


@dataclass
class TfidfLogReg:
    """Character n-gram TF-IDF + one-vs-rest logistic regression trained by SGD with averaging.

    RuMedBench's configuration (char 3-8-grams, C=10, liblinear-style OvR) takes minutes per fit; averaged SGD on
    char 3-6-grams (min_df=3, alpha=2e-5) run to sklearn's stopping tolerance beat it on dev (48.5 accuracy / 71.1
    hit@3, mean of 3 seeds) in seconds, which is what makes 6 settings x 3 seeds affordable on two CPU cores. Tuned
    on RuMedTop3 dev only.

    Two choices keep long LLM notes affordable, as a fit costs non-zeros x codes x epochs and a ~270-word note
    carries ~20x the non-zero n-grams of a real complaint: averaged SGD stops after a fixed `epochs` (5) rather than
    at the loss tolerance (about 12 epochs on RuMedTop3; the averaged weights have settled by then), and n-grams
    stop at 5 characters (a long note has 4,100 distinct 3-5-grams against 5,900 3-6-grams). Real-only dev accuracy
    48.1 / 70.9 against 48.5 / 71.1 before both (mean of 3 seeds; `benchmarks/benchmark_tfidf.py` prints both).
    `epochs=None` runs to the tolerance.

    Given shared `counts` (n-gram counts of every note of a benchmark, computed once), a fit selects its rows and
    derives min_df and the TF-IDF weights from them: the same features as a TfidfVectorizer fitted on the texts.
    """

    seed: int = 0
    analyzer: str = "char"
    ngram_range: tuple[int, int] = (3, 5)
    min_df: int = 3
    alpha: float = 2e-5
    epochs: int | None = 5  # None: sklearn's stopping rule (tol 1e-3, 5 epochs without improvement)
    n_jobs: int | None = -1  # one-vs-rest fits in threads; results do not depend on it
    name: str = "tfidf-lr"
    counts: "NgramCounts | None" = field(default=None, repr=False)
    columns: Any = field(default=None, init=False, repr=False)
    tfidf: Any = field(default=None, init=False, repr=False)
    model: Any = field(default=None, init=False, repr=False)

    def fit(self, texts: Sequence[str], codes: Sequence[str],
            sample_weight: Sequence[float] | None = None) -> "TfidfLogReg":
        """`sample_weight`: each note's weight in the loss (a synthetic note may count less than a real one)."""
        from sklearn.feature_extraction.text import TfidfTransformer
        from sklearn.linear_model import SGDClassifier

        if len(set(codes)) < 2:
            raise MedsynError(f"training data has {len(set(codes))} distinct code(s); a classifier needs at least 2")
        texts = list(texts)
        shared = self.counts is not None and self.counts.counts_as(self.analyzer, self.ngram_range)
        if not shared or not self.counts.covers(texts):
            self.counts = NgramCounts.fit(texts, self.analyzer, tuple(self.ngram_range))
        counts = self.counts.rows(texts)
        # min_df cannot exceed the number of documents of a tiny training set.
        min_df = min(self.min_df, max(1, len(texts) // 2))
        # The columns and weights TfidfVectorizer(min_df, sublinear_tf) would fit on these texts, from shared counts.
        self.columns = np.flatnonzero(np.bincount(counts.indices, minlength=counts.shape[1]) >= min_df)
        self.tfidf = TfidfTransformer(sublinear_tf=True)
        features = self.tfidf.fit_transform(counts[:, self.columns])
        stop = {"max_iter": self.epochs, "tol": None} if self.epochs else {}
        self.model = SGDClassifier(
            loss="log_loss", alpha=self.alpha, average=True, random_state=self.seed, n_jobs=self.n_jobs, **stop
        ).fit(features, list(codes), sample_weight=None if sample_weight is None else np.asarray(sample_weight))
        return self

    @property
    def classes(self) -> list[str]:
        return list(self.model.classes_)

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        counts = self.counts.rows(texts) if self.counts.covers(texts) else self.counts.transform(texts)
        scores = self.model.decision_function(self.tfidf.transform(counts[:, self.columns]))
        if scores.ndim == 1:  # binary problems give one column: the score of the second class
            scores = np.stack([-scores, scores], axis=1)
        return scores

    def predict_top_k(self, texts: Sequence[str], k: int = 3) -> list[list[str]]:
        return top_k_codes(self.scores(texts), self.classes, k)


@dataclass
class EncoderClassifier:
    """A local `transformers` encoder (ruBERT-like) fine-tuned with a classification head.

    A plain loop rather than `Trainer`: the benchmark fits many small models in a row and needs neither
    checkpoints nor logging integrations, only seeded, reproducible fits that run on GPU when there is one.
    """

    model_path: str | Path
    seed: int = 0
    epochs: int = 3
    batch_size: int = 32
    learning_rate: float = 5e-5
    max_length: int = 256
    device: str | None = None
    name: str = "encoder"
    model: Any = field(default=None, init=False, repr=False)
    tokenizer: Any = field(default=None, init=False, repr=False)
    classes: list[str] = field(default_factory=list, init=False)

    def _device(self):
        import torch

        return torch.device(self.device or ("cuda" if torch.cuda.is_available() else "cpu"))

    def _batches(self, texts: Sequence[str], order: Sequence[int]):
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            encoded = self.tokenizer(
                [texts[i] for i in idx], truncation=True, max_length=self.max_length, padding=True,
                return_tensors="pt",
            )
            # Generic tokenizers return token_type_ids that some encoders (DistilBERT, ...) do not accept.
            accepted = inspect.signature(self.model.forward).parameters
            yield idx, {key: value for key, value in encoded.items() if key in accepted}

    def fit(self, texts: Sequence[str], codes: Sequence[str],
            sample_weight: Sequence[float] | None = None) -> "EncoderClassifier":
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup

        path = Path(self.model_path)
        if not (path / "config.json").is_file():
            raise MedsynError(
                f"{path}: no config.json; --encoder must be a local directory saved with `save_pretrained` "
                "(model weights and tokenizer)"
            )
        self.classes = sorted(set(codes))
        if len(self.classes) < 2:
            raise MedsynError(f"training data has {len(self.classes)} distinct code(s); a classifier needs at least 2")
        label = {code: i for i, code in enumerate(self.classes)}
        torch.manual_seed(self.seed)
        device = self._device()
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModelForSequenceClassification.from_pretrained(
            path,
            num_labels=len(self.classes),
            id2label=dict(enumerate(self.classes)),
            label2id=label,
            ignore_mismatched_sizes=True,
        ).to(device)
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token or self.tokenizer.unk_token
        self.model.config.pad_token_id = self.tokenizer.pad_token_id
        texts = list(texts)
        targets = torch.tensor([label[c] for c in codes])
        weights = torch.ones(len(texts)) if sample_weight is None else torch.tensor(list(sample_weight), dtype=torch.float)
        steps = self.epochs * math.ceil(len(texts) / self.batch_size)
        optimizer = torch.optim.AdamW(self.model.parameters(), lr=self.learning_rate, weight_decay=0.01)
        schedule = get_linear_schedule_with_warmup(optimizer, int(0.1 * steps), steps)
        generator = torch.Generator().manual_seed(self.seed)
        autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")
        self.model.train()
        with tqdm(total=steps, desc=f"fine-tune {path.name}", unit="step", leave=False) as bar:
            for _ in range(self.epochs):
                order = torch.randperm(len(texts), generator=generator).tolist()
                for idx, batch in self._batches(texts, order):
                    batch = {key: value.to(device) for key, value in batch.items()}
                    with autocast:
                        logits = self.model(**batch).logits.float()
                    each = torch.nn.functional.cross_entropy(logits, targets[idx].to(device), reduction="none")
                    weight = weights[idx].to(device)
                    loss = (each * weight).sum() / weight.sum()  # weighted mean: plain cross-entropy at weight 1
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
                    optimizer.step()
                    schedule.step()
                    optimizer.zero_grad()
                    bar.update()
                    bar.set_postfix(loss=f"{loss.item():.3f}")
        return self

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        device = self._device()
        texts = list(texts)
        out = np.zeros((len(texts), len(self.classes)), dtype=np.float32)
        self.model.eval()
        autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")
        with torch.inference_mode(), autocast:
            for idx, batch in self._batches(texts, list(range(len(texts)))):
                logits = self.model(**{key: value.to(device) for key, value in batch.items()}).logits
                out[idx] = logits.float().cpu().numpy()
        return out

    def predict_top_k(self, texts: Sequence[str], k: int = 3) -> list[list[str]]:
        return top_k_codes(self.scores(texts), self.classes, k)


def make_classifier(name: str, seed: int, options: dict | None = None) -> Classifier:
    """A fresh, unfitted classifier of kind `name`; `options` are its dataclass fields (e.g. encoder settings)."""
    options = dict(options or {})
    if name == "tfidf-lr":
        return TfidfLogReg(seed=seed, **options)
    if name == "encoder":
        if not options.get("model_path"):
            raise MedsynError("--classifier encoder needs --encoder PATH (a local model directory)")
        return EncoderClassifier(seed=seed, **options)
    raise MedsynError(f"unknown classifier {name!r}; choose one of {', '.join(CLASSIFIERS)}")
