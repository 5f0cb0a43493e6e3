"""Does a code budget's per-code verdict carry over to the file it is reported on? Prints, for the codes the
budget says synthetic notes help and those it says they hurt, their per-code accuracy gain (real+synthetic minus
real-only, mean over seeds) in another benchmark run, and the correlation of the two runs' per-code gains.

    .venv/bin/python benchmarks/budget_evidence.py BUDGET.json RESULTS_DIR [SETTING (default real+synthetic@1)]
"""

import json, sys
import numpy as np
budget = json.load(open(sys.argv[1]))
r = json.load(open(sys.argv[2] + "/results.json"))
mixed = sys.argv[3] if len(sys.argv) > 3 else "real+synthetic@1"
def per(name, frac):
    acc = {}
    for e in r["settings"]:
        if e["name"] == name and e["real_fraction"] == frac:
            for c, a in e["per_code_accuracy"].items(): acc.setdefault(c, []).append(a)
    return {c: np.mean(v) for c, v in acc.items()}
real, mix = per("real", 1.0), per(mixed, 1.0)
neval = {row["code"]: row["n_eval"] for row in r["tstr_per_code"]}
inner = {row["code"]: row for row in budget["per_code"]}
xs, ys = [], []
for verdict in ("helps", "hurts"):
    codes = [c for c, row in inner.items() if row["verdict"] == verdict and c in real and c in mix]
    gains = [mix[c] - real[c] for c in codes]
    w = [neval.get(c, 0) for c in codes]
    print(f"{verdict}: {len(codes)} codes, dev gain mean {100*np.mean(gains):+.1f}, weighted by dev notes {100*np.average(gains, weights=w) if sum(w) else float('nan'):+.1f}, codes with dev gain>0: {sum(g>0 for g in gains)}, <0: {sum(g<0 for g in gains)}, =0: {sum(g==0 for g in gains)}")
for c, row in inner.items():
    if c in real and c in mix and row["mixed_gain"] is not None:
        xs.append(row["mixed_gain"]); ys.append(mix[c] - real[c])
print("codes", len(xs), "corr(inner gain, dev gain)", round(float(np.corrcoef(xs, ys)[0, 1]), 3))
