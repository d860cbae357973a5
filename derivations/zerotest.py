"""The two independent routes that decide whether ``expr`` is identically zero (or of a sign).

* ``symbolic_route``: a cascade of sympy canonical forms, cheap to expensive, ending in
  ``simplify``.  It can only say ``"zero"`` (proved) or ``"unknown"``; sympy failing to
  simplify never counts as evidence of non-zero.
* ``numeric_route``: evaluation at random points drawn from each symbol's domain.  When
  the value is rational it is computed exactly (a non-zero rational is a counterexample,
  and for rational functions exact zeros at random points are Schwartz–Zippel evidence);
  otherwise it is enclosed in an ``acb`` ball at high precision, and a ball excluding 0 is
  a rigorous counterexample.

Random points follow each symbol's sympy assumptions (see ``draw_value``), or an explicit
``domain`` mapping symbol -> callable(random.Random) -> Rational.

>>> import sympy as sp
>>> x = sp.Symbol("x", positive=True)
>>> symbolic_route(sp.sqrt(x**2) - x)
'zero'
>>> numeric_route((x + 1)**2 - x**2 - 2*x - 1, seed=1).verdict
'zero'
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Callable, Mapping

import sympy as sp

from .balls import BallError, ball_contains_zero, ball_radius, ball_sign, evaluate_ball

__all__ = [
    "Domain",
    "NumericOutcome",
    "draw_value",
    "symbolic_route",
    "symbolic_sign_route",
    "numeric_route",
    "point_fate",
    "choice",
    "integers",
    "rationals",
]

Sampler = Callable[[random.Random], sp.Rational]
Domain = Mapping[sp.Basic, Sampler]

BALL_PREC = 320  # bits; a ball at this precision whose radius is below 2**-(BALL_PREC//2) is "tight"


def rationals(lo, hi, max_den: int = 9) -> Sampler:
    """Sampler of random rationals in the open interval (lo, hi), avoiding the end points."""
    lo, hi = sp.Rational(lo), sp.Rational(hi)

    def draw(rng: random.Random) -> sp.Rational:
        while True:
            q = rng.randint(1, max_den)
            low, high = sp.floor(lo * q) + 1, sp.ceiling(hi * q) - 1
            if low <= high:
                value = sp.Rational(rng.randint(int(low), int(high)), q)
                if value != 0:
                    return value

    return draw


def integers(lo: int, hi: int) -> Sampler:
    return lambda rng: sp.Integer(rng.randint(lo, hi))


def choice(*values) -> Sampler:
    values = [sp.sympify(v) for v in values]
    return lambda rng: rng.choice(values)


def draw_value(symbol: sp.Basic, rng: random.Random) -> sp.Rational:
    """A random exact value compatible with the symbol's assumptions."""
    if symbol.is_integer:
        if symbol.is_positive:
            return sp.Integer(rng.randint(1, 6))
        if symbol.is_nonnegative:
            return sp.Integer(rng.randint(0, 5))
        return sp.Integer(rng.randint(-4, 4))
    if symbol.is_positive:
        return rationals(0, 3)(rng)
    if symbol.is_negative:
        return -rationals(0, 3)(rng)
    if symbol.is_nonnegative or symbol.is_nonpositive:  # the boundary 0 is drawn too
        value = sp.Integer(0) if rng.random() < 0.25 else rationals(0, 3)(rng)
        return value if symbol.is_nonnegative else -value
    return rationals(-3, 3)(rng)


def symbolic_route(expr: sp.Expr) -> str:
    """``"zero"`` when a sympy canonical form of ``expr`` is 0, else ``"unknown"``."""
    expr = sp.sympify(expr).doit()
    if expr == 0:
        return "zero"
    for transform in (
        lambda e: sp.expand(sp.together(e).as_numer_denom()[0]),  # complete for rational functions
        sp.expand,
        lambda e: sp.cancel(sp.together(e)),
        lambda e: sp.expand(sp.powsimp(sp.expand_power_base(sp.powdenest(e)))),
        lambda e: sp.simplify(e),
        lambda e: sp.simplify(sp.expand_log(sp.expand(e), force=False)),
    ):
        try:
            canonical = transform(expr)
            if canonical == 0:
                return "zero"
            if isinstance(canonical, sp.Piecewise) and _piecewise_route(canonical) == "zero":
                return "zero"
        except (sp.PolynomialError, NotImplementedError, TypeError, ValueError):
            continue
    return "unknown"


def _piecewise_route(expr: sp.Piecewise) -> str:
    """Zero when every branch vanishes wherever its own condition holds (:func:`_vanishes_under`)."""
    if all(_vanishes_under(branch, condition) for branch, condition in expr.args):
        return "zero"
    return "unknown"


def _vanishes_under(branch: sp.Expr, condition: sp.Basic) -> bool:
    """``branch`` is 0 under each alternative of ``condition`` (the arguments of an ``Or``):
    an alternative that is an equality (or an ``And`` with equalities) is solved and every
    solution is substituted into the branch; any other alternative needs the branch to be
    identically zero as it stands."""
    for alternative in (condition.args if isinstance(condition, sp.Or) else (condition,)):
        terms = alternative.args if isinstance(alternative, sp.And) else (alternative,)
        equalities = [t for t in terms if isinstance(t, sp.Eq)]
        if not equalities:
            if symbolic_route(branch) != "zero":
                return False
            continue
        try:
            solutions = sp.solve(equalities, dict=True)
        except NotImplementedError:
            return False
        # no solution: the alternative never holds, so nothing is required of the branch
        if any(symbolic_route(branch.subs(solution)) != "zero" for solution in solutions):
            return False
    return True


def _sum_of_nonnegative_terms(expr: sp.Expr) -> bool:
    return isinstance(expr, sp.Sum) and bool(expr.function.is_nonnegative) and all(
        lo.is_integer and hi.is_integer for _, lo, hi in expr.limits
    )


def symbolic_sign_route(expr: sp.Expr, relation: str) -> str:
    """``"holds"`` when sympy's assumptions prove ``expr >= 0`` (or ``> 0``), else ``"unknown"``."""
    expr = sp.sympify(expr)
    if relation == ">=" and _sum_of_nonnegative_terms(expr):
        return "holds"  # a sum (possibly with a symbolic bound) of non-negative terms
    expr = expr.doit()
    for candidate in (expr, sp.factor(expr), sp.simplify(expr)):
        known = candidate.is_nonnegative if relation == ">=" else candidate.is_positive
        if known:
            return "holds"
    return "unknown"


@dataclass
class NumericOutcome:
    """What the random-point route found.

    ``verdict`` is ``"zero"`` (exact zero or a tight ball around 0 at every point),
    ``"nonzero"`` (a counterexample point, with its value), or ``"undecided"``.
    For relations, ``"holds"`` / ``"fails"`` / ``"undecided"``.
    """

    verdict: str
    points: int = 0
    exact_points: int = 0
    ball_points: int = 0
    counterexample: dict | None = None
    value: str | None = None
    note: str | None = None
    samples: list = field(default_factory=list, repr=False)


def _free_atoms(expr: sp.Basic) -> list[sp.Basic]:
    atoms = set(expr.free_symbols)
    atoms |= {a for a in expr.atoms(sp.Indexed)}
    atoms -= {a.base.label for a in expr.atoms(sp.Indexed)}
    atoms -= {a.label for a in expr.atoms(sp.IndexedBase)}
    return sorted(atoms, key=sp.default_sort_key)


def _substitute(expr: sp.Basic, domain: Domain, rng: random.Random) -> tuple[sp.Basic, dict]:
    """Replace every free symbol by a random exact value; symbolic sums are expanded once
    their bounds become numbers, which can expose new (indexed) symbols."""
    point: dict = {}
    for _ in range(4):
        atoms = [a for a in _free_atoms(expr) if a not in point]
        if not atoms:
            break
        for atom in atoms:
            sampler = domain.get(atom)
            if sampler is None and isinstance(atom, sp.Indexed):
                sampler = domain.get(atom.base)
            point[atom] = sampler(rng) if sampler else draw_value(atom, rng)
        expr = expr.xreplace(point).doit()
    return expr, point


def _value_of(expr: sp.Basic) -> tuple[str, object]:
    """Classify a closed number: ('exact', Rational) or ('ball', acb)."""
    if expr.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        raise ZeroDivisionError
    if expr.is_Rational:
        return "exact", expr
    return "ball", evaluate_ball(expr, BALL_PREC)


def point_fate(value, relation: str) -> str:
    """The rule for one point: ``"holds"``, ``"fails"`` (a certified counterexample) or
    ``"undecided"``, for ``value`` an exact Rational or an ``acb`` ball and ``relation`` one of
    ``=``, ``>=``, ``>`` (``value`` against 0).

    An exact value decides by its sign.  A ball decides when it certifies a sign (a real ball
    that excludes 0, or for ``=`` any ball that excludes 0).  A ball around 0 of radius below
    ``2**-(BALL_PREC/2)`` counts as 0 — evidence, not proof, and only where 0 satisfies the
    relation (``=``, ``>=``): for ``>`` it cannot tell 0 from a tiny positive value, so it is
    undecided and never a counterexample.

    >>> point_fate(sp.Integer(0), ">"), point_fate(sp.Integer(0), ">="), point_fate(sp.Rational(-1, 3), ">=")
    ('fails', 'holds', 'fails')
    """
    if isinstance(value, sp.Basic):
        sign = int(sp.sign(value))
    else:
        sign = ball_sign(value)
        if sign is None:
            if relation == "=" and not ball_contains_zero(value):
                return "fails"
            tight = ball_contains_zero(value) and ball_radius(value) < 2.0 ** (-BALL_PREC // 2)
            return "holds" if tight and relation in ("=", ">=") else "undecided"
    failed = {"=": sign != 0, ">=": sign < 0, ">": sign <= 0}[relation]
    return "fails" if failed else "holds"


def numeric_route(
    expr: sp.Expr,
    domain: Domain | None = None,
    *,
    relation: str = "=",
    points: int = 8,
    seed: int = 0,
) -> NumericOutcome:
    """Evaluate ``expr`` (meant to be ``lhs - rhs``) at ``points`` random exact points.

    With ``relation="="`` it tests ``expr == 0``; with ``">="``/``">"`` it tests the sign.
    """
    domain = domain or {}
    rng = random.Random(seed)
    outcome = NumericOutcome("undecided")
    undecided_notes = []
    attempts = 0
    while outcome.points < points and attempts < 4 * points:
        attempts += 1
        try:
            closed, point = _substitute(sp.sympify(expr), domain, rng)
            kind, value = _value_of(closed)
        except ZeroDivisionError:
            continue  # a pole of the expression: draw another point
        except BallError as exc:
            undecided_notes.append(str(exc))
            outcome.points += 1
            continue
        outcome.points += 1
        if kind == "exact":
            outcome.exact_points += 1
        else:
            outcome.ball_points += 1
        fate = point_fate(value, relation)
        if fate == "undecided":
            undecided_notes.append(f"ball {value} neither decides {relation} 0 nor is a tight ball around 0")
        elif fate == "fails":
            outcome.verdict = "nonzero" if relation == "=" else "fails"
            outcome.counterexample = {str(k): str(v) for k, v in point.items()}
            outcome.value = str(value)
            return outcome
    if outcome.points == 0:
        outcome.note = "no admissible point found (every draw hit a pole)"
        return outcome
    if undecided_notes:
        outcome.note = undecided_notes[0]
        return outcome
    outcome.verdict = "zero" if relation == "=" else "holds"
    return outcome
