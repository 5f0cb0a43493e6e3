"""Which symptoms a code without real notes may draw, and which of them belong together: rules read off the graph.

A code without RuMedTop3 train notes (about a third of a default build) has only MedSyn's lists: a few hand-written
items and many HSDN items, machine-translated PubMed co-occurrences that link almost every label to almost every
code ("глухота" to K59, "кривошея" to H27, "вес тела" everywhere). Drawn freely, their sets do not read as one
patient. The rules below apply to such codes only; codes with real notes draw as before.

1. Complaints, not diagnoses. A label that RuMedBench's markup gives to a real train note is a complaint (the
   lemma matcher's mentions are not enough: notes name diagnoses too, "на фоне ожирения"). Any other label is a diagnosis when its head noun is a
   nosological term (one that heads at least `MIN_NAMES` ICD-10 names outside chapter XVIII, the symptoms chapter,
   `NOSOLOGY_RATIO` times as many as chapter XVIII names, and no complaint label: "синдром", "стенокардия",
   "ожирение"), or when its
   lemmas are those of an ICD-10 name outside chapter XVIII and its head noun heads no complaint label.
2. Body system. A label belongs to a code's body system when it is on the code's hand-written MedSyn list, or when
   real notes of a code in the same body system mention it (in at least `MIN_NOTES` notes and `MIN_SHARE` of
   that code's notes: "кашель" is in 5% of M54's notes, not a back symptom), or when the graph's
   links of the label concentrate there: at least `MIN_LINKS` codes link it and the share of them in the body
   system is at least `MIN_LIFT` times that system's share of all links. A code's body system is its ICD-10
   chapter; for the organ-agnostic chapters (neoplasms, congenital anomalies) it is the chapter most of whose
   codes share an organ word with the code's name ("предстательной железы" -> XIV); where no organ is found
   (leukaemias) only the list and real notes count, since "neoplasm" is no body system links could concentrate in.
3. Coherence. Symptoms belong together when they belong to the code's body system: a set is drawn only from such
   labels, with one label per head noun ("непреодолимая боль" never after "боли в животе"). The sampler walks the
   code's labels in the order of the prior's Gumbel keys (its own random stream) and keeps the allowed ones.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cached_property, lru_cache

from medsyn.builder.mkg import KnowledgeGraph

MIN_NOTES = 3  # real notes of one code that must mention a label for it to count as said in real notes
MIN_SHARE = 0.05  # ... and at least this share of them, for it to place the label in that code's body system
MIN_NAMES = 3  # ICD-10 names a head noun must head to be a nosological term
MIN_LINKS = 25  # codes that must link a label before its link concentration counts
MIN_LIFT = 3.0  # how much more often than chance a label's links fall in the body system
NOSOLOGY_RATIO = 5  # a nosological head heads this many times more disease names than symptom names (or no symptom name)
SYMPTOMS_CHAPTER = "XVIII"
ORGAN_AGNOSTIC = frozenset({"II", "XVII"})
ORGAN_CHAPTERS_SKIPPED = frozenset({"II", "XVII", "XVIII", "XIX", "XX", "XXI", "XXII"})


@lru_cache(maxsize=50_000)
def head_lemma(label: str) -> str:
    """The lemma of a label's head noun ("боль" of "непреодолимая боль", "боли в животе"); for a clause or a
    label without a nominative noun, its first content lemma."""
    from medsyn.builder.inflection import noun_group
    from medsyn.builder.lemmas import STOPWORDS, lemma

    text = re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", label.lower())
    text = re.sub(r"\s+", " ", re.sub(r"[^а-яёa-z0-9\- ]", " ", text)).strip()
    if not text:
        return ""
    _, end, head = noun_group(text)
    words = text.split(" ")
    if end >= 0:
        return lemma(words[head])
    return next((lemma(w) for w in words if lemma(w) not in STOPWORDS), "")


@lru_cache(maxsize=50_000)
def _has_noun(label: str) -> bool:
    """A complaint is a noun group ("боль в горле") or a clause ("возникают проблемы с голосом"): a fragment of a
    hand-written list ("продолжительные") or a slip in one ("выраженная одышкой", an adjective agreeing with no
    noun) is neither."""
    from medsyn.builder.inflection import noun_group
    from medsyn.builder.lemmas import TOKEN_RE, parses

    words = TOKEN_RE.findall(label.lower())
    if not any(parses(word)[0].tag.POS == "NOUN" for word in words):
        return False
    text = re.sub(r"\s+", " ", re.sub(r"\([^)]*\)|[^а-яёa-z0-9\- ]", " ", label.lower())).strip()
    text = re.sub(r"^[а-яё]+ (?:и|или) ", "", text)  # "частичная или полная утрата": coordinated adjectives
    return noun_group(text)[1] >= 0 or any(parses(word)[0].tag.POS in {"VERB", "PRTS"} for word in words)


def _key(text: str) -> tuple[str, ...]:
    from medsyn.builder.lemmas import label_key

    return tuple(sorted(set(label_key(re.sub(r"\[[^\]]*\]", " ", text)))))


@dataclass(frozen=True)
class CodeCandidates:
    """What one code may draw: `allowed[i]` for its i-th label, and `heads[i]`, that label's head noun."""

    allowed: tuple[bool, ...]
    heads: tuple[str, ...]


class Coherence:
    """The rules above over one graph; build once per sampler."""

    def __init__(self, graph: KnowledgeGraph):
        self.graph = graph
        g = graph.graph
        self.chapter: dict[str, str] = {}
        self.said: set[str] = set()  # markup labels: complaints (rule 1)
        self.said_in: dict[str, set[str]] = defaultdict(set)  # label -> chapters whose real notes say it
        for u, v, data in g.edges(data=True):
            if data.get("kind") != "has_symptom" or g.nodes[v].get("lang") != "ru":
                continue
            label = g.nodes[v]["label"]
            if data.get("markup_count", 0) > 0:
                self.said.add(label)
            n_notes = g.nodes[u].get("n_notes", 0)
            if data.get("notes", 0) >= max(MIN_NOTES, MIN_SHARE * n_notes):
                self.said_in[label].add(self._chapter(g.nodes[u]["code"]))
        self._names()
        self.links: dict[str, Counter] = defaultdict(Counter)
        for code in graph.codes_with_symptoms:
            for link in graph.symptoms(code):
                self.links[link.label][self._chapter(code)] += 1
        self.base = Counter()
        for chapters in self.links.values():
            self.base.update(chapters)

    def _chapter(self, code: str) -> str:
        category = code[:3]
        if category not in self.chapter:
            parents = self.graph.parents(category) if f"icd:{category}" in self.graph.graph else []
            self.chapter[category] = parents[-1]["code"] if parents else ""  # a graph without the hierarchy
        return self.chapter[category]

    def _names(self) -> None:
        g = self.graph.graph
        disease_heads: Counter = Counter()
        symptom_heads: Counter = Counter()
        self.diagnosis_keys: set[tuple[str, ...]] = set()
        self.name_lemmas: dict[str, set[str]] = {}
        for _, data in g.nodes(data=True):
            if data["kind"] not in {"category", "subcategory"}:
                continue
            chapter, head = self._chapter(data["code"]), head_lemma(data["name"])
            if data["kind"] == "category":
                self.name_lemmas[data["code"]] = set(_key(data["name"]))
            if chapter == SYMPTOMS_CHAPTER:
                symptom_heads[head] += 1
            else:
                self.diagnosis_keys.add(_key(data["name"]))
                disease_heads[head] += 1
        self.complaint_heads = frozenset(head_lemma(label) for label in self.said)
        self.nosological_heads = frozenset(
            head for head, n in disease_heads.items()
            if n >= MIN_NAMES and head and n >= NOSOLOGY_RATIO * symptom_heads[head] and head not in self.complaint_heads
        )

    def is_diagnosis(self, label: str) -> bool:
        """Rule 1: the label names a disease rather than a complaint."""
        if label in self.said:
            return False
        head = head_lemma(label)
        return head in self.nosological_heads or (_key(label) in self.diagnosis_keys and head not in self.complaint_heads)

    @cached_property
    def _organ_index(self) -> dict[str, Counter]:
        """Name lemma -> chapters of the organ-specific categories whose names hold it."""
        index: dict[str, Counter] = defaultdict(Counter)
        for code, lemmas in self.name_lemmas.items():
            chapter = self._chapter(code)
            if chapter not in ORGAN_CHAPTERS_SKIPPED:
                for lem in lemmas:
                    index[lem][chapter] += 1
        return index

    def body_system(self, code: str) -> str:
        """Rule 2's body system: the chapter, or for a neoplasm or anomaly the chapter of its organ's codes."""
        chapter = self._chapter(code)
        if chapter not in ORGAN_AGNOSTIC:
            return chapter
        agnostic = [c for c in self.name_lemmas if self._chapter(c) == chapter]
        common = {lem for lem in self.name_lemmas.get(code[:3], ()) if
                  sum(lem in self.name_lemmas[c] for c in agnostic) > len(agnostic) // 10}
        votes: Counter = Counter()
        for lem in self.name_lemmas.get(code[:3], set()) - common:
            votes.update(self._organ_index.get(lem, Counter()))
        return votes.most_common(1)[0][0] if votes else chapter

    def in_system(self, label: str, system: str) -> bool:
        """Rule 2 without the hand-written list: real notes of the system say it, or its links concentrate there."""
        if system in self.said_in.get(label, ()):
            return True
        links = self.links.get(label)
        total = sum(links.values()) if links else 0
        if total < MIN_LINKS or not self.base[system] or system in ORGAN_AGNOSTIC:
            return False
        return links[system] / total >= MIN_LIFT * self.base[system] / sum(self.base.values())

    def candidates(self, code: str, labels: list[str]) -> CodeCandidates:
        """Rules 1 and 2 for `labels`, the symptoms `code` draws from (in the sampler's order)."""
        g = self.graph.graph
        node = self.graph.symptom_node(code)
        listed = {g.nodes[v]["label"] for _, v, d in g.out_edges(node, data=True) if d.get("medsyn_list")}
        system = self.body_system(code)
        allowed = tuple(
            _has_noun(label) and not self.is_diagnosis(label) and (label in listed or self.in_system(label, system))
            for label in labels
        )
        return CodeCandidates(allowed, tuple(head_lemma(label) for label in labels))
