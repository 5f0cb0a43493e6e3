"""Instruction data for fine-tuning a generator: real training notes as completions of the builder's own prompts.

Each record pairs the prompt the builder would send for a prior with the note's code and symptoms with the real
note as the answer, so a model tuned on it learns to turn exactly those prompts into notes. The symptoms of a note
are its RuMedBench markup label plus every MKG symptom label of its code that the note mentions (not negated); a
note with neither is left out. A real note has no demographics, so the prior gets demographics drawn the way the
sampler draws them (`draw_demographics` on the counter-based uniforms of `builder/generate/sampling.py`, seeded by `seed`
and the note id): the prompt then has the shape the builder sends, and the demographics are reproducible.

Families: `symptoms` (one of its templates, chosen per prior by the PromptBuilder) and `example` (another
real training note of the same code as style example, never the note itself). The records are in TRL's
conversational prompt-completion format (`prompt`: system + user messages, `completion`: one assistant message);
`medsyn.training.train` renders them with the model's chat template or the Alpaca prompt, as the backend does.

No RuMedBench dev/test note may enter: the notes file itself must not be a dev/test split, and every note whose id
or (whitespace- and case-normalised) text appears in a dev/test file (by default every `dev*`/`test*` JSON-lines
file beside the notes file) is refused or dropped; `check_no_leak` re-checks a written folder.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from medsyn.builder.generate.demographics import draw_demographics
from medsyn.builder.text.matching import SymptomMatcher
from medsyn.builder.kg.graph import KnowledgeGraph, load_graph
from medsyn.builder.generate.prompts import PromptBuilder, PromptConfig
from medsyn.builder.generate.sampling import Prior, SymptomDraw, uniforms
from medsyn.builder.kg.sources import Note, read_markup, read_notes, refuse_held_out
from medsyn.errors import MedsynError
from medsyn.io import atomic_dir, write_digest_named

log = logging.getLogger(__name__)

TRAIN_SPLIT, HELDOUT_SPLIT = "train", "heldout"
COLUMNS = ("id", "note_id", "icd10_code", "icd10_name", "prompt_family", "prompt_template", "example_id",
           "symptoms", "prompt", "completion")
INFO_FILE = "ift_info.json"


@dataclass
class IftReport:
    out: Path
    n_train: int = 0
    n_heldout: int = 0
    skipped: Counter = field(default_factory=Counter)
    families: Counter = field(default_factory=Counter)


def normalise(text: str) -> str:
    """The form texts are compared in when looking for benchmark notes: case and whitespace do not matter."""
    return re.sub(r"\s+", " ", text).strip().lower()


def default_exclusions(notes_path: str | Path) -> list[Path]:
    """Every `dev*`/`test*` JSON-lines file beside the notes file: the benchmark's held-out splits."""
    folder = Path(notes_path).parent
    return sorted(p for p in folder.glob("*.jsonl") if p.name.startswith(("dev", "test")))


def _unit_index(key: str) -> int:
    """A stable 63-bit index for a note id, so its demographics do not depend on the order of the file."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big") >> 1


def in_heldout(note_id: str, share: float, seed: int) -> bool:
    """Split by a hash of the note id: a note keeps its split when other notes are added or removed."""
    unit = int.from_bytes(hashlib.blake2b(f"{seed}/{note_id}".encode(), digest_size=8).digest(), "big") / 2**64
    return unit < share


def note_prior(note: Note, graph: KnowledgeGraph, symptoms: Sequence[str], seed: int) -> Prior:
    """The prior the builder would sample for this note's code and symptoms (demographics: see module docstring)."""
    code = note.code[:3]
    node = graph.node(code)
    weights = {link.label: link.weight for link in graph.symptoms(code)}
    u = uniforms(seed, np.array([_unit_index(note.note_id)], dtype=np.uint64)[:, None], np.arange(1, 5)[None, :])[0]
    age_limits = (node["age_min"], node["age_max"]) if "age_min" in node else None
    demo = draw_demographics(tuple(float(x) for x in u), node.get("sex"), age_limits)
    return Prior(
        id=f"ift-{note.note_id}",
        icd10_code=code,
        icd10_name=node["name"],
        symptoms=[SymptomDraw(label, float(weights.get(label, 0.0))) for label in symptoms],
        sex=demo.sex,
        age=demo.age,
        marital_status=demo.marital_status,
        smoking=demo.smoking,
        seed=seed,
    )


def note_symptoms(note: Note, markup: dict[str, str], matchers: dict[str, SymptomMatcher],
                  labels: dict[str, list[str]]) -> list[str]:
    """Markup label first, then the code's MKG labels the note mentions, heaviest first; no duplicates."""
    code = note.code[:3]
    found = []
    if note.note_id in markup:
        found.append(markup[note.note_id])
    present = matchers[code].present(note.text) if code in matchers else set()
    found.extend(label for label in labels.get(code, []) if label in present)
    return list(dict.fromkeys(found))


def _benchmark_notes(paths: Iterable[Path]) -> tuple[set[str], set[str]]:
    ids, texts = set(), set()
    for path in paths:
        for note in read_notes(path):
            ids.add(note.note_id)
            texts.add(normalise(note.text))
    return ids, texts


def build_instruction_data(
    notes_path: str | Path,
    markup_path: str | Path,
    out: str | Path,
    graph_path: str | Path | None = None,
    heldout_share: float = 0.05,
    seed: int = 0,
    example_share: float = 0.3,
    exclude: Sequence[str | Path] | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> IftReport:
    """Write a `datasets` folder (splits `train` and `heldout`) of prompt-completion records; see module docstring."""
    if not 0 <= heldout_share < 1:
        raise MedsynError(f"--heldout-share must be in [0, 1), got {heldout_share}")
    if not 0 <= example_share <= 1:
        raise MedsynError(f"--example-share must be in [0, 1], got {example_share}")
    out = Path(out)
    if out.exists() and not overwrite:
        raise MedsynError(f"{out} already exists; pass --overwrite to replace it or choose another --out")
    refuse_held_out(notes_path)
    notes = read_notes(notes_path)
    markup = {row.note_id: row.symptom for row in read_markup(markup_path)}
    graph = load_graph(graph_path)
    exclusions = [Path(p) for p in exclude] if exclude is not None else default_exclusions(notes_path)
    bench_ids, bench_texts = _benchmark_notes(exclusions)
    leaked_ids = sorted({note.note_id for note in notes} & bench_ids)
    if leaked_ids:
        raise MedsynError(
            f"{notes_path}: {len(leaked_ids)} note id(s) also in the benchmark's dev/test files "
            f"({', '.join(map(str, exclusions))}), e.g. {', '.join(leaked_ids[:5])}; pass the training split only"
        )

    report = IftReport(out)
    codes = set(graph.codes_with_symptoms)
    labels = {code: [link.label for link in graph.symptoms(code)] for code in codes}
    matchers = {code: SymptomMatcher(code_labels) for code, code_labels in labels.items()}
    shares = {"symptoms": 1.0 - example_share, "example": example_share}
    config = PromptConfig(families=[f"{family}={share}" for family, share in shares.items() if share > 0])
    # Style examples come from the same notes; the builder screens out notes that name their diagnosis.
    prompts = PromptBuilder(config, [note for note in notes if note.code[:3] in codes], graph)

    splits: dict[str, list[dict]] = {TRAIN_SPLIT: [], HELDOUT_SPLIT: []}
    for note in tqdm(notes, desc="instruction pairs", unit="note", disable=not progress):
        code = note.code[:3]
        if normalise(note.text) in bench_texts:
            report.skipped["text in dev/test"] += 1
            continue
        if code not in codes:
            report.skipped["code without MKG symptoms"] += 1
            continue
        symptoms = note_symptoms(note, markup, matchers, labels)
        if not symptoms:
            report.skipped["no symptom found"] += 1
            continue
        prior = note_prior(note, graph, symptoms, seed)
        prompt = prompts.build(prior, exclude_example=note.note_id)
        report.families[prompt.prompt_family] += 1
        record = {
            "id": prompt.id,
            "note_id": note.note_id,
            "icd10_code": code,
            "icd10_name": prior.icd10_name,
            "prompt_family": prompt.prompt_family,
            "prompt_template": prompt.prompt_template,
            "example_id": prompt.example_id,
            "symptoms": symptoms,
            "prompt": prompt.messages,
            "completion": [{"role": "assistant", "content": note.text.strip()}],
        }
        splits[HELDOUT_SPLIT if in_heldout(note.note_id, heldout_share, seed) else TRAIN_SPLIT].append(record)
    if not splits[TRAIN_SPLIT]:
        raise MedsynError(f"{notes_path}: no note gave an instruction pair ({dict(report.skipped)}); check the files")
    report.n_train, report.n_heldout = len(splits[TRAIN_SPLIT]), len(splits[HELDOUT_SPLIT])

    info = {
        "format": "medsyn-ift",
        "notes": str(notes_path),
        "markup": str(markup_path),
        "graph": str(graph_path) if graph_path else "embedded",
        "seed": seed,
        "heldout_share": heldout_share,
        "example_share": example_share,
        "excluded_files": [str(p) for p in exclusions],
        "splits": {name: len(rows) for name, rows in splits.items()},
        "families": dict(report.families),
        "skipped": dict(report.skipped),
    }
    with atomic_dir(out, overwrite=overwrite) as tmp:
        write_splits(tmp, splits)
        (tmp / INFO_FILE).write_text(json.dumps(info, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return report


def write_splits(folder: Path, splits: dict[str, list[dict]]) -> None:
    """Parquet files per split plus a README whose `configs` lets `datasets.load_dataset(folder)` find them.

    A file is named by a digest of its bytes (`medsyn.io.write_digest_named`) and the README lists it by that name,
    so `medsyn train --data FOLDER` never trains on a cached copy of another folder of the same name."""
    import datasets

    (folder / "data").mkdir(parents=True, exist_ok=True)
    data_files = []
    for name, rows in splits.items():
        if not rows:
            continue
        buffer = io.BytesIO()
        datasets.Dataset.from_list(rows).to_parquet(buffer)
        path = write_digest_named(folder / "data", name, buffer.getvalue())
        data_files.append(f"  - split: {name}\n    path: data/{path.name}")
    card = (
        "---\nlanguage: ru\nconfigs:\n- config_name: default\n  data_files:\n" + "\n".join(data_files) + "\n---\n\n"
        "# MedSyn instruction data\n\nPrompt-completion pairs written by `medsyn ift build`: the builder's prompt "
        "for a real training note's code and symptoms, and the note as the answer. Contains real notes: do not "
        "publish it where their licence does not allow. See `ift_info.json` for sources and counts.\n"
    )
    (folder / "README.md").write_text(card, encoding="utf-8")


def load_instruction_data(path: str | Path):
    """The folder as a `datasets.DatasetDict` (splits `train` and, when written, `heldout`)."""
    import datasets

    path = Path(path)
    if not path.is_dir():
        raise MedsynError(f"--data {path}: no such folder; write one with `medsyn ift build --out {path}`")
    try:
        return datasets.load_dataset(str(path))
    except (FileNotFoundError, ValueError, datasets.exceptions.DatasetGenerationError) as exc:
        raise MedsynError(
            f"--data {path}: not a dataset folder datasets.load_dataset can read ({exc}); "
            "write one with `medsyn ift build`"
        ) from None


def check_no_leak(data_dir: str | Path, benchmark_files: Sequence[str | Path]) -> None:
    """Raise if a benchmark note's id (as note or style example) or text (as completion) is in the data."""
    ids, texts = _benchmark_notes(Path(p) for p in benchmark_files)
    data = load_instruction_data(data_dir)
    for split, rows in data.items():
        for row in rows:
            found = {row["note_id"], row["example_id"]} & ids
            seen = [normalise(m["content"]) for m in row["completion"]]
            if found or any(text in texts for text in seen):
                raise MedsynError(f"{data_dir}: split {split}, record {row['id']} holds a benchmark dev/test note")
