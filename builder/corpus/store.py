"""The durable store of finished generations, keyed by request: what makes a build resumable.

SQLite in WAL mode, one committed row per result as it arrives. A process killed at any moment (SIGKILL included)
loses at most the result it had not yet committed, never a committed one, and a rerun skips every key present with
a text. Failed attempts are kept with their reason, so a rerun retries them and the summary can say why.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from medsyn.builder.generate.backends import Result
from medsyn.errors import MedsynError

SCHEMA = """
CREATE TABLE IF NOT EXISTS generations (
    key TEXT PRIMARY KEY,
    text TEXT,
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    cost REAL NOT NULL DEFAULT 0,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 1
)
"""


class GenerationStore:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None)  # autocommit: each write is its own commit
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL: a commit survives the process being killed (the OS holds the pages); only power loss may
            # drop the last commits, which a rerun regenerates.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(SCHEMA)
            self._db.execute("SELECT count(*) FROM generations").fetchone()
        except sqlite3.DatabaseError as err:
            self._db.close()
            raise self._damaged(err) from None

    def _damaged(self, err: sqlite3.DatabaseError) -> MedsynError:
        return MedsynError(
            f"{self.path}: the store of finished generations is damaged ({err}); move it away (or delete it) to "
            "start over, which generates every note again, or pass another --work-dir"
        )

    def finished(self) -> set[str]:
        try:
            return {row[0] for row in self._db.execute("SELECT key FROM generations WHERE error IS NULL")}
        except sqlite3.DatabaseError as err:
            raise self._damaged(err) from None

    def put(self, result: Result) -> None:
        """Record a result; a success is never overwritten by a later failure of the same key."""
        self._db.execute(
            """
            INSERT INTO generations (key, text, prompt_tokens, completion_tokens, cost, error) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT(key) DO UPDATE SET
                text = excluded.text, prompt_tokens = excluded.prompt_tokens,
                completion_tokens = excluded.completion_tokens, cost = excluded.cost, error = excluded.error,
                attempts = generations.attempts + 1
            WHERE generations.error IS NOT NULL
            """,
            (result.key, result.text, result.prompt_tokens, result.completion_tokens, result.cost, result.error),
        )

    def get_many(self, keys: list[str]) -> dict[str, Result]:
        found: dict[str, Result] = {}
        for lo in range(0, len(keys), 500):
            chunk = keys[lo : lo + 500]
            rows = self._db.execute(
                "SELECT key, text, prompt_tokens, completion_tokens, cost, error FROM generations "
                f"WHERE key IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            for key, text, prompt_tokens, completion_tokens, cost, error in rows:
                found[key] = Result(key, text, prompt_tokens, completion_tokens, cost, error)
        return found

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "GenerationStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
