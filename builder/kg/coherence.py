"""Which symptoms a code without real notes may draw, and which of them belong together: rules read off the graph.

A code without RuMedTop3 train notes (about a third of a default build) has only MedSyn's lists: a few hand-written
items and many HSDN items, machine-translated PubMed co-occurrences that link almost every label to almost every
code ("глухота" to K59, "кривошея" to H27, "вес тела" everywhere). Drawn freely, their sets do not read as one
patient. The rules below apply to such codes only; codes with real notes draw as before (but for rule 1).

1. Complaints, not diagnoses. A label that RuMedBench's markup gives to a real train note is a complaint (the
   lemma matcher's mentions are not enough: notes name diagnoses too, "на фоне ожирения"). Any other label is a diagnosis when its head noun is a
   nosological term (one that heads at least `MIN_NAMES` ICD-10 names outside chapter XVIII, the symptoms chapter,
   `NOSOLOGY_RATIO` times as many as chapter XVIII names, and no complaint label: "синдром", "стенокардия",
   "ожирение"), or when its
   lemmas are those of an ICD-10 name outside chapter XVIII and its head noun heads no complaint label. For codes
   without notes also a one-word label whose lemma opens such a name ("амблиопия": "Амблиопия вследствие
   анопсии"; "энкопрез") and heads no complaint label.
2. Body system: the ICD-10 block, not the chapter (K02 caries is in chapter XI with the bowel but in block K00-K14
   with the teeth; I63 is in the circulatory chapter, its block I60-I69 is the brain's). For the organ-agnostic
   chapters (neoplasms, congenital anomalies), whose blocks join organs (D10-D36: lipoma, naevus, colon polyp),
   the unit is the category itself. A code draws, in this order of trust:
   a. its own hand-written MedSyn list; a list that gives `PREFER_LIST` labels is all the code draws;
   b. else also HSDN labels whose TF-IDF concentrates in the unit: at least `MASS_SHARE` of the label's TF-IDF
      summed over all codes is the unit's ("зубная боль": 70% in K00-K14; "запор": 1%), and the label's TF-IDF for
      the code is at least `TOP_SHARE` of the heaviest such label's (the code's own co-occurrences rank them);
   c. fewer than `MIN_SET`: what real notes of a code in the same unit say (in at least `MIN_NOTES` notes and
      `MIN_SHARE` of that code's notes; never for a neoplasm, whose block D10-D36 gave a haemangioma the "зуд"
      and "боли в животе" of other organs' notes), heaviest first, then the labels most concentrated in the unit down to
      `FLOOR_SHARE`, in a body system with real notes only those its notes say (a 5% share gave myeloid leukaemia
      "дизурия", a lipid disorder "озноб", caries "тризм"; the eye's chapter has no notes to ask, but a neoplasm
      whose organ's chapter has none draws no such label: a haemangioma "кровохарканье, тризм"); nothing at all: the heaviest labels whose links concentrate in the chapter (the body system
      of the first pass: `MIN_LINKS` codes link the label and the chapter's share of them is `MIN_LIFT` times
      its share of all links; neoplasms and anomalies take the chapter of their organ's codes). Fewer symptoms
      rather than wrong ones.
3. Concepts. A set never says one concept twice; the sampler walks the code's labels in the order of the prior's
   Gumbel keys (its own random stream) and skips a label that repeats one already picked. A label's concept is its
   content words as derivational stems and link groups (`matching.concept`: кал / каловый / стул), pain words
   (`PAIN_LEMMAS`: боль, болезненные / болевые ощущения, дискомфорт) one class, and a label with a pain noun
   (or a pain adjective on "ощущение") heads with pain, fillers dropped ("область",
   "ощущение", and words of change: "нарушения слуха" = "потеря слуха"); two labels repeat when their heads are
   one class (so one pain per set), when one's head is among the other's words ("вагинальный зуд" / "жжение, зуд,
   сухость кожи гениталий"), when one's words are inside the other's ("кровь в кале" / "примесь крови к каловым
   массам"), or when they share two content words.
4. Specific complaints. Not drawn: a label of pain words and fillers only ("болевые ощущения"), a one-word label
   that is only a generic head (the stoplist `GENERIC_LEMMAS`:
   боль, дискомфорт, тяжесть, приступ; or a lemma heading `GENERIC_HEADED` labels or more that real notes' markup
   never gives alone: "онемения", "отёк"), and a label naming a circumstance (`CONTEXT_LEMMAS`: surgery,
   pregnancy, a fetus, drugs: "послеоперационная боль", "дистресс плода").
5. Attested complaints. An HSDN label (machine-translated co-occurrence) is drawn only when some source says it as
   a complaint: RuMedBench's markup gives it to a note, real train notes of some code mention it, some code's
   hand-written MedSyn list has it, or the hand-written wordings (`builder/data/symptom_variants.txt`) name it;
   a pain in a place ("зубная боль") is a complaint whatever the source.
   Linked by HSDN alone, "псевдофакия", "тетания", "цереброспинальная жидкость оторея", "промывка" (flushing)
   and "высокий сердечный выброс" are translations of paper terms, not what a patient says.
6. Findings are no complaints. A label that names a measurement, an examination or a lab substance
   (`FINDING_LEMMAS`: "уровень", "признаки", "пальпаторно", "обнаруживаются"; `FINDING_ROOTS`: "альбуминурия",
   "билирубин", "гиперхолестеринемия", "гепатомегалия") is what a doctor finds, not what a patient feels, whatever its source.
7. Synonyms. Two labels that are wordings of one symptom in `symptom_variants.txt` ("гематурия", "кровь в
   моче") are one concept for rule 3, though they share no word.
8. One site. A disease of many sites (B37 candidiasis: vagina, nails, lungs) is one site in one patient: once the
   sampler has picked a label naming an organ (`ORGAN_WORDS`, the organ words of ICD-10 names and their
   adjectives: "ногтевой", "вагинальный", "мокрота"), a label naming only other organs is skipped; a label naming
   no organ ("общее недомогание") goes with any. For the same reason a label naming only organs other than those
   of the code's name ("глухота" for a retina disease, "носовое кровотечение" for a skin melanoma) is not drawn.
9. Judged labels. A label a blind reviewer judged wrong for a code though MedSyn's own list gives it
   (`builder/data/judged_labels.tsv`: "бледность" for H40 glaucoma, "увеличены паховые лимфоузлы" for N43
   hydrocele) is not drawn for that code; "*" judges all of a code's labels (N13: nausea and weakness only).
10. Anchors. A code whose lists mix its own signs with complaints of any fever or malaise (B00 herpes: "специфическая
   кожная сыпь ..." beside "головная боль", "головокружение", "лихорадочное состояние ...") gave notes that say
   nothing of the disease ("other" to a blind reviewer). Its signs are marked "+" in `judged_labels.tsv`, and
   every set it draws holds at least one of them.
A code whose lists leave fewer than `MIN_USABLE` labels after these rules, not counting rule 2c's last resort (the
chapter's labels: "головная боль, судороги" for M95, a deformity), cannot make a plausible note of its own: the
sampler leaves it out of a plan that names no codes (`PriorSampler.skipped`).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from pathlib import Path

from medsyn.builder.kg.graph import KnowledgeGraph
from medsyn.builder.text.morphology import TOKEN_RE, parses
from medsyn.builder.text.symptom_concepts import (
    GENERIC_LEMMAS, PAIN, Concept, concept, has_noun, head_lemma, is_circumstance, is_finding, lemma_key, organs,
    wording_keys,
)

MIN_NOTES = 3  # real notes of one code that must mention a label for it to count as said in real notes
MIN_SHARE = 0.05  # ... and at least this share of them, for it to place the label in that code's body system
MIN_NAMES = 3  # ICD-10 names a head noun must head to be a nosological term
MIN_LINKS = 25  # codes that must link a label before its link concentration counts
MIN_LIFT = 3.0  # how much more often than chance a label's links fall in the body system
NOSOLOGY_RATIO = 5  # a nosological head heads this many times more disease names than symptom names (or no symptom name)
SYMPTOMS_CHAPTER = "XVIII"
ORGAN_AGNOSTIC = frozenset({"II", "XVII"})
ORGAN_CHAPTERS_SKIPPED = frozenset({"II", "XVII", "XVIII", "XIX", "XX", "XXI", "XXII"})
MASS_SHARE = 0.1  # share of a label's HSDN TF-IDF, summed over all codes, that must fall in the code's unit
PREFER_LIST = 3  # a code whose own list gives this many labels draws from it only
TOP_SHARE = 0.1  # ... and whose TF-IDF for the code is at least this share of the heaviest concentrated label's
MIN_SET = 2  # fewer allowed labels than this: the labels most concentrated in the unit fill up, down to a floor
FLOOR_SHARE = 0.025  # ... of this share of a label's HSDN TF-IDF
GENERIC_HEADED = 10  # a one-word label whose lemma heads at least this many labels is a bare generic head
# Pain words are one concept (rule 3): "боль в пояснице" and "болезненные ощущения в поясничной области" repeat.
MIN_USABLE = 2  # labels a code without notes must keep after the rules to be drawn in a plan that names no codes

JUDGED_LABELS = Path(str(resources.files("medsyn.builder") / "data" / "judged_labels.tsv"))


@cache
def judged_labels() -> dict[str, frozenset[str]]:
    """Rule 9: ICD-10 category -> the labels judged wrong for it."""
    return _judged_table(anchors=False)


@cache
def anchor_labels() -> dict[str, frozenset[str]]:
    """Rule 10: ICD-10 category -> the labels one of which every set it draws holds."""
    return _judged_table(anchors=True)


def _judged_table(anchors: bool) -> dict[str, frozenset[str]]:
    table: dict[str, set[str]] = defaultdict(set)
    for line in JUDGED_LABELS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            code, label, _why = line.split("\t")
            if label.startswith("+") == anchors:
                table[code].add(label.removeprefix("+"))
    return {code: frozenset(labels) for code, labels in table.items()}


@dataclass(frozen=True)
class CodeCandidates:
    """What one code may draw: `allowed[i]` for its i-th label, and `concepts[i]`, that label's concept; `anchors[i]`
    when every set must hold one of the anchors (rule 10), else empty."""

    allowed: tuple[bool, ...]
    concepts: tuple[Concept, ...]
    usable: int = 0  # allowed labels but the chapter's last resort: what `MIN_USABLE` counts
    anchors: tuple[bool, ...] = ()


class Coherence:
    """The rules above over one graph; build once per sampler."""

    def __init__(self, graph: KnowledgeGraph):
        self.graph = graph
        g = graph.graph
        self.chapter: dict[str, str] = {}
        self.said: set[str] = set()  # markup labels: complaints (rule 1)
        self.vouched: set[str] = set()  # labels some source says as a complaint (rule 5)
        self.said_in: dict[str, set[str]] = defaultdict(set)  # label -> chapters and blocks whose real notes say it
        self.mass: dict[str, Counter] = defaultdict(Counter)  # label -> unit -> HSDN TF-IDF summed over its codes
        for u, v, data in g.edges(data=True):
            if data.get("kind") != "has_symptom" or g.nodes[v].get("lang") != "ru":
                continue
            label = g.nodes[v]["label"]
            if data.get("markup_count", 0) > 0:
                self.said.add(label)
            if data.get("markup_count", 0) > 0 or data.get("notes", 0) > 0 or data.get("medsyn_list"):
                self.vouched.add(label)
            n_notes = g.nodes[u].get("n_notes", 0)
            if data.get("notes", 0) >= max(MIN_NOTES, MIN_SHARE * n_notes):
                self.said_in[label].add(self._chapter(g.nodes[u]["code"]))
                self.said_in[label].add(self.block(g.nodes[u]["code"]))
            if data.get("medsyn_hsdn"):
                self.mass[label][self.unit(g.nodes[u]["code"])] += data["medsyn_hsdn"]
        self._names()
        # Chapters whose codes have real notes: there a weakly concentrated label must be said in them (rule 2c).
        self.noted_systems = frozenset(self._chapter(data["code"]) for _, data in g.nodes(data=True)
                                       if data.get("kind") == "category" and data.get("n_notes"))
        self.links: dict[str, Counter] = defaultdict(Counter)
        for code in graph.codes_with_symptoms:
            for link in graph.symptoms(code):
                self.links[link.label][self._chapter(code)] += 1
        self.base = Counter()
        for chapters in self.links.values():
            self.base.update(chapters)
        labels = {d["label"] for _, d in g.nodes(data=True) if d["kind"] == "symptom" and d.get("lang") == "ru"}
        self.headed = Counter(head_lemma(label) for label in labels)

    def attested(self, label: str) -> bool:
        """Rule 5: the markup, real notes, a hand-written list or the hand-written wordings say the label; a pain
        in a place ("зубная боль") is said by patients whatever the source."""
        return label in self.vouched or lemma_key(label) in wording_keys() or concept(label).head == PAIN

    def block(self, code: str) -> str:
        """The innermost ICD-10 block of a code (K00-K14 for K02), or its chapter in a graph without blocks."""
        parents = self.graph.parents(code[:3]) if f"icd:{code[:3]}" in self.graph.graph else []
        return next((p["code"] for p in parents if p["kind"] == "block"), self._chapter(code))

    def unit(self, code: str) -> str:
        """Rule 2's unit: the block, or the category itself in the organ-agnostic chapters, whose blocks (D10-D36:
        lipoma, naevus, colon polyp) join organs."""
        return code[:3] if self._chapter(code) in ORGAN_AGNOSTIC else self.block(code)

    def is_generic(self, label: str) -> bool:
        """Rule 4: a one-word label that is only a generic head ("боль", "приступы"), one of the stoplist or heading
        `GENERIC_HEADED` labels or more, and that real notes' markup does not give alone."""
        if concept(label).stems <= {PAIN}:  # "болевые ощущения": pain and fillers, no place
            return True
        if len(TOKEN_RE.findall(label)) != 1:
            return False
        head = head_lemma(label)
        return head in GENERIC_LEMMAS or (self.headed[head] >= GENERIC_HEADED and label not in self.said)

    def is_disease_word(self, label: str) -> bool:
        """Rule 1 for one-word labels of codes without notes: the word that opens a disease name outside chapter
        XVIII ("амблиопия", "энкопрез") and heads no complaint label is that disease, not a complaint."""
        words = TOKEN_RE.findall(label.lower())
        return len(words) == 1 and head_lemma(label) in self.named_heads - self.complaint_heads

    def share(self, label: str, code: str) -> float:
        """Rule 2: the share of the label's HSDN TF-IDF, summed over all codes, that is the code's unit's."""
        mass = self.mass.get(label)
        return mass[self.unit(code)] / sum(mass.values()) if mass else 0.0

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
        self.named_heads: set[str] = set()  # lemmas that open a disease name outside chapter XVIII
        for _, data in g.nodes(data=True):
            if data["kind"] not in {"category", "subcategory"}:
                continue
            chapter, head = self._chapter(data["code"]), head_lemma(data["name"])
            if data["kind"] == "category":
                self.name_lemmas[data["code"]] = set(lemma_key(data["name"]))
            first = data["name"].split(" ")[0].lower()
            if chapter != SYMPTOMS_CHAPTER and parses(first)[0].tag.POS == "NOUN":
                self.named_heads.add(head_lemma(first))  # "Амблиопия вследствие анопсии", "Энкопрез ..."
            if chapter == SYMPTOMS_CHAPTER:
                symptom_heads[head] += 1
            else:
                self.diagnosis_keys.add(lemma_key(data["name"]))
                disease_heads[head] += 1
        self.complaint_heads = frozenset(head_lemma(label) for label in self.said)
        self.nosological_heads = frozenset(
            head for head, n in disease_heads.items()
            if n >= MIN_NAMES and head and n >= NOSOLOGY_RATIO * symptom_heads[head] and head not in self.complaint_heads
        )

    def names_disease(self, label: str) -> bool:
        """Rule 1, whatever the label's source: the label, one of its coordinated parts ("боли в животе и кишечная
        непроходимость") or its one word ("амблиопия") names a disease."""
        parts = [part for part in re.split(r",\s*|\s+и\s+", label) if len(part.split()) > 1]
        return self.is_diagnosis(label) or self.is_disease_word(label) or any(self.is_diagnosis(p) for p in parts)

    def _in_system(self, code: str, listed: list[str], site: frozenset[str]) -> set[str]:
        """Rule 2a: a hand-written list item belongs to the code's body system as an HSDN label must: it
        concentrates in the unit, real notes of the body system (or unit) say it, or it names an organ of the code's
        name. Lists are short and real notes few, so when fewer than `MIN_SET` items pass, the list stays but for
        items placed elsewhere: said by real notes of one other body system only ("боль при ходьбе" for a
        hydrocele; "запор", said in many, is general) or naming another organ than the code's ("носовое кровотечение" for a skin melanoma; done in
        `candidates` for every label)."""
        system, unit = self.body_system(code), self.unit(code)
        passing = {label for label in listed if self.share(label, code) >= FLOOR_SHARE
                   or {system, unit} & self.said_in.get(label, set()) or organs(label) & site}
        if len(passing) >= MIN_SET:
            return passing
        return {label for label in listed if label in passing or len(self._chapters_saying(label)) != 1}

    def _chapters_saying(self, label: str) -> set[str]:
        """The chapters whose real notes say the label (`said_in` holds blocks too)."""
        return {unit for unit in self.said_in.get(label, ()) if "-" not in unit}

    def is_diagnosis(self, label: str) -> bool:
        """Rule 1: the label names a disease rather than a complaint."""
        if label in self.said:
            return False
        head = head_lemma(label)
        return head in self.nosological_heads or (lemma_key(label) in self.diagnosis_keys and head not in self.complaint_heads)

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
        """Rules 1, 2 and 4 for `labels`, the symptoms `code` draws from, heaviest first (the graph's order)."""
        g = self.graph.graph
        node = self.graph.symptom_node(code)
        listed = {g.nodes[v]["label"] for _, v, d in g.out_edges(node, data=True) if d.get("medsyn_list")}
        site = organs(self.graph.name(code))
        judged = judged_labels().get(code[:3], frozenset())
        fit = [label not in judged and "*" not in judged and has_noun(label) and not self.names_disease(label) and not self.is_generic(label)
               and not is_finding(label) and not (site and organs(label) and not organs(label) & site)
               and (label in listed or not (is_circumstance(label) or not self.attested(label)))
               for label in labels]
        listed = self._in_system(code, [label for label, ok in zip(labels, fit) if ok and label in listed], site)
        allowed = [ok and label in listed for ok, label in zip(fit, labels)]
        concentration = [self.share(label, code) for label in labels]
        shares = [share if ok else 0.0 for ok, share in zip(fit, concentration)]
        if sum(allowed) < PREFER_LIST:
            tfidf = [g.edges[node, f"symptom:{label}"].get("medsyn_hsdn", 0.0) for label in labels]
            top = max((t for t, s in zip(tfidf, concentration) if s >= MASS_SHARE), default=0.0)
            allowed = [a or (s >= MASS_SHARE and t >= TOP_SHARE * top) for a, s, t in zip(allowed, shares, tfidf)]
        # Too few: what real notes of the block say, heaviest first, then the labels most concentrated in the unit.
        said = [i for i, label in enumerate(labels) if fit[i] and self.unit(code) in self.said_in.get(label, ())]
        system = self.body_system(code)
        unasked = system not in self.noted_systems and self._chapter(code) not in ORGAN_AGNOSTIC
        concentrated = sorted((i for i in range(len(labels)) if shares[i] >= FLOOR_SHARE and (
            unasked or system in self.said_in.get(labels[i], ()))), key=lambda i: -shares[i])
        for i in said + concentrated:
            if sum(allowed) >= MIN_SET:
                break
            allowed[i] = True
        usable = sum(allowed)
        if not any(allowed):  # nothing at all: the heaviest labels whose links concentrate in the chapter
            for i in [i for i, label in enumerate(labels) if fit[i] and self.in_system(label, system)][:MIN_SET]:
                allowed[i] = True
        marked = anchor_labels().get(code[:3], frozenset())
        anchors = tuple(ok and label in marked for ok, label in zip(allowed, labels))
        return CodeCandidates(tuple(allowed), tuple(concept(label) for label in labels), usable,
                              anchors if any(anchors) else ())
