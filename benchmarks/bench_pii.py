"""Recall and precision of the personal-data detector (`builder/quality/pii.py`) on a hand-judged sample of MedSyn's
GPT-3.5 notes (../shared/data/medsyn_generated/0_5k_gpt3.5 and 1_5k_gpt3.5, 9,980 notes). Not a blind test: the
detector's hits on these notes were read once while it was written (the line cue that read "области" as a region
was dropped then).

How the sample is drawn (seed 25): the notes are split by the detector's answer, and 60 notes flagged and 60 not
flagged are drawn at random; 40 more not-flagged notes get one invented datum each, planted between two sentences
(a phone, an e-mail, a birth date, a СНИЛС, a полис ОМС, a passport number or an address, made up from seeded
random digits and a list of street names), so that the sample has positives of every kind. A reviewer read each of
the 120 drawn notes whole and judged whether it holds personal data of any kind (a made-up one counts: it reads as
a real record); `benchmarks/data/pii_judgements.csv` keeps ids and verdicts, no text. Recall and precision of the
drawn notes are weighted back to the whole set by the strata's sizes; planted notes give recall per kind.

    .venv/bin/python benchmarks/bench_pii.py [--shared ../shared/data] [--show flagged|unflagged]

The strata are drawn by the detector's answers, so the sample (and the judged ids) belong to the detector as it was
judged (commit of this file); a changed detector needs its own judged sample. The reviewer read the flagged notes
whole and the unflagged ones in the sentences holding a digit, an '@', a capitalised word inside a sentence, or a
word of residence, birth, contact, documents or region (a datum of the kinds checked has one of these).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from pathlib import Path

from medsyn.builder.quality import pii

SEED = 25
JUDGED = Path(__file__).parent / "data" / "pii_judgements.csv"
STREETS = ["Ленина", "Садовая", "Гагарина", "Мира", "Советская", "Лесная", "Школьная", "Новая"]


def notes(shared: Path) -> list[tuple[str, str]]:
    found = []
    for folder in ("0_5k_gpt3.5", "1_5k_gpt3.5"):
        for path in sorted((shared / "medsyn_generated" / folder).glob("*.json")):
            found += [(str(r["UID"]), r["response"]) for r in json.loads(path.read_text(encoding="utf-8"))]
    return found


def invented(kind: str, rng: random.Random) -> str:
    d = lambda k: "".join(str(rng.randrange(10)) for _ in range(k))  # noqa: E731
    return {
        "phone": f"Контактный телефон: +7 ({9}{d(2)}) {d(3)}-{d(2)}-{d(2)}.",
        "email": f"Эл. почта для связи: patient{d(3)}@mail.ru.",
        "birth_date": f"Дата рождения: {rng.randint(1, 28):02d}.{rng.randint(1, 12):02d}.19{rng.randint(40, 99)}.",
        "snils": f"СНИЛС {d(3)}-{d(3)}-{d(3)} {d(2)}.",
        "oms_policy": f"Полис ОМС № {d(16)}.",
        "passport": f"Паспорт {d(2)} {d(2)} {d(6)}.",
        "address": f"Проживает по адресу: ул. {rng.choice(STREETS)}, д. {rng.randint(1, 90)}, кв. {rng.randint(1, 200)}.",
    }[kind]


def sample(shared: Path) -> tuple[list, list, list, dict]:
    """(flagged drawn, not flagged drawn, planted: (id, kind, text)), and the strata sizes."""
    everything = notes(shared)
    flags = pii.find_all([text for _, text in everything])
    flagged = [(i, t) for (i, t), f in zip(everything, flags) if f]
    clean = [(i, t) for (i, t), f in zip(everything, flags) if not f]
    rng = random.Random(SEED)
    drawn_flagged = rng.sample(flagged, 60)
    rest = rng.sample(clean, 100)
    drawn_clean, hosts = rest[:60], rest[60:]
    kinds = list(pii.PATTERNS)
    planted = []
    for k, (id_, text) in enumerate(hosts):
        kind = kinds[k % len(kinds)]
        sentences = text.split(". ")
        at = rng.randrange(1, len(sentences) + 1)
        planted.append((id_, kind, ". ".join(sentences[:at]) + ". " + invented(kind, rng) + " " + ". ".join(sentences[at:])))
    return drawn_flagged, drawn_clean, planted, {"flagged": len(flagged), "unflagged": len(clean)}


def run() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--show", choices=["flagged", "unflagged"])
    args = parser.parse_args()
    drawn_flagged, drawn_clean, planted, sizes = sample(args.shared)
    if args.show:  # for the reviewer: the notes to read (never written to the repository)
        for id_, text in drawn_flagged if args.show == "flagged" else drawn_clean:
            print(f"=== {id_}\n{text}\n")
        return
    verdicts = {row["id"]: row for row in csv.DictReader(JUDGED.open(encoding="utf-8"))}
    tp_f = sum(verdicts[i]["verdict"] == "pii" for i, _ in drawn_flagged)
    fn_u = sum(verdicts[i]["verdict"] == "pii" for i, _ in drawn_clean)
    precision = tp_f / len(drawn_flagged)
    # weighted to the whole set: the flagged stratum's true positives against the unflagged stratum's misses
    true_flagged = precision * sizes["flagged"]
    missed = fn_u / len(drawn_clean) * sizes["unflagged"]
    found = [bool(f) for f in pii.find_all([text for _, _, text in planted])]
    kinds = {}
    for (_, kind, _), hit in zip(planted, found):
        kinds.setdefault(kind, []).append(hit)
    print(f"notes: {sizes['flagged'] + sizes['unflagged']}, flagged by the detector: {sizes['flagged']}")
    print(f"precision (60 flagged notes judged): {precision:.3f} ({tp_f}/60)")
    # 95% upper bound of the unflagged stratum's miss rate: exact binomial (3/n, "the rule of three", at 0 misses)
    from scipy.stats import beta

    upper = beta.ppf(0.975, fn_u + 1, len(drawn_clean) - fn_u) * sizes["unflagged"]
    print(f"misses among 60 unflagged notes judged: {fn_u}; recall weighted to the whole set: "
          f"{true_flagged / (true_flagged + missed):.3f} (95% lower bound {true_flagged / (true_flagged + upper):.3f}: "
          "60 unflagged notes can rule out a miss rate above ~6% only)")
    print(f"planted data found: {sum(found)}/{len(found)} (" +
          ", ".join(f"{k} {sum(v)}/{len(v)}" for k, v in kinds.items()) + ")")


if __name__ == "__main__":
    run()
