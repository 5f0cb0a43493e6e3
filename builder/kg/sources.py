"""Readers for the open source files the knowledge graph is built from.

Each reader checks the header and every row it uses, and names the file and line of the first problem, because
these files are edited by hand and come from several upstreams with their own quirks. Readers return plain
records; turning them into a graph is `builder/kg/graph.py`'s job.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from medsyn.errors import MedsynError, located
from medsyn.io import read_jsonl

# The `shared/data` layout beside a checkout: what `mkg build --sources` reads by default, and where in it
# RuMedTop3's train and dev notes are.
SHARED_DATA = Path("../shared/data")
RUMEDTOP3 = "rumedbench/RuMedTop3"

CATEGORY_RE = re.compile(r"^[A-Z]\d\d$")
SUBCATEGORY_RE = re.compile(r"^[A-Z]\d\d\.\d$")
BLOCK_RE = re.compile(r"^[A-Z]\d\d-[A-Z]\d\d$")
CHAPTER_RE = re.compile(r"^[IVXL]+$")


@dataclass(frozen=True)
class IcdRow:
    """One in-force row of the МКБ-10 dictionary."""

    row_id: str
    code: str
    name: str
    parent_id: str
    dual_coding: str | None  # "dagger" (etiology, †), "asterisk" (manifestation, *) or None
    line: int


@dataclass(frozen=True)
class MarkupRow:
    """A symptom label attached to one RuMedPrime event (note) by the RuMedBench markup."""

    note_id: str
    symptom: str


@dataclass(frozen=True)
class Note:
    """A RuMedTop3-format note: id, complaint text and 3-character ICD-10 code."""

    note_id: str
    text: str
    code: str


@dataclass(frozen=True)
class HsdnPair:
    """An HSDN symptom-disease co-occurrence (English MeSH terms, PubMed counts)."""

    symptom: str
    symptom_mesh: str
    disease: str
    disease_mesh: str
    cooccurs: int
    tfidf: float


def sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def stated_license(source_md: str | Path) -> str:
    """The 'License as stated upstream' paragraph of a shared/data SOURCE.md, whitespace-collapsed."""
    path = Path(source_md)
    if not path.is_file():
        return "unknown (no SOURCE.md next to the file)"
    lines = path.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if "License as stated upstream" in line:
            paragraph = [line.split("License as stated upstream", 1)[1].lstrip(" :(README):").strip()]
            for follow in lines[i + 1 :]:
                if not follow.startswith("  ") or not follow.strip():
                    break
                paragraph.append(follow.strip())
            return " ".join(paragraph)
    return "unknown (SOURCE.md states none)"


def refuse_held_out(path: str | Path) -> None:
    """Refuse a RuMedBench dev/test split where only training notes may go.

    The benchmark evaluates on those splits: a graph or a style example that saw them would leak their text and
    symptoms into the synthetic training data.
    """
    path = Path(path)
    if path.name.startswith(("dev", "test")):
        raise MedsynError(f"{path}: looks like a dev/test split; only training notes may be used here (rename it if it is not)")


def _open_text(path: Path):
    if not path.is_file():
        raise MedsynError(f"{path}: file not found; pass the right path or --sources directory")
    return open(path, encoding="utf-8", newline="")


def _rows(path: Path, delimiter: str, required: list[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line, row) for a delimited file after checking its header names the required columns."""
    with _open_text(path) as handle:
        reader = csv.DictReader(handle, delimiter=delimiter)
        try:
            header = reader.fieldnames or []
            missing = [col for col in required if col not in header]
            if missing:
                raise located(
                    path, 1, f"missing column(s) {', '.join(missing)}; found {', '.join(header) or 'no header'}"
                )
            for row in reader:
                if None in row or any(row.get(col) is None for col in required):
                    raise located(path, reader.line_num, f"expected {len(header)} fields separated by {delimiter!r}")
                yield reader.line_num, row
        except UnicodeDecodeError as err:
            raise located(path, reader.line_num + 1, f"not UTF-8 text ({err.reason}); re-save it as UTF-8") from None
        except csv.Error as err:
            raise located(path, reader.line_num, f"malformed row ({err})") from None


def read_icd10(path: str | Path) -> list[IcdRow]:
    """In-force rows of the Minzdrav МКБ-10 NSI dump (`ACTUAL == 1`); withdrawn codes are dropped."""
    path = Path(path)
    rows = []
    for line, row in _rows(path, ";", ["ID", "MKB_CODE", "MKB_NAME", "ID_PARENT", "ADDL_CODE", "ACTUAL"]):
        actual = row["ACTUAL"].strip()
        if actual not in {"0", "1"}:
            raise located(path, line, f"ACTUAL must be 0 or 1, got {actual!r}")
        if actual == "0":
            continue
        code, name = row["MKB_CODE"].strip(), row["MKB_NAME"].strip()
        if not code or not name:
            raise located(path, line, "empty MKB_CODE or MKB_NAME")
        flag = {"1": "dagger", "2": "asterisk"}.get(row["ADDL_CODE"].strip())
        rows.append(IcdRow(row["ID"].strip(), code, name, row["ID_PARENT"].strip(), flag, line))
    if not rows:
        raise located(path, None, "no in-force ICD-10 rows found")
    return rows


def read_markup(path: str | Path) -> list[MarkupRow]:
    """Non-empty symptom labels of the RuMedBench markup (`new_event_id,code,keep_spans`)."""
    path = Path(path)
    rows = []
    for line, row in _rows(path, ",", ["new_event_id", "code"]):
        note_id, label = row["new_event_id"].strip(), row["code"].strip()
        if not note_id:
            raise located(path, line, "empty new_event_id")
        if label:
            rows.append(MarkupRow(note_id, label.lower()))
    return rows


def read_notes(path: str | Path) -> list[Note]:
    """A RuMedTop3-format JSON-lines file (`idx`, `symptoms`, `code`): the one reader of such notes (knowledge
    graph, style examples, instruction data and the benchmark)."""
    path = Path(path)
    notes = []
    for i, record in enumerate(read_jsonl(path, required=("idx", "symptoms", "code")), 1):
        if not isinstance(record["code"], str) or not isinstance(record["symptoms"], str):
            raise MedsynError(f"{path}: record {i} (idx {record['idx']!r}): `code` and `symptoms` must be strings")
        code = record["code"].strip().upper()
        if not (CATEGORY_RE.match(code) or SUBCATEGORY_RE.match(code)):
            raise MedsynError(f"{path}: record {i} (idx {record['idx']}): code {code!r} is not an ICD-10 code like M54")
        notes.append(Note(str(record["idx"]), str(record["symptoms"]), code))
    return notes


def read_hsdn(path: str | Path) -> list[HsdnPair]:
    """HSDN pairs as in `symptoms-DO.tsv` (the file MedSyn uses)."""
    path = Path(path)
    required = ["symptom_name", "disease_name", "cooccurs", "tfidf_score", "disease_id", "symptom_id"]
    pairs = []
    for line, row in _rows(path, "\t", required):
        try:
            cooccurs, tfidf = int(row["cooccurs"]), float(row["tfidf_score"])
        except ValueError:
            raise located(path, line, "cooccurs must be an integer and tfidf_score a number") from None
        pairs.append(
            HsdnPair(row["symptom_name"], row["symptom_id"], row["disease_name"], row["disease_id"], cooccurs, tfidf)
        )
    return pairs


def read_mesh_icd10_cm(path: str | Path) -> list[tuple[str, str]]:
    """(MeSH id, ICD-10-CM code) pairs from `MESH_ICD10_Mapping.csv`."""
    path = Path(path)
    return [
        (row["MESH_ID"].strip(), row["ICD10CM_CODE"].strip())
        for _, row in _rows(path, ",", ["MESH_ID", "ICD10CM_CODE"])
        if row["ICD10CM_CODE"].strip()
    ]


def read_mesh_icd10_who(path: str | Path) -> list[tuple[str, str]]:
    """(MeSH id, WHO ICD-10 code) pairs from the `;`-separated, header-less `dict.txt`; empty codes skipped."""
    path = Path(path)
    pairs = []
    line = 0
    with _open_text(path) as handle:
        try:
            for line, text in enumerate(handle, 1):
                if not text.strip():
                    continue
                parts = text.rstrip("\n").split(";")
                if len(parts) < 2:
                    raise located(path, line, "expected 'MeSH ID; ICD10 code;description'")
                mesh, code = parts[0].strip(), parts[1].strip()
                if code:
                    pairs.append((mesh, code))
        except UnicodeDecodeError as err:
            raise located(path, line + 1, f"not UTF-8 text ({err.reason}); re-save it as UTF-8") from None
    return pairs
