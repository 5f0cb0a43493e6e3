"""Throughput of the note filters: scoring and near-duplicate removal on a paper-scale synthetic corpus.

Composes 41,185 notes (the size of the MedSyn corpus) of ~60-120 words from the knowledge graph's symptom labels
and varied stock phrasing (no real note text), a third of them with a composed style example, a few percent
lightly edited copies of earlier notes. Prints notes/s of `score_note` and `near_duplicates`, and the peak RSS.

    .venv/bin/python benchmarks/bench_filters.py [--notes 41185] [--seed 0]
"""

from __future__ import annotations

import argparse
import random
import resource
import time

from medsyn.builder.quality.dedup import near_duplicates
from medsyn.builder.quality.filters import FilterConfig, SymptomScorer, reject_reasons, score_note
from medsyn.builder.kg.graph import load_graph

OPENINGS = [
    "Пациент{a} {age} лет обратил{a}ся с жалобами на {s}.",
    "Жалобы на {s}, беспокоят в течение {d} дней.",
    "На приёме пациент{a} {age} лет, предъявляет жалобы на {s}.",
    "Со слов пациент{a}, последние {d} дней отмечает {s}.",
    "Обратил{a}ся впервые: {s}, симптомы нарастают около {d} недель.",
]
FILLERS = [
    "Состояние удовлетворительное, сознание ясное.",
    "Кожные покровы обычной окраски, умеренной влажности.",
    "Дыхание везикулярное, хрипов нет, частота дыхания {n} в минуту.",
    "Тоны сердца ясные, ритм правильный, ЧСС {p} ударов в минуту.",
    "Артериальное давление {bp1}/{bp2} мм рт. ст.",
    "Живот мягкий, безболезненный при пальпации.",
    "Температура тела {t} градуса.",
    "Ранее за медицинской помощью по этому поводу не обращал{a}сь.",
    "Аллергологический анамнез не отягощён.",
    "Работает {job}, нагрузки умеренные.",
    "Сон нарушен из-за симптомов, аппетит сохранён.",
    "Самостоятельно принимал{a} обезболивающие с временным эффектом.",
    "Периферических отёков нет, стул и диурез в норме.",
    "Рекомендовано дообследование: общий анализ крови, биохимия, ЭКГ.",
    "Наследственность по хроническим заболеваниям не отягощена.",
    "Симптомы усиливаются к вечеру и после физической нагрузки.",
    "Отмечает связь ухудшения с переохлаждением и стрессом.",
    "Вредные привычки: {habit}.",
    "Контрольный осмотр через {d} дней.",
    "Лимфоузлы не увеличены, щитовидная железа не пальпируется.",
]
NEGATED = ["Тошноту и рвоту отрицает.", "Повышения температуры не отмечает.", "Одышки нет."]
JOBS = ["водителем", "учителем", "программистом", "продавцом", "инженером", "бухгалтером", "на складе"]
HABITS = ["курит до пачки в день", "не курит", "алкоголем не злоупотребляет", "курит около 10 лет"]


def compose(rng: random.Random, labels: list[str], female: bool) -> str:
    fill = {
        "a": "а" if female else "", "age": rng.randint(18, 85), "d": rng.randint(2, 30), "n": rng.randint(14, 22),
        "p": rng.randint(55, 110), "bp1": rng.randint(100, 170), "bp2": rng.randint(60, 100),
        "t": f"{rng.uniform(36.2, 38.9):.1f}".replace(".", ","), "job": rng.choice(JOBS), "habit": rng.choice(HABITS),
    }  # fmt: skip
    shown = rng.sample(labels, k=max(1, round(len(labels) * rng.uniform(0.5, 1.0))))
    fill["s"] = ", ".join(shown)
    parts = [rng.choice(OPENINGS).format(**fill)]
    parts += [s.format(**fill) for s in rng.sample(FILLERS, k=rng.randint(7, 14))]
    if rng.random() < 0.3:
        parts.append(rng.choice(NEGATED))
    return " ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=41_185)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    graph = load_graph()
    codes = graph.codes_with_symptoms
    lexicon = {code: [s.label for s in graph.symptoms(code)] for code in codes}
    names = {code: graph.name(code) for code in codes}
    rows = []
    for i in range(args.notes):
        code = codes[i % len(codes)]
        prompt = rng.sample(lexicon[code], k=min(len(lexicon[code]), rng.randint(3, 7)))
        if i > 100 and rng.random() < 0.03:  # a lightly edited copy of an earlier note
            text = rows[rng.randrange(i)][1].split()
            for _ in range(2):
                text[rng.randrange(len(text))] = rng.choice(["также", "иногда", "резко", "слегка"])
            text = " ".join(text)
        else:
            text = compose(rng, prompt, rng.random() < 0.5)
        example = compose(rng, lexicon[code], rng.random() < 0.5) if i % 3 == 0 else None
        rows.append((f"n{i:05d}", text, code, prompt, example))
    n_words = sum(len(r[1].split()) for r in rows) / len(rows)
    print(f"composed {len(rows)} notes, {n_words:.0f} words on average")

    config = FilterConfig()
    # CPU time next to wall time: on a shared machine the wall time also counts other processes' work.
    wall, cpu = time.perf_counter(), time.process_time()
    scorer = SymptomScorer()
    complaints = {code: tuple(labels) for code, labels in lexicon.items()}  # each code's lexicon, as a build passes
    scores = [score_note(text, prompt, code, names[code], example, scorer, complaints=complaints[code])
              for _, text, code, prompt, example in rows]
    scoring = (time.perf_counter() - wall, time.process_time() - cpu)
    rejected = sum(1 for s in scores if reject_reasons(s, config))
    wall, cpu = time.perf_counter(), time.process_time()
    dups = near_duplicates([r[0] for r in rows], [r[1] for r in rows], config)
    dedup = (time.perf_counter() - wall, time.process_time() - cpu)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    n = len(rows)
    print(f"scoring: {scoring[0]:.1f} s wall / {scoring[1]:.1f} s CPU, {n / scoring[0]:,.0f} notes/s "
          f"({n / scoring[1]:,.0f} per CPU second); {rejected} rejected by thresholds")
    print(f"near-duplicates: {dedup[0]:.1f} s wall / {dedup[1]:.1f} s CPU, {n / dedup[0]:,.0f} notes/s "
          f"({n / dedup[1]:,.0f} per CPU second); {len(dups)} duplicates found")
    print(f"scoring + dedup: {scoring[0] + dedup[0]:.1f} s wall / {scoring[1] + dedup[1]:.1f} s CPU; "
          f"peak RSS {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main()
