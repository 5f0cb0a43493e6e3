"""The Markdown tables of a benchmark's results.json (scores in %, with their intervals), as the dataset card shows
them.

The card renders them from the results.json it reads (the benchmark's folder, or the copy under the corpus's
assets), so it never runs or imports benchmark code; the benchmark's results.md is made of the same tables, so the
two show the same numbers.
"""

from __future__ import annotations

from pathlib import Path

LABELS = {"accuracy": "Accuracy", "hit@3": "Hit@3", "macro_f1": "Macro-F1", "hard_codes_accuracy": "Hard codes acc.",
          "rare_codes_accuracy": "Rare codes acc."}
DIFFS = {"accuracy": "Δ accuracy", "hard_codes_accuracy": "Δ hard codes", "rare_codes_accuracy": "Δ rare codes"}


def pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def cell(stat: dict | None) -> str:
    """A score in % with its 95% interval: `48.5 [45.1, 51.8]`."""
    if not stat or stat.get("mean") is None:
        return "–"
    low, high = stat["ci95"]
    return f"{pct(stat['mean'])} [{pct(low)}, {pct(high)}]"


def diff_cell(stat: dict | None) -> str:
    """A paired difference to real-only in percentage points with its 95% interval: `+1.2 [-0.4, +2.9]`."""
    diff = (stat or {}).get("diff_to_real")
    if not diff or diff["mean"] is None:
        return "–"
    low, high = diff["ci95"]
    return f"{100 * diff['mean']:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}]"


def fraction_label(row: dict) -> str:
    return "0 (TSTR)" if row["name"] == "TSTR" else f"{100 * row.get('real_fraction', 1.0):g}%"


def _sources(source: dict) -> str:
    parts = []
    for column in ("backend", "generation_model"):
        if source.get(column):
            parts.append(f"{column} " + ", ".join(f"`{k}` ({v})" for k, v in source[column].items()))
    return "; ".join(parts) or "not recorded"


def _sizes(results: dict) -> dict[tuple, tuple[int, int]]:
    sizes: dict[tuple, tuple[int, int]] = {}
    for entry in results["settings"]:
        key = (entry["name"], entry.get("real_fraction", 1.0))
        real, synthetic = sizes.get(key, (0, 0))
        sizes[key] = (max(real, entry["n_train_real"]), max(synthetic, entry["n_train_synthetic"]))
    return sizes


def results_table(results: dict) -> str:
    """Mean over seeds [95% interval] per setting and real fraction, and the paired differences to real-only."""
    header = ["Setting", "Real fraction", "Real", "Synthetic"] + list(LABELS.values()) + list(DIFFS.values())
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * 2 + "---:|" * (len(header) - 2)]
    sizes = _sizes(results)
    for row in results["summary"]:
        m = row["metrics"]
        real, synthetic = sizes[(row["name"], row.get("real_fraction", 1.0))]
        cells = [f"`{row['name']}`", fraction_label(row), str(int(real)), str(int(synthetic))]
        cells += [cell(m.get(k)) for k in LABELS] + [diff_cell(m.get(k)) for k in DIFFS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def saved_table(results: dict) -> str:
    """Real notes a real+synthetic setting is worth: the real-only fraction its accuracy matches, interpolated."""
    saved = results.get("real_notes_saved") or {}
    if not saved:
        return ""
    n_real = results["train"]["n_notes"]
    lines = ["| Setting | Real fraction | Accuracy | Matches real-only at | Real notes saved |", "|---|---:|---:|---:|---:|"]
    for name, rows in saved.items():
        for r in rows:
            if r["matched_real_fraction"] is None:
                match, notes = "below real-only", "0"
            elif r["at_least"] and r["real_notes_saved"] == 0:  # at the largest fraction: nothing to compare with
                match, notes = f"above real-only at {100 * r['real_fraction']:g}%", "– (beyond the fractions run)"
            else:
                sign = "≥ " if r["at_least"] else ""
                match = f"{sign}{100 * r['matched_real_fraction']:.1f}%"
                notes = f"{sign}{r['real_notes_saved']} ({100 * r['real_notes_saved'] / n_real:.1f}% of the file)"
            lines.append(f"| `{name}` | {100 * r['real_fraction']:g}% | {pct(r['score'])} | {match} | {notes} |")
    return "\n".join(lines) + "\n"


def tstr_table(results: dict, limit: int | None = None) -> str:
    """Per-code TSTR accuracy (train on synthetic, test on real) beside real-only: what the corpus describes well."""
    rows = results.get("tstr_per_code") or []
    if limit is not None and len(rows) > limit:
        rows = rows[: limit // 2] + rows[-(limit - limit // 2):]
    lines = ["| Code | Eval notes | Real train notes | Synthetic notes | TSTR accuracy | Real-only accuracy |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['code']} | {r['n_eval']} | {r['n_train_real']} | {r['n_synthetic']} | "
                     f"{pct(r['tstr_accuracy'])} | {pct(r['real_accuracy'])} |")
    return "\n".join(lines) + "\n"


def notes(results: dict) -> str:
    first = results["summary"][0]
    unseen = results["eval"]["unseen_codes"]
    source = results["synthetic_source"]
    rare = results.get("rare_codes") or []
    rare_sel = results.get("rare_codes_selection") or {}
    dropped = (source.get("unseen_codes") or {})
    lines = [
        f"Classifier `{first['classifier']}`, {first['n_seeds']} seed(s); evaluated on "
        f"`{Path(results['eval']['path']).name}` ({results['eval']['n_notes']} notes). Scores in %: mean over seeds "
        f"[{results.get('intervals', '95% bootstrap interval over evaluation notes')}]; Δ: paired difference to "
        "`real` at the same real fraction (TSTR: to `real` at the largest), in points. Real fraction: share of "
        "each code's real training notes (at least one per code); synthetic notes added are shares of the full "
        "real training size, the same notes at every fraction.",
        f"Hard codes ({len(results['hard_codes'])}, chosen on {results['hard_codes_selection']['chosen_on']}): "
        + ", ".join(results["hard_codes"]) + ".",
    ]
    if rare:
        lines.append(f"Rare codes ({len(rare)}: at most {rare_sel.get('max_real_notes')} real training notes, the "
                     f"{rare_sel.get('quantile', 0.25):g} quantile of per-code counts): " + ", ".join(rare) + ".")
    lines.append(f"Synthetic notes: {source['n_notes']} over {source['n_codes']} codes; {_sources(source)}.")
    lines += provenance(results)
    lines += shortfall(results.get("synthetic_use") or {})
    if dropped.get("n_notes"):
        verb = "dropped" if dropped.get("dropped") else "kept (--keep-unseen-codes)"
        lines.append(f"{dropped['n_notes']} synthetic notes of {dropped['n_codes']} code(s) absent from the real "
                     f"training file were {verb}.")
    if unseen["n_notes"]:
        lines.append(f"{unseen['n_notes']} evaluation notes have {unseen['n_codes']} code(s) absent from the real "
                     f"training file: {', '.join(unseen['codes'])}.")
    return "\n\n".join(lines) + "\n"


def shortfall(use: dict) -> list[str]:
    """What a corpus smaller than the settings asked for changed: who used all of it, and who was not run."""
    n = use.get("n_notes")
    short = [u for u in (use.get("settings") or []) + (use.get("left_out") or []) if u["requested"] > u["used"]]
    lines = []
    if short:
        lines.append(f"The synthetic corpus has {n} notes, fewer than "
                     + ", ".join(f"`{u['name']}` ({u['requested']})" for u in short)
                     + f" asked for: each of these trained on all {n}.")
    for x in use.get("left_out") or []:
        lines.append(f"`{x['name']}` was not run: it would have trained on the same notes as `{x['same_as']}` "
                     f"({x['used']} synthetic notes).")
    return lines


def provenance(results: dict) -> list[str]:
    """Where the synthetic notes' evidence comes from: generators learnt per fraction, a budget and what it was
    learnt on, the weight of a synthetic note; and which differences hold. A reader needs these to tell a gain a
    clinic with that many notes would get from one its generator or budget owes to notes it was not given."""
    source, config = results["synthetic_source"], results.get("config") or {}
    lines = []
    generated = source.get("generated") or []
    if generated:
        learnt = {}
        for g in generated:
            counts = [s.get("count") for s in g.get("generator_notes") or [] if s.get("count")]
            learnt.setdefault(g["real_fraction"], sum(counts))
        lines.append(
            f"The benchmark generated the synthetic notes itself ({len(generated)} corpora, one per real fraction "
            "and seed; fingerprints in results.json): each corpus's generator learnt only from the real notes its "
            "classifier was given (" + ", ".join(f"{n} at {100 * f:g}%" for f, n in sorted(learnt.items()))
            + "), plus the knowledge-only sources; the TSTR rows use the largest fraction's corpus.")
    budget = source.get("code_budget")
    if budget:
        learnt = budget.get("learnt_from") or {}
        line = (f"A code budget (`{budget.get('file') or Path(str(budget.get('path'))).name}`"
                + (f", SHA-256 `{budget['sha256'][:16]}…`" if budget.get("sha256") else "")
                + f") kept {budget['n_after']} of the {budget['n_before']} synthetic notes")
        if budget.get("codes") is not None:
            line += f", of {budget['codes']} codes ({budget['left_out']} codes left without any)"
        if learnt.get("eval"):
            line += (f"; it was learnt from a benchmark on `{learnt.get('train')}` evaluated on `{learnt['eval']}`"
                     + (" (the file these results report on, so the budget is tuned on it)"
                        if learnt["eval"] == Path(str(results["eval"]["path"])).name else ""))
        else:
            line += "; the file does not say what it was learnt from"
        lines.append(line + ".")
    weight = config.get("synthetic_weight")
    if weight == "auto":
        chosen: dict[tuple, list[float]] = {}
        for entry in results["settings"]:
            if "weight_cv_accuracy" in entry:
                chosen.setdefault((entry["name"], entry["real_fraction"]), []).append(entry["synthetic_weight"])
        lines.append("Each fit's synthetic notes weigh what 3-fold cross-validation on that fit's own real notes "
                     "chose (a real note weighs 1; TSTR unweighted; the evaluation file is not read): "
                     + "; ".join(f"`{name}` at {100 * fraction:g}%: " + ", ".join(f"{w:g}" for w in weights)
                                 for (name, fraction), weights in chosen.items()) + " (one per seed).")
    elif weight not in (None, 1, 1.0):
        lines.append(f"Each synthetic note weighs {weight:g} in the classifier's fit (a real note 1; TSTR unweighted).")
    lines.append(holds(results))
    return lines


def holds(results: dict) -> str:
    """The accuracy differences to real-only whose interval excludes 0, each way; the rest are not shown to hold."""
    above, below = [], []
    for row in results["summary"]:
        diff = (row["metrics"].get("accuracy") or {}).get("diff_to_real")
        if row["name"] in ("real", "TSTR") or not diff or diff.get("mean") is None:
            continue
        label = f"`{row['name']}` at {fraction_label(row)} ({diff_cell(row['metrics']['accuracy'])})"
        if diff["ci95"][0] > 0:
            above.append(label)
        elif diff["ci95"][1] < 0:
            below.append(label)
    return ("What holds (accuracy, interval excluding 0): above real-only: " + (", ".join(above) or "none")
            + "; below real-only: " + (", ".join(below) or "none") + "; every other difference's interval includes 0.")
