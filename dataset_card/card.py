"""The dataset card: a corpus folder's statistics (`stats`) rendered into README.md with its plots.

Every number in the card is computed from the shards, `build_info.json` and the benchmark's `results.json`,
so the page a researcher reads cannot drift from the data they download. The YAML header is merged into what is
already there: keys that `datasets` or a maintainer wrote are kept; only the size category (a fact of the data)
is refreshed, tags are united and missing configs are added.
"""

from __future__ import annotations

import json
import logging
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from medsyn.builder.corpus.provenance import corpus_fingerprint, public
from medsyn.builder.corpus.readers import column_names
from medsyn.builder.kg.graph import load_graph
from medsyn.builder.quality.scorers import registry
from medsyn.dataset_card import plots, privacy
from medsyn.dataset_card.benchmark_tables import notes, results_table, saved_table, tstr_table
from medsyn.dataset_card.stats import CorpusStats, collect_stats, filter_table, read_build_info, read_table
from medsyn.dataset_card.stats import scorer_fields
from medsyn.dataset_card.validate import DATA_GLOB, UNFILTERED_GLOB, shard_paths
from medsyn.errors import MedsynError
from medsyn.io import atomic_file

log = logging.getLogger(__name__)

TEMPLATE = Path(__file__).parent / "templates" / "card.md"
ASSETS = "assets"
BENCHMARK_ASSETS = f"{ASSETS}/benchmark"
METRICS = ("accuracy", "hit@3", "macro_f1", "hard_codes_accuracy", "rare_codes_accuracy")
TSTR_ROWS = 20  # the card shows the 10 codes TSTR gets best and the 10 worst; results.md has them all
PERCENTILES = (50, 95, 99)
DEFAULT_METADATA: dict[str, Any] = {
    "pretty_name": "MedSyn-ru: synthetic Russian clinical notes",
    "language": ["ru"],
    "license": "other",
    "license_name": "mixed-sources",
    "annotations_creators": ["machine-generated"],
    "language_creators": ["machine-generated"],
    "multilinguality": ["monolingual"],
    "task_categories": ["text-generation", "text-classification"],
    "task_ids": ["language-modeling", "multi-class-classification"],
    "tags": ["medical", "synthetic", "clinical-notes", "icd-10"],
    "source_datasets": ["original", "extended|RuMedTop3"],
}
MEDSYN_BIBTEX = """@article{kumichev2024medsyn,
  title   = {MedSyn: LLM-based Synthetic Medical Text Generation Framework},
  author  = {Kumichev, Gleb and Blinov, Pavel and Kuzkina, Yulia and Goncharov, Vasily and Zubkova, Galina and
             Zenovkin, Nikolai and Goncharov, Aleksei and Savchenko, Andrey},
  journal = {arXiv preprint arXiv:2408.02056},
  year    = {2024}
}"""


# -- benchmark ------------------------------------------------------------------------------------------------


def load_benchmark(results_dir: Path) -> dict:
    """results.json, its tables rendered exactly as results.md has them (in %), and per-setting seed spreads."""
    path = results_dir / "results.json"
    if not path.is_file():
        raise MedsynError(f"{path}: not found; pass the folder `medsyn benchmark --out` wrote")
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
        settings, summary = results["settings"], results["summary"]
        tables = {
            "results": results_table(results),
            "notes": notes(results),
            "saved": saved_table(results),
            "tstr": tstr_table(results, limit=TSTR_ROWS),
        }
    except (json.JSONDecodeError, KeyError, TypeError, IndexError) as err:
        raise MedsynError(f"{path}: not a benchmark results file ({type(err).__name__}: {err}); rerun "
                          "`medsyn benchmark`") from None
    groups: dict[tuple, list[dict]] = {}
    for i, setting in enumerate(settings):
        try:
            key = (setting["name"], setting.get("real_fraction", 1.0), setting.get("classifier", ""))
            # hard/rare codes accuracy is null when the evaluation file has no note of such a code
            metrics = {m: float(v) for m in METRICS if (v := setting["metrics"].get(m)) is not None}
        except (KeyError, TypeError, ValueError) as err:
            raise MedsynError(f"{path}: settings[{i}] lacks name/metrics ({err}); rerun `medsyn benchmark`") from None
        groups.setdefault(key, []).append({"seed": setting.get("seed"), "metrics": metrics})
    rows = []
    for (name, fraction, classifier), runs in groups.items():
        label = name if fraction in (None, 1, 1.0) or name == "TSTR" else f"{name}, real {100 * fraction:g}%"
        row = {"name": label, "classifier": classifier, "seeds": len(runs), "metrics": {}}
        for metric in METRICS:
            values = [r["metrics"][metric] for r in runs if metric in r["metrics"]]
            if values:
                std = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
                row["metrics"][metric] = {"mean": float(np.mean(values)), "std": std}
        rows.append(row)
    return {
        "rows": rows,
        "tables": tables,
        "hard_codes": results.get("hard_codes") or [],
        "rare_codes": results.get("rare_codes") or [],
        "source": results.get("synthetic_source"),
        "summary": [s for s in summary if s.get("name") != "real"],
        "n_tstr_codes": len(results.get("tstr_per_code") or []),
        "eval_file": Path(str((results.get("eval") or {}).get("path") or "the evaluation file")).name,
        "fingerprint": (results.get("synthetic_source") or {}).get("fingerprint"),
        "corpus_created": ((results.get("synthetic_source") or {}).get("build_info") or {}).get("created"),
        "corpus_medsyn": ((results.get("synthetic_source") or {}).get("build_info") or {}).get("medsyn_version"),
    }


def copy_benchmark(results_dir: Path, dataset_dir: Path) -> list[str]:
    """Copy results.json and the benchmark's PNGs into the folder so they upload with the version they describe."""
    target = dataset_dir / BENCHMARK_ASSETS
    target.mkdir(parents=True, exist_ok=True)
    results = json.loads((results_dir / "results.json").read_text(encoding="utf-8"))
    with atomic_file(target / "results.json") as handle:  # published: no path of this machine in it
        json.dump(public(results), handle, ensure_ascii=False, indent=2)
    copied = []
    for source in sorted(results_dir.glob("*.png")):
        with atomic_file(target / source.name, "wb") as handle, open(source, "rb") as src:
            shutil.copyfileobj(src, handle)
        if source.suffix == ".png":
            copied.append(f"{BENCHMARK_ASSETS}/{source.name}")
    return copied


# -- metadata -------------------------------------------------------------------------------------------------


def size_category(n: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return label
    return "1M<n<10M"


def default_configs(dataset_dir: Path) -> list[dict]:
    """The `default` and `unfiltered` configs, each listing its shard files by name rather than by a glob.

    datasets hashes these entries (not the files) into its cache key for a local folder: shard names carry a digest
    of their bytes (`builder/corpus/writer.py`, `write_shards`), so a plain `load_dataset(FOLDER)` never returns the rows of
    another corpus that once sat in a folder of the same name.
    """
    configs = []
    for name, pattern in (("default", DATA_GLOB), ("unfiltered", UNFILTERED_GLOB)):
        shards = [path.relative_to(dataset_dir).as_posix() for path in shard_paths(dataset_dir, pattern)]
        if shards or name == "default":
            files = [{"split": "train", "path": shards or pattern}]
            default = {"default": True} if name == "default" else {}
            configs.append({"config_name": name, **default, "data_files": files})
    return configs


def merge_metadata(existing: dict, dataset_dir: Path, kept: int, build_info: dict) -> dict:
    """Existing keys win (datasets' `dataset_info`/`configs`, a maintainer's edits); ours fill the gaps."""
    ours = dict(DEFAULT_METADATA)
    if build_info.get("license"):
        ours["license"] = build_info["license"]
        ours.pop("license_name", None)
    if build_info.get("pretty_name"):
        ours["pretty_name"] = build_info["pretty_name"]
    merged = dict(existing)
    for key, value in ours.items():
        merged.setdefault(key, value)
    merged["tags"] = list(dict.fromkeys([*(existing.get("tags") or []), *DEFAULT_METADATA["tags"]]))
    merged["size_categories"] = [size_category(kept)]
    configs = list(existing.get("configs") or [])
    present = {c.get("config_name") for c in configs if isinstance(c, dict)}
    configs += [c for c in default_configs(dataset_dir) if c["config_name"] not in present]
    merged["configs"] = configs
    return merged


def existing_metadata(readme: Path) -> dict:
    if not readme.is_file():
        return {}
    from huggingface_hub import DatasetCard

    try:
        return DatasetCard.load(readme).data.to_dict()
    except Exception as err:  # a hand-broken README: say where, do not silently drop its keys
        raise MedsynError(f"{readme}: its YAML metadata does not parse ({err}); fix it or delete the file") from None


# -- rendering ------------------------------------------------------------------------------------------------


def _short(value: Any, limit: int = 300) -> Any:
    """The example row made readable: long strings cut, float32 noise rounded away."""
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + "…"
    if isinstance(value, list):
        return [_short(v, limit) for v in value]
    if isinstance(value, dict):
        return {k: _short(v, limit) for k, v in value.items()}
    return value


def cell(value: Any) -> str:
    """Text safe inside one Markdown table cell."""
    return " ".join(str(value).split()).replace("|", "\\|")


def _mkg_sources(build_info: dict) -> list[dict]:
    sources = (build_info.get("mkg") or {}).get("sources")
    if sources:
        return sources
    return load_graph().provenance.get("sources", [])  # the embedded graph the build used when no --mkg was given


def make_plots(dataset_dir: Path, stats: CorpusStats, benchmark: dict | None) -> dict[str, str]:
    assets = dataset_dir / ASSETS
    made = {
        "per_code": plots.bar_counts(
            {r["code"]: r["notes"] for r in stats.per_code}, assets / "notes_per_code.png",
            "Kept notes per ICD-10 code", "ICD-10 code",
        ),
        "per_chapter": plots.bar_counts(
            {r["chapter"]: r["notes"] for r in stats.per_chapter}, assets / "notes_per_chapter.png",
            "Kept notes per ICD-10 chapter", "chapter",
        ),
    }  # fmt: skip
    if stats.words:
        made["length"] = plots.histogram(
            [r for r in _column(dataset_dir, "n_words")], assets / "length.png", "Note length", "words"
        )
    if stats.recall:
        made["recall"] = plots.histogram(
            [r for r in _column(dataset_dir, "symptom_recall") if r is not None],
            assets / "symptom_recall.png", "Symptom recall of kept notes", "share of prior symptoms mentioned",
            bins=20,
        )  # fmt: skip
    if benchmark and benchmark["rows"]:
        made["benchmark"] = plots.benchmark_bars(benchmark["rows"], "accuracy", dataset_dir / BENCHMARK_ASSETS / "accuracy.png")
    return {k: p.relative_to(dataset_dir).as_posix() for k, p in made.items()}


def _column(dataset_dir: Path, name: str) -> list:
    return read_table(dataset_dir, DATA_GLOB, [name]).column(name).to_pylist()


def render_card(
    dataset_dir: str | Path,
    *,
    repo_id: str | None = None,
    version: str | None = None,
    build_info: dict | None = None,
    stats: CorpusStats | None = None,
) -> str:
    """README text for the folder as it is (plots and copied benchmark must already be in it).

    `medsyn push` calls this with the repo id, the version being published and the history it extends, so the
    uploaded card pins the right revision without touching the local folder.
    """
    from huggingface_hub import DatasetCard, DatasetCardData

    dataset_dir = Path(dataset_dir)
    info = build_info if build_info is not None else read_build_info(dataset_dir)
    stats = stats or collect_stats(dataset_dir)
    scorers = registry()  # the filter table and the Fields rows of plug-in scorers
    results = dataset_dir / BENCHMARK_ASSETS / "results.json"
    benchmark = load_benchmark(results.parent) if results.is_file() else None
    images = {
        key: rel
        for key, rel in {
            "per_code": f"{ASSETS}/notes_per_code.png",
            "per_chapter": f"{ASSETS}/notes_per_chapter.png",
            "length": f"{ASSETS}/length.png",
            "recall": f"{ASSETS}/symptom_recall.png",
            "benchmark": f"{BENCHMARK_ASSETS}/accuracy.png",
        }.items()
        if (dataset_dir / rel).is_file()
    }
    extra_images = sorted(
        p.relative_to(dataset_dir).as_posix()
        for p in (dataset_dir / BENCHMARK_ASSETS).glob("*.png")
        if p.name != "accuracy.png"
    )
    metadata = merge_metadata(existing_metadata(dataset_dir / "README.md"), dataset_dir, stats.kept, info)
    versions = list(info.get("versions") or [])
    pinned = version or (versions[-1]["version"] if versions else None)
    repo_id = repo_id or info.get("repo_id")
    card = DatasetCard.from_template(
        DatasetCardData(**metadata),
        template_path=str(TEMPLATE),
        # unpublished: the card says how to load the folder itself and what `medsyn push` will pin, never a
        # placeholder a reader could copy into code
        published=bool(repo_id and pinned),
        repo_id=repo_id,
        revision=pinned,
        data_glob=DATA_GLOB,
        unfiltered_glob=UNFILTERED_GLOB if shard_paths(dataset_dir, UNFILTERED_GLOB) else None,
        space=info.get("space"),
        info=info,
        summary=info.get("summary") or {},
        filters=info.get("filters") or {},
        filter_rows=filter_table(info.get("filters") or {}, scorers),
        scorer_fields=scorer_fields(column_names(dataset_dir, UNFILTERED_GLOB) or column_names(dataset_dir, DATA_GLOB),
                                    scorers),
        dedup=info.get("dedup") or {},
        backend=info.get("backend") or {},
        mkg_sources=_mkg_sources(info),
        stats=stats,
        images=images,
        extra_images=extra_images,
        benchmark=benchmark,
        privacy=privacy.section(dataset_dir, info, stats.reject_reasons),
        tstr_rows=TSTR_ROWS,
        versions=versions,
        percentiles=PERCENTILES,
        example_json=json.dumps(_short(stats.example_row), ensure_ascii=False, indent=2),
        medsyn_bibtex=MEDSYN_BIBTEX,
        cell=cell,
        year=datetime.now(timezone.utc).year,
    )
    return str(card)


def check_fingerprint(results_dir: Path, dataset_dir: Path, force: bool = False) -> None:
    """Results are evidence only for the corpus they were computed on: compare the fingerprint they record."""
    results = json.loads((results_dir / "results.json").read_text(encoding="utf-8"))
    recorded = (results.get("synthetic_source") or {}).get("fingerprint")
    actual = corpus_fingerprint(dataset_dir)
    if recorded == actual:
        return
    problem = ("records no corpus fingerprint (written by an older medsyn)" if not recorded else
               f"was computed on another corpus ({recorded[:19]}…, this one is {actual[:19]}…)")
    if force:
        log.warning("%s/results.json %s; adding it anyway (--force)", results_dir, problem)
        return
    raise MedsynError(f"{results_dir}/results.json {problem}; rerun `medsyn benchmark --synthetic {dataset_dir}` "
                      "or pass --force to publish it anyway")


def write_card(dataset_dir: str | Path, benchmark_dir: str | Path | None = None, force: bool = False,
               audit_dir: str | Path | None = None) -> Path:
    """Rewrite DIR/README.md (and the plots under DIR/assets) from the folder's data; return the README path.

    Benchmark results and audits are refused unless they were computed on this very corpus (or `force`)."""
    dataset_dir = Path(dataset_dir)
    if not dataset_dir.is_dir():
        raise MedsynError(f"{dataset_dir}: not a folder; pass the folder `medsyn build --out` wrote")
    if audit_dir is not None:
        privacy.add_audit(Path(audit_dir), dataset_dir, force)
    stats = collect_stats(dataset_dir)
    benchmark = None
    if benchmark_dir is not None:
        benchmark_dir = Path(benchmark_dir)
        benchmark = load_benchmark(benchmark_dir)
        check_fingerprint(benchmark_dir, dataset_dir, force)
        copy_benchmark(benchmark_dir, dataset_dir)
    elif (dataset_dir / BENCHMARK_ASSETS / "results.json").is_file():
        benchmark = load_benchmark(dataset_dir / BENCHMARK_ASSETS)
    make_plots(dataset_dir, stats, benchmark)
    text = render_card(dataset_dir, stats=stats)
    readme = dataset_dir / "README.md"
    with atomic_file(readme) as handle:
        handle.write(text)
    log.debug("wrote %s", readme)  # the command says so once; a build writes it into a temporary folder
    return readme
