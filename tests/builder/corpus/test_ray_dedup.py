"""Near-duplicates on Ray (`ray_dedup`: signatures in workers, bands grouped across the cluster) mark exactly the
notes the local engine's one-pass search marks, with the same originals, on a corpus with planted near-duplicates:
near-copies, exact copies, and chains of small edits (where only the keep-the-first order tells which note stays).
"""

from __future__ import annotations

import os
import random

import pytest

from medsyn.builder.quality import dedup
from medsyn.builder.quality.filters import FilterConfig

pytest.importorskip("ray")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

LETTERS = "абвгдежзиклмнопрстуфхцчшщэюя"


def _planted(seed: int = 3) -> tuple[list[str], list[str], int]:
    """Texts in shuffled order: originals, near-copies (a few words changed), exact copies and chains of edits;
    and how many were planted."""
    rng = random.Random(seed)
    vocabulary = ["".join(rng.choice(LETTERS) for _ in range(rng.randint(3, 9))) for _ in range(3000)]
    notes = [[rng.choice(vocabulary) for _ in range(rng.randint(40, 80))] for _ in range(160)]
    planted = 0

    def edit(words: list[str], share: float) -> list[str]:
        copy = list(words)
        for position in rng.sample(range(len(copy)), max(1, int(len(copy) * share))):
            copy[position] = rng.choice(vocabulary)
        return copy

    for base in rng.sample(notes[:160], 60):
        kind = rng.choice(("near", "exact", "chain", "far"))
        if kind == "chain":  # each link near the previous one, the last far from the first
            link = base
            for _ in range(4):
                link = edit(link, 0.05)
                notes.append(link)
        else:
            notes.append(list(base) if kind == "exact" else edit(base, 0.03 if kind == "near" else 0.12))
        planted += 1
    rng.shuffle(notes)
    texts = [" ".join(words) for words in notes]
    return [f"n{i:04d}" for i in range(len(texts))], texts, planted


@pytest.fixture(scope="module")
def ray_local():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_marks_the_same_near_duplicates_as_the_local_search(ray_local):
    from medsyn.builder.corpus.ray_dedup import ray_near_duplicates

    ids, texts, planted = _planted()
    config = FilterConfig()
    local = dedup.near_duplicates(ids, texts, config)
    assert len(local) >= planted // 2  # the planted copies are found (not a vacuous comparison)
    # Small signing batches: a note and its copies are signed in different workers' batches.
    assert ray_near_duplicates(ray_local, ids, texts, config, sign_batch=37) == local


def test_a_chain_of_edits_keeps_what_the_one_pass_search_keeps(ray_local):
    """b repeats a, c repeats b but not a: the search drops b (after a) and keeps c (b was not kept)."""
    from medsyn.builder.corpus.ray_dedup import ray_near_duplicates

    rng = random.Random(1)
    a = ["".join(rng.choice(LETTERS) for _ in range(6)) for _ in range(100)]
    b, c = list(a), None
    for position in range(0, 100, 25):
        b[position] = "ыы" + str(position)
    c = list(b)
    for position in range(5, 100, 20):
        c[position] = "йй" + str(position)
    config = FilterConfig()
    texts = [" ".join(a), " ".join(b), " ".join(c)]
    sets = [dedup.shingles(text, config.shingle_size) for text in texts]
    assert dedup.jaccard(sets[0], sets[1]) >= 0.7 and dedup.jaccard(sets[1], sets[2]) >= 0.7
    assert dedup.jaccard(sets[0], sets[2]) < 0.7
    local = dedup.near_duplicates(["a", "b", "c"], texts, config)
    assert local == {"b": "a"}
    assert ray_near_duplicates(ray_local, ["a", "b", "c"], texts, config, sign_batch=1) == local
