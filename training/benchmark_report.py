"""Turn a benchmark's results.json into what the dataset card shows: a Markdown table and two PNG plots.

Everything is read from the results dictionary alone, so a card can be re-rendered from a stored results.json
without re-running the benchmark.
"""

from __future__ import annotations

from pathlib import Path

from medsyn.io import atomic_file

LABELS = {"accuracy": "Accuracy", "hit@3": "Hit@3", "macro_f1": "Macro-F1", "hard_codes_accuracy": "Hard codes acc."}


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def _cell(stat: dict) -> str:
    low, high = stat["ci95"]
    if stat["mean"] is None:
        return "–"
    return f"{_pct(stat['mean'])} [{_pct(low)}, {_pct(high)}]"


def _diff(stat: dict) -> str:
    diff = stat.get("diff_to_real")
    if not diff or diff["mean"] is None:
        return "–"
    low, high = diff["ci95"]
    return f"{100 * diff['mean']:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}]" if low is not None else "–"


def _sources(source: dict) -> str:
    parts = []
    for column in ("backend", "generation_model"):
        if source.get(column):
            parts.append(f"{column} " + ", ".join(f"`{k}` ({v})" for k, v in source[column].items()))
    return "; ".join(parts) or "not recorded"


def markdown_table(results: dict) -> str:
    """The card's results table: mean over seeds [95% bootstrap CI], and the paired difference to real-only."""
    metrics = list(LABELS)
    header = ["Setting", "Real", "Synthetic"] + [LABELS[m] for m in metrics] + ["Δ accuracy", "Δ hard codes"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    sizes: dict[str, tuple[float, float]] = {}
    for entry in results["settings"]:
        real, synthetic = sizes.get(entry["name"], (0, 0))
        sizes[entry["name"]] = (max(real, entry["n_train_real"]), max(synthetic, entry["n_train_synthetic"]))
    for row in results["summary"]:
        m = row["metrics"]
        real, synthetic = sizes[row["name"]]
        cells = [f"`{row['name']}`", str(int(real)), str(int(synthetic))] + [_cell(m[k]) for k in metrics]
        cells += [_diff(m["accuracy"]), _diff(m["hard_codes_accuracy"])]
        lines.append("| " + " | ".join(cells) + " |")
    first = results["summary"][0]
    unseen = results["eval"]["unseen_codes"]
    notes = [
        "",
        f"Classifier `{first['classifier']}`, {first['n_seeds']} seed(s); evaluated on "
        f"`{Path(results['eval']['path']).name}` ({results['eval']['n_notes']} notes). Scores in %: mean over seeds "
        "[95% bootstrap interval over evaluation notes]; Δ is the paired difference to `real`.",
        f"Hard codes ({len(results['hard_codes'])}, chosen on {results['hard_codes_selection']['chosen_on']}): "
        + ", ".join(results["hard_codes"]) + ".",
        f"Synthetic notes: {results['synthetic_source']['n_notes']} over {results['synthetic_source']['n_codes']} "
        f"codes; {_sources(results['synthetic_source'])}.",
    ]
    if unseen["n_notes"]:
        notes.append(f"{unseen['n_notes']} evaluation notes have {unseen['n_codes']} code(s) absent from the real "
                     f"training file: {', '.join(unseen['codes'])}.")
    return "\n".join(lines + notes) + "\n"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_metric_vs_ratio(results: dict, path: str | Path) -> None:
    """Each metric against the synthetic share of the training set (0 = real only), with 95% intervals."""
    plt = _pyplot()
    rows = [r for r in results["summary"] if r["name"] == "real" or r["synthetic_ratio"] is not None]
    rows.sort(key=lambda r: r["synthetic_ratio"] or 0.0)
    ratios = [r["synthetic_ratio"] or 0.0 for r in rows]
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for metric, label in LABELS.items():
        stats = [r["metrics"][metric] for r in rows]
        if any(s["mean"] is None for s in stats):
            continue
        means = [100 * s["mean"] for s in stats]
        low = [100 * (s["mean"] - s["ci95"][0]) for s in stats]
        high = [100 * (s["ci95"][1] - s["mean"]) for s in stats]
        ax.errorbar(ratios, means, yerr=[low, high], marker="o", capsize=3, label=label)
    ax.set_xlabel("synthetic notes added (share of the real training size)")
    ax.set_ylabel("score, %")
    ax.set_title(f"{rows[0]['classifier']}: real + synthetic")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    _save(fig, path)


def plot_per_code_gain(results: dict, path: str | Path) -> None:
    """Per-code accuracy gain of the largest real+synthetic ratio (and upsampling) over real-only vs real notes."""
    plt = _pyplot()
    per_code = _mean_per_code(results)
    counts = results["train"]["notes_per_code"]
    hard = set(results["hard_codes"])
    mixed = [r for r in results["summary"] if r["synthetic_ratio"] is not None]
    compared = ([max(mixed, key=lambda r: r["synthetic_ratio"])["name"]] if mixed else []) + ["upsample"]
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for name, marker in zip(compared, ("o", "^")):
        if name not in per_code or "real" not in per_code:
            continue
        # Codes absent from the real training file have no place on a log axis (they are in results.json).
        codes = sorted(c for c in set(per_code[name]) & set(per_code["real"]) if counts.get(c, 0) > 0)
        x = [counts[c] for c in codes]
        y = [100 * (per_code[name][c] - per_code["real"][c]) for c in codes]
        colors = ["tab:red" if c in hard else "tab:blue" for c in codes]
        ax.scatter(x, y, c=colors, marker=marker, alpha=0.6, label=f"{name} (red: hard codes)")
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("real training notes of the code")
    ax.set_ylabel("accuracy gain over real-only, points")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    _save(fig, path)


def _mean_per_code(results: dict) -> dict[str, dict[str, float]]:
    sums: dict[str, dict[str, list[float]]] = {}
    for entry in results["settings"]:
        for code, acc in entry["per_code_accuracy"].items():
            sums.setdefault(entry["name"], {}).setdefault(code, []).append(acc)
    return {name: {c: sum(v) / len(v) for c, v in codes.items()} for name, codes in sums.items()}


def _save(fig, path: str | Path) -> None:
    with atomic_file(path, "wb") as handle:
        fig.savefig(handle, format="png", dpi=120, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
