"""Quality scores and verdicts of generated notes (near-duplicates across a corpus: `builder/quality/dedup.py`).

Every score is returned (and stored as a corpus column) separately from the verdict, so that users of the
`unfiltered` config can re-threshold without re-generating. The pipeline runs these filters as registered scorers
(`scorers.py`: their columns, reasons and thresholds); `reject_reasons` gives the same verdict on one note's
`NoteScores`, for whoever scores notes outside a corpus (the generator evaluation, benchmarks). The build calls `score_note` once per note with one
`SymptomScorer`, so everything that depends only on the code, its name or a symptom set is built once per build.

Default thresholds were chosen against the real RuMedTop3 train notes (4,690 outpatient complaints; only counts
were derived from them): see the `FilterConfig` field docs.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from functools import lru_cache

import numpy as np

from medsyn.builder.quality.bertscore import bertscore  # noqa: F401  (re-exported: filters.bertscore)
from medsyn.builder.text.diagnosis_names import _cached_variants, _code_pattern, leaking_variants
from medsyn.builder.text.morphology import STOPWORDS, TOKEN_RE, lemmatize, words
from medsyn.builder.text.matching import SymptomMatcher
from medsyn.builder.text.navec import Embeddings, default_embeddings
from medsyn.builder.text.typos import TypoIndex
from medsyn.errors import MedsynError
from medsyn.options import option

# Stable reason names: they are stored in the `reject_reasons` column and documented in the dataset card.
LOW_SYMPTOM_RECALL = "low_symptom_recall"
LEAKAGE = "leakage"
COPYING = "copying"
NOT_RUSSIAN = "not_russian"
TOO_SHORT = "too_short"
TOO_LONG = "too_long"
COPIES_REAL = "copies_real"  # a near or partial copy of a real note the generator learnt from (`real_notes.py`)
PII = "pii"  # personal data: phone, e-mail, birth date, document number, address (`pii.py`)
PERSON_NAME = "person_name"  # given by the build to notes in which `names.person_names` finds a person's name
NEAR_DUPLICATE = "near_duplicate"  # given by the build to notes that `near_duplicates` maps to an earlier one
REASONS = (LOW_SYMPTOM_RECALL, LEAKAGE, COPYING, NOT_RUSSIAN, TOO_SHORT, TOO_LONG, PERSON_NAME, COPIES_REAL, PII,
           NEAR_DUPLICATE)

# `example_overlap` counts word n-grams of this size: a 5-word span shared with the example is already rare by
# chance (see `max_example_longest_ngram`), so the share approximates "how much of the note was copied".
EXAMPLE_NGRAM = 5


@dataclass(frozen=True)
class FilterConfig:
    """Thresholds of the verdicts; scores themselves do not depend on them.

    - `min_symptom_recall` 0.5: at least half of the prompt's symptoms must be mentioned (not negated). The
      matcher (`medsyn.builder.text.matching`) finds ~72% of the marked mentions of real notes and misses free
      paraphrases ("голова раскалывается" for "головная боль"), so demanding all of them would reject good notes;
      fewer than half means the note ignored its prior.
    - `max_example_longest_ngram` 8 words: in 99% of pairs of *different* real notes of the same code the longest
      shared word sequence is at most 7 words (formulae like "в течение последних двух недель"); a longer span
      shared with the style example is copying of a real patient's text.
    - `min_cyrillic_share` 0.9: 99.5% of real notes have at least 0.99 of their letters Cyrillic; 0.9 leaves
      room for Latin drug names and units, while a note that drifted into English or transliteration falls
      far below.
    - `min_words` 15, `max_words` 400: generated notes are meant to be ~60-120 words; below 15 words is a
      truncated or refused generation, above 400 (twice the 99th percentile of real notes, ~200) a run-away
      or repeating one.
    - `dedup_threshold` 0.7 Jaccard similarity of word `shingle_size`-grams (3): changing two words of a
      100-word note leaves a similarity of ~0.89, while two notes written independently from the same
      symptom list rarely share more than half of their word trigrams.
    - `num_perm` 128 MinHash permutations, banded (`dedup.lsh_bands`) so that a pair at the threshold becomes a
      candidate with probability >= 0.9 and a pair at 0.8 with >= 0.999; candidates are confirmed with the
      exact Jaccard similarity, so `num_perm` affects speed and recall, never false positives.
    - `bertscore_model`: a local encoder directory; when set the build also reports BERTScore (`bertscore`).
    - `detect_person_names` true: look for people's names with natasha's NER (`builder/quality/names.py`); a note naming
      a person is rejected (`person_name`). False leaves the `person_names` column null and skips the model.
    - `max_real_shared_words` 9, `min_real_distance` 0.35: a note sharing a run of more than 9 words with a real
      note the generator learnt from, or whose character 3-gram TF-IDF cosine distance to one is at most 0.35, is
      a copy (`copies_real`). Chosen on RuMedTop3 *dev* notes (300 of 10+ words) planted into a 41,185-note
      template corpus (exact copies, 10% of the words changed, a note spliced into a template note) and audited
      against dev: 9 words flag every splice (10 missed 6% of them, the 10-word notes); distances 0.25 / 0.3 /
      0.35 flag 92.7 / 95.7 / 98.0% of the edited copies and 0.02 / 0.08 / 0.2% of the template notes, so 0.35.
      The test on *train* notes is `tests/builder/corpus/test_audit.py`. `real` (`--real`)
      names the real notes (RuMedTop3 JSON lines or any file `import` reads); without them the notes the graph and
      the examples came from are looked for (`builder/corpus/real.py`), and with none found the columns stay null.
    - `detect_pii` true: phone numbers, e-mail, birth dates, СНИЛС, полис ОМС, passport numbers and addresses
      (`builder/quality/pii.py`) reject a note (`pii`).
    """

    min_symptom_recall: float = option(0.5, "share of the prompt's symptoms a note must mention (not negated)")
    max_example_longest_ngram: int = option(8, "longest word sequence a note may share with its style example")
    min_cyrillic_share: float = option(0.9, "least share of Cyrillic letters")
    min_words: int = option(15, "fewest words of a kept note")
    max_words: int = option(400, "most words of a kept note")
    dedup_threshold: float = option(0.7, "word-shingle Jaccard similarity at which a note is a near-duplicate")
    num_perm: int = option(128, "MinHash permutations of the near-duplicate search")
    shingle_size: int = option(3, "words per shingle of the near-duplicate search")
    bertscore_model: str | None = option(None, "local encoder folder: also report BERTScore against the example")
    minhash_seed: int = option(1, "seed of the MinHash permutations")
    detect_person_names: bool = option(True, "find people's names with natasha's NER and reject such notes "
                                       "(person_name); --detect-person-names false skips the model")
    real: list[str] = option([], "real notes to check copies against (RuMedTop3 JSON lines or any file import "
                                   "reads; default: the training notes the graph and examples came from, if found)")
    max_real_shared_words: int = option(9, "longest word run a kept note may share with a real note")
    min_real_distance: float = option(0.35, "least TF-IDF cosine distance of a kept note to the closest real note")
    detect_pii: bool = option(True, "find phone numbers, e-mail, birth dates, document numbers and addresses and "
                              "reject such notes (pii)")
    judge_model: str | None = option(None, "an LLM judge (off by default): the model that scores each note's "
                                     "plausibility, agreement with its prior and Russian fluency (openai backend)")
    judge_base_url: list[str] = option([], "OpenAI-compatible server(s) of the judge, e.g. http://127.0.0.1:8000/v1")
    judge_api_key_env: str = option("OPENAI_API_KEY", "variable holding the judge server's API key")
    judge_price_per_1k_input: float = option(0.0, "judge: price per 1,000 prompt tokens (build_info.json's cost)")
    judge_price_per_1k_output: float = option(0.0, "judge: price per 1,000 completion tokens")
    judge_cache: str | None = option(None, "SQLite file of the judge's answers, so a rerun pays nothing (default: "
                                     "judge.sqlite in the work dir)")

    @classmethod
    def from_mapping(cls, values: dict | None) -> "FilterConfig":
        """From `--filters KEY=VALUE` / YAML `filters:`: unknown keys named with the closest valid one, values of
        the wrong type refused (a bare TypeError from the dataclass would say neither)."""
        values = dict(values or {})
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(map(str, values)) - set(known))
        if unknown:
            close = difflib.get_close_matches(unknown[0], known, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise MedsynError(f"unknown filter setting {unknown[0]!r}{hint}; valid: {', '.join(known)}")
        typed = {}
        for key, value in values.items():
            kind = {"float": float, "int": int}.get(str(known[key].type).split(" |")[0])
            if str(known[key].type) == "bool" and isinstance(value, bool):
                typed[key] = value
                continue
            if kind is None:
                typed[key] = None if value is None else str(value)
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and value != int(value)):
                expected = "a whole number" if kind is int else "a number"
                example = f"{key}={getattr(cls, key)}"
                raise MedsynError(f"filter setting {key}={value!r}: expected {expected}, e.g. {example}")
            typed[key] = kind(value)
        return cls(**typed)

    def validate(self) -> None:
        self.__post_init__()

    def __post_init__(self) -> None:
        problems = []
        for name in ("min_symptom_recall", "min_cyrillic_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                problems.append(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if not 0.0 < self.dedup_threshold <= 1.0:
            problems.append(f"dedup_threshold must be in (0, 1], got {self.dedup_threshold}")
        if self.min_words < 0 or self.max_words < self.min_words:
            problems.append(f"need 0 <= min_words <= max_words, got {self.min_words} and {self.max_words}")
        if self.max_example_longest_ngram < 0:
            problems.append(f"max_example_longest_ngram must be >= 0, got {self.max_example_longest_ngram}")
        if not 0.0 <= self.min_real_distance <= 1.0:
            problems.append(f"min_real_distance must be in [0, 1], got {self.min_real_distance}")
        if self.judge_model is not None and not self.judge_base_url:
            problems.append("judge_model needs judge_base_url (--judge-base-url http://HOST:PORT/v1)")
        if self.max_real_shared_words < 0:
            problems.append(f"max_real_shared_words must be >= 0, got {self.max_real_shared_words}")
        if self.num_perm < 16:
            problems.append(f"num_perm must be at least 16, got {self.num_perm}")
        if self.shingle_size < 1:
            problems.append(f"shingle_size must be at least 1, got {self.shingle_size}")
        if problems:
            raise MedsynError("invalid filter settings: " + "; ".join(problems))


_OWN_FIELDS = frozenset(f.name for f in fields(FilterConfig))


def settings_record(config: FilterConfig) -> dict:
    """The verdict thresholds and dedup settings as `build_info.json` records them (build and import alike): the
    built-in filters' settings, then any field a subclass adds (a scorer plug-in's, `scorers.filter_config_class`)."""
    added = [f.name for f in fields(config) if f.name not in _OWN_FIELDS]
    return {
        "filters": {key: getattr(config, key) for key in ("min_symptom_recall", "max_example_longest_ngram",
                                                           "min_cyrillic_share", "min_words", "max_words",
                                                           "detect_person_names", "max_real_shared_words",
                                                           "min_real_distance", "detect_pii", *added)},
        "dedup": {"method": "minhash-lsh", "threshold": config.dedup_threshold, "num_perm": config.num_perm,
                  "shingle_size": config.shingle_size},
    }


@dataclass
class NoteScores:
    """The score columns of one corpus row (names and types as in builder/corpus/schema.py)."""

    symptom_recall: float
    matched_symptoms: list[str]
    semantic_symptom_recall: float
    leakage: bool
    example_overlap: float
    example_longest_ngram: int
    cyrillic_share: float
    n_words: int
    bertscore_precision: float | None = field(default=None)
    bertscore_recall: float | None = field(default=None)
    bertscore_f1: float | None = field(default=None)


def cyrillic_share(text: str) -> float:
    """Share of Cyrillic among the letters of the text (0.0 for a text without letters)."""
    letters = sum(map(len, _LETTERS_RE.findall(text)))
    return sum(map(len, _CYRILLIC_RE.findall(text))) / letters if letters else 0.0


# Runs rather than single characters: far fewer matches to build (this runs on every note).
_LETTERS_RE = re.compile(r"[^\W\d_]+")
_CYRILLIC_RE = re.compile("[\u0400-\u04ff]+")


# --- diagnosis leakage ---------------------------------------------------------------------------------------

class SymptomScorer:
    """What scoring notes needs beyond the text: a symptom matcher per code and the navec word vectors.

    Whoever scores many notes (a build, the Space, an evaluation) makes one and passes it to `score_note`; nothing
    is cached at import time, so two builds never share state. Prompts sample different symptom subsets, so a
    matcher per subset would be rebuilt for almost every note: there is one matcher per code, compiled once with
    the code's whole lexicon (its name variants, for leakage, and `lexicon`: the code's MKG symptoms, which every
    prompt draws from). A word's reading (a typo of which word) depends on the lexicon, so a matcher grown note by
    note would score a note by the notes before it; a fixed lexicon gives each note the same scores in any order
    or process. Labels outside it (no `lexicon` given) are added as they come.
    """

    def __init__(self) -> None:
        self._matchers: dict[tuple[str, tuple[str, ...]], SymptomMatcher] = {}
        self._typos = TypoIndex()  # shared by the per-code matchers: each label's word forms are indexed once
        self._label_cache: dict[str, np.ndarray] = {}

    def matcher(self, labels: Sequence[str], code_name: str, lexicon: Sequence[str] = ()) -> SymptomMatcher:
        key = (code_name, tuple(lexicon))
        matcher = self._matchers.get(key)
        if matcher is None:
            matcher = SymptomMatcher([*_cached_variants(code_name), *lexicon, *labels], typos=self._typos)
            self._matchers[key] = matcher
        else:
            matcher.extend(labels)
        return matcher

    @property
    def embeddings(self) -> Embeddings:
        """navec vectors, read once per process on first use (read-only data, like pymorphy3's dictionaries)."""
        return default_embeddings()

    def semantic_recall(self, text: str, labels: Sequence[str]) -> float:
        """A static-embedding analogue of BERTScore recall (Zhang et al. 2020) of the prompt's symptoms in the note.

        Each content word of a symptom label is greedily matched to its most similar (cosine of navec vectors,
        on lemmas) word of the note; a label scores the mean over its words, the note the mean over its labels.
        Unlike `symptom_recall` it gives partial credit to a paraphrase no rule catches ("голова раскалывается"
        for "головная боль") and needs no transformer weights; it is a score, never a verdict. 1.0 when no label
        has a word with a vector (nothing asked, nothing missing).

        Always within [0, 1]: the vectors are unit-normalised in float32, so a word's cosine with itself can come
        out as 1.0000001; each word's best cosine is taken in float64 and clipped to [0, 1] (a word whose nearest
        note word points away gets no credit rather than a negative one), so the published column never exceeds 1.
        """
        labels = [label for label in dict.fromkeys(labels) if len(self._label_vectors(label))]
        if not labels:
            return 1.0
        note = self._vectors(lemmatize(text))
        if not len(note):
            return 0.0
        words = np.concatenate([self._label_vectors(label) for label in labels])
        best = np.clip((words.astype(np.float64) @ note.astype(np.float64).T).max(axis=1), 0.0, 1.0)
        starts = np.cumsum([0] + [len(self._label_vectors(label)) for label in labels[:-1]])
        sizes = np.array([len(self._label_vectors(label)) for label in labels])
        return min(1.0, float((np.add.reduceat(best, starts) / sizes).mean()))

    def _label_vectors(self, label: str) -> np.ndarray:
        vectors = self._label_cache.get(label)
        if vectors is None:
            content = [lem for lem in lemmatize(re.sub(r"\([^)]*\)", " ", label)) if lem not in STOPWORDS]
            vectors = self._label_cache[label] = self._vectors(content)
        return vectors

    def _vectors(self, lemmas: Sequence[str]) -> np.ndarray:
        found = [v for v in map(self.embeddings.vector, dict.fromkeys(lemmas)) if v is not None]
        return np.stack(found) if found else np.zeros((0, 300), np.float32)


def _name_leaks(mentions: list, variants: set[str], labels: set[str]) -> bool:
    """A name variant is mentioned outside the span of every prompt symptom mention.

    A variant that is also one of the prompt's symptoms ("насморк" for "Острый назофарингит [насморк]") cannot
    leak more than the prompt gave, so mentions inside a symptom mention do not count. Negation is ignored:
    "данных за пневмонию нет" still names the diagnosis.
    """
    spans = [(m.start, m.end) for m in mentions if m.label in labels]
    for mention in mentions:
        if mention.label in variants:
            if not any(lo <= mention.start and mention.end <= hi for lo, hi in spans):
                return True
    return False


# --- copying from the style example --------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _example_words(example_text: str) -> tuple[tuple[str, ...], frozenset[tuple[str, ...]]]:
    tokens = tuple(words(example_text))
    return tokens, frozenset(_ngrams(tokens, EXAMPLE_NGRAM))


def _ngrams(tokens: Sequence[str], n: int) -> list[tuple[str, ...]]:
    return list(zip(*(tokens[i:] for i in range(n))))


def example_copying(note_words: list[str], example_text: str | None) -> tuple[float, int]:
    """(share of the note's word 5-grams found in the example, longest word sequence shared with it)."""
    if not example_text:
        return 0.0, 0
    example, example_grams = _example_words(example_text)
    if not note_words or not example:
        return 0.0, 0
    matcher = difflib.SequenceMatcher(None, note_words, example, autojunk=False)
    longest = matcher.find_longest_match(0, len(note_words), 0, len(example)).size
    grams = _ngrams(note_words, EXAMPLE_NGRAM)
    overlap = sum(1 for gram in grams if gram in example_grams) / len(grams) if grams else 0.0
    return overlap, longest


# --- one note --------------------------------------------------------------------------------------------------


def score_note(
    text: str,
    symptoms: list[str],
    code: str,
    code_name: str,
    example_text: str | None = None,
    scorer: SymptomScorer | None = None,
    complaints: Sequence[str] = (),
) -> NoteScores:
    """All scores of one generated note against its prompt's symptoms, code, code name and style example.

    `symptom_recall` is the share of the prompt's symptom labels mentioned and not negated, by the matcher of
    `medsyn.builder.text.matching` (1.0 when the prompt gave no matchable symptom: nothing asked, nothing missing);
    `semantic_symptom_recall` its embedding analogue (`SymptomScorer.semantic_recall`). Pass one `SymptomScorer`
    for many notes: without it every call compiles its own matcher and loads the word vectors again.
    `complaints` are the words real patients with this code use for their complaints (the MKG's Russian symptoms
    of the code): a name variant among them ("насморк" for "Острый назофарингит [насморк]") is not leakage.
    """
    labels = tuple(dict.fromkeys(symptoms))
    code_name = code_name or ""
    scorer = scorer or SymptomScorer()
    matcher = scorer.matcher(labels, code_name, complaints)
    mentions = matcher.mentions(text)
    variants = leaking_variants(code_name, labels, tuple(complaints))
    present = {m.label for m in mentions if not m.negated}
    wanted = [label for label in labels if label in matcher.keys]
    matched = [label for label in wanted if label in present]
    recall = len(matched) / len(wanted) if wanted else 1.0
    note_words = words(text)
    overlap, longest = example_copying(note_words, example_text)
    return NoteScores(
        symptom_recall=recall,
        matched_symptoms=matched,
        semantic_symptom_recall=scorer.semantic_recall(text, wanted),
        leakage=bool(_code_pattern(code).search(text)) or _name_leaks(mentions, variants, set(labels)),
        example_overlap=overlap,
        example_longest_ngram=longest,
        cyrillic_share=cyrillic_share(text),
        n_words=len(note_words),
    )


def reject_reasons(scores: NoteScores, config: FilterConfig) -> list[str]:
    """The reasons (in the order of `REASONS`) for which a note with these scores is not kept."""
    reasons = []
    if scores.symptom_recall < config.min_symptom_recall:
        reasons.append(LOW_SYMPTOM_RECALL)
    if scores.leakage:
        reasons.append(LEAKAGE)
    if scores.example_longest_ngram > config.max_example_longest_ngram:
        reasons.append(COPYING)
    if scores.cyrillic_share < config.min_cyrillic_share:
        reasons.append(NOT_RUSSIAN)
    if scores.n_words < config.min_words:
        reasons.append(TOO_SHORT)
    if scores.n_words > config.max_words:
        reasons.append(TOO_LONG)
    return reasons
