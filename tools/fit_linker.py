#!/usr/bin/env python3
"""Fits the serial-case linking model (projections/linker/model.json).

Naive Bayes over binned factors: for each factor and bin, the weight is the
log-likelihood ratio log P(bin | same series) / P(bin | not), with add-one
smoothing; the prior is the log odds of a candidate pair being one series.
A pair's score is sigmoid(prior + the sum of its bins' weights), so each
factor's part in a link can be shown to an investigator. The threshold is the
score that maximises F1 over the training pairs.

Training pairs come from a simulated log with ground truth:

  blotter simulate --data D --scale 0.01 --days 365 --seed 11 --truth T
  tools/fit_linker.py --bootstrap > /tmp/bootstrap.json
  blotter evaluate-links --data D --truth T --model /tmp/bootstrap.json --export-pairs P
  tools/fit_linker.py P --threshold T > projections/linker/model.json

Linked pairs join into cases, so the threshold that serves best is found on
the whole pipeline, not on pairs: run the linker on the training log with a
few thresholds, evaluate-links each, and keep the best cluster-level F1 with
no look-alike in a series (--threshold). Evaluate on a log from another seed,
never the training one.
"""
import argparse
import bisect
import json
import math
import sys

VERSION = "nb-3"
# The factors in the order blotter's linker computes them, with their bins:
# bin i holds values below edges[i]; the last bin the rest.
FACTORS = [
    ("distance", [1, 2, 4, 7, 12, 20, 35]),          # km
    ("days_apart", [1, 3, 7, 14, 21, 30]),            # days between the windows
    ("time_of_day", [1, 2, 3, 5, 8]),                 # hours, on the 24-hour circle
    ("day_of_week", [1, 2, 3]),                       # days, on the 7-day circle
    ("mo_tags", [1, 2, 3, 4]),                         # tags in common
    ("entities", [1, 2]),                             # 0 none, 1 description, 2 plate/phone
    ("description", [0.05, 0.1, 0.2, 0.3, 0.45, 0.6]),  # Jaccard of character bigrams
]
SUBTYPES = ["fuel_theft", "theft", "burglary", "vehicle_theft", "pickpocketing", "robbery"]
RADIUS_KM = 60
WINDOW_DAYS = 45


def model(prior, threshold, weights, fitted_on):
    return {
        "algorithm_version": VERSION,
        "method": "naive Bayes over binned factors, add-one smoothing (tools/fit_linker.py)",
        "fitted_on": fitted_on,
        "prior": prior,
        "threshold": threshold,
        "radius_km": RADIUS_KM,
        "window_days": WINDOW_DAYS,
        "subtypes": SUBTYPES,
        "factors": {name: {"edges": edges, "weights": w}
                    for (name, edges), w in zip(FACTORS, weights)},
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pairs", nargs="?", help="JSON lines from evaluate-links --export-pairs")
    ap.add_argument("--threshold", type=float,
                    help="the score to link at (default: the best F1 over the training pairs)")
    ap.add_argument("--bootstrap", action="store_true",
                    help="print a model that scores but links nothing (for exporting pairs)")
    a = ap.parse_args()
    if a.bootstrap:
        json.dump(model(0.0, 0.999999, [[0.0] * (len(e) + 1) for _, e in FACTORS],
                        "nothing: bootstrap"), sys.stdout, indent=1)
        print()
        return 0
    if not a.pairs:
        ap.error("give the pairs file, or --bootstrap")
    pos = [[0] * (len(e) + 1) for _, e in FACTORS]
    neg = [[0] * (len(e) + 1) for _, e in FACTORS]
    rows = []
    with open(a.pairs) as f:
        for line in f:
            p = json.loads(line)
            bins = [bisect.bisect_right(edges, v) for (_, edges), v in zip(FACTORS, p["values"])]
            table = pos if p["same_series"] else neg
            for i, b in enumerate(bins):
                table[i][b] += 1
            rows.append((bins, p["same_series"]))
    npos = sum(1 for _, s in rows if s)
    nneg = len(rows) - npos
    if npos == 0 or nneg == 0:
        print("fit_linker: need pairs of both kinds", file=sys.stderr)
        return 1
    weights = []
    for i, (_, edges) in enumerate(FACTORS):
        k = len(edges) + 1
        weights.append([round(math.log((pos[i][b] + 1) / (npos + k)) -
                              math.log((neg[i][b] + 1) / (nneg + k)), 4) for b in range(k)])
    prior = round(math.log(npos / nneg), 4)
    # The threshold with the best F1 over the training pairs.
    scored = sorted(((prior + sum(weights[i][b] for i, b in enumerate(bins)), s)
                     for bins, s in rows), reverse=True)
    best_f1, best_logit, tp = 0.0, 0.0, 0
    for n, (logit, same) in enumerate(scored, 1):
        tp += same
        f1 = 2 * tp / (n + npos)
        if f1 > best_f1:
            best_f1, best_logit = f1, logit
    threshold = round(1 / (1 + math.exp(-best_logit)), 6)
    threshold = min(max(threshold, 1e-6), 1 - 1e-6)
    note = (f"{a.pairs}: {npos} same-series and {nneg} other candidate pairs; best pairwise "
            f"F1 {best_f1:.4f} at {threshold}")
    if a.threshold is not None:
        threshold = a.threshold
        note += f"; threshold set to {threshold} (best case-level F1 on the training log)"
    out = model(prior, threshold, weights, note)
    json.dump(out, sys.stdout, indent=1)
    print()
    print(f"fit_linker: {npos} positive, {nneg} negative pairs; threshold {threshold} "
          f"(training pairwise F1 {best_f1:.4f})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
