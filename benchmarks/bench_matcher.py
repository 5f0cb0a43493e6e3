"""Symptom matcher on RuMedBench's own markup: recall, speed, and precision of what it newly finds.

`rec_markup.csv` gives each RuMedPrime event (note) a normalised symptom label that the note mentions (its
`keep_spans` are the note with that wording cut out; RuMedSymptomRec holds the cut notes, with the same label as
`code` for every event it shares with the markup). The original, uncut note text is in RuMedTop3, so the markup is
joined with RuMedTop3 train and dev: a hit is the label found, not negated, in the original note, by a matcher
over the whole markup lexicon (219 labels). Train and dev are reported separately; the matcher was tuned on train.

New-match precision: every (note, label) pair the new matcher finds (not negated) and the old lemma matcher
(`medsyn.builder.text.mentions.LemmaMatcher`) does not, over all train + dev notes, is a new match; a seeded random
sample of them was judged by hand (does the note say the patient has this symptom?). The verdicts live in
`benchmarks/data/matcher_judgements.csv` (note id, label, a hash of the matched span, verdict; no note text), so the
figure is recomputed here; sampled matches without a verdict are counted and can be shown with `--judge`.

Recall ceiling: many misses are no mention of the label at all (the markup's label is wrong, or its span is a
negated mention, another body site, a modifier of another complaint, or nothing: a comma, 'в'). A seeded random
sample of each split's misses was judged by hand: does the original note state that the patient has the labelled
symptom (a paraphrase counts)? The verdicts live in `benchmarks/data/matcher_miss_judgements.csv` (split, note id,
label, verdict, a reason code; no note text). Printed per split: the share of sampled misses the note states, and
the recall a matcher finding every stated mention would reach: recall + stated share x (1 - recall). Misses were
judged after tuning; the dev ones were never used to tune. Unjudged sampled misses are counted and can be shown,
with the markup's span in brackets, with `--judge-misses`.

    python benchmarks/bench_matcher.py [--data ../shared/data] [--judge N] [--judge-misses N]

Speed: notes/s of `present()` over the train + dev notes, by CPU time of this single-threaded process (one core;
wall time on a shared machine overstates it), matcher already built: first pass (cold word caches), second pass
(warm word caches, the kept clauses forgotten: what new notes cost) and third pass (the same notes again: every
clause's mentions kept, as for the clauses a template build repeats).
"""

from __future__ import annotations

import argparse
import ast
import csv
import hashlib
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
JUDGEMENTS = ROOT / "benchmarks" / "data" / "matcher_judgements.csv"
MISS_JUDGEMENTS = ROOT / "benchmarks" / "data" / "matcher_miss_judgements.csv"
SAMPLE_SEED = 12
SAMPLE_SIZE = 260
MISS_SAMPLE_SIZE = {"train": 220, "dev": 110}


def load(data: Path) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """({split: {note id: original text}}, {note id: markup label})."""
    base = data / "rumedbench"
    notes = {}
    for split in ("train", "dev"):
        with open(base / "RuMedTop3" / f"{split}_v1.jsonl", encoding="utf-8") as f:
            notes[split] = {r["idx"]: r["symptoms"] for r in map(json.loads, f)}
    with open(base / "raw" / "rec_markup.csv", encoding="utf-8") as f:
        labels = {r["new_event_id"]: r["code"].strip().lower() for r in csv.DictReader(f) if r["code"].strip()}
    return notes, labels


def removed_text(data: Path) -> dict[str, list[tuple[int, int]]]:
    """Note id -> the character ranges the markup cut out of the note (its wording of the label)."""
    with open(data / "rumedbench" / "raw" / "rec_markup.csv", encoding="utf-8") as f:
        keeps = {r["new_event_id"]: ast.literal_eval(r["keep_spans"]) for r in csv.DictReader(f)}
    removed = {}
    for nid, keep in keeps.items():
        gaps, pos = [], 0
        for start, end in keep:
            if start > pos:
                gaps.append((pos, start))
            pos = max(pos, end)
        removed[nid] = gaps + [(pos, -1)]
    return removed


def rank(seed: int, *parts: str) -> str:
    """A seeded random order that keeps a sampled item's place when the rest of the population changes."""
    return hashlib.sha256("/".join([str(seed), *parts]).encode()).hexdigest()


def span_hash(text: str, start: int, end: int) -> str:
    return hashlib.sha256(text[start:end].lower().encode()).hexdigest()[:12]


def read_judgements() -> dict[tuple[str, str], tuple[str, str]]:
    if not JUDGEMENTS.exists():
        return {}
    with open(JUDGEMENTS, encoding="utf-8") as f:
        return {(r["note_id"], r["label"]): (r["span_sha"], r["verdict"]) for r in csv.DictReader(f)}


def read_miss_judgements() -> dict[tuple[str, str, str], tuple[str, str]]:
    if not MISS_JUDGEMENTS.exists():
        return {}
    with open(MISS_JUDGEMENTS, encoding="utf-8") as f:
        return {(r["split"], r["note_id"], r["label"]): (r["verdict"], r["reason"]) for r in csv.DictReader(f)}


def ceiling(split: str, misses: list[str], labels: dict[str, str], recall: float, show: int, texts, removed) -> None:
    """Print the stated share of a split's sampled misses and the recall ceiling it implies."""
    sample = sorted(misses, key=lambda nid: rank(SAMPLE_SEED, split, nid, labels[nid]))[: MISS_SAMPLE_SIZE[split]]
    judged = read_miss_judgements()
    verdicts = [judged[(split, nid, labels[nid])][0] for nid in sample if (split, nid, labels[nid]) in judged]
    unjudged = [nid for nid in sample if (split, nid, labels[nid]) not in judged]
    if verdicts:
        share = verdicts.count("stated") / len(verdicts)
        print(f"{split} misses: {len(misses)}; sample {len(sample)}, judged {len(verdicts)}, unjudged "
              f"{len(unjudged)}; the note states the label in {share:.3f} ({verdicts.count('stated')}/"
              f"{len(verdicts)}); recall ceiling {recall + share * (1 - recall):.3f}")
    else:
        print(f"{split} misses: {len(misses)}; sample {len(sample)}, none judged")
    for nid in unjudged[:show]:
        text, marked, pos = texts[nid], [], 0
        for start, end in removed.get(nid, []):
            end = len(text) if end < 0 else end
            marked += [text[pos:start], "[[", text[start:end], "]]"] if end > start else [text[pos:start]]
            pos = end
        print(f"JUDGE-MISS\t{split}\t{nid}\t{labels[nid]}\t{''.join(marked + [text[pos:]])!r}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--judge", type=int, default=0, help="print this many unjudged sampled matches to judge")
    parser.add_argument("--judge-misses", type=int, default=0, help="print this many unjudged sampled misses a split")
    args = parser.parse_args()

    from medsyn.builder.text.mentions import LemmaMatcher as OldMatcher
    from medsyn.builder.text import matching
    from medsyn.builder.text.matching import SymptomMatcher

    notes, labels = load(args.data)
    lexicon = sorted(set(labels.values()))
    t0 = time.process_time()
    new = SymptomMatcher(lexicon)
    build_s = time.process_time() - t0
    old = OldMatcher(lexicon)

    all_notes = [(nid, text) for split in ("train", "dev") for nid, text in notes[split].items()]
    timings = []
    for repeat in range(3):
        if repeat == 1:  # warm word caches, but every clause new again (as in notes not seen before)
            new._clause_cache.clear()
            matching._clause_tokens.cache_clear()
        t0 = time.process_time()
        found = {nid: new.present(text) for nid, text in all_notes}
        timings.append(len(all_notes) / (time.process_time() - t0))
    found_old = {nid: old.present(text) for nid, text in all_notes}
    mentioned = {nid: {m.label for m in new.mentions(text)} for nid, text in all_notes}
    mentioned_old = {nid: {m.label for m in old.mentions(text)} for nid, text in all_notes}

    print(f"lexicon: {len(lexicon)} markup labels; matcher built in {build_s:.2f} s")
    recall: dict[str, float] = {}
    misses: dict[str, list[str]] = {}
    for split in ("train", "dev"):
        marked = [nid for nid in notes[split] if nid in labels]
        hit_new = sum(labels[nid] in found[nid] for nid in marked)
        hit_old = sum(labels[nid] in found_old[nid] for nid in marked)
        men_new = sum(labels[nid] in mentioned[nid] for nid in marked)
        men_old = sum(labels[nid] in mentioned_old[nid] for nid in marked)
        print(f"{split}: {len(marked)} marked notes; recall (mentioned, negated or not) old {men_old / len(marked):.3f}"
              f", new {men_new / len(marked):.3f}; (mentioned and not negated) old {hit_old / len(marked):.3f}, "
              f"new {hit_new / len(marked):.3f}")
        recall[split] = hit_new / len(marked)
        misses[split] = [nid for nid in marked if labels[nid] not in found[nid]]
    print(f"speed: {timings[0]:,.0f} notes/s (cold caches), {timings[1]:,.0f} notes/s (warm word caches), "
          f"{timings[2]:,.0f} notes/s (the same notes again: every clause's mentions kept), one core")

    text_of = dict(all_notes)
    removed = removed_text(args.data)
    for split in ("train", "dev"):
        ceiling(split, misses[split], labels, recall[split], args.judge_misses, text_of, removed)
    new_matches = sorted((nid, label) for nid, _ in all_notes for label in found[nid] - found_old[nid])
    # The pairs of lowest seeded hash: a random sample that keeps its judged members when the matcher changes a
    # little (a pair stays in it as long as it is still a new match and not pushed out by lower-hash newcomers).
    sample = sorted(new_matches, key=lambda pair: rank(SAMPLE_SEED, *pair))[:SAMPLE_SIZE]
    judged = read_judgements()
    verdicts, unjudged = [], []
    for nid, label in sample:
        mention = next(m for m in new.mentions(text_of[nid]) if m.label == label and not m.negated)
        key = span_hash(text_of[nid], mention.start, mention.end)
        if (nid, label) in judged and judged[(nid, label)][0] == key:
            verdicts.append(judged[(nid, label)][1] == "correct")
        else:
            unjudged.append((nid, label, mention, key))
    print(f"new matches: {len(new_matches)} pairs over {len(all_notes)} notes; sample {len(sample)}, "
          f"judged {len(verdicts)}, unjudged {len(unjudged)}")
    if verdicts:
        print(f"new-match precision: {sum(verdicts) / len(verdicts):.3f} ({sum(verdicts)}/{len(verdicts)})")
    for nid, label, mention, key in unjudged[: args.judge]:
        text = text_of[nid]
        lo, hi = max(0, mention.start - 70), min(len(text), mention.end + 50)
        context = text[lo:mention.start] + "[[" + text[mention.start:mention.end] + "]]" + text[mention.end:hi]
        print(f"JUDGE\t{nid}\t{label}\t{key}\t{context!r}", file=sys.stderr)


if __name__ == "__main__":
    main()
