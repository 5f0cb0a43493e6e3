"""The Medical Knowledge Graph: ICD-10 hierarchy plus code -> symptom edges weighted by real co-occurrence.

Saved as gzip-compressed node-link JSON (format below) so that any language can read it and `git diff` of the
embedded default stays meaningful after a rebuild. The same inputs always give the same bytes: nodes and edges are
sorted, floats rounded, and the gzip header carries no timestamp or file name.

File format (`format_version` 1)::

    {"format": "medsyn-mkg", "format_version": 1,
     "provenance": {"sources": [{"name", "file", "sha256", "license"}...], "counts": {...}},
     "graph": <networkx node-link data, edges under "edges">}

Node ids and attributes:
- `chapter:I` .. `chapter:XXII`: kind=chapter, code (roman), name, range ("A00-B99").
- `block:A00-A09`: kind=block, code, name.
- `icd:A00` / `icd:A00.0`: kind=category / subcategory, code, name, dual_coding ("dagger"/"asterisk"/None),
  sex ("male"/"female"/None), age_min/age_max (only where limited), n_notes (real train notes of the category).
- `symptom:<label>`: kind=symptom, label (Russian), lang="ru".
- `symptom:mesh:<id>`: kind=symptom, label (English MeSH term), mesh_id, lang="en" (HSDN, optional).
Edges: `contains` (parent -> child in the hierarchy) and `has_symptom` (code -> symptom), with each source's own
figure: markup_count, lemma_count and notes (RuMedTop3 train notes), medsyn_hsdn and medsyn_list (MedSyn's lists,
at the code's own level and rolled up to its category), hsdn_cooccurs / hsdn_tfidf (English HSDN), and weight: the
sampling weight of the evidence rule in `builder/kg/evidence.py`. Codes also carry medsyn_prob (MedSyn's sampling
probability) where MedSyn lists them, and `sex` from the WHO list or, where WHO has none, MedSyn's gender column.
"""

from __future__ import annotations

import difflib
import gzip
import io
import json
import logging
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path

import networkx as nx
from tqdm.auto import tqdm

from medsyn.builder.kg import evidence, icd10, sources
from medsyn.builder.kg.lexicon import build_lexicon
from medsyn.builder.text.matching import SymptomMatcher
from medsyn.builder.text.mentions import LemmaMatcher
from medsyn.builder.kg.medsyn_tables import LATER, MAIN, read_medsyn_tables
from medsyn.errors import MedsynError
from medsyn.io import atomic_file

log = logging.getLogger(__name__)

FORMAT = "medsyn-mkg"
FORMAT_VERSION = 1
EMBEDDED = "mkg.json.gz"
# Match the knowledge lists' labels in real notes too, so that they gain real "lemma" evidence where notes use
# them: synthetic-only dev accuracy of template notes 18.2 without, 20.6 with (README, bench_prior_tstr.py).
MATCH_LIST_LABELS = True


@dataclass
class MkgSources:
    """Where each source file is; everything but the ICD-10 dictionary is optional."""

    icd10: Path
    notes: list[Path] = field(default_factory=list)
    markup: Path | None = None
    hsdn: Path | None = None
    mesh_icd10_cm: Path | None = None
    mesh_icd10_who: Path | None = None
    medsyn_mkg: Path | None = None  # folder with MedSyn's main_proc.csv (and icd_symp_ru.csv)

    @classmethod
    def from_shared(cls, root: str | Path) -> "MkgSources":
        """The `shared/data` layout: МКБ-10, RuMedTop3 train + markup, HSDN and both MeSH maps when present."""
        root = Path(root)
        icd = sorted((root / "mkb10_nsi").glob("*.csv"))
        if not icd:
            raise MedsynError(f"{root / 'mkb10_nsi'}: no МКБ-10 CSV found; pass --icd10 or the right --sources")
        optional = {
            "markup": root / "rumedbench/raw/rec_markup.csv",
            "hsdn": root / "hsdn_symptoms_do/symptoms-DO.tsv",
            "mesh_icd10_cm": root / "mesh_icd10_kush02/MESH_ICD10_Mapping.csv",
            "mesh_icd10_who": root / "mesh2icd10_tonifuc3m/dict.txt",
            "medsyn_mkg": root / "medsyn_mkg",
        }
        notes = root / sources.RUMEDTOP3 / "train_v1.jsonl"
        return cls(
            icd10=icd[0],
            notes=[notes] if notes.exists() else [],
            **{key: path if path.exists() else None for key, path in optional.items()},
        )

    def files(self) -> list[tuple[str, Path]]:
        named = [("icd10", self.icd10)] + [("notes", path) for path in self.notes]
        named += [(key, getattr(self, key)) for key in ("markup", "hsdn", "mesh_icd10_cm", "mesh_icd10_who")]
        if self.medsyn_mkg is not None:
            named += [("medsyn_mkg", self.medsyn_mkg / MAIN)]
            named += [("medsyn_mkg", self.medsyn_mkg / LATER)] if (self.medsyn_mkg / LATER).exists() else []
        return [(name, path) for name, path in named if path is not None]


def build_graph(src: MkgSources, progress: bool = True) -> tuple[nx.DiGraph, dict]:
    """Build the graph and its provenance from the source files."""
    graph = nx.DiGraph()
    _add_hierarchy(graph, sources.read_icd10(src.icd10))
    categories = {data["code"] for _, data in graph.nodes(data=True) if data["kind"] == "category"}

    notes: list[sources.Note] = []
    for path in src.notes:
        sources.refuse_held_out(path)
        for note in sources.read_notes(path):
            if note.code[:3] not in categories:
                close = difflib.get_close_matches(note.code[:3], sorted(categories), n=3)
                raise MedsynError(
                    f"{path}: note {note.note_id} has code {note.code}, not an in-force ICD-10 category"
                    f" (close: {', '.join(close) or 'none'})"
                )
            notes.append(note)
    n_notes = Counter(note.code[:3] for note in notes)
    for code, count in n_notes.items():
        graph.nodes[f"icd:{code}"]["n_notes"] = count

    counts: dict = {"notes": len(notes), "markup_pairs": 0, "hsdn_pairs": 0}
    markup = sources.read_markup(src.markup) if src.markup is not None else []
    rows, lexicon, medsyn = [], None, {}
    if src.medsyn_mkg is not None:
        rows = read_medsyn_tables(src.medsyn_mkg)
        surfaces = [s for row in rows for item in row.hsdn for s in item.synonyms]
        train_ids = {note.note_id for note in notes}  # the labels of train notes only: dev markup stays unseen
        protected = {row.symptom for row in markup if row.note_id in train_ids}
        names = [data["name"] for _, data in graph.nodes(data=True) if "name" in data]
        lexicon = build_lexicon(protected, surfaces + [s for row in rows for s in row.listed], names)
    if markup and notes:
        extra = sorted(set(lexicon.canonical.values()) - {None}) if lexicon and MATCH_LIST_LABELS else []
        counts["markup_pairs"] = _add_note_symptoms(graph, notes, markup, progress, extra)
    if src.hsdn is not None:
        mesh_map = evidence.mesh_to_categories(src, categories)
        counts["hsdn_pairs"] = evidence.add_hsdn(graph, sources.read_hsdn(src.hsdn), mesh_map)
    if lexicon is not None:
        medsyn = evidence.add_medsyn_edges(graph, rows, lexicon)
        counts["medsyn_codes"] = sum(row.has_russian for row in rows)
        counts["lexicon"] = lexicon.counts
    counts["diagnosis_named_symptoms_dropped"] = evidence.drop_diagnosis_symptoms(graph)
    evidence.add_weights(graph)
    coverage = evidence.source_coverage(graph)

    provenance = {
        "sources": [
            {
                "name": name,
                "file": path.name,
                "sha256": sources.sha256(path),
                "license": sources.stated_license(_source_md(path)),
                "coverage": coverage.get(name, ""),
            }
            for name, path in src.files()
        ],
        "counts": counts,
        **({"medsyn_mkg": medsyn} if medsyn else {}),
    }
    return graph, provenance


def _source_md(path: Path) -> Path:
    """The SOURCE.md describing a file: next to it or in one of the two folders above (shared/data layout)."""
    for folder in [path.parent, *list(path.parents)[1:3]]:
        if (folder / "SOURCE.md").is_file():
            return folder / "SOURCE.md"
    return path.parent / "SOURCE.md"


def _add_hierarchy(graph: nx.DiGraph, rows: list[sources.IcdRow]) -> None:
    node_of: dict[str, str] = {}
    for row in rows:
        code = row.code
        if sources.CHAPTER_RE.match(code):
            node, kind = f"chapter:{code}", "chapter"
        elif sources.BLOCK_RE.match(code):
            node, kind = f"block:{code}", "block"
        elif sources.CATEGORY_RE.match(code):
            node, kind = f"icd:{code}", "category"
        elif sources.SUBCATEGORY_RE.match(code):
            node, kind = f"icd:{code}", "subcategory"
        else:
            continue  # 5-character Russian extensions: finer than any source we join
        attrs = {"kind": kind, "code": code, "name": row.name}
        if kind in {"category", "subcategory"}:
            attrs["dual_coding"] = row.dual_coding
            attrs["sex"] = icd10.sex_limit(code)
            limits = icd10.age_limit(code)
            if limits:
                attrs["age_min"], attrs["age_max"] = limits
        graph.add_node(node, **attrs)
        node_of[row.row_id] = node
    for row in rows:
        child, parent = node_of.get(row.row_id), node_of.get(row.parent_id)
        if child and parent:
            graph.add_edge(parent, child, kind="contains")
    for node, data in graph.nodes(data=True):
        if data["kind"] == "chapter":
            blocks = sorted(graph.nodes[b]["code"] for b in graph.successors(node))
            if blocks:
                data["range"] = f"{blocks[0].split('-')[0]}-{blocks[-1].split('-')[-1]}"


def _add_note_symptoms(
    graph: nx.DiGraph, notes: list[sources.Note], markup: list[sources.MarkupRow], progress: bool,
    extra_labels: list[str] = (),
) -> int:
    """Markup labels joined on the note id, then every lexicon label each note mentions, not negated: the markup
    labels by the paraphrase-aware matcher (`medsyn.builder.text.matching`), the knowledge lists' `extra_labels` by
    their lemmas only (`mentions.LemmaMatcher`, as the evidence rule was tuned): paraphrase matching of MedSyn's
    many near-synonyms ("болевые ощущения", "болезненные ощущения") would credit each of them with every "боль"."""
    by_id = {note.note_id: note for note in notes}
    markup_pairs = Counter((by_id[row.note_id].code[:3], row.symptom) for row in markup if row.note_id in by_id)
    markup_labels = sorted({label for _, label in markup_pairs})
    matcher = SymptomMatcher(markup_labels)
    list_only = sorted(set(extra_labels) - set(markup_labels))
    list_matcher = LemmaMatcher(list_only) if list_only else None
    lemma_pairs: Counter = Counter()
    union: Counter = Counter()
    labelled = defaultdict(set)
    for row in markup:
        if row.note_id in by_id:
            labelled[row.note_id].add(row.symptom)
    for note in tqdm(notes, desc="matching symptoms in notes", unit="note", disable=not progress):
        found = matcher.present(note.text) & matcher.keys.keys()
        if list_matcher is not None:
            found |= list_matcher.present(note.text)
        for label in found:
            lemma_pairs[(note.code[:3], label)] += 1
        for label in found | labelled.get(note.note_id, set()):
            union[(note.code[:3], label)] += 1
    for code, label in sorted(union):
        node = f"symptom:{label}"
        graph.add_node(node, kind="symptom", label=label, lang="ru")
        graph.add_edge(
            f"icd:{code}",
            node,
            kind="has_symptom",
            markup_count=markup_pairs.get((code, label), 0),
            lemma_count=lemma_pairs.get((code, label), 0),
            notes=union[(code, label)],
        )
    return len(markup_pairs)


def save_graph(graph: nx.DiGraph, provenance: dict, path: str | Path) -> None:
    """Write the graph deterministically (sorted nodes/edges, fixed gzip header) and atomically."""
    ordered = nx.DiGraph()
    ordered.add_nodes_from(sorted(graph.nodes(data=True)))
    ordered.add_edges_from(sorted(graph.edges(data=True), key=lambda e: (e[0], e[1])))
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "provenance": provenance,
        "graph": nx.node_link_data(ordered, edges="edges"),
    }
    payload = json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as gz:
        gz.write(payload)
    with atomic_file(path, "wb") as handle:
        handle.write(buffer.getvalue())


def embedded_path() -> Path:
    return Path(str(resources.files("medsyn.builder") / "data" / EMBEDDED))


def load_graph(path: str | Path | None = None) -> "KnowledgeGraph":
    """Load a saved graph; with no path, the embedded default built from the shared open sources."""
    path = Path(path) if path else embedded_path()
    if not path.is_file():
        raise MedsynError(f"{path}: graph file not found; build one with `medsyn mkg build --out {path}`")
    try:
        with gzip.open(path, "rb") as handle:
            document = json.loads(handle.read().decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise MedsynError(f"{path}: not a medsyn graph (gzip JSON expected: {err})") from None
    if document.get("format") != FORMAT or document.get("format_version") != FORMAT_VERSION:
        raise MedsynError(
            f"{path}: format {document.get('format')!r} v{document.get('format_version')!r}, expected {FORMAT} "
            f"v{FORMAT_VERSION}; rebuild it with `medsyn mkg build`"
        )
    graph = nx.node_link_graph(document["graph"], directed=True, edges="edges")
    return KnowledgeGraph(graph, document["provenance"])


SOURCE_FIELDS = {"markup": "markup_count", "lemma": "lemma_count", "medsyn_hsdn": "medsyn_hsdn",
                 "medsyn_list": "medsyn_list", "hsdn": "hsdn_cooccurs"}


@dataclass(frozen=True)
class SymptomLink:
    """A symptom of a code, as the sampler and the inspection commands see it; `sources`: each source's figure."""

    label: str
    weight: float
    lang: str
    markup_count: int = 0
    lemma_count: int = 0
    notes: int = 0
    hsdn_cooccurs: int = 0
    sources: dict = field(default_factory=dict)


class KnowledgeGraph:
    """Read-only lookups over a loaded graph: codes, names, parents, symptoms."""

    def __init__(self, graph: nx.DiGraph, provenance: dict):
        self.graph = graph
        self.provenance = provenance

    @cached_property
    def _parent(self) -> dict[str, str]:
        return {v: u for u, v, kind in self.graph.edges(data="kind") if kind == "contains"}

    @cached_property
    def codes(self) -> list[str]:
        """Every category and subcategory code, sorted."""
        kinds = {"category", "subcategory"}
        return sorted(d["code"] for _, d in self.graph.nodes(data=True) if d["kind"] in kinds)

    def node(self, code: str) -> dict:
        """Attributes of a code's node; an unknown code is an error that names close matches."""
        key = code.strip().upper()
        data = self.graph.nodes.get(f"icd:{key}")
        if data is None:
            raise MedsynError(f"unknown ICD-10 code {code!r}; close matches: {', '.join(self.close_matches(key))}")
        return data

    def close_matches(self, query: str, limit: int = 5) -> list[str]:
        query = query.strip().upper()
        prefixed = [code for code in self.codes if query and code.startswith(query) and len(code) == 3]
        similar = difflib.get_close_matches(query, self.codes, n=limit, cutoff=0.5)
        by_name = [hit[0] for hit in self.search(query, limit)]
        return list(dict.fromkeys(prefixed + similar + by_name))[:limit] or ["none"]

    def search(self, query: str, limit: int = 20) -> list[tuple[str, str]]:
        """Codes whose code starts with, or whose Russian name contains, the query (case-insensitive)."""
        query = query.strip().lower().replace("ё", "е")
        if not query:
            return []
        by_code, by_name = [], []
        for node, data in self.graph.nodes(data=True):
            if data["kind"] not in {"category", "subcategory"}:
                continue
            if data["code"].lower().startswith(query):
                by_code.append((data["code"], data["name"]))
            elif query in data["name"].lower().replace("ё", "е"):
                by_name.append((data["code"], data["name"]))
        return (sorted(by_code) + sorted(by_name, key=lambda hit: (len(hit[0]), hit[0])))[:limit]

    def name(self, code: str) -> str:
        return self.node(code)["name"]

    def parents(self, code: str) -> list[dict]:
        """The chain from the code's parent up to its chapter."""
        chain, node = [], f"icd:{self.node(code)['code']}"
        while node in self._parent:
            node = self._parent[node]
            data = self.graph.nodes[node]
            chain.append({"kind": data["kind"], "code": data["code"], "name": data["name"]})
        return chain

    def chapter(self, code: str) -> dict:
        return self.parents(code)[-1]

    def _has_russian(self, node: str) -> bool:
        return any(self.graph.nodes[v]["kind"] == "symptom" and self.graph.nodes[v]["lang"] == "ru"
                   for v in self.graph.successors(node))

    def symptom_node(self, code: str) -> str:
        """Whose edges a code draws from: its own where it has Russian symptoms and its category no real notes
        (real notes are at the category level and outrank any list), else its category's."""
        code = self.node(code)["code"]
        category = f"icd:{code[:3]}"
        own = f"icd:{code}"
        if own != category and self._has_russian(own) and not self.graph.nodes[category].get("n_notes"):
            return own
        return category

    def symptoms(self, code: str, lang: str | None = "ru") -> list[SymptomLink]:
        """Symptoms of a code (see `symptom_node`), heaviest first; `lang=None` includes English HSDN symptoms."""
        links = []
        for _, target, data in self.graph.out_edges(self.symptom_node(code), data=True):
            if data["kind"] != "has_symptom":
                continue
            symptom = self.graph.nodes[target]
            if lang is not None and symptom["lang"] != lang:
                continue
            counts = {name: data.get(attr, 0) for name, attr in SOURCE_FIELDS.items()}
            links.append(SymptomLink(
                label=symptom["label"],
                weight=data["weight"],
                lang=symptom["lang"],
                markup_count=data.get("markup_count", 0),
                lemma_count=data.get("lemma_count", 0),
                notes=data.get("notes", 0),
                hsdn_cooccurs=data.get("hsdn_cooccurs", 0),
                sources={name: value for name, value in counts.items() if value},
            ))
        return sorted(links, key=lambda link: (-link.weight, link.label))

    @cached_property
    def codes_with_symptoms(self) -> list[str]:
        """3-character categories with at least one Russian symptom: the codes the sampler draws by default."""
        return sorted(d["code"] for u, d in self.graph.nodes(data=True)
                      if d["kind"] == "category" and self._has_russian(u))

    @cached_property
    def symptom_labels(self) -> frozenset[str]:
        """Every Russian symptom label of `codes_with_symptoms`: the phrases the field's sources use for complaints."""
        return frozenset(link.label for code in self.codes_with_symptoms for link in self.symptoms(code))

    @cached_property
    def full_codes_with_symptoms(self) -> list[str]:
        """Codes with Russian symptoms at their own level: MedSyn's listed codes (mapped) and codes with notes."""
        return sorted(d["code"] for u, d in self.graph.nodes(data=True) if d["kind"] in {"category", "subcategory"}
                      and ("medsyn_prob" in d or d.get("n_notes")) and self._has_russian(u))

    def medsyn_prob(self, code: str) -> float:
        """MedSyn's sampling probability of a code and everything under it (0 where MedSyn lists none)."""
        node = f"icd:{self.node(code)['code']}"
        under = [node] + [v for v in nx.descendants(self.graph, node) if v.startswith("icd:")]
        return sum(self.graph.nodes[v].get("medsyn_prob", 0.0) for v in under)

    def stats(self) -> dict:
        nodes = Counter(data["kind"] for _, data in self.graph.nodes(data=True))
        edges = Counter(data["kind"] for _, _, data in self.graph.edges(data=True))
        lang = Counter(data["lang"] for _, data in self.graph.nodes(data=True) if data["kind"] == "symptom")
        with_any = {u for u, _, kind in self.graph.edges(data="kind") if kind == "has_symptom"}
        return {
            "nodes": dict(sorted(nodes.items())),
            "edges": dict(sorted(edges.items())),
            "symptoms_by_language": dict(sorted(lang.items())),
            "codes_with_symptoms": len(with_any),
            "codes_with_russian_symptoms": len(self.codes_with_symptoms),
            "categories_with_russian_symptoms": len(self.codes_with_symptoms),
            "full_codes_with_russian_symptoms": len(self.full_codes_with_symptoms),
            "subcategories_with_russian_symptoms": sum(len(c) > 3 for c in self.full_codes_with_symptoms),
            "codes_with_notes": sum(1 for _, d in self.graph.nodes(data=True) if d.get("n_notes")),
            "sources": [source["name"] + ": " + source["file"] for source in self.provenance["sources"]],
            "lexicon": self.provenance["counts"].get("lexicon", {}),
            **self.provenance.get("medsyn_mkg", {}),
        }
