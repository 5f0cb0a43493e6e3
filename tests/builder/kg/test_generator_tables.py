"""A generator learnt from a subset of the real notes knows nothing that only the other notes say: no symptom edge
with note evidence, no wording, no opener; and a build names the notes its generator learnt from."""

from __future__ import annotations

import json

import pytest

from medsyn.builder.generate.template import knowledge
from medsyn.builder.generate.template.notes import compose_note
from medsyn.builder.generate.sampling import PriorSampler, SamplingConfig
from medsyn.builder.kg.generator_tables import opener_of
from medsyn.builder.kg.graph import load_graph
from medsyn.builder.kg.wordings import load_wordings
from medsyn.builder.text.morphology import lemmatize
from medsyn.cli import main

CODES = ("J06", "M54", "I10")


@pytest.fixture(scope="module")
def subset(shared_data, tmp_path_factory):
    """Notes of three codes, none opening with a dash; the graph `mkg build --notes` learns from them."""
    folder = tmp_path_factory.mktemp("subset")
    notes = [json.loads(line) for line in open(shared_data / "rumedbench/RuMedTop3/train_v1.jsonl", encoding="utf-8")]
    inside = [n for n in notes if n["code"] in CODES and opener_of(n["symptoms"]) != "dash"][:150]
    outside = [n for n in notes if n not in inside]
    path = folder / "train_subset.jsonl"
    path.write_text("".join(json.dumps(n, ensure_ascii=False) + "\n" for n in inside), encoding="utf-8")
    out = folder / "mkg.json.gz"
    assert main(["mkg", "build", "--sources", str(shared_data), "--notes", str(path), "--out", str(out)]) == 0
    return path, out, inside, outside


def test_edges_with_note_evidence_come_from_the_subset_only(subset):
    _, out, inside, _ = subset
    graph = load_graph(out)
    evidenced = [(graph.graph.nodes[u]["code"], d) for u, v, d in graph.graph.edges(data=True)
                 if d.get("kind") == "has_symptom" and (d.get("notes") or d.get("markup_count") or d.get("lemma_count"))]
    assert evidenced and {code[:3] for code, _ in evidenced} <= set(CODES)
    assert sum(d.get("n_notes", 0) for _, d in graph.graph.nodes(data=True)) == len(inside)
    full = load_graph()  # the embedded graph learnt from all train notes has evidence for other codes
    assert any(full.graph.nodes[u]["code"][:3] not in CODES for u, v, d in full.graph.edges(data=True)
               if d.get("kind") == "has_symptom" and d.get("notes"))


def test_wordings_and_openers_come_from_the_subset_only(subset):
    path, out, inside, outside = subset
    section = load_graph(out).provenance["generator"]
    seen = {lemma for n in inside for lemma in lemmatize(n["symptoms"])}
    learnt = [w for rows in section["wordings"].values() for w, _ in rows]
    assert learnt and all(set(lemmatize(w)) <= seen for w in learnt)
    shipped = [w for rows in load_wordings().values() for w, _ in rows]  # all notes say more
    assert any(not set(lemmatize(w)) <= seen for w in shipped)
    assert section["openers"]["dash"] == 0 and any(opener_of(n["symptoms"]) == "dash" for n in outside)
    assert section["openers"] == {name: sum(opener_of(n["symptoms"]) == name for n in inside)
                                  for name in section["openers"]}
    assert section["notes"] == [{"file": path.name, "sha256": section["notes"][0]["sha256"], "count": len(inside)}]


def test_template_notes_use_the_subset_tables(subset):
    _, out, _, _ = subset
    graph = load_graph(out)
    priors = list(PriorSampler(graph, SamplingConfig(codes=CODES)).sample(300, seed=3))
    try:
        knowledge.activate(out, graph)
        texts = [compose_note(p.to_dict(), i, "complaints") for i, p in enumerate(priors)]
        knowledge.activate(None)
        embedded = [compose_note(p.to_dict(), i, "complaints") for i, p in enumerate(priors)]
    finally:
        knowledge.activate(None)
    counts = graph.provenance["generator"]["openers"]
    used = {name for name, n in counts.items() if n} | {"bare"}
    assert {opener_of(t) for t in texts} <= used  # only openers the subset's notes use
    assert {opener_of(t) for t in embedded} - used  # the shipped weights draw others
    assert not any(t.startswith("- ") for t in texts + embedded)  # a dashed list goes to the bare list


def test_build_records_the_notes_its_generator_learnt_from(subset, tmp_path):
    path, out, inside, _ = subset
    corpus = tmp_path / "corpus"
    assert main(["build", "--out", str(corpus), "--quiet", "--n", "30", "--mkg", str(out), "--codes", *CODES]) == 0
    info = json.loads((corpus / "build_info.json").read_text(encoding="utf-8"))
    assert [(f["file"], f["count"]) for f in info["generator_notes"]] == [(path.name, len(inside))]
    assert len(info["generator_notes"][0]["sha256"]) == 64
