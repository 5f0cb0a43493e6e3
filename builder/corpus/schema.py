"""The corpus schema: the contract with everyone who `load_dataset`s a medsyn corpus.

Declared once here and used both to write the parquet shards and to check a folder before it is published, so
the columns a user sees never drift from what README documents.
"""

from __future__ import annotations

from datasets import Features, List, Value

SYMPTOM = {"label": Value("string"), "weight": Value("float32")}
PRIOR = {
    "symptoms": List(SYMPTOM),
    "sex": Value("string"),
    "age": Value("int32"),
    "marital_status": Value("string"),
    "smoking": Value("bool"),
}
MESSAGE = {"role": Value("string"), "content": Value("string")}

FEATURES = Features(
    {
        "id": Value("string"),
        "icd10_code": Value("string"),
        "icd10_name": Value("string"),
        "icd10_chapter": Value("string"),
        "generation_model": Value("string"),
        "backend": Value("string"),
        "prompt_family": Value("string"),
        "prompt_template": Value("string"),
        "messages": List(MESSAGE),
        "prior": PRIOR,
        "example_id": Value("string"),
        "text": Value("string"),
        "seed": Value("int64"),
        "prompt_tokens": Value("int32"),
        "completion_tokens": Value("int32"),
        # Filter scores (re-thresholdable) and the verdicts the build applied.
        "symptom_recall": Value("float32"),
        "matched_symptoms": List(Value("string")),
        # Static-embedding analogue of BERTScore recall of the prompt's symptoms (navec): a score, never a verdict.
        "semantic_symptom_recall": Value("float32"),
        "leakage": Value("bool"),
        "example_overlap": Value("float32"),
        "example_longest_ngram": Value("int32"),
        "cyrillic_share": Value("float32"),
        "n_words": Value("int32"),
        "near_duplicate_of": Value("string"),
        # BERTScore against the style example (else the prompt's symptom list); null unless the build was given a
        # local encoder (`--bertscore-model PATH`). A score, never a verdict.
        "bertscore_precision": Value("float32"),
        "bertscore_recall": Value("float32"),
        "bertscore_f1": Value("float32"),
        "keep": Value("bool"),
        "reject_reasons": List(Value("string")),
        # People's names found in the note (natasha NER, eponyms removed): a score; the verdict is `person_name`.
        # Null when the build skipped the detection (`--detect-person-names false`).
        "person_names": List(Value("string")),
        # Provenance of notes that `medsyn import` or `medsyn merge` brought in: the source they came from and
        # the ICD-10 code exactly as that source gave it (`icd10_code` is its МКБ-10 category). Null for notes
        # `medsyn build` generated.
        "source": Value("string"),
        "source_code": Value("string"),
    }
)

# Splits/configs of a corpus folder: `default` holds the kept notes (split `train`); `unfiltered` holds every
# generated note with its scores and verdicts, so users can re-threshold.
DEFAULT_CONFIG = "default"
UNFILTERED_CONFIG = "unfiltered"
