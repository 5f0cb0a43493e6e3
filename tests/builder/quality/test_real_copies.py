"""Copies of real notes: the closest real note and its distance, the longest shared word run, the verdict."""

import difflib
import json
import random

from medsyn.builder.corpus import pipeline
from medsyn.builder.corpus.real import read_real_notes
from medsyn.builder.kg.graph import load_graph
from medsyn.builder.quality import filters
from medsyn.builder.quality.real_notes import RealNotes, word_tokens
from medsyn.builder.quality.scorers import BUILTIN

REAL = [
    "Жалобы на боли в поясничном отделе позвоночника, усиливающиеся при наклонах, в течение двух недель после подъема тяжести.",
    "Кашель с мокротой желтого цвета, температура до 38,2, слабость, заложенность носа третий день.",
    "Головные боли давящего характера в затылочной области по утрам, шум в ушах, мелькание мушек перед глазами.",
    "Изжога после еды, тяжесть в эпигастрии, отрыжка кислым, горечь во рту по утрам.",
]
SYNTHETIC = "Беспокоят боли в горле при глотании, насморк, повышение температуры тела до 37,8 в течение 3 дней."


def test_longest_shared_run_is_the_longest_common_word_sequence():
    rng = random.Random(0)
    vocabulary = "боль в горле кашель насморк до утром слабость и".split()
    real = [" ".join(rng.choices(vocabulary, k=rng.randint(1, 15))) for _ in range(20)]
    queries = [" ".join(rng.choices(vocabulary + ["новое"], k=rng.randint(0, 15))) for _ in range(60)]
    found = RealNotes([str(i) for i in range(len(real))], real).longest_shared(queries)
    for query, longest in zip(queries, found):
        q = word_tokens(query)
        expected = max(difflib.SequenceMatcher(None, q, word_tokens(r), autojunk=False)
                       .find_longest_match(0, len(q), 0, len(word_tokens(r))).size for r in real)
        assert longest == expected


def test_the_closest_real_note_of_a_copy_is_its_original_at_distance_zero():
    real = RealNotes(["a", "b", "c", "d"], REAL)
    changed = REAL[1].replace("желтого", "зеленого").replace("третий", "второй")
    ids, distance = real.closest([REAL[2], changed, SYNTHETIC])
    assert ids[:2] == ["c", "b"] and distance[0] < 1e-6
    assert distance[0] < distance[1] < distance[2]


def _score(texts, real, **settings):
    rows = [{"id": str(i), "text": text, "icd10_code": "J06", "icd10_name": "", "prior": {"symptoms": None},
             "example_id": None} for i, text in enumerate(texts)]
    return pipeline.score(rows, load_graph(None), filters.FilterConfig(detect_person_names=False, **settings),
                          scorers=[s for s in BUILTIN if s.name == "real_copies"], real=real)


def test_exact_near_and_spliced_copies_are_rejected_and_a_note_of_its_own_kept():
    real = RealNotes(["a", "b", "c", "d"], REAL)
    spliced = "Пациент обратился впервые. " + REAL[0] + " Ранее не лечился."
    changed = REAL[3].replace("после еды", "после приема пищи")
    rows = _score([REAL[3], changed, spliced, SYNTHETIC], real)
    assert [row["copies_real"] for row in rows] == [True, True, True, False]
    assert [row["reject_reasons"] for row in rows] == [["copies_real"]] * 3 + [[]]
    assert rows[2]["closest_real_id"] == "a" and rows[2]["longest_shared_ngram"] == len(word_tokens(REAL[0]))
    # the thresholds are the verdict's only: a looser one keeps the partial copies, the scores stay
    loose = _score([changed, spliced], real, max_real_shared_words=100, min_real_distance=0.0)
    assert [row["copies_real"] for row in loose] == [False, False]
    assert loose[1]["longest_shared_ngram"] == rows[2]["longest_shared_ngram"]


def test_without_real_notes_the_columns_are_null_and_nothing_is_rejected():
    row = _score([REAL[0]], None)[0]
    assert (row["dcr"], row["closest_real_id"], row["copies_real"], row["reject_reasons"]) == (None, None, None, [])


def test_real_notes_are_read_from_rumedtop3_lines_and_from_text_files(tmp_path):
    rumed = tmp_path / "train.jsonl"
    rumed.write_text("".join(json.dumps({"idx": f"q{i}", "symptoms": t, "code": "M54"}, ensure_ascii=False) + "\n"
                             for i, t in enumerate(REAL[:2])), encoding="utf-8")
    other = tmp_path / "notes.csv"
    other.write_text("text\n\"" + REAL[2] + "\"\n", encoding="utf-8")
    notes = read_real_notes([rumed, other])
    assert notes.ids == ["q0", "q1", "notes.csv#2"] and notes.texts == REAL[:3]
    assert [(s["file"], s["count"]) for s in notes.sources] == [("train.jsonl", 2), ("notes.csv", 1)]


def test_chunks_of_a_corpus_get_the_scores_of_the_whole(monkeypatch):
    from medsyn.builder.quality import scorers

    real = RealNotes(["a", "b", "c", "d"], REAL)
    texts = [REAL[3], SYNTHETIC, "Пациент обратился впервые. " + REAL[0], REAL[1][:40]]
    whole = _score(texts, real)
    monkeypatch.setattr(scorers, "REAL_CHUNK", 1)
    assert _score(texts, real) == whole
