"""MF-7: how slowly mirror flow approaches its max-margin direction, measured far past float64.

The setting of docs/mirror_flow.md, MF-7: a linear model on one point ``x`` (label +1), exponential loss,
potential ``R(w) = Σ_i φ(w_i)``.  Mirror flow integrates in closed form:
``∇R(w(t)) = ∇R(w(0)) + a(t)·x`` with ``a' = exp(−⟨w(a), x⟩)``, so ``w`` is an explicit
function of ``a`` (one root-finding per coordinate) and
``t(a) = ∫_0^a exp(q(b)) db``, ``q = ⟨w, x⟩``, so
``log t = q(a) + log ∫_0^a exp(q(b) − q(a)) db``: no loss ever underflows, and ``log log t``
of 20 (``t = e^{5·10^8}``) costs a few root findings.  The integral is taken by Laplace's
method to second order, ``1/q1 + q2/q1^3`` with ``q1, q2`` the first two derivatives of
``q`` (``exact=True``: by quadrature in mpmath, to check the expansion).  The direction error is ``‖w/‖w‖₂ − u*‖₂`` against the direction ``u*`` of the
max-margin problem of the potential's horizon (``ℓ2``: ``x/‖x‖``; ``ℓ1``: the largest
coordinate; ``ℓ∞``: ``sign(x)/√d``).

The slow regime: ``φ(x) = x² log(e + x²)`` has horizon ``ℓ2``, but at scale ``s`` its sublevel
sets are distorted by ``O(1/log s)``; the scale grows like ``log t``, so the error should fall
like ``1/log log t``.  The falsifier, ``x²/2`` (gradient flow, no distortion) from
``w(0) ≠ 0``, falls like ``1/log t``.  Both exponents are *fitted*, against ``log log t`` and
against ``log t``, and reported.

>>> c = one_point_curve("quadratic", [1, 2], [sp.Rational(1, 10), sp.Rational(-1, 5)], [3, 4], dps=30)
>>> [round(float(v), 3) for v in c.loglog]
[3.0, 4.0]
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import mpmath
import numpy as np
import sympy as sp

__all__ = ["POTENTIALS", "Curve", "one_point_curve", "fit_exponents",
           "simulated_one_point", "several_points_curve", "closed_form_w"]

_x = sp.Symbol("x", real=True)

#: name -> (φ, horizon, u* for x = (1, 2) as a function of x)
POTENTIALS: dict[str, tuple[sp.Expr, str]] = {
    "slow": (_x**2 * sp.log(sp.E + _x**2), "l2"),
    "quadratic": (_x**2 / 2, "l2"),
    "hyperbolic entropy": (_x * sp.asinh(_x) - sp.sqrt(_x**2 + 1) + 1, "l1"),
    "cosh": (sp.cosh(_x) - 1, "linf"),
}


def _target(horizon: str, x: Sequence) -> list:
    """The max-margin direction (unit ℓ2 norm) for one point ``x`` and label +1."""
    d = len(x)
    if horizon == "l2":
        v = [mpmath.mpf(xi) for xi in x]
    elif horizon == "l1":
        k = max(range(d), key=lambda i: abs(x[i]))
        if sum(abs(xi) == abs(x[k]) for xi in x) > 1:
            raise ValueError("the l1 max-margin solution is a face here, not a vertex")
        v = [mpmath.mpf(1 if i == k else 0) * mpmath.sign(x[k]) for i in range(d)]
    elif horizon == "linf":
        v = [mpmath.sign(xi) for xi in x]
    else:
        raise ValueError(f"unknown horizon {horizon!r}")
    n = mpmath.sqrt(sum(vi**2 for vi in v))
    return [vi / n for vi in v]


def _inverse(dphi: Callable, z):
    """``w`` with ``φ'(w) = z`` (φ' odd and increasing): bracket ``log w`` by doubling or
    halving ``w``, then solve ``log φ'(e^u) = log z`` (relative accuracy at any magnitude)."""
    if z == 0:
        return mpmath.mpf(0)
    target, sign = abs(z), 1 if z > 0 else -1
    lo = hi = mpmath.mpf(1)
    while dphi(hi) < target:
        hi *= 2
    while dphi(lo) > target:
        lo /= 2
    lo = min(lo, hi / 2)
    log_target = mpmath.log(target)
    u = mpmath.findroot(lambda u: mpmath.log(dphi(mpmath.exp(u))) - log_target,
                        (mpmath.log(lo), mpmath.log(hi)), solver="anderson")
    return sign * mpmath.exp(u)


@dataclass
class Curve:
    """A direction-error curve against ``log log t`` (one point of data, closed form)."""
    label: str
    potential: str
    horizon: str
    loglog: list
    log_t: list
    error: list
    a: list = field(default_factory=list)


def one_point_curve(name: str, x: Sequence, w0: Sequence, loglog_targets: Sequence, *, dps: int = 50,
                    exact: bool = False) -> Curve:
    """Direction error at the times with ``log log t`` = each target (root-finding in ``log a``)."""
    phi, horizon = POTENTIALS[name]
    with mpmath.workdps(dps):
        dphi, d2phi, d3phi = (sp.lambdify(_x, sp.diff(phi, _x, k), "mpmath") for k in (1, 2, 3))
        xs = [mpmath.mpf(sp.Rational(v).p) / sp.Rational(v).q for v in x]
        z0 = [dphi(mpmath.mpf(sp.Rational(v).p) / sp.Rational(v).q) for v in w0]
        u_star = _target(horizon, xs)

        def w_of(a):
            return [_inverse(dphi, z + a * xi) for z, xi in zip(z0, xs)]

        def q_of(a):
            return mpmath.fsum(wi * xi for wi, xi in zip(w_of(a), xs))

        def log_t(a):
            w = w_of(a)
            q = mpmath.fsum(wi * xi for wi, xi in zip(w, xs))
            # w_i' = x_i / R2(w_i) (R2, R3: second and third derivatives of the potential),
            # so q1 = sum x_i^2 / R2(w_i) and q2 = -sum x_i^3 R3(w_i) / R2(w_i)^3
            q1 = mpmath.fsum(xi**2 / d2phi(wi) for wi, xi in zip(w, xs))
            if not exact:
                q2 = -mpmath.fsum(xi**3 * d3phi(wi) / d2phi(wi) ** 3 for wi, xi in zip(w, xs))
                return q + mpmath.log(1 / q1 + q2 / q1**3)
            width = 1 / q1
            # ∫_0^a exp(q(b) - q(a)) db in u = a - b; the mass sits within a few widths of u = 0
            cuts = [u for u in (0, width, 10 * width, 60 * width) if u < a] + [a]
            rest = mpmath.quad(lambda u: mpmath.exp(q_of(a - u) - q), cuts)
            return q + mpmath.log(rest)

        loglogs, logts, errors, avals = [], [], [], []
        def loglog(rho):
            return mpmath.log(log_t(mpmath.exp(rho)))

        for lam in loglog_targets:
            # bracket rho = log a (log log t grows with rho: like rho for most potentials,
            # like log rho for cosh, whose w grows only like log a), then solve
            lo, hi = mpmath.mpf(0), mpmath.mpf(1)
            while loglog(hi) < lam:
                lo, hi = hi, 2 * hi
            rho = mpmath.findroot(lambda r: loglog(r) - lam, (lo, hi), solver="anderson")
            a = mpmath.exp(rho)
            w = w_of(a)
            n = mpmath.sqrt(mpmath.fsum(wi**2 for wi in w))
            err = mpmath.sqrt(mpmath.fsum((wi / n - ui) ** 2 for wi, ui in zip(w, u_star)))
            lt = log_t(a)
            loglogs.append(+mpmath.log(lt))
            logts.append(+lt)
            errors.append(+err)
            avals.append(+a)
    return Curve(f"{name} ({horizon} horizon)", name, horizon, loglogs, logts, errors, avals)


def fit_exponents(curve: Curve, lo: float, hi: float) -> dict:
    """Least-squares slopes of ``log error`` against ``log log log t`` (error ~ (log log t)^β)
    and against ``log log t`` (error ~ (log t)^γ), over ``lo ≤ log log t ≤ hi``."""
    pts = [(float(l), float(e)) for l, e in zip(curve.loglog, curve.error) if lo <= float(l) <= hi and e > 0]
    if len(pts) < 2:
        raise ValueError(f"fewer than two points of {curve.label} in [{lo}, {hi}]")
    lam, err = np.array([p[0] for p in pts]), np.log([p[1] for p in pts])
    return {"vs_loglog_t": float(np.polyfit(np.log(lam), err, 1)[0]),
            "vs_log_t": float(np.polyfit(lam, err, 1)[0]), "points": len(pts), "range": [lo, hi]}


def simulated_one_point(name: str, x: Sequence, w0: Sequence, s_values: Sequence, *, dps: int = 30) -> list:
    """The general route for the same problem: the primal mirror flow in rescaled time
    ``ds = ℒ dt``, ``dw_i/ds = x_i / φ''(w_i)`` (the loss factor cancels), integrated by the
    Taylor method of :mod:`numerics.core.taylor`; returns ``w`` at each ``s``.  For one point
    ``s = a``, so it must agree with the closed form of :func:`one_point_curve`."""
    from numerics.core.taylor import TaylorSystem, integrate

    phi, _ = POTENTIALS[name]
    d2 = sp.diff(phi, _x, 2)
    w = sp.symbols(f"w1:{len(x) + 1}", real=True)
    rhs = [sp.Rational(xi) / d2.xreplace({_x: wi}) for wi, xi in zip(w, x)]
    rhs = [e.rewrite(sp.exp) if e.has(sp.cosh, sp.sinh) else e for e in rhs]
    res = integrate(TaylorSystem(w, rhs, name="mf7_rescaled"), list(w0), max(s_values), dps=dps,
                    times=list(s_values))
    return res.y


def several_points_curve(name: str, X: Sequence[Sequence], s_values: Sequence, *, dps: int = 30) -> Curve:
    """The same measurement on several points (labels +1), where no closed form exists: the
    primal mirror flow in rescaled time, ``dw_i/ds = Σ_n p_n x_{n,i} / φ''(w_i)`` with the
    softmax weights ``p_n = e^{−q_n}/Σ_m e^{−q_m}``, and ``τ = log t`` from
    ``dτ/ds = e^{−τ}/ℒ``, all by the Taylor method from ``w = 0`` (``s0 = 10^-6``,
    ``τ0 = log(s0/n)``); every exponential is of a difference of margins, so nothing
    underflows.  The direction error is against the ℓ2 max-margin direction of the points
    (:func:`numerics.mirror_flow.margins.max_margin`).  A point that is not a support vector
    has a weight decaying like ``e^{−c s}``, which keeps the steps from growing with ``s``:
    this route reaches ``log log t`` of about 10, not 20."""
    import numpy as np

    from numerics.core.taylor import TaylorSystem, integrate
    from numerics.mirror_flow.margins import max_margin

    phi, horizon = POTENTIALS[name]
    if horizon != "l2":
        raise ValueError("several_points_curve compares with the l2 max-margin direction")
    d2 = sp.diff(phi, _x, 2)
    w = sp.symbols(f"w1:{len(X[0]) + 1}", real=True)
    tau = sp.Symbol("tau", real=True)
    q = [sum(sp.Rational(v) * wi for v, wi in zip(row, w)) for row in X]
    total = sum(sp.exp(q[0] - qm) for qm in q)          # ℒ e^{q_0}
    weights = [sp.exp(q[0] - qn) / total for qn in q]
    rhs = [sum(p * sp.Rational(row[i]) for p, row in zip(weights, X)) / d2.xreplace({_x: w[i]})
           for i in range(len(w))]
    rhs.append(sp.exp(q[0] - tau) / total)
    s0 = sp.Rational(1, 10**6)
    run = integrate(TaylorSystem(list(w) + [tau], rhs, name="mf7_points"), [0] * len(w) + [sp.log(s0 / len(X))],
                    max(s_values), t0=s0, dps=dps, times=list(s_values))
    u = max_margin(np.array(X, float), np.ones(len(X)), "l2").theta
    u = u / np.linalg.norm(u)
    errors, loglogs, logts = [], [], []
    with mpmath.workdps(dps):
        for row in run.y:
            n = mpmath.sqrt(mpmath.fsum(v**2 for v in row[:-1]))
            errors.append(mpmath.sqrt(mpmath.fsum((v / n - float(ui)) ** 2 for v, ui in zip(row[:-1], u))))
            logts.append(row[-1])
            loglogs.append(mpmath.log(row[-1]))
    return Curve(f"{name}, {len(X)} points", name, horizon, loglogs, logts, errors, list(s_values))


def closed_form_w(name: str, x: Sequence, w0: Sequence, a, *, dps: int = 30) -> list:
    """``w(a)`` of the closed form: ``φ'(w_i) = φ'(w_i(0)) + a x_i``."""
    phi, _ = POTENTIALS[name]
    with mpmath.workdps(dps):
        dphi = sp.lambdify(_x, sp.diff(phi, _x), "mpmath")
        return [_inverse(dphi, dphi(mpmath.mpf(sp.Rational(v).p) / sp.Rational(v).q) + mpmath.mpf(a) * xi)
                for v, xi in zip(w0, x)]
