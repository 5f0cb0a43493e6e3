"""Turn a benchmark's results.json into its report: results.md (the dataset card's tables, with headings) and PNG
plots.

Everything is read from the results dictionary alone, so a report can be re-made from a stored results.json
without re-running the benchmark.
"""

from __future__ import annotations

from pathlib import Path

from medsyn.dataset_card.benchmark_tables import LABELS, notes, results_table, saved_table, tstr_table
from medsyn.io import atomic_file


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
