"""`medsyn audit`: planted real notes are found, the other notes are not, and the figures say so."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from medsyn.builder.quality.real_notes import word_tokens
from medsyn.cli import main

N_SYNTHETIC_FILES = 30  # 600 of MedSyn's GPT-3.5 notes
N_PLANTED = 120


def _plant(rng: random.Random, real: list[dict], synthetic: list[dict]) -> list[dict]:
    """Real train notes of 10+ words (shorter ones, "боль в горле, насморк", identify no one and every generator
    writes them) planted three ways: as they are, with a tenth of their words (at least 2) replaced by words of a
    synthetic note, and spliced between the sentences of a synthetic note."""
    vocabulary = [w for note in synthetic[:50] for w in note["response"].split()]
    planted = []
    for k, note in enumerate(rng.sample([n for n in real if len(word_tokens(n["symptoms"])) >= 10], N_PLANTED)):
        text, host = note["symptoms"], rng.choice(synthetic)
        if k % 3 == 1:
            words = text.split()
            for i in rng.sample(range(len(words)), max(2, len(words) // 10)):
                words[i] = rng.choice(vocabulary)
            text = " ".join(words)
        elif k % 3 == 2:
            sentences = re.split(r"(?<=\.)\s+", host["response"])
            at = rng.randrange(len(sentences) + 1)
            text = " ".join(sentences[:at] + [text] + sentences[at:])
        planted.append({**host, "response": text, "UID": f"planted-{k}-{note['idx']}"})
    return planted


@pytest.fixture(scope="module")
def audited(shared_data, tmp_path_factory):
    rng = random.Random(25)
    root = tmp_path_factory.mktemp("audit")
    train = shared_data / "rumedbench" / "RuMedTop3" / "train_v1.jsonl"
    real = [json.loads(line) for line in train.read_text(encoding="utf-8").splitlines()]
    files = sorted((shared_data / "medsyn_generated" / "0_5k_gpt3.5").glob("*.json"))[:N_SYNTHETIC_FILES]
    synthetic = [note for path in files for note in json.loads(path.read_text(encoding="utf-8"))]
    source = root / "notes.json"
    source.write_text(json.dumps(synthetic + _plant(rng, real, synthetic), ensure_ascii=False), encoding="utf-8")
    corpus = root / "corpus"
    assert main(["import", str(source), "--preset", "medsyn", "--out", str(corpus), "--quiet",
                 "--detect-person-names", "false"]) == 0
    out = root / "audit"
    main(["audit", str(corpus), "--real", str(train), "--holdout",
          str(shared_data / "rumedbench" / "RuMedTop3" / "dev_v1.jsonl"), "--out", str(out)])
    return out


def test_planted_real_notes_are_flagged_and_the_others_are_not(audited):
    notes = pq.read_table(audited / "notes.parquet").to_pylist()
    planted = [row for row in notes if row["id"].startswith("planted-")]
    others = [row for row in notes if not row["id"].startswith("planted-")]
    assert len(planted) == N_PLANTED and len(others) == 20 * N_SYNTHETIC_FILES
    for kind in range(3):  # exact, words changed, spliced
        of_kind = [row for row in planted if int(row["id"].split("-")[1]) % 3 == kind]
        assert sum(row["copies_real"] for row in of_kind) >= 0.95 * len(of_kind), kind
    assert sum(row["copies_real"] for row in others) < 0.01 * len(others)
    # the closest real note of an exact or edited copy is its original
    copies = [row for row in planted if int(row["id"].split("-")[1]) % 3 < 2]
    assert sum(row["closest_real_id"] == row["id"].split("-", 2)[2] for row in copies) >= 0.95 * len(copies)


def test_audit_json_has_the_holdout_figures_with_intervals_and_fails_on_kept_copies(audited):
    result = json.loads((audited / "audit.json").read_text(encoding="utf-8"))
    figures = result["holdout_figures"]
    for name, value in (("closer_to_train", "share"), ("membership_auc", "auc")):
        low, high = figures[name]["ci95"]
        assert 0 <= low <= figures[name][value] <= high <= 1
    assert figures["holdout"] == figures["train_subsample"] == 848
    assert result["copies_real"]["all"] >= 0.95 * N_PLANTED and not result["passed"]
    assert any("copy a real note" in failure for failure in result["failures"])
    assert [s["file"] for s in result["real"]] == ["train_v1.jsonl"]


def test_real_notes_that_are_not_there_are_one_line(tmp_path, capsys):
    corpus = tmp_path / "corpus"
    assert main(["build", "--out", str(corpus), "--n", "20", "--quiet"]) == 0
    assert main(["audit", str(corpus), "--real", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing.jsonl" in err[0] and not (tmp_path / "a").exists()


def test_a_figure_fails_the_audit_only_when_its_interval_lies_over_the_limit():
    from medsyn.builder.corpus.audit import failures

    def result(share, low, auc, auc_low):
        return {"thresholds": {"max_closer_share": 0.6, "max_membership_auc": 0.6},
                "copies_real": {"kept": 0}, "pii": {"kept": 0},
                "holdout_figures": {"closer_to_train": {"share": share, "ci95": [low, 0.9]},
                                    "membership_auc": {"auc": auc, "ci95": [auc_low, 0.9]}}}

    assert failures(result(0.63, 0.50, 0.62, 0.55)) == []
    found = failures(result(0.70, 0.65, 0.80, 0.75))
    assert len(found) == 2 and "closer to training" in found[0] and "membership-inference AUC 0.800" in found[1]
