"""The rules of `builder/kg/wordings.py` that `tests/builder/generate/test_template_notes.py` leaves untested (it
covers `removed_spans`, `as_complaint`, the two sources of `extract_wordings` and the shipped table): cleaning a
cut-out phrase, the count an unrelated wording needs, the head word alone, negated mentions, order and cap, reading
a table and the command's error exit."""

import json

import pytest

from medsyn.builder.kg.wordings import (
    MIN_COUNT_UNRELATED,
    PER_LABEL,
    extract_wordings,
    load_wordings,
    main,
    normalise,
)


@pytest.mark.parametrize(
    "phrase,clean",
    [
        ("  Жалобы на  Головную боль, ", "головную боль"),  # the opener of a complaint list is no wording
        ("Беспокоит отёк ног.", "отек ног"),
        ('"(Кашель)"', "кашель"),
        ("жалуется на\tслабость", "слабость"),
    ],
)
def test_normalise_cleans_a_cut_out_phrase(phrase, clean):
    assert normalise(phrase) == clean


def _blocked_nose(n: int) -> tuple[dict[str, str], list]:
    notes = {f"n{i}": "Заложен нос." for i in range(n)}
    return notes, [(note_id, "насморк", [(11, 12)]) for note_id in notes]  # the markup kept only the dot


def test_a_wording_that_shares_no_word_with_its_label_needs_several_notes():
    assert extract_wordings(*_blocked_nose(MIN_COUNT_UNRELATED - 1), ["насморк"]) == {}
    table = extract_wordings(*_blocked_nose(MIN_COUNT_UNRELATED), ["насморк"])
    assert table == {"насморк": [("заложен нос", MIN_COUNT_UNRELATED)]}


def test_the_head_word_alone_is_no_wording_of_a_longer_label():
    notes = {"a": "Снижение.", "b": "Снижение памяти."}
    markup = [("a", "снижение памяти", [(8, 9)]), ("b", "снижение памяти", [(15, 16)])]
    assert extract_wordings(notes, markup, ["снижение памяти"]) == {"снижение памяти": [("снижение памяти", 2)]}


def test_negated_mentions_are_not_learnt():
    assert extract_wordings({"a": "Кашля нет.", "b": "Кашель сухой."}, [], ["кашель"]) == {"кашель": [("кашель", 1)]}
    assert extract_wordings({"a": "Кашля нет."}, [], ["кашель"]) == {}


def test_wordings_are_most_frequent_first_and_capped():
    kinds = ("сухой влажный сильный мучительный надсадный лающий ночной утренний постоянный редкий частый упорный "
             "продуктивный приступообразный").split()
    assert len(kinds) > PER_LABEL
    notes, markup = {}, []
    for rank, kind in enumerate(kinds):
        for copy in range(len(kinds) - rank):  # "сухой кашель" in the most notes, "приступообразный" in one
            notes[f"{kind}{copy}"] = f"{kind.capitalize()} кашель."
            markup.append((f"{kind}{copy}", "кашель", []))
    rows = extract_wordings(notes, markup, ["кашель"])["кашель"]
    assert len(rows) == PER_LABEL
    assert rows == sorted(rows, key=lambda row: (-row[1], row[0]))
    assert rows[0] == ("кашель", len(notes))  # the lemma matcher's span in every note
    assert ("сухой кашель", len(kinds)) in rows and all("приступообразный" not in w for w, _ in rows)


def test_load_wordings_reads_a_table_and_is_empty_without_one(tmp_path):
    table = tmp_path / "wordings.json"
    table.write_text(json.dumps({"wordings": {"кашель": [["сухой кашель", 3], ["кашель", 2]]}}), encoding="utf-8")
    assert load_wordings(str(table)) == {"кашель": [("сухой кашель", 3), ("кашель", 2)]}
    assert load_wordings(str(tmp_path / "missing.json")) == {}


def test_the_command_names_missing_sources_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "wordings.json"
    assert main(["--sources", str(tmp_path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "train_v1.jsonl: not found" in err and "--sources" in err
    assert list(tmp_path.iterdir()) == []
