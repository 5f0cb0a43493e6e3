"""The one exception type the command line turns into a readable message and a non-zero exit."""

from __future__ import annotations


class MedsynError(Exception):
    """A user-facing error: the message says what was wrong, where, and how to fix it.

    Raised for bad input (files, flags, configs). The CLI prints it without a traceback and exits with 2;
    anything else that escapes is a bug and keeps its traceback.
    """


def located(path: object, line: int | None, message: str) -> MedsynError:
    """An error that names the file (and line) it comes from, so the user can open it at the right place."""
    where = f"{path}:{line}" if line is not None else f"{path}"
    return MedsynError(f"{where}: {message}")
