"""Russian prompts, as OpenAI chat messages, built from priors.

Three families, as in MedSyn (the wording is ours):
- `symptoms`: the symptoms and demographics only, in five templates: four per kind of note MedSyn asked for
  (`anamnesis`: detailed history of the illness; `patient`: with patient details; `short`: a brief complaint;
  `investigations`: with examination and test results) and `complaints`, the patient's complaints in their own
  words as RuMedTop3's real notes give them, so that an LLM corpus can match the benchmark's domain. The
  diagnosis is hidden.
- `example`: a real note of the same code as a style example plus "use all of these symptoms". The diagnosis is
  hidden, and the system message forbids copying the example.
- `code`: the code and its Russian name only; the one family that reveals the diagnosis to the model.
Every family asks the model not to write the diagnosis into the note: a note that names its code would make the
classification benchmark trivial.
"""

from __future__ import annotations

import difflib

import hashlib
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from medsyn.builder.generate.demographics import MARITAL_RU
from medsyn.builder.kg.graph import KnowledgeGraph
from medsyn.builder.generate.sampling import Prior
from medsyn.builder.kg.sources import Note
from medsyn.builder.text.diagnosis_names import mentions_diagnosis
from medsyn.errors import MedsynError
from medsyn.options import option

FAMILIES = ("symptoms", "example", "code")
HIDDEN_DIAGNOSIS_FAMILIES = frozenset({"symptoms", "example"})
SYMPTOM_TEMPLATES = ("anamnesis", "patient", "short", "investigations", "complaints")

SYSTEM = (
    "Ты — опытный врач-терапевт поликлиники и ведёшь медицинскую документацию. "
    "Пиши только на русском языке, в стиле записи врача в амбулаторной карте. "
    "Выводи только текст записи: без приветствий, пояснений, заголовков и комментариев. "
    "Не указывай диагноз, его название и код МКБ-10."
)
SYSTEM_EXAMPLE = SYSTEM + (
    " Тебе покажут запись о другом пациенте как образец стиля: повтори её манеру, длину и строй, но не копируй "
    "из неё фразы и факты — пиши новую запись своими словами."
)

TEMPLATES: dict[str, str] = {
    "anamnesis": (
        "Составь подробный анамнез заболевания пациента, пришедшего на приём.\n"
        "Жалобы: {symptoms}.\n"
        "Опиши, когда и как началось заболевание, как менялись симптомы со временем, что их усиливает или "
        "облегчает, что пациент уже предпринимал."
    ),
    "patient": (
        "Запиши жалобы и анамнез пациента.\n"
        "Пациент: {patient}.\n"
        "Симптомы: {symptoms}.\n"
        "Упомяни сведения о пациенте там, где они важны для картины болезни."
    ),
    "short": "Кратко, в двух-трёх предложениях, запиши жалобы пациента на приёме: {symptoms}.",
    "complaints": (
        "Запиши жалобы пациента ({patient}) так, как их записывают в поле «Жалобы» амбулаторной карты: одно-два "
        "коротких предложения, словами самого пациента (например, «болит голова, заложен нос, кашель третий "
        "день»), без медицинских терминов, осмотра и анализов.\n"
        "Симптомы: {symptoms}."
    ),
    "investigations": (
        "Напиши запись врача о пациенте ({patient}) с жалобами: {symptoms}.\n"
        "Добавь правдоподобные данные осмотра и обследований: давление, пульс, температуру, результаты анализов "
        "или инструментальных исследований, согласующиеся с жалобами."
    ),
    "example": (
        "Образец записи о другом пациенте:\n«{example}»\n\n"
        "Напиши новую запись о пациенте ({patient}) в том же стиле. Обязательно используй все эти симптомы: "
        "{symptoms}."
    ),
    "code": (
        "Напиши запись врача о жалобах и анамнезе пациента ({patient}) с заболеванием по МКБ-10 {code} "
        "«{name}». Опиши типичные для этого заболевания жалобы и их историю."
    ),
}


@dataclass(frozen=True)
class Prompt:
    """A prompt ready for a backend. Field names are the JSON-lines schema of `medsyn prompts`."""

    id: str
    prior_id: str
    icd10_code: str
    prompt_family: str
    prompt_template: str
    messages: list[dict[str, str]]
    example_id: str | None
    prior: dict = field(default_factory=dict)
    fallback_from: str | None = None  # "example" where that family was drawn but the code has no example note

    def to_dict(self) -> dict:
        return asdict(self)


def describe_patient(prior: Prior) -> str:
    """'мужчина, 42 года, женат, курит': the demographics in the words a doctor would write."""
    sex = "мужчина" if prior.sex == "male" else "женщина"
    marital = MARITAL_RU[prior.sex][prior.marital_status]
    smoking = "курит" if prior.smoking else "не курит"
    return f"{sex}, {prior.age} {_years(prior.age)}, {marital}, {smoking}"


def _years(age: int) -> str:
    if age % 10 == 1 and age % 100 != 11:
        return "год"
    if 2 <= age % 10 <= 4 and not 12 <= age % 100 <= 14:
        return "года"
    return "лет"


def _unit(key: str) -> float:
    """A stable uniform in [0, 1) from a string: family/template/example choices are reproducible per prior."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big") / 2**64


MAX_EXAMPLE_CHARS = 1200  # a style example is clipped to this: enough for its style, short enough for small contexts


def _has_a_line(path: Path) -> bool:
    """Whether a text file has a non-blank line (read up to the first one only)."""
    with open(path, "rb") as handle:
        return any(line.strip() for line in handle)


@dataclass(frozen=True)
class PromptConfig:
    """How priors become prompts: the flags of `medsyn prompts` (and of `medsyn build`), and what the prompt builder
    reads. Families come as FAMILY=SHARE words, as flags and YAML mappings give them; `example` is skipped for codes
    without a usable example note."""

    examples: Path | None = option(None, "RuMedTop3-format training notes used as style examples (enables the "
                                   "'example' family)")
    families: list[str] = option(["symptoms=0.6", "example=0.3", "code=0.1"],
                                 "prompt family shares as FAMILY=SHARE, e.g. symptoms=0.6 example=0.3 code=0.1")

    def family_shares(self) -> dict[str, float]:
        shares = {}
        for item in self.families:
            family, sep, share = str(item).partition("=")
            try:
                shares[family.strip()] = float(share) if sep else 1.0
            except ValueError:
                raise MedsynError(f"families {item!r}: expected FAMILY=SHARE with a number, e.g. symptoms=0.5") from None
        return shares

    def validate(self) -> None:
        shares = self.family_shares()
        unknown = sorted(set(shares) - set(FAMILIES))
        if unknown:
            close = difflib.get_close_matches(unknown[0], FAMILIES, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise MedsynError(f"unknown prompt family {unknown[0]!r}{hint}; choose from {', '.join(FAMILIES)}")
        if any(share < 0 for share in shares.values()) or sum(shares.values()) <= 0:
            raise MedsynError(f"prompt family shares must be >= 0 and not all 0, got {shares}")
        if self.examples and not Path(self.examples).is_file():
            raise MedsynError(f"examples file {self.examples} not found")
        if self.examples and not _has_a_line(Path(self.examples)):
            # Else the 'example' family would silently vanish from the corpus the user asked it for.
            raise MedsynError(f"examples file {self.examples} holds no notes; give RuMedTop3-format notes (one JSON "
                              "object per line with idx, symptoms, code) or leave out --examples")


class PromptBuilder:
    """Turns priors into prompts, choosing family, template and style example deterministically per prior."""

    def __init__(
        self,
        config: PromptConfig | None = None,
        examples: Iterable[Note] = (),
        graph: "KnowledgeGraph | None" = None,
        usable_example: Callable[[Note, str], bool] | None = None,
    ):
        """`examples` are screened: a note that names its own diagnosis (by code or Russian name, looked up in
        `graph`) would leak it through a prompt family meant to hide it, so it is never used. `usable_example`
        adds a further condition (e.g. not the note a training pair is made of)."""
        self.config = config or PromptConfig()
        self.config.validate()
        self.shares = self.config.family_shares()
        examples = list(examples)
        if examples and graph is None:
            raise ValueError("PromptBuilder needs the graph to screen style examples for diagnosis names")
        self._examples: dict[str, list[Note]] = defaultdict(list)
        for note in examples:
            code = note.code[:3]
            if mentions_diagnosis(note.text, code, graph.name(code)):
                continue
            if usable_example is None or usable_example(note, code):
                self._examples[code].append(note)
        for notes in self._examples.values():
            notes.sort(key=lambda note: note.note_id)

    def build(
        self, prior: Prior, family: str | None = None, template: str | None = None, exclude_example: str | None = None
    ) -> Prompt:
        """The prompt for `prior`; `exclude_example` keeps a note from being its own style example (training
        pairs are made of real notes)."""
        examples = self._examples.get(prior.icd10_code[:3], [])
        if exclude_example is not None:  # only training pairs pay for the copy; a build calls this per note
            examples = [n for n in examples if n.note_id != exclude_example]
        fallback_from = None
        if family is None:
            family = self._choose_family(prior)
            if family == "example" and not examples:  # codes without real notes: symptoms instead
                family, fallback_from = "symptoms", "example"
        if family == "example" and not examples:
            raise MedsynError(
                f"no style example for code {prior.icd10_code}: pass --examples with notes of that code or use "
                "another prompt family"
            )
        if family not in FAMILIES:
            raise MedsynError(f"unknown prompt family {family!r}; choose from {', '.join(FAMILIES)}")
        symptoms = ", ".join(s.label for s in prior.symptoms)
        values = {"symptoms": symptoms, "patient": describe_patient(prior)}
        example = None
        if family == "symptoms":
            template = template or SYMPTOM_TEMPLATES[int(_unit(prior.id + "/template") * len(SYMPTOM_TEMPLATES))]
            if template not in SYMPTOM_TEMPLATES:
                raise MedsynError(f"unknown template {template!r}; choose from {', '.join(SYMPTOM_TEMPLATES)}")
            system = SYSTEM
        elif family == "example":
            template = "example"
            example = examples[int(_unit(prior.id + "/example") * len(examples))]
            values["example"] = _clip(example.text, MAX_EXAMPLE_CHARS)
            system = SYSTEM_EXAMPLE
        else:
            template = "code"
            values.update(code=prior.icd10_code, name=prior.icd10_name)
            system = SYSTEM
        messages = [
            {"role": "system", "content": system},
            {"role": "user", "content": TEMPLATES[template].format(**values)},
        ]
        return Prompt(
            id=f"{prior.id}/{family}/{template}",
            prior_id=prior.id,
            icd10_code=prior.icd10_code,
            prompt_family=family,
            prompt_template=template,
            messages=messages,
            example_id=example.note_id if example else None,
            prior=prior.to_dict(),
            fallback_from=fallback_from,
        )

    def _choose_family(self, prior: Prior) -> str:
        """With no example notes at all the `example` family is off; with some, a code that has none falls back
        to `symptoms` (see `build`), so that the other families keep their shares."""
        shares = {f: s for f, s in self.shares.items() if s > 0 and (f != "example" or self._examples)}
        if not shares:
            raise MedsynError(
                f"no prompt family applies to code {prior.icd10_code}: only 'example' was enabled and no example "
                "notes were given"
            )
        u, acc = _unit(prior.id + "/family") * sum(shares.values()), 0.0
        for family in FAMILIES:
            if family in shares:
                acc += shares[family]
                if u < acc:
                    return family
        return next(reversed(shares))


def _clip(text: str, limit: int) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "…"


# --- prompt formats: how chat messages become the text a model without a chat API continues -----------------

INSTRUCTION_HEADER = "### Задание:"
INPUT_HEADER = "### Вход:"
RESPONSE_HEADER = "### Ответ:"


def alpaca_prompt(messages: list[dict[str, str]]) -> str:
    """The Alpaca-style prompt (Russian headers) used for models without a chat template, as MedSyn's LLaMA was
    instruction-tuned with it. Training (medsyn.training) formats its examples with this same function, so a
    fine-tuned model sees at generation exactly what it saw in training.

    Mapping: system messages form the instruction and user messages the input; without a system message the first
    user message is the instruction and any further ones the input. The input section is always present, possibly
    empty, so that every prompt has the same shape. The prompt ends after the response header and a newline; the
    training target is appended right there (followed by the EOS token).

        ### Задание:
        {instruction}

        ### Вход:
        {input}

        ### Ответ:
    """
    system = [m["content"].strip() for m in messages if m.get("role") == "system"]
    user = [m["content"].strip() for m in messages if m.get("role") == "user"]
    others = sorted({str(m.get("role")) for m in messages} - {"system", "user"})
    if others:
        raise MedsynError(
            f"the Alpaca prompt takes system and user messages only, got role(s) {', '.join(others)}; "
            "use a model whose tokenizer has a chat template for multi-turn prompts"
        )
    if system:
        instruction, inputs = "\n\n".join(system), user
    elif user:
        instruction, inputs = user[0], user[1:]
    else:
        raise MedsynError("the Alpaca prompt needs at least one system or user message")
    text_input = "\n\n".join(inputs)
    return (
        f"{INSTRUCTION_HEADER}\n{instruction}\n\n"
        f"{INPUT_HEADER}\n{text_input}\n\n"
        f"{RESPONSE_HEADER}\n"
    )


def render_prompt(messages: list[dict[str, str]], tokenizer: Any, model: str = "the model") -> str:
    """The text a local model continues: its tokenizer's chat template when it has one, else `alpaca_prompt`.
    Generation (the transformers backend) and training (`medsyn train`) both format prompts here."""
    if not getattr(tokenizer, "chat_template", None):
        return alpaca_prompt(messages)
    try:
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    except Exception as exc:  # jinja raises its own TemplateError types
        raise MedsynError(f"the chat template of {model} rejected the messages: {exc}") from None
