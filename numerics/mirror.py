"""Mirror flow and mirror descent for separable potentials (SPEC Part B: MF-2, MF-3, MF-5, MF-6, MF-9).

Mirror flow with ``R(θ) = Σ_j φ(θ_j)`` is integrated in the dual variable ``z = φ'(θ)``:

    ż = −∇ℒ(θ),    θ = ψ(z) := (φ')^{-1}(z),

or, equivalently, in the primal variable ``θ̇_j = −∂_jℒ(θ)/φ''(θ_j)``.

The inverse mirror map ``ψ`` (:class:`MirrorMap`)
    ``φ`` must be even (checked), so ``φ'`` is odd and ``ψ(z) = sign(z) ψ₊(|z|)`` with
    ``ψ₊`` the inverse of ``φ'`` on ``(0, ∞)``.  ``ψ₊`` comes from ``sympy.solve`` on the
    positive half line when a closed form exists (``α sinh z`` for hyperbolic entropy,
    ``asinh z`` for cosh, ``z^{1/(p−1)}`` for ``|x|^p/p``, Cardano's formula for
    ``x²/2 + x⁴/4``); every candidate is checked by substitution — numerically at
    40 digits at several points, and symbolically (``simplify(φ'(ψ₊(z)) − z) == 0``,
    recorded but not required, see SPEC Part C) — and otherwise a safeguarded
    Newton/bisection solve at working precision is used.  Derivatives are taken on the
    positive half line (``positive=True``) and extended by parity, which avoids the
    ``sign``/``DiracDelta`` terms sympy produces for ``|x|^p`` (SPEC Part C).

Models (:class:`LinearModel`, :class:`Network`, :class:`TwoLayerNet`)
    ``f(θ; x) = ⟨θ, x⟩`` (``L = 1``) and fully connected networks without biases, e.g.
    ``Σ_k a_k σ(w_kᵀ x)``, with ``σ`` linear or ReLU (``s = 1``) or squared ReLU
    ``σ(u) = u·max(u, 0) = u(u + |u|)/2`` (``s = 2``); the degree ``L`` is derived.
    Squared ReLU is C¹ but not C² (``σ''`` jumps at 0); the high-precision integrator
    handles ``|u|`` on a fixed sign and raises ``TaylorError`` if a pre-activation changes
    sign inside a step, so a conservation check is never silently run across a kink.

Flows
    * :func:`mirror_flow`: time ``t``, arbitrary precision (the Taylor integrator of
      :mod:`numerics.taylor`), ``route="primal"`` or ``"dual"`` (two independent routes;
      their final states must agree), optionally with the MF-3 witness state
      ``E(t) = ∫_0^t L Σ_i (−ℓ'(q_i)) q_i dt``.
    * :func:`rescaled_flow`: exponential/logistic loss on separable data in the rescaled
      time ``ds = ℒ dt``: ``dz/ds = Σ_i w_i ∇q_i(θ)`` with ``w_i = −ℓ'(q_i)/ℒ`` (a softmax
      of ``−q`` for the exponential loss, computed by log-sum-exp), and
      ``v = log(1 + t)`` through ``dv/ds = exp(−log ℒ − v)``: losses far below 1e−308 are
      never formed.  float64 with scipy's ``LSODA`` (Adams/BDF switching: the flow of a
      potential whose ``ψ'`` grows, e.g. hyperbolic entropy, is stiff in ``s`` with
      stiffness ``~ Q_∞(θ)``, and ``|x|^p/p`` with ``p > 2`` has ``ψ'(0) = ∞``), analytic
      Jacobian for the linear model; float64 holds while margin differences of order 1
      stay resolvable (measured: hyperbolic entropy up to ``Q_∞ ≈ 3·10^8``, ``s = 16``;
      LSODA fails beyond ``Q_∞ ≈ 10^9``).
      :func:`rescaled_flow_mp` integrates the same system with the Taylor integrator
      at ``dps`` digits (non-stiff potentials; a cross-check of the float64 route).
    * :func:`mirror_descent`: explicit Euler in ``z``:
      ``z_{k+1} = z_k − η ∇ℒ(ψ(z_k))`` (float64 or mpmath); first-order accurate
      approximation of :func:`mirror_flow` as ``η → 0``.

Monitored quantities: :meth:`MirrorProblem.balances` (MF-2: per hidden unit
``Σ_in G(θ_j) − s Σ_out G(θ_j)``), :meth:`MirrorProblem.euclidean_balances` (the same with
the quadratic ``G = x²/2``: the falsifier), :meth:`MirrorProblem.dual_energy` (MF-3:
``Σ_j G(θ_j)``).

Example (hyperbolic entropy, closed-form inverse ``ψ(z) = sinh(z)/10``):

>>> import sympy as sp
>>> x = sp.Symbol("x", real=True)
>>> a = sp.Rational(1, 10)
>>> m = mirror_map(x * sp.asinh(x / a) - sp.sqrt(x**2 + a**2) + a, horizon="l1")
>>> m.inverse_pos, m.inverse_kind
(sinh(z)/10, 'closed form')
>>> round(m.inv(2.0), 12) == round(math.sinh(2.0) / 10, 12)
True
"""
from __future__ import annotations

import math
import time as _time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import mpmath
import numpy as np
import sympy as sp

from numerics.exact import exact_number
from numerics.margins import Horizon, as_horizon, q_inf

__all__ = [
    "X", "MirrorError", "MirrorMap", "mirror_map", "catalogue_potential",
    "LinearModel", "Network", "TwoLayerNet", "Dataset", "separable_data", "orthant_data", "MirrorProblem",
    "MirrorFlowResult", "mirror_flow", "RescaledFlowResult", "rescaled_flow",
    "rescaled_flow_mp", "mirror_descent", "MirrorDescentResult", "fit_exponent",
]

#: the real symbol potentials are written in
X = sp.Symbol("x", real=True)
_XP = sp.Symbol("x", positive=True)
_ZP = sp.Symbol("z", positive=True)
_Z = sp.Symbol("z", real=True)

_CHECK_POINTS = (sp.Rational(1, 7), sp.Rational(1, 2), sp.Integer(1), sp.Rational(7, 3),
                 sp.Integer(6), sp.Integer(25))


class MirrorError(ValueError):
    """A potential, model or flow request that cannot be honoured (with the reason)."""


# ----------------------------------------------------------------------------------------
# potentials and the mirror map

def _taylor_friendly(e: sp.Expr) -> sp.Expr:
    """Rewrite hyperbolic functions into exp/log/sqrt (what numerics.taylor supports)."""
    e = e.replace(sp.asinh, lambda u: sp.log(u + sp.sqrt(u**2 + 1)))
    e = e.replace(sp.acosh, lambda u: sp.log(u + sp.sqrt(u**2 - 1)))
    e = e.replace(sp.atanh, lambda u: sp.log((1 + u) / (1 - u)) / 2)
    e = e.replace(sp.sinh, lambda u: (sp.exp(u) - sp.exp(-u)) / 2)
    e = e.replace(sp.cosh, lambda u: (sp.exp(u) + sp.exp(-u)) / 2)
    return e


def _lambdify(args, expr, module):
    if module == "mpmath":
        return sp.lambdify(args, expr, modules="mpmath", cse=True)
    return sp.lambdify(args, expr, modules=[{"Abs": abs}, "math"], cse=True)


def _num_zero(e, sym, dps=40, points=_CHECK_POINTS, tol_digits=30) -> bool:
    with mpmath.workdps(dps):
        for pt in points:
            try:
                v = sp.N(e.subs(sym, pt), dps)
            except Exception:
                return False
            if not v.is_number:
                return False
            v = complex(v)
            if not (abs(v) < 10.0 ** -tol_digits):
                return False
    return True


@dataclass(eq=False)
class MirrorMap:
    """The objects of a separable potential ``φ`` that the flows need.

    Symbolic: ``phi`` (in :data:`X`), ``phi_pos``, ``dphi_pos``, ``d2phi_pos``, ``G_pos``
    (on the positive half line, symbol ``x`` positive), ``inverse_pos`` (``ψ₊(z)``, symbol
    ``z`` positive, or ``None``), ``inverse_kind`` (``"closed form"`` / ``"newton"``),
    ``inverse_checks`` (how the closed form was verified), ``horizon``
    (:class:`~numerics.margins.Horizon` or ``None``), ``source`` (the object it came from).

    Numeric (float or mpf, by the argument's type; mpf evaluation uses the *current*
    mpmath precision, so call inside ``mpmath.workdps``): ``dphi``, ``d2phi``, ``G``,
    ``inv`` (``ψ``), ``dinv`` (``ψ' = 1/φ''(ψ)``).
    """
    name: str
    phi: sp.Expr
    phi_pos: sp.Expr
    dphi_pos: sp.Expr
    d2phi_pos: sp.Expr
    G_pos: sp.Expr
    inverse_pos: Optional[sp.Expr]
    inverse_kind: str
    inverse_checks: dict
    horizon: Optional[Horizon]
    d2phi_even_analytic: bool
    inverse_odd_analytic: bool
    d2phi_at_0: Any
    source: Any = None
    _f: dict = field(default_factory=dict, repr=False)

    # -- compiled scalar functions ---------------------------------------------------
    def _fn(self, key, module):
        k = (key, module)
        if k not in self._f:
            expr = {"dphi": self.dphi_pos, "d2phi": self.d2phi_pos, "G": self.G_pos,
                    "phi": self.phi_pos}.get(key)
            if key == "inv":
                expr = self.inverse_pos
                self._f[k] = _lambdify([_ZP], expr, module)
            else:
                self._f[k] = _lambdify([_XP], expr, module)
        return self._f[k]

    @staticmethod
    def _mod(v):
        return "mpmath" if isinstance(v, mpmath.mpf) else "math"

    def _even(self, key, t):
        """The even function ``key`` at ``t``: its formula at ``|t|``, its limit at 0."""
        m = self._mod(t)
        if t == 0:
            return self._limit0(key, m)
        return self._fn(key, m)(abs(t))

    def phi_value(self, t):
        return self._even("phi", t)

    def dphi(self, t):
        if t == 0:
            return 0 * t
        v = self._fn("dphi", self._mod(t))(abs(t))
        return v if t > 0 else -v

    def d2phi(self, t):
        return self._even("d2phi", t)

    def G(self, t):
        return self._even("G", t)

    def _limit0(self, key, module):
        kk = ("lim0", key)
        if kk not in self._f:
            expr = {"phi": self.phi_pos, "d2phi": self.d2phi_pos, "G": self.G_pos}[key]
            self._f[kk] = sp.limit(expr, _XP, 0, "+")
        v = self._f[kk]
        if v.is_infinite:
            return mpmath.inf if module == "mpmath" else math.inf
        return mpmath.mpf(sp.N(v, mpmath.mp.dps + 5)) if module == "mpmath" else float(v)

    def odd_array(self, key: str, v) -> np.ndarray:
        """``φ'`` (``key="dphi"``) or ``ψ`` (``key="inv"``, closed form only) on a float64
        array, vectorized: ``sign(v)·f(|v|)``.

        >>> m = catalogue_potential("cosh")
        >>> [round(float(t), 6) for t in m.odd_array("inv", np.array([-1.0, 0.0, 2.0]))]
        [-0.881374, 0.0, 1.443635]
        """
        expr, sym = (self.dphi_pos, _XP) if key == "dphi" else (self.inverse_pos, _ZP)
        if expr is None:
            raise MirrorError(f"potential {self.name}: phi' has no closed-form inverse, which "
                              "the vectorized psi needs")
        k = ("array", key)
        if k not in self._f:
            self._f[k] = sp.lambdify([sym], expr, modules="numpy", cse=True)
        v = np.asarray(v, dtype=float)
        return np.sign(v) * np.broadcast_to(self._f[k](np.abs(v)), v.shape)

    def inv(self, z):
        """``ψ(z) = (φ')^{-1}(z)`` (closed form or Newton at the argument's precision)."""
        if z == 0:
            return 0 * z
        a = abs(z)
        if self.inverse_pos is not None:
            m = self._mod(z)
            try:
                v = self._fn("inv", m)(a)
            except OverflowError:
                raise MirrorError(f"psi({float(z):.4g}) overflows float64 for potential "
                                  f"{self.name}; use the mpmath route") from None
        else:
            v = self._newton(a)
        return v if z > 0 else -v

    def dinv(self, z):
        """``ψ'(z) = 1/φ''(ψ(z))``."""
        d2 = self.d2phi(self.inv(z))
        if d2 == 0:
            return mpmath.inf if isinstance(z, mpmath.mpf) else math.inf
        return 1 / d2

    def _newton(self, zval):
        """Solve ``φ'₊(x) = z`` for ``x > 0`` (safeguarded Newton with a bracket)."""
        mp = isinstance(zval, mpmath.mpf)
        m = "mpmath" if mp else "math"
        f, df = self._fn("dphi", m), self._fn("d2phi", m)
        one = mpmath.mpf(1) if mp else 1.0
        lo, hi = 0 * one, one
        k = 0
        while f(hi) < zval:
            lo, hi = hi, 2 * hi
            k += 1
            if k > 4000:
                raise MirrorError(f"phi' of {self.name} does not reach {zval}: phi' is not "
                                  "onto R")
        x = (lo + hi) / 2
        eps = (mpmath.mpf(2) ** (-mpmath.mp.prec + 4)) if mp else 4e-16
        for _ in range(400):
            fx = f(x) - zval
            if fx > 0:
                hi = x
            else:
                lo = x
            d = df(x)
            xn = x - fx / d if d > 0 else (lo + hi) / 2
            if not (lo < xn < hi):
                xn = (lo + hi) / 2
            if abs(xn - x) <= eps * abs(xn) or hi - lo <= eps * hi:
                return xn
            x = xn
        return x

    # -- symbolic pieces for the Taylor programs -----------------------------------------
    def d2phi_expr(self, t: sp.Symbol) -> sp.Expr:
        """``φ''(t)`` for a real symbol ``t``, Taylor friendly (``Abs`` only if needed)."""
        if self.d2phi_even_analytic:
            e = self.d2phi_pos.subs(_XP, t)
        else:
            e = self.d2phi_pos.subs(_XP, sp.Abs(t))
        return _taylor_friendly(e)

    def inverse_expr(self, z: sp.Symbol) -> sp.Expr:
        """``ψ(z)`` for a real symbol ``z`` (closed form only), Taylor friendly."""
        if self.inverse_pos is None:
            raise MirrorError(f"potential {self.name}: phi' has no closed-form inverse; "
                              "use route='primal'")
        if self.inverse_odd_analytic:
            e = self.inverse_pos.subs(_ZP, z)
        else:
            e = sp.sign(z) * self.inverse_pos.subs(_ZP, sp.Abs(z))
        return _taylor_friendly(e)

    def G_expr(self, t: sp.Symbol) -> sp.Expr:
        return self.G_pos.subs(_XP, sp.Abs(t))

    def to_dict(self) -> dict:
        return {"name": self.name, "phi": str(self.phi), "dphi(x>0)": str(self.dphi_pos),
                "d2phi(x>0)": str(self.d2phi_pos), "G(x>0)": str(self.G_pos),
                "inverse(z>0)": None if self.inverse_pos is None else str(self.inverse_pos),
                "inverse_kind": self.inverse_kind, "inverse_checks": dict(self.inverse_checks),
                "horizon": None if self.horizon is None else self.horizon.label}


def _find_x(expr: sp.Expr) -> sp.Symbol:
    free = sorted(expr.free_symbols, key=lambda s: s.name)
    xs = [s for s in free if s.name == "x"]
    others = [s.name for s in free if s.name != "x"]
    if others:
        raise MirrorError(f"the potential has free symbols {others} besides x: substitute "
                          "numeric values for its parameters first")
    if not xs:
        raise MirrorError(f"the potential {expr} does not depend on x")
    return xs[0]


def _sympify_potential(text: str) -> sp.Expr:
    try:
        return sp.parse_expr(text, local_dict={"x": X})
    except Exception as exc:
        raise MirrorError(f"cannot parse the potential {text!r}: {exc}") from None


def mirror_map(potential: Any, *, horizon: Any = None, name: Optional[str] = None,
               closed_form: bool = True) -> MirrorMap:
    """Build the :class:`MirrorMap` of a potential.

    ``potential``: a :class:`MirrorMap`; an object with a ``phi`` attribute (e.g.
    ``derivations.potentials.Potential``; its ``name`` and ``horizon`` are used); a sympy
    expression in a symbol named ``x``; or a string.  ``horizon`` overrides/sets the
    horizon (see :func:`numerics.margins.as_horizon`).  ``closed_form=False`` forces the
    Newton inverse (for cross-checks).
    """
    if isinstance(potential, MirrorMap):
        if horizon is not None:
            potential.horizon = as_horizon(horizon)
        return potential
    src = potential
    hz = horizon
    if hasattr(potential, "phi"):
        phi = potential.phi
        name = name or getattr(potential, "name", None)
        if hz is None:
            try:
                hz = getattr(potential, "horizon", None)
            except Exception:   # the horizon limit may not exist / be undecidable
                hz = None
    elif isinstance(potential, str):
        phi = _sympify_potential(potential)
    elif isinstance(potential, sp.Basic):
        phi = potential
    else:
        raise MirrorError(f"expected a potential (sympy expression, string or Potential), "
                          f"got {type(potential).__name__}")
    phi = sp.sympify(phi)
    xs = _find_x(phi)
    phi = phi.xreplace({xs: X}) if xs != X else phi
    name = name or str(phi)
    # evenness (phi' odd) -- needed for psi(z) = sign(z) psi_+(|z|)
    odd_part = phi.subs(X, -X) - phi
    if not _num_zero(odd_part, X, points=_CHECK_POINTS[:4]):
        raise MirrorError(f"potential {name}: phi must be even (phi(-x) = phi(x)); "
                          "separable mirror flows here assume an even potential")
    phi_pos = sp.simplify(phi.subs(X, _XP))
    dphi_pos = sp.simplify(sp.diff(phi_pos, _XP))
    d2phi_pos = sp.simplify(sp.diff(dphi_pos, _XP))
    G_pos = sp.simplify(_XP * dphi_pos - phi_pos)
    # strict convexity and phi' onto (0, inf) -- light checks with clear messages
    with mpmath.workdps(30):
        for pt in _CHECK_POINTS:
            v = sp.N(d2phi_pos.subs(_XP, pt), 30)
            if not (v.is_real and v > 0):
                raise MirrorError(f"potential {name}: phi'' = {d2phi_pos} is not positive at "
                                  f"x = {pt} (phi must be strictly convex)")
    lim_inf = sp.limit(dphi_pos, _XP, sp.oo)
    if lim_inf is not sp.oo:
        raise MirrorError(f"potential {name}: phi'(x) -> {lim_inf} as x -> oo; phi' must be "
                          "onto R (the dual variable z = phi'(theta) would be bounded)")
    lim0 = sp.limit(dphi_pos, _XP, 0, "+")
    if lim0 != 0:
        raise MirrorError(f"potential {name}: phi'(0+) = {lim0} != 0")
    d2_at_0 = sp.limit(d2phi_pos, _XP, 0, "+")
    even_d2 = _is_even_analytic(d2phi_pos)
    inv, kind, checks, odd_inv = None, "newton", {}, False
    if closed_form:
        inv, checks = _closed_form_inverse(dphi_pos)
        if inv is not None:
            kind = "closed form"
            odd_inv = _is_odd_analytic(inv)
    h = None if hz is None else as_horizon(hz)
    # second route: the derivatives (and inverse) of derivations.potentials, if given
    other = {}
    for attr, mine in (("dphi_pos", dphi_pos), ("d2phi_pos", d2phi_pos), ("G_pos", G_pos)):
        theirs = getattr(src, attr, None) if hasattr(src, "phi") else None
        if isinstance(theirs, sp.Basic):
            other[attr] = _num_zero(mine - theirs.xreplace(
                {s_: _XP for s_ in theirs.free_symbols if s_.name == "x"}), _XP)
    if other:
        checks = dict(checks, **{"agrees with derivations.potentials." + k: v
                                 for k, v in other.items()})
        bad = [k for k, v in other.items() if not v]
        if bad:
            raise MirrorError(f"potential {name}: {bad} disagree with derivations.potentials")
    return MirrorMap(name=name, phi=phi, phi_pos=phi_pos, dphi_pos=dphi_pos,
                     d2phi_pos=d2phi_pos, G_pos=G_pos, inverse_pos=inv, inverse_kind=kind,
                     inverse_checks=checks, horizon=h, d2phi_even_analytic=even_d2,
                     inverse_odd_analytic=odd_inv, d2phi_at_0=d2_at_0, source=src)


def _real_parity_check(e: sp.Expr, sym: sp.Symbol, sign: int) -> bool:
    """Is ``e(-u) = sign·e(u)`` with ``e`` real at ``±u`` for the check points (40 digits)?"""
    with mpmath.workdps(40):
        for pt in _CHECK_POINTS[:5]:
            try:
                a = complex(sp.N(e.subs(sym, pt), 40))
                b = complex(sp.N(e.subs(sym, -pt), 40))
            except (TypeError, ValueError):
                return False
            if abs(a.imag) > 1e-30 or abs(b.imag) > 1e-30:
                return False
            if not math.isfinite(a.real) or abs(b.real - sign * a.real) > 1e-28 * max(1, abs(a.real)):
                return False
    return True


def _is_even_analytic(e_pos: sp.Expr) -> bool:
    """Does the formula of ``e`` (derived for x > 0) define an even real function on R?"""
    e = e_pos.subs(_XP, X)
    if e.has(sp.Abs, sp.sign, sp.DiracDelta):
        return False
    return _real_parity_check(e, X, 1)


def _is_odd_analytic(inv_pos: sp.Expr) -> bool:
    """Does the formula of ``ψ₊`` define an odd real function on R (so no ``sign``/``Abs``)?"""
    e = inv_pos.subs(_ZP, _Z)
    if e.has(sp.Abs, sp.sign):
        return False
    return _real_parity_check(e, _Z, -1)


def _closed_form_inverse(dphi_pos: sp.Expr):
    """``ψ₊`` with ``φ'₊(ψ₊(z)) = z`` on ``z > 0`` from sympy.solve, checked; else None."""
    checks: dict = {}
    try:
        sols = sp.solve(sp.Eq(dphi_pos, _ZP), _XP)
    except Exception as exc:  # NotImplementedError and friends
        checks["solve"] = f"no closed form ({type(exc).__name__})"
        return None, checks
    for cand in sols:
        ok = True
        for pt in _CHECK_POINTS:
            v = sp.N(cand.subs(_ZP, pt), 40)
            if not (v.is_real or abs(sp.im(v)) < 1e-35):
                ok = False
                break
            if not sp.re(v) > 0:
                ok = False
                break
            back = sp.N(dphi_pos.subs(_XP, sp.re(v)), 40)
            if abs(back - pt) > 1e-30 * max(1, abs(pt)):
                ok = False
                break
        if not ok:
            continue
        checks["numeric"] = f"phi'(psi(z)) = z to 1e-30 at z in {[str(p) for p in _CHECK_POINTS]}"
        try:
            checks["symbolic"] = bool(sp.simplify(dphi_pos.subs(_XP, cand) - _ZP) == 0)
        except Exception:
            checks["symbolic"] = False
        return cand, checks
    checks["solve"] = "no candidate passed the substitution check"
    return None, checks


def catalogue_potential(name: str, **params) -> MirrorMap:
    key = (name, tuple(sorted((k, str(v)) for k, v in params.items())))
    if key not in _CATALOGUE_CACHE:
        _CATALOGUE_CACHE[key] = _catalogue_potential(name, **params)
    return _CATALOGUE_CACHE[key]


_CATALOGUE_CACHE: dict = {}


def _catalogue_potential(name: str, **params) -> MirrorMap:
    """A catalogue potential of :mod:`derivations.potentials` as a :class:`MirrorMap`.
    Names: ``quadratic``, ``p-power`` (``p=``), ``hyperbolic entropy`` (``alpha=``),
    ``cosh``, ``quadratic+quartic``, ``quadratic+p-power`` (``p=``)."""
    return mirror_map(_from_derivations(name, **params))


def _from_derivations(name, **params):
    """The catalogue entry ``name`` of :mod:`derivations.potentials` with numeric parameters."""
    from derivations import potentials as P
    table = {
        "quadratic": (P.quadratic, ()), "l2": (P.quadratic, ()),
        "p-power": (P.p_power, ("p",)), "ppower": (P.p_power, ("p",)),
        "p_power": (P.p_power, ("p",)),
        "hyperbolic entropy": (P.hyperbolic_entropy, ("alpha",)),
        "hyperbolic_entropy": (P.hyperbolic_entropy, ("alpha",)),
        "hypentropy": (P.hyperbolic_entropy, ("alpha",)),
        "cosh": (P.cosh_potential, ()),
        "quadratic+quartic": (P.quadratic_quartic, ()), "quadratic_quartic": (P.quadratic_quartic, ()),
        "quadratic+p-power": (P.quadratic_power, ("p",)), "quadratic_ppower": (P.quadratic_power, ("p",)),
    }
    if name not in table:
        raise MirrorError(f"unknown potential {name!r}; known: {sorted(table)}")
    make, keys = table[name]
    unknown = set(params) - set(keys)
    if unknown:
        raise MirrorError(f"potential {name!r} takes the parameters {list(keys)}, not {sorted(unknown)}")
    # numeric defaults: a flow needs numbers, not the symbolic family
    defaults = {"p": 3, "alpha": 1}
    return make(*[params.get(k, defaults[k]) for k in keys])


# ----------------------------------------------------------------------------------------
# data

@dataclass(frozen=True)
class Dataset:
    """Points ``X`` (rows, exact sympy Rationals) and labels ``y`` (±1)."""
    X: tuple
    y: tuple

    def __post_init__(self):
        if len(self.X) != len(self.y) or not self.X:
            raise MirrorError(f"{len(self.X)} points but {len(self.y)} labels")
        d = len(self.X[0])
        if any(len(r) != d for r in self.X):
            raise MirrorError("all points must have the same dimension")
        if any(v not in (1, -1) for v in self.y):
            raise MirrorError("labels must be +1 or -1")

    @classmethod
    def from_arrays(cls, X, y) -> "Dataset":
        rows = tuple(tuple(sp.nsimplify(v) if not isinstance(v, float) else
                           sp.Rational(*float(v).as_integer_ratio()) for v in r) for r in X)
        return cls(rows, tuple(int(v) for v in y))

    @property
    def n(self) -> int:
        return len(self.X)

    @property
    def dim(self) -> int:
        return len(self.X[0])

    def float_X(self) -> np.ndarray:
        return np.array([[float(v) for v in r] for r in self.X])

    def signed(self) -> np.ndarray:
        """Rows ``a_i = y_i x_i`` (float64)."""
        return self.float_X() * np.array(self.y, dtype=float)[:, None]


def separable_data(n: int, dim: int, *, seed: int = 0, denominator: int = 4,
                   min_margin: float = 0.25) -> Dataset:
    """Seeded, linearly separable (through the origin) data with small rational entries.

    Points have entries ``k/denominator`` with ``|k| ≤ 3·denominator``; labels come from a
    random unit direction ``u``; points with ``|⟨u, x⟩| < min_margin`` are redrawn.
    """
    if n < 1 or dim < 1:
        raise MirrorError("n and dim must be positive")
    rng = np.random.default_rng(seed)
    u = rng.normal(size=dim)
    u /= np.linalg.norm(u)
    rows, ys = [], []
    while len(rows) < n:
        k = rng.integers(-3 * denominator, 3 * denominator + 1, size=dim)
        xv = k / denominator
        m = float(u @ xv)
        if abs(m) < min_margin:
            continue
        rows.append(tuple(sp.Rational(int(v), denominator) for v in k))
        ys.append(1 if m > 0 else -1)
    return Dataset(tuple(rows), tuple(ys))


def orthant_data(n: int, dim: int, *, seed: int = 0, denominator: int = 4) -> Dataset:
    """Seeded data whose signed points ``a_i = y_i x_i`` have positive entries in
    ``[1/denominator, 3]`` (labels random ±1).

    Along gradient or mirror flow of a 2-layer net started with ``w_k > 0, a_k > 0`` or
    ``w_k < 0, a_k < 0`` (entrywise) no parameter and no pre-activation changes sign
    (the descent direction ``Σ_i (−ℓ'(q_i)) a_i`` stays in the positive orthant), so the
    Taylor integrator's fixed-sign ``|·|`` (squared ReLU, ``|x|^p``) is never crossed.
    """
    if n < 1 or dim < 1:
        raise MirrorError("n and dim must be positive")
    rng = np.random.default_rng(seed)
    rows, ys = [], []
    for _ in range(n):
        k = rng.integers(1, 3 * denominator + 1, size=dim)
        yi = 1 if rng.random() < 0.5 else -1
        rows.append(tuple(sp.Rational(int(yi * v), denominator) for v in k))
        ys.append(yi)
    return Dataset(tuple(rows), tuple(ys))


# ----------------------------------------------------------------------------------------
# models

class LinearModel:
    """``f(θ; x) = ⟨θ, x⟩``: ``L = 1``, no hidden units."""
    L = 1
    s = None
    units: tuple = ()

    def __init__(self, dim: int):
        if dim < 1:
            raise MirrorError("dim must be positive")
        self.dim = dim
        self.n_params = dim

    def param_names(self) -> list[str]:
        return [f"theta{j}" for j in range(self.dim)]

    def output(self, th: Sequence[sp.Expr], x: Sequence[sp.Expr]) -> sp.Expr:
        return sp.Add(*[t * v for t, v in zip(th, x)])

    def __repr__(self):
        return f"LinearModel(dim={self.dim})"


class Network:
    """``f(θ; x) = W_D σ(W_{D−1} … σ(W_1 x))``, scalar output, no biases; ``σ`` linear or
    ReLU (degree ``s = 1``) or squared ReLU (``s = 2``), the same in every hidden layer.

    ``widths = (dim, h_1, …, h_{D−1}, 1)``.  Parameter layout: layer by layer, unit by
    unit, each unit's incoming weights (the rows of ``W_1``, then of ``W_2``, …).
    ``units`` lists, for every hidden unit, (indices of its incoming weights, indices of
    its outgoing weights): scaling the first by ``c`` and the second by ``c^{-s}`` leaves
    ``f`` unchanged, which is what the balance law MF-2 rests on.  The network degree
    ``L`` (``f(cθ) = c^L f(θ)``) is derived by sympy on the all-active region, not
    declared.  Squared ReLU ``σ(u) = u·max(u, 0) = u(u + |u|)/2`` is C¹, not C²; ReLU
    ``σ(u) = (u + |u|)/2`` is not differentiable at 0, so its flow is only run as mirror
    descent (the Taylor integrator refuses ``sign``).

    >>> net = Network((2, 3, 2, 1), "squared_relu")
    >>> net.L, net.s, net.n_params, len(net.units)
    (7, 2, 14, 5)
    """

    #: activation -> homogeneity degree s of σ
    DEGREES = {"linear": 1, "relu": 1, "squared_relu": 2}

    def __init__(self, widths: Sequence[int], activation: str = "linear"):
        widths = tuple(int(w) for w in widths)
        if len(widths) < 3 or min(widths) < 1 or widths[-1] != 1:
            raise MirrorError(f"widths must be (dim, hidden widths..., 1) with positive entries "
                              f"and at least one hidden layer, got {widths}")
        if activation not in self.DEGREES:
            raise MirrorError(f"activation must be one of {sorted(self.DEGREES)}, got {activation!r}")
        self.widths, self.activation = widths, activation
        self.dim, self.depth = widths[0], len(widths) - 1
        self.s = self.DEGREES[activation]
        #: first parameter index of each weight matrix W_1 … W_D
        self._starts = [0]
        for fan_in, fan_out in zip(widths, widths[1:]):
            self._starts.append(self._starts[-1] + fan_in * fan_out)
        self.n_params = self._starts[-1]
        units = []
        for layer in range(1, self.depth):          # W_layer feeds hidden layer `layer`
            for k in range(widths[layer]):
                ins = tuple(self._index(layer, k, j) for j in range(widths[layer - 1]))
                outs = tuple(self._index(layer + 1, m, k) for m in range(widths[layer + 1]))
                units.append((ins, outs))
        self.units = tuple(units)
        self.L = self._derived_degree()

    def _index(self, layer: int, row: int, col: int) -> int:
        """Position of the entry ``(row, col)`` of ``W_layer`` (1-based layer)."""
        return self._starts[layer - 1] + row * self.widths[layer - 1] + col

    def _derived_degree(self) -> int:
        from derivations.homogeneous import homogeneity_degree
        c = sp.Symbol("c", positive=True)
        th = [sp.Symbol(nm, real=True) for nm in self.param_names()]
        x = sp.symbols(f"x0:{self.dim}", real=True)
        active = lambda e: e.replace(sp.Abs, lambda u: u)  # noqa: E731  (the all-active region)
        f = active(self.output(th, x))
        return int(homogeneity_degree(active(self.output([c * t for t in th], x)), f, c))

    def param_names(self) -> list[str]:
        return [f"W{layer}_{row}_{col}" for layer in range(1, self.depth + 1)
                for row in range(self.widths[layer]) for col in range(self.widths[layer - 1])]

    def sigma(self, u):
        if self.activation == "linear":
            return u
        relu = (u + sp.Abs(u)) / 2
        return relu if self.activation == "relu" else u * relu

    def output(self, th, x):
        h = list(x)
        for layer in range(1, self.depth + 1):
            pre = [sp.Add(*[th[self._index(layer, k, j)] * h[j] for j in range(len(h))])
                   for k in range(self.widths[layer])]
            h = pre if layer == self.depth else [self.sigma(u) for u in pre]
        return h[0]

    def __repr__(self):
        return f"Network(widths={self.widths}, activation={self.activation!r})"


class TwoLayerNet(Network):
    """``f(θ; x) = Σ_k a_k σ(w_kᵀ x)``: :class:`Network` with widths ``(dim, width, 1)``;
    parameters ``[w_1, …, w_width, a]`` (``L = 1 + s``)."""

    def __init__(self, width: int, dim: int, activation: str = "linear"):
        if width < 1 or dim < 1:
            raise MirrorError("width and dim must be positive")
        super().__init__((dim, width, 1), activation)
        self.width = width

    def __repr__(self):
        return f"TwoLayerNet(width={self.width}, dim={self.dim}, activation={self.activation!r})"


def _loss_expr(q, loss):
    if loss == "exp":
        return sp.exp(-q)
    if loss == "logistic":
        return sp.log(1 + sp.exp(-q))
    raise MirrorError(f"loss must be 'exp' or 'logistic', got {loss!r}")


def _neg_dloss_expr(q, loss):
    """``−ℓ'(q)``."""
    if loss == "exp":
        return sp.exp(-q)
    return 1 / (1 + sp.exp(q))


# ----------------------------------------------------------------------------------------
# the problem: model + data + potential + loss

class MirrorProblem:
    """Mirror flow of ``ℒ(θ) = Σ_i ℓ(y_i f(θ; x_i))`` with potential ``Σ_j φ(θ_j)``.

    ``model``: :class:`LinearModel` or :class:`TwoLayerNet`; ``data``: :class:`Dataset`;
    ``potential``: anything :func:`mirror_map` accepts; ``loss``: ``"exp"`` or
    ``"logistic"``.  Builds the sympy margins ``q_i(θ)`` (exact data) and compiles float64
    and mpmath evaluators of the margins and their gradients.
    """

    def __init__(self, model, data: Dataset, potential: Any, loss: str = "exp", *,
                 horizon: Any = None):
        if loss not in ("exp", "logistic"):
            raise MirrorError(f"loss must be 'exp' or 'logistic', got {loss!r}")
        if not isinstance(data, Dataset):
            raise MirrorError(f"data must be a Dataset, got {type(data).__name__}")
        if data.dim != model.dim:
            raise MirrorError(f"data have dimension {data.dim}, the model expects {model.dim}")
        self.model, self.data, self.loss = model, data, loss
        self.mirror = mirror_map(potential, horizon=horizon)
        self.L = model.L
        self.theta_syms = [sp.Symbol(nm, real=True) for nm in model.param_names()]
        self.z_syms = [sp.Symbol("z_" + nm, real=True) for nm in model.param_names()]
        self.P = model.n_params
        self.margin_exprs = [sp.expand(yi * model.output(self.theta_syms, xi))
                             if isinstance(model, LinearModel) else
                             yi * model.output(self.theta_syms, xi)
                             for xi, yi in zip(data.X, data.y)]
        self.loss_expr = sp.Add(*[_loss_expr(q, loss) for q in self.margin_exprs])
        self._num: dict = {}
        self.A = data.signed() if isinstance(model, LinearModel) else None

    @property
    def horizon(self) -> Optional[Horizon]:
        return self.mirror.horizon

    def __repr__(self):
        return (f"<MirrorProblem {self.model!r} n={self.data.n} potential={self.mirror.name!r}"
                f" loss={self.loss}>")

    # -- numeric evaluators -------------------------------------------------------------
    def _compiled(self, module):
        if module not in self._num:
            q = sp.Matrix(self.margin_exprs)
            J = q.jacobian(self.theta_syms)
            if module == "mpmath":
                fq = sp.lambdify([self.theta_syms], list(q), modules="mpmath", cse=True)
                fJ = sp.lambdify([self.theta_syms], J.tolist(), modules="mpmath", cse=True)
            else:
                fq = sp.lambdify([self.theta_syms], list(q), modules="numpy", cse=True)
                fJ = sp.lambdify([self.theta_syms], J.tolist(), modules="numpy", cse=True)
            self._num[module] = (fq, fJ)
        return self._num[module]

    def margins(self, theta):
        """``q_i(θ)`` — numpy array for float input, list of mpf for mpf input."""
        if _is_mp_vec(theta):
            return list(self._compiled("mpmath")[0](list(theta)))
        th = np.asarray(theta, dtype=float)
        if self.A is not None:
            return self.A @ th
        return np.asarray(self._compiled("numpy")[0](list(th)), dtype=float)

    def margin_grads(self, theta):
        """Rows ``∇q_i(θ)`` (numpy ``(n, P)`` or nested lists of mpf)."""
        if _is_mp_vec(theta):
            return self._compiled("mpmath")[1](list(theta))
        th = np.asarray(theta, dtype=float)
        if self.A is not None:
            return self.A
        return np.asarray(self._compiled("numpy")[1](list(th)), dtype=float)

    def log_loss(self, theta):
        """``log ℒ(θ)`` by log-sum-exp (float or mpf)."""
        q = self.margins(theta)
        if _is_mp_vec(theta):
            return _mp_logsumexp([_mp_log_ell(v, self.loss) for v in q])
        return float(_np_logsumexp(_np_log_ell(np.asarray(q), self.loss)))

    def grad_loss(self, theta):
        """``∇ℒ(θ) = Σ_i ℓ'(q_i) ∇q_i`` (float or mpf)."""
        q = self.margins(theta)
        J = self.margin_grads(theta)
        if _is_mp_vec(theta):
            dl = [-_mp_neg_dloss(v, self.loss) for v in q]
            return [mpmath.fsum(dl[i] * J[i][j] for i in range(len(q))) for j in range(self.P)]
        dl = -np.exp(_np_log_neg_dloss(np.asarray(q), self.loss))
        return dl @ np.asarray(J)

    def theta_of_z(self, z):
        return [self.mirror.inv(v) for v in z] if _is_mp_vec(z) else \
            np.array([self.mirror.inv(float(v)) for v in z])

    def z_of_theta(self, theta):
        return [self.mirror.dphi(v) for v in theta] if _is_mp_vec(theta) else \
            np.array([self.mirror.dphi(float(v)) for v in theta])

    # -- monitored quantities -------------------------------------------------------------
    def balances(self, theta, *, G: Optional[Callable] = None) -> list:
        """MF-2: per hidden unit ``Σ_in G(θ_j) − s Σ_out G(θ_j)`` (``G`` of the potential)."""
        if not self.model.units:
            raise MirrorError(f"{self.model!r} has no hidden units: no balance law")
        G = G or self.mirror.G
        s = self.model.s
        out = []
        for ins, outs in self.model.units:
            out.append(sum(G(theta[j]) for j in ins) - s * sum(G(theta[j]) for j in outs))
        return out

    def euclidean_balances(self, theta) -> list:
        """The same with the quadratic ``G = x²/2`` (Du–Hu–Lee): the MF-2 falsifier."""
        return self.balances(theta, G=lambda t: t * t / 2)

    def dual_energy(self, theta):
        """MF-3: ``Σ_j G(θ_j)``."""
        vals = [self.mirror.G(t) for t in theta]
        return mpmath.fsum(vals) if _is_mp_vec(theta) else float(math.fsum(vals))

    def energy_rate(self, theta):
        """MF-3 right side ``L Σ_i (−ℓ'(q_i)) q_i``."""
        q = self.margins(theta)
        if _is_mp_vec(theta):
            return self.L * mpmath.fsum(_mp_neg_dloss(v, self.loss) * v for v in q)
        q = np.asarray(q)
        return float(self.L * np.sum(np.exp(_np_log_neg_dloss(q, self.loss)) * q))

    # -- Taylor systems -------------------------------------------------------------------
    def taylor_system(self, route: str = "primal", *, energy: bool = False):
        """The mirror flow in time ``t`` as a :class:`numerics.taylor.TaylorSystem`.

        ``route="primal"``: state ``θ``, ``θ̇_j = −∂_jℒ/φ''(θ_j)``; ``"dual"``: state ``z``,
        ``ż_j = −∂_jℒ(ψ(z))`` with the closed-form ``ψ``.  ``energy=True`` appends the
        state ``E`` with ``Ė = L Σ_i (−ℓ'(q_i)) q_i`` (MF-3 witness).
        """
        from numerics.taylor import TaylorSystem
        key = ("taylor", route, energy)
        if key in self._num:
            return self._num[key]
        th = self.theta_syms
        grad = [sp.diff(self.loss_expr, t) for t in th]
        E = sp.Symbol("E_energy", real=True)
        rate = self.L * sp.Add(*[_neg_dloss_expr(q, self.loss) * q for q in self.margin_exprs])
        if route == "primal":
            state = list(th)
            rhs = [-g / self.mirror.d2phi_expr(t) for g, t in zip(grad, th)]
        elif route == "dual":
            state = list(self.z_syms)
            sub = {t: self.mirror.inverse_expr(z) for t, z in zip(th, self.z_syms)}
            rhs = [-g.xreplace(sub) for g in grad]
            rate = rate.xreplace(sub)
        else:
            raise MirrorError(f"route must be 'primal' or 'dual', got {route!r}")
        rhs = [_taylor_friendly(e) for e in rhs]
        if energy:
            state.append(E)
            rhs.append(_taylor_friendly(rate))
        sysm = TaylorSystem(state, rhs, name=f"mirror_{route}")
        self._num[key] = sysm
        return sysm

    def rescaled_taylor_system(self):
        """Rescaled-time system (state ``z``, ``v = log(1+t)``) for :func:`rescaled_flow_mp`."""
        from numerics.taylor import TaylorSystem
        key = ("taylor_rescaled",)
        if key in self._num:
            return self._num[key]
        th = self.theta_syms
        sub = {t: self.mirror.inverse_expr(z) for t, z in zip(th, self.z_syms)}
        v = sp.Symbol("v_logt", real=True)
        ells = [_loss_expr(q, self.loss) for q in self.margin_exprs]
        Ls = sp.Add(*ells)
        grads = [[sp.diff(q, t) for t in th] for q in self.margin_exprs]
        w = [_neg_dloss_expr(q, self.loss) / Ls for q in self.margin_exprs]
        rhs = [sp.Add(*[w[i] * grads[i][j] for i in range(self.data.n)]) for j in range(self.P)]
        rhs.append(sp.exp(-v) / Ls)
        rhs = [_taylor_friendly(e.xreplace(sub)) for e in rhs]
        sysm = TaylorSystem(list(self.z_syms) + [v], rhs, name="mirror_rescaled")
        self._num[key] = sysm
        return sysm


def _is_mp_vec(v) -> bool:
    try:
        return len(v) > 0 and isinstance(v[0], mpmath.mpf)
    except TypeError:
        return False


# log-space loss helpers -------------------------------------------------------------------

def _np_logsumexp(a):
    m = np.max(a)
    return m + np.log(np.sum(np.exp(a - m)))


def _np_log_ell(q, loss):
    """``log ℓ(q)`` elementwise without underflow."""
    if loss == "exp":
        return -q
    sp_ = np.logaddexp(0.0, -q)                 # softplus(-q) = ℓ(q)
    big = q > 30
    out = np.empty_like(q)
    with np.errstate(divide="ignore"):
        out[~big] = np.log(sp_[~big])
    u = np.exp(-q[big])
    out[big] = -q[big] - u / 2     # log ℓ = −q + log(log1p(u)/u) = −q − u/2 + O(u²)
    return out


def _np_log_neg_dloss(q, loss):
    """``log(−ℓ'(q))``."""
    if loss == "exp":
        return -q
    return -np.logaddexp(0.0, q)


def _np_dlog_neg_dloss(q, loss):
    """``d/dq log(−ℓ'(q))``."""
    if loss == "exp":
        return -np.ones_like(q)
    return -1.0 / (1.0 + np.exp(-q))


def _mp_log_ell(q, loss):
    if loss == "exp":
        return -q
    u = mpmath.exp(-q)
    return mpmath.log(mpmath.log1p(u))


def _mp_neg_dloss(q, loss):
    if loss == "exp":
        return mpmath.exp(-q)
    return 1 / (1 + mpmath.exp(q))


def _mp_logsumexp(vals):
    m = max(vals)
    return m + mpmath.log(mpmath.fsum(mpmath.exp(v - m) for v in vals))


# ----------------------------------------------------------------------------------------
# mirror flow in time t (Taylor, arbitrary precision)

@dataclass
class MirrorFlowResult:
    """Output of :func:`mirror_flow`: ``t``, ``theta`` (lists of mpf), ``energy_witness``
    (``E(t)`` or ``None``), the :class:`numerics.taylor.TaylorResult` ``taylor``."""
    t: list
    theta: list
    z: list
    energy_witness: Optional[list]
    route: str
    dps: int
    taylor: Any

    def to_dict(self, digits: int = 20) -> dict:
        s = lambda v: mpmath.nstr(v, digits)  # noqa: E731
        return {"route": self.route, "dps": self.dps, "t": [s(v) for v in self.t],
                "theta": [[s(v) for v in r] for r in self.theta],
                "integrator": self.taylor.integrator, "steps": self.taylor.steps,
                "order": self.taylor.order, "seconds": self.taylor.seconds}


def mirror_flow(problem: MirrorProblem, theta0: Sequence[Any], t_end: Any, *, dps: int,
                times: Optional[Sequence[Any]] = None, route: str = "primal",
                energy: bool = False, tol: Any = None) -> MirrorFlowResult:
    """Integrate the mirror flow from ``θ(0) = theta0`` to ``t_end`` at ``dps`` digits.

    ``theta0`` exact values are welcome (Fractions, sympy Rationals, strings).  For
    ``route="dual"`` the initial dual point ``z0 = φ'(θ0)`` is computed at ``dps + 20``
    digits.  Returns :class:`MirrorFlowResult` (``theta`` at ``times`` or ``t_end``).
    """
    from numerics.taylor import integrate
    if len(theta0) != problem.P:
        raise MirrorError(f"theta0 must have {problem.P} entries, got {len(theta0)}")
    sysm = problem.taylor_system(route, energy=energy)
    with mpmath.workdps(dps + 20):
        th0 = [_to_mpf(v) for v in theta0]
        if route == "dual":
            y0 = [problem.mirror.dphi(v) for v in th0]
        else:
            y0 = [exact_number(v, "theta0") for v in theta0]
    if energy:
        y0 = list(y0) + [0]
    res = integrate(sysm, y0, t_end, dps=dps, times=times, tol=tol)
    P = problem.P
    with mpmath.workdps(dps + 10):
        if route == "dual":
            zs = [list(r[:P]) for r in res.y]
            ths = [[problem.mirror.inv(v) for v in r] for r in zs]
        else:
            ths = [list(r[:P]) for r in res.y]
            zs = [[problem.mirror.dphi(v) for v in r] for r in ths]
    ew = [r[P] for r in res.y] if energy else None
    return MirrorFlowResult(list(res.t), ths, zs, ew, route, dps, res)


def _to_mpf(v):
    from derivations.kernels import to_mpf
    return to_mpf(v)


# ----------------------------------------------------------------------------------------
# rescaled time (exponential / logistic loss on separable data)

@dataclass
class RescaledFlowResult:
    """Output of :func:`rescaled_flow` / :func:`rescaled_flow_mp` at the sample points ``s``.

    Arrays (float64, or lists of mpf for the mp route): ``z``, ``theta``, ``log_t``,
    ``log_loss``, ``margins`` (min margin), and, when the potential has a horizon,
    ``Q`` (``Q_∞(θ)``), ``q_margin`` (``γ_Q``), ``smoothed``.
    """
    s: Any
    z: Any
    theta: Any
    log_t: Any
    log_loss: Any
    min_margin: Any
    Q: Any
    q_margin: Any
    smoothed: Any
    L: int
    stats: dict

    def to_dict(self, digits: int = 10) -> dict:
        f = lambda v: mpmath.nstr(v, digits) if isinstance(v, mpmath.mpf) else f"{float(v):.{digits}g}"  # noqa: E731
        out = {"s": [f(v) for v in self.s], "log_t": [f(v) for v in self.log_t],
               "log_loss": [f(v) for v in self.log_loss],
               "theta": [[f(v) for v in r] for r in self.theta], "stats": self.stats}
        if self.Q is not None:
            out["Q"] = [f(v) for v in self.Q]
            out["q_margin"] = [f(v) for v in self.q_margin]
            out["smoothed_margin"] = [f(v) for v in self.smoothed]
        return out


def _rescaled_rhs_and_jac(problem: MirrorProblem):
    mm = problem.mirror
    P = problem.P
    loss = problem.loss
    lin = problem.A is not None

    def theta_dtheta(z):
        th = np.empty(P)
        dth = np.empty(P)
        for j in range(P):
            th[j] = mm.inv(float(z[j]))
            dth[j] = min(float(mm.dinv(float(z[j]))), 1e300)   # psi'(0) = inf for p > 2
        return th, dth

    def parts(y):
        z = y[:P]
        th, dth = theta_dtheta(z)
        q = problem.margins(th)
        Jq = problem.margin_grads(th)
        lell = _np_log_ell(q, loss)
        logL = float(_np_logsumexp(lell))
        w = np.exp(_np_log_neg_dloss(q, loss) - logL)
        return th, dth, q, Jq, logL, w

    def rhs(s, y):
        try:
            th, dth, q, Jq, logL, w = parts(y)
            out = np.empty(P + 1)
            out[:P] = w @ Jq
            out[P] = math.exp(min(-logL - y[P], 700.0))
        except (MirrorError, OverflowError, FloatingPointError, ValueError):
            # an implicit solver's Newton iterate left the float64 range: report NaN so
            # that the solver rejects the step and retries with a smaller one
            return np.full(P + 1, np.nan)
        return out

    jac = None
    if lin:
        A = problem.A

        def jac(s, y):
            try:
                th, dth, q, Jq, logL, w = parts(y)
            except (MirrorError, OverflowError, FloatingPointError, ValueError):
                return np.full((P + 1, P + 1), np.nan)
            hp = _np_dlog_neg_dloss(q, loss)
            # dw_i/dq_k = w_i (h'(q_i) δ_ik + w_k)   (d logℒ/dq_k = -w_k)
            dWdq = np.diag(w * hp) + np.outer(w, w)
            dqdz = A * dth[None, :]
            J = np.zeros((P + 1, P + 1))
            J[:P, :P] = A.T @ dWdq @ dqdz
            e = math.exp(min(-logL - y[P], 700.0))
            # d(-logℒ)/dz = Σ_k w_k dq_k/dz
            J[P, :P] = e * (w @ dqdz)
            J[P, P] = -e
            return J
    return rhs, jac, parts


def rescaled_flow(problem: MirrorProblem, s_end: float, *, s_eval: Optional[Sequence[float]] = None,
                  theta0: Optional[Sequence[Any]] = None, rtol: float = 1e-10,
                  atol: float = 1e-12, method: str = "LSODA", first_step: Optional[float] = None,
                  max_step: float = math.inf, theta_max: float = 1e12,
                  max_nfev: int = 200_000) -> RescaledFlowResult:
    """float64 mirror flow in the rescaled time ``s`` (``ds = ℒ dt``), see the module doc.

    ``theta0`` defaults to 0 (``z = 0``, the minimiser of ``R``) — for a network, whose
    gradient vanishes at 0, pass a non-zero initialization.  ``s_eval`` are the output
    points (default: ``s_end`` only).  ``method``: a ``solve_ivp`` method; ``"LSODA"``
    (default) switches between Adams and BDF and handles both the stiff hyperbolic-entropy
    flow and the ``ψ'(0) = ∞`` start of ``|x|^p/p``, ``p > 2`` (measured: 100–1000 times
    fewer evaluations than ``"Radau"`` on those, same values to 1e-11).

    Guards (float64 cannot resolve margin differences of order 1 once ``|θ| ≳ 1e12``):
    the integration stops when ``max_j |θ_j| > theta_max`` or after ``max_nfev``
    evaluations; the result then holds only the ``s_eval`` points reached and
    ``stats["stopped"]`` says why.  For ``L > 1`` the parameters grow exponentially in
    ``s`` (doubly exponentially with hyperbolic entropy), so useful ``s`` ranges are short.
    """
    from scipy.integrate import solve_ivp
    P = problem.P
    th0 = np.zeros(P) if theta0 is None else np.array([float(v) for v in theta0])
    z0 = problem.z_of_theta(th0)
    rhs, jac, parts = _rescaled_rhs_and_jac(problem)
    y0 = np.concatenate([z0, [0.0]])
    s_start = 0.0
    if any(problem.mirror.dinv(float(v)) == math.inf for v in z0):
        # psi'(z0) = inf (e.g. |x|^p/p with p > 2 at z = 0): an implicit solver cannot
        # start there.  One explicit Euler step of length 1e-12 (local error
        # O(s^{1+1/(p-1)}) < 1e-15 for p <= 4), then the implicit solver.
        s_start = 1e-12
        y0 = y0 + s_start * rhs(0.0, y0)
    s_eval = [float(s_end)] if s_eval is None else [float(v) for v in s_eval]
    s_eval = [max(v, s_start) for v in s_eval]
    kw = {}
    if method in ("Radau", "BDF", "LSODA") and jac is not None:
        kw["jac"] = jac
    if first_step is not None:
        kw["first_step"] = first_step
    counter = [0]

    class _Budget(Exception):
        pass

    def rhs_counted(s, y):
        counter[0] += 1
        if counter[0] > max_nfev:
            raise _Budget()
        return rhs(s, y)

    log_tmax = math.log(theta_max)

    def too_big(s, y):
        zmax = float(np.max(np.abs(y[:P])))
        try:
            tm = abs(problem.mirror.inv(zmax))
        except (MirrorError, OverflowError):
            return 1.0
        return (math.log(tm) if tm > 0 else -700.0) - log_tmax

    too_big.terminal = True
    too_big.direction = 1
    stopped = None
    t0 = _time.perf_counter()
    with np.errstate(over="ignore", invalid="ignore"):
        try:
            sol = solve_ivp(rhs_counted, (s_start, float(s_end)), y0, method=method,
                            t_eval=s_eval, rtol=rtol, atol=atol, max_step=max_step,
                            events=too_big, **kw)
        except _Budget:
            sol = None
            stopped = f"evaluation budget max_nfev={max_nfev} exhausted"
    secs = _time.perf_counter() - t0
    if sol is None:
        # rerun up to the budget with dense output is costly; redo with a shorter horizon
        raise MirrorError(f"rescaled flow: {stopped} before s = {s_end} ({secs:.1f} s); "
                          "shorten s_end (the flow may be too stiff for float64 here)")
    if sol.status == 1:
        stopped = (f"max|theta| reached theta_max = {theta_max:g} at s = "
                   f"{float(sol.t_events[0][0]):.6g}")
    if not sol.success:
        raise MirrorError(f"solve_ivp({method}) failed: {sol.message} (the iterate may have "
                          "left the float64 range: shorten s_end or use rescaled_flow_mp)")
    Y = sol.y.T
    if not np.all(np.isfinite(Y)):
        raise MirrorError("the float64 rescaled flow produced non-finite values")
    thetas, logLs, mins = [], [], []
    for y in Y:
        th, dth, q, Jq, logL, w = parts(y)
        thetas.append(th)
        logLs.append(logL)
        mins.append(float(np.min(q)))
    thetas = np.array(thetas)
    v = Y[:, P]
    log_t = v + np.log(-np.expm1(-v))     # log t = v + log(1 - e^{-v})
    Q = qm = sm = None
    h = problem.horizon
    if h is not None:
        from numerics.margins import loss_inverse_log
        Q = np.array([q_inf(th, h) for th in thetas])
        qm = np.array(mins) / Q ** problem.L
        sm = np.array([loss_inverse_log(ll, problem.loss) for ll in logLs]) / Q ** problem.L
    stats = {"integrator": f"scipy solve_ivp {method} (float64), rescaled time ds = L dt",
             "rtol": rtol, "atol": atol, "nfev": int(sol.nfev), "njev": int(sol.njev),
             "nlu": int(sol.nlu), "seconds": round(secs, 4),
             "jacobian": "analytic" if "jac" in kw else "finite differences",
             "stopped": stopped}
    return RescaledFlowResult(np.asarray(sol.t), Y[:, :P], thetas, log_t, np.array(logLs),
                              np.array(mins), Q, qm, sm, problem.L, stats)


def rescaled_flow_mp(problem: MirrorProblem, s_end: Any, *, dps: int,
                     s_eval: Optional[Sequence[Any]] = None,
                     theta0: Optional[Sequence[Any]] = None) -> RescaledFlowResult:
    """The rescaled-time flow at ``dps`` digits with the Taylor integrator.

    Needs the closed-form inverse mirror map.  The Taylor method is explicit: use it for
    potentials whose flow is not stiff in ``s`` (quadratic, ``ℓp`` with ``p ≥ 2``,
    quadratic+quartic, cosh); for hyperbolic entropy its step shrinks like ``1/Q_∞``.
    MPFR's exponent range (about ``2^{±10^9}``) covers ``e^{-q}`` for ``q < 7·10^8``.
    """
    from numerics.taylor import integrate
    P = problem.P
    sysm = problem.rescaled_taylor_system()
    with mpmath.workdps(dps + 20):
        th0 = [mpmath.mpf(0)] * P if theta0 is None else [_to_mpf(v) for v in theta0]
        z0 = [problem.mirror.dphi(v) for v in th0]
    if not problem.mirror.inverse_odd_analytic and any(v == 0 for v in z0):
        raise MirrorError(f"rescaled_flow_mp: psi(z) = sign(z) psi_+(|z|) for {problem.mirror.name}"
                          " is not analytic at z = 0 and the flow starts there; start from a "
                          "point with all theta_j != 0 or use rescaled_flow (float64)")
    res = integrate(sysm, z0 + [0], s_end, dps=dps, times=s_eval)
    zs, thetas, logLs, mins, logts = [], [], [], [], []
    Q = qm = sm = None
    with mpmath.workdps(dps):
        for row in res.y:
            z = list(row[:P])
            th = [problem.mirror.inv(v) for v in z]
            q = problem.margins(th)
            zs.append(z)
            thetas.append(th)
            logLs.append(_mp_logsumexp([_mp_log_ell(v, problem.loss) for v in q]))
            mins.append(min(q))
            vv = row[P]
            logts.append(vv + mpmath.log(-mpmath.expm1(-vv)))
        h = problem.horizon
        if h is not None:
            from numerics.margins import loss_inverse_log
            Q = [q_inf(th, h) for th in thetas]
            qm = [m / Qv ** problem.L for m, Qv in zip(mins, Q)]
            sm = [loss_inverse_log(ll, problem.loss) / Qv ** problem.L for ll, Qv in zip(logLs, Q)]
    stats = {"integrator": res.integrator + ", rescaled time ds = L dt", "dps": dps,
             "steps": res.steps, "order": res.order, "seconds": round(res.seconds, 4)}
    return RescaledFlowResult(list(res.t), zs, thetas, logts, logLs, mins, Q, qm, sm,
                              problem.L, stats)


# ----------------------------------------------------------------------------------------
# mirror descent

@dataclass
class MirrorDescentResult:
    """Iterates of :func:`mirror_descent` at the requested step indices."""
    eta: Any
    steps: list
    theta: list
    z: list
    seconds: float


def mirror_descent(problem: MirrorProblem, theta0: Sequence[Any], eta: Any, n_steps: int, *,
                   dps: Optional[int] = None, record: Optional[Sequence[int]] = None
                   ) -> MirrorDescentResult:
    """Mirror descent ``z_{k+1} = z_k − η ∇ℒ(ψ(z_k))``, ``θ_k = ψ(z_k)``.

    This is the explicit Euler method for the dual form of mirror flow; after ``k`` steps
    it approximates the flow at ``t = kη`` with a first-order error ``O(η)``.  float64 when
    ``dps`` is None, else mpmath at ``dps`` digits.  ``record``: step indices to keep
    (default: the last).
    """
    if n_steps < 0:
        raise MirrorError("n_steps must be >= 0")
    rec = {n_steps} if record is None else set(int(k) for k in record)
    t0 = _time.perf_counter()
    steps, ths, zs = [], [], []
    if dps is None:
        eta_f = float(eta)
        th = np.array([float(_to_mpf(v)) if not isinstance(v, float) else v for v in theta0])
        z = problem.z_of_theta(th)
        for k in range(n_steps + 1):
            if k in rec:
                steps.append(k)
                ths.append(th.copy())
                zs.append(z.copy())
            if k == n_steps:
                break
            z = z - eta_f * problem.grad_loss(th)
            th = problem.theta_of_z(z)
    else:
        with mpmath.workdps(dps):
            eta_m = _to_mpf(eta)
            th = [_to_mpf(v) for v in theta0]
            z = problem.z_of_theta(th)
            for k in range(n_steps + 1):
                if k in rec:
                    steps.append(k)
                    ths.append(list(th))
                    zs.append(list(z))
                if k == n_steps:
                    break
                g = problem.grad_loss(th)
                z = [a - eta_m * b for a, b in zip(z, g)]
                th = problem.theta_of_z(z)
    return MirrorDescentResult(eta, steps, ths, zs, _time.perf_counter() - t0)


# ----------------------------------------------------------------------------------------
# rates

def fit_exponent(x: Sequence[float], y: Sequence[float]) -> float:
    """Least-squares slope of ``log y`` against ``log x`` (e.g. ``Q_∞`` against ``log t``)."""
    lx = np.log(np.asarray(x, dtype=float))
    ly = np.log(np.asarray(y, dtype=float))
    if lx.size < 2:
        raise MirrorError("need at least two points to fit an exponent")
    return float(np.polyfit(lx, ly, 1)[0])
