"""The Deep LDA experiments (docs/deep_lda.md, Experiments), as :class:`numerics.core.experiment.Experiment` objects.

``DL-SWEEP`` — the depth sweep: the layer flow for ``L = 1 … 6`` on two Gaussian classes
in ``R^10`` (200 points each, :func:`numerics.deep_lda.data.gaussian_two_class`, seed 1),
Fisher loss, ``|u_{l,i}(0)| = 1/2``, float64 DOP853 to ``T = 1000``.  Per depth four starts:
random signs (seed 1), the orthant of the optimum ``w*``, an unbalanced start (random signs,
layers ``l ≥ 2`` rescaled per entry), and random signs under the ridge-regularized loss.
Laws: from the optimum's orthant ``J(T) = J*`` at every depth, while random signs stay
trapped below it for ``L ≥ 2`` (DL-7); ``Q = Σ|w_i|^{2/L}`` is conserved from balanced starts
(DL-5) and moves from unbalanced ones or under the ridge (its falsifiers).

``DL-GD`` — gradient descent against the flow (DL-8): GD on the layers with steps
``η = 1/10 … 1/160`` to the same time ``t = kη = 2`` (mpmath, 30 digits), ``L = 3``, ``d = 10``.
Each step raises ``Q`` by ``η² Σ g_i² |w_i|^{2−2/L}``, so over a fixed time ``Q`` grows by
``O(η)`` and vanishes in the flow limit: the fitted slope of ``log ΔQ(t)`` against ``log η``
is 1.  Falsifier: the square loss (not degree 0), whose flow itself moves ``Q``, slope 0.

>>> [p["start"] for p in DEPTH_SWEEP.grid(True)][:4]
['random', 'optimum', 'unbalanced', 'ridge']
"""
from __future__ import annotations

import math
from functools import lru_cache

import mpmath

from numerics.core.experiment import Experiment, Outcome, curve, figure, fit_exponent, law, local_exponents
from numerics.deep_lda.data import gaussian_two_class
from numerics.deep_lda.simulate import gd_run, layer_init, simulate_float64

__all__ = ["DEPTH_SWEEP", "GD_AGAINST_FLOW", "depth_sweep_point", "gd_point", "slope"]

TIMES = [0.0] + [10.0 ** (k / 4) for k in range(-8, 13)]   # 1e-2 … 1e3
STARTS = ("random", "optimum", "unbalanced", "ridge")
_START_TEXT = {"random": "random signs", "optimum": "orthant of $w^\\ast$",
               "unbalanced": "unbalanced", "ridge": "ridge $r = 1$"}


@lru_cache(maxsize=None)
def _data(dim: int):
    """The experiments' data set (exact statistics: built once per process, read only)."""
    return gaussian_two_class(dim, 200, seed=1)


def _w(layers_flat, depth: int, dim: int) -> list:
    return [math.prod(layers_flat[l * dim + i] for l in range(depth)) for i in range(dim)]


def depth_sweep_point(depth: int, dim: int, start: str) -> dict:
    """One layer-flow run of the sweep: ``J(t)/J*``, the relative drift of ``Q``, the largest
    change of a balance gap ``u_{1,i}² − u_{l,i}²``, and the effective number of coordinates
    ``(Σ|w_i|)² / Σ w_i²`` of ``w(t)``."""
    data = _data(dim)
    signs = list(data.optimum_signs()) if start == "optimum" else "random"
    u0 = layer_init(depth, dim, alpha="1/2", seed=1, signs=signs,
                    init="unbalanced" if start == "unbalanced" else "balanced")
    loss = "ridge_fisher" if start == "ridge" else "fisher"
    run = simulate_float64("layer", u0, TIMES[-1], data=data, times=TIMES, loss=loss)
    j_star = float(data.optimum())
    Q = run.monitor_values["Q"]
    gaps = [n for n in run.monitor_values if n.startswith("gap_")]
    return {"t": list(run.times), "J_ratio": [j / j_star for j in run.monitor_values["J"]],
            "Q_drift": [abs(q - Q[0]) / abs(Q[0]) for q in Q],
            "balance_drift": [max((abs(run.monitor_values[n][k] - run.monitor_values[n][0]) for n in gaps),
                                  default=0.0) for k in range(len(Q))],
            "effective_coordinates": [sum(abs(v) for v in w) ** 2 / sum(v * v for v in w) for w in run.w],
            "seconds": run.seconds}


def _sweep_grid(quick: bool) -> list[dict]:
    dim, depths = (4, (1, 2, 3)) if quick else (10, (1, 2, 3, 4, 5, 6))
    return [{"depth": L, "dim": dim, "start": s} for L in depths for s in STARTS]


def _positive(run: dict, key: str):
    """The (t, value) pairs with t > 0 and value > 0 (log axes)."""
    pairs = [(t, v) for t, v in zip(run["t"], run[key]) if t > 0 and v > 0]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _analyse_sweep(points, results, quick) -> Outcome:
    runs = {(p["depth"], p["start"]): r for p, r in zip(points, results)}
    depths = sorted({p["depth"] for p in points})
    dim = points[0]["dim"]
    final = {k: r["J_ratio"][-1] for k, r in runs.items()}
    q_drift = {k: max(r["Q_drift"]) for k, r in runs.items()}
    deep = [L for L in depths if L >= 2]
    laws = [
        law("$J(w(T))/J^\\ast$ from the orthant of $w^\\ast$ (worst depth)",
            min(final[(L, "optimum")] for L in depths), expected=1, tolerance=1e-3,
            falsifier="random signs, $L \\ge 2$ (worst depth)",
            falsifier_measured=min(final[(L, "random")] for L in deep),
            note="DL-7: a start outside the optimum's orthant stays there"),
        law("relative drift of $Q$, balanced starts (worst run)",
            max(q_drift[(L, s)] for L in depths for s in ("random", "optimum")), expected=0,
            tolerance=1e-9, falsifier="unbalanced start, $L \\ge 2$ (smallest drift)",
            falsifier_measured=min(q_drift[(L, "unbalanced")] for L in deep), note="DL-5 and DL-9"),
        law("relative drift of $Q$, balanced starts (worst run)",
            max(q_drift[(L, s)] for L in depths for s in ("random", "optimum")), expected=0,
            tolerance=1e-9, falsifier="ridge $r = 1$ (smallest drift)",
            falsifier_measured=min(q_drift[(L, "ridge")] for L in depths), note="DL-5: needs degree 0"),
        law("largest change of a balance gap $u_{1,i}^2 - u_{l,i}^2$ (all runs, $L \\ge 2$)",
            max(max(runs[(L, s)]["balance_drift"]) for L in deep for s in STARTS), expected=0,
            tolerance=1e-9, note="DL-2: any loss, any start"),
    ]
    rows = [{
        "quantity": f"$L = {L}$: $J(w(T))/J^\\ast$ from random signs (seed 1)",
        "precision": "float64 DOP853", "horizon": f"T = {TIMES[-1]:g}, d = {dim}",
        "drift": f"{final[(L, 'random')]:.3f}", "falsifier": "start in the orthant of $w^\\ast$",
        "falsifier_drift": f"{final[(L, 'optimum')]:.3f}",
        "note": (f"Q drift {q_drift[(L, 'random')]:.1e} (relative; unbalanced {q_drift[(L, 'unbalanced')]:.1e}, "
                 f"ridge {q_drift[(L, 'ridge')]:.1e}); effective coordinates of w(T): "
                 f"{runs[(L, 'random')]['effective_coordinates'][-1]:.2f} of {dim} (random signs), "
                 f"{runs[(L, 'optimum')]['effective_coordinates'][-1]:.2f} (optimum's orthant)"),
    } for L in depths]
    figures = [
        figure("The orthant trap (DL-7): $J(w(t))/J^\\ast$ of the layer flow from random signs (solid) "
               "and from the orthant of $w^\\ast$ (dashed); only $L = 1$ leaves its orthant.",
               "semilogx", [curve(f"$L = {L}$, {_START_TEXT[s]}", runs[(L, s)]["t"][1:], runs[(L, s)]["J_ratio"][1:],
                                  color=k, dashed=s == "optimum")
                            for s in ("random", "optimum") for k, L in enumerate(depths)],
               xlabel="$t$", ylabel="$J(w(t))/J^\\ast$"),
        figure("The quasi-norm $Q = \\sum_i |w_i|^{2/L}$: relative drift $|Q(t) - Q(0)|/Q(0)$ from a "
               f"balanced start (round-off level), an unbalanced start and under the ridge (both move); solid "
               f"$L = {deep[0]}$, dashed $L = {depths[-1]}$.",
               "loglog", [curve(f"$L = {L}$, {_START_TEXT[s]}", *_positive(runs[(L, s)], "Q_drift"), color=k,
                                dashed=L == depths[-1])
                          for k, s in enumerate(("random", "unbalanced", "ridge")) for L in (deep[0], depths[-1])],
               xlabel="$t$", ylabel="$|Q(t) - Q(0)|/Q(0)$"),
        figure("Sparsity of $w(T)$: the effective number of coordinates $(\\sum_i|w_i|)^2/\\sum_i w_i^2$ "
               f"(out of $d = {dim}$) against the depth, per start.",
               "linear", [curve(_START_TEXT[s], depths, [runs[(L, s)]["effective_coordinates"][-1] for L in depths])
                          for s in STARTS], xlabel="$L$", ylabel="effective coordinates"),
    ]
    return Outcome(laws=laws, rows=rows, figures=figures)


DEPTH_SWEEP = Experiment(
    "DL-SWEEP", "The depth sweep: the layer flow for $L = 1, \\dots, 6$ on one data set",
    "How do depth and the start shape the flow: does $J$ reach $J^\\ast$, is $Q$ conserved, how sparse is $w$?",
    "Two Gaussian classes in $\\mathbb{R}^{10}$, 200 points each (seed 1); Fisher loss; "
    "$|u_{l,i}(0)| = 1/2$; float64 DOP853 (rtol $10^{-13}$) to $T = 1000$.",
    grid=_sweep_grid, run=depth_sweep_point, analyse=_analyse_sweep)


# ---------------------------------------------------------------------------------------
# DL-GD: gradient descent against the flow

GD_TIME = 2
GD_DPS = 30


def gd_point(eta_inverse: int, depth: int, dim: int, loss: str) -> dict:
    """GD with ``η = 1/eta_inverse`` to time ``GD_TIME``: ``Q`` after each step, the flow's
    ``w`` at that time (float64) and the GD iterate's distance to it."""
    data = _data(dim)
    u0 = layer_init(depth, dim, alpha="1/2", seed=1)
    steps = GD_TIME * eta_inverse
    gd = gd_run(u0, f"1/{eta_inverse}", steps, data=data, dps=GD_DPS, loss=loss)
    flow = simulate_float64("layer", u0, GD_TIME, data=data, loss=loss, times=[0, GD_TIME])
    with mpmath.workdps(GD_DPS):
        w_gd = [float(v) for v in _w(gd.states[-1], depth, dim)]
    return {"t": [k / eta_inverse for k in range(steps + 1)], "Q": [float(q) for q in gd.Q],
            "Q_flow": [float(flow.monitor_values["Q"][0]), float(flow.monitor_values["Q"][-1])],
            "distance_to_flow": max(abs(a - b) for a, b in zip(w_gd, flow.w[-1])),
            "max_residual": float(gd.max_residual), "seconds": gd.seconds + flow.seconds}


def _gd_grid(quick: bool) -> list[dict]:
    etas, (L, d) = ((10, 20, 40), (2, 3)) if quick else ((10, 20, 40, 80, 160), (3, 10))
    return [{"eta_inverse": k, "depth": L, "dim": d, "loss": loss}
            for loss in ("fisher", "square") for k in etas]


def slope(xs, ys) -> tuple[float, float]:
    """Least-squares slope of ``log y`` against ``log x``, and the spread of the local slopes
    (largest minus smallest slope between neighbours) as its uncertainty."""
    local = local_exponents(xs, ys)
    return fit_exponent(xs, ys), (max(local) - min(local)) if len(local) > 1 else 0.0


def _analyse_gd(points, results, quick) -> Outcome:
    by = {(p["loss"], p["eta_inverse"]): r for p, r in zip(points, results)}
    etas = sorted({p["eta_inverse"] for p in points})
    eta = [1 / k for k in etas]
    growth = {loss: [by[(loss, k)]["Q"][-1] - by[(loss, k)]["Q"][0] for k in etas] for loss in ("fisher", "square")}
    b_q, u_q = slope(eta, growth["fisher"])
    b_sq, _ = slope(eta, [abs(g) for g in growth["square"]])
    dist = [by[("fisher", k)]["distance_to_flow"] for k in etas]
    b_w, u_w = slope(eta, dist)
    L, d = points[0]["depth"], points[0]["dim"]
    laws = [
        law(f"slope of $\\log(Q_{{t/\\eta}} - Q_0)$ against $\\log\\eta$ at $t = {GD_TIME}$", b_q,
            expected=1, tolerance=0.1, uncertainty=u_q, falsifier="square loss (not degree 0)",
            falsifier_measured=b_sq, note="DL-8: $\\eta^2$ per step, $t/\\eta$ steps"),
        law(f"slope of $\\log\\max_i|w_i^{{\\mathrm{{GD}}}} - w_i^{{\\mathrm{{flow}}}}|$ against $\\log\\eta$",
            b_w, expected=1, tolerance=0.1, uncertainty=u_w, note="GD is a first-order method for the flow"),
        law("largest per-step residual $Q_{k+1} - Q_k - \\eta^2\\sum_i g_i^2|w_i|^{2-2/L}$ (all $\\eta$)",
            max(by[("fisher", k)]["max_residual"] for k in etas), expected=0, tolerance=10.0 ** (10 - GD_DPS),
            falsifier="square loss", falsifier_measured=max(by[("square", k)]["max_residual"] for k in etas),
            note=f"{GD_DPS} digits"),
    ]
    rows = [{"quantity": f"$\\eta = 1/{k}$: $Q_{{t/\\eta}} - Q_0$ at $t = {GD_TIME}$",
             "precision": f"{GD_DPS} digits", "horizon": f"{GD_TIME * k} steps, L = {L}, d = {d}",
             "drift": f"{growth['fisher'][j]:.3e}", "falsifier": "square loss",
             "falsifier_drift": f"{growth['square'][j]:.3e}",
             "note": f"distance of the GD iterate to the flow at t = {GD_TIME}: {dist[j]:.2e}"}
            for j, k in enumerate(etas)]
    figures = [
        figure(f"Gradient descent conserves $Q$ only in the flow limit (DL-8): the quasi-norm along GD "
               f"for each step size, to $t = {GD_TIME}$ ($L = {L}$, $d = {d}$, Fisher loss); the flow keeps "
               f"$Q(0)$.", "linear", [curve(f"$\\eta = 1/{k}$", by[("fisher", k)]["t"], by[("fisher", k)]["Q"])
                                      for k in etas], xlabel="$t = k\\eta$", ylabel="$Q_k$"),
        figure("The growth of $Q$ over a fixed time, and the distance of GD to the flow, against the step "
               "size: both fall like $\\eta$ (the square loss, whose flow moves $Q$, does not).", "loglog",
               [curve("$Q_{t/\\eta} - Q_0$, Fisher", eta, growth["fisher"]),
                curve("$|Q_{t/\\eta} - Q_0|$, square loss", eta, [abs(g) for g in growth["square"]]),
                curve("$\\max_i |w^{\\mathrm{GD}}_i - w^{\\mathrm{flow}}_i|$, Fisher", eta, dist)],
               xlabel="$\\eta$", ylabel="at $t = 2$"),
    ]
    return Outcome(laws=laws, rows=rows, figures=figures)


GD_AGAINST_FLOW = Experiment(
    "DL-GD", "Gradient descent against the flow: the $\\eta^2$ growth of the quasi-norm",
    "Over a fixed time, how much does GD move the conserved $Q$, and how fast does it approach the flow as $\\eta \\to 0$?",
    f"Two Gaussian classes in $\\mathbb{{R}}^{{10}}$ (seed 1), $L = 3$, balanced $|u_{{l,i}}(0)| = 1/2$ with random "
    f"signs; GD on the layers at {GD_DPS} digits to $t = k\\eta = {GD_TIME}$; the flow in float64.",
    grid=_gd_grid, run=gd_point, analyse=_analyse_gd)
