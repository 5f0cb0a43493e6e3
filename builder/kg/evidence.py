"""Knowledge-list edges and the evidence rule that turns every source's counts into one sampling weight.

Sources of a Russian `has_symptom` edge, each kept on the edge with its own figure:
- `markup` (markup_count): RuMedTop3 train notes of the code whose RuMedBench markup label is the symptom;
- `lemma` (lemma_count): train notes of the code that mention it (lemmas, not negated); `notes` is their union;
- `medsyn_hsdn`: HSDN's TF-IDF of the symptom for the code, from MedSyn's translated lists (the largest where
  several MedSyn codes meet in one node);
- `medsyn_list`: how many MedSyn codes of the node list the symptom in their hand-written lists.

MedSyn's codes keep their own level (B00.1 is an edge source of `icd:B00.1`); ICD-10-CM codes that МКБ-10 lacks
(E74.04) go to the nearest МКБ-10 parent (E74.0, else E74); every code's lists also roll up to its 3-character
category, which is what the sampler draws.

The rule (weights are read by the sampler as p = softmax(weight / T)):
1. Real-note edges keep their specificity weight: tf x idf, tf = notes / n_notes of the code and
   idf = ln(1 + n_codes / codes with the symptom in their notes).
2. A node's knowledge distribution: p_know = LIST_SHARE x p_list + (1 - LIST_SHARE) x p_hsdn, p_list proportional
   to medsyn_list and p_hsdn to medsyn_hsdn (the one present alone where the other is missing). Hand-written lists
   get the larger share: HSDN's PubMed co-occurrence lists carry "Вес тела" or "Вес при рождении" for most codes.
3. A code without real notes draws from p_know: weight = 1 + T0 x ln(p_know / max p_know), so that at the default
   temperature T0 the first symptom is drawn with probability p_know.
4. A code with n real notes gives its knowledge-only edges together the share lambda = K / (K + n) of the first
   draw at T0 (K = PSEUDO_NOTES: the lists count as K notes), split by p_know; edges that real notes back keep
   their real weight. Real evidence therefore dominates, more so the more notes a code has. Such knowledge-only
   weights are log-scale and often negative (tf x idf weights are small, so softmax at T0 is not peaked).
K was tuned on RuMedTop3 dev with the benchmark's synthetic-only setting (`benchmarks/bench_prior_tstr.py`,
template notes over the 105 codes, seed 0): accuracy 17.2 before MedSyn's lists; with them, list labels matched in
real notes, K = 0 / 1 / 5: see README. K = 5 is the largest share that stays small: the lists get 17% of the first
draw of the median RuMedTop3 code (25 notes), 31% of the rarest (11 notes), under 1% of M54 (560 notes).
LIST_SHARE is not tuned (dev has no code without notes).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import networkx as nx

from medsyn.builder.kg import sources
from medsyn.builder.kg.lexicon import Lexicon
from medsyn.builder.kg.medsyn_tables import MedsynRow
from medsyn.builder.text.morphology import label_key

T0 = 0.1  # the temperature these weights are made for: the sampler's default (SamplingConfig.symptom_temperature)
PSEUDO_NOTES = 5.0
LIST_SHARE = 0.7
NEVER = -10.0  # the weight of knowledge-only edges when PSEUDO_NOTES is 0: drawn with probability ~e^-100


def map_code(graph: nx.DiGraph, code: str) -> str | None:
    """The МКБ-10 node of a MedSyn code: itself, else its 4-character parent, else its category, else None."""
    for candidate in (code, code[:5], code[:3]):
        if f"icd:{candidate}" in graph:
            return f"icd:{candidate}"
    return None


def add_medsyn_edges(graph: nx.DiGraph, rows: list[MedsynRow], lexicon: Lexicon) -> dict:
    """Edges of MedSyn's lists at each code's node and rolled up to its category; sex and `probs` on the nodes.

    Returns what `mkg stats` reports: codes mapped to a parent, unmapped codes, sex disagreements."""
    mapped, unmapped, disagreements = {}, [], []
    genders: dict[str, set] = defaultdict(set)
    for row in rows:
        node = map_code(graph, row.code)
        if node is None:
            unmapped.append(row.code)
            continue
        who = graph.nodes[node]["sex"]
        if row.gender != who and (row.gender or who):
            disagreements.append({"code": row.code, "node": node[4:], "who": who, "medsyn": row.gender})
        genders[node].add(row.gender)
        genders[f"icd:{node[4:7]}"].add(row.gender)
        if not row.has_russian:
            continue
        if node[4:] != row.code:
            mapped[row.code] = node[4:]
        data = graph.nodes[node]
        data["medsyn_prob"] = data.get("medsyn_prob", 0.0) + row.prob
        for item in row.hsdn:
            label = lexicon.resolve_synonyms(item.synonyms)
            if label is None:  # a dropped misspelling (lexicon rule 4)
                continue
            edge = _edge(graph, node, label)
            edge["medsyn_hsdn"] = max(edge.get("medsyn_hsdn", 0.0), item.tfidf)
        for label in dict.fromkeys(label for label in (lexicon[item] for item in row.listed) if label is not None):
            edge = _edge(graph, node, label)
            edge["medsyn_list"] = edge.get("medsyn_list", 0) + 1
    for node, found in genders.items():  # MedSyn's sex limit where WHO has none and all its rows agree
        if graph.nodes[node]["sex"] is None and len(found) == 1 and None not in found:
            graph.nodes[node]["sex"] = next(iter(found))
    _roll_up(graph)
    for data in graph.nodes.values():
        if "medsyn_prob" in data:
            data["medsyn_prob"] = float(f"{data['medsyn_prob']:.6g}")
    return {"mapped_to_parent": dict(sorted(mapped.items())), "unmapped": sorted(set(unmapped)),
            "sex_disagreements": sorted(disagreements, key=lambda d: d["code"])}


def _edge(graph: nx.DiGraph, node: str, label: str) -> dict:
    target = f"symptom:{label}"
    if target not in graph:
        graph.add_node(target, kind="symptom", label=label, lang="ru")
    if not graph.has_edge(node, target):
        graph.add_edge(node, target, kind="has_symptom")
    return graph.edges[node, target]


def _roll_up(graph: nx.DiGraph) -> None:
    """Subcategory lists onto their category: the largest HSDN weight, and how many codes list the symptom."""
    for node in sorted(n for n, d in graph.nodes(data=True) if d["kind"] == "subcategory"):
        category = f"icd:{node[4:7]}"
        for _, target, data in list(graph.out_edges(node, data=True)):
            if data["kind"] != "has_symptom" or category not in graph:
                continue
            edge = _edge(graph, category, graph.nodes[target]["label"])
            if "medsyn_hsdn" in data:
                edge["medsyn_hsdn"] = max(edge.get("medsyn_hsdn", 0.0), data["medsyn_hsdn"])
            if "medsyn_list" in data:
                edge["medsyn_list"] = edge.get("medsyn_list", 0) + data["medsyn_list"]


def drop_diagnosis_symptoms(graph: nx.DiGraph) -> int:
    """Remove symptoms that name their own code's diagnosis ("ожирение" for E66 Ожирение): a prompt built from
    them would give away the diagnosis that the `symptoms` and `example` families hide. Returns how many."""
    keys: dict[str, set[str]] = {}
    drop = []
    for u, v, data in graph.edges(data=True):
        if data["kind"] != "has_symptom" or graph.nodes[v]["lang"] != "ru":
            continue
        name, label = graph.nodes[u]["name"], graph.nodes[v]["label"]
        for text in (name, label):
            if text not in keys:
                keys[text] = set(label_key(text))
        if name.lower() in label.lower() or (keys[name] and keys[name] <= keys[label]):
            drop.append((u, v))
    graph.remove_edges_from(drop)
    return len(drop)


def knowledge_distribution(edges: list[dict]) -> list[float]:
    """p_know over `edges` (rule 2); zeros where an edge has no knowledge-list evidence."""
    hsdn = [e.get("medsyn_hsdn", 0.0) for e in edges]
    listed = [float(e.get("medsyn_list", 0)) for e in edges]
    parts = [(LIST_SHARE, listed), (1 - LIST_SHARE, hsdn)]
    parts = [(share, values) for share, values in parts if sum(values) > 0]
    if not parts:
        return [0.0] * len(edges)
    total_share = sum(share for share, _ in parts)
    return [sum(share / total_share * values[i] / sum(values) for share, values in parts) for i in range(len(edges))]


def add_weights(graph: nx.DiGraph) -> None:
    """The `weight` of every `has_symptom` edge (rules 1, 3 and 4 above; English HSDN edges as before)."""
    ru_edges = [(u, v, d) for u, v, d in graph.edges(data=True) if d.get("notes")]
    codes_with = Counter(v for _, v, _ in ru_edges)
    n_codes = len({u for u, _, _ in ru_edges}) or 1
    for u, v, data in ru_edges:
        tf = data["notes"] / max(graph.nodes[u].get("n_notes", 0), data["notes"])
        data["weight"] = round(tf * math.log(1 + n_codes / codes_with[v]), 6)
    for node, ndata in graph.nodes(data=True):
        if ndata["kind"] not in {"category", "subcategory"}:
            continue
        out = [d for _, _, d in graph.out_edges(node, data=True) if d["kind"] == "has_symptom"]
        known = [d for d in out if "notes" not in d and ("medsyn_hsdn" in d or "medsyn_list" in d)]
        if not known:
            continue
        p_know = knowledge_distribution(known)
        real = [d["weight"] for d in out if d.get("notes")]
        if not real:
            top = max(p_know)
            weights = [1 + T0 * math.log(p / top) for p in p_know]
        else:
            share = PSEUDO_NOTES / (PSEUDO_NOTES + ndata["n_notes"])
            log_z = _logsumexp([w / T0 for w in real])
            total = sum(p_know)
            weights = [
                T0 * (math.log(share / (1 - share)) + log_z + math.log(p / total)) if share > 0 else NEVER
                for p in p_know
            ]
        for data, weight in zip(known, weights):
            data["weight"] = round(weight, 6)
    hsdn_max: dict[str, float] = defaultdict(float)
    for u, _, data in graph.edges(data=True):
        hsdn_max[u] = max(hsdn_max[u], data.get("hsdn_tfidf", 0.0))
    for u, _, data in graph.edges(data=True):
        if "hsdn_tfidf" in data:
            data["hsdn_tfidf"] = round(data["hsdn_tfidf"], 6)
            if "weight" not in data:
                data["weight"] = round(data["hsdn_tfidf"] / hsdn_max[u], 6) if hsdn_max[u] else 0.0
        if "medsyn_hsdn" in data:
            data["medsyn_hsdn"] = round(data["medsyn_hsdn"], 6)


def _logsumexp(values: list[float]) -> float:
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))


def mesh_to_categories(src, categories: set[str]) -> dict[str, set[str]]:
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


def add_hsdn(graph: nx.DiGraph, pairs: list[sources.HsdnPair], mesh_map: dict[str, set[str]]) -> int:
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


def source_coverage(graph: nx.DiGraph) -> dict[str, str]:
    """What each source contributes, in codes: the card lists it next to the source's license."""
    kinds = Counter(d["kind"] for _, d in graph.nodes(data=True))
    noted = sum(1 for _, d in graph.nodes(data=True) if d.get("n_notes"))
    english = {u for u, v, d in graph.edges(data=True) if d["kind"] == "has_symptom" and "hsdn_cooccurs" in d}
    listed = {u for u, v, d in graph.edges(data=True) if "medsyn_hsdn" in d or "medsyn_list" in d}
    own = sum(1 for u in listed if "medsyn_prob" in graph.nodes[u])
    return {
        "icd10": f"{kinds['category']:,} categories, {kinds['subcategory']:,} subcategories (names, hierarchy)",
        "notes": f"{noted} categories with real notes",
        "markup": f"symptom labels of the {noted} categories with real notes",
        "hsdn": f"{len(english)} categories with English symptoms",
        "mesh_icd10_cm": "MeSH diseases of HSDN to ICD-10 categories",
        "mesh_icd10_who": "MeSH diseases of HSDN to ICD-10 categories",
        "medsyn_mkg": f"{sum(u.count('.') == 0 for u in listed)} categories, {own} codes at their own level with "
        "Russian symptom lists",
    }
