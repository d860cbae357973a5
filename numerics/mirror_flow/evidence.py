"""Numerical evidence for the mirror-flow claims MF-2, MF-3, MF-5, MF-6, MF-8, MF-9 (SPEC Part B).

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
* MF-5 / MF-6 / MF-9 (L = 1): the linear model on :func:`mf5_dataset` (3-D, 4 points,
  unique ℓ1/ℓ2/ℓ3/ℓ4/ℓ∞ max-margin solutions, all different), exponential loss, flow
  started at ``θ = 0`` in the rescaled time ``s`` (float64 LSODA, log-space loss),
  compared with the max-margin solutions of :func:`numerics.mirror_flow.margins.max_margin`.
* MF-9 (L = 2): the 2-layer linear net of MF-2 in rescaled time.
* MF-7 is an experiment of its own: :mod:`numerics.mirror_flow.experiments`.
* MF-8: 2-layer ReLU nets (64 units) trained by float64 mirror descent on XOR-like data
  and, in the full run, on two classes of the 8×8 digits (:mod:`numerics.mirror_flow.features`).

Run ``python -m numerics evidence --group MF [--json] [--quick]``.
"""
from __future__ import annotations

import math
from fractions import Fraction as F

import mpmath
import numpy as np

from numerics.core.certified import bound_text, certified_integrate, proven_changes
from numerics.core.exact import exact_number
from numerics.mirror_flow.margins import direction_error, kkt_residual, max_margin
from numerics.mirror_flow.mirror import (MirrorProblem, fit_exponent, mirror_flow, rescaled_flow,
                             rescaled_flow_mp)
from numerics.mirror_flow.mirror_map import catalogue_potential
from numerics.mirror_flow.networks import LinearModel, Network, TwoLayerNet, orthant_data, separable_data

__all__ = ["mf_evidence", "mf5_dataset", "mf2_setup", "direction_series"]

#: exact initialization of the 2-layer nets, laid out as ``[w_1, w_2, a_1, a_2]``:
#: unit 1 has w > 0, a > 0; unit 2 has w < 0, a < 0
THETA0_2LAYER = (F(1, 2), F(1, 3), F(-1, 4), F(-2, 3), F(3, 4), F(-1, 2))

#: exact initialization of the 3-layer linear net (widths (2, 2, 2, 1)) of MF-2/MF-3
THETA0_DEEP = (F(1, 2), F(-1, 3), F(1, 4), F(2, 3), F(3, 4), F(-1, 2), F(1, 5), F(6, 5),
               F(-1, 2), F(1, 3))

#: (label, catalogue name, parameters) of the potentials checked for MF-2 / MF-3
MF2_POTENTIALS = (
    ("hyperbolic entropy (alpha=1/2)", "hyperbolic entropy", {"alpha": F(1, 2)}),
    ("cosh", "cosh", {}),
    ("x^2/2 + x^4/4", "quadratic+quartic", {}),
    ("|x|^3/3", "p-power", {"p": 3}),
)

#: precision of the proven MF-2 row (its horizon is that of the observed rows)
CERTIFIED_DPS = 30

#: MF-5 potentials: (label, name, params, s_end full, s_end quick)
MF5_POTENTIALS = (
    ("quadratic (l2)", "quadratic", {}, 1e6, 1e4),
    ("|x|^3/3 (l3)", "p-power", {"p": 3}, 1e6, 1e3),
    ("x^2/2 + x^4/4 (l4)", "quadratic+quartic", {}, 1e6, 1e4),
    ("hyperbolic entropy alpha=1 (l1)", "hyperbolic entropy", {"alpha": 1}, 16, 12),
    ("cosh (linf)", "cosh", {}, 1e6, 1e4),
)


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


def _row(quantity, precision, horizon, drift, falsifier, falsifier_drift, note,
         series: dict | None = None) -> dict:
    row = {"quantity": quantity, "precision": precision, "horizon": horizon,
           "drift": drift, "falsifier": falsifier, "falsifier_drift": falsifier_drift,
           "note": note}
    if series is not None:
        row["series"] = series
    return row


def _series(label: str, x, y, xlabel: str, ylabel: str) -> dict:
    """A curve for the report's log-log plot of a claim's rows."""
    return {"label": label, "x": [float(v) for v in x], "y": [float(v) for v in y],
            "xlabel": xlabel, "ylabel": ylabel}


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
            route_note = f"; primal and dual (z = phi'(theta)) routes agree to {_f(dd, 2)}"
    prec = f"dps {dps} (Taylor order {r.taylor.order}, {r.taylor.steps} steps)"
    hz = f"t in [0, {t_end}], {pr.loss} loss"
    net = pr.model
    lost = max(0, dps - round(-math.log10(max(float(drift), 1e-300))))
    row2 = _row(f"per-unit balance sum_in G - {net.s} sum_out G, {what}", prec, hz, _f(drift),
                "Euclidean balance (G = x^2/2)", _f(fdrift),
                f"max over {len(net.units)} units and {len(times)} output times{route_note}; "
                f"k = {lost} digits lost")
    row3 = _row(f"sum_j G(theta_j) - int L sum_i(-l'(q_i)) q_i dt (L={net.L}), {what}", prec, hz,
                _f(e3), "1/2 |theta|^2 in place of sum G", _f(f3),
                "E(t) integrated as an extra state of the same Taylor system")
    return row2, row3


def _mf2_mf3(quick: bool, dps: int = 30, t_end=1):
    cases = []   # (what, problem, theta0, routes)
    for act in ("squared_relu",) if quick else ("squared_relu", "linear"):
        net, data, th0 = mf2_setup(act)
        for label, name, params in MF2_POTENTIALS:
            pr = MirrorProblem(net, data, catalogue_potential(name, **params))
            routes = ("primal",) if quick else ("primal", "dual")
            cases.append((f"2-layer {act} (s={net.s}), {label}", pr, th0, routes))
    if not quick:
        net, data, th0 = mf2_setup("squared_relu")
        pr = MirrorProblem(net, data, catalogue_potential("hyperbolic entropy", alpha=F(1, 2)),
                           loss="logistic")
        cases.append(("2-layer squared_relu (s=2), hyperbolic entropy (alpha=1/2)", pr, th0,
                      ("primal",)))
        deep = Network((2, 2, 2, 1), "linear")
        pr = MirrorProblem(deep, separable_data(5, 2, seed=4), catalogue_potential("cosh"))
        cases.append(("3-layer linear net, widths (2, 2, 2, 1), cosh", pr, list(THETA0_DEEP),
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
    return _row(f"|h(theta(T)) - h(theta(0))| <= eps, proven; h = per-unit balance sum_in G - "
                f"{net.s} sum_out G, {what}", f"dps {CERTIFIED_DPS}, certified ({res.steps} steps)",
                f"t in [0, {t_end}], {pr.loss} loss", bound_text(proven_changes(res, laws, y0)),
                "Euclidean balance (G = x^2/2) on the same enclosure, proven to change by at least",
                bound_text(euclid, "lower"),
                f"numerics.core.certified (arb balls, Lohner QR) encloses theta(T) in balls of "
                f"radius <= {width}; eps bounds |h(enclosure) - h(theta(0))| over the "
                f"{len(net.units)} units")


# ----------------------------------------------------------------------------------------
# MF-5, MF-6, MF-9 (linear model)

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


def _mf5(quick: bool):
    data = mf5_dataset()
    A = data.signed()
    lin = LinearModel(3)
    sols = {}
    rows, series = [], {}
    for label, name, params, s_full, s_quick in MF5_POTENTIALS:
        pr = MirrorProblem(lin, data, catalogue_potential(name, **params))
        h = pr.horizon
        if h.label not in sols:
            sols[h.label] = max_margin(A, np.ones(data.n), h)
        sol = sols[h.label]
        s_end = s_quick if quick else s_full
        r, ser = direction_series(pr, sol, s_end)
        series[label] = (pr, r, ser)
        # falsifier: distance to the max-margin solution of a different horizon
        other = "l1" if h.label != "l1" else "l2"
        if other not in sols:
            sols[other] = max_margin(A, np.ones(data.n), other)
        fd = direction_error(ser[-1]["theta"], sols[other].theta, h)
        last = ser[-1]
        pick = [d for d in ser if d["s"] in (10.0, 100.0, 1e3, 1e4, 1e5, 1e6)]
        if len(pick) < 2:
            pick = ser[-4:]
        hist = "; ".join(f"s={_f(d['s'])}: dir {_f(d['direction_error'], 2)}, gap "
                         f"{_f(d['gap'], 2)}, KKT {_f(d['kkt'], 2)}" for d in pick)
        logt = [d["log_t"] for d in ser]
        rate_s = _rate([d["s"] for d in ser], [d["direction_error"] for d in ser])
        rate_t = _rate(logt, [d["direction_error"] for d in ser])
        rate_gap = _rate(logt, [max(d["gap"], 1e-300) for d in ser])
        rows.append(_row(
            f"direction error |theta/Q - theta*/Q*|_Q to the {h.label} max-margin solution, "
            f"{label}",
            "float64 LSODA rtol 1e-10, rescaled time, log-space loss",
            f"s = {_f(last['s'])} (log t = {_f(last['log_t'])}, Q = {_f(last['Q'])})",
            _f(last["direction_error"]),
            f"distance to the {other} max-margin direction", _f(fd),
            f"{hist}; observed local rates: dir ~ s^{_f(rate_s, 2)} ~ (log t)^{_f(rate_t, 2)}, "
            f"gap ~ (log t)^{_f(rate_gap, 2)}; P_Q solved independently ({sol.method}), "
            f"duality gap {_f(sol.duality_gap, 2)}, KKT(theta*) {_f(sol.kkt.total, 2)}, "
            f"unique (face width {_f(sol.face_width, 2)})",
            _series(label, logt, [d["direction_error"] for d in ser], "log t",
                    "direction error to the max-margin solution")))
    # two-route check of the float64 rescaled flow: Taylor at 30 digits
    pr = MirrorProblem(lin, data, catalogue_potential("quadratic+quartic"))
    s_chk = 20 if quick else 100
    rm = rescaled_flow_mp(pr, s_chk, dps=30)
    rf = rescaled_flow(pr, s_chk, rtol=1e-12, atol=1e-14)
    err = max(abs(float(a) - b) for a, b in zip(rm.theta[-1], rf.theta[-1]))
    errt = abs(float(rm.log_t[-1]) - rf.log_t[-1])
    rows.append(_row("float64 rescaled flow vs Taylor (30 digits) rescaled flow, x^2/2 + x^4/4",
                     f"float64 LSODA rtol 1e-12 vs dps 30 ({rm.stats['steps']} Taylor steps)",
                     f"s = {s_chk} (log t = {_f(rf.log_t[-1])})", _f(err),
                     "", "", f"max |theta| difference; log t differs by {_f(errt)}"))
    return rows, series, sols


def _mf6(series, sols):
    data = mf5_dataset()
    A = data.signed()
    lin = LinearModel(3)
    rows = []
    # (potential a, its parameters, potential b as the label of its MF-5 run, row label):
    # b's flow is the one of MF-5, a is run to the same s on the same grid
    pairs = [
        ("hyperbolic entropy", {"alpha": F(1, 10)}, "hyperbolic entropy alpha=1 (l1)",
         "hyperbolic entropy alpha=1/10 vs alpha=1 (l1)"),
        ("p-power", {"p": 4}, "x^2/2 + x^4/4 (l4)", "x^4/4 vs x^2/2 + x^4/4 (l4)"),
    ]
    for n1, p1, mf5_label, label in pairs:
        pb, rb, _ = series[mf5_label]
        pa = MirrorProblem(lin, data, catalogue_potential(n1, **p1))
        h = pa.horizon
        assert pb.horizon == h
        sol = sols.get(h.label) or max_margin(A, np.ones(data.n), h)
        grid = [float(v) for v in rb.s]
        s_end = grid[-1]
        ra = rescaled_flow(pa, s_end, s_eval=grid)
        da = direction_error(ra.theta[-1], sol.theta, h)
        db = direction_error(rb.theta[-1], sol.theta, h)
        early = 0 if grid[0] >= 1 else 1
        dif_early_s = float(grid[early])
        dif_early = direction_error(ra.theta[early], rb.theta[early], h)
        dif_late = direction_error(ra.theta[-1], rb.theta[-1], h)
        raw_early = float(np.max(np.abs(ra.theta[early] - rb.theta[early])))
        other = "l2" if h.label == "l1" else "l1"
        osol = sols.get(other) or max_margin(A, np.ones(data.n), other)
        fd = min(direction_error(ra.theta[-1], osol.theta, h),
                 direction_error(rb.theta[-1], osol.theta, h))
        rows.append(_row(
            f"both normalized iterates vs the {h.label} max-margin solution: {label}",
            "float64 LSODA rtol 1e-10, rescaled time",
            f"s = {_f(s_end)} (log t = {_f(ra.log_t[-1])} / {_f(rb.log_t[-1])})",
            _f(max(da, db)), f"distance to the {other} max-margin direction", _f(fd),
            f"direction errors {_f(da)} and {_f(db)}; the two normalized iterates differ by "
            f"{_f(dif_early)} at s = {_f(dif_early_s)} (raw max|theta_a - theta_b| = "
            f"{_f(raw_early)}) and by {_f(dif_late)} at s = {_f(s_end)}; "
            f"Q = {_f(ra.Q[-1])} vs {_f(rb.Q[-1])} (the iterates themselves differ)"))
    return rows


def _mf9(quick: bool, series):
    rows = []
    for label, (pr, r, ser) in series.items():
        logt = np.array([d["log_t"] for d in ser])
        Q = np.array([d["Q"] for d in ser])
        keep = logt > 1.0
        if keep.sum() < 3:
            continue
        sl = _rate(logt[keep], Q[keep])
        rows.append(_row(
            f"|exponent - 1/L|, exponent of Q_inf(theta_t) vs log t (last 3 points), linear model L=1, {label}",
            "float64 LSODA, rescaled time", f"log t up to {_f(logt[-1])}",
            _f(abs(sl - 1.0), 2),
            "deviation from 1/2 (a wrong L = 2)", _f(abs(sl - 0.5), 2),
            f"fitted exponent {_f(sl, 4)} (prediction 1/L = 1); "
            "local slopes d log Q / d log log t: " + ", ".join(
                _f(v, 3) for v in np.diff(np.log(Q[keep])) / np.diff(np.log(logt[keep]))),
            _series(f"L=1, {label}", logt, Q, "log t", "Q_inf(theta_t)")))
    # L = 2: the 2-layer linear net
    net, data, th0 = mf2_setup("linear")
    cases = [("quadratic", {}, [1, 2, 4, 8, 12] if quick else [1, 2, 4, 8, 12, 16]),
             ("quadratic+quartic", {}, [1, 4, 16, 64, 256] if quick else
              [1, 4, 16, 64, 256, 1024])]
    for name, params, grid in cases:
        pr = MirrorProblem(net, data, catalogue_potential(name, **params))
        r = rescaled_flow(pr, grid[-1], s_eval=grid, theta0=th0)
        logt, Q = np.asarray(r.log_t), np.asarray(r.Q)
        keep = logt > 1.0
        sl = _rate(logt[keep], Q[keep])
        rows.append(_row(
            f"|exponent - 1/L|, exponent of Q_inf(theta_t) vs log t (last 3 points), 2-layer linear net L=2, "
            f"{pr.mirror.name}", "float64 LSODA (FD Jacobian), rescaled time",
            f"log t up to {_f(logt[-1])}",
            _f(abs(sl - 0.5), 2),
            "deviation from 1 (a wrong L = 1)", _f(abs(sl - 1.0), 2),
            f"fitted exponent {_f(sl, 4)} (prediction 1/L = 1/2); local slopes: " + ", ".join(
                _f(v, 3) for v in np.diff(np.log(Q[keep])) / np.diff(np.log(logt[keep])))
            + f"; Q-margin {_f(r.q_margin[-1], 5)}, smoothed {_f(r.smoothed[-1], 5)}",
            _series(f"L=2, {pr.mirror.name}", logt, Q, "log t", "Q_inf(theta_t)")))
    return rows


# ----------------------------------------------------------------------------------------

def _mf8(quick: bool):
    """Effective neurons of 2-layer ReLU nets trained by mirror descent, per potential."""
    from numerics.mirror_flow.features import MF8_SETTINGS, digits_data, mf8_runs, xor_data
    datasets = [("XOR labels on 20-D Gaussian inputs, n = 200", xor_data(200, 20, seed=0))]
    if not quick:
        datasets.append(("digits 3 vs 5 (8x8, scikit-learn), n = 365", digits_data(3, 5)))
    steps = 2000 if quick else 4000
    label = {s.key: s.label for s in MF8_SETTINGS}
    rows = []
    for what, (X, y) in datasets:
        runs = mf8_runs(X, y, steps=steps)
        eff = {key: run.metrics["effective_neurons"] for key, run in runs.items()}
        width = runs["l2"].metrics["units"]
        note = "; ".join(
            f"{label[key]}: {_f(run.metrics['effective_neurons'])} effective neurons, active and "
            f"carrying {_f(run.metrics['active_fraction'], 2)}, weights > 1% of max "
            f"{_f(run.metrics['large_weight_fraction'], 2)}, loss {_f(run.loss, 2)}"
            for key, run in runs.items())
        precision = f"float64 mirror descent, eta 0.5, {width} units, logistic loss"
        rows.append(_row(f"sparse: effective neurons of {label['l1']} / {label['l2']}, {what}", precision,
                         f"{steps} steps", _f(eff["l1"] / eff["l2"]),
                         f"the same ratio for {label['falsifier']}", _f(eff["falsifier"] / eff["l2"]),
                         note))
        rows.append(_row(f"dense: effective neurons of {label['l2']} / {label['l4']} (and / "
                         f"{label['linf']} in the note), {what}", precision, f"{steps} steps",
                         _f(eff["l2"] / eff["l4"]),
                         f"the ratio with {label['l1']} in place of {label['l4']}", _f(eff["l2"] / eff["l1"]),
                         f"{label['l2']} / {label['linf']}: {_f(eff['l2'] / eff['linf'])}"))
    return rows


def mf_evidence(quick: bool = False) -> dict[str, list[dict]]:
    """Evidence rows for MF-2, MF-3, MF-5 … MF-9 (see the module docstring).

    ``quick=True``: squared ReLU only, primal route only, shorter horizons (< 20 s);
    full: < 90 s on one core.
    """
    rows2, rows3 = _mf2_mf3(quick)
    rows5, series, sols = _mf5(quick)
    rows6 = _mf6(series, sols)
    rows9 = _mf9(quick, series)
    return {"MF-2": rows2, "MF-3": rows3, "MF-5": rows5, "MF-6": rows6,
            "MF-8": _mf8(quick), "MF-9": rows9}
