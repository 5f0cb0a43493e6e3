"""`medsyn import` and `medsyn merge`: real GPT-3.5 notes (a slice of MedSyn's output, read at test time) and
small made-up sources in every supported format, through the real command line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from medsyn.builder.corpus.importing import resolve_code
from medsyn.builder.corpus.schema import FEATURES
from medsyn.cli import main
from tests.hub_emulator import hub  # noqa: F401  (the fixture)

# Two of MedSyn's 500 files (40 notes): enough codes, names, leaks and lengths to exercise every verdict.
SLICE = ["0_5k_gpt3.5/result_0-20.json", "0_5k_gpt3.5/result_100-120.json"]


pytestmark = pytest.mark.usefixtures("offline_hf_home")


@pytest.fixture(scope="module")
def medsyn_slice(tmp_path_factory) -> Path:
    from tests.conftest import SHARED_DATA

    root = SHARED_DATA / "medsyn_generated"
    if not root.is_dir():
        pytest.fail(f"{root} not found; set MEDSYN_SHARED_DATA to the shared/data folder")
    src = tmp_path_factory.mktemp("src") / "medsyn_generated"
    for name in SLICE:
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(root / name, src / name)
    return src


@pytest.fixture(scope="module")
def imported(medsyn_slice, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("imported") / "corpus"
    assert main(["import", str(medsyn_slice), "--preset", "medsyn", "--out", str(out), "--quiet",
                 "--generation-model", "gpt-3.5-turbo", "--source-url", "https://github.com/milteam/MedSyn",
                 "--license", "mit"]) == 0  # fmt: skip
    return out


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_medsyn_import_loads_with_the_documented_features(imported, medsyn_slice, tmp_path):
    from datasets import load_dataset

    cache = str(tmp_path / "cache")  # a cache of its own: nothing another test loaded can stand in for this folder
    kept = load_dataset(str(imported), split="train", cache_dir=cache)
    everything = load_dataset(str(imported), "unfiltered", split="train", cache_dir=cache)
    assert kept.features == FEATURES and everything.features == FEATURES
    records = [r for name in SLICE for r in json.loads((medsyn_slice / name).read_text(encoding="utf-8"))]
    assert everything["id"] == [r["UID"] for r in records]
    assert 0 < len(kept) < len(everything)
    row = everything[0]
    source = records[0]
    assert row["text"] == source["response"].strip() and row["source_code"] == source["desease_code"]
    assert row["icd10_code"] == source["desease_code"][:3] and row["icd10_name"]
    assert row["messages"] == [{"role": "user", "content": source["prompt"].strip()}]
    assert [s["label"] for s in row["prior"]["symptoms"]] == source["symptoms"]
    assert row["prior"]["sex"] == source["gender"] and row["prior"]["age"] is None
    assert row["prior"]["marital_status"] == ("married" if source["marital_state"] else "single")
    assert row["generation_model"] == "gpt-3.5-turbo" and row["source"] == "medsyn_generated"
    # Fields MedSyn does not record are null, not made up.
    assert all(r["seed"] is None and r["prompt_family"] is None and r["backend"] is None for r in everything)
    # Verdicts follow the scores, as in build.
    for r in everything:
        assert r["keep"] == (not r["reject_reasons"])
        assert ("person_name" in r["reject_reasons"]) == bool(r["person_names"])
        assert ("leakage" in r["reject_reasons"]) == r["leakage"]
    assert any(r["person_names"] for r in everything)  # MedSyn's GPT notes invent patients


def test_build_info_and_card_give_provenance_and_null_fields(imported):
    info = json.loads((imported / "build_info.json").read_text(encoding="utf-8"))
    assert info["license"] == "mit" and info["import"]["source_url"] == "https://github.com/milteam/MedSyn"
    assert info["import"]["preset"] == "medsyn" and info["import"]["records"] == 40
    assert len(info["import"]["sha256"]) == 64
    assert {"seed", "prompt_family", "prior.age"} <= set(info["import"]["null_fields"])
    card = (imported / "README.md").read_text(encoding="utf-8")
    assert "license: mit" in card and "https://github.com/milteam/MedSyn" in card
    assert "`prior.age`" in card and "null in every row" in card


def test_importing_twice_gives_identical_folders(imported, medsyn_slice, tmp_path):
    again = tmp_path / "again"
    assert main(["import", str(medsyn_slice), "--preset", "medsyn", "--out", str(again), "--quiet",
                 "--generation-model", "gpt-3.5-turbo", "--source-url", "https://github.com/milteam/MedSyn",
                 "--license", "mit"]) == 0  # fmt: skip
    assert files_of(again) == files_of(imported)


def test_card_push_and_benchmark_accept_an_imported_corpus(imported, hub, tmp_path):  # noqa: F811
    from tests.training.test_benchmark import cli as benchmark_cli
    from tests.training.test_benchmark import rumedtop3_subset
    from tests.dataset_card.test_push import cli as push_cli

    copy = tmp_path / "copy"
    shutil.copytree(imported, copy)
    assert main(["card", "--dataset", str(copy)]) == 0
    pushed = push_cli(hub.client_env(tmp_path / "hf_home"), str(copy), "--repo-id", "org/medsyn-gpt35",
                      "--version", "v1.0")  # fmt: skip
    assert pushed.returncode == 0, pushed.stderr[-3000:]
    assert "tagged v1.0" in pushed.stdout and "v1.0" in hub.repo("org/medsyn-gpt35").tags

    (tmp_path / "rumed").mkdir()
    train, dev = rumedtop3_subset(tmp_path / "rumed", codes=["J06", "J00", "I11", "M54", "K29", "G44"], cap=30)
    results = tmp_path / "results"
    assert benchmark_cli(["benchmark", "--train", str(train), "--eval", str(dev), "--synthetic", str(imported),
                          "--seeds", "1", "--ratios", "1", "--bootstrap", "50", "--out", str(results)]) == 0
    source = json.loads((results / "results.json").read_text(encoding="utf-8"))["synthetic_source"]
    assert source["generation_model"] == {"gpt-3.5-turbo": len(pq.read_table(imported / "data").column("id"))}


# ------------------------------------------------------------------------------------------ made-up sources

NOTES = [
    ("n1", "M54.16", "Беспокоят боли в пояснице, усиливающиеся при наклонах, около двух недель. Принимает "
     "нестероидные препараты с временным эффектом. Онемения нет.", "боль в пояснице; скованность", "ж", "42"),
    ("n2", "J06.9", "Третий день держится температура до 38, першит в горле, сухой кашель по ночам. Общая слабость, "
     "снижен аппетит. Контакт с больными на работе.", "кашель; першение в горле", "м", "35"),
    ("n3", "K29.70", "Жалобы на тяжесть в эпигастрии после еды, изжогу и отрыжку кислым. Симптомы усиливаются при "
     "погрешностях в диете, последний месяц чаще.", "изжога; тяжесть в эпигастрии", "ж", "51"),
]  # fmt: skip
HEADER = ["note_id", "icd", "note", "symptoms", "sex", "age"]
FLAGS = ["--id-column", "note_id", "--code-column", "icd", "--text-column", "note", "--symptoms-column", "symptoms",
         "--sex-column", "sex", "--age-column", "age", "--generation-model", "made-up", "--quiet"]  # fmt: skip


def write_source(folder: Path, kind: str, notes=NOTES) -> Path:
    import csv

    import pyarrow as pa

    records = [dict(zip(HEADER, note)) for note in notes]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"notes.{kind}"
    if kind == "json":
        path.write_text(json.dumps(records, ensure_ascii=False, indent=1), encoding="utf-8")
    elif kind == "jsonl":
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    elif kind == "csv":
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, HEADER)
            writer.writeheader()
            writer.writerows(records)
    else:
        pq.write_table(pa.Table.from_pylist(records), path)
    return path


def unfiltered(folder: Path) -> list[dict]:
    return pq.read_table(next((folder / "unfiltered").glob("*.parquet"))).to_pylist()


def test_every_format_imports_to_the_same_rows(tmp_path):
    results = {}
    for kind in ("json", "jsonl", "csv", "parquet"):
        src = write_source(tmp_path / f"src-{kind}", kind)
        out = tmp_path / f"out-{kind}"
        assert main(["import", str(src), "--out", str(out), "--source-name", "made-up", *FLAGS]) == 0
        results[kind] = unfiltered(out)
    assert results["json"] == results["jsonl"] == results["csv"] == results["parquet"]
    rows = results["json"]
    assert [r["icd10_code"] for r in rows] == ["M54", "J06", "K29"]
    assert [r["prior"]["sex"] for r in rows] == ["female", "male", "female"] and rows[0]["prior"]["age"] == 42
    assert rows[0]["messages"] is None  # no prompt column: null, and the card says so
    info = json.loads((tmp_path / "out-json" / "build_info.json").read_text(encoding="utf-8"))
    assert info["import"]["codes"]["mapped"] == {"K29.70": "K29.7", "M54.16": "M54.1"}


@pytest.mark.parametrize(
    "raw, expected",
    [("J06.9", ("J06.9", "exact")), ("G40.89", ("G40.8", "parent")), ("N40.0", ("N40", "parent")),
     ("М54", ("M54", "exact")), ("m54.2", ("M54.2", "exact")), ("M542", ("M54.2", "exact")),
     ("I10.", ("I10", "exact")), ("Z99.99", ("Z99.9", "parent")), ("U999", (None, "unknown")),
     ("pain", (None, "unknown")), ("", (None, "unknown"))],
)  # fmt: skip
def test_codes_are_checked_against_mkb10(graph, raw, expected):
    assert resolve_code(raw, set(graph.codes)) == expected


def test_codes_mkb10_lacks_are_reported_not_imported(tmp_path):
    notes = [*NOTES, ("n4", "XYZ", NOTES[0][2] + " Другая запись.", "боль", "ж", "30")]
    src = write_source(tmp_path / "src", "jsonl", notes)
    out = tmp_path / "out"
    assert main(["import", str(src), "--out", str(out), *FLAGS]) == 0
    info = json.loads((out / "build_info.json").read_text(encoding="utf-8"))
    assert info["import"]["codes"]["unknown"] == {"XYZ": 1} and info["import"]["skipped"] == {"unknown_code": 1}
    assert "XYZ" in (out / "README.md").read_text(encoding="utf-8") and len(unfiltered(out)) == 3


def test_against_removes_near_duplicates_of_an_existing_corpus(tmp_path):
    first = tmp_path / "first"
    assert main(["import", str(write_source(tmp_path / "a", "jsonl")), "--out", str(first), *FLAGS]) == 0
    edited = NOTES[1][2].replace("Третий день", "Четвертый день")
    notes = [("m1", "J06.9", edited, "кашель", "м", "36"), ("m2", *NOTES[2][1:])]
    notes[1] = ("m2", "I10", "Периодически поднимается давление до 160/100, головные боли в затылке по утрам, "
                "шум в ушах. Лекарства принимает нерегулярно.", "головная боль", "ж", "60")  # fmt: skip
    second = tmp_path / "second"
    src = write_source(tmp_path / "b", "jsonl", notes)
    assert main(["import", str(src), "--out", str(second), "--against", str(first), *FLAGS]) == 0
    rows = {r["id"]: r for r in unfiltered(second)}
    assert rows["m1"]["near_duplicate_of"] == "n2" and "near_duplicate" in rows["m1"]["reject_reasons"]
    assert rows["m2"]["near_duplicate_of"] is None
    assert json.loads((second / "build_info.json").read_text(encoding="utf-8"))["import"]["against_duplicates"] == 1


def medsyn_layout(folder: Path, with_uid: bool) -> Path:
    """A made-up file in MedSyn's layout; its GPT-4 results (0_0.5k_gpt4) are written without the UID field."""
    records = [{"desease_code": code, "symptoms": symptoms.split("; "), "gender": "female" if sex == "ж" else "male",
                "marital_state": 1, "smoking": "некурящий", "desease_name": "nan", "prompt": f"Жалобы: {symptoms}.",
                "response": text, **({"UID": f"uid-{id_}"} if with_uid else {})}
               for id_, code, text, symptoms, sex, _ in NOTES]  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "result_0-20.json"
    path.write_text(json.dumps(records, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def test_medsyn_preset_reads_files_without_uid_and_falls_back_to_file_line(tmp_path, capsys):
    src = tmp_path / "medsyn_generated"
    medsyn_layout(src / "gpt35", with_uid=True)
    medsyn_layout(src / "gpt4", with_uid=False)
    out = tmp_path / "out"
    assert main(["import", str(src), "--preset", "medsyn", "--out", str(out), "--quiet"]) == 0
    ids = [row["id"] for row in unfiltered(out)]
    assert ids == ["uid-n1", "uid-n2", "uid-n3"] + [f"medsyn_generated/gpt4/result_0-20.json#{n}" for n in (1, 2, 3)]
    # Only the preset's own id column may be missing: one the user names is still required.
    err = run_bad(["import", str(src), "--preset", "medsyn", "--id-column", "UID", "--out", str(tmp_path / "named"),
                   "--quiet"], capsys)  # fmt: skip
    assert "gpt4/result_0-20.json" in err and "no column 'UID' (--id-column)" in err
    assert not (tmp_path / "named").exists()


# ---------------------------------------------------------------------------------------------- bad input


def run_bad(argv: list[str], capsys) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_unknown_preset(tmp_path, capsys):
    src = write_source(tmp_path / "src", "json")
    err = run_bad(["import", str(src), "--preset", "medsin", "--out", str(tmp_path / "out")], capsys)
    assert "unknown preset 'medsin'" in err and "did you mean 'medsyn'" in err
    assert not (tmp_path / "out").exists()


def test_missing_column_names_the_file_and_the_columns_found(tmp_path, capsys):
    src = write_source(tmp_path / "src", "csv")
    err = run_bad(["import", str(src), "--text-column", "response", "--code-column", "icd",
                   "--out", str(tmp_path / "out")], capsys)  # fmt: skip
    assert str(src) in err and "'response'" in err and "note_id, icd, note, symptoms, sex, age" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("kind, broken, where", [
    ("jsonl", lambda t: t.replace("}\n", "}\n{broken\n", 1), ":2:"),
    ("json", lambda t: t.replace('"n2"', '"n2",,', 1), ":11:"),
    ("csv", lambda t: t + "x,y\n", ":5:"),
])  # fmt: skip
def test_unreadable_file_names_file_and_line(tmp_path, capsys, kind, broken, where):
    src = write_source(tmp_path / "src", kind)
    src.write_text(broken(src.read_text(encoding="utf-8")), encoding="utf-8")
    err = run_bad(["import", str(src), "--out", str(tmp_path / "out"), *FLAGS], capsys)
    assert f"{src}{where}" in err
    assert not (tmp_path / "out").exists()


def test_empty_source(tmp_path, capsys):
    src = tmp_path / "empty.jsonl"
    src.write_text("", encoding="utf-8")
    err = run_bad(["import", str(src), "--out", str(tmp_path / "out"), *FLAGS], capsys)
    assert "empty source" in err and not (tmp_path / "out").exists()
    (tmp_path / "folder").mkdir()
    err = run_bad(["import", str(tmp_path / "folder"), "--out", str(tmp_path / "out"), *FLAGS], capsys)
    assert "no notes found" in err and not (tmp_path / "out").exists()


# --------------------------------------------------------------------------------------------------- merge


def test_merge_refuses_to_write_over_one_of_its_inputs(tmp_path, capsys):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    err = run_bad(["merge", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "a")], capsys)
    assert "is one of the folders to merge" in err and list((tmp_path / "a").iterdir()) == []


def test_merge_of_imported_and_template_corpora_dedups_across_and_shows_both(imported, tmp_path):
    from datasets import load_dataset

    template = tmp_path / "template"
    assert main(["build", "--out", str(template), "--n", "30", "--codes", "J06", "M54", "--quiet"]) == 0
    built = unfiltered(template)
    assert all(row["person_names"] == [] for row in built)  # build looks for names too (template notes have none)
    kept_template = [r for r in built if r["keep"]]
    # A third corpus holding a lightly edited copy of a kept template note: merged after, it must lose it.
    copy_note = kept_template[0]["text"].replace("Пациент", "Больной", 1) + " Дополнение."
    src = write_source(tmp_path / "src", "jsonl", [("c1", kept_template[0]["icd10_code"], copy_note, "", "м", "40"),
                                                   NOTES[2]])  # fmt: skip
    third = tmp_path / "third"
    assert main(["import", str(src), "--out", str(third), "--source-name", "copies", *FLAGS]) == 0

    merged = tmp_path / "merged"
    assert main(["merge", str(template), str(imported), str(third), "--out", str(merged), "--quiet"]) == 0
    cache = str(tmp_path / "cache")
    everything = load_dataset(str(merged), "unfiltered", split="train", cache_dir=cache)
    kept = load_dataset(str(merged), split="train", cache_dir=cache)
    assert everything.features == FEATURES
    assert len(everything) == len(built) + len(unfiltered(imported)) + 2
    sources = set(everything["source"])
    assert sources == {"template", "medsyn_generated", "copies"}
    rows = {r["id"]: r for r in everything}
    assert rows["c1"]["near_duplicate_of"] == kept_template[0]["id"] and not rows["c1"]["keep"]
    assert len(kept) == sum(everything["keep"])
    info = json.loads((merged / "build_info.json").read_text(encoding="utf-8"))
    by_name = {s["name"]: s for s in info["merge"]["sources"]}
    assert by_name["copies"]["cross_duplicates"] == 1 and by_name["template"]["cross_duplicates"] == 0
    card = (merged / "README.md").read_text(encoding="utf-8")
    assert "## How the notes were generated" in card and "### Sources" in card
    assert "`template`" in card and "`medsyn_generated`" in card and "`copies`" in card
