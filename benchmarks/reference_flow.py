"""Benchmark: the high-precision Taylor integrator on the reference diagonal-network flow.

Reference problem (docs/deep_lda.md, DL-4): balanced L = 3, d = 3 diagonal linear network on
the square loss f(w) = 1/2 ||Xw - y||^2 with

    X = [[1, 2, -1], [0.5, -1, 1]],   y = [1, -0.5],   w(0) = (0.1, 0.1, 0.1)

(exact decimals, read as exact rationals), i.e. the reduced flow

    w' = -3 |w|^(4/3) * X^T (X w - y)          (elementwise),

integrated to T = 5 at 50 significant digits.  The flow is written on the positive
orthant (|w| = w); the script checks that w stays positive (dense output on a grid;
the integrator itself also refuses a power base that reaches 0).

Reported, all measured in this process: our wall time and step statistics; the certified
run (integrate(..., certified=True): its time, steps and enclosure widths at T, and its cost
over the uncertified run, on the C engine and on the Python route); mpmath.odefun
on the same problem (its precision and horizon are labelled, by default the same as ours:
odefun takes ~25 s for 50 digits to T = 5 here) with the agreement and the time ratio
at that same setting; heyoka if importable (else null); scipy DOP853 in float64, its
time and its error against our solution; and the ratios.

Usage:  python benchmarks/reference_flow.py [--json] [--dps 50] [--T 5]
            [--odefun-dps D] [--odefun-T H] [--no-odefun] [--repeats 3]
            [--save] [--readme README.md]
        python benchmarks/reference_flow.py --report-only --readme README.md

--save appends the JSON object, with the date, to benchmarks/results/reference_flow.jsonl;
--readme rewrites the README's block between <!-- reference-flow:begin --> and
<!-- reference-flow:end --> (the certified run's cost) from the last saved record.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import mpmath  # noqa: E402
import sympy as sp  # noqa: E402

from numerics.core.taylor import TaylorSystem, integrate, solve_float64  # noqa: E402
from heyoka_bridge import to_heyoka  # noqa: E402  (the script's folder, benchmarks/, is on sys.path)
import readme_blocks  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "reference_flow.jsonl"
README_NAME = "reference-flow"

X_ROWS = [["1", "2", "-1"], ["0.5", "-1", "1"]]
Y_VEC = ["1", "-0.5"]
W0 = ["0.1", "0.1", "0.1"]
DEPTH = 3


def reference_system() -> TaylorSystem:
    """w' = -L |w|^(2-2/L) * X^T (X w - y), L = 3, on the positive orthant (|w| = w)."""
    w = sp.symbols("w1:4", positive=True)
    X = sp.Matrix([[sp.Rational(v) for v in row] for row in X_ROWS])
    y = sp.Matrix([sp.Rational(v) for v in Y_VEC])
    grad = X.T * (X * sp.Matrix(w) - y)
    L = sp.Integer(DEPTH)
    rhs = [-L * sp.Abs(w[i]) ** (2 - 2 / L) * grad[i] for i in range(3)]  # Abs(w) = w here
    return TaylorSystem(w, rhs, name="reference_flow")


def sig(v, digits):
    return mpmath.nstr(v, digits, strip_zeros=False)


def max_abs_diff(a, b):
    with mpmath.workdps(120):
        return max(abs(mpmath.mpf(p) - mpmath.mpf(q)) for p, q in zip(a, b))


def time_taylor(system, dps, T, repeats, times=None, **options):
    best, res = None, None
    for _ in range(max(1, repeats)):
        r = integrate(system, W0, T, dps=dps, times=times, **options)
        if best is None or r.seconds < best:
            best, res = r.seconds, r
    return res, best


def run_odefun(system, dps, T):
    f = system.kernel("mpmath")
    with mpmath.workdps(dps):
        start = time.perf_counter()
        # odefun raises the working precision internally: the kernel must follow it
        sol = mpmath.odefun(lambda t, w: f(w, prec=mpmath.mp.prec), 0,
                            [mpmath.mpf(v) for v in W0])
        val = sol(mpmath.mpf(T))
        seconds = time.perf_counter() - start
    return val, seconds


def run_heyoka(system, T, prec_bits):
    """heyoka end to end (JIT compilation included): at our precision (mp++ ``real``) and in float64."""
    try:
        import heyoka as hy
    except Exception:
        return None
    results = {}
    for label, prec in (("multiprecision", prec_bits), ("float64", None)):
        try:
            if prec is None:
                constant, kwargs, start_values = (lambda v: hy.expression(float(v))), {}, [float(v) for v in W0]
                t_end = float(sp.Rational(T))
            else:
                constant = lambda v, prec=prec: hy.expression(hy.real(v, prec))  # noqa: E731
                kwargs = {"fp_type": hy.real, "prec": prec}
                start_values = [hy.real(str(v), prec) for v in W0]
                t_end = hy.real(str(T), prec)
            hvars = hy.make_vars(*[s.name for s in system.state])
            variables = dict(zip(system.state, hvars))
            eqs = [(hv, to_heyoka(e, variables, constant)) for hv, e in zip(hvars, system.rhs)]
            start = time.perf_counter()
            ta = hy.taylor_adaptive(eqs, start_values, **kwargs)
            compile_s = time.perf_counter() - start
            start = time.perf_counter()
            ta.propagate_until(t_end)
            prop_s = time.perf_counter() - start
            results[label] = {"precision": f"{prec} bits" if prec else "float64", "compile_seconds": compile_s,
                              "propagate_seconds": prop_s, "seconds": compile_s + prop_s,
                              "w_T": [str(v) for v in ta.state]}
        except Exception as exc:  # pragma: no cover - depends on an optional package
            results[label] = {"error": f"{type(exc).__name__}: {exc}"}
    return results


def readme_block(records: list[dict]) -> str:
    """The README sentence on the certified run's cost (markers included), from the last
    saved record."""
    r = records[-1]
    ce, tl, pr = r["certified"], r["taylor"], r["problem"]
    begin, end = readme_blocks.markers(README_NAME)
    return "\n".join([
        begin, "<!-- generated by `python benchmarks/reference_flow.py --report-only --readme README.md` "
        "from benchmarks/results/reference_flow.jsonl; do not edit by hand -->",
        f"measured {r['date']}: {ce['seconds']:.2f} s on the reference flow at {pr['dps']} digits to "
        f"T = {pr['T']} ({ce['steps']} steps against {tl['steps']}, widths at T ≤ "
        f"{max(ce['enclosure_widths_at_T']):.0e}), {ce['over_uncertified_python']:.1f}× the uncertified "
        f"Python route and {ce['over_uncertified']:.0f}× the C engine (the certified recurrences run "
        "in Python over balls);", end])


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Times are wall-clock seconds in this process (best of --repeats for ours and "
               "scipy; odefun runs once).  A ratio named a_over_b is time(a)/time(b).  "
               "Exit status 1 if w leaves the positive orthant.")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--dps", type=int, default=50, help="our precision in digits (default 50)")
    ap.add_argument("--T", default="5", help="horizon (exact decimal, default 5)")
    ap.add_argument("--odefun-dps", type=int, default=None,
                    help="precision of the mpmath.odefun reference (default: --dps)")
    ap.add_argument("--odefun-T", default=None,
                    help="horizon of the mpmath.odefun reference (default: --T)")
    ap.add_argument("--no-odefun", action="store_true", help="skip mpmath.odefun")
    ap.add_argument("--repeats", type=int, default=3, help="timing repeats, best is kept")
    ap.add_argument("--save", action="store_true", help=f"append the result to {RESULTS.name}")
    ap.add_argument("--readme", type=Path, default=None,
                    help="rewrite this README's reference-flow block from the saved results")
    ap.add_argument("--report-only", action="store_true", help="do not measure: only rewrite --readme")
    args = ap.parse_args(argv)
    if args.dps < 5:
        ap.error("--dps must be >= 5")
    if args.report_only:
        if args.readme is None:
            ap.error("--report-only needs --readme")
        readme_blocks.update_block(args.readme, README_NAME, readme_block(readme_blocks.load_records(RESULTS)))
        return 0

    t_build = time.perf_counter()
    system = reference_system()
    build_seconds = time.perf_counter() - t_build

    dps, T = args.dps, args.T
    res, best = time_taylor(system, dps, T, args.repeats)
    wT = res.y[-1]

    # self-consistency estimate of our error: same run with 20 more digits
    ref_hi = integrate(system, W0, T, dps=dps + 20)
    self_err = max_abs_diff(wT, ref_hi.y[-1])

    # positivity along the trajectory (dense output on a grid of 200 times)
    grid = [sp.Rational(sp.Rational(T) * k, 200) for k in range(1, 201)]
    dense = integrate(system, W0, T, dps=min(dps, 30), times=grid)
    min_comp = min(min(row) for row in dense.y)
    positive = bool(min_comp > 0)

    out = {
        "problem": {
            "flow": "w' = -3 |w|^(4/3) * X^T (X w - y)  (balanced L=3 diagonal net, square loss)",
            "X": X_ROWS, "y": Y_VEC, "w0": W0, "T": str(T), "dps": dps,
        },
        "w_T": [sig(v, 50) for v in wT],
        "w_T_digits": 50,
        "taylor": {
            "integrator": res.integrator,
            "seconds": best,
            "repeats": args.repeats,
            "system_build_seconds": build_seconds,
            "steps": res.steps,
            "order": res.order,
            "prec_bits": res.prec_bits,
            "min_step": res.min_step,
            "max_step": res.max_step,
            "self_check_dps": dps + 20,
            "self_check_max_abs_diff": float(self_err),
        },
        "positivity": {"checked_times": len(grid), "min_component": sig(min_comp, 20),
                       "stays_positive": positive},
    }

    # mpmath.odefun at a labelled precision / horizon, ours at the same setting
    if args.no_odefun:
        out["odefun"] = None
    else:
        od_dps = args.odefun_dps or dps
        od_T = args.odefun_T or T
        od_val, od_seconds = run_odefun(system, od_dps, od_T)
        ours_same, ours_same_s = time_taylor(system, od_dps, od_T, args.repeats)
        out["odefun"] = {
            "dps": od_dps,
            "horizon": str(od_T),
            "seconds": od_seconds,
            "taylor_seconds_same_setting": ours_same_s,
            "taylor_steps_same_setting": ours_same.steps,
            "max_abs_diff_vs_taylor": float(max_abs_diff(od_val, ours_same.y[-1])),
            "time_ratio_odefun_over_taylor": od_seconds / ours_same_s,
        }

    out["heyoka"] = run_heyoka(system, T, res.prec_bits)

    # the certified run (ball arithmetic, a priori boxes) against both uncertified routes
    start = time.perf_counter()
    cert = integrate(system, W0, T, dps=dps, certified=True)
    cert_seconds = time.perf_counter() - start
    _, python_best = time_taylor(system, dps, T, args.repeats, engine="python")
    widths = [float(b.rad()) * 2 for b in cert.enclosure[-1]]
    out["certified"] = {
        "seconds": cert_seconds, "steps": cert.steps,
        "enclosure_widths_at_T": widths,
        "uncertified_python_seconds": python_best,
        "over_uncertified_python": cert_seconds / python_best,
        "over_uncertified": cert_seconds / best,
        "uncertified_integrator": res.integrator,
    }

    fl = solve_float64(system, W0, float(sp.Rational(T)), rtol=1e-13, atol=1e-15)
    fl_best = fl.seconds
    for _ in range(max(0, args.repeats - 1)):
        fl_best = min(fl_best, solve_float64(system, W0, float(sp.Rational(T)),
                                             rtol=1e-13, atol=1e-15).seconds)
    out["scipy_dop853"] = {
        "precision": "float64", "rtol": fl.rtol, "atol": fl.atol, "seconds": fl_best,
        "nfev": fl.nfev, "w_T": [repr(float(v)) for v in fl.y[-1]],
        "max_abs_err_vs_taylor": float(max_abs_diff([mpmath.mpf(float(v)) for v in fl.y[-1]], wT)),
    }

    ratios = {"taylor_over_scipy_time": best / fl_best}
    if out["odefun"]:
        ratios["odefun_over_taylor_time"] = out["odefun"]["time_ratio_odefun_over_taylor"]
    hy_mp = (out["heyoka"] or {}).get("multiprecision", {})
    # end to end on both sides: our system build (sympy -> Taylor program) + integration, vs JIT + integration
    ratios["taylor_over_heyoka_time"] = ((best + build_seconds) / hy_mp["seconds"] if "seconds" in hy_mp else None)
    if "w_T" in hy_mp:
        # the decimal strings go to max_abs_diff as they are: parsing them here would round
        # them to the caller's mpmath precision
        out["heyoka"]["multiprecision"]["max_abs_diff_vs_taylor"] = float(
            max_abs_diff(hy_mp["w_T"], wT))
    out["ratios"] = ratios
    if args.save:
        with open(RESULTS, "a") as f:
            f.write(json.dumps({"date": time.strftime("%Y-%m-%d"), **out}) + "\n")
    if args.readme is not None:
        readme_blocks.update_block(args.readme, README_NAME, readme_block(readme_blocks.load_records(RESULTS)))

    if args.json:
        print(json.dumps(out, indent=2))
        return 0 if positive else 1

    print("Reference flow: w' = -3|w|^(4/3) * X^T(Xw - y), w(0) = (0.1, 0.1, 0.1), "
          f"T = {T}, {dps} digits")
    for i, v in enumerate(out["w_T"]):
        print(f"  w{i + 1}(T) = {v}")
    tl = out["taylor"]
    print(f"Taylor (ours): {tl['seconds']:.3f} s (best of {args.repeats}), {tl['steps']} steps, "
          f"order {tl['order']}, h in [{tl['min_step']:.3g}, {tl['max_step']:.3g}], "
          f"{tl['prec_bits']} bits; |ours - ours@{dps + 20}| = {tl['self_check_max_abs_diff']:.2e}")
    print(f"  w stays positive on a {len(grid)}-point grid: {positive} "
          f"(min component {out['positivity']['min_component']})")
    if out["odefun"]:
        od = out["odefun"]
        print(f"mpmath.odefun at {od['dps']} digits to t = {od['horizon']}: {od['seconds']:.2f} s; "
              f"ours at the same setting {od['taylor_seconds_same_setting']:.3f} s -> "
              f"{od['time_ratio_odefun_over_taylor']:.0f}x faster; max |diff| = "
              f"{od['max_abs_diff_vs_taylor']:.2e}")
    else:
        print("mpmath.odefun: skipped")
    if out["heyoka"] is None:
        print("heyoka: not installed (null)")
    for label, hy_res in (out["heyoka"] or {}).items():
        if "error" in hy_res:
            print(f"heyoka ({label}): failed: {hy_res['error']}")
        else:
            diff = hy_res.get("max_abs_diff_vs_taylor")
            print(f"heyoka ({label}, {hy_res['precision']}): {hy_res['seconds']:.3f} s end to end "
                  f"({hy_res['compile_seconds']:.2f} s JIT + {hy_res['propagate_seconds']:.3f} s)"
                  + (f"; max |diff| vs ours = {diff:.2e}" if diff is not None else ""))
    if ratios["taylor_over_heyoka_time"] is not None:
        print(f"ours (build + integration) / heyoka multiprecision (JIT + integration) = "
              f"{ratios['taylor_over_heyoka_time']:.2f}")
    ce = out["certified"]
    print(f"certified (enclosures): {ce['seconds']:.3f} s, {ce['steps']} steps, widths at T <= "
          f"{max(ce['enclosure_widths_at_T']):.1e}; {ce['over_uncertified']:.1f}x the uncertified run "
          f"({ce['uncertified_integrator']}), {ce['over_uncertified_python']:.1f}x the Python route")
    sc = out["scipy_dop853"]
    print(f"scipy DOP853 float64 (rtol {sc['rtol']:g}, atol {sc['atol']:g}): {sc['seconds']:.4f} s, "
          f"{sc['nfev']} evaluations, max |error| vs ours = {sc['max_abs_err_vs_taylor']:.2e}")
    print(f"Ratios: ours/scipy time = {ratios['taylor_over_scipy_time']:.2f}"
          + (f", odefun/ours time = {ratios['odefun_over_taylor_time']:.0f}" if out["odefun"] else ""))
    return 0 if positive else 1


if __name__ == "__main__":
    sys.exit(main())
