"""The LLM judge: scores and a reason per note from an OpenAI-compatible server, usage and cost in build_info,
answers cached so that a rerun sends nothing; off by default."""

from __future__ import annotations

import json
import re

import pyarrow.parquet as pq

from medsyn.builder.quality import judge
from medsyn.cli import main
from tests.fault_server import SERVER_ERROR, FaultServer


def _reply(body: dict) -> str:
    """A judge that reads its prompt: fluency 5 for notes naming the prompt's code in the rubric, a reason naming it,
    and a malformed answer for every note that mentions "температур" (to test unusable answers)."""
    user = body["messages"][-1]["content"]
    code = re.search(r"диагноз (\S+)", user).group(1)
    if "температур" in user.split("Запись:")[1]:
        return "Не могу оценить."
    return "Оценка: " + json.dumps({"plausibility": 4, "agreement": 3, "fluency": 5, "reason": f"код {code}"},
                                   ensure_ascii=False)


def test_an_answer_without_every_score_in_range_is_no_answer():
    assert judge.parse('{"plausibility": 4, "agreement": 3, "fluency": 5, "reason": "ok"}') == {
        "judge_plausibility": 4, "judge_agreement": 3, "judge_fluency": 5, "judge_reason": "ok"}
    for bad in ('{"plausibility": 4, "agreement": 3}', '{"plausibility": 6, "agreement": 3, "fluency": 5}',
                "нет JSON", '{"plausibility": true, "agreement": 3, "fluency": 5}', None):
        assert judge.parse(bad) is None


def test_the_judge_scores_every_note_and_a_rerun_pays_nothing(tmp_path):
    out = tmp_path / "corpus"
    with FaultServer(reply=_reply, script=[SERVER_ERROR]) as server:
        flags = ["build", "--out", str(out), "--n", "24", "--seed", "4", "--quiet", "--judge-model", "fake-model",
                 "--judge-base-url", server.base_url, "--judge-price-per-1k-input", "0.5"]
        assert main(flags) == 0
        first, url = len(server.requests_seen), server.base_url
        rows = [r for p in sorted((out / "unfiltered").glob("*.parquet")) for r in pq.read_table(p).to_pylist()]
        info = json.loads((out / "build_info.json").read_text())
        assert main([*flags, "--overwrite"]) == 0
        assert len(server.requests_seen) == first  # every answer came from the cache
    unusable = [r for r in rows if "температур" in r["text"]]
    scored = [r for r in rows if "температур" not in r["text"]]
    assert unusable and scored and len(rows) == 24
    assert all((r["judge_plausibility"], r["judge_agreement"], r["judge_fluency"]) == (4, 3, 5)
               and r["judge_reason"] == f"код {r['icd10_code']}" for r in scored)
    assert all(r["judge_fluency"] is None for r in unusable)
    usage = info["judge"]
    assert (usage["notes"], usage["cached"], usage["requests"], usage["failed"]) == (24, 0, 24, len(unusable))
    assert usage["prompt_tokens"] > 0 and usage["cost"] == round(usage["prompt_tokens"] / 1000 * 0.5, 6)
    assert usage["means"] == {"plausibility": 4.0, "agreement": 3.0, "fluency": 5.0}
    again = json.loads((out / "build_info.json").read_text())["judge"]
    assert (again["cached"], again["requests"], again["cost"]) == (24, 0, 0.0)
    assert "judge_base_url" not in again and url not in (out / "build_info.json").read_text()


def test_without_a_judge_model_the_columns_are_null(tmp_path):
    out = tmp_path / "corpus"
    assert main(["build", "--out", str(out), "--n", "5", "--quiet"]) == 0
    rows = pq.read_table(sorted((out / "unfiltered").glob("*.parquet"))[0]).to_pylist()
    assert {r["judge_fluency"] for r in rows} == {None}
    assert "judge" not in json.loads((out / "build_info.json").read_text())
