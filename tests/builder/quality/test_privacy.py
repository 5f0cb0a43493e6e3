"""The holdout figures: a corpus of copies of its training notes is caught, notes like them but not of them are not."""

import json

import pytest

from medsyn.builder.quality import privacy


@pytest.fixture(scope="module")
def real(shared_data):
    top3 = shared_data / "rumedbench" / "RuMedTop3"
    train = [json.loads(line)["symptoms"] for line in (top3 / "train_v1.jsonl").read_text(encoding="utf-8").splitlines()]
    dev = [json.loads(line)["symptoms"] for line in (top3 / "dev_v1.jsonl").read_text(encoding="utf-8").splitlines()]
    return train, dev


def test_copies_of_the_training_notes_are_closer_to_them_and_give_their_members_away(real):
    train, dev = real
    figures = privacy.holdout_figures(train[:400], train[:400], dev[:400], resamples=100)
    assert figures["closer_to_train"]["share"] > 0.9 and figures["closer_to_train"]["ci95"][0] > 0.6
    assert figures["membership_auc"]["auc"] > 0.9 and figures["membership_auc"]["ci95"][0] > 0.6
    assert figures["dcr_train"]["p50"] == 0.0 < figures["dcr_holdout"]["p50"]


def test_real_notes_of_neither_set_read_as_no_memorisation(real):
    train, dev = real
    figures = privacy.holdout_figures(train[2000:3000], train[:400], dev[:400], resamples=200)
    share, auc = figures["closer_to_train"], figures["membership_auc"]
    assert share["ci95"][0] <= 0.5 <= share["ci95"][1] and auc["ci95"][0] <= 0.5 <= auc["ci95"][1]
    assert figures["train_subsample"] == figures["holdout"] == 400
