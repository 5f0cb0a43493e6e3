"""The card's "Privacy and quality" section and the audit `push` checks: what the generator saw of real data,
what the scorers rejected as copies and personal data, and the figures of `medsyn audit` once added with
`medsyn card --audit DIR`.

An audit is evidence only for the corpus it was run on, so, as for benchmark results, its fingerprint must be the
corpus's own; the copy published in assets/audit/ names no local path.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from medsyn.builder.corpus.provenance import corpus_fingerprint, public
from medsyn.errors import MedsynError
from medsyn.io import atomic_file

log = logging.getLogger(__name__)
AUDIT_ASSETS = "assets/audit"


def load_audit(dataset_dir: Path) -> dict | None:
    """The audit.json added to the folder (None when there is none)."""
    path = Path(dataset_dir) / AUDIT_ASSETS / "audit.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise MedsynError(f"{path}: not valid JSON ({err.msg}); rerun `medsyn audit` and `medsyn card --audit`") from None


def add_audit(audit_dir: Path, dataset_dir: Path, force: bool = False) -> None:
    """Copy AUDIT_DIR/audit.json into the corpus folder, refused when it was computed on another corpus."""
    source = Path(audit_dir) / "audit.json"
    if not source.is_file():
        raise MedsynError(f"--audit {audit_dir}: no audit.json; pass the --out folder of `medsyn audit`")
    result = json.loads(source.read_text(encoding="utf-8"))
    actual = corpus_fingerprint(dataset_dir)
    if result.get("fingerprint") != actual:
        problem = f"was computed on another corpus ({str(result.get('fingerprint'))[:19]}…, this one is {actual[:19]}…)"
        if not force:
            raise MedsynError(f"{source} {problem}; rerun `medsyn audit {dataset_dir} ...` or pass --force")
        log.warning("%s %s; adding it anyway (--force)", source, problem)
    target = Path(dataset_dir) / AUDIT_ASSETS / "audit.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(target) as handle:
        handle.write(json.dumps(public(result), ensure_ascii=False, indent=1) + "\n")


def section(dataset_dir: Path, info: dict, reject_reasons: list[tuple[str, int]]) -> dict:
    """What the card's section shows."""
    reasons = dict(reject_reasons)
    checked = info.get("real_notes") or {}
    return {
        "generator_notes": info.get("generator_notes") or checked.get("sources") or [],
        "real_checked": bool(checked.get("checked")),
        "real_missing": checked.get("missing") or [],
        "copies_rejected": reasons.get("copies_real", 0),
        "pii_rejected": reasons.get("pii", 0),
        "audit": load_audit(dataset_dir),
        "judge": info.get("judge"),
    }


def audit_failures(dataset_dir: Path) -> list[str]:
    """Why the folder's audit failed (empty: it passed, or no audit was added)."""
    result = load_audit(dataset_dir)
    return list(result.get("failures") or []) if result else []
