"""`medsyn audit`: every note of a corpus folder against real notes (copies, personal data), and the corpus against
a holdout of real notes (DCR, membership inference), written as audit.json and notes.parquet.

The per-note checks are the scorers' (`real_copies`, `pii`) with the corpus's own thresholds (its build_info.json
`filters`, else the defaults), so the audit of a built corpus agrees with its `copies_real` column when run against
the same real notes. Corpus figures are over the kept notes (what is published); notes.parquet has every note.
The audit passes when no kept note copies a real note or holds personal data and, with a holdout, unless the share
of notes closer to training than to holdout notes or the membership AUC is over its limit by the evidence: the
lower end of its 95% interval (a holdout of 538 RuMedTop3 dev notes put one default template corpus at 0.63,
interval 0.50-0.67, where all 848 gave 0.49, 0.44-0.56).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from medsyn.builder.corpus import readers
from medsyn.builder.corpus.provenance import corpus_fingerprint, public
from medsyn.builder.corpus.real import read_real_notes
from medsyn.builder.corpus.writer import DATA_GLOB, UNFILTERED_GLOB, shard_paths
from medsyn.builder.quality import filters, pii, privacy
from medsyn.errors import MedsynError
from medsyn.io import atomic_dir, prepare_output
from medsyn.options import option

NOTE_COLUMNS = ("id", "closest_real_id", "dcr", "longest_shared_ngram", "copies_real", "pii", "keep")


@dataclass(frozen=True)
class AuditLimits:
    """What a corpus must stay under to pass (and `push` to publish it without `--force`).

    - `max_closer_share` 0.6 (against the lower end of the 95% interval): SDMetrics reads about half as no
      memorisation; 0.6 leaves room for the noise of a few hundred holdout notes, while a generator that
      memorised lies far above (copies of the training notes: over 0.9, `tests/builder/quality/test_privacy.py`).
    - `max_membership_auc` 0.6: 0.5 is a coin toss; 0.6 is a weak attack, which the interval then says.
    """

    max_closer_share: float = option(0.6, "most share of kept notes closer to training than to holdout notes")
    max_membership_auc: float = option(0.6, "highest distance-based membership-inference AUC")


def read_corpus_notes(folder: Path) -> dict[str, list]:
    if not readers.is_corpus_folder(folder):
        raise MedsynError(f"{folder}: not a corpus folder (no README.md and data/); pass a `medsyn build` or "
                          "`medsyn import` output")
    pattern = UNFILTERED_GLOB if shard_paths(folder, UNFILTERED_GLOB) else DATA_GLOB
    notes = readers.read_columns(folder, pattern, ["id", "text", "keep"])
    if not notes["id"]:
        raise MedsynError(f"{folder}: the corpus has no notes")
    return notes


def audit(corpus: Path, real: Sequence[str], holdout: Sequence[str], out: Path, limits: AuditLimits,
          overwrite: bool = False, seed: int = 0) -> dict:
    """Write `out`/audit.json and `out`/notes.parquet; return audit.json's content."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    prepare_output(out, overwrite)  # before any work, not after it
    notes = read_corpus_notes(Path(corpus))
    info = readers.read_build_info(Path(corpus))
    recorded = info.get("filters", {})
    config = filters.FilterConfig(
        max_real_shared_words=recorded.get("max_real_shared_words", filters.FilterConfig.max_real_shared_words),
        min_real_distance=recorded.get("min_real_distance", filters.FilterConfig.min_real_distance))
    train = read_real_notes(real, "--real")
    held = read_real_notes(holdout, "--holdout") if holdout else None
    closest, distance = train.closest(notes["text"])
    longest = train.longest_shared(notes["text"])
    found = pii.find_all(notes["text"])
    copies = [bool(n > config.max_real_shared_words or d <= config.min_real_distance)
              for n, d in zip(longest, distance)]  # fmt: skip
    kept = [i for i, keep in enumerate(notes["keep"]) if keep]
    result = {
        "corpus": Path(corpus).name,
        "fingerprint": corpus_fingerprint(corpus) if shard_paths(Path(corpus), DATA_GLOB) else None,
        "notes": len(notes["id"]),
        "kept": len(kept),
        "real": train.sources,
        "holdout": held.sources if held else [],
        "generator_notes": info.get("generator_notes") or info.get("real_notes", {}).get("sources", []),
        "thresholds": {"max_real_shared_words": config.max_real_shared_words,
                       "min_real_distance": config.min_real_distance, **asdict(limits)},
        "dcr_train_all": privacy.distribution(distance),
        "copies_real": {"all": sum(copies), "kept": sum(copies[i] for i in kept)},
        "pii": {"all": sum(bool(f) for f in found), "kept": sum(bool(found[i]) for i in kept)},
        "longest_shared_ngram_max": int(longest.max()) if len(longest) else 0,
    }
    if held is not None:
        result["holdout_figures"] = privacy.holdout_figures([notes["text"][i] for i in kept], train.texts,
                                                            held.texts, seed)
    result["failures"] = failures(result)
    result["passed"] = not result["failures"]
    table = pa.table({"id": notes["id"], "closest_real_id": closest, "dcr": pa.array(distance, pa.float32()),
                      "longest_shared_ngram": pa.array(longest, pa.int32()), "copies_real": copies,
                      "pii": pa.array(found, pa.list_(pa.string())), "keep": notes["keep"]})  # fmt: skip
    with atomic_dir(out, overwrite) as folder:
        (folder / "audit.json").write_text(json.dumps(public(result), ensure_ascii=False, indent=1) + "\n",
                                           encoding="utf-8")
        pq.write_table(table, folder / "notes.parquet")
    return result


def failures(result: dict) -> list[str]:
    """Why a corpus fails its audit, one phrase each (empty: it passes)."""
    limits = result["thresholds"]
    found = []
    if result["copies_real"]["kept"]:
        found.append(f"{result['copies_real']['kept']} kept notes copy a real note")
    if result["pii"]["kept"]:
        found.append(f"{result['pii']['kept']} kept notes hold personal data")
    figures = result.get("holdout_figures")
    if figures:  # over a limit by the evidence: the interval's lower end, not a point a small holdout moves
        share = figures["closer_to_train"]
        if share["ci95"][0] > limits["max_closer_share"]:
            found.append(f"{share['share']:.1%} of kept notes are closer to training than to holdout notes (95% CI "
                         f"from {share['ci95'][0]:.1%}; limit {limits['max_closer_share']:.0%})")
        auc = figures["membership_auc"]
        if auc["ci95"][0] > limits["max_membership_auc"]:
            found.append(f"membership-inference AUC {auc['auc']:.3f} (95% CI from {auc['ci95'][0]:.3f}; limit "
                         f"{limits['max_membership_auc']})")
    return found
