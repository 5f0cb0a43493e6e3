"""Which symptoms a code without real notes draws (`builder/kg/coherence.py`): the block, not the chapter, is the body
system; no concept said twice; no bare generic head. The labels named here are the blind judge's "no" verdicts
on template notes (wrong-for-code, repeat, other)."""

from __future__ import annotations

import pytest

from medsyn.builder.kg.coherence import Coherence
from medsyn.builder.generate.sampling import sample_priors


@pytest.fixture(scope="module")
def rules(graph):
    return Coherence(graph)


def _drawn(graph, code: str, n: int = 400, seed: int = 4) -> list[list[str]]:
    return [[s.label for s in prior.symptoms] for prior in sample_priors(graph, n, seed=seed, codes=[code])]


def _without_notes(graph) -> list[str]:
    return [code for code in graph.codes_with_symptoms if not graph.node(code).get("n_notes")]


def test_the_block_not_the_chapter_decides_what_fits_the_code(graph):
    """K02 caries is in chapter XI with the bowel, but in block K00-K14 with the teeth: it drew "запор"; eyelid,
    conjunctiva, cornea and lens codes drew strabismus and visual-pathway signs; I63 (circulatory chapter) drew
    tremor instead of the stroke signs its block's lists concentrate on."""
    k02 = {label for labels in _drawn(graph, "K02") for label in labels}
    assert "зубная боль" in k02 and not k02 & {"запор", "диарея", "усталость", "боль"}
    for code in ("H01", "H11", "H16", "H26"):
        eye = {label for labels in _drawn(graph, code) for label in labels}
        assert not eye & {"диплопия", "амблиопия", "скотома", "гемианопсия"}, (code, eye)
    i63 = {label for labels in _drawn(graph, "I63") for label in labels}
    assert {"мышечная слабость", "дизартрия"} <= i63 and not i63 & {"тремор", "нарушение сна"}
    n70 = {label for labels in _drawn(graph, "N70") for label in labels}
    assert n70 and "недержание мочи" not in n70


def test_every_code_without_notes_still_draws_a_set(graph):
    """Fewer symptoms rather than wrong ones, but never none; two where the code's data allows."""
    for code in _without_notes(graph):
        sizes = {len(labels) for labels in _drawn(graph, code, n=30)}
        assert min(sizes) >= 1, code


@pytest.mark.parametrize("a, b", [
    ("кровь в кале", "примесь крови к каловым массам"),
    ("дискомфорт в анальной зоне", "дискомфорт в заднем проходе"),
    ("болезненные ощущения в поясничной области", "боль в пояснице"),
    ("боли", "локальные болевые ощущения в молочной железе"),
    ("жжение и дискомфорт в анальной зоне", "дискомфорт в заднем проходе"),
    ("кровь в кале или стул черного цвета", "примесь крови к каловым массам"),
    ("вагинальный зуд", "жжение зуд сухость кожи гениталий"),
    ("нарушения слуха", "потеря слуха"),
    ("повышение температуры тела", "лихорадочное состояние с высокой температурой"),  # judge round 4, B00
    ("высокая температура", "повышение температуры тела"),
])
def test_one_concept_said_in_other_words_is_a_repeat(a, b):
    from medsyn.builder.text.symptom_concepts import concept

    assert concept(a).repeats(concept(b)) and concept(b).repeats(concept(a))


@pytest.mark.parametrize("a, b", [
    ("боли в животе", "вздутие живота"), ("тошнота", "рвота"), ("кашель", "одышка"),
    ("зуд в заднем проходе", "следы крови после дефекации"), ("изжога", "отрыжка воздухом"),
    ("болезненное мочеиспускание", "боли в нижней части спины или в боку"),
])
def test_different_complaints_are_not_repeats(a, b):
    from medsyn.builder.text.symptom_concepts import concept

    assert not concept(a).repeats(concept(b))


def test_no_set_says_one_concept_twice(graph):
    """The judge's repeats came from hand-written lists (D12, C64, N64): now a set holds one label per concept
    (judged by the pairs above; "кровь в кале" after "примесь крови к каловым массам" failed this before)."""
    from medsyn.builder.text.symptom_concepts import concept

    for code in ("D12", "C64", "N64", "N90", "I86"):
        for labels in _drawn(graph, code, n=300):
            concepts = [concept(label) for label in labels]
            for i, c in enumerate(concepts):
                assert not any(c.repeats(other) for other in concepts[:i]), (code, labels)


def test_bare_generic_heads_are_not_drawn_for_codes_without_notes(graph, rules):
    """"Жалобы на боль, фотофобию и тремор": a one-word generic head says nothing; a complaint alone does."""
    for label in ("боль", "боли", "приступы", "дискомфорт", "тяжесть", "болевые ощущения"):
        assert rules.is_generic(label), label
    for label in ("кашель", "одышка", "тошнота", "зуд", "боль в ухе", "зубная боль", "изжога"):
        assert not rules.is_generic(label), label
    drawn = {label for code in _without_notes(graph) for labels in _drawn(graph, code, n=40) for label in labels}
    assert not {label for label in drawn if rules.is_generic(label)}


def test_hand_written_lists_are_preferred_to_co_occurrences(graph, rules):
    """A code whose own MedSyn list gives enough labels draws from it only: HSDN's co-occurrences are what made
    I86 (varicose veins) draw "одышка" and "тошнота"."""
    g = graph.graph
    for code in ("I86", "D12", "N10", "K25"):
        node = graph.symptom_node(code)
        listed = {g.nodes[v]["label"] for _, v, d in g.out_edges(node, data=True) if d.get("medsyn_list")}
        drawn = {label for labels in _drawn(graph, code, n=200) for label in labels}
        assert drawn and drawn <= listed, (code, drawn - listed)


def test_hsdn_labels_are_drawn_only_when_some_source_says_them(graph, rules):
    """Rule 5: HSDN's machine-translated co-occurrences passed the block rule ("псевдофакия" for cataract and
    refraction codes, "цереброспинальная жидкость оторея" for otitis, "промывка" for E34); a label no markup, real
    note, hand-written list or wording says is not drawn."""
    g = graph.graph
    noise = {"псевдофакия", "тетания", "синкинезия", "цереброспинальная жидкость оторея", "промывка",
             "высокий сердечный выброс", "первичная прогрессирующая неплавная афазия"}
    for label in noise:
        assert not rules.attested(label), label
    for label in ("кашель", "запор", "боль в ухе", "потеря слуха", "гематурия", "зубная боль"):
        assert rules.attested(label), label
    for code in ("H26", "H27", "H52", "H04", "H50", "H60", "H66", "E34", "N18"):
        drawn = {label for labels in _drawn(graph, code, n=200) for label in labels}
        assert not drawn & noise, (code, drawn & noise)
    from medsyn.builder.generate.sampling import PriorSampler

    skipped = set(PriorSampler(graph).skipped)  # named, these draw a last resort (`sampling.py`)
    for code in set(_without_notes(graph)) - skipped:
        node = graph.symptom_node(code)
        listed = {g.nodes[v]["label"] for _, v, d in g.out_edges(node, data=True) if d.get("medsyn_list")}
        for labels in _drawn(graph, code, n=30):
            assert all(label in listed or rules.attested(label) for label in labels), (code, labels)


def test_findings_are_not_drawn_as_complaints(graph):
    """Rule 6: K83's own list gave "значительное повышение уровня билирубина в крови", D72's "признаки
    тендосиновита", N18's HSDN "альбуминурия", E07's HSDN "кома": what a lab or an examination finds, not what a
    patient says."""
    from medsyn.builder.text.symptom_concepts import is_finding

    for label in ("значительное повышение уровня билирубина в крови", "признаки тендосиновита", "альбуминурия",
                  "гиперкальциурия", "пальпаторно мошонка увеличена", "обнаруживаются застойные диски зрительных нервов",
                  "гиперхолестеринемия", "гепато-спленомегалия", "асцит (водянка в брюшной полости)", "кома"):
        assert is_finding(label), label
    for label in ("кашель", "кровь в моче", "никтурия", "гематурия", "боль в правом подреберье", "темная моча",
                  "повышение температуры тела", "снижение аппетита"):
        assert not is_finding(label), label
    drawn = {label for code in ("K83", "D72", "N18", "M79", "K76", "C18") for labels in _drawn(graph, code, n=300)
             for label in labels}
    assert drawn and not {label for label in drawn if is_finding(label)}


@pytest.mark.parametrize("a, b", [
    ("гематурия", "примеси крови в моче"), ("гематурия", "кровь в моче"), ("атаксия", "шаткость при ходьбе"),
    ("аритмия", "перебои в работе сердца"),
    # C54 said one intermenstrual bleeding in three wordings (two blind "repeat" verdicts)
    ("межменструальные кровянистые выделения (при сохраненном цикле)", "появляются незначительные промежуточные кровотечения"),
    ("кровянистые выделения разной интенсивности (чаще мажущие)", "появляются незначительные промежуточные кровотечения"),
])
def test_synonyms_with_no_shared_word_are_a_repeat(a, b):
    """Rule 7: wordings of one symptom in `symptom_variants.txt` ("эритроцитурия = кровь в моче | гематурия")
    are one concept, though they share no word (C67 drew "гематурия" beside "примеси крови в моче")."""
    from medsyn.builder.text.symptom_concepts import concept

    assert concept(a).repeats(concept(b)) and concept(b).repeats(concept(a))


def test_codes_too_poor_in_complaints_are_left_out_of_a_default_plan(graph, rules):
    """A code without notes keeping fewer than `MIN_USABLE` labels made one-complaint notes ("Жалобы на зуд" for
    an abscess): a plan that names no codes skips it and says so; a plan that names it still draws it; codes with
    real notes are never skipped."""
    from medsyn.builder.kg.coherence import MIN_USABLE
    from medsyn.builder.generate.sampling import PriorSampler, SamplingConfig

    sampler = PriorSampler(graph)
    assert sampler.skipped and set(sampler.skipped) <= set(_without_notes(graph))
    for code in sampler.skipped:
        labels = [link.label for link in graph.symptoms(code)]
        assert rules.candidates(code, labels).usable < MIN_USABLE, code
    kept = [code for code in _without_notes(graph) if code not in sampler.skipped]
    assert len(kept) > len(sampler.skipped)
    for code in kept:
        labels = [link.label for link in graph.symptoms(code)]
        assert rules.candidates(code, labels).usable >= MIN_USABLE, code
    assert {"M95", "L02", "H60"} <= set(sampler.skipped)  # last-resort sets, or a single complaint
    drawn = {prior.icd10_code for prior in sampler.sample(3000, seed=2)}
    assert not drawn & set(sampler.skipped)
    named = PriorSampler(graph, SamplingConfig(codes=sampler.skipped[:1]))
    assert named.skipped == () and {p.icd10_code for p in named.sample(5, seed=1)} == {sampler.skipped[0]}


def test_a_weakly_concentrated_label_needs_the_real_notes_of_its_body_system(graph):
    """Rule 2c's floor: a label with a few per cent of its HSDN TF-IDF in the unit gave myeloid leukaemia
    "дизурия", a lipid disorder "озноб" and caries "тризм"; where the body system has real notes, they must say
    it. The eye's chapter has none, so conjunctivitis still draws photophobia."""
    for code, label in (("C92", "дизурия"), ("E78", "озноб"), ("K02", "тризм"), ("M60", "тризм"), ("D18", "тризм")):
        drawn = {label for labels in _drawn(graph, code, n=200) for label in labels}
        assert label not in drawn, (code, drawn)
    assert "фотофобия" in {label for labels in _drawn(graph, "H10", n=200) for label in labels}


def test_hand_written_list_items_of_another_body_system_are_not_drawn(graph):
    """MedSyn's lists were trusted unconditionally: the blind judge failed C43 melanoma of the skin with "носовое
    кровотечение", L60 nail disease with "бронхоэктазы", N43 hydrocele with "боль при ходьбе" (said by the
    musculoskeletal chapter's notes only) and H35 retina disease with "глухота" (another organ than the name's)."""
    off = {"C43": {"носовое кровотечение"}, "L60": {"бронхоэктазы", "лимфедема"}, "N43": {"боль при ходьбе"},
           "H35": {"глухота"}}
    for code, labels in off.items():
        drawn = {label for labels_ in _drawn(graph, code) for label in labels_}
        assert drawn and not drawn & labels, (code, drawn)
    assert {"изменение цвета ногтевых пластин"} <= {label for ls in _drawn(graph, "L60") for label in ls}


def test_a_disease_named_on_a_hand_written_list_is_a_diagnosis(graph, rules):
    """E07 drew "боли в животе и кишечная непроходимость" from its list: a coordinated part that names a disease
    makes the label a diagnosis, whatever its source."""
    assert not any("кишечная непроходимость" in label for labels in _drawn(graph, "E07") for label in labels)
    assert rules.names_disease("боли в животе и кишечная непроходимость")
    assert not rules.names_disease("боли в животе") and not rules.names_disease("тошнота с рвотой")


def test_a_multi_site_disease_is_one_site_per_note(graph):
    """B37 candidiasis mixed vaginal, nail and lung complaints in one note; now the organ of the first drawn label
    that names one is the note's site."""
    sites = {"vagina": ("влагалищ", "вагин", "вульв"), "nail": ("ногт", "ногот"), "lung": ("легк", "мокрот", "кашл")}
    seen = set()
    for labels in _drawn(graph, "B37"):
        named = {site for label in labels for site, roots in sites.items() if any(r in label for r in roots)}
        assert len(named) <= 1, labels
        seen |= named
    assert seen == set(sites)  # every site still drawn, one at a time


def test_labels_judged_wrong_for_a_code_are_not_drawn(graph):
    """Rule 9: MedSyn's own N43 (hydrocele) list gives only "увеличены паховые лимфоузлы" and "яичко не
    прощупывается", H40 (glaucoma) "бледность"; a blind reviewer rejected every note with them. N43 is left with
    no label, so a default plan skips it; H40 still draws, without pallor."""
    from medsyn.builder.kg.coherence import judged_labels
    from medsyn.builder.generate.sampling import PriorSampler

    judged = judged_labels()
    assert "бледность" in judged["H40"] and len(judged["N43"]) == 2
    for code, labels in judged.items():
        assert labels - {"*"} <= {link.label for link in graph.symptoms(code)}, code  # a stale line judges nothing
    h40 = {label for labels in _drawn(graph, "H40") for label in labels}
    assert h40 and "бледность" not in h40
    assert {"N43", "N13"} <= set(PriorSampler(graph).skipped)  # "*": none of N13's labels


def test_a_code_with_anchors_leads_every_set_with_one(graph):
    """Rule 10: B00 (herpes) drew "лихорадочное состояние ..., головокружение, головная боль" and B37
    (candidiasis) "покраснение, изменение голоса, общее недомогание": nothing of the disease ("other" to a blind
    reviewer). Every set now leads with one of the code's anchors and keeps to its site."""
    from medsyn.builder.kg.coherence import anchor_labels, judged_labels

    anchors = anchor_labels()
    assert "+" not in "".join(label[0] for labels in judged_labels().values() for label in labels)
    for code in ("B00", "B37"):
        drawn = _drawn(graph, code, n=300)
        assert drawn and all(labels[0] in anchors[code] for labels in drawn), code
    b37 = _drawn(graph, "B37", n=300)
    assert not any("вагинальная сыпь" in labels and "боли в области легких" in labels for labels in b37)
    assert len({labels[0] for labels in b37}) > 3  # the anchor too is drawn, not fixed


def test_menstruation_and_the_menopause_are_never_drawn_together(graph):
    """C53 drew "вагинальные кровотечения в менопаузе" with "увеличивается продолжительность и интенсивность
    месячных": a woman is one or the other."""
    from medsyn.builder.text.symptom_concepts import implied_ages

    for labels in _drawn(graph, "C53", n=600) + _drawn(graph, "C54", n=600):
        ages = [implied_ages(label) for label in labels]
        assert max(a[0] for a in ages) <= min(a[1] for a in ages), labels
