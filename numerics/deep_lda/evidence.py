"""Numeric evidence for the Deep LDA claims (docs/deep_lda.md), one table row per check.

:func:`dl_evidence` runs a few fixed-seed simulations (Taylor integrator at 50 digits,
exact rational gradient descent, and float64 for the long orthant-trap run) and returns,
per claim ID, rows::

    {"quantity", "precision", "horizon", "drift", "falsifier", "falsifier_drift", "note"}

``drift`` is what must be (numerically) zero under the claim's assumptions, as a short
string (``"3.1e-52"``); ``falsifier_drift`` is the same quantity in the setting named by
``falsifier`` (one assumption dropped), where it must be large.  Strings may contain
``$…$`` math (the report escapes the prose and keeps the math).

Rows marked *proven* come from the certified Taylor integrator (:mod:`numerics.core.certified`):
the exact flow is enclosed in balls, the conserved quantity ``h`` is evaluated on the final
enclosure in ball arithmetic, and ``drift`` is ``ε``, an upper bound of ``|h(u(T)) − h(u(0))|``
(rounded up).  Their falsifier is a planted wrong law evaluated on the same enclosure, with a
proven lower bound of its change (rounded down).  Small setting in both modes: L = 3, d = 2
(``gaussian_two_class(2, seed=1)``), Fisher loss, 30 digits, ``T = 1/4``; DL-2 and DL-3 on the
layer flow from an unbalanced init, DL-5 on the reduced flow (DL-4) from a balanced one.

Settings (all exact rationals): data ``gaussian_two_class(3, seed=1)`` (10 points per class,
grid 1/8, J* = 2.14); balanced layers ``|u_{l,i}(0)| = 1/2`` with seeded random signs; unbalanced
layers scaled per entry by factors in {1/2, 3/4, 5/4, 3/2, 2}; the orthant-trap data
``orthant_trap_data(3, seed=3)`` (Fisher optimum with mixed signs, J* = 1.32).
"""
from __future__ import annotations

import time
from typing import Callable, Optional

import mpmath
import sympy as sp

from derivations.diagonal import quasi_norm
from numerics.core.certified import bound_text, certified_integrate, proven_changes
from numerics.deep_lda.data import gaussian_two_class, orthant_trap_data
from numerics.deep_lda.flows import monitor_groups
from numerics.deep_lda.simulate import (_flow_for, gd_run, layer_init, short, simulate,
                                        simulate_float64)

__all__ = ["dl_evidence", "EVIDENCE_CLAIMS", "ROW_KEYS"]

EVIDENCE_CLAIMS = ("DL-2", "DL-3", "DL-4", "DL-5", "DL-6", "DL-7", "DL-8", "DL-10")
ROW_KEYS = ("quantity", "precision", "horizon", "drift", "falsifier", "falsifier_drift", "note")


def _row(quantity, precision, horizon, drift, falsifier, falsifier_drift, note) -> dict:
    return {"quantity": quantity, "precision": precision, "horizon": horizon,
            "drift": drift, "falsifier": falsifier, "falsifier_drift": falsifier_drift,
            "note": note}


def _w_distance(a, b, dps=None):
    """``max_t max_i |w_a(t) − w_b(t)|`` over common output times."""
    if dps is None:
        return max(abs(x - y) for ra, rb in zip(a.w, b.w) for x, y in zip(ra, rb))
    with mpmath.workdps(dps + 10):
        return max(abs(x - y) for ra, rb in zip(a.w, b.w) for x, y in zip(ra, rb))


def _min_signed_w(res):
    """``min_{t,i} σ_i w_i(t)`` with ``σ = sign w(0)``: positive iff no coordinate changed sign."""
    w0 = res.w[0]
    return min(v * (1 if s > 0 else -1) for row in res.w for v, s in zip(row, w0))


#: the certified runs (both modes): (L, d), precision, horizon; small, to keep the time small
CERTIFIED_SHAPE = (3, 2)
CERTIFIED_DPS = 30
CERTIFIED_T = sp.Rational(1, 4)


class _CertifiedRun:
    """A certified run of a flow (Fisher loss) and the proven changes of quantities."""

    def __init__(self, kind, u0, T, data, dps):
        self.flow = _flow_for(kind, u0, "fisher", None, None, None)
        self.y0 = self.flow.initial_state(u0)
        params = self.flow.param_values(data)
        self.params = dict(zip(self.flow.params, params))
        self.result = certified_integrate(self.flow.system(), self.y0, T, dps=dps, params=params)
        self.T = T

    def changes(self, exprs):
        return proven_changes(self.result, exprs, self.y0, params=self.params)

    def monitors(self, claim):
        return [self.flow.monitors[n] for n in monitor_groups(self.flow.monitors)[claim]]

    def row(self, quantity, claim, planted_label, planted, what) -> dict:
        """The row ``|h(u(T)) − h(u(0))| ≤ ε, proven`` for the monitors of ``claim``."""
        res = self.result
        L, d = self.flow.depth, self.flow.dim
        width = bound_text([b - b.mid() for b in res.enclosure[-1]])
        x = "u" if self.flow.kind == "layer" else "w"
        return _row(rf"$|h({x}(T)) - h({x}(0))| \le \varepsilon$, proven; {quantity}",
                    f"{res.dps} digits, certified ({res.steps} steps)", f"$T = {self.T}$",
                    bound_text(self.changes(self.monitors(claim))),
                    f"planted wrong law {planted_label}, proven to change by at least",
                    bound_text(self.changes(planted), "lower"),
                    f"{self.flow.kind} flow, L = {L}, d = {d}, Fisher loss, {what} init; "
                    f"numerics.core.certified (arb balls, Lohner QR) encloses the state at T in "
                    f"balls of radius <= {width}; "
                    r"$\varepsilon$ bounds $|h(\mathrm{enclosure}) - h(0)|$ over all the laws")


def dl_evidence(quick: bool = False, *, progress: Optional[Callable[[str], None]] = None) -> dict:
    """Evidence rows per claim ID (DL-2, DL-3, DL-4, DL-5, DL-6, DL-7, DL-8, DL-10); the
    experiments (the depth sweep, GD against the flow) are in :mod:`numerics.deep_lda.experiments`.

    ``quick=True``: 30 digits and shorter horizons (a few seconds); default 50 digits,
    ``T = 1`` for the conservation runs, ``T = 10`` for the orthant runs and ``T = 100``
    (float64) for the long orthant-trap run.
    ``progress``: optional callback receiving a short message per finished run.
    """
    start = time.perf_counter()
    dps = 30 if quick else 50
    prec = f"{dps} digits"
    T = sp.Rational(1, 2) if quick else sp.Integer(1)
    T_trap_hp = sp.Integer(5) if quick else sp.Integer(10)
    T_long = 50 if quick else 100
    hz = f"$T = {T}$"

    def say(msg):
        if progress is not None:
            progress(f"[{time.perf_counter() - start:6.1f} s] {msg}")

    def run(kind, u0, T_, data, **kw):
        res = simulate(kind, u0, T_, data=data, dps=dps, **kw)
        say(f"{kind} flow L={len(u0)} d={len(u0[0])} {kw.get('loss', 'fisher')} "
            f"{' '.join(f'{k}={v}' for k, v in kw.items() if k != 'loss')}: "
            f"{res.integrator['steps']} steps, {res.seconds:.2f} s")
        return res

    data = gaussian_two_class(3, seed=1)
    L, d = 3, 3
    u_bal = layer_init(L, d, seed=2)
    u_unb = layer_init(L, d, seed=2, init="unbalanced")

    A = run("layer", u_bal, T, data)
    A_red = run("reduced", u_bal, T, data)
    A_bad = run("reduced", u_bal, T, data, exponent=2 - sp.Rational(1, L))
    A_ridge = run("layer", u_bal, T, data, loss="ridge_fisher")
    A_sq = run("layer", u_bal, T, data, loss="square")
    U = run("layer", u_unb, T, data)
    U_red = run("reduced", u_unb, T, data)
    U_sq = run("layer", u_unb, T, data, loss="square")
    U_rates = run("layer", u_unb, T, data, rates=(1, 2, 1))

    u4 = layer_init(4, d, seed=2)
    B = run("layer", u4, T, data)
    B_mir = run("mirror", u4, T, data)
    B_bad = run("mirror", u4, T, data, potential_depth=3)
    u2 = layer_init(2, d, seed=2)
    C = run("layer", u2, T, data)
    C_mir = run("mirror", u2, T, data)
    C_bad = run("mirror", u2, T, data, potential_depth=3)

    def grp(res, claim):
        return res.max_drift(monitor_groups(res.monitor_values)[claim])

    out: dict = {c: [] for c in EVIDENCE_CLAIMS}
    setting = "$L = 3$, $d = 3$, Fisher loss"

    # DL-2: balance gaps, any loss, any init; falsifier: unequal layer rates
    out["DL-2"].append(_row(
        r"$\max_{l,i,t} |\Delta(u_{1,i}^2 - u_{l,i}^2)|$", prec, hz,
        short(grp(U, "DL-2")), r"layer rates $\eta = (1, 2, 1)$", short(grp(U_rates, "DL-2")),
        f"{setting}, unbalanced init (the gaps are nonzero and must not move)"))
    out["DL-2"].append(_row(
        r"$\max_{l,i,t} |\Delta(u_{1,i}^2 - u_{l,i}^2)|$, square loss", prec, hz,
        short(grp(U_sq, "DL-2")), r"layer rates $\eta = (1, 2, 1)$", short(grp(U_rates, "DL-2")),
        "DL-2 holds for any loss: the square loss (not degree 0) keeps the gaps too"))

    # DL-3: layer norms, any init, degree-0 loss; falsifier: square loss
    out["DL-3"].append(_row(
        r"$\max_{l,t} |\Delta\|u_l\|^2|$", prec, hz, short(grp(U, "DL-3")),
        "square loss (not degree 0)", short(grp(U_sq, "DL-3")),
        f"{setting}, unbalanced init: no balance needed"))
    out["DL-3"].append(_row(
        r"$\max_{l,t} |\Delta\|u_l\|^2|$", prec, hz, short(grp(A, "DL-3")),
        r"ridge $r = 1$", short(grp(A_ridge, "DL-3")),
        f"{setting}, balanced init"))

    # DL-4: layer flow vs separately integrated reduced flow
    out["DL-4"].append(_row(
        r"$\max_{t,i} |w_i^{\mathrm{layers}}(t) - w_i^{\mathrm{reduced}}(t)|$", prec, hz,
        short(_w_distance(A, A_red, dps)), r"planted exponent $2 - 1/L$ in the reduced field",
        short(_w_distance(A, A_bad, dps)),
        f"{setting}, balanced init with random signs; Abs(w_i) -> sign_i w_i on the orthant"))
    out["DL-4"].append(_row(
        r"$\max_{t,i} |w_i^{\mathrm{layers}}(t) - w_i^{\mathrm{reduced}}(t)|$", prec, hz,
        short(_w_distance(A, A_red, dps)), "unbalanced init (same w(0))",
        short(_w_distance(U, U_red, dps)), "the reduction needs balance"))

    # DL-5: quasi-norm; falsifiers ridge, unbalanced, square
    q_note = f"{setting}, balanced init, Q(0) = {short(A.monitor_values['Q'][0], 6)}"
    for fals, res in ((r"ridge $r = 1$ (Dorfer et al.)", A_ridge),
                      ("unbalanced init", U), ("square loss", A_sq)):
        out["DL-5"].append(_row(r"$\max_t |Q(w(t)) - Q(w(0))|$, $Q = \sum_i |w_i|^{2/L}$", prec, hz,
                                short(grp(A, "DL-5")), fals, short(grp(res, "DL-5")), q_note))
    out["DL-5"].append(_row(r"$\max_t |Q(w(t)) - Q(w(0))|$", prec, hz,
                            short(grp(B, "DL-5")), None, None,
                            "$L = 4$, $d = 3$, balanced init (another depth)"))

    # proven rows (certified integrator): DL-2 and DL-3 on the layer flow from an unbalanced
    # init, DL-5 on the reduced flow (DL-4: the balanced dynamics)
    cL, cd = CERTIFIED_SHAPE
    c_data = gaussian_two_class(cd, seed=1)
    CU = _CertifiedRun("layer", layer_init(cL, cd, seed=2, init="unbalanced"), CERTIFIED_T,
                       c_data, CERTIFIED_DPS)
    CB = _CertifiedRun("reduced", layer_init(cL, cd, seed=2), CERTIFIED_T, c_data, CERTIFIED_DPS)
    say(f"certified layer and reduced flows L={cL} d={cd}: {CU.result.steps} + "
        f"{CB.result.steps} steps, {CU.result.seconds + CB.result.seconds:.2f} s")
    u = CU.flow.state
    out["DL-2"].append(CU.row(
        r"$h = u_{1,i}^2 - u_{l,i}^2$ (all $l, i$)", "DL-2", r"$u_{1,i}^4 - u_{l,i}^4$",
        [u[i] ** 4 - u[l * cd + i] ** 4 for l in range(1, cL) for i in range(cd)], "unbalanced"))
    out["DL-3"].append(CU.row(
        r"$h = \|u_l\|^2$ (all $l$)", "DL-3", r"$\|w\|^2$", [sum(w ** 2 for w in CU.flow.w)],
        "unbalanced"))
    out["DL-5"].append(CB.row(
        r"$h = Q = \sum_i |w_i|^{2/L}$", "DL-5", rf"$\sum_i |w_i|^{{2/{cL + 1}}}$ (depth {cL + 1})",
        [quasi_norm(sp.Matrix(CB.flow.w), cL + 1)], "balanced"))

    # DL-6: mirror form vs layer flow; falsifier: the potential of another depth
    out["DL-6"].append(_row(
        r"$\max_{t,i} |w_i^{\mathrm{layers}}(t) - w_i(z(t))|$, $\dot z = -\nabla f$", prec, hz,
        short(_w_distance(B, B_mir, dps)), "depth-3 potential on the depth-4 flow",
        short(_w_distance(B, B_bad, dps)),
        r"$L = 4$: $\Phi = -\frac{L}{2(L-2)}\sum|w_i|^{2/L}$; inverse mirror map from sympy.solve"))
    out["DL-6"].append(_row(
        r"$\max_{t,i} |w_i^{\mathrm{layers}}(t) - w_i(z(t))|$", prec, hz,
        short(_w_distance(C, C_mir, dps)), "depth-3 potential on the depth-2 flow",
        short(_w_distance(C, C_bad, dps)),
        r"$L = 2$ (entropy form): $|w_i| = e^{2\sigma_i z_i}$"))

    # DL-7: orthant invariance on the trap data (mixed-sign optimum)
    trap = orthant_trap_data(3, seed=3)
    pos3 = layer_init(3, 3, signs="positive", alpha="1/2")
    D7 = run("layer", pos3, T_trap_hp, trap, outputs=21)
    D7_L1 = run("layer", layer_init(1, 3, signs="positive", alpha="1/2"), T_trap_hp, trap, outputs=21)
    D7_unb = run("layer", layer_init(2, 3, signs="positive", alpha="1/2", init="unbalanced", seed=1),
                 T_trap_hp, trap, outputs=21)
    out["DL-7"].append(_row(
        r"$\min_{t,i} \sigma_i w_i(t)$, $\sigma = \mathrm{sign}\, w(0)$ (must stay $> 0$)", prec,
        f"$T = {T_trap_hp}$", short(_min_signed_w(D7)), "$L = 1$ (plain gradient flow)",
        short(_min_signed_w(D7_L1)),
        r"$L = 3$ from $u_l(0) = \frac12\mathbf{1}$ on data with a mixed-sign optimum; negative = a sign change"))
    out["DL-7"].append(_row(
        r"$\min_{t,i} \sigma_i w_i(t)$", prec, f"$T = {T_trap_hp}$", short(_min_signed_w(D7)),
        "$L = 2$, unbalanced init", short(_min_signed_w(D7_unb)),
        r"beyond the paper: with a conserved gap $c = u_1^2 - u_2^2 \neq 0$ the layer that shrinks "
        "crosses 0, so the orthant trap needs balance"))

    # DL-8: gradient descent, exact
    steps = 1 if quick else 2
    gd = gd_run(u_bal, "1/10", steps, data=data)
    gd_sq = gd_run(u_bal, "1/10", steps, data=data, loss="square")
    say(f"gradient descent: {steps} exact steps, {gd.seconds + gd_sq.seconds:.2f} s")
    gd_mp = gd_run(u_bal, "1/10", 50, data=data, dps=dps)
    gd_mp_sq = gd_run(u_bal, "1/10", 50, data=data, dps=dps, loss="square")
    say(f"gradient descent: 50 steps at {dps} digits, {gd_mp.seconds + gd_mp_sq.seconds:.2f} s")
    out["DL-8"].append(_row(
        r"$\max_k |Q_{k+1} - Q_k - \eta^2\sum_i g_i^2|w_i|^{2-2/L}|$", "exact (rational)",
        rf"{steps} steps, $\eta = 1/10$", short(gd.max_residual), "square loss",
        short(gd_sq.max_residual),
        f"{setting}; balance gaps after every step: {short(gd.max_balance)} (exact); "
        f"$Q$ grows by {short(gd.Q[-1] - gd.Q[0], 3)}"))
    out["DL-8"].append(_row(
        r"$\max_k |Q_{k+1} - Q_k - \eta^2\sum_i g_i^2|w_i|^{2-2/L}|$", prec, r"50 steps, $\eta = 1/10$",
        short(gd_mp.max_residual), "square loss", short(gd_mp_sq.max_residual),
        f"$Q$ non-decreasing at every step: {'yes' if all(b >= a for a, b in zip(gd_mp.Q, gd_mp.Q[1:])) else 'NO'}; "
        f"$Q_{{50}} - Q_0 = {short(gd_mp.Q[-1] - gd_mp.Q[0], 3)}$"))

    # DL-10: the orthant trap, float64, long horizon
    J_star = float(trap.optimum())
    opt_signs = trap.optimum_signs()
    E_trap = simulate_float64("layer", pos3, T_long, data=trap, outputs=41)
    E_opt = simulate_float64("layer", layer_init(3, 3, signs=opt_signs, alpha="1/2"), T_long,
                             data=trap, outputs=41)
    E_opt_unb = simulate_float64("layer", layer_init(3, 3, signs=opt_signs, alpha="1/2",
                                                     init="unbalanced", seed=4),
                                 T_long, data=trap, outputs=41)
    say(f"float64 orthant-trap runs to T = {T_long}: "
        f"{E_trap.seconds + E_opt.seconds + E_opt_unb.seconds:.2f} s")
    J_trap = E_trap.monitor_values["J"][-1]
    J_opt = E_opt.monitor_values["J"][-1]
    out["DL-10"].append(_row(
        r"$J^\ast - J(w(T))$, start in the optimum's orthant", "float64", f"$T = {T_long}$",
        short(abs(J_star - J_opt)), r"start $u_l(0) = \frac12\mathbf{1}$ (the optimum has mixed signs)",
        short(J_star - J_trap),
        f"$L = 3$, $d = 3$; $J^\\ast = {J_star:.4f}$, trapped at $J = {J_trap:.4f}$ (best in the closed "
        f"positive orthant); optimum signs {list(opt_signs)}"))
    # where on the ray: Q(c w*) = Q(w(0)) fixes |c|
    w_star = [float(v) for v in trap.fisher_direction()]
    ends = []
    for res in (E_opt, E_opt_unb):
        Q0 = float(quasi_norm(sp.Matrix([sp.Rational(*float(v).as_integer_ratio()) for v in res.w[0]]), 3))
        Qs = sum(abs(v) ** (2 / 3) for v in w_star)
        c = (Q0 / Qs) ** 1.5
        ends.append(max(abs(a - c * b) for a, b in zip(res.w[-1], w_star)))
    out["DL-10"].append(_row(
        r"$\max_i |w_i(T) - c\,w^\ast_i|$ with $Q(c\,w^\ast) = Q(w(0))$", "float64", f"$T = {T_long}$",
        short(ends[0]), "unbalanced init (Q not conserved)", short(ends[1]),
        r"the conserved Q only picks the point on the optimal ray $w^\ast = \Sigma_w^{-1}\delta$"))
    out["DL-5"].append(_row(r"$\max_t |Q(w(t)) - Q(w(0))|$", "float64", f"$T = {T_long}$",
                            short(max(E_trap.drift("Q"), E_opt.drift("Q"))), "unbalanced init",
                            short(E_opt_unb.drift("Q")),
                            "long horizon, scipy DOP853 (rtol 1e-13); trap data, L = 3"))
    say(f"done in {time.perf_counter() - start:.1f} s")
    return out
