"""Turn a benchmark's results.json into what the dataset card shows: Markdown tables (in %) and PNG plots.

Everything is read from the results dictionary alone, so a card can be re-rendered from a stored results.json
without re-running the benchmark.
"""

from __future__ import annotations

from pathlib import Path

from medsyn.io import atomic_file

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


def markdown_report(results: dict) -> str:
    """results.md: the results table, the real notes saved, the per-code TSTR table and what the numbers mean."""
    parts = [results_table(results), notes(results)]
    if results.get("real_notes_saved"):
        parts += ["## Real notes saved\n", saved_table(results)]
    if results.get("tstr_per_code"):
        parts += ["## TSTR per code (train on synthetic, test on real)\n", tstr_table(results)]
    return "\n".join(parts)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_plots(results: dict, folder: Path) -> list[str]:
    """Every plot of the report into `folder`; returns the file names."""
    made = []
    if any(r.get("real_fraction", 1.0) == 1 for r in results["summary"]):
        plot_metric_vs_ratio(results, folder / "metric_vs_ratio.png")
        made.append("metric_vs_ratio.png")
    fractions = {r.get("real_fraction") for r in results["summary"] if r["name"] == "real"}
    if len(fractions) > 1:
        plot_metric_vs_real_fraction(results, folder / "metric_vs_real_fraction.png")
        made.append("metric_vs_real_fraction.png")
    plot_per_code_gain(results, folder / "per_code_gain.png")
    return made + ["per_code_gain.png"]


def _errorbar(ax, xs, stats, **kwargs) -> None:
    means = [100 * s["mean"] for s in stats]
    low = [100 * (s["mean"] - s["ci95"][0]) for s in stats]
    high = [100 * (s["ci95"][1] - s["mean"]) for s in stats]
    ax.errorbar(xs, means, yerr=[low, high], marker="o", capsize=3, **kwargs)


def plot_metric_vs_ratio(results: dict, path: str | Path) -> None:
    """Each metric against the synthetic share of the training set (0 = real only), all real notes, 95% intervals."""
    plt = _pyplot()
    rows = [r for r in results["summary"] if r.get("real_fraction", 1.0) == 1
            and (r["name"] == "real" or r["synthetic_ratio"] is not None)]
    rows.sort(key=lambda r: r["synthetic_ratio"] or 0.0)
    ratios = [r["synthetic_ratio"] or 0.0 for r in rows]
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for metric, label in LABELS.items():
        stats = [r["metrics"][metric] for r in rows]
        if all(s["mean"] is not None for s in stats):
            _errorbar(ax, ratios, stats, label=label)
    ax.set_xlabel("synthetic notes added (share of the real training size)")
    ax.set_ylabel("score, %")
    ax.set_title(f"{rows[0]['classifier']}: real + synthetic, all real notes")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    _save(fig, path)


def plot_metric_vs_real_fraction(results: dict, path: str | Path) -> None:
    """One panel per metric: score against the real fraction, real-only and with synthetic notes (TSTR at 0)."""
    plt = _pyplot()
    names = list(dict.fromkeys(r["name"] for r in results["summary"] if r["name"] != "TSTR"))
    tstr = next((r for r in results["summary"] if r["name"] == "TSTR"), None)
    fig, axes = plt.subplots(1, len(LABELS), figsize=(4.2 * len(LABELS), 4.0), squeeze=False)
    for ax, (metric, label) in zip(axes[0], LABELS.items()):
        for name in names:
            rows = sorted((r for r in results["summary"] if r["name"] == name), key=lambda r: r["real_fraction"])
            stats = [r["metrics"][metric] for r in rows]
            if all(s["mean"] is not None for s in stats):
                _errorbar(ax, [100 * r["real_fraction"] for r in rows], stats, label=name,
                          linestyle="-" if name == "real" else "--")
        if tstr and tstr["metrics"][metric]["mean"] is not None:
            _errorbar(ax, [0.0], [tstr["metrics"][metric]], label="TSTR (no real notes)", color="black")
        ax.set_xlabel("real notes used, % per code")
        ax.set_title(label)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("score, %")
    axes[0][0].legend(fontsize=7)
    _save(fig, path)


def plot_per_code_gain(results: dict, path: str | Path) -> None:
    """Per-code accuracy gain of the largest real+synthetic ratio over real-only against the code's real notes,
    at the smallest and the largest real fraction; rare codes in red."""
    plt = _pyplot()
    per_code = _mean_per_code(results)
    counts = results["train"]["notes_per_code"]
    rare = set(results.get("rare_codes") or [])
    mixed = [r for r in results["summary"] if r["synthetic_ratio"] is not None]
    name = max(mixed, key=lambda r: r["synthetic_ratio"])["name"] if mixed else "upsample"
    fractions = sorted({r.get("real_fraction", 1.0) for r in results["summary"] if r["name"] == "real"})
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for fraction, marker in zip(sorted({fractions[0], fractions[-1]}), ("^", "o")):
        gained, base = per_code.get((name, fraction)), per_code.get(("real", fraction))
        if not gained or not base:
            continue
        # Codes absent from the real training file have no place on a log axis (they are in results.json).
        codes = sorted(c for c in set(gained) & set(base) if counts.get(c, 0) > 0)
        x = [counts[c] for c in codes]
        y = [100 * (gained[c] - base[c]) for c in codes]
        colors = ["tab:red" if c in rare else "tab:blue" for c in codes]
        ax.scatter(x, y, c=colors, marker=marker, alpha=0.6, label=f"{name}, real {100 * fraction:g}% (red: rare)")
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("real training notes of the code (full file)")
    ax.set_ylabel("accuracy gain over real-only, points")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    _save(fig, path)


def _mean_per_code(results: dict) -> dict[tuple, dict[str, float]]:
    sums: dict[tuple, dict[str, list[float]]] = {}
    for entry in results["settings"]:
        key = (entry["name"], entry.get("real_fraction", 1.0))
        for code, acc in entry["per_code_accuracy"].items():
            sums.setdefault(key, {}).setdefault(code, []).append(acc)
    return {name: {c: sum(v) / len(v) for c, v in codes.items()} for name, codes in sums.items()}


def _save(fig, path: str | Path) -> None:
    with atomic_file(path, "wb") as handle:
        fig.savefig(handle, format="png", dpi=120, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
