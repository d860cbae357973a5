"""Numerical evidence for the mirror-flow claims MF-2 and MF-3 (docs/mirror_flow.md), and the helpers
of the linear model's max-margin runs that :mod:`numerics.mirror_flow.margin_experiments` uses.

:func:`mf_evidence` returns ``{claim ID: [row, …]}``; each row is a JSON-ready dict

    {quantity, precision, horizon, drift, falsifier, falsifier_drift, note}

with numbers as short strings.  ``drift`` is what the claim says must be small (a
conserved quantity's change, a distance to the predicted limit, an exponent's distance
to its prediction); ``falsifier_drift`` is the same measurement in a setting where the
conclusion must fail, so one sees that the check can fail.

Set-ups (all seeded, exact rational data):

* MF-2 / MF-3: 2-layer nets ``Σ_k a_k σ(w_kᵀx)`` (width 2, 2-D inputs, 4 points of
  :func:`numerics.mirror_flow.networks.orthant_data`, σ squared ReLU (s = 2, L = 3) and, in the full
  run, linear (s = 1, L = 2)), exponential loss, mirror flow in time ``t ∈ [0, 1]`` by the
  Taylor integrator at 30 digits, primal route (the dual route in the full run, and
  the two must agree).  The full run adds the logistic loss and a 3-layer linear net.
  One more MF-2 row is *proven*: the certified Taylor integrator (:mod:`numerics.core.certified`)
  encloses the flow (squared ReLU, hyperbolic entropy, 30 digits, ``t ∈ [0, 1]``) and the
  balances evaluated on the enclosure in ball arithmetic change by at most
  ``ε`` (rounded up); its falsifier, the Euclidean balance on the same enclosure, is proven to
  change by at least the printed amount (rounded down).
* MF-5, MF-6, MF-7, MF-8 and MF-9 are experiments of their own
  (:class:`numerics.core.experiment.Experiment`, ``python -m numerics experiment ID``):
  MF-5, MF-6 and MF-9 in :mod:`numerics.mirror_flow.margin_experiments` (the linear model
  on :func:`mf5_dataset` by :func:`direction_series`, and the 2-layer linear net of
  :func:`mf2_setup`), MF-7 in :mod:`numerics.mirror_flow.experiments`, MF-8 in
  :mod:`numerics.mirror_flow.feature_experiment`.

Run ``python -m numerics evidence --group MF [--json] [--quick]``.
"""
from __future__ import annotations

import math
from fractions import Fraction as F

import mpmath
import numpy as np

from numerics.core.certified import bound_text, certified_integrate, proven_changes
from numerics.core.exact import exact_number
from numerics.mirror_flow.margins import direction_error, kkt_residual
from numerics.mirror_flow.mirror import MirrorProblem, fit_exponent, mirror_flow, rescaled_flow
from numerics.mirror_flow.mirror_map import catalogue_potential
from numerics.mirror_flow.networks import Network, TwoLayerNet, orthant_data, separable_data

__all__ = ["mf_evidence", "mf5_dataset", "mf2_setup", "direction_series"]

#: exact initialization of the 2-layer nets, laid out as ``[w_1, w_2, a_1, a_2]``:
#: unit 1 has w > 0, a > 0; unit 2 has w < 0, a < 0
THETA0_2LAYER = (F(1, 2), F(1, 3), F(-1, 4), F(-2, 3), F(3, 4), F(-1, 2))

#: exact initialization of the 3-layer linear net (widths (2, 2, 2, 1)) of MF-2/MF-3
THETA0_DEEP = (F(1, 2), F(-1, 3), F(1, 4), F(2, 3), F(3, 4), F(-1, 2), F(1, 5), F(6, 5),
               F(-1, 2), F(1, 3))

#: (label, catalogue name, parameters) of the potentials checked for MF-2 / MF-3; the labels
#: are text with LaTeX math, as the report sets them
MF2_POTENTIALS = (
    (r"hyperbolic entropy ($\alpha = 1/2$)", "hyperbolic entropy", {"alpha": F(1, 2)}),
    (r"$\cosh$", "cosh", {}),
    (r"$x^2/2 + x^4/4$", "quadratic+quartic", {}),
    (r"$|x|^3/3$", "p-power", {"p": 3}),
)

#: the activations of MF-2 / MF-3 as the rows name them
_ACTIVATION_NAMES = {"squared_relu": "squared ReLU", "linear": "linear"}

#: the per-unit balance of MF-2 with the scale s of the net (text with LaTeX math)
_BALANCE = r"per-unit balance $\sum_{{\mathrm{{in}}}} G - {s} \sum_{{\mathrm{{out}}}} G$"
_EUCLIDEAN = r"Euclidean balance ($G = x^2/2$)"

#: precision of the proven MF-2 row (its horizon is that of the observed rows)
CERTIFIED_DPS = 30



def _f(v, digits: int = 3) -> str:
    """Short string of a number (float/mpf)."""
    if isinstance(v, mpmath.mpf):
        return mpmath.nstr(v, digits, min_fixed=-3, max_fixed=4)
    v = float(v)
    if v == 0:
        return "0"
    if not math.isfinite(v):
        return str(v)
    a = abs(v)
    if 1e-3 <= a < 1e4:
        return f"{v:.{digits}g}"
    return f"{v:.{max(digits - 1, 0)}e}"


def _row(quantity, precision, horizon, drift, falsifier, falsifier_drift, note) -> dict:
    return {"quantity": quantity, "precision": precision, "horizon": horizon,
            "drift": drift, "falsifier": falsifier, "falsifier_drift": falsifier_drift,
            "note": note}


def mf5_dataset():
    """3-D, 4 points (entries k/7), whose ℓ1, ℓ2, ℓ3, ℓ4, ℓ∞ max-margin solutions are unique
    (checked by :func:`numerics.mirror_flow.margins.max_margin`) and pairwise different."""
    return separable_data(4, 3, seed=2, denominator=7)


def mf2_setup(activation: str = "squared_relu"):
    """The 2-layer problem data of MF-2/MF-3/MF-9: ``(net, data, theta0)``."""
    return TwoLayerNet(2, 2, activation), orthant_data(4, 2, seed=1), list(THETA0_2LAYER)


# ----------------------------------------------------------------------------------------
# MF-2 and MF-3

def _conservation_rows(pr: MirrorProblem, th0, what: str, *, dps: int, t_end, routes) -> tuple:
    """MF-2 and MF-3 rows for one problem: the balance and the dual-energy identity along
    the flow (Taylor, ``dps`` digits, 5 output times), each beside its falsifier."""
    times = [0, F(1, 4), F(1, 2), F(3, 4), 1]
    times = [t * t_end for t in times]
    results = {route: mirror_flow(pr, th0, t_end, dps=dps, times=times, route=route, energy=True)
               for route in routes}
    r = results["primal"]
    with mpmath.workdps(dps + 10):
        def change(rows):
            return max(abs(b[k] - rows[0][k]) for b in rows for k in range(len(b)))

        drift = change([pr.balances(th) for th in r.theta])
        fdrift = change([pr.euclidean_balances(th) for th in r.theta])
        # MF-3: ΣG(θ(t)) − ΣG(θ(0)) − E(t), E(t) = ∫ L Σ(−ℓ'(q_i)) q_i dt; falsifier ½|θ|²
        G0 = pr.dual_energy(r.theta[0])
        e3 = max(abs(pr.dual_energy(th) - G0 - E) for th, E in zip(r.theta, r.energy_witness))
        half = lambda th: mpmath.fsum(v * v for v in th) / 2  # noqa: E731
        f3 = max(abs(half(th) - half(r.theta[0]) - E) for th, E in zip(r.theta, r.energy_witness))
        route_note = ""
        if "dual" in results:
            dd = max(abs(a - b) for a, b in zip(results["dual"].theta[-1], r.theta[-1]))
            route_note = rf"; primal and dual ($z = \varphi'(\theta)$) routes agree to {_f(dd, 2)}"
    prec = f"dps {dps} (Taylor order {r.taylor.order}, {r.taylor.steps} steps)"
    hz = rf"$t \in [0, {t_end}]$, {pr.loss} loss"
    net = pr.model
    lost = max(0, dps - round(-math.log10(max(float(drift), 1e-300))))
    row2 = _row(f"{_BALANCE.format(s=net.s)}, {what}", prec, hz, _f(drift), _EUCLIDEAN, _f(fdrift),
                f"max over {len(net.units)} units and {len(times)} output times{route_note}; "
                f"$k = {lost}$ digits lost")
    row3 = _row(rf"$\sum_j G(\theta_j) - \int L \sum_i (-\ell'(q_i))\, q_i \,dt$ ($L = {net.L}$), "
                f"{what}", prec, hz, _f(e3), r"$\frac12 |\theta|^2$ in place of $\sum G$", _f(f3),
                "$E(t)$ integrated as an extra state of the same Taylor system")
    return row2, row3


def _mf2_mf3(quick: bool, dps: int = 30, t_end=1):
    cases = []   # (what, problem, theta0, routes)
    for act in ("squared_relu",) if quick else ("squared_relu", "linear"):
        net, data, th0 = mf2_setup(act)
        for label, name, params in MF2_POTENTIALS:
            pr = MirrorProblem(net, data, catalogue_potential(name, **params))
            routes = ("primal",) if quick else ("primal", "dual")
            cases.append((f"2-layer {_ACTIVATION_NAMES[act]} ($s = {net.s}$), {label}", pr, th0,
                          routes))
    if not quick:
        net, data, th0 = mf2_setup("squared_relu")
        pr = MirrorProblem(net, data, catalogue_potential("hyperbolic entropy", alpha=F(1, 2)),
                           loss="logistic")
        cases.append((f"2-layer squared ReLU ($s = {net.s}$), {MF2_POTENTIALS[0][0]}",
                      pr, th0, ("primal",)))
        deep = Network((2, 2, 2, 1), "linear")
        pr = MirrorProblem(deep, separable_data(5, 2, seed=4), catalogue_potential("cosh"))
        cases.append((r"3-layer linear net, widths $(2, 2, 2, 1)$, $\cosh$", pr, list(THETA0_DEEP),
                      ("primal",)))
    rows2, rows3 = [], []
    for what, pr, th0, routes in cases:
        row2, row3 = _conservation_rows(pr, th0, what, dps=dps, t_end=t_end, routes=routes)
        rows2.append(row2)
        rows3.append(row3)
    # the proven row, on the first case (squared ReLU, hyperbolic entropy)
    what, pr, th0, _ = cases[0]
    rows2.insert(1, _mf2_proven(pr, th0, what, t_end))
    return rows2, rows3


def _mf2_proven(pr: MirrorProblem, th0, what: str, t_end) -> dict:
    """The MF-2 row ``|h(θ(T)) − h(θ(0))| ≤ ε, proven`` (certified integrator, primal)."""
    y0 = [exact_number(v, "theta0") for v in th0]
    res = certified_integrate(pr.taylor_system("primal"), y0, t_end, dps=CERTIFIED_DPS)
    # the balances as sympy expressions in theta (the same code as the numeric monitor)
    laws = pr.balances(pr.theta_syms, G=pr.mirror.G_expr)
    euclid = proven_changes(res, pr.balances(pr.theta_syms, G=lambda t: t * t / 2), y0)
    width = bound_text([b - b.mid() for b in res.enclosure[-1]])
    net = pr.model
    return _row(rf"$|h(\theta(T)) - h(\theta(0))| \le \varepsilon$, proven; $h$ = "
                f"{_BALANCE.format(s=net.s)}, {what}", f"dps {CERTIFIED_DPS}, certified ({res.steps} steps)",
                rf"$t \in [0, {t_end}]$, {pr.loss} loss", bound_text(proven_changes(res, laws, y0)),
                f"{_EUCLIDEAN} on the same enclosure, proven to change by at least",
                bound_text(euclid, "lower"),
                rf"numerics.core.certified (arb balls, Lohner QR) encloses $\theta(T)$ in balls of "
                rf"radius $\le$ {width}; $\varepsilon$ bounds $|h(\mathrm{{enclosure}}) - h(\theta(0))|$ "
                f"over the {len(net.units)} units")


# ----------------------------------------------------------------------------------------
# the linear model's flow against its max-margin solution (MF-5, MF-6, MF-9: margin_experiments)

def _s_grid(s_end):
    if s_end <= 50:
        pts = [v for v in (1, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20) if v < s_end]
    else:
        pts = [10.0 ** k for k in range(0, 9) if 10.0 ** k < s_end]
    return pts + [float(s_end)]


def direction_series(problem: MirrorProblem, sol, s_end, **kw):
    """Rescaled flow of ``problem`` from 0 on the grid of :func:`_s_grid`, with direction
    error, relative margin gap and KKT residual against the max-margin solution ``sol``."""
    A = problem.A
    r = rescaled_flow(problem, s_end, s_eval=_s_grid(s_end), **kw)
    out = []
    for i, s in enumerate(r.s):
        th = r.theta[i]
        out.append({
            "s": float(s), "log_t": float(r.log_t[i]), "Q": float(r.Q[i]),
            "direction_error": direction_error(th, sol.theta, problem.horizon),
            "gap": 1.0 - float(r.q_margin[i]) * sol.value,
            "kkt": kkt_residual(th, A, problem.horizon).total,
            "theta": th,
        })
    return r, out


def _rate(xs, ys):
    """Slope of log y against log x over the last three points (observed local rate)."""
    xs, ys = np.asarray(xs[-3:], float), np.asarray(ys[-3:], float)
    ok = (xs > 0) & (ys > 0)
    if ok.sum() < 2:
        return float("nan")
    return fit_exponent(xs[ok], ys[ok])


def mf_evidence(quick: bool = False) -> dict[str, list[dict]]:
    """Evidence rows for MF-2 and MF-3 (see the module docstring; MF-5 to MF-9 are
    experiments of their own).

    ``quick=True``: squared ReLU only, primal route only (< 20 s); full: < 90 s on one core.
    """
    rows2, rows3 = _mf2_mf3(quick)
    return {"MF-2": rows2, "MF-3": rows3}
