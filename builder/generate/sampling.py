"""Sampling priors from the knowledge graph, the way MedSyn does it.

A prior is what the LLM is told about one patient: an ICD-10 code, k of its symptoms drawn without replacement with
p = softmax(weight / T), and demographics. Every random number of prior i comes from a counter-based stream keyed
by (seed, i, draw), so prior i is the same whether it is sampled alone, in a batch of 7 or among 100,000; and the
draws are vectorised per code, which keeps sampling fast enough for paper-scale corpora. A code without real notes
draws only labels that belong together, one per concept (`builder/kg/coherence.py` states the rules), walking the
same Gumbel order; codes with real notes draw as they always did, but for list-only labels that name a diagnosis.
Unless the config names its codes, a code without notes that keeps fewer than `coherence.MIN_USABLE` labels is
left out (`PriorSampler.skipped`): one or no attested complaint makes no note a clinician would accept.
"""

from __future__ import annotations

import json
import math
import typing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np

from medsyn.builder.generate.demographics import draw_demographics
from medsyn.builder.kg.coherence import MIN_USABLE, Coherence
from medsyn.builder.kg.evidence import T0
from medsyn.builder.kg.graph import KnowledgeGraph
from medsyn.builder.kg.sources import sha256
from medsyn.builder.text.symptom_concepts import Concept, implied_ages, implied_sex
from medsyn.errors import MedsynError
from medsyn.options import option

CodeStrategy = Literal["uniform", "frequency", "budget", "medsyn"]
CODE_STRATEGIES: tuple[str, ...] = typing.get_args(CodeStrategy)


@dataclass(frozen=True)
class SymptomDraw:
    label: str
    weight: float


@dataclass(frozen=True)
class Prior:
    """One sampled patient. Field names are the JSON-lines schema of `medsyn sample`."""

    id: str
    icd10_code: str
    icd10_name: str
    symptoms: list[SymptomDraw]
    sex: str
    age: int
    marital_status: str
    smoking: bool
    seed: int

    def to_dict(self) -> dict:
        # By hand: `asdict` deep-copies field by field, and a paper-scale build calls this 41,185 times.
        return {"id": self.id, "icd10_code": self.icd10_code, "icd10_name": self.icd10_name,
                "symptoms": [{"label": s.label, "weight": s.weight} for s in self.symptoms], "sex": self.sex,
                "age": self.age, "marital_status": self.marital_status, "smoking": self.smoking, "seed": self.seed}

    @classmethod
    def from_dict(cls, record: dict) -> "Prior":
        fields = dict(record)
        fields["symptoms"] = [SymptomDraw(s["label"], float(s["weight"])) for s in record["symptoms"]]
        return cls(**{key: fields[key] for key in cls.__dataclass_fields__})


def split_codes(items: Sequence[str]) -> list[str]:
    """`--codes M54,J06` as well as `--codes M54 J06` (and a mix of both)."""
    return [code for item in items for code in item.replace(",", " ").split()]


@dataclass(frozen=True)
class SamplingConfig:
    """Which priors are drawn from the knowledge graph: the flags of `medsyn sample` (and of `medsyn build`), and
    what the sampler reads. `codes` restricts the codes (None: every code that has Russian symptoms)."""

    graph: Path | None = option(None, "knowledge graph file (default: the embedded graph)")
    seed: int = option(0, "random seed of priors, prompts and generation")
    codes: list[str] | None = option(None, "restrict to these ICD-10 codes (space or comma separated)")
    code_strategy: CodeStrategy = option(
        "budget", "how codes are picked among all codes with Russian symptoms: uniform, by real-note frequency, "
        "MedSyn's J3(examples) x J3(symptoms) budget, or MedSyn's own code probabilities (medsyn)")
    k_min: int = option(3, "fewest symptoms per prior")
    k_max: int = option(6, "most symptoms per prior")
    # The temperature the graph's evidence weights are made for (`evidence.T0`), so the default draw is theirs.
    symptom_temperature: float = option(T0, "T of the symptom draw p = softmax(weight / T)")
    code_budget: Path | None = option(None, "budget.json of `medsyn budget`: codes drawn in proportion to its notes "
                                      "per code, codes it gives none not drawn (replaces --code-strategy)")

    @property
    def chosen_codes(self) -> tuple[str, ...] | None:
        """The codes asked for, commas split; None when none are (every code with Russian symptoms)."""
        return tuple(split_codes(self.codes)) if self.codes else None

    def validate(self) -> None:
        if self.code_strategy not in CODE_STRATEGIES:
            raise MedsynError(f"code strategy {self.code_strategy!r} unknown; choose one of {', '.join(CODE_STRATEGIES)}")
        if not 1 <= self.k_min <= self.k_max:
            raise MedsynError(f"symptom counts need 1 <= k_min <= k_max, got k_min={self.k_min}, k_max={self.k_max}")
        if not self.symptom_temperature > 0:
            raise MedsynError(f"symptom_temperature must be > 0, got {self.symptom_temperature}")
        if self.graph and not Path(self.graph).is_file():
            raise MedsynError(f"graph file {self.graph} not found")
        if self.code_budget is not None:
            read_code_budget(self.code_budget)


def read_code_budget(path: str | Path) -> dict[str, int]:
    """code -> notes of a `medsyn budget` file (`{"codes": {code: notes}, ...}`); a bad file is one clear error."""
    try:
        codes = json.loads(Path(path).read_text(encoding="utf-8"))["codes"]
        budget = {str(code).strip().upper(): int(n) for code, n in codes.items()}
    except FileNotFoundError:
        raise MedsynError(f"--code-budget {path}: file not found; write one with `medsyn budget --benchmark "
                          "RESULTS_DIR --out budget.json`") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise MedsynError(f"--code-budget {path}: not a budget file ({type(err).__name__}: {err}); expected "
                          '{"codes": {"M54": 120, ...}} as `medsyn budget` writes it') from None
    if any(n < 0 for n in budget.values()) or not any(budget.values()):
        raise MedsynError(f"--code-budget {path}: notes per code must be >= 0, and some code must get notes")
    return budget


def code_budget_record(path: str | Path) -> dict:
    """What build_info.json and results.json say of a budget: the file (name, SHA-256), how much it gives, by which
    rule, and what it was learnt from (`medsyn budget` writes these; a hand-made file has neither, and says so).
    The card shows it, so a reader can tell a budget learnt without the evaluation file from one tuned on it."""
    budget = read_code_budget(path)
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    learnt = data.get("learnt_from") if isinstance(data.get("learnt_from"), dict) else {}
    rule = data.get("rule") if isinstance(data.get("rule"), dict) else {}
    return {"file": Path(path).name, "sha256": sha256(path),
            "codes": sum(n > 0 for n in budget.values()), "left_out": sum(n == 0 for n in budget.values()),
            "notes": sum(budget.values()), "rule": rule.get("about"),
            "learnt_from": {key: Path(str(value)).name if key in ("eval", "train", "corpus") and value else value
                            for key, value in learnt.items()}}


def j3(x: float) -> float:
    """MedSyn's triple log damping: rare and frequent codes end up with similar budgets."""
    return math.log1p(math.log1p(math.log1p(x)))


# -- counter-based random numbers -------------------------------------------------------------------------------
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_STREAM = np.uint64(0xD1B54A32D192ED03)


def _splitmix(x: np.ndarray) -> np.ndarray:
    x = x + _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def uniforms(seed: int, index: np.ndarray, streams: np.ndarray | int) -> np.ndarray:
    """U[0, 1) for every (prior index, draw number) pair; broadcasts like `index[:, None], streams[None, :]`."""
    with np.errstate(over="ignore"):
        key = _splitmix(np.asarray(seed % 2**64, dtype=np.uint64) ^ np.uint64(0x5EED))
        base = _splitmix(key + np.asarray(index, dtype=np.uint64) * _GOLDEN)
        bits = _splitmix(base + np.asarray(streams, dtype=np.uint64) * _STREAM)
    return (bits >> np.uint64(11)).astype(np.float64) * (1.0 / 2**53)


# Draw numbers: 0 code, 1-4 demographics, 5 symptom count, 6.. symptom keys.
_CODE, _DEMO, _K, _SYMPTOMS = 0, 1, 5, 6


class PriorSampler:
    """Draws priors for a graph and config; holds per-code arrays so that each batch is a few numpy calls."""

    def __init__(self, graph: KnowledgeGraph, config: SamplingConfig | None = None):
        self.graph = graph
        self.config = config or SamplingConfig()
        self.config.validate()
        self.codes = self._codes()
        self._labels, self._weights = {}, {}
        # Codes whose draw is restricted (`coherence.py`): label mask, concepts (None: no repeat rule) and the
        # anchor mask (None: no anchors; otherwise every set leads with one of the code's own signs).
        self._coherent: dict[str, tuple[np.ndarray, tuple[Concept, ...] | None, np.ndarray | None]] = {}
        coherence = Coherence(graph)
        self.skipped: tuple[str, ...] = ()  # codes without notes left out of a plan that names no codes
        for code in self.codes:
            links = graph.symptoms(code)
            self._labels[code] = [link.label for link in links]
            self._weights[code] = np.array([link.weight for link in links], dtype=np.float64)
            if graph.node(code[:3]).get("n_notes"):
                # Real notes rule, but a list-only label that names a diagnosis is no complaint (G20 drew
                # "надъядерный паралич прогрессирующий"); masking it keeps every other draw as it was.
                keep = np.array([link.notes > 0 or not coherence.is_diagnosis(link.label) for link in links], dtype=bool)
                if not keep.all():
                    self._coherent[code] = (keep, None, None)
            else:
                candidates = coherence.candidates(code, self._labels[code])
                allowed = np.array(candidates.allowed, dtype=bool)
                if candidates.usable < MIN_USABLE and self.config.chosen_codes is None:
                    self.skipped += (code,)
                if not allowed.any():  # nothing vouched for: the heaviest label that is not a diagnosis, if any
                    first = next((i for i, label in enumerate(self._labels[code])
                                  if not coherence.is_diagnosis(label)), 0)
                    allowed[first] = True
                anchors = np.array(candidates.anchors, dtype=bool) if candidates.anchors else None
                self._coherent[code] = (allowed, candidates.concepts, anchors)
        if len(self.skipped) < len(self.codes):  # too few usable labels for a note of their own (`coherence.py`)
            skipped = set(self.skipped)
            self.codes = [code for code in self.codes if code not in skipped]
        else:
            self.skipped = ()
        if self._budget is not None:  # codes the budget gives no notes are not drawn, even when named
            self.codes = [code for code in self.codes if self._code_weight(code) > 0] or self.codes[:0]
            if not self.codes:
                raise MedsynError(f"--code-budget {self.config.code_budget}: gives none of these codes any notes")
        weights = np.array([self._code_weight(code) for code in self.codes], dtype=np.float64)
        if self.config.code_strategy == "medsyn":  # codes MedSyn gives no probability: its smallest one
            weights[weights <= 0] = weights[weights > 0].min() if (weights > 0).any() else 1.0
        self._cumulative = np.cumsum(weights / weights.sum())
        self._cumulative[-1] = 1.0
        self._nodes = {code: graph.node(code) for code in self.codes}

    def _codes(self) -> list[str]:
        available = set(self.graph.codes_with_symptoms)
        self._budget = read_code_budget(self.config.code_budget) if self.config.code_budget else None
        if self._budget is not None:  # the budget's codes with notes, among those asked for
            available = {c for c in available if self._budget.get(c, 0) > 0}
            if self.config.chosen_codes is None:
                return sorted(available)
        if self.config.chosen_codes is None:
            return sorted(available)
        codes = []
        for raw in self.config.chosen_codes:
            code = self.graph.node(raw)["code"]  # unknown code -> error with close matches
            if code[:3] not in available:
                raise MedsynError(
                    f"ICD-10 code {code} ({self.graph.name(code)}) has no Russian symptoms in the graph, so no prior "
                    f"can be drawn for it; codes with symptoms include {', '.join(sorted(available)[:12])}, ..."
                )
            codes.append(code)
        return sorted(set(codes))

    def _code_weight(self, code: str) -> float:
        """Codes without real notes count as one note, so every strategy draws every code with symptoms."""
        if self._budget is not None:
            return float(self._budget.get(code, self._budget.get(code[:3], 0)))
        n_notes = max(self.graph.node(code[:3]).get("n_notes", 0), 1)
        if self.config.code_strategy == "uniform":
            return 1.0
        if self.config.code_strategy == "frequency":
            return float(n_notes)
        if self.config.code_strategy == "medsyn":  # the paper's `probs`, renormalised over the drawable codes
            return self.graph.medsyn_prob(code)
        return max(j3(n_notes) * j3(len(self._labels[code])), 1e-6)

    def sample(self, n: int, seed: int, start: int = 0, batch_size: int = 8192) -> Iterator[Prior]:
        """Priors start .. start+n-1 of the stream for `seed`, in order."""
        if n < 0:
            raise MedsynError(f"number of priors must be >= 0, got {n}")
        for lo in range(start, start + n, batch_size):
            yield from self._batch(seed, np.arange(lo, min(lo + batch_size, start + n), dtype=np.uint64))

    def _batch(self, seed: int, index: np.ndarray) -> list[Prior]:
        cfg = self.config
        code_ix = np.searchsorted(self._cumulative, uniforms(seed, index, _CODE), side="right")
        demo_u = uniforms(seed, index[:, None], np.arange(_DEMO, _DEMO + 4)[None, :])
        k_u = uniforms(seed, index, _K)
        chosen: list[list[SymptomDraw]] = [[] for _ in index]
        for c in np.unique(code_ix):
            rows = np.flatnonzero(code_ix == c)
            code = self.codes[c]
            weights, labels = self._weights[code], self._labels[code]
            n_sym = len(labels)
            u = uniforms(seed, index[rows, None], np.arange(_SYMPTOMS, _SYMPTOMS + n_sym)[None, :])
            # Gumbel top-k: the k largest of w/T + Gumbel noise are a draw without replacement from softmax(w/T).
            keys = weights[None, :] / cfg.symptom_temperature - np.log(-np.log(np.clip(u, 1e-300, None)))
            order = np.argsort(-keys, axis=1, kind="stable")
            coherent = self._coherent.get(code)
            k_hi = min(cfg.k_max, n_sym if coherent is None else int(coherent[0].sum()))
            k_lo = min(cfg.k_min, k_hi)
            ks = k_lo + np.minimum((k_u[rows] * (k_hi - k_lo + 1)).astype(int), k_hi - k_lo)
            for row, k, ranked in zip(rows, ks, order):
                picked = ranked[:k] if coherent is None else _coherent_pick(ranked, k, *coherent, labels)
                chosen[row] = [SymptomDraw(labels[j], float(weights[j])) for j in picked]
        priors = []
        for row, i in enumerate(index):
            code = self.codes[code_ix[row]]
            node = self._nodes[code]
            age_limits = (node["age_min"], node["age_max"]) if "age_min" in node else None
            # a code of both sexes whose drawn symptoms name one sex's organs is that sex's ("зуд во влагалище")
            sex = node.get("sex") or next(filter(None, (implied_sex(s.label) for s in chosen[row])), None)
            ages = [implied_ages(s.label) for s in chosen[row]]
            if any(a != (0, 200) for a in ages):  # menstruation or the menopause: a woman of that age
                lo, hi = age_limits or (0, 200)
                lo, hi = max([lo] + [a[0] for a in ages]), min([hi] + [a[1] for a in ages])
                age_limits = (lo, hi) if lo <= hi else age_limits
            demo = draw_demographics(tuple(demo_u[row]), sex, age_limits)
            priors.append(
                Prior(
                    id=f"s{seed}-{int(i):07d}",
                    icd10_code=code,
                    icd10_name=node["name"],
                    symptoms=chosen[row],
                    sex=demo.sex,
                    age=demo.age,
                    marital_status=demo.marital_status,
                    smoking=demo.smoking,
                    seed=seed,
                )
            )
        return priors


def _coherent_pick(ranked: np.ndarray, k: int, allowed: np.ndarray, concepts: tuple[Concept, ...] | None,
                   anchors: np.ndarray | None, labels: list[str]) -> list[int]:
    """The first k labels of the Gumbel order that the code may draw, none repeating a concept already picked
    (`coherence.py`, rule 3) nor naming only organs other than those of the first picked label that names one
    (rule 8), an anchor first where the code has anchors (rule 10; the lead complaint, and the site the others
    keep to): the same keys as an unrestricted draw, so the prior's own stream decides, and a draw of
    softmax(w/T) over the allowed labels."""
    if anchors is not None:
        lead = next(j for j in ranked if allowed[j] and anchors[j])
        ranked = np.concatenate(([lead], ranked[ranked != lead]))
    picked: list[int] = []
    site: frozenset[str] = frozenset()
    ages = (0, 200)  # a woman is not both menstruating and past the menopause (`implied_ages`)
    for j in ranked:
        if not allowed[j]:
            continue
        lo, hi = implied_ages(labels[j])
        if max(lo, ages[0]) > min(hi, ages[1]):
            continue
        if concepts is not None:
            if any(concepts[j].repeats(concepts[i]) for i in picked):
                continue
            if site and concepts[j].organs and not concepts[j].organs & site:
                continue
            site = site or concepts[j].organs
        ages = (max(lo, ages[0]), min(hi, ages[1]))
        picked.append(int(j))
        if len(picked) == k:
            break
    return picked


def sample_priors(
    graph: KnowledgeGraph, n: int, seed: int, config: SamplingConfig | None = None, codes: Sequence[str] | None = None
) -> list[Prior]:
    """Convenience for small draws: `n` priors for `seed` (optionally restricted to `codes`)."""
    config = config or SamplingConfig()
    if codes is not None:
        config = replace(config, codes=list(codes))
    return list(PriorSampler(graph, config).sample(n, seed))
