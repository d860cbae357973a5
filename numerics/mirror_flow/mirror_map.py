"""The mirror map of an even, strictly convex potential φ: φ', φ'', G = xφ' − φ and the
inverse ψ = (φ')⁻¹, as sympy expressions and as float64, numpy and mpmath functions.

Requirements
    every potential passes :func:`derivations.potentials.validate` first (real, even,
    strictly convex on all of R, ``φ'`` onto R, differentiable at 0), so a potential the
    derivations refuse is refused here with the same message; text is read by
    :func:`derivations.parsing.parse_expression`, never evaluated as Python.

The inverse mirror map ``ψ`` (:class:`MirrorMap`)
    ``φ`` is even, so ``φ'`` is odd and ``ψ(z) = sign(z) ψ₊(|z|)`` with
    ``ψ₊`` the inverse of ``φ'`` on ``(0, ∞)``.  ``ψ₊`` comes from ``sympy.solve`` on the
    positive half line when a closed form exists (``α sinh z`` for hyperbolic entropy,
    ``asinh z`` for cosh, ``z^{1/(p−1)}`` for ``|x|^p/p``, Cardano's formula for
    ``x²/2 + x⁴/4``); every candidate is checked by substitution — numerically at
    40 digits at several points, and symbolically (``simplify(φ'(ψ₊(z)) − z) == 0``,
    recorded but not required, see the pitfalls in docs/) — and otherwise a safeguarded
    Newton/bisection solve at working precision is used.  Derivatives are taken on the
    positive half line (``positive=True``) and extended by parity, which avoids the
    ``sign``/``DiracDelta`` terms sympy produces for ``|x|^p`` (the pitfalls in docs/).

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
from dataclasses import dataclass, field
from typing import Any, Optional

import mpmath
import numpy as np
import sympy as sp

from derivations.parsing import ParseError, parse_expression
from derivations.potentials import PotentialError, validate
from numerics.mirror_flow.margins import Horizon, as_horizon

__all__ = ["X", "MirrorError", "MirrorMap", "mirror_map", "catalogue_potential"]

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
    """Rewrite hyperbolic functions into exp/log/sqrt (what numerics.core.taylor supports)."""
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
    (:class:`~numerics.mirror_flow.margins.Horizon` or ``None``), ``source`` (the object it came from).

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
    """The potential in ``text``, read by :func:`derivations.parsing.parse_expression` (never as Python)."""
    try:
        return parse_expression(text, {"x": X}, exact=True)
    except ParseError as exc:
        raise MirrorError(f"cannot read the potential: {exc}") from None


def _check_requirements(phi: sp.Expr, name: str) -> None:
    """The requirements of :func:`derivations.potentials.validate` (real, even, strictly convex
    on R, φ' onto R, differentiable at 0; not the horizon), as a :class:`MirrorError`."""
    try:
        validate(phi, name=name, check_horizon=False)
    except PotentialError as exc:
        raise MirrorError(f"potential {name}: {exc}") from None


def mirror_map(potential: Any, *, horizon: Any = None, name: Optional[str] = None,
               closed_form: bool = True) -> MirrorMap:
    """Build the :class:`MirrorMap` of a potential.

    ``potential``: a :class:`MirrorMap`; an object with a ``phi`` attribute (e.g.
    ``derivations.potentials.Potential``; its ``name`` and ``horizon`` are used); a sympy
    expression in a symbol named ``x``; or a string.  ``horizon`` overrides/sets the
    horizon (see :func:`numerics.mirror_flow.margins.as_horizon`).  ``closed_form=False`` forces the
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
    _check_requirements(phi, name)  # phi even (so psi(z) = sign(z) psi_+(|z|)), convex, phi' onto R, ...
    phi_pos = sp.simplify(phi.subs(X, _XP))
    dphi_pos = sp.simplify(sp.diff(phi_pos, _XP))
    d2phi_pos = sp.simplify(sp.diff(dphi_pos, _XP))
    G_pos = sp.simplify(_XP * dphi_pos - phi_pos)
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
                     inverse_odd_analytic=odd_inv, source=src)


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
