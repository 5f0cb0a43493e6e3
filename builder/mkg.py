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
Edges: `contains` (parent -> child in the hierarchy) and `has_symptom` (category -> symptom) with
markup_count (notes whose markup label is the symptom), lemma_count (notes mentioning it, not negated), notes (notes
with either), hsdn_cooccurs / hsdn_tfidf (HSDN), and weight: the specificity used for sampling,
tf x idf with tf = notes / n_notes of the code and idf = ln(1 + n_codes / codes having the symptom); for HSDN-only
edges, the HSDN TF-IDF scaled to the code's maximum.
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

from medsyn.builder import icd10, sources
from medsyn.builder.matching import SymptomMatcher
from medsyn.errors import MedsynError
from medsyn.io import atomic_file

log = logging.getLogger(__name__)

FORMAT = "medsyn-mkg"
FORMAT_VERSION = 1
EMBEDDED = "mkg.json.gz"


@dataclass
class MkgSources:
    """Where each source file is; everything but the ICD-10 dictionary is optional."""

    icd10: Path
    notes: list[Path] = field(default_factory=list)
    markup: Path | None = None
    hsdn: Path | None = None
    mesh_icd10_cm: Path | None = None
    mesh_icd10_who: Path | None = None

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
        }
        notes = root / "rumedbench/RuMedTop3/train_v1.jsonl"
        return cls(
            icd10=icd[0],
            notes=[notes] if notes.exists() else [],
            **{key: path if path.exists() else None for key, path in optional.items()},
        )

    def files(self) -> list[tuple[str, Path]]:
        named = [("icd10", self.icd10)] + [("notes", path) for path in self.notes]
        named += [(key, getattr(self, key)) for key in ("markup", "hsdn", "mesh_icd10_cm", "mesh_icd10_who")]
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

    counts = {"notes": len(notes), "markup_pairs": 0, "hsdn_pairs": 0}
    if src.markup is not None and notes:
        counts["markup_pairs"] = _add_note_symptoms(graph, notes, sources.read_markup(src.markup), progress)
    if src.hsdn is not None:
        mesh_map = _mesh_to_categories(src, categories)
        counts["hsdn_pairs"] = _add_hsdn(graph, sources.read_hsdn(src.hsdn), mesh_map)
    _add_weights(graph)

    provenance = {
        "sources": [
            {
                "name": name,
                "file": path.name,
                "sha256": sources.sha256(path),
                "license": sources.stated_license(_source_md(path)),
            }
            for name, path in src.files()
        ],
        "counts": counts,
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
    graph: nx.DiGraph, notes: list[sources.Note], markup: list[sources.MarkupRow], progress: bool
) -> int:
    """Markup labels joined on the note id, then every lexicon label each note mentions, not negated
    (`medsyn.builder.matching`)."""
    by_id = {note.note_id: note for note in notes}
    markup_pairs = Counter((by_id[row.note_id].code[:3], row.symptom) for row in markup if row.note_id in by_id)
    lexicon = sorted({label for _, label in markup_pairs})
    matcher = SymptomMatcher(lexicon)
    lemma_pairs: Counter = Counter()
    union: Counter = Counter()
    labelled = defaultdict(set)
    for row in markup:
        if row.note_id in by_id:
            labelled[row.note_id].add(row.symptom)
    for note in tqdm(notes, desc="matching symptoms in notes", unit="note", disable=not progress):
        found = matcher.present(note.text) & matcher.keys.keys()
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


def _mesh_to_categories(src: MkgSources, categories: set[str]) -> dict[str, set[str]]:
    """MeSH disease id -> in-force 3-character categories, through both maps (ranges and unknown codes skipped)."""
    pairs: list[tuple[str, str]] = []
    if src.mesh_icd10_cm is not None:
        pairs += sources.read_mesh_icd10_cm(src.mesh_icd10_cm)
    if src.mesh_icd10_who is not None:
        pairs += sources.read_mesh_icd10_who(src.mesh_icd10_who)
    mapping: dict[str, set[str]] = defaultdict(set)
    for mesh, code in pairs:
        category = code.strip().upper()[:3]
        if "-" not in code and category in categories:
            mapping[mesh.removeprefix("MESH:")].add(category)
    return mapping


def _add_hsdn(graph: nx.DiGraph, pairs: list[sources.HsdnPair], mesh_map: dict[str, set[str]]) -> int:
    added = 0
    for pair in sorted(pairs, key=lambda p: (p.disease_mesh, p.symptom_mesh)):
        for category in sorted(mesh_map.get(pair.disease_mesh, ())):
            node = f"symptom:mesh:{pair.symptom_mesh}"
            graph.add_node(node, kind="symptom", label=pair.symptom, mesh_id=pair.symptom_mesh, lang="en")
            edge = graph.get_edge_data(f"icd:{category}", node)
            if edge is None:
                graph.add_edge(f"icd:{category}", node, kind="has_symptom", hsdn_cooccurs=0, hsdn_tfidf=0.0)
                edge = graph.get_edge_data(f"icd:{category}", node)
            edge["hsdn_cooccurs"] += pair.cooccurs
            edge["hsdn_tfidf"] = max(edge["hsdn_tfidf"], pair.tfidf)
            added += 1
    return added


def _add_weights(graph: nx.DiGraph) -> None:
    ru_edges = [(u, v, d) for u, v, d in graph.edges(data=True) if d.get("notes")]
    codes_with = Counter(v for _, v, _ in ru_edges)
    n_codes = len({u for u, _, _ in ru_edges}) or 1
    for u, v, data in ru_edges:
        tf = data["notes"] / max(graph.nodes[u].get("n_notes", 0), data["notes"])
        data["weight"] = round(tf * math.log(1 + n_codes / codes_with[v]), 6)
    hsdn_max: dict[str, float] = defaultdict(float)
    for u, _, data in graph.edges(data=True):
        hsdn_max[u] = max(hsdn_max[u], data.get("hsdn_tfidf", 0.0))
    for u, _, data in graph.edges(data=True):
        if "hsdn_tfidf" in data:
            data["hsdn_tfidf"] = round(data["hsdn_tfidf"], 6)
            if "weight" not in data:
                data["weight"] = round(data["hsdn_tfidf"] / hsdn_max[u], 6) if hsdn_max[u] else 0.0


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


@dataclass(frozen=True)
class SymptomLink:
    """A symptom of a code, as the sampler and the inspection commands see it."""

    label: str
    weight: float
    lang: str
    markup_count: int = 0
    lemma_count: int = 0
    notes: int = 0
    hsdn_cooccurs: int = 0


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

    def symptoms(self, code: str, lang: str | None = "ru") -> list[SymptomLink]:
        """Symptoms of a category, heaviest first; `lang=None` includes English HSDN symptoms."""
        node = f"icd:{self.node(code)['code'][:3]}"
        links = []
        for _, target, data in self.graph.out_edges(node, data=True):
            if data["kind"] != "has_symptom":
                continue
            symptom = self.graph.nodes[target]
            if lang is not None and symptom["lang"] != lang:
                continue
            links.append(
                SymptomLink(
                    label=symptom["label"],
                    weight=data["weight"],
                    lang=symptom["lang"],
                    markup_count=data.get("markup_count", 0),
                    lemma_count=data.get("lemma_count", 0),
                    notes=data.get("notes", 0),
                    hsdn_cooccurs=data.get("hsdn_cooccurs", 0),
                )
            )
        return sorted(links, key=lambda link: (-link.weight, link.label))

    @cached_property
    def codes_with_symptoms(self) -> list[str]:
        """Categories that have at least one Russian symptom: the ones the sampler can draw."""
        return sorted(
            self.graph.nodes[u]["code"]
            for u in self.graph.nodes
            if u.startswith("icd:")
            and any(
                self.graph.nodes[v]["kind"] == "symptom" and self.graph.nodes[v]["lang"] == "ru"
                for v in self.graph.successors(u)
            )
        )

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
            "codes_with_notes": sum(1 for _, d in self.graph.nodes(data=True) if d.get("n_notes")),
            "sources": [source["name"] + ": " + source["file"] for source in self.provenance["sources"]],
        }
