"""How patients word each lexicon symptom, learnt from real RuMedTop3 *training* notes.

Real complaints say "болит голова", "заложен нос", "дискомфорт в горле" where the lexicon says "головная боль",
"заложенность носа", "боль в горле"; notes written only with lexicon labels read like a form and share little with
real notes (a char n-gram classifier trained on them barely transfers). For every lexicon label this module
collects the short phrases real notes use for it, from two places:

- the RuMedBench symptom markup: the span cut out of a note for its label (`keep_spans` are what was kept);
- the lemma matcher (`builder/lemmas.py`): where a training note mentions a lexicon label, not negated.

Only short phrases that stand as a complaint on their own are kept (at most `MAX_WORDS` words and `MAX_CHARS`
characters; a nominative noun phrase or a short clause such as "болит голова"; every word known to pymorphy3, so
typos are dropped), with their counts: derived facts, never sentences or long runs of a note. The shipped table,
`builder/data/wordings.json`, is rebuilt byte-identically with

    python -m medsyn.builder.kg.wordings --sources ../shared/data --out builder/data/wordings.json

and records its sources (file names and SHA-256) as provenance.
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from pathlib import Path

from medsyn.builder.kg import sources as src
from medsyn.builder.kg.graph import KnowledgeGraph, load_graph
from medsyn.builder.text.label_text import respell
from medsyn.builder.text.mentions import LemmaMatcher
from medsyn.builder.text.morphology import STOPWORDS, label_key, lemmatize, morph, parses
from medsyn.errors import MedsynError

MAX_WORDS = 5
MAX_CHARS = 40
PER_LABEL = 12  # wordings kept per label, most frequent first
# A wording sharing no content lemma with its label ("ринорея" for "насморк") needs this many notes behind it.
MIN_COUNT_UNRELATED = 3
FORMAT_VERSION = 1
PREPOSITIONS = frozenset("в во на с со при по от до из за к ко у о об под над без для через около после".split())
LEADING_NOISE = re.compile(r"^(жалобы|жалуется|беспокоит|беспокоят)\s+(на\s+)?", re.IGNORECASE)


def data_path() -> Path:
    return Path(str(resources.files("medsyn.builder") / "data" / "wordings.json"))


@lru_cache(maxsize=1)
def load_wordings(path: str | None = None) -> dict[str, list[tuple[str, int]]]:
    """label -> [(wording, count), ...], most frequent first; {} when the table is missing."""
    file = Path(path) if path else data_path()
    if not file.is_file():
        return {}
    data = json.loads(file.read_text(encoding="utf-8"))
    return {label: [(w, int(c)) for w, c in rows] for label, rows in data["wordings"].items()}


def removed_spans(text: str, keep: Iterable[tuple[int, int]]) -> list[str]:
    """The pieces of `text` that the markup cut out (the complement of the kept spans)."""
    pieces, pos = [], 0
    for start, end in sorted(keep):
        if start > pos:
            pieces.append(text[pos:start])
        pos = max(pos, end)
    if pos < len(text):
        pieces.append(text[pos:])
    return [p for p in pieces if p.strip()]


def normalise(phrase: str) -> str:
    phrase = re.sub(r"\s+", " ", phrase.replace("ё", "е").replace("Ё", "Е")).strip(" ,.;:-–—()\"'\n\t").lower()
    return LEADING_NOISE.sub("", phrase).strip(" ,.;:-")


def _is_known(word: str) -> bool:
    return word.isdigit() or morph().word_is_known(word)


# Nouns that patients put in the plural ("боли", "судороги"); for other nouns a form that is both genitive
# singular and nominative plural ("тяжести", "удушья", "крови") is a genitive cut out of "чувство тяжести", and is
# put back into the nominative singular.
PLURAL_COMPLAINTS = frozenset(
    "боль бель судорога приступ страх отек отёк менструация движение пробуждение хрип прилив выделение высыпание "
    "затруднение мушка колика спазм мурашка".split()
)


# Adverbs of place that open a complement as a preposition does ("боль внизу живота").
PLACE_ADVERBS = frozenset("внизу вверху справа слева сзади спереди".split())
INDECLINABLE = frozenset({"ад"})
PLACE_NOUNS = frozenset("области район районе зоне проекции".split())  # a place that needs its organ after it  # "повышение ад": the lowered abbreviation АД
TIME_WORDS = frozenset("течение день сутки неделя месяц год назад время час минута утро вечер ночь".split())
# Verbs of the doctor's report, not of the complaint: "шеи отмечает головные боли" is the tail of "(боли в области)
# шеи, отмечает головные боли", a note's sentence cut at the markup's span, not a wording of "боль в шее".
REPORTING_VERBS = frozenset("отмечать жаловаться предъявлять указывать беспокоить".split())


def as_complaint(phrase: str) -> str | None:
    """The phrase as a complaint that stands on its own, or None for a fragment.

    Kept: a nominative noun phrase whose adjectives agree with its noun ("сухой кашель", "дискомфорт в горле",
    "движения болезненные"), or a short clause with a predicate ("болит голова", "заложен нос"). A lone noun in
    an ambiguous genitive ("тяжести в груди") is put into the nominative ("тяжесть в груди"). Fragments
    ("с иррадиацией", "височной", "лобной области", "плывет перед") give None.
    """
    words = phrase.split(" ")
    if not 1 <= len(words) <= MAX_WORDS or len(phrase) > MAX_CHARS:
        return None
    if not all(re.fullmatch(r"[а-я]+(-[а-я]+)?", w) and _is_known(w) for w in words):
        return None
    if any(parses(w)[0].normal_form in TIME_WORDS for w in words):  # "кашель в течение месяца сухой"
        return None
    if any(parses(w)[0].tag.POS in {"CONJ"} for w in words) or parses(words[-1])[0].tag.POS == "PREP":
        return None
    if len(words) >= 2 and words[-1] in PLACE_NOUNS and parses(words[-2])[0].tag.POS == "PREP":
        return None  # "отечность в области": the place is cut off
    head = []
    for word in words:
        if parses(word)[0].tag.POS in {"PREP", "CONJ"} or (head and word in PLACE_ADVERBS):
            break
        head.append(word)
    if not head:
        return None
    if any({"VERB", "PRTS", "ADJS"} & parses(w)[0].tag.grammemes for w in head):
        # a clause: a predicate and its nominative subject ("болит голова", "нос заложен")
        subject = any(p.tag.POS == "NOUN" and "nomn" in p.tag for w in head for p in parses(w)[:2])
        reported = any(parses(w)[0].normal_form in REPORTING_VERBS for w in head)
        return phrase if subject and not reported else None
    if len(head) == 1:
        noun = _nominative_noun(head[0])
        return None if noun is None else " ".join([noun, *words[1:]])
    if _agreeing_nominative(head):
        return phrase
    group = _with_complement(head)
    return None if group is None else " ".join([group, *words[len(head):]])


def _nominative_noun(word: str) -> str | None:
    """`word` as the nominative head of a complaint: as it is when nominative ("боль", "боли" of the nouns
    patients put in the plural), in the nominative singular when it is an ambiguous genitive cut out of a longer
    phrase ("тяжести" of "чувство тяжести", "повышения" of "на фоне повышения давления"), else None."""
    nouns = [p for p in parses(word) if p.tag.POS == "NOUN"]
    if not nouns or parses(word)[0].tag.POS != "NOUN":
        return None
    if any("nomn" in p.tag and "sing" in p.tag for p in nouns):
        return word
    lemma = nouns[0].normal_form.replace("ё", "е")
    if any("nomn" in p.tag for p in nouns) and lemma in PLURAL_COMPLAINTS:
        return word
    if any(p.tag.case in {"gent", "nomn"} for p in nouns) and lemma not in PLURAL_COMPLAINTS:
        singular = nouns[0].inflect({"nomn", "sing"})
        if singular is not None:
            return singular.word.replace("ё", "е")
    return None


def _with_complement(head: list[str]) -> str | None:
    """A nominative noun followed by its genitive complement, as a complaint phrase: "повышение давления",
    "потеря сознания", "колебания артериального давления", "повышение АД" (an abbreviation that does not decline);
    a genitive head is put into the nominative as a lone noun is ("повышения цифр АД" -> "повышение цифр АД")."""
    noun, rest = _nominative_noun(head[0]), head[1:]
    if noun is None or not rest or not any(p.tag.POS == "NOUN" for p in parses(rest[-1])):
        return None
    if all(w in INDECLINABLE or (
        parses(w)[0].normal_form not in PLURAL_COMPLAINTS  # "шеи боли": a complaint noun heads, never follows
        and any(p.tag.POS in {"NOUN", "ADJF", "PRTF"} and "gent" in p.tag for p in parses(w))
    ) for w in rest):
        return " ".join([noun, *rest])
    return None


def _agreeing_nominative(head: list[str]) -> bool:
    """Some nominative noun among `head` with every other word an adjective agreeing with it (or an adverb)."""
    nouns = [[p for p in parses(w) if p.tag.POS == "NOUN" and "nomn" in p.tag] for w in head]
    for noun in (p for options in nouns for p in options):
        number, gender = noun.tag.number, noun.tag.gender
        if all(
            w == noun.word
            or any(
                p.tag.POS in {"ADJF", "PRTF", "NUMR"}
                and "nomn" in p.tag
                and p.tag.number == number
                and (number == "plur" or p.tag.gender in {gender, None})
                for p in parses(w)
            )
            or parses(w)[0].tag.POS in {"ADVB", "PRCL"}
            for w in head
        ):
            return True
    return False


def _content(phrase: str) -> set[str]:
    return {lem for lem in lemmatize(phrase) if lem not in STOPWORDS}


def extract_wordings(
    notes: dict[str, str], markup: Iterable[tuple[str, str, list[tuple[int, int]]]], labels: Iterable[str]
) -> dict[str, list[tuple[str, int]]]:
    """label -> [(wording, count)] from training notes (`note_id -> text`) and markup rows
    (note_id, label, kept spans); only notes in `notes` are read, so held-out notes never contribute."""
    labels = sorted(set(labels))
    counts: dict[str, Counter] = defaultdict(Counter)
    for note_id, label, keep in markup:
        text = notes.get(note_id)
        if text is None or label not in labels:
            continue
        pieces = removed_spans(text, keep)
        if len(pieces) == 1:
            counts[label][normalise(pieces[0])] += 1
    matcher = LemmaMatcher(labels)
    for text in notes.values():
        for mention in matcher.mentions(text):
            if not mention.negated:
                counts[mention.label][normalise(text[mention.start : mention.end])] += 1
    table = {}
    for label in labels:
        key = set(label_key(label))
        kept = []
        merged: Counter = Counter()
        for phrase, n in counts[label].items():
            complaint = as_complaint(respell(phrase)) if phrase else None  # "в низу живота" -> "внизу живота"
            if complaint is None:
                continue
            shared = _content(complaint) & key
            if not shared and n < MIN_COUNT_UNRELATED:
                continue
            if len(key) >= 2 and len(shared) < 2 and len(complaint.split()) == 1:
                continue  # "снижение" for "снижение памяти": the head word alone says too little
            merged[complaint] += n
        kept = sorted(merged.items(), key=lambda row: (-row[1], row[0]))[:PER_LABEL]
        if kept:
            table[label] = kept
    return table


def _read_markup(path: Path) -> list[tuple[str, str, list[tuple[int, int]]]]:
    rows = []
    with open(path, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row.get("code"):
                rows.append((row["new_event_id"], row["code"].strip(), list(ast.literal_eval(row["keep_spans"]))))
    return rows


def learn_table(notes: dict[str, str], markup: Path | None, graph: KnowledgeGraph) -> dict[str, list[tuple[str, int]]]:
    """The wordings of the graph's symptom labels in these notes (id -> text), with RuMedSymptomRec's markup of
    them where given: the shipped table, and the table of a graph learnt from a subset of the notes
    (`generator_tables.py`)."""
    return extract_wordings(notes, _read_markup(markup) if markup is not None else [], set(graph.symptom_labels))


def build_table(sources: Path, graph_path: Path | None = None) -> dict:
    """The shipped table from a folder in the `shared/data` layout (train notes and markup only)."""
    train = sources / src.RUMEDTOP3 / "train_v1.jsonl"
    markup = sources / "rumedbench" / "raw" / "rec_markup.csv"
    for path in (train, markup):
        if not path.is_file():
            raise MedsynError(f"{path}: not found; pass --sources with the shared/data layout")
    src.refuse_held_out(train)
    notes = {note.note_id: note.text for note in src.read_notes(train)}
    table = learn_table(notes, markup, load_graph(graph_path))
    return {
        "format_version": FORMAT_VERSION,
        "provenance": {
            "what": "short symptom wordings (<= %d words) with counts, derived from RuMedTop3 train notes; no note "
            "text beyond these phrases" % MAX_WORDS,
            "sources": {
                "RuMedTop3/train_v1.jsonl": src.sha256(train),
                "raw/rec_markup.csv": src.sha256(markup),
            },
            "license": "RuMedBench (sb-ai-lab/MedBench, Apache-2.0; derived from RuMedPrime)",
            "rules": {"max_words": MAX_WORDS, "max_chars": MAX_CHARS, "per_label": PER_LABEL,
                      "min_count_unrelated": MIN_COUNT_UNRELATED},
        },
        "wordings": {label: [[w, n] for w, n in rows] for label, rows in sorted(table.items())},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Rebuild the shipped table of patients' symptom wordings.")
    parser.add_argument("--sources", type=Path, required=True, help="folder in the shared/data layout")
    parser.add_argument("--graph", type=Path, help="knowledge graph whose labels to cover (default: embedded)")
    parser.add_argument("--out", type=Path, default=data_path())
    args = parser.parse_args(argv)
    try:
        table = build_table(args.sources, args.graph)
    except MedsynError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(table, ensure_ascii=False, indent=0, sort_keys=False) + "\n", encoding="utf-8")
    tmp.replace(args.out)
    n = sum(len(rows) for rows in table["wordings"].values())
    print(f"{args.out}: {n} wordings for {len(table['wordings'])} labels")
    return 0


if __name__ == "__main__":
    sys.exit(main())
