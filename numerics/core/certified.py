"""Certified enclosures for the Taylor integrator (validated Taylor integration, Lohner QR).

:func:`certified_integrate` runs the Taylor program of a
:class:`~numerics.core.taylor.TaylorSystem` in ball arithmetic (python-flint ``arb``) and
returns the :class:`~numerics.core.taylor.TaylorResult` of :func:`~numerics.core.taylor.integrate`
with ``enclosure`` set: per output time one ball per component, *proven* to contain the exact
solution (the values ``y`` are the ball midpoints).

One program, two arithmetics: ``system.source`` (the generated coefficient recurrences) is
compiled a second time against ball versions of the helpers it calls.  A comparison of balls
is true only when it is certain, so a domain check (a power base > 0, a fixed sign, a
denominator != 0) holds on the whole ball or the step is refused.

A step from the set ``X = ŷ + A·r`` (point ``ŷ``, point matrix ``A``, ball vector ``r``) at
``t`` with step ``h``:

1. *a priori box* (Picard–Lindelöf): ``B`` with ``X + [0, h]·F(B) ⊆ interior(B)``, found by
   inflation; every solution from ``X`` stays in ``B`` on ``[t, t + h]``, and ``F`` passed
   its domain checks on ``B``;
2. *Taylor part and remainder*: the coefficients ``y_0..y_p`` at the point ``ŷ`` and the
   Lagrange remainder with the coefficient of order ``p+1`` over ``B``:
   ``Φ_h(ŷ) ∈ Σ_k y_k(ŷ) h^k + y_{p+1}(B)·h^(p+1)``;
3. *mean-value form* (Lohner): ``Φ_h(x) ∈ Φ_h(ŷ) + J·(x − ŷ)`` for ``x ∈ X``, with
   ``J ⊇ DΦ_h(X)`` from the variational equations (:func:`variational_system`, a second
   ``TaylorSystem`` on ``(y, ∂y/∂y0)``, run in balls the same way with its own a priori box and
   remainder, at order ``p/7``: ``J`` only multiplies the tiny ``r``, a few digits suffice);
4. *new frame*: ``ŷ' = mid(...)``, ``A' = Q`` of the QR factorisation of ``mid(J·A)`` (columns
   sorted by their share of the width), ``r' = (A'^{-1}·J·A)·r + A'^{-1}·(rest)``.

Why the moving frame: propagating the ball ``Y`` itself (plain boxes) overestimates the radius
of ``y_k(Y)`` like ``c^k`` with ``c`` several times the true growth rate (cancellation in the
power and quotient recurrences), and boxing a rotated set wraps.  Measured on the reference
flow of ``benchmarks/reference_flow.py`` (L = d = 3, 50 digits, T = 5, the same steps): plain
boxes grow ~1.7x per step, to 2e-38 (the requirement is 1e-40); with the frame the widths
stay at the sum of the local remainders, 5e-50.

Order and step: the order ``p`` is the Jorba–Zou order of :func:`integrate` and the rule's
step is the upper limit of every trial step; a step is accepted when its proven remainder is
below the same local tolerance ``eps = 10^-dps·max(1, |y|)``.  The ball coefficient
``y_{p+1}(B)`` over the a priori box is far larger than the point value the rule assumes
(first step of the reference flow: the rule's h = 0.097 gives a bound e^138·eps), so accepted
steps are shorter: 0.2-0.4 of the rule's there (67 steps instead of 26).  A rejected trial is
shortened by the factor its remainder predicts, and the next step starts from the last
accepted one.  No step is ever returned uncertified: if neither an a priori box nor a small
enough remainder is found after a few reductions, :class:`CertificationError` is raised.

>>> import sympy as sp, flint
>>> y = sp.Symbol("y")
>>> r = certified_integrate(TaylorSystem([y], [-y]), ["1"], 1, dps=20)
>>> with flint.ctx.workprec(200):
...     bool(r.enclosure[-1][0].contains(flint.arb(-1).exp()))
True
>>> float(r.enclosure[-1][0].rad()) < 1e-15
True
"""
from __future__ import annotations

import math
import operator
import time as _time
import weakref
from contextlib import contextmanager
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext
from fractions import Fraction
from typing import Any, Optional, Sequence

import flint
import mpmath
import numpy as np
import sympy as sp

from derivations.balls import UNARY_METHODS, BallError, evaluate_ball
from numerics.core import taylor
from numerics.core.exact import exact_number
from numerics.core.taylor import (GUARD_BITS, TaylorError, TaylorResult, TaylorSystem,
                                  integrate, jorba_zou_order)

__all__ = ["certified_integrate", "CertificationError", "variational_system", "INTEGRATOR",
           "ball_value", "proven_changes", "bound_text"]

INTEGRATOR = "taylor (Jorba-Zou order, certified: arb balls, Lohner QR)"

_LN2 = math.log(2)
_LN10 = math.log(10)
_arb = flint.arb

#: reductions of a step (no a priori box: halve; remainder too large: predicted factor)
MAX_REDUCTIONS = 8
#: a priori box search: Picard iterations per step size, and the inflation factor
PICARD_ITERATIONS = 10
INFLATION = 1.25


class CertificationError(TaylorError):
    """No certified step can be made (no a priori box, a domain check not certain, ...)."""


class _BallDomainError(taylor._DomainError):
    """A domain check that a ball does not pass for certain (the node and the message)."""


@contextmanager
def _flint_prec(prec: int):
    """Run with ``flint.ctx.prec = prec``; the caller's precision is restored afterwards."""
    saved = flint.ctx.prec
    flint.ctx.prec = prec
    try:
        yield
    finally:
        flint.ctx.prec = saved


# ----------------------------------------------------------------------------------------
# ball versions of the helpers called by the generated series code

_B_ZERO = _arb(0)
_B_ONE = _arb(1)


def _b_fsum(terms):
    return sum(terms, _B_ZERO)


def _b_conv(a, b):
    return sum(map(operator.mul, a, reversed(b)), _B_ZERO)


def _b_sqr(a, k):
    h = (k + 1) // 2
    s = 2 * sum(map(operator.mul, a[:h], a[k:k - h:-1]), _B_ZERO)
    if not k & 1:
        s += a[k >> 1] * a[k >> 1]
    return s


def _b_sqrt_k(x, z, k):
    m = (k - 1) // 2
    s = 2 * sum(map(operator.mul, z[1:m + 1], z[k - 1:k - 1 - m:-1]), _B_ZERO)
    if not k & 1:
        s += z[k >> 1] * z[k >> 1]
    return (x[k] - s) / (2 * z[0])


def _sign_of(x) -> int:
    """+1 / -1 when the ball ``x`` is certainly positive / negative, else 0."""
    return 1 if x > 0 else (-1 if x < 0 else 0)


def _b_div0(u, v, node):
    if not _sign_of(v):
        raise _BallDomainError(node, f"the denominator (ball {v.str(5)}) may be 0")
    return u / v


def _b_pow0(x, a, node):
    if x > 0:
        return x ** a
    if a.is_exact() and a.is_integer() and _sign_of(x):
        return x ** int(a.unique_fmpz())
    raise _BallDomainError(node, f"the base of a real power (ball {x.str(5)}) is not certainly "
                                 "positive")


def _b_sqrt0(x, node):
    if x > 0:
        return x.sqrt()
    raise _BallDomainError(node, f"the argument of sqrt (ball {x.str(5)}) is not certainly "
                                 "positive")


def _b_log0(x, node):
    if x > 0:
        return x.log()
    raise _BallDomainError(node, f"the argument of log (ball {x.str(5)}) is not certainly "
                                 "positive")


def _b_fixed_sign(x, sig, slot, node):
    s = _sign_of(x)
    if not s:
        raise _BallDomainError(node, f"the sign of the argument of Abs/sign (ball {x.str(5)}) "
                                     "is not certain")
    return taylor._keep_sign(sig, slot, s, node, _BallDomainError)


_BALL_HELPERS = {
    "_conv": _b_conv, "_sqr": _b_sqr, "_sqrt_k": _b_sqrt_k, "_div0": _b_div0,
    "_pow0": _b_pow0, "_sqrt0": _b_sqrt0, "_log0": _b_log0, "_fixed_sign": _b_fixed_sign,
    "_fsum": _b_fsum, "_mul": operator.mul, "_ZERO": _B_ZERO, "_ONE": _B_ONE, "_MONE": -_B_ONE, "_mpfr": _arb,
    "_exp": _arb.exp, "_sin": _arb.sin, "_cos": _arb.cos, "_tanh": _arb.tanh,
}

_BALL_SERIES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_VARIATIONAL: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _ball_series(system: TaylorSystem):
    """``system.source`` compiled against the ball helpers (cached per system)."""
    fn = _BALL_SERIES.get(system)
    if fn is None:
        missing = sorted(set(taylor._HELPERS) - set(_BALL_HELPERS))
        if missing:
            raise NotImplementedError(f"the series code calls helpers without a ball version: "
                                      f"{missing}")
        ns = dict(_BALL_HELPERS)
        exec(compile(system.source, f"<flowproof-certified {system.name}>", "exec"), ns)
        fn = _BALL_SERIES[system] = ns[system.name]
    return fn


def variational_system(system: TaylorSystem) -> TaylorSystem:
    """The system on ``(y, V)``, ``V`` the ``d×d`` matrix ``∂y/∂y0`` (row-major after ``y``):
    ``y' = F(y)``, ``V' = DF(y)·V`` (cached per system).

    ``DF`` is differentiated by sympy; ``d sign/dx`` (a DiracDelta) is 0 where the sign is
    fixed, which the integrator enforces.
    """
    var = _VARIATIONAL.get(system)
    if var is not None:
        return var
    d = system.dim
    V = [[sp.Dummy(f"V{i}_{j}") for j in range(d)] for i in range(d)]
    real = {s: sp.Dummy(s.name, real=True) for s in system.state if s.is_real is not True}
    back = {v: s for s, v in real.items()}
    rhs = [e.xreplace(real) for e in system.rhs]
    state = [real.get(s, s) for s in system.state]
    DF = [[sp.diff(e, s).replace(sp.DiracDelta, lambda *a: sp.S.Zero) for s in state] for e in rhs]
    var_rhs = [sum((DF[i][k] * V[k][j] for k in range(d)), sp.S.Zero)
               for i in range(d) for j in range(d)]
    var = TaylorSystem(list(system.state) + [v for row in V for v in row],
                       list(system.rhs) + [e.xreplace(back) for e in var_rhs], system.params,
                       name=f"{system.name}_variational")
    _VARIATIONAL[system] = var
    return var


# ----------------------------------------------------------------------------------------
# exact numbers -> balls

def _ball(value, what: str, prec: int):
    """An arb ball (at ``prec`` bits) that contains the exact value of ``value``."""
    e = exact_number(value, what)
    floats = e.atoms(sp.Float)
    if floats:  # a binary float stands for its exact value
        e = e.xreplace({f: sp.Rational(*mpmath.libmp.to_rational(f._mpf_)) for f in floats})
    if e.is_Rational:
        return _arb(flint.fmpq(int(e.p), int(e.q)))
    try:
        z = evaluate_ball(e, prec)
    except (BallError, ValueError, ZeroDivisionError) as exc:
        raise TaylorError(f"{what} = {e}: cannot enclose it in a ball ({exc})") from None
    if not (z.imag.is_zero() or (e.is_real and z.imag.contains(0))):
        raise TaylorError(f"{what} = {e} is not a real number (ball {z})")
    if not z.real.is_finite():
        raise TaylorError(f"{what} = {e} is not finite")
    return z.real


def _rational(value, what: str) -> Fraction:
    e = exact_number(value, what)
    if not e.is_Rational:
        raise ValueError(f"{what}: a certified run needs rational times, got {e}")
    return Fraction(int(e.p), int(e.q))


def _constants(system: TaylorSystem, params, prec: int) -> list:
    """The constants ``K`` of the series code as balls (rationals exact, others enclosed)."""
    pmap = dict(zip(system.params, (exact_number(v, f"params[{i}] ({s.name})")
                                    for i, (v, s) in enumerate(zip(params, system.params)))))
    return [_ball(e.xreplace(pmap) if pmap else e, f"constant {e}", prec)
            for e in system._const_exprs]


def _mpf_of_mid(x) -> mpmath.mpf:
    """The midpoint of a ball as an mpf (exact)."""
    m, e = x.mid().man_exp()
    return mpmath.mp.make_mpf(mpmath.libmp.from_man_exp(int(m), int(e)))


def _mpf_of_fraction(q: Fraction, prec: int) -> mpmath.mpf:
    return mpmath.mp.make_mpf(mpmath.libmp.from_rational(q.numerator, q.denominator, prec,
                                                         mpmath.libmp.round_nearest))


def _ln_abs_mid(x) -> Optional[float]:
    """``ln |mid(x)|`` (None for 0), without float under/overflow."""
    m, e = x.mid().man_exp()
    m = int(m)
    return None if m == 0 else math.log(abs(m)) + int(e) * _LN2


def _ln_upper(x) -> float:
    """``ln`` of an upper bound of ``|x|`` (``-inf`` for 0, ``inf`` if not finite)."""
    if not x.is_finite():
        return math.inf
    u = x.abs_upper()
    if u == 0:
        return -math.inf
    m, e = u.man_exp()
    return math.log(int(m)) + int(e) * _LN2


def _ball_of(q: Fraction):
    return _arb(flint.fmpq(q.numerator, q.denominator))


def _hull0(h):
    """The ball ``[0, h]`` (or ``[h, 0]``)."""
    return _arb(h / 2, abs(h / 2))


# ----------------------------------------------------------------------------------------
# the pieces of a step

class _Program:
    """A series program in balls with its constants and fixed-sign table."""

    def __init__(self, system: TaylorSystem, params, prec: int):
        self.system = system
        self.series = _ball_series(system)
        self.K = _constants(system, params, prec)
        self.SIG = [None] * system._n_sign_slots

    def coefficients(self, x, order):
        """Taylor coefficients ``[[y_i0, ..., y_i,order], ...]`` of the solutions through the
        ball vector ``x`` (raises :class:`_BallDomainError`)."""
        Y = [[v] for v in x]
        self.series(Y, self.K, self.SIG, order)
        return Y

    def field(self, x):
        return [c[1] for c in self.coefficients(x, 1)]

    def fail(self, exc: _BallDomainError, where: str):
        node = self.system._nodes[exc.node]
        raise CertificationError(f"{exc.msg}; in the subexpression {sp.sstr(node.expr)} "
                                 f"{where}") from None


def _a_priori_box(program: _Program, x, H, margin):
    """A ball vector ``B`` with ``x + H·F(B) ⊆ interior(B)`` (``H = [0, h]``), tightened once
    (``x + H·F(B)``); None if none is found.  A domain error on a trial box counts as failure
    (the caller shrinks ``h``); its message is returned as the second value."""
    try:
        N = [v + H * f for v, f in zip(x, program.field(x))]
        for _ in range(PICARD_ITERATIONS):
            B = [_arb(n.mid(), n.rad() * INFLATION + margin * (1 + abs(n.mid()))) for n in N]
            N = [v + H * f for v, f in zip(x, program.field(B))]
            if all(b.contains_interior(n) for b, n in zip(B, N)):
                return [v + H * f for v, f in zip(x, program.field(N))], None
    except _BallDomainError as exc:
        node = program.system._nodes[exc.node]
        return None, f"{exc.msg}; in the subexpression {sp.sstr(node.expr)}"
    return None, "the Picard iteration X + [0, h]·F(B) does not contract into B"


def _horner(c, h):
    acc = c[-1]
    for a in reversed(c[:-1]):
        acc = acc * h + a
    return acc


def _column(values):
    return flint.arb_mat([[v] for v in values])


def _new_frame(M, r):
    """Lohner's frame: ``Q`` of the QR factorisation of ``mid(M)`` with its columns sorted by
    ``|M_j|·rad(r_j)`` (largest first), as an exact point matrix, and its ball inverse."""
    d = M.nrows()
    mid = np.array([[float(M[i, j].mid()) for j in range(d)] for i in range(d)])
    weight = [np.linalg.norm(mid[:, j]) * float(r[j, 0].rad()) for j in range(d)]
    order = sorted(range(d), key=lambda j: -weight[j])
    Q, _ = np.linalg.qr(mid[:, order])
    if not np.all(np.isfinite(Q)):
        Q = np.eye(d)
    A = flint.arb_mat([[float(v) for v in row] for row in Q])
    return A, A.inv()


# ----------------------------------------------------------------------------------------

class _Stepper:
    """The certified step of one run: base and variational programs, orders, tolerances."""

    def __init__(self, system: TaylorSystem, params, dps: int, prec: int):
        self.base = _Program(system, params, prec)
        self.var = _Program(variational_system(system), params, prec)
        self.order = jorba_zou_order(f"1e-{dps}")
        # J only multiplies the tiny r: a few correct digits are enough (order p/7)
        self.var_order = max(4, math.ceil(self.order / 7))
        self.safety = math.exp(-0.7 / (self.order - 1))
        self.ln_tol = -dps * _LN10
        self.prec = prec
        self.margin = _arb(2) ** (20 - prec)
        d = system.dim
        self.identity = [_B_ONE if i == j else _B_ZERO for i in range(d) for j in range(d)]

    def jorba_zou(self, C, y_hat):
        """The local tolerance ``ln eps`` and the Jorba-Zou step from the point coefficients."""
        ynorm = max((float(abs(v)) for v in y_hat), default=0.0)
        ln_eps = self.ln_tol + (math.log(ynorm) if ynorm > 1 else 0.0)
        cands = []
        for j in (self.order - 1, self.order):
            lns = [v for v in (_ln_abs_mid(c[j]) for c in C) if v is not None]
            if lns:
                cands.append((ln_eps - max(lns)) / j)
        return ln_eps, (self.safety * math.exp(min(min(cands), 700)) if cands else math.inf)

    def growth(self, ln_eps, ln_rem) -> float:
        """Step factor that brings the remainder bound to ``e^-1.5`` times the tolerance.  The
        bound grows faster than ``h^(p+1)`` (the box widens with ``h``): measured on the
        reference flow, about ``h^(1.5 (p+1))``."""
        return math.exp((ln_eps - 1.5 - ln_rem) / (1.5 * (self.order + 1)))

    def step(self, X, h_f, span: Fraction, ln_eps, where):
        """A certified step from the box ``X``: ``(h, rem, ln_rem, J)`` with ``h`` (exact
        rational) at most ``h_f`` or exactly ``span`` (when ``h_f >= |span|``), ``rem`` the
        remainder balls and ``J ⊇ DΦ_h(X)``.  Reduces ``h`` (no a priori box: halve; remainder
        above the tolerance: the predicted factor) up to :data:`MAX_REDUCTIONS` times, then
        raises :class:`CertificationError`."""
        order, why = self.order, None
        for _ in range(MAX_REDUCTIONS + 1):
            if h_f < 2.0 ** (8 - self.prec) * max(1.0, abs(float(span))):
                why = f"step size underflow (h = {h_f:.3g})"
                break
            hq = span if h_f >= abs(float(span)) else Fraction(h_f) * (1 if span > 0 else -1)
            h = _ball_of(hq)
            H = _hull0(h)
            B, why = _a_priori_box(self.base, X, H, self.margin)
            if B is None:
                h_f /= 2
                continue
            rem = [c[order + 1] * h ** (order + 1) for c in self.base.coefficients(B, order + 1)]
            ln_rem = max(_ln_upper(v) for v in rem)
            if ln_rem > ln_eps:
                why = (f"the remainder bound e^{ln_rem:.1f} exceeds the local tolerance "
                       f"e^{ln_eps:.1f}")
                h_f *= max(0.1, min(0.95, self.growth(ln_eps, ln_rem)))
                continue
            J = self.jacobian(X, h, H)
            if J is None:
                why = "no a priori box for the variational equations"
                h_f /= 2
                continue
            return hq, h, rem, ln_rem, J
        raise CertificationError(f"no certified step {where} (last trial h = {h_f:.3g}): {why}; "
                                 "the solution may blow up or leave the domain of the "
                                 "right-hand side near here")

    def jacobian(self, X, h, H):
        """A ball matrix containing ``DΦ_h(x)`` for every ``x`` in the box ``X`` (None when the
        variational equations have no a priori box for this ``h``)."""
        d, q = len(X), self.var_order
        z = list(X) + self.identity
        B, _ = _a_priori_box(self.var, z, H, self.margin)
        if B is None:
            return None
        C = self.var.coefficients(z, q)
        R = self.var.coefficients(B, q + 1)
        hp = h ** (q + 1)
        vals = [_horner(c, h) + rb[q + 1] * hp for c, rb in zip(C[d:], R[d:])]
        return flint.arb_mat([vals[i * d:(i + 1) * d] for i in range(d)])


def certified_integrate(system: TaylorSystem, y0: Sequence[Any], t_end: Any, *, dps: int,
                        times: Optional[Sequence[Any]] = None, params: Sequence[Any] = (),
                        t0: Any = 0, max_steps: int = 1_000_000) -> TaylorResult:
    """Integrate ``system`` from ``(t0, y0)`` to ``t_end`` with proven enclosures.

    Arguments as for :func:`numerics.core.taylor.integrate` (and the same errors for bad
    input); times (``t0``, ``t_end``, ``times``) must be rational.  Returns a
    :class:`TaylorResult` whose ``y`` are the midpoints of ``enclosure``: per output time a
    list of ``flint.arb`` balls (at ``dps`` digits plus guard bits) that contain the exact
    solution.  Raises :class:`CertificationError` when a step cannot be certified
    (e.g. the solution blows up or leaves the domain of the right-hand side).
    """
    # the input checks (and errors) of integrate, by a run of length zero
    integrate(system, y0, t0, dps=dps, params=params, t0=t0, max_steps=max_steps)
    dps = int(dps)
    start = _time.perf_counter()
    t = t_start = _rational(t0, "t0")
    te = _rational(t_end, "t_end")
    outs = _output_times(times, t, te, t0, t_end, 1 if te >= t else -1)
    prec = int(math.ceil(dps * math.log2(10))) + GUARD_BITS
    d = system.dim
    with _flint_prec(prec):
        stepper = _Stepper(system, params, dps, prec)
        X = [_ball(v, f"y0[{i}]", prec) for i, v in enumerate(y0)]
        # the set ŷ + A·r: point ŷ, point matrix A (orthogonal, from QR), ball vector r
        y_hat = [x.mid() for x in X]
        A = flint.arb_mat([[int(i == j) for j in range(d)] for i in range(d)])
        r = _column([x - m for x, m in zip(X, y_hat)])
        res_t, res_X = [], []
        oi = 0
        steps, hmin, hmax, h_next = 0, math.inf, 0.0, math.inf
        while True:
            while oi < len(outs) and outs[oi] == t:
                res_t.append(t)
                res_X.append(X)
                oi += 1
            if t == te:
                break
            if steps >= max_steps:
                raise TaylorError(f"max_steps = {max_steps} reached at t = {float(t):.15g}")
            where = f"at t = {float(t):.17g}"
            try:
                C = stepper.base.coefficients(y_hat, stepper.order)
            except _BallDomainError as exc:
                stepper.base.fail(exc, where)
            ln_eps, h_jz = stepper.jorba_zou(C, y_hat)
            span = (outs[oi] if oi < len(outs) else te) - t
            h_f = min(h_jz, h_next, abs(float(span)))
            hq, h, rem, ln_rem, J = stepper.step(X, h_f, span, ln_eps, where)
            if hq != span:  # a step cut at an output time says nothing about the next one
                h_next = abs(float(hq)) * min(1.25, stepper.growth(ln_eps, ln_rem))
            # the new set: Φ_h(x) ∈ T(ŷ) + rem + J·A·r = ŷ' + A'·r'
            T = [_horner(c, h) + e for c, e in zip(C, rem)]
            y_hat = [v.mid() for v in T]
            M = J * A
            A, Ainv = _new_frame(M, r)
            r = (Ainv * M) * r + Ainv * _column([v - m for v, m in zip(T, y_hat)])
            X = [y_hat[i] + sum((A[i, j] * r[j, 0] for j in range(d)), _B_ZERO) for i in range(d)]
            if not all(x.is_finite() for x in X):
                raise CertificationError(f"the enclosure became infinite {where}")
            t += hq
            steps += 1
            hmin, hmax = min(hmin, abs(float(hq))), max(hmax, abs(float(hq)))
        if times is None:
            res_t, res_X = [t], [X]
    seconds = _time.perf_counter() - start
    return TaylorResult(t=[_mpf_of_fraction(v, prec) for v in res_t],
                        y=[[_mpf_of_mid(v) for v in row] for row in res_X],
                        steps=steps, order=stepper.order, dps=dps,
                        min_step=hmin if steps else 0.0, max_step=hmax, seconds=seconds,
                        prec_bits=prec, tol=f"1e-{dps}",
                        t0=_mpf_of_fraction(t_start, prec),
                        state=tuple(system.state), integrator=INTEGRATOR, enclosure=res_X)


def _output_times(times, t, te, t0, t_end, direction) -> list:
    """``times`` as exact rationals, checked as :func:`integrate` checks them."""
    if times is None:
        return []
    if isinstance(times, (str, bytes)) or not hasattr(times, "__iter__"):
        raise TypeError("times must be a sequence of numbers or None")
    times = list(times)
    outs = [_rational(v, f"times[{i}]") for i, v in enumerate(times)]
    for i, v in enumerate(outs):
        if (v - t) * direction < 0 or (te - v) * direction < 0:
            raise ValueError(f"times[{i}] = {times[i]} is outside [t0, t_end] = [{t0}, {t_end}]")
        if i and (v - outs[i - 1]) * direction <= 0:
            raise ValueError("times must be strictly increasing (in the direction of "
                             f"integration); times[{i - 1}], times[{i}] = {times[i - 1]}, "
                             f"{times[i]}")
    return outs


# ----------------------------------------------------------------------------------------
# quantities on enclosures (a conserved quantity proven to change by at most eps)

def ball_value(expr: sp.Expr, values: dict, prec: int):
    """Enclose the real value of the sympy expression ``expr`` when its symbols range over the
    balls ``values`` (``{Symbol: flint.arb}``), at ``prec`` bits.

    Closed subexpressions are enclosed by :func:`derivations.balls.evaluate_ball` (rationals
    exactly); functions by the ball methods of :data:`derivations.balls.UNARY_METHODS`.
    Raises :class:`TaylorError` if the value is not finite on the balls (e.g. a log of a ball
    that reaches 0) or a ``sign`` is not certain.
    """
    with _flint_prec(prec):
        out = _walk(sp.sympify(expr), values, prec)
    if not out.is_finite():
        raise TaylorError(f"{expr} has no finite enclosure on these balls (outside its domain?)")
    return out


def _walk(e, values, prec):
    if e in values:
        return values[e]
    if not e.free_symbols:
        return _ball(e, sp.sstr(e), prec)
    if e.is_Symbol:
        raise ValueError(f"no ball for the symbol {e}")
    if e.is_Add:
        return sum((_walk(a, values, prec) for a in e.args), _B_ZERO)
    if e.is_Mul:
        out = _B_ONE
        for a in e.args:
            out = out * _walk(a, values, prec)
        return out
    if e.is_Pow:
        base = _walk(e.base, values, prec)
        if e.exp.is_Integer:
            n = int(e.exp)
            return base ** n if n >= 0 else 1 / base ** (-n)
        return base ** _walk(e.exp, values, prec)  # not finite unless the base is > 0
    arg = _walk(e.args[0], values, prec) if len(e.args) == 1 else None
    if isinstance(e, sp.Abs):
        return abs(arg)
    if isinstance(e, sp.sign):
        if not _sign_of(arg):
            raise TaylorError(f"the sign of {e.args[0]} is not certain on these balls")
        return _arb(_sign_of(arg))
    method = UNARY_METHODS.get(type(e))
    if method is None or arg is None:
        raise TaylorError(f"no ball enclosure for {type(e).__name__} in {e}")
    return getattr(arg, method)()


def proven_changes(result: TaylorResult, exprs: Sequence[sp.Expr], y0: Sequence[Any], *,
                   params: Optional[dict] = None) -> list:
    """Balls ``h(y(T)) − h(y0)``, one per ``h`` in ``exprs``, over the last enclosure of the
    certified run ``result`` (``exprs`` in ``result.state`` and the symbols of ``params``,
    ``{Symbol: exact value}``; ``y0`` exact).  Each ball contains the exact change."""
    if result.enclosure is None:
        raise ValueError("the result has no enclosure: use certified_integrate")
    prec = result.prec_bits
    with _flint_prec(prec):
        fixed = {p: _ball(v, f"params {p}", prec) for p, v in (params or {}).items()}
        start = {**fixed, **{s: _ball(v, f"y0[{i}]", prec)
                             for i, (s, v) in enumerate(zip(result.state, y0))}}
        end = {**fixed, **dict(zip(result.state, result.enclosure[-1]))}
        return [ball_value(h, end, prec) - ball_value(h, start, prec) for h in exprs]


def bound_text(balls: Sequence, which: str = "upper", digits: int = 2) -> str:
    """``max |b|`` over ``balls`` as a short decimal string rounded outward: an upper bound of
    every ``|b|`` (``which="upper"``), or the largest proven lower bound (``"lower"``), rounded
    down."""
    if which not in ("upper", "lower"):
        raise ValueError(f"which must be 'upper' or 'lower', got {which!r}")
    bounds = [b.abs_upper() if which == "upper" else b.abs_lower() for b in balls]
    m, e = max(bounds).man_exp()
    m, e = int(m), int(e)
    if m == 0:
        return "0"
    with localcontext() as ctx:
        ctx.prec = len(str(abs(m))) + abs(e) + 5          # exact: m·2^e has that many digits
        exact = Decimal(m) * Decimal(2) ** e if e >= 0 else Decimal(m) / Decimal(2) ** -e
        ctx.prec = digits
        ctx.rounding = ROUND_CEILING if which == "upper" else ROUND_FLOOR
        value = +exact                                    # the one (outward) rounding
    return f"{value:.{digits - 1}e}"
