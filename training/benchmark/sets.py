"""The benchmark's training sets: real notes (all or a per-code subsample), synthetic notes added or alone.

Every random choice draws from a stream of its own (seed, purpose), so that adding a setting, a ratio or a real
fraction never changes the samples of another, and the curves over real fractions compare like with like: the
10% real subsample lies inside the 25% one, and the synthetic notes added are the same at every fraction.
"""

from __future__ import annotations

import logging
import zlib
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from medsyn.builder.kg.sources import Note
from medsyn.errors import MedsynError
from medsyn.training.benchmark.config import check_fractions

log = logging.getLogger(__name__)

TSTR = "TSTR"  # train on synthetic, test on real


def cut_code(code: str, level: int) -> str:
    """An ICD-10 code at `level` characters not counting the dot: `M54.5` -> `M54` (3) or `M54.5` (4)."""
    raw = code.strip().upper().replace(".", "")
    cut = raw[:level]
    return cut if len(cut) <= 3 else f"{cut[:3]}.{cut[3:]}"


@dataclass
class SyntheticCorpus:
    texts: list[str]
    codes: list[str]
    source: dict


@dataclass
class Setting:
    """One training set. `ratio`: synthetic notes added as a share of the FULL real training size (kind 'mixed'),
    so the same synthetic notes are added at every real fraction; `real_fraction`: share of each code's real notes."""

    name: str
    kind: str  # "real" | "mixed" | "tstr" | "upsample"
    ratio: float | None = None
    real_fraction: float = 1.0

    @property
    def key(self) -> str:
        return self.name if self.real_fraction == 1 else f"{self.name}@real{self.real_fraction:g}"


def settings_for(ratios: Sequence[float], fractions: Sequence[float] = (1.0,)) -> list[Setting]:
    """Real, real+synthetic per ratio and upsampling at every real fraction (largest first); TSTR once."""
    for ratio in ratios:
        if not ratio > 0:
            raise MedsynError(f"synthetic ratio {ratio} must be positive (e.g. --ratios 0.25,0.5,1)")
    check_fractions(fractions)
    settings = []
    for fraction in sorted(set(fractions), reverse=True):
        settings.append(Setting("real", "real", None, fraction))
        settings += [Setting(f"real+synthetic@{r:g}", "mixed", float(r), fraction) for r in sorted(set(ratios))]
        if not any(s.kind == "tstr" for s in settings):
            settings.append(Setting(TSTR, "tstr", None, 0.0))
        settings.append(Setting("upsample", "upsample", None, fraction))
    return settings


def requested_synthetic(setting: Setting, n_real_full: int) -> int | None:
    """Synthetic notes a setting asks for: a share of the full real size (mixed), the real size (TSTR); else None."""
    if setting.kind == "mixed":
        return round(setting.ratio * n_real_full)
    return n_real_full if setting.kind == "tstr" else None


def fit_to_corpus(settings: list[Setting], n_synthetic: int, n_real_full: int) -> tuple[list[Setting], dict]:
    """The settings worth running on a corpus of `n_synthetic` notes, and what each used of it (for results.json).

    A setting that asks for more notes than the corpus has uses all of them, so two ratios both past the corpus
    size train on the same notes: only the smallest of them is run, and the others are recorded as left out
    (reporting them apart would present one training set as two). A ratio small enough to round to no note at all
    is `real` under another name and is left out too. One warning says all of it, before any fit.
    """
    unique = list({s.name: s for s in settings}.values())
    full = [s for s in unique if s.kind == "mixed" and requested_synthetic(s, n_real_full) >= n_synthetic]
    first_full = min(full, key=lambda s: s.ratio).name if full else None
    use, left_out, asked = [], [], []
    for setting in unique:
        requested = requested_synthetic(setting, n_real_full)
        if requested is None:
            continue
        used = min(requested, n_synthetic)
        same_as = None
        if setting.kind == "mixed" and used == 0:
            same_as = "real"
        elif setting.kind == "mixed" and used == n_synthetic and setting.name != first_full:
            same_as = first_full
        record = {"name": setting.name, "requested": requested, "used": used}
        (left_out if same_as else use).append({**record, **({"same_as": same_as} if same_as else {})})
        if requested > n_synthetic:
            asked.append(f"{setting.name} {requested}")
    parts = []
    if asked:
        parts.append(f"the corpus has {n_synthetic}, fewer than asked for ({', '.join(asked)}): each uses all "
                     f"{n_synthetic}")
    if left_out:
        parts.append("not run, as they would train on the same notes: "
                     + ", ".join(f"{x['name']} (as {x['same_as']})" for x in left_out))
    if parts:
        log.warning("synthetic notes: %s", "; ".join(parts))
    dropped = {x["name"] for x in left_out}
    return [s for s in settings if s.name not in dropped], {"n_notes": n_synthetic, "settings": use,
                                                             "left_out": left_out}


def stream(seed: int, purpose: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(purpose.encode())])


def subsample(real: list[Note], fraction: float, seed: int) -> list[Note]:
    """`fraction` of each code's notes (at least one), in file order; nested across fractions for one seed."""
    if fraction >= 1:
        return list(real)
    by_code: dict[str, list[int]] = {}
    for i, note in enumerate(real):
        by_code.setdefault(note.code, []).append(i)
    chosen = set()
    for code, members in by_code.items():
        order = stream(seed, f"real/{code}").permutation(len(members))
        chosen.update(members[j] for j in order[: max(1, round(fraction * len(members)))])
    return [note for i, note in enumerate(real) if i in chosen]


def upsample_plan(real_codes: Sequence[str], quantile: float) -> dict[str, int]:
    """Synthetic notes to add per code: the codes at or below the `quantile` of real counts, up to the median."""
    counts = Counter(real_codes)
    values = np.array(sorted(counts.values()))
    threshold, target = np.quantile(values, quantile), int(np.median(values))
    return {code: target - n for code, n in sorted(counts.items()) if n <= threshold and n < target}


def rare_codes(real_codes: Sequence[str], quantile: float) -> list[str]:
    """Codes with at most the `quantile` of per-code real training counts (0.25: the first quartile)."""
    counts = Counter(real_codes)
    threshold = np.quantile(np.array(list(counts.values())), quantile)
    return sorted(code for code, n in counts.items() if n <= threshold)


def training_set(
    setting: Setting, real: list[Note], synthetic: SyntheticCorpus, seed: int, upsample: dict[str, int],
    n_real_full: int | None = None,
) -> tuple[list[str], list[str], int]:
    """Texts and codes of one setting's training set and how many of them are synthetic.

    `real` is the setting's real notes (already subsampled); `n_real_full` the size of the full real training file
    that ratios and TSTR are measured against (default: len(real)).
    """
    n_full = len(real) if n_real_full is None else n_real_full
    real_texts, real_codes = [n.text for n in real], [n.code for n in real]
    if setting.kind == "real":
        return real_texts, real_codes, 0
    if setting.kind == "upsample":
        by_code: dict[str, list[int]] = {}
        for i, code in enumerate(synthetic.codes):
            by_code.setdefault(code, []).append(i)
        chosen = []
        for code, need in upsample.items():
            pool = by_code.get(code, [])
            order = stream(seed, f"upsample/{code}").permutation(len(pool))
            chosen += [pool[j] for j in order[:need]]
        return (real_texts + [synthetic.texts[i] for i in chosen], real_codes + [synthetic.codes[i] for i in chosen],
                len(chosen))
    wanted = requested_synthetic(setting, n_full)  # past the corpus size: all of it (`fit_to_corpus` says so once)
    rng = stream(seed, setting.name)  # the same synthetic notes at every real fraction
    chosen = rng.choice(len(synthetic.texts), size=min(wanted, len(synthetic.texts)), replace=False).tolist()
    texts, codes = [synthetic.texts[i] for i in chosen], [synthetic.codes[i] for i in chosen]
    if setting.kind == "tstr":
        return texts, codes, len(chosen)
    return real_texts + texts, real_codes + codes, len(chosen)


def split_dev(real: list[Note], fraction: float, seed: int = 0) -> tuple[list[Note], list[Note]]:
    """Hold out `fraction` of each code's notes (codes with a single note stay in training)."""
    rng = np.random.default_rng(seed)
    by_code: dict[str, list[int]] = {}
    for i, note in enumerate(real):
        by_code.setdefault(note.code, []).append(i)
    held = set()
    for code in sorted(by_code):
        members = by_code[code]
        if len(members) >= 2:
            size = min(len(members) - 1, max(1, round(fraction * len(members))))
            held.update(rng.choice(members, size=size, replace=False).tolist())
    return [n for i, n in enumerate(real) if i not in held], [n for i, n in enumerate(real) if i in held]
