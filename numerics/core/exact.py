"""Exact sympy numbers from the many ways a user or a test gives a value."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction
from typing import Any

import mpmath
import numpy as np
import sympy as sp

from derivations.parsing import ParseError, parse_number

__all__ = ["exact_number", "read_exact"]


def exact_number(v: Any, what: str = "value"):
    """``v`` as an exact sympy number: binary floats, mpf and gmpy2 values exactly, strings as
    fractions or decimals; ``ValueError``/``TypeError`` naming ``what`` otherwise.

    >>> exact_number("0.1"), exact_number(0.5)
    (1/10, 1/2)
    """
    if isinstance(v, bool):
        raise TypeError(f"{what}: expected a real number, got a bool")
    if isinstance(v, sp.Basic):
        if not getattr(v, "is_number", False):
            raise ValueError(f"{what}: expected a number, got the expression {v}")
        if v.is_real is False:
            raise ValueError(f"{what}: expected a real number, got {v}")
        return v
    if isinstance(v, (int, np.integer)):
        return sp.Integer(int(v))
    if isinstance(v, (float, np.floating)):
        if not math.isfinite(float(v)):
            raise ValueError(f"{what}: expected a finite number, got {v!r}")
        return sp.Rational(*float(v).as_integer_ratio())
    if isinstance(v, str):
        return read_exact(v, what)
    if isinstance(v, (Fraction, Decimal)):
        fr = Fraction(v)
        return sp.Rational(fr.numerator, fr.denominator)
    if isinstance(v, mpmath.mpf):
        if not mpmath.isfinite(v):
            raise ValueError(f"{what}: expected a finite number, got {v}")
        return sp.Rational(*mpmath.libmp.to_rational(v._mpf_))
    if type(v).__module__.startswith("gmpy2"):
        return sp.Rational(*(int(x) for x in v.as_integer_ratio()))
    raise TypeError(f"{what}: expected a real number, got {type(v).__name__}: {v!r}")


def read_exact(text: str, what: str) -> sp.Rational:
    """Text as an exact rational, by the project's one reader of user text
    (:func:`derivations.parsing.parse_number`: ``"0.1"``, ``"1/3"``, ``"2.5e-3"``)."""
    try:
        return parse_number(text, what=what)
    except ParseError as exc:
        raise ValueError(f"{what}: cannot read {text!r} as an exact real number ({exc})") from None
