"""The durable store of finished generations (`builder/corpus/store.py`): what makes a build resumable."""

from __future__ import annotations

import sqlite3

import pytest

from medsyn.builder.corpus.store import GenerationStore
from medsyn.builder.generate.backends import Result
from medsyn.errors import MedsynError


def ok(key: str, text: str = "Жалобы на кашель.") -> Result:
    return Result(key, text, prompt_tokens=10, completion_tokens=4, cost=0.01)


def failed(key: str, error: str = "429: too many requests") -> Result:
    return Result(key, None, error=error)


def attempts(path, key: str) -> int:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT attempts FROM generations WHERE key = ?", (key,)).fetchone()[0]


def test_finished_lists_successes_only_and_get_many_returns_both(tmp_path):
    with GenerationStore(tmp_path / "work" / "generations.sqlite") as store:
        store.put(ok("a"))
        store.put(failed("b"))
        assert store.finished() == {"a"}
        found = store.get_many(["a", "b", "never"])
    assert set(found) == {"a", "b"}
    assert found["a"] == ok("a") and found["a"].ok
    assert found["b"].error == "429: too many requests" and not found["b"].ok


def test_a_failure_is_retried_but_never_overwrites_a_success(tmp_path):
    path = tmp_path / "generations.sqlite"
    with GenerationStore(path) as store:
        store.put(failed("a"))
        store.put(ok("a", "первый текст"))  # the retry succeeds
        store.put(failed("a", "timeout"))  # a later failure of the same key changes nothing
        store.put(ok("a", "второй текст"))  # nor does a later success
        assert store.get_many(["a"])["a"] == ok("a", "первый текст")
    assert attempts(path, "a") == 2


def test_committed_results_survive_closing_and_reopening(tmp_path):
    path = tmp_path / "generations.sqlite"
    store = GenerationStore(path)
    store.put(ok("a"))
    store.put(failed("b"))
    del store  # not even closed: each put is its own commit
    with GenerationStore(path) as again:
        assert again.finished() == {"a"} and again.get_many(["a"])["a"].text == "Жалобы на кашель."


def test_many_keys_are_read_in_chunks(tmp_path):
    """SQLite limits the parameters of one statement; get_many asks 500 keys at a time."""
    keys = [f"k{i}" for i in range(1203)]
    with GenerationStore(tmp_path / "generations.sqlite") as store:
        for key in keys:
            store.put(ok(key, key))
        found = store.get_many(keys)
    assert len(found) == 1203 and all(found[key].text == key for key in keys)


def test_a_damaged_store_is_one_clear_error(tmp_path):
    path = tmp_path / "generations.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(MedsynError, match="the store of finished generations is damaged") as error:
        GenerationStore(path)
    assert str(path) in str(error.value) and "--work-dir" in str(error.value)
