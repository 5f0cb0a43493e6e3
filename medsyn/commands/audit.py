"""`medsyn audit`: is a corpus safe to publish? Copies of real notes, personal data, and DCR and membership
inference against a holdout of real notes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from medsyn.builder.corpus.audit import AuditLimits, audit
from medsyn.config import ConfigParser
from medsyn.options import option

HELP = "audit a corpus against real notes: copies, personal data, DCR and membership inference against a holdout"
DESCRIPTION = (
    "Compare every note of CORPUS (kept or not) with the real notes its generator learnt from (--real: RuMedTop3 JSON "
    "lines, corpus folders or any file `import` reads with a text column): the closest real note and its distance, "
    "the longest shared word run, copies (the corpus's thresholds), and personal data. With --holdout (real notes "
    "the generator never saw) also the share of kept notes closer to training than to holdout notes and a "
    "distance-based membership-inference AUC, with bootstrap intervals. Writes OUT/audit.json and OUT/notes.parquet."
)


@dataclass
class AuditOptions:
    corpus: Path = option(help="corpus folder (medsyn build, import or merge)")
    real: list[Path] = option(help="real notes the generator learnt from (files or folders)")
    out: Path = option(help="output folder for audit.json and notes.parquet")
    holdout: list[Path] = option([], "real notes the generator never saw, for the DCR and membership figures")
    seed: int = option(0, "seed of the subsample and the bootstrap")
    overwrite: bool = option(False, "replace an existing output folder (only one medsyn wrote)")


def main(argv: list[str], prog: str = "medsyn audit") -> int:
    options, limits = ConfigParser([AuditOptions, AuditLimits], prog=prog, description=DESCRIPTION,
                                   positional="corpus").parse(argv)
    result = audit(options.corpus, options.real, options.holdout, options.out, limits, options.overwrite,
                   options.seed)
    print(f"audited {result['notes']} notes ({result['kept']} kept) of {options.corpus} against "
          f"{sum(s['count'] for s in result['real'])} real notes: {result['copies_real']['kept']} kept copies, "
          f"{result['pii']['kept']} kept with personal data")
    figures = result.get("holdout_figures")
    if figures:
        share, auc = figures["closer_to_train"], figures["membership_auc"]
        print(f"closer to training than to holdout: {share['share']:.3f} (95% CI {share['ci95'][0]:.3f}-"
              f"{share['ci95'][1]:.3f}; 0.5 = no memorisation); membership AUC {auc['auc']:.3f} "
              f"({auc['ci95'][0]:.3f}-{auc['ci95'][1]:.3f})")
    print("passed" if result["passed"] else "FAILED: " + "; ".join(result["failures"]))
    print(f"wrote {options.out}/audit.json and notes.parquet")
    return 0 if result["passed"] else 1
