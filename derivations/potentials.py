"""Separable mirror potentials ``R(θ) = Σ_j φ(θ_j)`` and the objects derived from them (docs/mirror_flow.md, Objects).

A :class:`Potential` holds one even, strictly convex ``φ`` (a sympy expression in the real
symbol :data:`x`) and derives, lazily and mechanically,

* ``dphi``, ``d2phi`` — ``φ'``, ``φ''`` on R;
* ``inverse_dphi`` — ``X(y) = (φ')^{-1}(y)`` on ``y > 0``, found by structural inversion
  (or ``sympy.solve``), and ``conjugate`` — the Legendre transform
  ``φ*(y) = y X(y) − φ(X(y))``, extended to R as an even function; ``None`` when there is
  no usable closed form (``conjugate_note`` says why);
* ``G`` — ``x φ'(x) − φ(x)``, and ``G_via_conjugate`` — ``φ*(φ'(x))`` on ``x > 0``
  (Fenchel–Young: they agree);
* ``horizon`` — ``h(u) = lim_{X→∞} φ(uX)/φ(X)`` for ``0 < u < 1`` (a symbolic limit, with
  ``u = 1/(1+v)``, ``v > 0`` so that sympy knows ``u < 1``), classified as ``ℓp``, ``ℓ1``
  (``h(u) = u``) or ``ℓ∞`` (``h(u) = 0``);
* ``approach()`` — how fast the normalized sublevel sets reach the horizon: the diagonal
  ratio ``ρ(c) = t_c / X_c`` with ``2 φ(t_c) = c = φ(X_c)`` computed with mpmath at huge
  ``c`` and fitted to ``c^{-β}`` or ``(log c)^{-γ}``.

Everything is derived on the half line ``x > 0`` (sympy symbol :data:`X_POS`) and extended
by parity (``φ`` even, ``φ'`` odd), which avoids ``d|x|/dx = sign(x)`` (the pitfalls in docs/).

:func:`from_expression` turns a user's text into a Potential (:func:`validate` does the
same for a sympy expression, from requirement 3 on), checking the requirements in this
order and raising :class:`PotentialError` naming the first one that fails:

1. ``parameter``  — each declared parameter is an identifier other than ``x`` and the
   function names, with a positive exact value read by :func:`derivations.parsing.parse_number`;
2. ``parse``      — the text is read by :func:`derivations.parsing.parse_expression`
   (never evaluated as Python; decimals are exact rationals);
3. ``symbols``    — no name other than ``x``, the functions and the declared parameters;
4. ``real``       — ``φ`` real on R (sympy; else a certified imaginary part at ``±t``,
   ``t`` a probe point, refutes it and a note says it was only sampled);
5. ``even``       — ``φ(−x) = φ(x)`` (symbolically, else at rational points);
6. ``strictly convex`` — ``φ''`` is not negative at the probe points and not 0 at all of
   them, and ``φ'' ≥ 0`` on all of R by :func:`check_convexity`: sympy, else a
   ball-arithmetic cover of ``[0, 2^30]`` and the sign of ``φ''`` as ``x → 0+`` and
   ``x → ∞``; a certified negative interval refutes it, an undecided one is a note;
7. ``phi' onto R`` — ``lim_{x→∞} φ'(x) = +∞`` (a finite limit means φ* is +∞ outside a
   bounded interval);
8. ``phi(0)``     — finite; a non-zero value is subtracted (noted: nothing in the mirror
   flow depends on the constant);
9. ``differentiable at 0`` — ``φ'(0+) = 0``, so that the odd ``φ'`` is continuous (with 6.,
   ``φ`` is then convex on all of R); a kink is refused, and the message says what is not
   derived for such a non-smooth potential;
10. ``horizon``   — ``lim φ(uX)/φ(X)`` exists and is ``u^p`` (p ≥ 1) or 0.

>>> quadratic().conjugate
y**2/2
>>> cosh_potential().horizon.label
'ℓ∞'
>>> from_expression("x**2/2 + x**4/4").horizon.p
4
"""

from __future__ import annotations

import io
import keyword
import math
import numbers
import re
import signal
import threading
import tokenize
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property, lru_cache, reduce

import flint
import mpmath
import sympy as sp

from .balls import UNARY_METHODS
from .balls import BallError, ball_sign, evaluate_ball
from .parsing import FUNCTIONS, MAX_LENGTH, ParseError, parse_expression, parse_number
from .zerotest import rationals, symbolic_route

__all__ = [
    "x", "y", "X_POS", "Y_POS", "U", "V",
    "Parameter", "Horizon", "Approach", "Potential", "PotentialError",
    "quadratic", "p_power", "hyperbolic_entropy", "cosh_potential", "quadratic_quartic", "quadratic_power",
    "catalogue", "classify_horizon", "from_expression", "validate", "exact_number", "check_convexity",
    "interval_function", "ball_cover", "Cover", "DEFAULT_SCALES",
]

x = sp.Symbol("x", real=True)
y = sp.Symbol("y", real=True)
X_POS = sp.Symbol("x", positive=True)  # the half line on which everything is derived
Y_POS = sp.Symbol("y", positive=True)
U = sp.Symbol("u", positive=True)  # argument of the horizon function h(u), 0 < u < 1
V = sp.Symbol("v", positive=True)  # u = 1/(1 + v): tells sympy that u < 1
_BIG = sp.Symbol("X", positive=True)  # X -> oo in the horizon limit

DEFAULT_SCALES = (8, 16, 32, 64)  # c = 10**e for the measured approach rate
SYMPY_SECONDS = 30  # time limit of one sympy call on user input (CLI)


class PotentialError(ValueError):
    """A user potential fails a requirement; ``requirement`` names it (e.g. ``"even"``)."""

    def __init__(self, requirement: str, message: str):
        super().__init__(f"requirement '{requirement}' fails: {message}")
        self.requirement = requirement
        self.detail = message


class _Timeout(BaseException):  # BaseException: sympy's ``except Exception`` must not swallow it
    pass


@contextmanager
def _time_limit(seconds: float | None):
    """Interrupt a runaway sympy computation (main thread on POSIX only; otherwise no limit)."""
    usable = seconds and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def handler(signum, frame):
        raise _Timeout()

    previous = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# ----------------------------------------------------------------------------- small data
@dataclass(frozen=True)
class Parameter:
    """A parameter of a potential family: its positive sympy symbol, the condition it must
    satisfy (``text``), a sampler of admissible exact values (for the random-point route)
    and the value used by the numeric approach-rate computation."""

    symbol: sp.Symbol
    text: str
    sampler: Callable
    value: sp.Rational = sp.Integer(1)


#: ``(alpha=1)`` in a catalogue name, typeset by :attr:`Potential.tex_name`
_NAME_PARAMETER = re.compile(r"\((alpha|p)=([0-9/]+)\)")
_NAME_GREEK = {"alpha": r"\alpha"}


@dataclass(frozen=True)
class Horizon:
    """``h(u)`` for ``0 < u < 1`` and its class: ``kind`` is ``"lp"`` (with ``p``), ``"l1"`` or
    ``"linf"``; ``rho_limit`` is the horizon value of the diagonal ratio (``h(ρ) = 1/2``)."""

    kind: str
    h: sp.Expr
    p: sp.Expr | None = None

    @property
    def label(self) -> str:
        return {"l1": "ℓ1", "linf": "ℓ∞"}.get(self.kind) or f"ℓ{sp.sstr(self.p)}"

    @property
    def ascii(self) -> str:
        return {"l1": "l1", "linf": "linf"}.get(self.kind) or f"l{sp.sstr(self.p)}"

    @property
    def tex(self) -> str:
        r"""The class as mixed text for reports (``$\ell_1$``, ``$\ell_\infty$``, ``$\ell_{p}$``).

        >>> Horizon("lp", U**4, sp.Integer(4)).tex, Horizon("linf", sp.Integer(0)).tex
        ('$\\ell_{4}$', '$\\ell_\\infty$')
        """
        return {"l1": r"$\ell_1$", "linf": r"$\ell_\infty$"}.get(self.kind) or rf"$\ell_{{{sp.latex(self.p)}}}$"

    @property
    def rho_limit(self) -> sp.Expr:
        if self.kind == "linf":
            return sp.Integer(1)
        if self.kind == "l1":
            return sp.Rational(1, 2)
        return sp.Integer(2) ** (-1 / self.p)

    @property
    def gauge(self) -> str:
        if self.kind == "linf":
            return "Q∞(θ) = max_j |θ_j|"
        if self.kind == "l1":
            return "Q∞(θ) = Σ_j |θ_j|"
        return f"Q∞(θ) = (Σ_j |θ_j|^{sp.sstr(self.p)})^(1/{sp.sstr(self.p)})"


@dataclass(frozen=True)
class Approach:
    """Measured approach of the diagonal ratio ``ρ(c)`` to ``rho_limit``.

    ``kind``: ``"exact"`` (ρ(c) equals its limit at every c: a homogeneous potential),
    ``"polynomial"`` (``|ρ − ρ∞| ~ c^{-exponent}``), ``"logarithmic"``
    (``~ (log c)^{-exponent}``) or ``"undetermined"``. ``samples``: ``(log10 c, ρ(c), ρ(c) − ρ∞)``.
    """

    kind: str
    exponent: float | None
    description: str
    rho_limit: float
    samples: tuple
    dps: int

    def to_json(self) -> dict:
        return {
            "kind": self.kind,
            "exponent": self.exponent,
            "description": self.description,
            "rho_limit": self.rho_limit,
            "dps": self.dps,
            "samples": [{"log10_c": e, "rho": r, "gap": g} for e, r, g in self.samples],
        }


# ----------------------------------------------------------------------------- helpers
_INVERSE_OF = {sp.sinh: sp.asinh, sp.asinh: sp.sinh, sp.exp: sp.log, sp.log: sp.exp,
               sp.cosh: sp.acosh, sp.tanh: sp.atanh, sp.atanh: sp.tanh}


def _cancel_inverses(expr: sp.Expr) -> sp.Expr:
    """``asinh(sinh z) → z``, ``atanh(tanh z) → z``, ``log(exp z) → z`` (real z) and
    ``acosh(cosh z) → z`` (z > 0): identities sympy does not apply by itself."""
    def rule(e):
        inner = e.args[0]
        if isinstance(e, sp.asinh) and isinstance(inner, sp.sinh) and inner.args[0].is_real:
            return inner.args[0]
        if isinstance(e, sp.atanh) and isinstance(inner, sp.tanh) and inner.args[0].is_real:
            return inner.args[0]
        if isinstance(e, sp.log) and isinstance(inner, sp.exp) and inner.args[0].is_real:
            return inner.args[0]
        if isinstance(e, sp.acosh) and isinstance(inner, sp.cosh) and inner.args[0].is_nonnegative:
            return inner.args[0]
        return e

    return expr.replace(lambda e: isinstance(e, (sp.asinh, sp.atanh, sp.log, sp.acosh)) and len(e.args) == 1, rule)


def _tidy(expr: sp.Expr) -> sp.Expr:
    """A readable canonical form (simplify, unless it makes things longer)."""
    expr = _cancel_inverses(sp.sympify(expr))
    try:
        expr = sp.powsimp(sp.powdenest(expr, force=True))  # every symbol here is positive (half line)
        simple = sp.simplify(expr)
    except (TypeError, ValueError, NotImplementedError):
        return expr
    return simple if sp.count_ops(simple) <= sp.count_ops(expr) else expr


def _structural_inverse(expr: sp.Expr, var: sp.Symbol, target: sp.Expr) -> sp.Expr | None:
    """Solve ``expr(var) = target`` by peeling invertible layers (affine, powers, sinh, asinh,
    exp, log, …) off ``expr``; ``None`` when ``var`` occurs more than once."""
    e = expr
    for _ in range(32):
        if e == var:
            return target
        if e.is_Add:
            const, rest = e.as_independent(var, as_Add=True)
            if rest.is_Add:
                return None
            target, e = target - const, rest
        elif e.is_Mul:
            const, rest = e.as_independent(var, as_Add=False)
            if const == 1:
                return None
            target, e = target / const, rest
        elif e.is_Pow and not e.exp.has(var) and e.base.has(var):
            target, e = target ** (1 / e.exp), e.base
        elif type(e) in _INVERSE_OF and len(e.args) == 1:
            target, e = _INVERSE_OF[type(e)](target), e.args[0]
        else:
            return None
    return None


def _closed(expr: sp.Expr, values: Mapping) -> sp.Expr:
    return sp.sympify(expr).xreplace(dict(values))


def _real_value(expr: sp.Expr) -> float | None:
    """A float value of a closed real number (ball first, then evalf), ``None`` if not real/finite."""
    try:
        ball = evaluate_ball(expr, 200)
        if not ball.imag.contains(0) or abs(float(ball.imag.mid())) > 1e-30:
            return None
        return float(ball.real.mid())
    except (BallError, ZeroDivisionError, ValueError, TypeError):
        value = sp.N(expr, 40)
        if value.is_real and value.is_finite:
            return float(value)
        return None


def _sign_at(expr: sp.Expr) -> int | None:
    """Rigorous sign of a closed real number (ball arithmetic), with an evalf fallback."""
    if expr.is_Rational:
        return int(sp.sign(expr))
    try:
        return ball_sign(evaluate_ball(expr, 320))
    except (BallError, ZeroDivisionError, ValueError, TypeError):
        value = sp.N(expr, 60)
        if value.is_real and value.is_finite:
            return int(sp.sign(value)) if abs(value) > sp.Float(10) ** -50 else None
        return None


def _is_radical_polynomial(expr: sp.Expr, var: sp.Symbol) -> bool:
    """A polynomial of degree >= 3 with at least two terms: its inverse needs Cardano/Ferrari."""
    try:
        poly = sp.Poly(expr, var)
    except sp.PolynomialError:
        return False
    return poly.degree() >= 3 and len(poly.terms()) >= 2


# ----------------------------------------------------------------------------- the potential
@dataclass(frozen=True)
class Potential:
    """One even, strictly convex potential ``φ`` (see the module docstring for what is derived).

    ``params`` lists the family parameters (their symbols may appear in ``phi``); ``notes``
    collects what the input checks found (normalization, singular points, …).
    """

    name: str
    phi: sp.Expr
    params: tuple[Parameter, ...] = ()
    notes: tuple[str, ...] = ()
    latex_name: str = ""

    @property
    def tex_name(self) -> str:
        r"""The name as mixed text (prose with ``$…$`` math) for report labels: ``latex_name`` when
        set, the formula when the name is the formula, else the catalogue words with their math
        typeset; ``name`` itself stays the plain key the CLIs and numerics use.

        >>> p_power(3).tex_name, hyperbolic_entropy(1).tex_name, cosh_potential().tex_name
        ('$p$-power ($p = 3$)', 'hyperbolic entropy ($\\alpha = 1$)', '$\\cosh$')
        >>> quadratic_power(sp.Rational(3, 2)).tex_name, validate(x**2/2 + x**4).tex_name
        ('quadratic + $p$-power ($p = 3/2$)', '$x^{4} + \\frac{x^{2}}{2}$')
        """
        if self.latex_name:
            return self.latex_name
        if self.name == sp.sstr(self.phi):
            return f"${sp.latex(self.phi)}$"
        text = _NAME_PARAMETER.sub(lambda m: rf"(${_NAME_GREEK.get(m[1], m[1])} = {m[2]}$)", self.name)
        text = re.sub(r"\bp-power\b", "$p$-power", text)
        return re.sub(r"^cosh$", r"$\\cosh$", text)

    # ------------------------------------------------------------------ parameters
    @property
    def parameter_symbols(self) -> tuple[sp.Symbol, ...]:
        return tuple(p.symbol for p in self.params)

    @property
    def domain(self) -> dict:
        """Samplers of the parameters, for ``Step(domain=...)``."""
        return {p.symbol: p.sampler for p in self.params}

    @property
    def default_values(self) -> dict:
        return {p.symbol: sp.sympify(p.value) for p in self.params}

    @property
    def visible_conditions(self) -> dict:
        """``p → p + 1`` for each parameter ``p > 1``: sympy then knows ``p − 1 > 0``."""
        return {p.symbol: p.symbol + 1 for p in self.params if p.text.endswith("> 1")}

    @property
    def has_abs(self) -> bool:
        return self.phi.has(sp.Abs, sp.sign)

    # ------------------------------------------------------------------ derivatives on x > 0
    @cached_property
    def phi_pos(self) -> sp.Expr:
        return sp.sympify(self.phi).xreplace({x: X_POS})

    @cached_property
    def dphi_pos(self) -> sp.Expr:
        return _tidy(sp.diff(self.phi_pos, X_POS))

    @cached_property
    def d2phi_pos(self) -> sp.Expr:
        return _tidy(sp.diff(self.dphi_pos, X_POS))

    @cached_property
    def G_pos(self) -> sp.Expr:
        return _tidy(X_POS * self.dphi_pos - self.phi_pos)

    # ------------------------------------------------------------------ on R (by parity)
    def _even(self, expr_pos: sp.Expr) -> sp.Expr:
        return expr_pos.xreplace({X_POS: sp.Abs(x)}) if self.has_abs else expr_pos.xreplace({X_POS: x})

    def _odd(self, expr_pos: sp.Expr) -> sp.Expr:
        return sp.sign(x) * expr_pos.xreplace({X_POS: sp.Abs(x)}) if self.has_abs else expr_pos.xreplace({X_POS: x})

    @cached_property
    def dphi(self) -> sp.Expr:
        """``φ'(x)`` on R (odd)."""
        return self._odd(self.dphi_pos)

    @cached_property
    def d2phi(self) -> sp.Expr:
        """``φ''(x)`` on R, x ≠ 0 (even)."""
        return self._even(self.d2phi_pos)

    @cached_property
    def G(self) -> sp.Expr:
        """``G(x) = x φ'(x) − φ(x)`` on R (even)."""
        return self._even(self.G_pos)

    # ------------------------------------------------------------------ convex duality
    @cached_property
    def _legendre(self) -> tuple[sp.Expr | None, sp.Expr | None, str]:
        dphi = self.dphi_pos
        if _is_radical_polynomial(dphi, X_POS):
            return None, None, (
                f"phi'(x) = {sp.sstr(dphi)} is a polynomial of degree {sp.degree(dphi, X_POS)}: its inverse exists "
                "only through Cardano/Ferrari radicals (complex intermediate roots), not kept as a closed form; "
                "G is computed as x phi'(x) - phi(x)")
        inverse = _structural_inverse(dphi, X_POS, Y_POS)
        if inverse is None:
            inverse = self._solve_inverse(dphi)
        if inverse is None:
            return None, None, f"phi'(x) = {sp.sstr(dphi)} = y has no closed-form solution x(y) found by sympy"
        inverse = _tidy(inverse)
        if not self._proved_inverse(inverse):
            return None, None, (f"sympy found X(y) = {sp.sstr(inverse)} solving phi'(x) = y but cannot prove "
                                "phi'(X(y)) = y or X(phi'(x)) = x symbolically: no closed form is kept; "
                                "G is computed as x phi'(x) - phi(x)")
        conjugate = _tidy(Y_POS * inverse - self.phi_pos.xreplace({X_POS: inverse}))
        return inverse, conjugate, "derived: phi*(y) = y X(y) - phi(X(y)) with X = (phi')^(-1), y > 0, extended evenly"

    def _proved_inverse(self, inverse: sp.Expr) -> bool:
        """A candidate inverse is kept only if sympy proves one of the two compositions is the identity
        (with the parameter conditions visible, e.g. p = 1 + r, r > 0)."""
        visible = self.visible_conditions
        for difference in (self.dphi_pos.xreplace({X_POS: inverse}) - Y_POS,
                           inverse.xreplace({Y_POS: self.dphi_pos}) - X_POS):
            try:
                with _time_limit(SYMPY_SECONDS):
                    if symbolic_route(_cancel_inverses(difference.xreplace(visible))) == "zero":
                        return True
            except _Timeout:
                continue
        return False

    def _solve_inverse(self, dphi: sp.Expr) -> sp.Expr | None:
        try:
            with _time_limit(SYMPY_SECONDS):
                candidates = sp.solve(sp.Eq(dphi, Y_POS), X_POS)
        except (NotImplementedError, ValueError, TypeError, _Timeout):
            return None
        probe = {**self.default_values}
        for candidate in candidates:
            if candidate.has(sp.RootOf, sp.CRootOf):
                continue
            ok = True
            for value in (sp.Rational(1, 3), sp.Integer(2), sp.Rational(17, 3)):
                at = _closed(candidate, {**probe, Y_POS: value})
                real = _real_value(at)
                if real is None or real <= 0:
                    ok = False
                    break
                back = _real_value(_closed(dphi, {**probe, X_POS: at}))
                if back is None or abs(back - float(value)) > 1e-20 * (1 + float(value)):
                    ok = False
                    break
            if ok:
                return candidate
        return None

    @property
    def inverse_dphi(self) -> sp.Expr | None:
        """``X(y) = (φ')^{-1}(y)`` for ``y > 0`` (in :data:`Y_POS`), or ``None``."""
        return self._legendre[0]

    @property
    def conjugate_pos(self) -> sp.Expr | None:
        """``φ*(y)`` for ``y > 0`` (in :data:`Y_POS`), or ``None``."""
        return self._legendre[1]

    @property
    def conjugate_note(self) -> str:
        return self._legendre[2]

    @cached_property
    def conjugate(self) -> sp.Expr | None:
        """``φ*(y)`` on R (even), or ``None`` without a closed form (see ``conjugate_note``)."""
        conj = self.conjugate_pos
        if conj is None:
            return None
        real = conj.xreplace({Y_POS: y})
        if symbolic_route(real.xreplace({y: -y}) - real) == "zero":
            return real
        return conj.xreplace({Y_POS: sp.Abs(y)})

    @cached_property
    def G_via_conjugate(self) -> sp.Expr | None:
        """``φ*(φ'(x))`` on ``x > 0`` (Fenchel–Young: equals ``G``), or ``None``."""
        if self.conjugate_pos is None:
            return None
        return _tidy(self.conjugate_pos.xreplace({Y_POS: self.dphi_pos}))

    def balance_law(self, theta: str = "θ") -> str:
        g = sp.sstr(self.G.xreplace({x: sp.Symbol(theta, real=True)}))
        return (f"d/dt [ Σ_{{j∈in(v)}} G({theta}_j) − s·Σ_{{j∈out(v)}} G({theta}_j) ] = 0 along "
                f"{theta}'_j = −∂_jℒ/φ''({theta}_j), with G({theta}) = {theta}·φ'({theta}) − φ({theta}) = {g}")

    # ------------------------------------------------------------------ horizon
    def horizon_ratio(self, u: sp.Expr = None) -> sp.Expr:
        """``φ(uX)/φ(X)`` (``u = 1/(1+v)`` by default), whose limit ``X → ∞`` is ``h(u)``."""
        u = 1 / (1 + V) if u is None else u
        phi = self.phi_pos
        return phi.xreplace({X_POS: u * _BIG}) / phi.xreplace({X_POS: _BIG})

    @cached_property
    def horizon(self) -> Horizon:
        """``h(u) = lim φ(uX)/φ(X)`` (0 < u < 1), classified; :class:`PotentialError` otherwise."""
        ratio = self.horizon_ratio()
        if self.phi_pos.has(sp.cosh, sp.sinh, sp.tanh):
            ratio = ratio.rewrite(sp.exp)  # gruntz is much faster on exponentials
        try:
            with _time_limit(SYMPY_SECONDS):
                limit = sp.limit(ratio, _BIG, sp.oo)
        except _Timeout:
            raise PotentialError("horizon", f"sympy did not find lim φ(uX)/φ(X) as X → ∞ within {SYMPY_SECONDS} s") from None
        except (NotImplementedError, ValueError, TypeError) as exc:
            raise PotentialError("horizon", f"sympy could not compute lim φ(uX)/φ(X) as X → ∞ ({exc})") from None
        return classify_horizon(limit.xreplace({V: 1 / U - 1}))

    # ------------------------------------------------------------------ approach rate (numeric)
    def sublevel_radius(self, c, *, dps: int, values: Mapping | None = None):
        """``φ^{-1}(c)`` on x > 0 (mpmath, inside ``workdps(dps)``): bracket by doubling, bisect
        to a relative width of 1e-8, then polish with ``mpmath.findroot``."""
        phi = sp.lambdify(X_POS, _closed(self.phi_pos, values or self.default_values), "mpmath")
        with mpmath.workdps(dps):
            c = mpmath.mpf(c)
            hi = mpmath.mpf(1)
            while phi(hi) < c:
                hi *= 2
            lo = hi / 2 if hi > 1 else mpmath.mpf(0)
            while hi - lo > hi * mpmath.mpf(10) ** -8:
                mid = (lo + hi) / 2
                lo, hi = (mid, hi) if phi(mid) < c else (lo, mid)
            root = mpmath.findroot(lambda t: mpmath.log(phi(t) / c), (lo, hi), solver="anderson",
                                   tol=mpmath.mpf(10) ** (-dps + 5))
            return +root

    def diagonal_ratio(self, c, *, dps: int, values: Mapping | None = None):
        """``ρ(c) = t/X`` with ``2φ(t) = c = φ(X)`` (two equal coordinates on the boundary of
        ``{φ(θ_1) + φ(θ_2) ≤ c}`` over the radius ``φ^{-1}(c)``)."""
        with mpmath.workdps(dps):
            c = mpmath.mpf(c)
            return self.sublevel_radius(c / 2, dps=dps, values=values) / self.sublevel_radius(c, dps=dps, values=values)

    def approach(self, scales: Sequence[int] = DEFAULT_SCALES, *, dps: int | None = None,
                 values: Mapping | None = None) -> Approach:
        """Measure ``ρ(10**e) − ρ∞`` for ``e`` in ``scales`` and fit the rate (see :class:`Approach`)."""
        values = values or self.default_values
        dps = dps or 40 + max(scales)
        limit_value = _closed(self.horizon.rho_limit, values)
        samples = []
        with mpmath.workdps(dps):
            rho_inf = mpmath.mpf(sp.N(limit_value, dps + 5))
            for e in scales:
                rho = self.diagonal_ratio(mpmath.mpf(10) ** e, dps=dps, values=values)
                samples.append((e, rho, rho - rho_inf))
            floor = mpmath.mpf(10) ** (-(dps - 12))
            gaps = [abs(g) for _, _, g in samples]
            shown = tuple((e, float(r), float(g)) for e, r, g in samples)
            if all(g < floor for g in gaps):
                return Approach("exact", None, "exact: ρ(c) equals its horizon value at every c (homogeneous φ)",
                                float(rho_inf), shown, dps)
            if any(g < floor for g in gaps) or len(samples) < 3:
                return Approach("undetermined", None, "undetermined (too few usable samples)", float(rho_inf), shown, dps)
            logs = [mpmath.log(g) for g in gaps]
            lc = [e * mpmath.log(10) for e, _, _ in samples]
            poly = [-(logs[k + 1] - logs[k]) / (lc[k + 1] - lc[k]) for k in range(len(samples) - 1)]
            logar = [-(logs[k + 1] - logs[k]) / (mpmath.log(lc[k + 1]) - mpmath.log(lc[k])) for k in range(len(samples) - 1)]

        def drift(exponents):
            a, b = float(exponents[-2]), float(exponents[-1])
            return abs(b - a) / max(abs(b), 1e-300)

        if drift(poly) <= drift(logar) and drift(poly) < 0.05:
            beta = float(poly[-1])
            guess = sp.nsimplify(beta, rational=True, tolerance=0.02)
            guess = guess if guess.q <= 12 else sp.Float(beta, 3)
            return Approach("polynomial", beta, f"polynomial c^(-{guess}) (fitted exponent {beta:.4f})",
                            float(rho_inf), shown, dps)
        if drift(logar) < 0.1:
            gamma = float(logar[-1])
            nice = "1/log c" if abs(gamma - 1) < 0.1 else f"(log c)^(-{gamma:.2f})"
            return Approach("logarithmic", gamma, f"logarithmic {nice} (fitted exponent {gamma:.4f} of 1/log c)",
                            float(rho_inf), shown, dps)
        return Approach("undetermined", None, "undetermined: neither c^(-β) nor (log c)^(-γ) fits the samples",
                        float(rho_inf), shown, dps)

    @cached_property
    def rate(self) -> Approach:
        """:meth:`approach` at the default levels ``c = 1e8, 1e16, 1e32, 1e64`` (cached)."""
        return self.approach()

    # ------------------------------------------------------------------ report
    def summary(self, *, with_rate: bool = True) -> dict:
        """Every derived object as strings (the CLI's JSON)."""
        horizon = self.horizon
        data = {
            "name": self.name,
            "phi": sp.sstr(self.phi),
            "parameters": [{"symbol": str(p.symbol), "condition": p.text, "value_for_rates": str(p.value)}
                           for p in self.params],
            "dphi": sp.sstr(self.dphi),
            "d2phi": sp.sstr(self.d2phi),
            "conjugate": None if self.conjugate is None else sp.sstr(self.conjugate),
            "conjugate_note": self.conjugate_note,
            "G": sp.sstr(self.G),
            "G_via_conjugate": None if self.G_via_conjugate is None else sp.sstr(self.G_via_conjugate.xreplace({X_POS: x})),
            "balance_law": self.balance_law(),
            "horizon": {"kind": horizon.kind, "label": horizon.label, "p": None if horizon.p is None else sp.sstr(horizon.p),
                        "h": sp.sstr(horizon.h), "gauge": horizon.gauge, "rho_limit": sp.sstr(horizon.rho_limit)},
            "notes": list(self.notes),
            "latex": {"phi": sp.latex(self.phi), "dphi": sp.latex(self.dphi), "d2phi": sp.latex(self.d2phi),
                      "conjugate": None if self.conjugate is None else sp.latex(self.conjugate), "G": sp.latex(self.G)},
        }
        if with_rate:
            data["rate"] = self.rate.to_json()
        return data


def classify_horizon(h: sp.Expr) -> Horizon:
    """``h(u)`` (in :data:`U`, 0 < u < 1) → ``ℓ∞`` (0), ``ℓ1`` (u) or ``ℓp`` (u**p, p > 1)."""
    h = sp.simplify(h)
    if h.has(sp.Limit, sp.AccumBounds, _BIG, sp.nan, sp.zoo, sp.oo, V) or h.is_finite is False:
        raise PotentialError("horizon", f"lim φ(uX)/φ(X) as X → ∞ does not exist (sympy: {sp.sstr(h)})")
    if h == 0:
        return Horizon("linf", h)
    exponent = sp.simplify(sp.expand_log(sp.log(h), force=True) / sp.log(U))
    if exponent.has(U, sp.log):
        raise PotentialError("horizon", f"h(u) = {sp.sstr(h)} is not a power of u: the limit set is not an ℓp ball")
    if exponent == 1:
        return Horizon("l1", h, sp.Integer(1))
    if exponent.is_number and not exponent > 1:
        raise PotentialError("horizon", f"h(u) = {sp.sstr(h)}: exponent {exponent} < 1, not the gauge of a convex set")
    return Horizon("lp", h, exponent)


# ----------------------------------------------------------------------------- catalogue (docs/mirror_flow.md, Objects)
ALPHA = sp.Symbol("alpha", positive=True)
P = sp.Symbol("p", positive=True)
_alpha = Parameter(ALPHA, "alpha > 0", rationals(0, 3), sp.Integer(1))
_p = Parameter(P, "p > 1", rationals(1, 5), sp.Integer(3))


@lru_cache(maxsize=None)
def quadratic() -> Potential:
    return Potential("quadratic", x**2 / 2, latex_name="quadratic")


@lru_cache(maxsize=None)
def p_power(p=None) -> Potential:
    """``|x|^p/p``; ``p=None`` keeps ``p`` symbolic (p > 1, value 3 for numeric rates)."""
    if p is None:
        return Potential("p-power", sp.Abs(x) ** P / P, (_p,))
    p = exact_number(p, what="p-power: p")
    if not p > 1:
        raise ValueError(f"p-power needs p > 1, got {p}")
    phi = x**p / p if p.is_integer and p.is_even else sp.Abs(x) ** p / p
    return Potential(f"p-power (p={p})", phi)


@lru_cache(maxsize=None)
def hyperbolic_entropy(alpha=None) -> Potential:
    """``x asinh(x/α) − √(x² + α²) + α``; ``alpha=None`` keeps α symbolic (α > 0)."""
    if alpha is None:
        return Potential("hyperbolic entropy", x * sp.asinh(x / ALPHA) - sp.sqrt(x**2 + ALPHA**2) + ALPHA, (_alpha,))
    a = exact_number(alpha, what="hyperbolic entropy: alpha")
    if not a > 0:
        raise ValueError(f"hyperbolic entropy needs alpha > 0, got {a}")
    return Potential(f"hyperbolic entropy (alpha={a})", x * sp.asinh(x / a) - sp.sqrt(x**2 + a**2) + a)


@lru_cache(maxsize=None)
def cosh_potential() -> Potential:
    return Potential("cosh", sp.cosh(x) - 1)


@lru_cache(maxsize=None)
def quadratic_quartic() -> Potential:
    return Potential("quadratic + quartic", x**2 / 2 + x**4 / 4)


@lru_cache(maxsize=None)
def quadratic_power(p=3) -> Potential:
    """``x²/2 + |x|^p/p`` with a numeric ``p > 1`` (horizon ``ℓ_max(2,p)``)."""
    p = exact_number(p, what="quadratic + p-power: p")
    if not p > 1:
        raise ValueError(f"quadratic + p-power needs p > 1, got {p}")
    power = x**p if p.is_integer and p.is_even else sp.Abs(x) ** p
    return Potential(f"quadratic + p-power (p={p})", x**2 / 2 + power / p)


def catalogue() -> list[Potential]:
    """The potentials table of docs/mirror_flow.md (symbolic α and p where the family has them, plus numeric cases)."""
    return [quadratic(), p_power(), p_power(3), hyperbolic_entropy(), cosh_potential(), quadratic_quartic(),
            quadratic_power(3), quadratic_power(sp.Rational(3, 2))]


# ----------------------------------------------------------------------------- numbers and names from users
_PROBE_POINTS = [sp.Rational(k) for k in ("1/10", "1/3", "1/2", "1", "3/2", "2", "3", "5", "10", "31/3", "40")]


def exact_number(value, *, what: str = "value") -> sp.Expr:
    """An exact real number from ``value``: text through :func:`derivations.parsing.parse_number`
    (never evaluated as Python), ints and fractions as rationals, floats by ``nsimplify``, sympy
    numbers as they are.  Raises ``ValueError`` (a :class:`ParseError` for text)."""
    if isinstance(value, str):
        return parse_number(value, what=what)
    if isinstance(value, numbers.Rational) and not isinstance(value, bool):
        return sp.Rational(value.numerator, value.denominator)
    if isinstance(value, float) and math.isfinite(value):
        return sp.nsimplify(value, rational=True)
    if isinstance(value, sp.Basic) and value.is_number and value.is_extended_real and value.is_finite:
        return value
    raise ValueError(f"{what}: expected a finite real number or its text, got {value!r}")


def _declare(params: Mapping[str, object] | Sequence[str]) -> tuple[Parameter, ...]:
    """The declared parameters: positive symbols with a positive exact value (``None`` → 1)."""
    if not isinstance(params, Mapping):
        params = dict.fromkeys(params)
    declared = []
    for name, value in params.items():
        if (not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name)
                or name.startswith("_") or name == "x" or name in FUNCTIONS):
            raise PotentialError("parameter", f"{name!r} cannot name a parameter: use an identifier other than x "
                                              "that does not start with '_' and is not one of " + ", ".join(sorted(FUNCTIONS)))
        try:
            number = sp.Integer(1) if value is None else exact_number(value, what=f"parameter {name}")
        except ValueError as exc:
            raise PotentialError("parameter", str(exc)) from None
        if not number > 0:
            raise PotentialError("parameter", f"parameter {name} must be positive, got {sp.sstr(number)}")
        declared.append(Parameter(sp.Symbol(name, positive=True), f"{name} > 0", rationals(0, 3), number))
    return tuple(declared)


def _tokens(text: str) -> list[tokenize.TokenInfo]:
    """The tokens of a readable ``text`` (at most :data:`MAX_LENGTH` characters), else ``[]``."""
    if not isinstance(text, str) or len(text) > MAX_LENGTH:
        return []
    try:
        return list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return []


def _read(text: str, symbols: Mapping[str, sp.Symbol]) -> tuple[sp.Expr, tuple[str, ...]]:
    """``text`` read by :func:`parse_expression` (decimals exact) and its notes; a name that
    is neither x, a declared parameter nor a function is refused as ``symbols``, other text as ``parse``."""
    tokens = _tokens(text)
    try:
        expr = parse_expression(text, symbols, exact=True)
    except ParseError as exc:
        unknown = sorted({t.string for t in tokens if t.type == tokenize.NAME and t.string not in symbols
                          and t.string not in FUNCTIONS and not keyword.iskeyword(t.string) and not t.string.startswith("_")})
        if unknown and _parses(text, {**symbols, **{n: sp.Symbol(n, real=True) for n in unknown}}):
            raise PotentialError("symbols", f"the expression depends on {', '.join(unknown)} besides x "
                                            "(declare parameters with --param NAME[=VALUE])") from None
        raise PotentialError("parse", str(exc)) from None
    decimal = any(t.type == tokenize.NUMBER and not t.string.lower().startswith("0x")
                  and ("." in t.string or "e" in t.string.lower()) for t in tokens)
    return expr, ("decimal constants were read as exact rationals (0.1 = 1/10)",) if decimal else ()


def _parses(text: str, symbols: Mapping[str, sp.Symbol]) -> bool:
    """Whether ``text`` reads as an expression in ``symbols``."""
    try:
        parse_expression(text, symbols)
    except ParseError:
        return False
    return True


# ----------------------------------------------------------------------------- convexity on all of R
COVER_CELLS = (-30, 30)  # the ball cover spans [0, 2^30] in cells [0, 2^-30] and [2^k, 2^(k+1)]
COVER_DEPTH = 30         # bisections of one cell: resolution (cell width) / 2^30
COVER_BUDGET = 4000      # ball evaluations of φ'' in all, and in one cell (what is left is not proved)
COVER_CELL_BUDGET = 500
COVER_PREC = 64          # bits


def interval_function(expr: sp.Expr, var: sp.Symbol) -> Callable[[flint.arb], flint.arb]:
    """``expr`` as a function of one real ball (python-flint ``arb``) for ``var``: the value
    is a ball containing every value of ``expr`` on the ball (``nan`` where it is undefined).
    Raises :class:`BallError` for a node with no enclosure (the same functions as
    :func:`derivations.balls.evaluate_ball`, real)."""
    if expr == var:
        return lambda b: b
    if expr.is_Rational:
        constant = flint.arb(flint.fmpq(int(expr.p), int(expr.q)))
        return lambda b: constant
    if expr is sp.pi or expr is sp.E:
        return (lambda b: flint.arb.pi()) if expr is sp.pi else (lambda b: flint.arb.const_e())
    if expr.is_Add or expr.is_Mul:
        parts = [interval_function(a, var) for a in expr.args]
        combine = sum if expr.is_Add else math.prod
        return lambda b: combine(f(b) for f in parts)
    if expr.is_Pow:
        base = interval_function(expr.base, var)
        if expr.exp.is_Integer:
            n = int(expr.exp)
            power = (lambda b: base(b) ** n) if n >= 0 else (lambda b: 1 / base(b) ** (-n))
            return (lambda b: power(b).nonnegative_part()) if n % 2 == 0 else power  # x^(2k) ≥ 0
        if expr.exp == sp.S.Half:
            return lambda b: base(b).sqrt()
        exponent = interval_function(expr.exp, var)
        return lambda b: base(b) ** exponent(b)
    if isinstance(expr, (sp.Abs, sp.sign)):
        inner = interval_function(expr.args[0], var)
        return (lambda b: abs(inner(b)).nonnegative_part()) if isinstance(expr, sp.Abs) else (lambda b: inner(b).sgn())
    method = UNARY_METHODS.get(type(expr))
    if method is None:
        raise BallError(f"no ball enclosure for {type(expr).__name__} in {sp.sstr(expr)}")
    inner = interval_function(expr.args[0], var)
    return lambda b: getattr(inner(b), method)()


@dataclass(frozen=True)
class Cover:
    """A ball-arithmetic cover of ``[0, reached]`` by intervals with exact dyadic end points:
    ``negative`` is an interval on which the function is certified negative (the cover
    stops there; ``upper`` bounds it), ``unproved`` the intervals left undecided (at the
    depth limit, or when a budget ran out), ``balls`` the evaluations."""

    negative: tuple | None
    upper: float | None
    unproved: tuple
    reached: sp.Rational
    balls: int


def ball_cover(f: Callable[[flint.arb], flint.arb], *, budget: int = COVER_BUDGET,
               cell_budget: int = COVER_CELL_BUDGET, depth: int = COVER_DEPTH) -> Cover:
    """Certify ``f ≥ 0`` on ``[0, 2^30]`` cell by cell (see :data:`COVER_CELLS`), bisecting an
    interval whose enclosure straddles 0, breadth first."""
    low, high = COVER_CELLS
    cells = [(sp.Integer(0), sp.Integer(2) ** low)] + [(sp.Integer(2) ** k, sp.Integer(2) ** (k + 1)) for k in range(low, high)]
    unproved, balls = [], 0
    with flint.ctx.workprec(COVER_PREC):
        for start, end in cells:
            if balls >= budget:
                return Cover(None, None, tuple(unproved), start, balls)
            queue, spent = deque([(start, end, 0)]), 0
            while queue and spent < cell_budget and balls < budget:
                a, b, level = queue.popleft()
                balls, spent = balls + 1, spent + 1
                value = f(_ball(a, b))
                if value >= 0:
                    continue
                if value < 0:
                    return Cover((a, b), float(value.upper()), tuple(unproved), start, balls)
                if level == depth:
                    unproved.append((a, b))
                    continue
                middle = (a + b) / 2
                queue += [(a, middle, level + 1), (middle, b, level + 1)]
            unproved += [(a, b) for a, b, _ in queue]
    return Cover(None, None, tuple(unproved), cells[-1][1], balls)


def _intersection(functions) -> Callable[[flint.arb], flint.arb]:
    """The intersection of the finite enclosures of several ball functions of the same function."""
    functions = list(functions)

    def enclose(b: flint.arb) -> flint.arb:
        finite = [v for v in (f(b) for f in functions) if v.is_finite()]
        return reduce(flint.arb.intersection, finite) if finite else flint.arb("nan")

    return enclose


def _ball(a: sp.Rational, b: sp.Rational) -> flint.arb:
    """The interval ``[a, b]`` (0 ≤ a < b, dyadic) as a ball, clipped to x ≥ 0."""
    lo, hi = (flint.arb(flint.fmpq(int(t.p), int(t.q))) for t in (a, b))
    return lo.union(hi).nonnegative_part()


def _merge(intervals) -> list[tuple]:
    """Sorted intervals, adjacent ones joined."""
    merged: list[list] = []
    for a, b in sorted(intervals):
        if merged and merged[-1][1] == a:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    return [tuple(m) for m in merged]


def _eventual_sign(expr: sp.Expr, where) -> int | None:
    """``lim sign(expr)`` as ``x → 0+`` or ``x → ∞`` (sympy): ``1``, ``-1``, or ``None`` when undecided."""
    with _time_limit(SYMPY_SECONDS):
        sign = _safe(lambda: sp.limit(sp.sign(expr), X_POS, where, "+"))
    return int(sign) if sign in (1, -1) else None


def _sympy_nonnegative(expr: sp.Expr) -> bool:
    """sympy proves ``expr ≥ 0`` (factored first when it is a rational function)."""
    with _time_limit(SYMPY_SECONDS):
        if _safe(lambda: expr.is_nonnegative):
            return True
        return bool(_safe(lambda: expr.is_rational_function(X_POS) and sp.factor(expr).is_nonnegative))


def _dyadic(t: sp.Rational) -> str:
    """A dyadic end point: ``2^k`` for a large or small power of two, else its exact decimal."""
    k = sp.log(t, 2) if t > 0 else None
    if k is not None and k.is_Integer and abs(k) >= 8:
        return f"2^{k}"
    return repr(float(t)) if t != 0 else "0"


def check_convexity(potential: Potential, *, symbolic: bool = True) -> str | None:
    """``φ'' ≥ 0`` on all of R (``φ''`` is even, so on x > 0).

    ``None`` when sympy proves it for every admissible parameter (skipped with
    ``symbolic=False``).  Otherwise, at the parameters' values: a :func:`ball_cover` of
    ``[0, 2^30]``, the sign of ``φ''`` as ``x → 0+`` for an undecided interval at 0 and as
    ``x → ∞`` for ``[2^30, ∞)`` (sympy limits), and a note saying what each route covered and
    where convexity is not proved.  Raises :class:`PotentialError` (``"strictly convex"``)
    when ``φ'' < 0`` is certified on an interval, or as ``x → 0+`` or ``x → ∞``.
    """
    if symbolic and _sympy_nonnegative(potential.d2phi_pos.xreplace(potential.visible_conditions)):
        return None
    values = potential.default_values
    at = "".join(f", {sp.sstr(s)} = {sp.sstr(v)}" for s, v in values.items())
    shown = f"φ''(x) = {sp.sstr(potential.d2phi_pos.xreplace({X_POS: x}))}{at}"
    # two spellings of φ'' (as differentiated, and simplified): each encloses some intervals better
    forms = [_closed(sp.diff(potential.phi_pos, X_POS, 2), values), _closed(potential.d2phi_pos, values)]
    end = sp.Integer(2) ** COVER_CELLS[1]
    try:
        cover, why = ball_cover(_intersection(interval_function(form, X_POS) for form in forms)), ""
    except BallError as exc:
        cover, why = Cover(None, None, ((sp.Integer(0), end),), end, 0), f" ({exc})"
    if cover.negative is not None:
        a, b = cover.negative
        raise PotentialError("strictly convex", f"{shown} is negative on [{a}, {b}] ≈ [{float(a):.6g}, {float(b):.6g}]: "
                                                f"ball arithmetic bounds φ'' there by {cover.upper:.4g} < 0")
    gaps = _merge(cover.unproved + (((cover.reached, end),) if cover.reached < end else ()))
    start, limits = sp.Integer(0), []
    if gaps and gaps[0][0] == 0 and _limit_sign(forms[1], 0, shown) == 1:
        start = gaps.pop(0)[1]
        limits.append(f"on (0, {_dyadic(start)}] from sign(φ'') → 1 as x → 0+")
    if _limit_sign(forms[1], sp.oo, shown) == 1:
        limits.append(f"on [{_dyadic(end)}, ∞) from sign(φ'') → 1 as x → ∞")
    else:
        gaps.append((end, sp.oo))
    note = (f"convexity{at}: " + ("sympy could not prove φ'' ≥ 0; " if symbolic else "")
            + f"ball arithmetic ({cover.balls} balls) certifies it on [{_dyadic(start)}, {_dyadic(end)}]"
            + (" except where not proved" if gaps and gaps[0][1] is not sp.oo else "")
            + "".join(f"; {part} (a sympy limit, no certified bound)" for part in limits))
    if gaps:
        shown_gaps = [f"[{_dyadic(a)}, {'∞)' if b is sp.oo else _dyadic(b) + ']'}" for a, b in gaps]
        note += "; convexity not proved on " + ", ".join(shown_gaps[:4]) + (", …" if len(gaps) > 4 else "") + why
    return note


def _limit_sign(d2: sp.Expr, where, shown: str) -> int | None:
    """:func:`_eventual_sign` of ``φ''``; a limit sign −1 refutes convexity (``"strictly convex"``)."""
    sign = _eventual_sign(d2, where)
    if sign == -1:
        word = "x → 0+" if where == 0 else "x → ∞"
        raise PotentialError("strictly convex", f"{shown} is negative as {word} (sympy: sign(φ'') → −1)")
    return sign


# ----------------------------------------------------------------------------- validation
def from_expression(text: str, params: Mapping[str, object] | Sequence[str] = (), *, name: str | None = None,
                    check_horizon: bool = True) -> Potential:
    """A user's potential from text, checked against the requirements of the module
    docstring in order (:func:`validate` from ``real`` on).

    ``params`` maps a parameter name to its value (text, number or ``None`` → 1; used by the
    numeric checks and rates), or lists names; parameters are positive symbols.
    """
    parameters = _declare(params)
    expr, notes = _read(text, {"x": x, **{p.symbol.name: p.symbol for p in parameters}})
    return validate(expr, parameters, name=name, check_horizon=check_horizon, notes=notes)


def validate(phi: sp.Expr, params: Sequence[Parameter] = (), *, name: str | None = None, check_horizon: bool = True,
             notes: Sequence[str] = ()) -> Potential:
    """The :class:`Potential` of ``phi`` (in :data:`x`) after the requirements ``symbols`` to
    ``horizon`` of the module docstring, in order; :class:`PotentialError` names the first that fails.

    >>> validate(x**2 + sp.Abs(x)).name
    Traceback (most recent call last):
    ...
    derivations.potentials.PotentialError: requirement 'differentiable at 0' fails: φ'(0+) = 1 ≠ 0 ...
    """
    notes = list(notes)
    expr = sp.sympify(phi)
    if expr.has(sp.Float):
        expr = sp.nsimplify(expr, rational=True)
        notes.append("floating-point constants were converted to rationals")
    unknown = sorted(str(s) for s in expr.free_symbols - {p.symbol for p in params} - {x})
    if unknown:
        raise PotentialError("symbols", f"the expression depends on {', '.join(unknown)} besides x "
                                        "(declare parameters with --param NAME[=VALUE])")
    if not expr.has(x):
        raise PotentialError("strictly convex", f"φ = {sp.sstr(expr)} does not depend on x")
    values = {p.symbol: p.value for p in params}
    notes += _check_real(expr, values)
    notes += _check_even(expr, values)
    potential = Potential(name or sp.sstr(expr), expr, tuple(params))
    notes += _check_strictly_convex(potential)
    _check_onto(potential)
    potential, normalized = _normalized(potential, name)
    notes += normalized
    notes += _check_differentiable_at_zero(potential)
    if check_horizon:
        _ = potential.horizon  # raises PotentialError("horizon", …)
    return Potential(potential.name, potential.phi, potential.params, tuple(notes))


def _check_real(expr: sp.Expr, values: Mapping) -> list[str]:
    """``real``: refuted by a certified imaginary part at a probe point ±t; a note unless sympy proves it."""
    if _safe(lambda: expr.is_extended_real):
        return []
    points = [s * t for t in _PROBE_POINTS[:6] for s in (-1, 1)]
    for point in points:
        value = _closed(expr, {**values, x: point})
        try:
            imaginary = evaluate_ball(value, 200).imag
        except (BallError, ZeroDivisionError, ValueError, TypeError):
            continue
        if not imaginary.contains(0):
            hint = " (a non-integer power of a negative number is complex: write Abs(x)**p, not x**p)" if expr.has(
                sp.Pow) and any(e.base.has(x) and not e.exp.is_integer for e in expr.atoms(sp.Pow)) else ""
            raise PotentialError("real", f"φ({point}) = {_show(value)} is not real: φ must be real on all of R{hint}")
    return [f"realness: sympy could not prove φ real on R; it is real at x = ±{', ±'.join(map(str, _PROBE_POINTS[:6]))}"]


def _check_even(expr: sp.Expr, values: Mapping) -> list[str]:
    """``even``: ``φ(−x) = φ(x)`` symbolically, else refuted at a probe point, else a note."""
    with _time_limit(SYMPY_SECONDS):
        odd_part = sp.sympify(expr.xreplace({x: -x}) - expr)
        proved = _safe(lambda: symbolic_route(odd_part)) == "zero"
    for point in _PROBE_POINTS[:6]:
        sign = _sign_at(_closed(odd_part, {**values, x: point}))
        if sign not in (0, None):
            a, b = _closed(expr, {**values, x: point}), _closed(expr, {**values, x: -point})
            raise PotentialError("even", f"φ(−x) ≠ φ(x): at x = {point}, φ(x) = {_show(a)} but φ(−x) = {_show(b)}")
    return [] if proved else ["evenness: sympy could not prove φ(−x) = φ(x); it holds at 6 rational points"]


def _check_strictly_convex(potential: Potential) -> list[str]:
    """``strictly convex``: ``φ''`` is not negative at a probe point and not 0 at all of them,
    then :func:`check_convexity` on all of R; notes on what was proved and on ``φ''(0)``."""
    with _time_limit(SYMPY_SECONDS):
        d2 = _safe(lambda: potential.d2phi_pos)
    if d2 is None:
        raise PotentialError("strictly convex", "sympy could not differentiate φ twice")
    values, shown = potential.default_values, f"φ''(x) = {sp.sstr(d2.xreplace({X_POS: x}))}"
    signs = []
    for point in _PROBE_POINTS:
        value = _closed(d2, {**values, X_POS: point})
        signs.append(_sign_at(value))
        if signs[-1] == -1:
            raise PotentialError("strictly convex", f"{shown} is negative at x = ±{point} (φ''(±{point}) = {_show(value)})")
    if all(s == 0 for s in signs):
        raise PotentialError("strictly convex", f"{shown} vanishes at every sampled point: φ is not strictly convex")
    notes = [n for n in [check_convexity(potential)] if n]
    with _time_limit(SYMPY_SECONDS):
        at_zero = _safe(lambda: sp.limit(_closed(d2, values), X_POS, 0, "+"))
    if at_zero == 0:
        notes.append("φ''(0) = 0: strictly convex, but the mirror-flow field −∂ℒ/φ''(θ_j) is singular where θ_j = 0")
    elif at_zero is sp.oo:
        notes.append("φ''(0+) = ∞: the mirror map φ' is not differentiable at 0 (θ̇_j = 0 there)")
    return notes


def _check_onto(potential: Potential) -> None:
    """``phi' onto R``: ``lim_{x→∞} φ'(x) = +∞``."""
    with _time_limit(SYMPY_SECONDS):
        dphi = _safe(lambda: potential.dphi_pos)
        top = _safe(lambda: sp.limit(dphi, X_POS, sp.oo)) if dphi is not None else None
    if top is None or isinstance(top, sp.Limit):
        raise PotentialError("phi' onto R", "sympy could not compute lim φ'(x) as x → ∞")
    if top is not sp.oo:
        raise PotentialError("phi' onto R", f"φ'(x) = {sp.sstr(dphi.xreplace({X_POS: x}))} tends to {sp.sstr(top)} as "
                                            f"x → ∞ (and to −{sp.sstr(top)} as x → −∞): the mirror map is not onto R, "
                                            "so φ* is infinite outside a bounded interval")


def _normalized(potential: Potential, name: str | None) -> tuple[Potential, list[str]]:
    """``phi(0)``: finite; a non-zero value is subtracted, with a note."""
    with _time_limit(SYMPY_SECONDS):
        phi0 = _safe(lambda: sp.limit(potential.phi_pos, X_POS, 0, "+"))
    if phi0 is None or not phi0.is_finite:
        raise PotentialError("phi(0)", f"φ(0) is not finite (sympy: {phi0})")
    if phi0 == 0:
        return potential, []
    phi = potential.phi - phi0
    return Potential(name or sp.sstr(phi), phi, potential.params), [
        f"normalized: φ(0) = {sp.sstr(phi0)} was subtracted (the mirror flow does not see constants)"]


def _kink_message(slope: sp.Expr) -> str:
    """Why an even φ with ``φ'(0+) = slope ≠ 0`` is refused."""
    s = sp.sstr(slope)
    message = f"φ'(0+) = {s} ≠ 0 and φ is even, so φ'(0−) = −{s}: φ' jumps at 0 and φ is not differentiable there"
    if slope.is_negative:
        return message + "; with φ'(0+) < 0, φ is not even convex at 0"
    return message + (f" (its subdifferential at 0 is [−{s}, {s}]). Not derived for such a non-smooth potential: "
                      "the mirror flow d/dt φ'(θ) = −∇ℒ(θ) (φ' is no function at 0), hence the balance law and "
                      f"dual-energy growth (MF-2, MF-3), and φ* (constant on [−{s}, {s}], its gradient does not invert φ')")


def _check_differentiable_at_zero(potential: Potential) -> list[str]:
    """``differentiable at 0``: ``φ'(0+) = 0`` (then ``φ'`` is continuous and odd); a note when
    sympy cannot decide."""
    with _time_limit(SYMPY_SECONDS):
        slope = _safe(lambda: sp.limit(potential.dphi_pos, X_POS, 0, "+"))
    if slope is None or isinstance(slope, sp.Limit) or slope.is_zero is None:
        return [f"differentiability at 0 not proved: sympy finds φ'(0+) = {slope}, not decided to be 0"]
    if not slope.is_zero:
        raise PotentialError("differentiable at 0", _kink_message(slope))
    return []


def _safe(compute):
    try:
        return compute()
    except _Timeout:
        return None
    except (NotImplementedError, ValueError, TypeError, AttributeError, ZeroDivisionError, RecursionError):
        return None


def _show(value: sp.Expr) -> str:
    value = sp.sympify(value)
    if value.is_Rational:
        return str(value)
    return f"{sp.sstr(value)} ≈ {sp.N(value, 6)}"
