"""A code budget learnt from measured gains: how many synthetic notes each code gets, from a benchmark's per-code
accuracies.

MedSyn's budget (J3 of examples x J3 of symptoms) and the `frequency` strategy spend notes evenly on codes where
synthetic notes help and where they hurt. A benchmark run says which is which, code by code: the accuracy of
real + synthetic against real-only, and of synthetic-only (TSTR) against real-only, at the largest real fraction.
The rule (`code_budget`):

- a code helps when real + synthetic beats real-only on it, or ties and TSTR is at least real-only (the corpus
  describes the code as well as its real notes do); it hurts when real + synthetic loses to real-only, or ties and
  TSTR is below it; a code the run could not score (no evaluation note) is unknown;
- notes: `HELPS` x its real-note count where it helps, `UNKNOWN` x where unknown, none where it hurts, so codes with
  few real notes get few synthetic ones (a code's real notes set how much a classifier can check them against).

Per-code accuracies on a few evaluation notes are noisy: learn the budget on notes the final report does not use
(a benchmark whose --eval is a held-out part of the training notes), then report on dev. The budget records the
results it was learnt from (evaluation file, corpus fingerprint), so `medsyn budget` refuses nothing but says
where it came from.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from medsyn.errors import MedsynError

HELPS, UNKNOWN = 1.0, 0.5  # synthetic notes per real note of a code that helps / could not be scored
FORMAT = "medsyn-code-budget"


def _mean_per_code(settings: list[dict], name: str, fraction: float | None) -> dict[str, float]:
    sums: dict[str, list[float]] = defaultdict(list)
    for entry in settings:
        if entry["name"] == name and (fraction is None or entry["real_fraction"] == fraction):
            for code, acc in entry["per_code_accuracy"].items():
                sums[code].append(acc)
    return {code: float(np.mean(v)) for code, v in sums.items()}


def mixed_setting(results: dict, fraction: float) -> str:
    """The real + synthetic setting that added the most synthetic notes at `fraction` (the clearest per-code
    signal); an error when the run had none."""
    rows = [r for r in results["summary"] if r["real_fraction"] == fraction and r["synthetic_ratio"] is not None]
    if not rows:
        raise MedsynError("the benchmark has no real+synthetic setting at its largest real fraction; run it with "
                          "--ratios (e.g. 1)")
    return max(rows, key=lambda r: (r["n_train_synthetic"], r["synthetic_ratio"]))["name"]


def code_budget(results: dict) -> dict:
    """The budget (`{"format", "codes": {code: notes}, "per_code": [...], "rule", "learnt_from"}`) of one run."""
    settings = results["settings"]
    fraction = max(e["real_fraction"] for e in settings if e["name"] == "real")
    mixed = mixed_setting(results, fraction)
    real = _mean_per_code(settings, "real", fraction)
    mix = _mean_per_code(settings, mixed, fraction)
    tstr = _mean_per_code(settings, "TSTR", None)
    counts = results["train"]["notes_per_code"]
    rows, codes = [], {}
    for code in sorted(counts):
        gain = mix[code] - real[code] if code in real and code in mix else None
        gap = tstr[code] - real[code] if code in real and code in tstr else None
        if gain is None:
            verdict, share = "unknown", UNKNOWN
        elif gain > 0 or (gain == 0 and gap is not None and gap >= 0):
            verdict, share = "helps", HELPS
        else:
            verdict, share = "hurts", 0.0
        codes[code] = int(round(share * counts[code]))
        rows.append({"code": code, "n_train_real": counts[code], "mixed_gain": gain, "tstr_minus_real": gap,
                     "verdict": verdict, "notes": codes[code]})
    source = results.get("synthetic_source", {})
    return {
        "format": FORMAT,
        "codes": codes,
        "n_notes": sum(codes.values()),
        "per_code": rows,
        "rule": {"helps": HELPS, "unknown": UNKNOWN, "hurts": 0.0, "mixed_setting": mixed, "real_fraction": fraction,
                 "about": "notes = share x real notes of the code; helps: real+synthetic above real-only, or equal "
                          "with TSTR >= real-only; hurts: below, or equal with TSTR below"},
        "learnt_from": {"eval": results["eval"]["path"], "train": results["train"]["path"],
                        "corpus_fingerprint": source.get("fingerprint"), "corpus": source.get("path"),
                        "seeds": results["config"].get("seeds")},
    }


def budget_from_results(folder: str | Path) -> dict:
    path = Path(folder) / "results.json"
    if not path.is_file():
        raise MedsynError(f"{folder}: no results.json; give a folder `medsyn benchmark --out` wrote")
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
        return code_budget(results)
    except (ValueError, KeyError, TypeError) as err:
        raise MedsynError(f"{path}: not a benchmark results file ({type(err).__name__}: {err}); rerun "
                          "`medsyn benchmark`") from None
