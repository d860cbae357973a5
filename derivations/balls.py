"""Rigorous evaluation of closed sympy numbers in complex ball arithmetic (python-flint ``acb``).

sympy's own ``evalf`` estimates accuracy but does not return enclosures, and ``lambdify``
has no printer for arb; so this small tree walker maps each sympy node to the matching
``acb`` operation.  The result is a ball guaranteed to contain the exact value, which is
what the numeric route of the zero test needs: a ball that excludes 0 *proves* the
expression is non-zero at that point.

>>> import sympy as sp
>>> ball = evaluate_ball(sp.sqrt(2) ** 2 - 2, prec=128)
>>> ball_contains_zero(ball)
True
"""

from __future__ import annotations

import flint
import sympy as sp

__all__ = ["BallError", "UNARY_METHODS", "evaluate_ball", "ball_contains_zero", "ball_radius", "ball_sign"]


class BallError(ValueError):
    """The expression cannot be enclosed (unsupported function, or a sign is not decided)."""


#: sympy functions of one argument -> the python-flint ball method that encloses them
UNARY_METHODS = {
    sp.exp: "exp",
    sp.log: "log",
    sp.sin: "sin",
    sp.cos: "cos",
    sp.tan: "tan",
    sp.sinh: "sinh",
    sp.cosh: "cosh",
    sp.tanh: "tanh",
    sp.asinh: "asinh",
    sp.acosh: "acosh",
    sp.atanh: "atanh",
    sp.atan: "atan",
}


def _walk(e: sp.Basic) -> flint.acb:
    if e.is_Rational:
        return flint.acb(flint.arb(flint.fmpq(int(e.p), int(e.q))))
    if e is sp.pi:
        return flint.acb(flint.arb.pi())
    if e is sp.E:
        return flint.acb(flint.arb.const_e())
    if e is sp.I:
        return flint.acb(0, 1)
    if isinstance(e, sp.Float):
        raise BallError(f"inexact Float {e} in an expression meant to be exact")
    if e.is_Add:
        total = flint.acb(0)
        for a in e.args:
            total += _walk(a)
        return total
    if e.is_Mul:
        prod = flint.acb(1)
        for a in e.args:
            prod *= _walk(a)
        return prod
    if e.is_Pow:
        base = _walk(e.base)
        if e.exp.is_Integer:
            n = int(e.exp)
            return base**n if n >= 0 else 1 / base ** (-n)
        return base ** _walk(e.exp)
    if isinstance(e, sp.Abs):
        return flint.acb(abs(_walk(e.args[0])))
    if isinstance(e, sp.sign):
        sign = ball_sign(_walk(e.args[0]))
        if sign is None:
            raise BallError(f"sign of {e.args[0]} is not decided at this precision")
        return flint.acb(sign)
    func = UNARY_METHODS.get(type(e))
    if func is not None:
        return getattr(_walk(e.args[0]), func)()
    raise BallError(f"no ball enclosure for {type(e).__name__} in {e}")


def evaluate_ball(expr: sp.Expr, prec: int) -> flint.acb:
    """Enclose the value of a closed sympy number at ``prec`` bits (global flint precision restored)."""
    if expr.free_symbols:
        raise BallError(f"expression still has free symbols {sorted(map(str, expr.free_symbols))}")
    with flint.ctx.workprec(prec):
        return _walk(sp.sympify(expr))


def ball_contains_zero(z: flint.acb) -> bool:
    return z.real.contains(0) and z.imag.contains(0)


def ball_radius(z: flint.acb) -> float:
    return float(max(z.real.rad(), z.imag.rad()))


def ball_sign(z: flint.acb) -> int | None:
    """Sign of a real ball: +1, -1, 0 (exact zero), or None when the ball straddles 0 or is not real."""
    if not (z.imag.contains(0) and z.imag.rad() == 0 and z.imag.mid() == 0):
        return None
    x = z.real
    if x > 0:
        return 1
    if x < 0:
        return -1
    if x.is_exact() and x.mid() == 0:
        return 0
    return None
