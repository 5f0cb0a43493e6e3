"""The card's figures, drawn with matplotlib (Agg) into PNGs that live inside the dataset folder.

Stored in the folder (not linked from elsewhere) so they upload with the data and the Hub page shows exactly the
figures of the pinned version. PNGs are written without timestamps so re-rendering an unchanged corpus gives
the same bytes and an unchanged file is not re-uploaded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from medsyn.io import atomic_file

PNG_METADATA = {"Software": None}


def _pyplot():
    """matplotlib's pyplot on the Agg backend (no display), imported on first use: matplotlib costs a second to
    import, and a command that writes no card (`medsyn build --help`) must not pay it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    plt = _pyplot()
    fig.tight_layout()
    with atomic_file(path, "wb") as handle:
        fig.savefig(handle, format="png", dpi=100, metadata=PNG_METADATA)
    plt.close(fig)
    return path


def bar_counts(counts: Mapping[str, int], path: Path, title: str, xlabel: str) -> Path:
    """Counts per category, largest first (notes per ICD-10 code or chapter)."""
    plt = _pyplot()
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    width = max(6.0, min(24.0, 0.18 * len(items) + 2))
    fig, ax = plt.subplots(figsize=(width, 3.6))
    ax.bar(range(len(items)), [v for _, v in items], color="#4c72b0")
    ax.set_xticks(range(len(items)))
    ax.set_xticklabels([k for k, _ in items], rotation=90, fontsize=7 if len(items) > 30 else 9)
    ax.set_xlim(-0.6, len(items) - 0.4)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("notes")
    return _save(fig, path)


def histogram(values: Sequence[float], path: Path, title: str, xlabel: str, bins: int = 30) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.4))
    ax.hist(list(values), bins=bins, color="#55a868", edgecolor="white")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("notes")
    return _save(fig, path)


def benchmark_bars(rows: Sequence[Mapping], metric: str, path: Path) -> Path:
    """One bar per benchmark setting: the mean of `metric` over seeds with its standard deviation."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(6, 0.7 * len(rows)), 3.8))
    labels = [f"{r['name']}\n({r['classifier']})" for r in rows]
    ax.bar(
        range(len(rows)),
        [100 * r["metrics"][metric]["mean"] for r in rows],
        yerr=[100 * r["metrics"][metric]["std"] for r in rows],
        color="#c44e52",
        capsize=4,
    )
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels(labels, fontsize=7, rotation=40, ha="right")
    ax.set_ylim(0, 100)
    ax.set_ylabel(f"{metric}, %")
    ax.set_title(f"RuMedTop3 dev, {metric} (mean ± sd over seeds)")
    return _save(fig, path)
