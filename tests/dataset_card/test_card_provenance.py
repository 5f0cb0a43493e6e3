"""What the card says of where the synthetic notes' evidence comes from (issue 26): a budget and what it was learnt
on, generators learnt per real fraction, the weight of a synthetic note, and which differences hold."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

from medsyn.cli import main
from medsyn.dataset_card.benchmark_tables import notes
from tests.corpus_factory import make_results
from tests.training.test_benchmark_budget import write_budget


def test_a_budgeted_corpus_card_names_the_budget_and_what_it_was_learnt_on(tmp_path):
    budget = write_budget(tmp_path)
    out = tmp_path / "corpus"
    assert main(["build", "--n", "40", "--seed", "1", "--quiet", "--code-budget", str(budget), "--out", str(out)]) == 0
    record = json.loads((out / "build_info.json").read_text())["sampling"]["code_budget"]
    assert record["sha256"] == hashlib.sha256(budget.read_bytes()).hexdigest()
    assert (record["codes"], record["left_out"], record["notes"]) == (2, 1, 40)
    assert record["learnt_from"]["eval"] == "holdout_inner.jsonl" and str(tmp_path) not in json.dumps(record)
    text = (out / "README.md").read_text(encoding="utf-8")
    assert (f"code budget (`budget.json`, SHA-256 `{record['sha256'][:16]}…`): 2 codes get notes, 1 none" in text
            and "evaluated on `holdout_inner.jsonl`" in text)
    plain = tmp_path / "plain"
    assert main(["build", "--n", "10", "--seed", "1", "--quiet", "--out", str(plain)]) == 0
    assert "code budget" not in (plain / "README.md").read_text(encoding="utf-8")


def _holding(results: dict) -> tuple[set[str], set[str]]:
    above, below = set(), set()
    for row in results["summary"]:
        diff = row["metrics"]["accuracy"].get("diff_to_real")
        if row["name"] not in ("real", "TSTR") and diff:
            (above if diff["ci95"][0] > 0 else below if diff["ci95"][1] < 0 else set()).add(row["name"])
    return above, below


def test_benchmark_notes_say_what_holds_and_where_the_notes_came_from(tmp_path):
    results = json.loads((make_results(tmp_path / "results") / "results.json").read_text())
    above, below = _holding(results)
    assert above  # the made-up run has a setting that clearly helps at 50%
    line = next(x for x in notes(results).split("\n\n") if x.startswith("What holds"))
    said_above, said_below = line.split("above real-only: ")[1].split("; below real-only: ")
    assert {name for name in above} == {part.split("`")[1] for part in said_above.split(", `")}
    assert (said_below.startswith("none") and not below) or below
    assert "generated the synthetic notes itself" not in notes(results) and "weighs" not in notes(results)

    made = copy.deepcopy(results)
    made.setdefault("config", {})["synthetic_weight"] = 0.5
    made["synthetic_source"]["generated"] = [
        {"real_fraction": f, "seed": s, "fingerprint": f"sha256:{f}{s}", "generator_notes": [{"count": n}]}
        for f, s, n in ((0.5, 0, 100), (0.5, 1, 100), (1.0, 0, 200))]
    made["synthetic_source"]["code_budget"] = {"path": "/home/me/budget.json", "file": "budget.json",
                                               "sha256": "ab" * 32, "n_before": 300, "n_after": 120, "codes": 4,
                                               "left_out": 2, "learnt_from": {"train": "train_inner.jsonl",
                                                                              "eval": Path(made["eval"]["path"]).name}}
    text = notes(made)
    assert "3 corpora, one per real fraction and seed" in text and "(100 at 50%, 200 at 100%)" in text
    assert "Each synthetic note weighs 0.5" in text
    assert ("kept 120 of the 300 synthetic notes, of 4 codes (2 codes left without any)" in text
            and "so the budget is tuned on it" in text)
    made["synthetic_source"]["code_budget"]["learnt_from"]["eval"] = "holdout_inner.jsonl"
    assert "tuned on it" not in notes(made) and "evaluated on `holdout_inner.jsonl`" in notes(made)
