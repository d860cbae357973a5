"""Benchmark: conservation-law discovery (derivations.conservation).

Prints, each measured in this process:

* the time to count the laws of the issue's two reference models, a 2-layer linear net
  4-3-4 (D = 24) and an L = 4, d = 6 diagonal net (D = 24), with the count and certificate;
* how the time grows with D (diagonal nets L = 3, d = 1..6 and linear nets n-r-n), with the
  fitted exponent of time against D;
* the exact rank (python-flint fmpq_mat) against numpy.linalg.matrix_rank in float64 on the
  same evaluated fields: time ratio, and the cases where the float rank is wrong (fields of
  a deep diagonal net at points with coordinates of very different sizes).

Usage:  python benchmarks/conservation.py [--json] [--quick]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from fractions import Fraction

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import flint  # noqa: E402
import numpy as np  # noqa: E402

from derivations.conservation import _Arithmetic, diagonal_net, discover, linear_net, velocity_fields  # noqa: E402


def timed_count(model) -> dict:
    start = time.perf_counter()
    result = discover(model)
    return {"model": model.name, "D": model.dim, "laws": result.count, "upper_bound": result.upper_bound,
            "certified": result.certified, "seconds": time.perf_counter() - start}


def growth(models) -> dict:
    rows = [timed_count(m) for m in models]
    xs, ys = [math.log(r["D"]) for r in rows], [math.log(r["seconds"]) for r in rows]
    slope = float(np.polyfit(xs, ys, 1)[0]) if len(rows) > 1 else None
    return {"rows": rows, "exponent_time_vs_D": slope}


def rank_comparison(depth: int, dim: int, trials: int, seed: int = 0) -> dict:
    """Rank of the gradient fields of a diagonal net at points whose coordinates span many
    orders of magnitude: exact (fmpq_mat) vs float64 (numpy SVD with its default tolerance).
    The exact rank is ``dim`` at every point off the coordinate planes."""
    model = diagonal_net(depth, dim)
    fields = velocity_fields(model)
    arith = _Arithmetic(model.params, True)
    evaluate = arith.function([e for f in fields for e in f], len(fields), model.dim)
    rng = random.Random(seed)
    exact_s = float_s = 0.0
    wrong = []
    for _ in range(trials):
        point = [Fraction(rng.choice([1, -1]) * rng.randint(1, 9), 1) * Fraction(10) ** rng.randint(-4, 4)
                 for _ in model.params]
        M = evaluate(point)
        start = time.perf_counter()
        exact = M.rank()
        exact_s += time.perf_counter() - start
        A = np.array([[float(M[i, j].p) / float(M[i, j].q) for j in range(M.ncols())] for i in range(M.nrows())])
        start = time.perf_counter()
        floating = int(np.linalg.matrix_rank(A))
        float_s += time.perf_counter() - start
        if floating != exact:
            wrong.append({"point": [str(v) for v in point], "exact_rank": exact, "float64_rank": floating})
    return {"model": model.name, "trials": trials, "exact_seconds": exact_s, "float64_seconds": float_s,
            "time_ratio_exact_over_float64": exact_s / float_s if float_s else None,
            "float64_wrong": len(wrong), "examples": wrong[:3]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--quick", action="store_true", help="small models only (a smoke run)")
    args = ap.parse_args(argv)
    if args.quick:
        reference = [linear_net(2, 2, 2), diagonal_net(2, 2)]
        diag = [diagonal_net(3, d) for d in (1, 2)]
        lin = [linear_net(n, 2, n) for n in (2, 3)]
        ranks = rank_comparison(6, 3, 20)
    else:
        reference = [linear_net(4, 3, 4), diagonal_net(4, 6)]
        diag = [diagonal_net(3, d) for d in range(1, 7)]
        lin = [linear_net(n, 2, n) for n in range(2, 6)]
        ranks = rank_comparison(8, 4, 200)
    out = {"reference": [timed_count(m) for m in reference],
           "growth_diagonal": growth(diag), "growth_linear": growth(lin),
           "exact_vs_float64_rank": ranks, "flint": flint.__version__}
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    for r in out["reference"]:
        print(f"{r['model']:28} D = {r['D']:3}: {r['laws']} laws, bound {r['upper_bound']}, "
              f"certified {r['certified']}, {r['seconds']:.2f} s")
    for key in ("growth_diagonal", "growth_linear"):
        g = out[key]
        print(f"{key}: time ~ D^{g['exponent_time_vs_D']:.2f}  "
              + ", ".join(f"D={r['D']}: {r['seconds']:.2f} s" for r in g["rows"]))
    rc = out["exact_vs_float64_rank"]
    print(f"rank of {rc['model']} fields at {rc['trials']} ill-scaled points: exact {rc['exact_seconds']:.3f} s, "
          f"float64 {rc['float64_seconds']:.3f} s (ratio {rc['time_ratio_exact_over_float64']:.1f}); "
          f"float64 rank wrong at {rc['float64_wrong']} points")
    for ex in rc["examples"]:
        print(f"  e.g. exact rank {ex['exact_rank']}, float64 rank {ex['float64_rank']} at {ex['point']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
