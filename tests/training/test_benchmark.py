"""The ICD-10 benchmark end to end on a reduced RuMedTop3 subset, its metrics, and its handling of bad input."""

from __future__ import annotations

import json
import math
import random
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest


REPO = Path(__file__).resolve().parents[2]
RUMEDTOP3 = REPO.parent / "shared" / "data" / "rumedbench" / "RuMedTop3"
# Twelve codes of mixed frequency for the reduced run (notes capped per code to keep it to seconds).
SUBSET_CODES = ["M54", "J06", "I11", "K29", "G44", "N30", "L20", "E11", "H10", "M17", "J20", "R51"]


pytestmark = pytest.mark.usefixtures("offline_hf_home")


def make_synthetic_corpus(
    out_dir: Path, codes: list[str], per_code: int = 20, seed: int = 0, backend: str = "template",
    drop_columns: tuple[str, ...] = (), build_info: dict | None = None,
) -> Path:
    """A corpus folder in `medsyn build`'s layout whose notes are made from MKG symptom labels (no real text).

    Stands in for the builder's `template` backend until it lands; switch the row text to the real backend then.
    """
    import datasets

    from medsyn.builder.kg.graph import load_graph
    from medsyn.builder.corpus.schema import FEATURES

    graph = load_graph()
    rng = random.Random(seed)
    rows = []
    for code in codes:
        links = graph.symptoms(code) if code in graph.codes_with_symptoms else []
        labels = [s.label for s in links] or [graph.name(code).lower()]
        weights = [math.exp(s.weight / 0.1) for s in links] or [1.0]  # graph weights are softmax logits (T 0.1)
        for i in range(per_code):
            picked = sorted(set(rng.choices(labels, weights=weights, k=min(4, len(labels)))))
            sex, age = rng.choice(["male", "female"]), rng.randint(18, 80)
            text = f"Жалобы на {', '.join(picked)}. Беспокоит в течение {rng.randint(2, 14)} дней."
            rows.append({
                "id": f"{code}-{i}", "icd10_code": code, "icd10_name": graph.name(code),
                "icd10_chapter": str(graph.chapter(code)),
                "generation_model": "template" if backend == "template" else "tiny-llama", "backend": backend,
                "prompt_family": "symptoms", "prompt_template": "t0",
                "messages": [{"role": "user", "content": "Напиши жалобы пациента."}],
                "prior": {"symptoms": [{"label": p, "weight": 1.0} for p in picked], "sex": sex, "age": age,
                          "marital_status": "married", "smoking": False},
                "example_id": "", "text": text, "seed": seed, "prompt_tokens": 0, "completion_tokens": 0,
                "symptom_recall": 1.0, "matched_symptoms": picked, "semantic_symptom_recall": 1.0, "leakage": False,
                "example_overlap": 0.0,
                "example_longest_ngram": 0, "cyrillic_share": 1.0, "n_words": len(text.split()),
                "near_duplicate_of": "", "keep": True, "reject_reasons": [],
                "bertscore_precision": None, "bertscore_recall": None, "bertscore_f1": None,
            })
    columns = {name: [row.get(name) for row in rows] for name in FEATURES}  # columns it lacks: null
    table = datasets.Dataset.from_dict(columns, features=FEATURES)
    if drop_columns:
        table = table.remove_columns(list(drop_columns))
    for folder in ("data", "unfiltered"):
        (out_dir / folder).mkdir(parents=True, exist_ok=True)
        table.to_parquet(str(out_dir / folder / "train-00000-of-00001.parquet"))
    (out_dir / "README.md").write_text(
        "---\nlanguage: ru\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n    path: "
        "data/train-*.parquet\n- config_name: unfiltered\n  data_files:\n  - split: train\n    path: "
        "unfiltered/train-*.parquet\n---\n# test corpus\n", encoding="utf-8")
    if build_info is not None:
        (out_dir / "build_info.json").write_text(json.dumps(build_info), encoding="utf-8")
    return out_dir


def write_notes(path: Path, notes: list[dict]) -> Path:
    path.write_text("".join(json.dumps(n, ensure_ascii=False) + "\n" for n in notes), encoding="utf-8")
    return path


def rumedtop3_subset(out_dir: Path, codes: list[str] = SUBSET_CODES, cap: int = 50) -> tuple[Path, Path]:
    """Train/dev files restricted to `codes` (at most `cap` train notes per code), written under tmp."""
    if not RUMEDTOP3.is_dir():
        pytest.skip(f"{RUMEDTOP3} not found (shared data sits beside the repository in CI)")
    out = []
    for split in ("train", "dev"):
        kept, seen = [], {}
        for line in (RUMEDTOP3 / f"{split}_v1.jsonl").read_text(encoding="utf-8").splitlines():
            note = json.loads(line)
            if note["code"] in codes and (split == "dev" or seen.get(note["code"], 0) < cap):
                seen[note["code"]] = seen.get(note["code"], 0) + 1
                kept.append(note)
        out.append(write_notes(out_dir / f"{split}.jsonl", kept))
    return out[0], out[1]


def toy_notes(codes: list[str], per_code: int, seed: int) -> list[dict]:
    """Small "real-format" notes made from MKG labels, for the fast bad-input tests that need no shared data."""
    from medsyn.builder.kg.graph import load_graph

    graph, rng = load_graph(), random.Random(seed)
    notes = []
    for code in codes:
        labels = [s.label for s in graph.symptoms(code)]
        for i in range(per_code):
            notes.append({"idx": f"{seed}-{code}-{i}", "code": code,
                          "symptoms": ", ".join(rng.sample(labels, k=min(3, len(labels))))})
    return notes


def one_error_line(err: str) -> str:
    """The CLI's error message, checked to be a single line (progress bars of the test's own setup aside)."""
    lines = [line for line in err.splitlines() if line.startswith("medsyn benchmark: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def cli(argv: list[str]) -> int:
    """`medsyn <argv>` through the real entry point."""
    from medsyn import cli as medsyn_cli

    return medsyn_cli.main(argv)


# ------------------------------------------------------------------------------------------ the reduced run


@pytest.fixture(scope="module")
def reduced_run(tmp_path_factory):
    """One reduced benchmark (12 codes, 2 seeds, ratios 0.5 and 1, real fractions 0.5 and 1) shared by the tests
    that read its output."""
    monkeypatch = pytest.MonkeyPatch()
    home = tmp_path_factory.getbasetemp() / "hf_home"
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(home / "datasets"))
    root = tmp_path_factory.mktemp("reduced")
    train, dev = rumedtop3_subset(root)
    corpus = root / "corpus"  # the real builder with the template backend: the no-LLM baseline
    from medsyn.builder.kg.graph import load_graph
    from medsyn.cli import main as medsyn_main

    graph = load_graph()  # H10, R51: not in RuMedTop3 (H10 has MedSyn's symptoms, but no real notes)
    codes = [code for code in SUBSET_CODES if code in graph.codes_with_symptoms and graph.node(code).get("n_notes")]
    assert medsyn_main(["build", "--out", str(corpus), "--n", "480", "--codes", *codes,
                        "--code-strategy", "uniform", "--quiet"]) == 0
    out = root / "results"
    code = cli(["benchmark", "--train", str(train), "--eval", str(dev), "--dev", str(dev), "--synthetic", str(corpus),
                "--seeds", "2", "--ratios", "0.5,1", "--real-fractions", "0.5,1", "--bootstrap", "200",
                "--out", str(out)])
    monkeypatch.undo()
    assert code == 0
    return out, json.loads((out / "results.json").read_text(encoding="utf-8")), train, dev


def test_results_json_follows_the_documented_schema(reduced_run):
    out, results, train, dev = reduced_run
    names = [("real", 1), ("real+synthetic@0.5", 1), ("real+synthetic@1", 1), ("TSTR", 0), ("upsample", 1),
             ("real", 0.5), ("real+synthetic@0.5", 0.5), ("real+synthetic@1", 0.5), ("upsample", 0.5)]
    assert [(e["name"], e["real_fraction"], e["seed"]) for e in results["settings"]] == [
        (n, f, s) for s in (0, 1) for n, f in names]
    assert [(r["name"], r["real_fraction"]) for r in results["summary"]] == names
    for entry in results["settings"]:
        assert entry["classifier"] == "tfidf-lr"
        assert set(entry["metrics"]) == {"accuracy", "hit@3", "macro_f1", "hard_codes_accuracy", "rare_codes_accuracy"}
        assert 0 <= entry["metrics"]["accuracy"] <= entry["metrics"]["hit@3"] <= 1
        assert (out / entry["predictions"]).is_file()
    n_real = sum(1 for _ in open(train, encoding="utf-8"))
    sizes = {(e["name"], e["real_fraction"]): (e["n_train_real"], e["n_train_synthetic"]) for e in results["settings"]}
    assert sizes["real", 1] == (n_real, 0)
    assert sizes["real+synthetic@0.5", 1] == (n_real, round(0.5 * n_real))
    # Synthetic notes are shares of the full real size at every fraction; TSTR is as large as the real file.
    assert sizes["real+synthetic@0.5", 0.5] == (sizes["real", 0.5][0], round(0.5 * n_real))
    assert sizes["TSTR", 0] == (0, n_real)
    assert n_real * 0.45 < sizes["real", 0.5][0] < n_real * 0.55
    assert sizes["upsample", 1][1] == sum(results["upsample"]["codes"].values()) > 0
    # Hard codes: a non-empty subset of the dev codes, about a quarter of them.
    dev_codes = {json.loads(line)["code"] for line in open(dev, encoding="utf-8")}
    assert results["hard_codes"] and set(results["hard_codes"]) <= dev_codes
    assert len(results["hard_codes"]) < len(dev_codes)
    assert results["hard_codes_selection"]["chosen_on"] == "dev"
    # Rare codes: the first quartile of real training counts, counted on the training file.
    counts = Counter(json.loads(line)["code"] for line in open(train, encoding="utf-8"))
    quartile = np.quantile(list(counts.values()), 0.25)
    assert results["rare_codes"] == sorted(c for c, n in counts.items() if n <= quartile)
    source = results["synthetic_source"]
    kept = json.loads((out.parent / "corpus" / "build_info.json").read_text(encoding="utf-8"))["summary"]["kept"]
    assert source["backend"] == {"template": kept} and source["generation_model"] == {"template": kept}
    assert source["build_info"]["backend"]["name"] == "template" and source["build_info"]["seed"] == 0
    assert results["eval"]["unseen_codes"]["n_notes"] == 0
    # The per-code TSTR table: every evaluation code, TSTR accuracy = the mean over seeds of the per-code accuracy.
    tstr = {r["code"]: r for r in results["tstr_per_code"]}
    assert set(tstr) == dev_codes
    for code, row in tstr.items():
        runs = [e["per_code_accuracy"][code] for e in results["settings"] if e["name"] == "TSTR"]
        assert row["tstr_accuracy"] == pytest.approx(np.mean(runs)) and row["n_train_real"] == counts[code]
    saved = results["real_notes_saved"]
    assert set(saved) == {"real+synthetic@0.5", "real+synthetic@1", "upsample"}
    assert all([r["real_fraction"] for r in rows] == [0.5, 1.0] for rows in saved.values())


def test_every_reported_interval_contains_its_point_estimate(reduced_run):
    out, results, _, _ = reduced_run
    checked = 0
    for row in results["summary"]:
        for metric, stat in row["metrics"].items():
            for value in (stat, stat.get("diff_to_real")):
                if value and value["mean"] is not None:
                    low, high = value["ci95"]
                    assert low <= value["mean"] <= high, (row["name"], row["real_fraction"], metric, value)
                    checked += 1
    assert checked >= 9 * 5 + 8 * 5 - 10  # every setting's metrics and differences (hard/rare may be absent)
    # results.md prints each of them in %, the point inside its interval
    table = (out / "results.md").read_text(encoding="utf-8")
    for mean, low, high in re.findall(r"(\d+\.\d) \[(\d+\.\d), (\d+\.\d)\]", table):
        assert float(low) <= float(mean) <= float(high)


def test_subsamples_are_stratified_nested_and_seeded():
    from medsyn.training.benchmark.run import Note, subsample

    counts = {"A": 1, "B": 3, "C": 10, "D": 41}
    real = [Note(f"{code}{i}", f"text {code} {i}", code) for code, n in counts.items() for i in range(n)]
    random.Random(0).shuffle(real)
    small, large = subsample(real, 0.1, seed=0), subsample(real, 0.25, seed=0)
    assert Counter(n.code for n in small) == {"A": 1, "B": 1, "C": 1, "D": 4}  # every code keeps at least one
    assert Counter(n.code for n in large) == {"A": 1, "B": 1, "C": 2, "D": 10}
    assert {n.note_id for n in small} <= {n.note_id for n in large}  # nested
    assert [n.note_id for n in small] == [n.note_id for n in real if n in small]  # file order kept
    assert subsample(real, 0.25, seed=0) == large and subsample(real, 0.25, seed=1) != large
    assert subsample(real, 1.0, seed=3) == real


def test_real_notes_saved_interpolates_the_real_only_curve():
    from medsyn.training.benchmark.stats import real_notes_saved

    curve = {0.1: 0.30, 0.25: 0.40, 0.5: 0.46, 1.0: 0.50}
    rows = real_notes_saved(curve, {0.1: 0.43, 0.25: 0.39, 1.0: 0.52}, n_real=1000)
    first, second, third = rows
    assert first["matched_real_fraction"] == pytest.approx(0.25 + 0.25 * (0.03 / 0.06))  # halfway 0.25 -> 0.5
    assert first["real_notes_saved"] == round((0.375 - 0.1) * 1000) and not first["at_least"]
    assert second["matched_real_fraction"] is None and second["real_notes_saved"] == 0  # below real-only
    assert third["matched_real_fraction"] == 1.0 and third["at_least"]  # better than all real data


def test_real_only_learns_the_codes(reduced_run):
    _, results, _, _ = reduced_run
    real = [e["metrics"] for e in results["settings"] if e["name"] == "real"]
    # 12 codes: chance is ~8% accuracy and 25% hit@3; a working classifier is far above.
    assert all(m["accuracy"] > 0.3 and m["hit@3"] > 0.6 for m in real)


def test_summary_has_paired_differences_to_real_at_the_same_fraction(reduced_run):
    _, results, _, _ = reduced_run
    summary = {(row["name"], row["real_fraction"]): row["metrics"] for row in results["summary"]}
    for (name, fraction), metrics in summary.items():
        for metric, stat in metrics.items():
            seeds = [e["metrics"][metric] for e in results["settings"]
                     if e["name"] == name and e["real_fraction"] == fraction]
            assert stat["mean"] == pytest.approx(np.mean(seeds))
            if name == "real":
                assert "diff_to_real" not in stat
            else:
                base = summary["real", 1.0 if name == "TSTR" else fraction][metric]["mean"]
                assert stat["diff_to_real"]["mean"] == pytest.approx(stat["mean"] - base)


def rumedbench_scores(path: Path) -> tuple[float, float]:
    """RuMedBench eval.py's RuMedTop3 scores, re-implemented: top-1 accuracy and hit@3 over the prediction set."""
    records = [json.loads(line) for line in open(path, encoding="utf-8")]
    gold = [r["code"] for r in records]
    top1 = [r["prediction"][0] for r in records]
    top3 = [set(r["prediction"]) for r in records]
    accuracy = sum(g == p for g, p in zip(gold, top1)) / len(gold)
    hit = sum(g in row for g, row in zip(gold, top3)) / len(gold)
    return accuracy, hit


def test_prediction_files_score_the_same_with_rumedbench(reduced_run):
    out, results, _, dev = reduced_run
    dev_notes = [json.loads(line) for line in open(dev, encoding="utf-8")]
    for entry in results["settings"]:
        path = out / entry["predictions"]
        assert path == (out / "predictions" / "tfidf-lr" / f"real{entry['real_fraction']:g}" / entry["name"]
                        / f"seed{entry['seed']}" / "RuMedTop3.jsonl")
        records = [json.loads(line) for line in open(path, encoding="utf-8")]
        assert [(r["idx"], r["code"]) for r in records] == [(n["idx"], n["code"]) for n in dev_notes]
        assert all(len(r["prediction"]) == 3 and len(set(r["prediction"])) == 3 for r in records)
        accuracy, hit = rumedbench_scores(path)
        assert accuracy == pytest.approx(entry["metrics"]["accuracy"], abs=1e-12)
        assert hit == pytest.approx(entry["metrics"]["hit@3"], abs=1e-12)


def test_markdown_table_and_plots(reduced_run):
    out, results, _, _ = reduced_run
    table = (out / "results.md").read_text(encoding="utf-8")
    lines = table.splitlines()
    assert lines[0].startswith("| Setting | Real fraction | Real | Synthetic | Accuracy | Hit@3 | Macro-F1 | Hard codes")
    rows = [line for line in lines if line.startswith("| `")][: len(results["summary"])]
    assert [row.split("|")[1].strip() for row in rows] == [f"`{r['name']}`" for r in results["summary"]]
    real_accuracy = results["summary"][0]["metrics"]["accuracy"]["mean"]
    assert f"{100 * real_accuracy:.1f} [" in rows[0]
    assert "`template`" in table and "Hard codes (" in table and "Rare codes (" in table
    assert "## Real notes saved" in table and "## TSTR per code" in table
    import matplotlib.image

    for name in ("metric_vs_ratio.png", "metric_vs_real_fraction.png", "per_code_gain.png"):
        image = matplotlib.image.imread(out / name)
        assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 300
        assert image.std() > 0.01  # something is drawn


# ------------------------------------------------------------------------------------------ metrics and bootstrap


def random_predictions(rng, codes, n, k=3):
    preds = []
    for _ in range(n):
        chosen = list(rng.choice(codes, size=rng.integers(0, k + 1), replace=False))
        preds.append([str(c) for c in chosen])
    return preds


def test_metric_module_loads_by_path_and_scores():
    from medsyn.training.benchmark.run import load_metric

    metric = load_metric()
    scores = metric.compute(predictions=[["M54", "G44", "J06"], ["J06"], [], ["I11", "M54"]],
                            references=["G44", "J06", "M54", "M54"], hard_codes=["M54"])
    assert scores["accuracy"] == 0.25
    assert scores["hit@3"] == 0.75
    assert scores["hard_codes_accuracy"] == 0.0
    assert scores["per_code_accuracy"] == {"G44": 0.0, "J06": 1.0, "M54": 0.0}
    # F1: G44 0, J06 1, M54 0 (predicted once as top-1, wrongly)
    assert scores["macro_f1"] == pytest.approx(1 / 3)
    assert metric.compute(predictions=[["A"]], references=["A"])["hard_codes_accuracy"] is None


def test_bootstrap_full_sample_equals_the_metric():
    from medsyn.training.benchmark.stats import Scorer
    from medsyn.training.benchmark.metrics.icd_topk.icd_topk import score

    metrics = ("accuracy", "hit@3", "macro_f1", "hard_codes_accuracy", "rare_codes_accuracy")

    rng = np.random.default_rng(0)
    codes = np.array(["A01", "B02", "C03", "D04", "E05", "F06"])
    references = [str(c) for c in rng.choice(codes[:5], size=300)]
    predictions = random_predictions(rng, codes, 300)
    hard, rare = {"A01", "C03"}, {"E05"}
    scorer = Scorer(references, hard, rare)
    expected = score(predictions, references, hard_codes=hard, rare_codes=rare)
    got = scorer.scores(np.ones((1, 300)), predictions)
    for metric in metrics:
        assert got[metric][0] == pytest.approx(expected[metric], abs=1e-12), metric
    # Integer weights are the same as repeating notes, macro-F1 included (over the codes the resample holds).
    weights = rng.integers(0, 3, size=300)
    weights[[i for i, r in enumerate(references) if r == "B02"]] = 0  # a resample that lost a code entirely
    repeated = [i for i, w in enumerate(weights) for _ in range(w)]
    expected = score([predictions[i] for i in repeated], [references[i] for i in repeated], hard_codes=hard,
                     rare_codes=rare)
    got = scorer.scores(weights[None, :].astype(float), predictions)
    for metric in metrics:
        assert got[metric][0] == pytest.approx(expected[metric], abs=1e-12), metric


def test_bootstrap_difference_of_a_setting_with_itself_is_zero_and_interval_covers_the_mean():
    from medsyn.training.benchmark.run import Run, bootstrap_summary

    rng = np.random.default_rng(1)
    codes = np.array(["A01", "B02", "C03"])
    references = [str(c) for c in rng.choice(codes, size=200)]
    good = [[r] if rng.random() < 0.7 else ["Z00"] for r in references]
    summary = bootstrap_summary([Run("real", 0, good), Run("copy", 0, good)], references, {"A01"}, resamples=300)
    assert summary["copy"]["accuracy"]["diff_to_real"] == {"mean": 0.0, "ci95": [0.0, 0.0]}
    low, high = summary["real"]["accuracy"]["ci95"]
    assert low < summary["real"]["accuracy"]["mean"] < high
    assert high - low < 0.2  # n=200 at p=0.7: the 95% interval is about +-6 points


# ------------------------------------------------------------------------------------------ settings


def test_upsample_plan_adds_to_the_rarest_codes_up_to_the_median():
    from medsyn.training.benchmark.run import upsample_plan

    codes = ["A"] * 2 + ["B"] * 5 + ["C"] * 10 + ["D"] * 20 + ["E"] * 40
    assert upsample_plan(codes, 0.25) == {"A": 8, "B": 5}


def test_training_sets_are_seeded_and_sized(tmp_path):
    from medsyn.training.benchmark.run import Note, SyntheticCorpus, Setting, training_set

    real = [Note(str(i), f"real {i}", "AB"[i % 2]) for i in range(40)]
    synthetic = SyntheticCorpus([f"syn {i}" for i in range(100)], ["ABC"[i % 3] for i in range(100)], {})
    mixed = Setting("real+synthetic@0.5", "mixed", 0.5)
    texts, codes, n = training_set(mixed, real, synthetic, 3, {})
    assert n == 20 and len(texts) == 60 and texts[:40] == [r.text for r in real]
    assert training_set(mixed, real, synthetic, 3, {}) == (texts, codes, n)
    assert training_set(mixed, real, synthetic, 4, {})[0] != texts
    only = training_set(Setting("TSTR", "tstr"), real, synthetic, 0, {})
    assert only[2] == 40 and all(t.startswith("syn") for t in only[0])
    # At a real fraction the synthetic notes are counted against the full real size and are the same notes.
    half = training_set(mixed, real[:20], synthetic, 3, {}, n_real_full=40)
    assert half[0][20:] == texts[40:] and half[2] == 20
    up = training_set(Setting("upsample", "upsample"), real, synthetic, 0, {"C": 5, "A": 50})
    assert Counter(up[1][40:]) == {"C": 5, "A": 34}  # A has only 34 synthetic notes


def test_tfidf_classifier_is_reproducible_and_ranks_top_k():
    from medsyn.training.benchmark.classifiers import TfidfLogReg

    notes = toy_notes(["M54", "J06", "K29", "E11"], per_code=12, seed=0)
    texts, codes = [n["symptoms"] for n in notes], [n["code"] for n in notes]
    first = TfidfLogReg(seed=0).fit(texts, codes).predict_top_k(texts[:10], k=3)
    assert first == TfidfLogReg(seed=0).fit(texts, codes).predict_top_k(texts[:10], k=3)
    assert all(len(p) == 3 and len(set(p)) == 3 for p in first)
    assert TfidfLogReg(seed=0).fit(texts, codes).predict_top_k(texts[:2], k=10)[0].__len__() == 4


def test_shared_ngram_counts_give_the_features_of_a_vectorizer_fitted_on_the_training_texts():
    """The benchmark counts n-grams once over every note (in parallel chunks); each fit must still see exactly the
    columns and TF-IDF weights of a TfidfVectorizer fitted on its own training texts (min_df and idf from those rows
    only)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from medsyn.training.benchmark.classifiers import TfidfLogReg
    from medsyn.training.benchmark.features import NgramCounts

    notes = toy_notes(["M54", "J06", "K29", "E11"], per_code=12, seed=0)
    others = toy_notes(["I11", "N30", "J06"], per_code=10, seed=1)  # in the union, not in this training set
    texts, codes = [n["symptoms"] for n in notes], [n["code"] for n in notes]
    union = texts + [n["symptoms"] for n in others]
    grams = TfidfLogReg.analyzer, TfidfLogReg.ngram_range
    counts = NgramCounts.fit(union, *grams, n_jobs=2)  # counted in two processes, merged
    single = NgramCounts.fit(union, *grams, n_jobs=1)
    assert single.vectorizer.vocabulary_ == counts.vectorizer.vocabulary_ and single.row == counts.row
    assert (single.matrix != counts.matrix).nnz == 0
    shared = TfidfLogReg(seed=0, counts=counts).fit(texts, codes)
    alone = TfidfVectorizer(analyzer="char", ngram_range=(3, 5), min_df=3, sublinear_tf=True).fit(texts)
    assert len(counts.vectorizer.vocabulary_) > len(alone.vocabulary_)  # the union holds n-grams of other notes
    names = counts.vectorizer.get_feature_names_out()[shared.columns]
    assert names.tolist() == alone.get_feature_names_out().tolist()
    held_out = [n["symptoms"] for n in others]
    for batch in (texts, held_out):  # rows of the union and texts counted afresh
        mine = shared.tfidf.transform(counts.rows(batch)[:, shared.columns]).toarray()
        assert np.allclose(mine, alone.transform(batch).toarray())
    # A fit without shared counts (its own vectoriser) predicts the same codes.
    own = TfidfLogReg(seed=0).fit(texts, codes)
    assert own.predict_top_k(held_out, 3) == shared.predict_top_k(held_out, 3)
    # Counts of other n-grams than the classifier asks for are not used: it counts its own.
    other = TfidfLogReg(seed=0, ngram_range=(3, 6), counts=counts).fit(texts, codes)
    assert other.counts is not counts and other.counts.counts_as("char", (3, 6))


def test_tfidf_epochs_fix_the_sgd_passes_or_run_to_the_tolerance():
    from medsyn.training.benchmark.classifiers import TfidfLogReg

    notes = toy_notes(["M54", "J06", "K29"], per_code=10, seed=0)
    texts, codes = [n["symptoms"] for n in notes], [n["code"] for n in notes]
    assert TfidfLogReg(seed=0, epochs=2).fit(texts, codes).model.n_iter_ == 2
    assert TfidfLogReg(seed=0).fit(texts, codes).model.n_iter_ == TfidfLogReg.epochs
    assert TfidfLogReg(seed=0, epochs=None).fit(texts, codes).model.get_params()["tol"] is not None


# ------------------------------------------------------------------------------------------ bad input


@pytest.fixture
def toy_inputs(tmp_path):
    codes = ["M54", "J06", "K29", "E11", "I11", "N30"]
    train = write_notes(tmp_path / "train.jsonl", toy_notes(codes, 10, seed=0))
    evaluation = write_notes(tmp_path / "eval.jsonl", toy_notes(codes, 3, seed=1))
    corpus = make_synthetic_corpus(tmp_path / "corpus", codes, per_code=6)
    return tmp_path, train, evaluation, corpus


def test_unseen_evaluation_codes_are_reported_not_fatal(toy_inputs, caplog):
    tmp_path, train, evaluation, corpus = toy_inputs
    extra = toy_notes(["L20", "H10"], 2, seed=2)
    with open(evaluation, "a", encoding="utf-8") as handle:
        handle.writelines(json.dumps(n, ensure_ascii=False) + "\n" for n in extra)
    out = tmp_path / "out"
    code = cli(["benchmark", "--train", str(train), "--eval", str(evaluation), "--synthetic", str(corpus),
                "--seeds", "1", "--ratios", "1", "--bootstrap", "20", "--out", str(out)])
    assert code == 0
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["eval"]["unseen_codes"] == {"n_notes": 4, "n_codes": 2, "codes": ["H10", "L20"]}
    assert "never seen" in caplog.text and "H10, L20" in caplog.text
    assert "4 evaluation notes have 2 code(s) absent" in (out / "results.md").read_text(encoding="utf-8")
    # Without --dev the hard codes come from a split of the training file.
    assert results["hard_codes_selection"]["chosen_on"].endswith("of the training file (per code)")


def test_ratios_past_the_corpus_size_are_one_setting_not_two(toy_inputs, caplog):
    """60 real notes, 36 synthetic: @1 and @2 would both train on all 36 (so would TSTR, which asks for 60).
    One warning says so before any fit, @2 is not run, and results.json and results.md give the notes each used."""
    tmp_path, train, evaluation, corpus = toy_inputs
    out = tmp_path / "out"
    assert cli(["benchmark", "--train", str(train), "--eval", str(evaluation), "--synthetic", str(corpus),
                "--seeds", "2", "--ratios", "0.5,1,2", "--bootstrap", "20", "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    ran = {e["name"] for e in results["settings"]}
    assert ran == {"real", "real+synthetic@0.5", "real+synthetic@1", "TSTR", "upsample"}
    use = results["synthetic_use"]
    assert use["n_notes"] == 36
    assert use["left_out"] == [{"name": "real+synthetic@2", "requested": 120, "used": 36,
                                "same_as": "real+synthetic@1"}]  # fmt: skip
    assert {u["name"]: (u["requested"], u["used"]) for u in use["settings"]} == {
        "real+synthetic@0.5": (30, 30), "real+synthetic@1": (60, 36), "TSTR": (60, 36)}
    assert {r["name"]: r["n_train_synthetic"] for r in results["summary"] if r["name"] != "upsample"} == {
        "real": 0, "real+synthetic@0.5": 30, "real+synthetic@1": 36, "TSTR": 36}
    warnings = [r.getMessage() for r in caplog.records if r.getMessage().startswith("synthetic notes: the corpus")]
    assert len(warnings) == 1, warnings
    assert "fewer than asked for (real+synthetic@1 60, real+synthetic@2 120, TSTR 60)" in warnings[0]
    assert "real+synthetic@2 (as real+synthetic@1)" in warnings[0]
    report = (out / "results.md").read_text(encoding="utf-8")
    assert "`real+synthetic@2` was not run: it would have trained on the same notes as `real+synthetic@1`" in report
    assert "each of these trained on all 36" in report and "`real+synthetic@2`" not in report.split("\n\n")[0]


def test_a_ratio_that_rounds_to_no_synthetic_note_is_real_under_another_name():
    from medsyn.training.benchmark.run import fit_to_corpus, settings_for

    settings, use = fit_to_corpus(settings_for([0.001, 0.5], [0.5, 1]), 36, 60)
    assert [x["name"] for x in use["left_out"]] == ["real+synthetic@0.001"]
    assert use["left_out"][0]["same_as"] == "real" and use["left_out"][0]["used"] == 0
    assert {s.name for s in settings} == {"real", "real+synthetic@0.5", "TSTR", "upsample"}
    assert len(settings) == 7  # real, @0.5 and upsample at both fractions; TSTR once


def test_empty_synthetic_corpus_is_a_clear_error(toy_inputs, capsys):
    tmp_path, train, evaluation, _ = toy_inputs
    empty = make_synthetic_corpus(tmp_path / "empty", [], per_code=0)
    out = tmp_path / "out"
    code = cli(["benchmark", "--train", str(train), "--eval", str(evaluation), "--synthetic", str(empty),
                "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err
    assert "synthetic corpus has no notes" in err and str(empty) in err
    assert not out.exists()


def test_corpus_without_icd10_code_is_a_clear_error(toy_inputs, capsys):
    tmp_path, train, evaluation, _ = toy_inputs
    corpus = make_synthetic_corpus(tmp_path / "nocode", ["M54"], per_code=3, drop_columns=("icd10_code",))
    code = cli(["benchmark", "--train", str(train), "--eval", str(evaluation), "--synthetic", str(corpus),
                "--out", str(tmp_path / "out")])
    assert code == 2
    err = capsys.readouterr().err
    assert "no column 'icd10_code' (columns found: id," in one_error_line(err)


def test_missing_or_unreadable_corpus_folder(toy_inputs, capsys):
    tmp_path, train, evaluation, _ = toy_inputs
    args = ["benchmark", "--train", str(train), "--eval", str(evaluation), "--out", str(tmp_path / "out")]
    assert cli(args + ["--synthetic", str(tmp_path / "nowhere")]) == 2
    assert "synthetic source not found" in capsys.readouterr().err
    (tmp_path / "bare").mkdir()
    assert cli(args + ["--synthetic", str(tmp_path / "bare")]) == 2
    # The one reader of foreign notes (builder/corpus/readers.py) says so for import and benchmark alike.
    assert "no notes found (no json/jsonl/ndjson/parquet/csv/tsv files in this folder)" in capsys.readouterr().err


def test_bad_notes_file_names_file_and_line(toy_inputs, capsys):
    tmp_path, train, _, corpus = toy_inputs
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"idx": "1", "symptoms": "боль", "code": "M54"}\n{"idx": "2", "symptoms": "боль"}\n',
                   encoding="utf-8")
    code = cli(["benchmark", "--train", str(train), "--eval", str(bad), "--synthetic", str(corpus),
                "--out", str(tmp_path / "out")])
    assert code == 2
    assert f"{bad}:2: missing field(s) code" in capsys.readouterr().err


def test_existing_out_is_refused_and_kept(toy_inputs, capsys):
    tmp_path, train, evaluation, corpus = toy_inputs
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    code = cli(["benchmark", "--train", str(train), "--eval", str(evaluation), "--synthetic", str(corpus),
                "--out", str(out)])
    assert code == 2 and "--overwrite" in capsys.readouterr().err
    assert (out / "keep.txt").read_text() == "x"


def test_config_file_mirrors_the_flags(toy_inputs, capsys):
    tmp_path, train, evaluation, corpus = toy_inputs
    config = tmp_path / "bench.yaml"
    config.write_text(f"train: {train.name}\neval: {evaluation.name}\nsynthetic: corpus\nout: from-config\n"
                      "seeds: 1\nratios: [0.5]\nbootstrap: 10\n", encoding="utf-8")
    assert cli(["benchmark", "--config", str(config), "--ratios", "1"]) == 0
    results = json.loads((tmp_path / "from-config" / "results.json").read_text(encoding="utf-8"))
    assert {e["name"] for e in results["settings"]} == {"real", "real+synthetic@1", "TSTR", "upsample"}
    assert results["config"]["bootstrap"] == 10
    config.write_text("train: a.jsonl\nbatch-size: 4\nlearnig-rate: 1\n", encoding="utf-8")
    assert cli(["benchmark", "--config", str(config)]) == 2
    assert "unknown key 'learnig_rate' (did you mean learning_rate?)" in capsys.readouterr().err
    config.write_text("train: a.jsonl\n", encoding="utf-8")
    assert cli(["benchmark", "--config", str(config)]) == 2
    assert "required: --eval, --out" in capsys.readouterr().err  # --synthetic or --generate: checked after


def test_card_reports_the_benchmark_of_the_built_corpus(reduced_run, tmp_path):
    """build -> benchmark -> card: the card's tables carry results.md's numbers (in %), intervals included."""
    import shutil

    from medsyn.dataset_card.benchmark_tables import diff_cell, results_table, saved_table
    from medsyn.dataset_card.card import write_card

    out, results, _, _ = reduced_run
    corpus = tmp_path / "corpus"
    shutil.copytree(out.parent / "corpus", corpus)
    card = write_card(corpus, out).read_text(encoding="utf-8")
    assert "template" in card
    assert results_table(results) in card and saved_table(results) in card
    for entry in results["summary"]:
        if entry["name"] != "real":
            diff = entry["metrics"]["accuracy"]["diff_to_real"]
            assert f"{100 * diff['mean']:+.1f} [{100 * diff['ci95'][0]:+.1f}, {100 * diff['ci95'][1]:+.1f}]" in card
            assert diff_cell(entry["metrics"]["rare_codes_accuracy"]) in card
    assert "### TSTR per code" in card and "### Real notes saved" in card
    for name in ("results.json", "metric_vs_real_fraction.png", "per_code_gain.png"):
        assert (corpus / "assets" / "benchmark" / name).is_file()
    assert "assets/benchmark/metric_vs_real_fraction.png" in card
