"""sympy -> heyoka expressions, shared by the benchmark scripts (heyoka is imported lazily).

``to_heyoka(expr, variables, constant)`` converts Symbols (looked up in ``variables``, which
may map any sympy Symbol, e.g. a named subexpression, to a heyoka expression), integers and
rationals (through ``constant``), sums, products and powers.
"""
from __future__ import annotations


def to_heyoka(expr, variables, constant):
    """sympy -> heyoka expression; rationals become exact quotients of ``constant`` values
    (heyoka's own ``from_sympy`` refuses denominators that are not powers of 2)."""
    import heyoka as hy

    if expr.is_Symbol:
        return variables[expr]
    if expr.is_Integer:
        return constant(int(expr))
    if expr.is_Rational:
        return constant(int(expr.p)) / constant(int(expr.q))
    args = [to_heyoka(a, variables, constant) for a in expr.args]
    if expr.is_Add:
        return hy.sum(args)
    if expr.is_Mul:
        return hy.prod(args)
    if expr.is_Pow:
        return args[0] ** args[1]
    raise ValueError(f"no heyoka conversion for {type(expr).__name__}")
