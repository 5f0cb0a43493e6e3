"""A small corpus folder in the layout `medsyn build --out` writes, made up inside the tests.

Rows are composed from MKG symptom labels (never real note text). `make_corpus` is the one place to swap for a
real `medsyn build --backend template` run once the builder is in.
"""

from __future__ import annotations

import json
from collections import Counter
import random
import sqlite3
from pathlib import Path

CODES = ["M54", "J06", "I10", "K29", "N30", "L20"]
REASONS = ["low_symptom_recall", "example_leakage", "near_duplicate", "too_short"]


def _row(graph, code: str, i: int, rng: random.Random, variant: str, keep: bool) -> dict:
    labels = [s.label for s in graph.symptoms(code)[:6]] or ["слабость"]
    chosen = rng.sample(labels, k=min(len(labels), rng.randint(1, 3)))
    family = rng.choice(["symptoms", "example", "code"])
    model, backend = rng.choice([("template", "template"), ("tiny-llama", "transformers")])
    text = f"Пациент жалуется на {', '.join(chosen)}. Вариант {variant}, запись {i}."
    reasons = [] if keep else [rng.choice(REASONS)]
    return {
        "id": f"{variant}-{code}-{i:04d}",
        "icd10_code": code,
        "icd10_name": graph.name(code),
        "icd10_chapter": graph.chapter(code)["code"],
        "generation_model": model,
        "backend": backend,
        "prompt_family": family,
        "prompt_template": f"{family}-v1",
        "messages": [{"role": "user", "content": f"Напиши жалобы пациента для {code}: {', '.join(chosen)}"}],
        "prior": {
            "symptoms": [{"label": s, "weight": round(rng.random(), 3)} for s in chosen],
            "sex": rng.choice(["male", "female"]),
            "age": rng.randint(18, 90),
            "marital_status": rng.choice(["married", "single"]),
            "smoking": rng.random() < 0.3,
        },
        "example_id": str(rng.randint(0, 4000)) if family == "example" else "",
        "text": text,
        "seed": i,
        "prompt_tokens": rng.randint(40, 120),
        "completion_tokens": len(text.split()) * 2,
        "symptom_recall": round(rng.random(), 3),
        "matched_symptoms": chosen[:1],
        "leakage": family == "example" and "example_leakage" in reasons,
        "example_overlap": round(rng.random() * 0.4, 3) if family == "example" else 0.0,
        "example_longest_ngram": rng.randint(1, 12) if family == "example" else 0,
        "cyrillic_share": 0.95,
        "n_words": len(text.split()) + rng.randint(0, 40),
        "near_duplicate_of": "",
        "keep": keep,
        "reject_reasons": reasons,
    }


def make_corpus(out: Path, n: int = 60, seed: int = 0, variant: str = "a", shards: int = 1) -> Path:
    """Write `out` with data/ (kept), unfiltered/ (all) shards and build_info.json; about 1 in 4 rows is rejected."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from medsyn.builder.kg.graph import load_graph
    from medsyn.builder.corpus.schema import FEATURES

    graph = load_graph()
    rng = random.Random(seed)
    rows = [_row(graph, CODES[i % len(CODES)], i, rng, variant, keep=rng.random() > 0.25) for i in range(n)]
    kept = [r for r in rows if r["keep"]]
    for folder, subset in (("data", kept), ("unfiltered", rows)):
        (out / folder).mkdir(parents=True, exist_ok=True)
        parts = [subset[k::shards] for k in range(shards)]
        for k, part in enumerate(parts):
            table = pa.Table.from_pylist(part, schema=FEATURES.arrow_schema)
            pq.write_table(table, out / folder / f"train-{k:05d}-of-{shards:05d}.parquet")
    graph_sources = graph.provenance.get("sources", [])
    info = {
        "format": "medsyn-corpus",
        "medsyn_version": "0.1.0",
        "seed": seed,
        "n_requested": n,
        "backend": {"name": "template", "model": "template"},
        "models": {"template": n},
        "prompt_families": {"symptoms": n},
        "mkg": {"path": "embedded", "sources": graph_sources},
        "filters": {"min_symptom_recall": 0.3, "max_example_longest_ngram": 8, "min_cyrillic_share": 0.8,
                    "min_words": 5, "max_words": 400},
        "dedup": {"method": "minhash-lsh", "threshold": 0.8, "num_perm": 128},
        "summary": {"requested": n, "generated": n, "failed": 0, "kept": len(kept), "filtered": n - len(kept),
                    "near_duplicates": 0, "prompt_tokens": sum(r["prompt_tokens"] for r in rows),
                    "completion_tokens": sum(r["completion_tokens"] for r in rows), "cost": 0.0},
    }  # fmt: skip
    (out / "build_info.json").write_text(json.dumps(info, ensure_ascii=False, indent=1), encoding="utf-8")
    return out


def make_results(out: Path, seeds: tuple[int, ...] = (0, 1, 2), corpus: Path | None = None) -> Path:
    """A benchmark RESULTS_DIR as `medsyn benchmark` writes it, from made-up predictions of distinct quality
    (settings at real fractions 0.5 and 1, TSTR), summarised by the benchmark's own functions; computed on
    `corpus` (its fingerprint is recorded, as `medsyn benchmark` does) when given."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from medsyn.training.benchmark import report as benchmark_report
    from medsyn.training.benchmark.run import notes_saved, tstr_per_code
    from medsyn.training.benchmark.stats import METRICS, Run, bootstrap_summary
    from medsyn.training.benchmark.metrics.icd_topk.icd_topk import score

    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(7)
    codes = ["M54", "K29", "J06", "I11", "E11", "N30"]
    references = [rng.choice(codes) for _ in range(120)]
    plan = [("real", None, 1.0, 0.7), ("real+synthetic@0.5", 0.5, 1.0, 0.72), ("TSTR", None, 0.0, 0.3),
            ("upsample", None, 1.0, 0.69), ("real", None, 0.5, 0.55), ("real+synthetic@0.5", 0.5, 0.5, 0.62),
            ("upsample", None, 0.5, 0.56)]
    settings, runs, summary_rows = [], [], []
    for name, ratio, fraction, skill in plan:
        key = name if fraction == 1 else f"{name}@real{fraction:g}"
        for seed in seeds:
            predictions = [[r] + [c for c in codes if c != r][:2] if rng.random() < skill
                           else [c for c in codes if c != r][:3] for r in references]
            scores = score(predictions, references, hard_codes=["M54", "K29"], rare_codes=["N30"])
            settings.append({"name": name, "classifier": "tfidf-lr", "seed": seed, "real_fraction": fraction,
                             "synthetic_ratio": ratio, "n_train_real": 0 if name == "TSTR" else int(200 * fraction),
                             "n_train_synthetic": 100 if ratio else (200 if name == "TSTR" else 0),
                             "metrics": {m: scores[m] for m in METRICS},
                             "per_code_accuracy": scores["per_code_accuracy"]})
            runs.append(Run(key, seed, predictions))
        summary_rows.append({"name": name, "classifier": "tfidf-lr", "real_fraction": fraction,
                             "synthetic_ratio": ratio, "n_seeds": len(seeds), "key": key})
    baseline = {row["key"]: "real" if row["real_fraction"] in (0.0, 1.0) else "real@real0.5"
                for row in summary_rows if row["name"] != "real"}
    summary = bootstrap_summary(runs, references, {"M54", "K29"}, 200, rare={"N30"}, baseline=baseline)
    for row in summary_rows:
        row["metrics"] = summary[row.pop("key")]
    counts = Counter(references)
    results = {
        "settings": settings, "hard_codes": ["K29", "M54"], "rare_codes": ["N30"], "summary": summary_rows,
        "synthetic_source": {"path": "corpus", "n_notes": 300, "n_codes": 6, "backend": {"template": 300}},
        "real_notes_saved": notes_saved(summary_rows, 200),
        "tstr_per_code": tstr_per_code(settings, counts, Counter({c: 50 for c in codes}), counts),
        "hard_codes_selection": {"chosen_on": "dev"},
        "rare_codes_selection": {"quantile": 0.25, "max_real_notes": counts["N30"]},
        "train": {"path": "train.jsonl", "n_notes": 200, "notes_per_code": dict(counts)},
        "eval": {"path": "dev.jsonl", "n_notes": len(references), "unseen_codes": {"n_notes": 0}},
        "intervals": "95% BCa bootstrap over evaluation notes (scipy.stats.bootstrap), paired across settings",
    }
    if corpus is not None:
        from medsyn.builder.corpus.provenance import corpus_fingerprint

        results["synthetic_source"]["fingerprint"] = corpus_fingerprint(corpus)
    (out / "results.json").write_text(json.dumps(results), encoding="utf-8")
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    fig.savefig(out / "per_code_f1.png")
    plt.close(fig)
    (out / "results.md").write_text(benchmark_report.markdown_report(results), encoding="utf-8")
    return out


def stored_generations(db: Path) -> int:
    """Finished generations in a build's store (`generations.sqlite`) while the build may still be writing it:
    what a test polls before killing a build mid-run (0 before the store exists)."""
    try:
        with sqlite3.connect(db) as conn:
            return conn.execute("SELECT count(*) FROM generations WHERE error IS NULL").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
