"""Finding symptom mentions in Russian text when patients and models word them their own way.

One matcher decides symptom recall (the main corpus filter), the knowledge graph's note-derived counts and the
symptoms of instruction pairs, so "mentioned" means the same thing everywhere. A symptom label ("кожа, сухая",
"боль в шее", "ухудшение памяти") is compiled once per lexicon into variants, each a short list of slots; a text
mentions the label where every slot of one variant is filled by a word of one clause, in any order, within a
window. A word fills a slot when, in order of trust:

1. its pymorphy3 lemma reduces to the same derivational stem (suffixes of nouns, adjectives and verbs of one root
   stripped: сухой / сухость, глаз / глазной, неустойчивый / неустойчивость) or belongs to the same hand-made
   link group (шея / шейный, кал / стул, ощущение / чувство; `builder/data/symptom_links.txt`);
2. it is a word pymorphy3 does not know, of five letters or more, one edit (insertion, deletion, substitution or
   swap of neighbours) away from an inflected form of a lexicon word ("отсрые" -> "острые");
3. for a modifier slot only (never the head word, which must be found by 1 or 2), its navec embedding (the
   `natasha` wheel's NewsEmbedding, offline) is close to the slot word's (cosine >= `EMBEDDING_MIN`), unless the
   two are opposites (повышение / снижение, левый / правый sit close in news embeddings).

A typo that is also one edit from a dictionary word outside the lexicon ("тепые": тупые or теплые) fills a slot
only right next to a word already filling the label ("боли тепые"). An adjective slot may also be filled far from
the head where grammar ties the adjective to it ("Боли в пояснице в покое, ..., острые"; `builder/text/syntax.py`).

Qualifiers that a mention may leave out ("пораженный", "выраженный", "отдел", parenthesised text) are optional,
and medical terms get their plain-language variants ("гоналгия" = "боль в колене") from
`builder/data/symptom_variants.txt`; "в груди" is also matched as "в грудной клетке". Negation: a cue shortly
before, inside or after the mention in its clause, reaching across commas only as far as its case does ("без
тошноты, рвоты" but not "без температуры, насморк"; `builder/text/syntax.py`). Clauses end at sentence dots, not at
abbreviation dots ("в обл. сердца"). The typo index of step 2 is `builder/text/typos.py`, the navec vectors of step 3
`builder/text/navec.py`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from medsyn.builder.text.mentions import Mention
from medsyn.builder.text.morphology import STOPWORDS, TOKEN_RE, lemma, morph, parses
from medsyn.builder.text.navec import Embeddings, default_embeddings
from medsyn.builder.text.syntax import Token, attached_nouns, clauses, negated, tokenize
from medsyn.builder.text.typos import MIN_TYPO_LEN, TypoIndex, near_other_word, within_one_edit

# Qualifiers a mention may omit: they grade or place a symptom that is there without them.
OPTIONAL = frozenset(
    """пораженный поразить выраженный умеренный ощущение чувство область отдел локализация периодический постоянный
    сильный незначительный""".split()
)
# Derivational suffixes (longest first) stripped from a lemma to reach the stem shared by the noun, adjective and
# verb of one root. The stem keeps at least MIN_STEM letters, so short words stay themselves.
SUFFIXES = tuple(
    sorted(
        """ствовать ованность енность анность ность ость ение ание ствие ство ица очный ечный ичный альный онный енный
        анный овать ивать ывать ировать ный ной ский ской овый овой евый евой ий ый ой ая ать ять ить еть уть ота
        ие ия ь а я о е и ы у""".split(),
        key=len,
        reverse=True,
    )
)
MIN_STEM = 3
# Cosine of navec vectors above which a modifier counts as the slot's word (tuned on the RuMedTop3 train markup).
EMBEDDING_MIN = 0.62
# Pairs that news embeddings put close together but that mean the opposite in a symptom.
OPPOSITES = [
    "повышение снижение понижение уменьшение увеличение усиление ослабление",
    "повышенный пониженный сниженный увеличенный уменьшенный",
    "левый правый",
    "низкий высокий",
    "большой маленький малый",
    "верхний нижний",
    "частый редкий",
    "дневной ночной утренний вечерний",
    "горячий холодный",
    "сухой влажный мокрый жидкий твердый",
    "светлый темный черный белый желтый красный",
    "острый хронический тупой",
    "внутренний наружный",
    "рука нога",
    "голова живот",
]
# Clauses whose mentions a matcher keeps (then it starts over): ~0.3 KB each.
CLAUSE_CACHE = 20_000
# The window a label's slots must fit into: the number of slots plus this many other tokens.
WINDOW_SLACK = 5


def stem(word_lemma: str) -> str:
    """The derivational stem of a lemma: сухость, сухой -> сух; глазной, глаз -> глаз; усилиться -> усил."""
    if word_lemma.endswith(("ся", "сь")) and len(word_lemma) > 5:
        word_lemma = word_lemma[:-2]
    for suffix in SUFFIXES:
        if word_lemma.endswith(suffix) and len(word_lemma) - len(suffix) >= MIN_STEM:
            return word_lemma[: -len(suffix)]
    return word_lemma


def _read_data(name: str) -> list[str]:
    text = resources.files("medsyn.builder").joinpath("data", name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


@lru_cache(maxsize=1)
def link_groups() -> dict[str, str]:
    """Stem -> representative stem of its link group (words of one meaning the stemmer cannot join)."""
    groups: dict[str, str] = {}
    for line in _read_data("symptom_links.txt"):
        stems = [stem(lemma(w)) for w in line.split()]
        for s in stems:
            groups.setdefault(s, stems[0])
    return groups


@lru_cache(maxsize=1)
def link_words() -> dict[str, tuple[str, ...]]:
    """Representative stem -> the words of its link group, so typos of every member are caught ("услились")."""
    words: dict[str, list[str]] = defaultdict(list)
    for line in _read_data("symptom_links.txt"):
        for w in line.split():
            words[concept(lemma(w))].append(w)
    return {c: tuple(ws) for c, ws in words.items()}


@lru_cache(maxsize=1)
def default_variants() -> dict[str, list[str]]:
    """Label -> other wordings of it (medical term -> plain words)."""
    variants: dict[str, list[str]] = {}
    for line in _read_data("symptom_variants.txt"):
        label, _, rest = line.partition("=")
        variants.setdefault(label.strip().lower(), []).extend(v.strip() for v in rest.split("|") if v.strip())
    return variants


# Lemmas kept apart from their root: "слабые признаки" is no "слабость", "грудной отдел" (spine) no "грудь",
# "пульсирующая боль" no "пульс".
NO_DERIVATION = frozenset({"слабый", "грудной", "бель", "бели", "белый", "часть", "пульсировать"})


@lru_cache(maxsize=200_000)
def concept(word_lemma: str) -> str:
    s = word_lemma if word_lemma in NO_DERIVATION else stem(word_lemma)
    return link_groups().get(s, s)


@lru_cache(maxsize=200_000)
def _known(word: str) -> bool:
    return not re.search("[а-я]", word) or morph().word_is_known(word)


@lru_cache(maxsize=1)
def _opposites() -> dict[str, int]:
    return {concept(lemma(w)): i for i, line in enumerate(OPPOSITES) for w in line.split()}


@dataclass(frozen=True)
class _Variant:
    label: str
    slots: tuple[str, ...]  # concepts, the head (first noun) first
    words: tuple[str, ...]  # the lemma behind each slot, for embeddings
    similar: frozenset[int]  # slots that embeddings may fill (modifiers that are not nouns)
    adjectival: frozenset[int]  # slots written as adjectives or participles: they may stand far from the head
    # Where its words may lie: 0, in the head's comma piece; 1, in its dash- or bullet-separated list item (the
    # wording is itself a list: "кожа, сухая"); 2, anywhere in the clause (two symptoms: "головокружение и слабость").
    spread: int


class SymptomMatcher:
    """Matches a fixed lexicon of symptom labels against texts (see the module docstring).

    Build one per lexicon and reuse it: compiling the labels (variants, the typo index of every inflected form)
    is the expensive part; matching a note is a few dictionary look-ups per word.
    """

    def __init__(
        self,
        labels: list[str],
        variants: dict[str, list[str]] | None = None,
        embeddings: Embeddings | None | bool = False,
        typos: TypoIndex | None = None,
    ):
        """`typos` may be shared by the matchers of one job (a build has one per code): each label's inflected
        forms are then indexed once; a matcher only takes the corrections that lead to its own labels."""
        self._extra = default_variants() if variants is None else variants
        self._variants: list[_Variant] = []
        self.labels: frozenset[str] = frozenset()
        self.keys: dict[str, str] = {}  # matchable labels, in the order given (the old matcher's API)
        # Variants by the concept of their head word: a clause is checked only against labels whose head it holds.
        self._by_head: dict[str, list[tuple]] = defaultdict(list)
        self._lexicon_concepts: set[str] = set()
        self._typos = typos if typos is not None else TypoIndex()
        self._typo_words: set[str] = set()  # the words this matcher indexed: typos are looked up among them only
        self._word_cache: dict[str, tuple[str, ...]] = {}
        # A clause's mentions (offsets within it): the notes of one code repeat clauses, a third of them in a build.
        self._clause_cache: dict[str, tuple[tuple[str, int, int, bool], ...]] = {}
        self._tried: set[str] = set()
        self._soft_cache: dict[str, tuple[str, ...]] = {}
        # Off by default: on the RuMedTop3 train markup, modifiers filled by navec similarity added no found label and
        # ~190 wrong ones ("боль в плечевом суставе" for "гоналгия"); see README. Kept for opt-in experiments.
        self._embeddings = default_embeddings() if embeddings is True else (embeddings or None)
        self._soft_concepts: list[str] = []
        self._soft_matrix = np.zeros((0, 300), np.float32)
        self.extend(labels)

    def extend(self, labels) -> None:
        """Add labels: compiles only the new ones, so a lexicon that grows note by note stays cheap."""
        # Labels tried before are skipped even when they gave no variant: else each such label re-ran all of this
        # (and emptied the word cache) for every note.
        new = [label for label in dict.fromkeys(labels) if label not in self._tried]
        if not new:
            return
        self._tried.update(new)
        added: list[_Variant] = []
        known = set(self._variants)
        for label in new:
            for wording in _with_chest_variants([label, *self._extra.get(label.lower(), [])]):
                compiled = _compile_cached(label, wording)
                if compiled is not None and compiled not in known:
                    known.add(compiled)
                    added.append(compiled)
        self._variants += added
        self.labels = self.labels | {v.label for v in added}
        self.keys.update({label: label for label in new if label in self.labels})
        for variant in added:
            rest = variant.slots[1:]
            soft_ok = frozenset(variant.slots[i] for i in variant.similar)
            width = len(variant.slots) + WINDOW_SLACK
            far = frozenset(variant.slots[i] for i in variant.adjectival)
            self._by_head[variant.slots[0]].append(
                (variant.label, rest, frozenset(rest), soft_ok, width, variant.spread, far)
            )
            self._lexicon_concepts.update(variant.slots)
        words = {w for v in added for w in v.words}
        words |= {w for v in added for c in v.slots for w in link_words().get(c, ())}
        self._typos.add(words)
        self._typo_words |= words
        self._word_cache.clear()  # typo corrections depend on the lexicon
        self._clause_cache.clear()
        if self._embeddings is not None:
            # The modifier words embeddings may stand in for, as one matrix: a word is compared with all at once.
            soft = sorted({(v.slots[i], v.words[i]) for v in self._variants for i in v.similar})
            vectors = [(c, self._embeddings.vector(w)) for c, w in soft]
            vectors = [(c, v) for c, v in vectors if v is not None]
            self._soft_concepts = [c for c, _ in vectors]
            self._soft_matrix = np.stack([v for _, v in vectors]) if vectors else np.zeros((0, 300), np.float32)
            self._soft_cache.clear()

    def _concepts(self, word: str) -> tuple[tuple[str, ...], tuple[str, ...], str]:
        """The concepts one text word can fill: (its own, or, for an unknown word, those of close lexicon forms;
        concepts of an ambiguous typo, which count only where the label's other words confirm them; the word as
        corrected, for its grammar)."""
        cached = self._word_cache.get(word)
        if cached is not None:
            return cached
        own = concept(lemma(word))
        found, weak, form = [own], [], word
        if len(word) >= MIN_TYPO_LEN and own not in self._lexicon_concepts and not _known(word):
            forms = {f for f in self._typos.near(word, self._typo_words)
                     if concept(lemma(f)) in self._lexicon_concepts}
            # Typos rarely hit the first letter; requiring it keeps "тудом" (трудом) from becoming "зудом". A word
            # one edit from two lexicon words is left alone; one a single edit from a dictionary word outside the
            # lexicon too ("двжений": движений, not двоений), unless the label's other words stand right next to it
            # ("боли тепые": тупые, not теплые; "стресса на работае") or grammar ties it to the label's head.
            near = sorted(
                (f for f in forms if f[0] == word[0] and within_one_edit(word, f)),
                key=lambda f: (f[-2:] != word[-2:], abs(len(f) - len(word)), f),  # the form it most looks like
            )
            close = {concept(lemma(f)) for f in near}
            if len(close) == 1:
                form = near[0]
                (weak if near_other_word(word, forms) else found).extend(sorted(close - {own}))
        result = (tuple(found), tuple(weak), form)
        self._word_cache[word] = result
        return result

    def _similar(self, word_lemma: str) -> tuple[str, ...]:
        """Modifier concepts a text lemma may stand for: close in navec, not the same, not an opposite."""
        cached = self._soft_cache.get(word_lemma)
        if cached is not None:
            return cached
        found: tuple[str, ...] = ()
        if len(self._soft_concepts) and re.search("[а-я]", word_lemma):
            vec = self._embeddings.vector(word_lemma)
            if vec is not None:
                own = concept(word_lemma)
                group = _opposites().get(own)
                sims = self._soft_matrix @ vec
                found = tuple(
                    dict.fromkeys(
                        c
                        for c, sim in zip(self._soft_concepts, sims)
                        if sim >= EMBEDDING_MIN and c != own and (group is None or _opposites().get(c) != group)
                    )
                )
        self._soft_cache[word_lemma] = found
        return found

    def mentions(self, text: str) -> list[Mention]:
        found: list[Mention] = []
        for base, clause in clauses(text):
            in_clause = self._clause_cache.get(clause)
            if in_clause is None:
                tokens, lemmas = _clause_tokens(clause)
                in_clause = tuple((m.label, m.start, m.end, m.negated)  # plain tuples: a third of the memory
                                  for m in (self._clause_mentions(tokens, lemmas) if tokens else ()))
                if len(self._clause_cache) >= CLAUSE_CACHE:
                    self._clause_cache.clear()
                self._clause_cache[clause] = in_clause
            found.extend(Mention(label, start + base, end + base, negated) for label, start, end, negated in in_clause)
        return sorted(found, key=lambda m: (m.start, m.label))

    def _clause_mentions(self, tokens: list[Token], lemmas: list[str]) -> list[Mention]:
        words = [tok.word for tok in tokens]
        positions: dict[str, list[int]] = defaultdict(list)
        weak: dict[str, list[int]] = defaultdict(list)
        forms = []
        for i, word in enumerate(words):
            strong, unsure, form = self._concepts(word)
            forms.append(form)
            for c in strong:
                positions[c].append(i)
            for c in unsure:
                weak[c].append(i)
        attached: dict[int, tuple[int, ...]] = {}
        soft: dict[str, list[int]] | None = None
        best: dict[str, Mention] = {}
        present = positions.keys()
        for head in [c for c in positions if c in self._by_head]:
            for label, rest, rest_set, soft_ok, width, spread, far in self._by_head[head]:
                if label in best and not best[label].negated:
                    continue
                by_soft: dict[str, list[int]] = {}
                missing = () if rest_set <= present else rest_set - present
                if missing and not (weak and missing <= weak.keys()):
                    if len(missing) > 1 or not missing <= soft_ok or not self._soft_concepts:
                        continue  # embeddings fill one modifier at most
                    if soft is None:
                        soft = defaultdict(list)
                        for p, lem in enumerate(lemmas):
                            for c in self._similar(lem):
                                soft[c].append(p)
                    taken = {p for c in rest if c in present for p in positions[c]} | set(positions[head])
                    by_soft = {c: [p for p in soft.get(c, []) if p not in taken] for c in missing}
                    if not all(by_soft.values()):
                        continue
                for anchor in positions[head]:
                    chosen = self._fill(anchor, rest, positions, weak, by_soft, far, width, spread, tokens, forms,
                                        attached)
                    if chosen is not None:
                        break
                else:
                    continue
                mention = _mention(label, chosen, tokens, lemmas)
                old = best.get(label)
                if old is None or (old.negated and not mention.negated):
                    best[label] = mention
        return list(best.values())

    @staticmethod
    def _fill(anchor, rest, positions, weak, by_soft, far, width, spread, tokens, forms, attached) -> list[int] | None:
        """The positions filling a label's slots around one head occurrence, the head first, or None.

        A slot takes the nearest word of its concept within `width` tokens of the head and in the head's comma
        piece (see `_Variant.spread` for labels that are lists); failing that, an ambiguous typo right next to a
        word already taken; failing that, for an adjective slot, a word that grammar ties to this head
        (`syntax.attached_nouns`). The window holds the words found the first way.
        """
        chosen, lo, hi = [anchor], anchor, anchor
        segment, item = tokens[anchor].segment, tokens[anchor].item
        for c in rest:
            near = [p for p in positions.get(c, []) + by_soft.get(c, []) if abs(p - anchor) < width
                    and (spread == 2 or (tokens[p].item == item if spread else tokens[p].segment == segment))]
            if near:
                p = min(near, key=lambda p: abs(p - anchor))
                lo, hi = min(lo, p), max(hi, p)
            else:
                near = [p for p in weak.get(c, ()) if tokens[p].segment == segment
                        and min(abs(p - q) for q in chosen) <= 2]
                if not near and c in far:
                    for p in positions.get(c, []) + weak.get(c, []):
                        if p > anchor and p not in attached:
                            attached[p] = attached_nouns(forms, [t.piece for t in tokens], p)
                    near = [p for p in positions.get(c, []) + weak.get(c, []) if p > anchor and anchor in attached[p]]
                if not near:
                    return None
                p = min(near, key=lambda p: abs(p - anchor))
            chosen.append(p)
        return chosen if hi - lo < width else None

    def present(self, text: str) -> set[str]:
        """Labels mentioned and not negated somewhere in the text."""
        return {m.label for m in self.mentions(text) if not m.negated}


@lru_cache(maxsize=20_000)
def _clause_tokens(clause: str) -> tuple[tuple[Token, ...], tuple[str, ...]]:
    """A clause's tokens (offsets within the clause) and their lemmas. Notes repeat clauses ("Анамнез жизни: без
    особенностей", the vitals line): tokenising, with its grammar checks, was a third of matching a note."""
    tokens = tuple(tokenize(clause, 0))
    return tokens, tuple(lemma(tok.word) for tok in tokens)


def _mention(label: str, chosen: list[int], tokens: list[Token], lemmas: list[str]) -> Mention:
    lo, hi = min(chosen), max(chosen)
    return Mention(label, tokens[lo].start, tokens[hi].end, negated(chosen, tokens, lemmas))


def _with_chest_variants(wordings: list[str]) -> list[str]:
    """"в груди" is written "в грудной клетке" as often; "грудной" alone stays apart (the spine's грудной отдел)."""
    extra = [re.sub(r"\bгруд(ь|и|ью)\b", "грудной клетке", w) for w in wordings if re.search(r"\bгруд(ь|и|ью)\b", w)]
    return list(dict.fromkeys(wordings + extra))


@lru_cache(maxsize=100_000)
def _compile_cached(label: str, wording: str) -> _Variant | None:
    """Compiling is a pure function of the two strings; labels recur across the codes of a build."""
    return _compile(label, wording)


def _compile(label: str, wording: str) -> _Variant | None:
    """The slots of one wording of a label: content lemmas, optional qualifiers dropped, head noun first."""
    text = re.sub(r"\([^)]*\)", " ", wording.lower().replace("ё", "е"))
    words = [w for w in TOKEN_RE.findall(text)]
    lemmas_ = [lemma(w) for w in words]
    content = [(w, lem) for w, lem in zip(words, lemmas_) if lem not in STOPWORDS]
    kept = [(w, lem) for w, lem in content if lem not in OPTIONAL] or content
    if not kept:
        return None
    head = next((i for i, (w, _) in enumerate(kept) if "NOUN" in parses(w)[0].tag), 0)
    kept = [kept[head]] + kept[:head] + kept[head + 1 :]
    slots, seen, words_, similar, adjectival = [], set(), [], set(), set()
    for w, lem in kept:
        c = concept(lem)
        if c not in seen:
            seen.add(c)
            tag = parses(w)[0].tag
            # Qualities ("жгучая", "сухой") and participles only: relational adjectives ("коленный", "плечевой")
            # sit close to each other in embeddings while naming different places.
            if slots and ("Qual" in tag or tag.POS in {"PRTF", "PRTS"}) and c not in _opposites():
                similar.add(len(slots))
            if slots and tag.POS in {"ADJF", "PRTF"}:
                adjectival.add(len(slots))
            slots.append(c)
            words_.append(lem)
    # "кожа, сухая", "тошнота с рвотой" ~ "тошнота, рвота", "головокружение и слабость": lists are the label itself.
    spread = 2 if set(lemmas_) & {"и", "с", "со"} else int("," in text)
    return _Variant(label, tuple(slots), tuple(words_), frozenset(similar), frozenset(adjectival), spread)
