"""`medsyn mkg build|stats|show`: build the knowledge graph from source files and look inside it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from medsyn.builder.kg import generator_tables
from medsyn.builder.kg.graph import MkgSources, load_graph, save_graph
from medsyn.builder.kg.sources import SHARED_DATA
from medsyn.config import ConfigParser, dispatch
from medsyn.io import check_output_file
from medsyn.options import option

DEFAULT_SOURCES = str(SHARED_DATA)


HELP = "build and inspect the Medical Knowledge Graph"
BUILD_DESCRIPTION = (
    "Build the MKG from the МКБ-10 dictionary, RuMedTop3 train notes + symptom markup and, when present, HSDN with "
    "the MeSH->ICD-10 maps and MedSyn's own tables (medsyn_mkg/). --sources takes a folder in the shared/data layout; the other flags override single "
    "files."
)


@dataclass
class MkgBuildOptions:
    out: Path = option(help="output file (.json.gz)")
    sources: Path = option(Path(DEFAULT_SOURCES), "folder in the shared/data layout")
    icd10: Path | None = option(None, "МКБ-10 NSI CSV")
    notes: list[Path] | None = option(None, "RuMedTop3-format training notes (several allowed)")
    markup: Path | None = option(None, "RuMedBench rec_markup.csv")
    hsdn: Path | None = option(None, "HSDN symptoms-DO.tsv")
    mesh_icd10_cm: Path | None = option(None, "MeSH -> ICD-10-CM mapping CSV")
    mesh_icd10_who: Path | None = option(None, "MeSH -> ICD-10 (WHO) dict.txt")
    medsyn_mkg: Path | None = option(None, "folder with MedSyn's main_proc.csv (and icd_symp_ru.csv)")
    no_hsdn: bool = option(False, "leave HSDN out even if present")


@dataclass
class MkgStatsOptions:
    graph: Path | None = option(None, "graph file (default: the embedded graph)")
    json: bool = option(False, "print JSON")


@dataclass
class MkgShowOptions:
    code: str = option(help="ICD-10 code, e.g. M54")
    graph: Path | None = option(None, "graph file (default: the embedded graph)")
    top: int = option(15, "how many symptoms to list")
    all_languages: bool = option(False, "include English HSDN symptoms")
    json: bool = option(False, "print JSON")


def main(argv: list[str], prog: str = "medsyn mkg") -> int:
    return dispatch(argv, prog, HELP, {
        "build": ("build the graph from source files", run_build),
        "stats": ("node/edge counts by type, codes with symptoms", run_stats),
        "show": ("a code: name, parents, top symptoms with weights and counts", run_show),
    })


def _parse(dtype, argv: list[str], prog: str, description: str | None = None, positional: str | None = None):
    return ConfigParser([dtype], prog=prog, description=description, positional=positional).parse(argv)[0]


def run_build(argv: list[str], prog: str) -> int:
    args = _parse(MkgBuildOptions, argv, prog, BUILD_DESCRIPTION)
    check_output_file(args.out)

    if args.icd10:
        src = MkgSources(icd10=args.icd10)
    else:
        src = MkgSources.from_shared(args.sources)
    for key in ("markup", "hsdn", "mesh_icd10_cm", "mesh_icd10_who", "medsyn_mkg"):
        if getattr(args, key):
            setattr(src, key, getattr(args, key))
    if args.notes:
        src.notes = list(args.notes)
    if args.no_hsdn:
        src.hsdn = None
    graph, provenance = generator_tables.build(src)
    save_graph(graph, provenance, args.out)
    stats = load_graph(args.out).stats()
    print(f"wrote {args.out}: {sum(stats['nodes'].values())} nodes, {sum(stats['edges'].values())} edges, "
          f"{stats['codes_with_russian_symptoms']} categories and {stats['full_codes_with_russian_symptoms']} full "
          "codes with Russian symptoms")
    if "generator" in provenance:
        section = provenance["generator"]
        print(f"generator tables learnt from {sum(f['count'] for f in section['notes'])} notes: "
              f"{sum(map(len, section['wordings'].values()))} wordings of {len(section['wordings'])} labels, openers "
              + ", ".join(f"{k} {v}" for k, v in section["openers"].items() if v))
    return 0


def run_stats(argv: list[str], prog: str) -> int:
    args = _parse(MkgStatsOptions, argv, prog)
    stats = load_graph(args.graph).stats()
    if args.json:
        print(json.dumps(stats, ensure_ascii=False, indent=2))
        return 0
    print("nodes:  " + ", ".join(f"{k} {v}" for k, v in stats["nodes"].items()))
    print("edges:  " + ", ".join(f"{k} {v}" for k, v in stats["edges"].items()))
    print("symptoms by language: " + ", ".join(f"{k} {v}" for k, v in stats["symptoms_by_language"].items()))
    print(f"codes with symptoms: {stats['codes_with_symptoms']} "
          f"({stats['codes_with_russian_symptoms']} with Russian symptoms, {stats['codes_with_notes']} with real notes)")
    print(f"Russian symptoms: {stats['categories_with_russian_symptoms']} 3-character categories, "
          f"{stats['full_codes_with_russian_symptoms']} codes at their own level "
          f"({stats['subcategories_with_russian_symptoms']} of them subcategories)")
    lexicon = stats["lexicon"]
    if lexicon:
        print(f"symptom lexicon: {lexicon['labels_raw']} labels as written, {lexicon['labels_normalised']} after "
              f"normalising case and spaces, {lexicon['labels_merged']} after merging ({lexicon['typo_merges']} typo merges"
              f"{', %d misspellings dropped' % lexicon['typo_drops'] if lexicon.get('typo_drops') else ''})")
    if "mapped_to_parent" in stats:
        print(f"MedSyn codes not in МКБ-10 mapped to a parent: {len(stats['mapped_to_parent'])}; unmapped: "
              + (", ".join(stats["unmapped"]) or "none"))
        disagree = stats["sex_disagreements"]
        print(f"sex limits where WHO and MedSyn disagree ({len(disagree)}; --json lists all): " + ", ".join(
            f"{d['code']} (WHO {d['who'] or 'none'}, MedSyn {d['medsyn'] or 'neutral'})" for d in disagree[:8])
            + (", ..." if len(disagree) > 8 else ""))
    print("sources: " + "; ".join(stats["sources"]))
    return 0


def run_show(argv: list[str], prog: str) -> int:
    args = _parse(MkgShowOptions, argv, prog, positional="code")
    graph = load_graph(args.graph)
    node = graph.node(args.code)
    symptoms = graph.symptoms(node["code"], lang=None if args.all_languages else "ru")[: args.top]
    info = {
        "code": node["code"],
        "name": node["name"],
        "sex": node.get("sex"),
        "symptoms_from": graph.symptom_node(node["code"])[4:],
        "n_notes": graph.node(node["code"][:3]).get("n_notes", 0),
        "parents": graph.parents(node["code"]),
        "symptoms": [asdict(s) for s in symptoms],
    }
    if args.json:
        print(json.dumps(info, ensure_ascii=False, indent=2))
        return 0
    print(f"{info['code']}  {info['name']}")
    for parent in info["parents"]:
        print(f"  in {parent['kind']} {parent['code']}  {parent['name']}")
    limit = f", only {info['sex']}" if info["sex"] else ""
    print(f"real training notes: {info['n_notes']}{limit}")
    if not symptoms:
        print("no symptoms linked to this code")
    else:
        print(f"{'weight':>8}  {'notes':>5}  {'markup':>6}  {'lemma':>5}  {'hsdn':>6}  {'list':>4}  symptom")
        for s in symptoms:
            print(f"{s.weight:8.4f}  {s.notes:5d}  {s.markup_count:6d}  {s.lemma_count:5d}  "
                  f"{s.sources.get('medsyn_hsdn', 0):6.2f}  {s.sources.get('medsyn_list', 0):4d}  {s.label}")
    return 0
