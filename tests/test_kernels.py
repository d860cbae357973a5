"""Tests of derivations.kernels: generated numpy / mpmath kernels."""
from fractions import Fraction
import re

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

from derivations.kernels import free_symbols_of, make_kernel, to_mpf


W = sp.symbols("w1:4", positive=True)
C, LAM = sp.symbols("c lambda", positive=True)
THIRD = sp.Rational(1, 3)


def _diag_rhs(exponent=sp.Rational(4, 3)):
    """Balanced L=3 diagonal network on the square loss (positive orthant), scaled by c."""
    X = sp.Matrix([[1, 2, -1], [sp.Rational(1, 2), -1, 1]])
    y = sp.Matrix([1, -sp.Rational(1, 2)])
    g = X.T * (X * sp.Matrix(W) - y)
    return [-3 * C * W[i] ** exponent * g[i] for i in range(3)]


def _mixed_rhs():
    """Exercises Rational constants, a (binary-exact) Float, exp/log/sqrt, a shared
    subexpression."""
    r = W[0] + 2 * W[1] - THIRD
    return [
        -3 * C * W[0] ** sp.Rational(4, 3) * r + THIRD * sp.exp(-W[2]),
        sp.Rational(2, 7) * r**2 - sp.log(W[1]) + sp.sqrt(W[2] + LAM),
        sp.Float("0.125", 40) * W[0] * W[2] - sp.Rational(5, 3) * r / (1 + W[1] ** 2),
    ]


PARAMS = [C, LAM]


def test_source_docstring_and_cse():
    k = make_kernel(W, _mixed_rhs(), PARAMS, backend="mpmath", name="mixed")
    doc = k.func.__doc__
    assert "y[0] = w1" in doc and "y[2] = w3" in doc
    assert "p[0] = c" in doc and "p[1] = lambda" in doc
    assert "dw1/dt" in doc and "exp(-w3)" in doc
    assert k.__doc__ == doc
    # cse: the shared subexpression is computed once
    assert "_cse0 =" in k.source
    # `lambda` is a Python keyword: renamed, but documented
    assert "(as p_1)" in doc


def test_mpmath_source_has_no_float_literals():
    k = make_kernel(W, _mixed_rhs(), PARAMS, backend="mpmath")
    body = k.source.split('"""')[2]   # code after the docstring
    assert not re.search(r"(?<![\w.])\d+\.\d", body), body
    assert "mpmath.mpf(1)/mpmath.mpf(3)" in body
    assert "mpmath.mpf(4)/mpmath.mpf(3)" in body
    assert "mpmath.workdps(dps)" in body


def _exact_point(vals):
    return [Fraction(v).limit_denominator(10**6) for v in vals]


@settings(max_examples=60, deadline=None)
@given(w=st.lists(st.floats(0.05, 3.0), min_size=3, max_size=3),
       c=st.floats(0.1, 4.0), lam=st.floats(0.0, 2.0))
def test_numpy_and_mpmath_backends_agree(w, c, lam):
    kn = _KN
    km = _KM
    a = kn(np.array(w), (c, lam))
    b = km(w, (c, lam), dps=30)
    assert isinstance(a, np.ndarray) and a.dtype == np.float64
    for u, v in zip(a, b):
        assert abs(u - float(v)) <= 1e-13 * max(1.0, abs(float(v)))


_KN = make_kernel(W, _mixed_rhs(), PARAMS, backend="numpy")
_KM = make_kernel(W, _mixed_rhs(), PARAMS, backend="mpmath")


@pytest.mark.parametrize("caller_dps", [15, 5])
@pytest.mark.parametrize("rhs_name", ["diag", "mixed"])
def test_mpmath_kernel_matches_sympy_evalf(caller_dps, rhs_name):
    rhs = _diag_rhs() if rhs_name == "diag" else _mixed_rhs()
    k = make_kernel(W, rhs, PARAMS, backend="mpmath")
    rng = np.random.default_rng(7)
    for _ in range(5):
        pt = _exact_point(rng.uniform(0.05, 2.0, 3))
        pv = _exact_point(rng.uniform(0.1, 3.0, 2))
        subs = {**{s: sp.Rational(v.numerator, v.denominator) for s, v in zip(W, pt)},
                **{s: sp.Rational(v.numerator, v.denominator) for s, v in zip(PARAMS, pv)}}
        mpmath.mp.dps = caller_dps
        got = k(pt, pv, dps=50)
        assert mpmath.mp.dps == caller_dps          # left unchanged
        with mpmath.workdps(70):
            for e, g in zip(rhs, got):
                # sympy's evalf caps the accuracy at a Float's own precision, so give the
                # oracle the Float's exact binary value as a Rational
                e_exact = e.xreplace({f: sp.Rational(f) for f in e.atoms(sp.Float)})
                exact = to_mpf(e_exact.xreplace(subs).evalf(60))
                assert abs(g - exact) <= mpmath.mpf(10) ** -48 * max(1, abs(exact)), (e, g, exact)


def test_mpmath_kernel_independent_of_caller_precision():
    k = make_kernel(W, _mixed_rhs(), PARAMS, backend="mpmath")
    pt, pv = ["0.3", "1/7", "2.5"], [Fraction(3, 2), "0.25"]
    mpmath.mp.dps = 15
    a = k(pt, pv, dps=40)
    mpmath.mp.dps = 5
    b = k(pt, pv, dps=40)
    mpmath.mp.dps = 200
    c = k(pt, pv, dps=40)
    assert [x._mpf_ for x in a] == [x._mpf_ for x in b] == [x._mpf_ for x in c]
    # prec= alternative (for mpmath.odefun, which raises the precision internally)
    d = k(pt, pv, prec=mpmath.libmp.dps_to_prec(40))
    assert [x._mpf_ for x in a] == [x._mpf_ for x in d]
    with pytest.raises(TypeError, match="exactly one"):
        k(pt, pv)


def test_planted_wrong_exponent_disagrees():
    good = make_kernel(W, _diag_rhs(), PARAMS, backend="mpmath")
    bad = make_kernel(W, _diag_rhs(sp.Rational(13, 10)), PARAMS, backend="mpmath")
    pt, pv = ["0.4", "0.7", "1.3"], [1, 0]
    with mpmath.workdps(60):
        truth = [to_mpf(e.subs(dict(zip(W, map(sp.Rational, pt)))).subs(C, 1).evalf(60))
                 for e in _diag_rhs()]
        err_good = max(abs(a - b) for a, b in zip(good(pt, pv, dps=50), truth))
        err_bad = max(abs(a - b) for a, b in zip(bad(pt, pv, dps=50), truth))
    assert err_good < mpmath.mpf(10) ** -48
    assert err_bad > mpmath.mpf(10) ** -3


def test_float_literal_kernel_would_be_caught():
    """A float exponent (the classic lambdify pitfall) is detectably wrong at 50 digits."""
    k = make_kernel(W, _diag_rhs(sp.Float(4 / 3)), PARAMS, backend="mpmath")
    exact = make_kernel(W, _diag_rhs(), PARAMS, backend="mpmath")
    pt = ["0.4", "0.7", "1.3"]
    with mpmath.workdps(60):
        diff = max(abs(a - b) for a, b in zip(k(pt, [1, 0], dps=50), exact(pt, [1, 0], dps=50)))
    assert diff > mpmath.mpf(10) ** -20


def test_numpy_kernel_values():
    k = make_kernel([W[0]], [-C * W[0] ** sp.Rational(4, 3)], [C])
    assert k([8.0], [2.0])[0] == pytest.approx(-32.0, rel=1e-15)
    assert k.backend == "numpy" and k.state == (W[0],) and k.params == (C,)


def test_strange_symbol_names_are_renamed():
    a, (b, y, p) = sp.Symbol("u_{1,2}"), sp.symbols("lambda y p")
    k = make_kernel([a, b, y], [b, -a + p, a * y], [p], backend="mpmath")
    assert k([1, 2, 3], [5], dps=20) == [2, 4, 3]
    kn = make_kernel([a, b, y], [b, -a + p, a * y], [p])
    assert list(kn([1.0, 2.0, 3.0], [5.0])) == [2.0, 4.0, 3.0]


def test_constant_rhs_returns_mpf():
    x = sp.Symbol("x")
    k = make_kernel([x], [sp.Rational(1, 3)], backend="mpmath")
    v = k([0], dps=30)[0]
    assert isinstance(v, mpmath.mpf)
    with mpmath.workdps(40):
        assert abs(v - mpmath.mpf(1) / 3) < mpmath.mpf(10) ** -29


def test_bad_input_errors():
    x, z = sp.symbols("x z")
    with pytest.raises(ValueError, match="same length"):
        make_kernel([x, z], [x])
    with pytest.raises(ValueError, match="neither state nor params"):
        make_kernel([x], [x * z])
    with pytest.raises(ValueError, match="backend"):
        make_kernel([x], [x], backend="torch")
    with pytest.raises(TypeError, match="Symbols"):
        make_kernel([x + 1], [x])
    with pytest.raises(ValueError, match="distinct"):
        make_kernel([x], [x], params=[x])
    with pytest.raises(ValueError, match="besselj"):
        make_kernel([x], [sp.besselj(2, x)], backend="numpy")
    with pytest.raises(ValueError, match="'f'"):
        make_kernel([x], [sp.Function("f")(x)], backend="mpmath")
    k = make_kernel([x, z], [z, x])
    with pytest.raises(ValueError, match="2 components"):
        k([1.0])
    with pytest.raises(ValueError, match="p must have 0"):
        k([1.0, 2.0], [3.0])


def test_free_symbols_of_agrees_with_sympy_on_shared_and_bound_symbols():
    x, y, t = sp.symbols("x y t")
    shared = sp.Add(*[(i + 1) * W[i] for i in range(3)]) - y   # one subexpression, used thrice
    exprs = [shared * W[0], shared ** 2 + sp.exp(shared), sp.Integral(x * t, (t, 0, 1)),
             sp.Lambda(t, t + y)(x), sp.Derivative(sp.Function("f")(x), x), sp.Integer(3)]
    expected = set().union(*(e.free_symbols for e in exprs))
    assert free_symbols_of(exprs) == expected
    assert t not in free_symbols_of(exprs)           # bound by the Integral and the Lambda
    assert free_symbols_of([]) == set()


def test_foreign_symbol_is_named_in_a_shared_rhs():
    x, z = sp.symbols("x z")
    shared = x + 2 * z
    with pytest.raises(ValueError, match=r"rhs\[1\].*\['z'\]"):
        make_kernel([x, sp.Symbol("v")], [x, shared * x])


@given(st.fractions(min_value=-10, max_value=10, max_denominator=10**6))
@settings(max_examples=30, deadline=None)
def test_to_mpf_exact_kinds(fr):
    with mpmath.workdps(40):
        ref = mpmath.mpf(fr.numerator) / fr.denominator
        for v in (fr, f"{fr.numerator}/{fr.denominator}", sp.Rational(fr.numerator, fr.denominator)):
            assert to_mpf(v) == ref
