"""Symptom matcher on RuMedBench's own markup: recall, speed, and precision of what it newly finds.

`rec_markup.csv` gives each RuMedPrime event (note) a normalised symptom label that the note mentions (its
`keep_spans` are the note with that wording cut out; RuMedSymptomRec holds the cut notes, with the same label as
`code` for every event it shares with the markup). The original, uncut note text is in RuMedTop3, so the markup is
joined with RuMedTop3 train and dev: a hit is the label found, not negated, in the original note, by a matcher
over the whole markup lexicon (219 labels). Train and dev are reported separately; the matcher was tuned on train.

New-match precision: every (note, label) pair the new matcher finds (not negated) and the old lemma matcher
(`medsyn.builder.lemmas.SymptomMatcher`) does not, over all train + dev notes, is a new match; a seeded random
sample of them was judged by hand (does the note say the patient has this symptom?). The verdicts live in
`benchmarks/data/matcher_judgements.csv` (note id, label, a hash of the matched span, verdict; no note text), so the
figure is recomputed here; sampled matches without a verdict are counted and can be shown with `--judge`.

    python benchmarks/bench_matcher.py [--data ../shared/data] [--judge N]

Speed: notes/s of `present()` over the train + dev notes, by CPU time of this single-threaded process (one core;
wall time on a shared machine overstates it), matcher already built, first pass (cold
word caches) and second pass.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
JUDGEMENTS = ROOT / "benchmarks" / "data" / "matcher_judgements.csv"
SAMPLE_SEED = 12
SAMPLE_SIZE = 260


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


def span_hash(text: str, start: int, end: int) -> str:
    return hashlib.sha256(text[start:end].lower().encode()).hexdigest()[:12]


def read_judgements() -> dict[tuple[str, str], tuple[str, str]]:
    if not JUDGEMENTS.exists():
        return {}
    with open(JUDGEMENTS, encoding="utf-8") as f:
        return {(r["note_id"], r["label"]): (r["span_sha"], r["verdict"]) for r in csv.DictReader(f)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--judge", type=int, default=0, help="print this many unjudged sampled matches to judge")
    args = parser.parse_args()

    from medsyn.builder.lemmas import SymptomMatcher as OldMatcher
    from medsyn.builder.matching import SymptomMatcher

    notes, labels = load(args.data)
    lexicon = sorted(set(labels.values()))
    t0 = time.process_time()
    new = SymptomMatcher(lexicon)
    build_s = time.process_time() - t0
    old = OldMatcher(lexicon)

    all_notes = [(nid, text) for split in ("train", "dev") for nid, text in notes[split].items()]
    timings = []
    for _ in range(2):
        t0 = time.process_time()
        found = {nid: new.present(text) for nid, text in all_notes}
        timings.append(len(all_notes) / (time.process_time() - t0))
    found_old = {nid: old.present(text) for nid, text in all_notes}
    mentioned = {nid: {m.label for m in new.mentions(text)} for nid, text in all_notes}
    mentioned_old = {nid: {m.label for m in old.mentions(text)} for nid, text in all_notes}

    print(f"lexicon: {len(lexicon)} markup labels; matcher built in {build_s:.2f} s")
    for split in ("train", "dev"):
        marked = [nid for nid in notes[split] if nid in labels]
        hit_new = sum(labels[nid] in found[nid] for nid in marked)
        hit_old = sum(labels[nid] in found_old[nid] for nid in marked)
        men_new = sum(labels[nid] in mentioned[nid] for nid in marked)
        men_old = sum(labels[nid] in mentioned_old[nid] for nid in marked)
        print(f"{split}: {len(marked)} marked notes; recall (mentioned, negated or not) old {men_old / len(marked):.3f}"
              f", new {men_new / len(marked):.3f}; (mentioned and not negated) old {hit_old / len(marked):.3f}, "
              f"new {hit_new / len(marked):.3f}")
    print(f"speed: {timings[0]:,.0f} notes/s (cold caches), {timings[1]:,.0f} notes/s (warm), one core")

    text_of = dict(all_notes)
    new_matches = sorted((nid, label) for nid, _ in all_notes for label in found[nid] - found_old[nid])
    # The pairs of lowest seeded hash: a random sample that keeps its judged members when the matcher changes a
    # little (a pair stays in it as long as it is still a new match and not pushed out by lower-hash newcomers).
    rank = lambda pair: hashlib.sha256(f"{SAMPLE_SEED}/{pair[0]}/{pair[1]}".encode()).hexdigest()  # noqa: E731
    sample = sorted(new_matches, key=rank)[:SAMPLE_SIZE]
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
