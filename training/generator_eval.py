"""How good is a fine-tuned generator: held-out loss and perplexity, and the builder's own filter scores on a small
sample of notes it writes for held-out prompts. Written as `generator_eval.json` next to the adapter.

The sample goes through the same `TransformersBackend` and `filters.score_note` as a corpus build, so the numbers
predict what `medsyn build --adapter` will keep: symptom recall (does the note use the prompt's symptoms), leakage
(does it name the diagnosis), copying of the style example, and, as a memorisation check, copying of the real note
the prompt was made from (it is held out, so a high value means the model recites training-like text).
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path
from typing import Any

from medsyn.builder.generate.backends import Request, SamplingParams
from medsyn.builder.generate.backends.transformers import TransformersBackend
from medsyn.builder.quality import filters

EVAL_FILE = "generator_eval.json"


def _mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 4) if values else None


def sample_scores(base_model: str, adapter: str | Path | None, records, n_samples: int, seed: int = 0,
                  max_new_tokens: int = 256, batch_size: int = 8) -> dict[str, Any]:
    """Generate one note for each of the first `n_samples` records and summarise the filter scores."""
    rows = [records[i] for i in range(min(n_samples, len(records)))]
    if not rows:
        return {"n": 0}
    backend = TransformersBackend(base_model, adapter=str(adapter) if adapter else None, batch_size=batch_size)
    params = SamplingParams(max_new_tokens=max_new_tokens)
    requests = [Request(key=str(i), messages=row["prompt"], seed=seed + i, params=params) for i, row in enumerate(rows)]
    try:
        results = {result.key: result for result in backend.generate(requests)}
    finally:
        backend.close()
    examples = _example_texts(rows)
    scored = []
    scorer = filters.SymptomScorer()
    for i, row in enumerate(rows):
        result = results.get(str(i))
        if result is None or not result.ok:
            continue
        scores = filters.score_note(result.text, list(row["symptoms"]), row["icd10_code"], row["icd10_name"],
                                    examples.get(i), scorer)
        reference = "".join(m["content"] for m in row["completion"])
        ref_overlap, ref_longest = filters.example_copying(filters.words(result.text), reference)
        scored.append((scores, ref_overlap, ref_longest, filters.reject_reasons(scores, filters.FilterConfig())))
    return {
        "n": len(rows),
        "generated": len(scored),
        "symptom_recall": _mean([s.symptom_recall for s, *_ in scored]),
        "leakage_rate": _mean([float(s.leakage) for s, *_ in scored]),
        "example_overlap": _mean([s.example_overlap for s, *_ in scored if s.example_overlap is not None]),
        "example_longest_ngram_max": max((s.example_longest_ngram for s, *_ in scored), default=None),
        "reference_overlap": _mean([o for _, o, _, _ in scored if o is not None]),
        "reference_longest_ngram_max": max((n for _, _, n, _ in scored), default=None),
        "cyrillic_share": _mean([s.cyrillic_share for s, *_ in scored]),
        "n_words": _mean([float(s.n_words) for s, *_ in scored]),
        "kept_share": _mean([float(not reasons) for *_, reasons in scored]),
        "seed": seed,
        "max_new_tokens": max_new_tokens,
    }


def _example_texts(rows: list[dict]) -> dict[int, str]:
    """The style example quoted in an `example` prompt, as the copying score compares against it."""
    texts = {}
    for i, row in enumerate(rows):
        if row.get("example_id"):
            user = next(m["content"] for m in row["prompt"] if m["role"] == "user")
            if "«" in user and "»" in user:
                texts[i] = user.split("«", 1)[1].rsplit("»", 1)[0]
    return texts


def evaluate_generator(base_model: str, adapter: str | Path, records, eval_loss: float | None, n_samples: int = 16,
                       seed: int = 0, max_new_tokens: int = 256) -> dict[str, Any]:
    """Held-out loss/perplexity plus the sample's scores; written to ADAPTER/generator_eval.json and returned."""
    evaluation = {
        "heldout_loss": eval_loss,
        "heldout_perplexity": (math.exp(eval_loss) if eval_loss < 50 else float("inf")) if eval_loss is not None else None,
        "sample": sample_scores(base_model, adapter, records, n_samples, seed, max_new_tokens) if n_samples else {"n": 0},
    }
    Path(adapter, EVAL_FILE).write_text(json.dumps(evaluation, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return evaluation
