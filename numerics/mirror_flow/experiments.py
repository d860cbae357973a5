"""The mirror-flow experiments, as :class:`numerics.core.experiment.Experiment` objects.

``MF-7`` — exponentially slow convergence (:mod:`numerics.mirror_flow.slow_convergence`).
A linear model on one point ``x = (1, 2)``, label +1, exponential loss: the direction error
of ``w/‖w‖`` against the max-margin direction of each potential's horizon, at
``log log t = 2, 4, …, 20`` (closed form at 50 digits: ``t = e^{5·10^8}`` at the end), for
``x² log(e + x²)`` (the slow potential: horizon ℓ2, distorted by ``O(1/log c)`` at scale ``c``),
``x²/2`` (gradient flow), the hyperbolic entropy (ℓ1 horizon) and ``cosh`` (ℓ∞).  The
exponents are fitted both in ``log log t`` and in ``log t`` over ``[10, 20]``:
the slow potential's error falls like ``(log log t)^-1``, gradient flow's like ``(log t)^-1``,
and each is the other's falsifier; the slow law and its falsifier again far out, to
``log log t = 200`` at 120 digits.  Two points ``(1, 3), (2, 1)`` (no closed form) by the Taylor
method in rescaled time to ``log log t ≈ 10``; and two cross-checks of the closed form.

>>> [p["route"] for p in SLOW_CONVERGENCE.grid(True)]
['closed form', 'closed form', 'closed form', 'closed form', 'far closed form', 'far closed form', 'taylor', 'laplace check', 'simulation check']
"""
from __future__ import annotations

import mpmath
import sympy as sp

from numerics.core.experiment import Experiment, Outcome, curve, figure, law
from numerics.mirror_flow.slow_convergence import (Curve, closed_form_w, fit_exponents, one_point_curve,
                                                   several_points_curve, simulated_one_point)

__all__ = ["SLOW_CONVERGENCE", "mf7_point"]

X = (1, 2)
TWO_POINTS = ((1, 3), (2, 1))
#: potential -> (w(0), its role, its label in the report)
ONE_POINT = {
    "slow": (("0", "0"), "the claim: a strictly convex horizon approached logarithmically",
             "$x^2\\log(e + x^2)$ ($\\ell_2$ horizon)"),
    "quadratic": (("1/10", "-1/5"), "the falsifier: gradient flow, no distortion, from $w(0) \\ne 0$",
                  "$x^2/2$ (gradient flow)"),
    "hyperbolic entropy": (("0", "0"), "$\\ell_1$ horizon: the optimum is a vertex",
                           "hyperbolic entropy ($\\ell_1$)"),
    "cosh": (("0", "0"), "$\\ell_\\infty$ horizon", "$\\cosh x - 1$ ($\\ell_\\infty$)"),
}


#: the far runs: the claim and its falsifier to log log t = 200 (full grid) at 120 digits
FAR = ("slow", "quadratic")
FAR_TARGETS = {True: [20, 35, 50], False: [20, 50, 100, 200]}
FAR_DPS = 120


def _curve_json(c: Curve) -> dict:
    return {"loglog": [float(v) for v in c.loglog], "log_t": [float(v) for v in c.log_t],
            "error": [float(v) for v in c.error], "error_text": [mpmath.nstr(v, 6) for v in c.error]}


def mf7_point(route: str, potential: str, data: list, start: list, horizon: list, dps: int) -> dict:
    """One MF-7 run.  ``route``: ``closed form`` (``horizon`` = the ``log log t`` targets),
    ``taylor`` (``data`` = several points, ``horizon`` = rescaled times ``s``), ``laplace check``
    (Laplace's expansion against quadrature at ``horizon`` = ``log log t`` targets) or
    ``simulation check`` (the closed form against the Taylor simulation at ``s`` = ``horizon``)."""
    w0 = [sp.Rational(v) for v in start] if start else None
    if route == "closed form":
        return _curve_json(one_point_curve(potential, data[0], w0, horizon, dps=dps))
    if route == "far closed form":
        return _curve_json(one_point_curve(potential, data[0], w0, horizon, dps=dps))
    if route == "taylor":
        return _curve_json(several_points_curve(potential, [tuple(p) for p in data], horizon, dps=dps))
    if route == "laplace check":
        laplace = one_point_curve(potential, data[0], w0, horizon, dps=dps)
        quadrature = one_point_curve(potential, data[0], w0, horizon, dps=dps, exact=True)
        return {"relative_difference": float(max(abs(p - q) / q for p, q in zip(laplace.error, quadrature.error)))}
    if route == "simulation check":
        simulated = simulated_one_point(potential, data[0], w0, horizon, dps=dps)
        return {"relative_difference": float(max(
            abs(a - b) / abs(b) for s, row in zip(horizon, simulated)
            for a, b in zip(row, closed_form_w(potential, data[0], w0, s, dps=dps + 10))))}
    raise ValueError(f"unknown MF-7 route {route!r}")


def _grid(quick: bool) -> list[dict]:
    targets = list(range(2, 13, 2)) if quick else list(range(2, 21, 2))
    dps = 30 if quick else 50
    points = [{"route": "closed form", "potential": p, "data": [list(X)], "start": list(w0),
               "horizon": targets, "dps": dps} for p, (w0, _, _) in ONE_POINT.items()]
    # far out: log log t up to 200 (t = e^{e^200}); the gradient-flow falsifier's error is then
    # e^{-200} ~ 1e-87, so these runs carry 120 digits
    for name in FAR:
        points.append({"route": "far closed form", "potential": name, "data": [list(X)],
                       "start": list(ONE_POINT[name][0]), "horizon": FAR_TARGETS[quick], "dps": FAR_DPS})
    points.append({"route": "taylor", "potential": "slow", "data": [list(p) for p in TWO_POINTS], "start": [],
                   "horizon": [10**k for k in range(1, 5 if quick else 6)], "dps": 30})
    points.append({"route": "laplace check", "potential": "slow", "data": [list(X)], "start": ["0", "0"],
                   "horizon": [2], "dps": 20})
    points.append({"route": "simulation check", "potential": "slow", "data": [list(X)], "start": ["0", "0"],
                   "horizon": [10, 10**4, 10**6] if quick else [10, 10**4, 10**7, 10**10], "dps": 30})
    return points


class _Fit:
    def __init__(self, run: dict, lo: float, hi: float):
        c = Curve("", "", "", run["loglog"], run["log_t"], run["error"])
        self.fit = fit_exponents(c, lo, hi)
        self.beta, self.gamma = self.fit["vs_loglog_t"], self.fit["vs_log_t"]


def _analyse(points, results, quick) -> Outcome:
    lo, hi = (6, 12) if quick else (10, 20)
    closed = {p["potential"]: r for p, r in zip(points, results) if p["route"] == "closed form"}
    far = {p["potential"]: r for p, r in zip(points, results) if p["route"] == "far closed form"}
    by_route = {p["route"]: (p, r) for p, r in zip(points, results) if "closed form" not in p["route"]}
    fits = {name: _Fit(run, lo, hi) for name, run in closed.items()}
    window = f"fitted over $\\log\\log t \\in [{lo}, {hi}]$"
    far_lo, far_hi = FAR_TARGETS[quick][0], FAR_TARGETS[quick][-1]
    far_fit = {name: _Fit(run, far_lo, far_hi) for name, run in far.items()}
    far_window = (f"fitted over $\\log\\log t \\in [{far_lo}, {far_hi}]$ ({len(FAR_TARGETS[quick])} points, "
                  f"{FAR_DPS} digits)")
    laws = [
        law("slow potential: $\\beta$ in error $\\sim (\\log\\log t)^\\beta$", fits["slow"].beta,
            expected=-1, tolerance=0.1, falsifier="$x^2/2$ (gradient flow)",
            falsifier_measured=fits["quadratic"].beta, note=window),
        law("gradient flow: $\\gamma$ in error $\\sim (\\log t)^\\gamma$", fits["quadratic"].gamma,
            expected=-1, tolerance=0.05, falsifier="the slow potential $x^2\\log(e + x^2)$",
            falsifier_measured=fits["slow"].gamma, note=window),
        # tolerance 0.05 as above: the fit spans log log t in [20, 200] (t up to e^{e^200})
        law("slow potential, far out: $\\beta$ in error $\\sim (\\log\\log t)^\\beta$", far_fit["slow"].beta,
            expected=-1, tolerance=0.05, falsifier="$x^2/2$ (gradient flow)",
            falsifier_measured=far_fit["quadratic"].beta, note=far_window),
        law("hyperbolic entropy ($\\ell_1$ vertex): $\\gamma$", fits["hyperbolic entropy"].gamma,
            expected=-0.5, tolerance=0.05, note=f"{window}; the horizon is reached like $(\\log t)^{{-1/2}}$ at a vertex"),
        law("$\\cosh$ ($\\ell_\\infty$ horizon): $\\gamma$", fits["cosh"].gamma, expected=-1, tolerance=0.05, note=window),
    ]
    dps = points[0]["dps"]
    rows = []
    for name, run in closed.items():
        w0, role, label = ONE_POINT[name]
        rows.append({
            "quantity": f"direction error of $w/\\|w\\|_2$, {label}, $w(0) = ({', '.join(w0)})$",
            "precision": f"{dps} digits, closed form (root-finding, Laplace to 2nd order)",
            "horizon": f"log log t = {run['loglog'][-1]:.4g} (log t = {run['log_t'][-1]:.4g})",
            "drift": run["error_text"][-1], "falsifier": None, "falsifier_drift": None,
            "note": (f"{role}; {window} ({fits[name].fit['points']} points): error $\\sim (\\log\\log t)^{{{fits[name].beta:.2f}}}"
                     f" \\sim (\\log t)^{{{fits[name].gamma:.3f}}}$")})
    for name, run in far.items():
        rows.append({
            "quantity": f"direction error, {ONE_POINT[name][2]}, far out",
            "precision": f"{FAR_DPS} digits, closed form",
            "horizon": f"log log t = {run['loglog'][-1]:.4g} (log t = {run['log_t'][-1]:.4g})",
            "drift": run["error_text"][-1], "falsifier": None, "falsifier_drift": None,
            "note": (f"{far_window}: error $\\sim (\\log\\log t)^{{{far_fit[name].beta:.3f}}} \\sim "
                     f"(\\log t)^{{{far_fit[name].gamma:.4f}}}$")})
    p_two, two = by_route["taylor"]
    local = _Fit(two, two["loglog"][-3], two["loglog"][-1])
    rows.append({
        "quantity": f"direction error, slow potential, two points {', '.join(map(str, TWO_POINTS))} (no closed form)",
        "precision": "30 digits, Taylor method in rescaled time (softmax weights, $\\log t$ as a state)",
        "horizon": f"log log t = {two['loglog'][-1]:.3g} (s = {p_two['horizon'][-1]:.0e})",
        "drift": two["error_text"][-1], "falsifier": None, "falsifier_drift": None,
        "note": (f"local slope over the last three points (pre-asymptotic, not a fitted law): error "
                 f"$\\sim (\\log\\log t)^{{{local.beta:.2f}}} \\sim (\\log t)^{{{local.gamma:.3f}}}$; a non-support "
                 f"point's weight decays like $e^{{-cs}}$ and keeps the steps short, so this route stops near "
                 f"$\\log\\log t = 10$")})
    rows.append({"quantity": "cross-check: Laplace (2nd order) against quadrature for $\\log t$, slow potential",
                 "precision": "20 digits", "horizon": "log log t = 2",
                 "drift": f"{by_route['laplace check'][1]['relative_difference']:.2e}", "falsifier": None,
                 "falsifier_drift": None, "note": "relative difference of the direction errors where $\\log t$ is smallest"})
    p_sim, sim = by_route["simulation check"]
    rows.append({"quantity": "cross-check: closed form against the Taylor simulation of $dw_i/ds = x_i/\\varphi''(w_i)$",
                 "precision": "30 digits", "horizon": f"s = {p_sim['horizon'][-1]:.0e}",
                 "drift": f"{sim['relative_difference']:.2e}", "falsifier": None, "falsifier_drift": None,
                 "note": "largest relative difference of $w$ over the sample times (for one point $s = a$)"})
    series = [curve(ONE_POINT[name][2], run["loglog"], run["error"]) for name, run in closed.items()]
    series.append(curve("$x^2\\log(e + x^2)$, two points (Taylor)", two["loglog"], two["error"]))
    far_series = series + [curve(f"$x^2\\log(e + x^2)$, to $\\log\\log t = {far_hi}$ ({FAR_DPS} digits)",
                                 far["slow"]["loglog"], far["slow"]["error"], color=0, dashed=True)]
    figures = [
        figure("MF-7: the direction error against $\\log\\log t$ on log--log axes. A straight line of slope $-1$ "
               "is the slow law $(\\log\\log t)^{-1}$ of $x^2\\log(e + x^2)$; the potentials whose horizon is reached "
               "polynomially in $\\log t$ bend down like $e^{\\gamma\\log\\log t}$; dashed: the slow law continued "
               "far out.", "loglog", far_series,
               xlabel="$\\log\\log t$", ylabel="direction error"),
        figure("The same errors against $\\log\\log t$ on a logarithmic error axis: the laws $(\\log t)^{\\gamma}$ "
               "are straight lines of slope $\\gamma$ here, the slow law flattens out.", "semilogy", series,
               xlabel="$\\log\\log t$", ylabel="direction error"),
    ]
    return Outcome(laws=laws, rows=rows, figures=figures)


SLOW_CONVERGENCE = Experiment(
    "MF-7", "Exponentially slow convergence: a horizon approached logarithmically",
    "How fast does the direction of mirror flow approach its max-margin limit, when the potential's "
    "sublevel sets reach their horizon shape only logarithmically?",
    "Linear model, exponential loss, one point $x = (1, 2)$ with label $+1$; the closed form "
    "$\\nabla R(w(t)) = \\nabla R(w(0)) + a(t)\\,x$ at 50 digits to $\\log\\log t = 20$, and at 120 digits to "
    "$\\log\\log t = 200$; two points by the Taylor method at 30 digits.",
    grid=_grid, run=mf7_point, analyse=_analyse)
