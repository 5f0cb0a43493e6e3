"""The benchmark's own synthetic notes per real fraction, synthetic-note weights, and the code budget learnt from
per-code gains (`medsyn budget`, `build --code-budget`, `benchmark --code-budget`)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from medsyn.builder.generate.sampling import PriorSampler, SamplingConfig
from medsyn.builder.kg.graph import load_graph
from medsyn.cli import main
from medsyn.training.benchmark.budget import code_budget
from medsyn.training.benchmark.classifiers import TfidfLogReg
from medsyn.training.benchmark.run import apply_budget
from medsyn.training.benchmark.sets import SyntheticCorpus, subsample
from tests.training.test_benchmark import rumedtop3_subset

pytestmark = pytest.mark.usefixtures("offline_hf_home")


def test_synthetic_weight_sets_how_much_synthetic_notes_move_the_fit():
    real = [("болит горло, насморк", "J06"), ("боль в пояснице", "M54")] * 20
    wrong = [("болит горло, насморк", "M54")] * 60  # synthetic notes that contradict the real ones
    texts, codes = [t for t, _ in real + wrong], [c for _, c in real + wrong]

    def top(weight: float) -> str:
        weights = [1.0] * len(real) + [weight] * len(wrong)
        model = TfidfLogReg(seed=0, min_df=1).fit(texts, codes, sample_weight=weights)
        return model.predict_top_k(["болит горло, насморк"], 1)[0][0]

    assert top(1.0) == "M54" and top(0.01) == "J06"


def _results(per_code: dict[str, tuple[float, float, float]], counts: dict[str, int]) -> dict:
    """results.json with one seed: code -> (real, real+synthetic@1, TSTR) accuracy."""
    def entry(name, fraction, index):
        return {"name": name, "real_fraction": fraction, "per_code_accuracy": {c: v[index] for c, v in per_code.items()}}

    return {
        "settings": [entry("real", 1.0, 0), entry("real+synthetic@1", 1.0, 1), entry("TSTR", 0.0, 2)],
        "summary": [{"name": "real+synthetic@1", "real_fraction": 1.0, "synthetic_ratio": 1.0, "n_train_synthetic": 9}],
        "train": {"path": "train_inner.jsonl", "notes_per_code": counts},
        "eval": {"path": "holdout_inner.jsonl"},
        "synthetic_source": {"fingerprint": "sha256:x", "path": "corpus"},
        "config": {"seeds": 1},
    }


def test_budget_gives_notes_where_synthetic_notes_helped_and_none_where_they_hurt():
    results = _results({"A01": (0.5, 0.7, 0.1), "B02": (0.5, 0.3, 0.9), "C03": (0.5, 0.5, 0.6),
                        "D04": (0.5, 0.5, 0.2)}, {"A01": 10, "B02": 20, "C03": 30, "D04": 40, "E05": 8})
    budget = code_budget(results)
    assert budget["codes"] == {"A01": 10, "B02": 0, "C03": 30, "D04": 0, "E05": 4}  # E05: never scored, half
    assert {r["code"]: r["verdict"] for r in budget["per_code"]}["E05"] == "unknown"
    assert budget["learnt_from"]["eval"] == "holdout_inner.jsonl"


def write_budget(folder: Path) -> Path:
    """`medsyn budget` of a run where J06 and M54 gained from synthetic notes and I10 lost: folder/budget.json."""
    run = folder / "run"
    run.mkdir()
    (run / "results.json").write_text(json.dumps(_results({"J06": (0.5, 0.9, 0.5), "M54": (0.5, 0.6, 0.5),
                                                            "I10": (0.5, 0.1, 0.5)}, {"J06": 30, "M54": 10, "I10": 50})))
    out = folder / "budget.json"
    assert main(["budget", "--benchmark", str(run), "--out", str(out)]) == 0
    return out


def test_budget_command_writes_the_file_build_and_benchmark_follow(tmp_path, capsys):
    out = write_budget(tmp_path)
    assert "2 codes" in capsys.readouterr().out
    priors = list(PriorSampler(load_graph(), SamplingConfig(code_budget=out)).sample(2000, seed=0))
    drawn = Counter(p.icd10_code for p in priors)
    assert set(drawn) == {"J06", "M54"} and 2.4 < drawn["J06"] / drawn["M54"] < 3.6
    corpus = SyntheticCorpus(["a"] * 50 + ["b"] * 50 + ["c"] * 5, ["J06"] * 50 + ["I10"] * 50 + ["M54"] * 5, {})
    kept = apply_budget(corpus, json.loads(out.read_text())["codes"], out)
    assert Counter(kept.codes) == {"J06": 30, "M54": 5}


def test_generated_corpora_learn_only_from_their_fractions_real_notes(tmp_path, shared_data):
    train, dev = rumedtop3_subset(tmp_path, ["M54", "J06", "I10", "K29", "G44", "N30"], cap=30)
    out = tmp_path / "results"
    assert main(["benchmark", "--train", str(train), "--eval", str(dev), "--generate", "template", "--generate-n",
                 "120", "--knowledge-sources", str(shared_data), "--real-fractions", "0.5,1", "--seeds", "2",
                 "--ratios", "1", "--bootstrap", "50", "--synthetic-weight", "0.5", "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    generated = results["synthetic_source"]["generated"]
    from medsyn.training.benchmark.run import load_notes

    real = load_notes(train)
    assert [(g["real_fraction"], g["seed"]) for g in generated] == [(0.5, 0), (0.5, 1), (1.0, 0)]
    for g in generated:  # each generator learnt from exactly the real notes its classifier was given
        assert g["generator_notes"][0]["count"] == len(subsample(real, g["real_fraction"], g["seed"]))
        assert g["fingerprint"].startswith("sha256:")
    assert len({g["fingerprint"] for g in generated}) == 3
    assert results["config"]["synthetic_weight"] == 0.5
    used = {e["real_fraction"]: e["n_train_synthetic"] for e in results["settings"] if e["name"] == "real+synthetic@1"}
    assert used[0.5] > 0 and used[1.0] > 0


def test_auto_weight_is_chosen_on_the_fits_own_real_notes():
    from medsyn.training.benchmark.weighting import choose_weight, fit_weight

    real = [("болит горло, насморк", "J06"), ("боль в пояснице", "M54"), ("изжога после еды", "K21")] * 8
    texts, codes = [t for t, _ in real], [c for _, c in real]

    def make():
        return TfidfLogReg(seed=0, min_df=1)

    contradicting = choose_weight(texts, codes, ["болит горло, насморк"] * 60, ["M54"] * 60, make, seed=0)
    assert contradicting.weight == 0.1 and contradicting.accuracy[0.1] > contradicting.accuracy[1.0]
    agreeing = choose_weight(texts, codes, ["горло болит, насморк, кашель"] * 10, ["J06"] * 10, make, seed=0)
    assert agreeing.weight == 1.0  # no evidence against them: not discounted
    mixed = texts + ["болит горло, насморк"] * 60
    assert fit_weight("auto", "mixed", len(texts), mixed, codes + ["M54"] * 60, make, 0)[0] == 0.1
    assert fit_weight(0.5, "mixed", len(texts), mixed, codes + ["M54"] * 60, make, 0) == (0.5, None)
    assert fit_weight("auto", "tstr", 0, mixed, codes + ["M54"] * 60, make, 0) == (1.0, None)
    assert fit_weight("auto", "real", len(texts), texts, codes, make, 0) == (1.0, None)
