"""The compiled Taylor engine (numerics/core/taylor_engine.c) against the Python route.

The two routes run the same Taylor program with the same roundings, so every test asks for
the *same bits*: states, output times, step counts and step sizes; and, on failure, the same
error message.  The engine must also be refused cleanly where it cannot be built.
"""
from __future__ import annotations

import shutil
from fractions import Fraction

import mpmath
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

from numerics.core import taylor_engine
from numerics.core.taylor import TaylorError, TaylorSystem, integrate

# skipped only where there is no C compiler: where there is one, the engine must build
pytestmark = pytest.mark.skipif(shutil.which(taylor_engine._compiler()) is None,
                                reason="no C compiler: the Python route runs instead")


def test_the_engine_builds_where_there_is_a_compiler():
    ok, why = taylor_engine.available()
    assert ok, why


x, y, z = sp.symbols("x y z", real=True)
s = sp.Symbol("s")

#: every node kind of the Taylor program (lin gathered and not, mul, sqr, div, recip, pow
#: with a real and an integer exponent, sqrt, exp, log, abs, sign, sin, cos, tanh, x**y)
SYSTEMS = {
    "mixed": TaylorSystem(
        [x, y, z],
        [-x * y + sp.Rational(1, 3) * z - sp.exp(-x / 3),
         sp.sqrt(1 + x ** 2) - sp.log(1 + y ** 2) + sp.sin(z) * sp.cos(2 * x),
         sp.tanh(x - y) / (2 + z ** 2) - y ** -3 + sp.Abs(x + 3) ** sp.Rational(5, 2) * sp.sign(x + 3)]),
    "power and quotient": TaylorSystem(
        [x, y], [-x ** sp.Rational(4, 3) * (x + 2 * y - 1), (x + 1) ** y - y / (x + 2)]),
    "linear map": TaylorSystem(
        [x, y, z, s],
        [2 * x - y + 3 * z - s + 1, x + y + z + s, -x + 5 * y - z / 7 + s / 3 - 2, -(x + y)]),
    "parameters": TaylorSystem([x, y], [-sp.Symbol("a") * x * y, sp.Symbol("a") ** 2 * x - y],
                               [sp.Symbol("a")]),
}
STARTS = {"mixed": ["1/2", "3/4", "-1/5"], "power and quotient": ["1/2", "1/4"],
          "linear map": ["1", "-1/2", "1/3", "2"], "parameters": ["1", "1/2"]}
PARAMS = {"parameters": ["3/7"]}
HORIZONS = {"linear map": Fraction(6), "parameters": Fraction(4)}   # long steps


def both(system, y0, t_end, **options):
    return (integrate(system, y0, t_end, engine="python", **options),
            integrate(system, y0, t_end, engine="c", **options))


def assert_same_bits(a, b):
    assert a.y == b.y and a.t == b.t
    assert (a.steps, a.order, a.min_step, a.max_step, a.prec_bits) == \
        (b.steps, b.order, b.min_step, b.max_step, b.prec_bits)
    assert b.integrator == taylor_engine.ENGINE_NAME != a.integrator


@pytest.mark.parametrize("name", SYSTEMS)
@pytest.mark.parametrize("dps", [20, 50, 120])
def test_same_bits_as_the_python_route(name, dps):
    horizon = HORIZONS.get(name, Fraction(1, 2))
    times = [horizon * Fraction(k, 5) for k in range(6)]
    a, b = both(SYSTEMS[name], STARTS[name], horizon, dps=dps, times=times,
                params=PARAMS.get(name, ()))
    assert a.steps >= 2
    assert_same_bits(a, b)


@settings(max_examples=20, deadline=None)
@given(x0=st.fractions(Fraction(-2), Fraction(2), max_denominator=64),
       y0=st.fractions(Fraction(1, 8), Fraction(2), max_denominator=64),
       t_end=st.fractions(Fraction(-1, 2), Fraction(1, 2), max_denominator=16).filter(bool),
       dps=st.sampled_from([15, 30, 60]))
def test_same_bits_anywhere(x0, y0, t_end, dps):
    system = TaylorSystem([x, y], [sp.cos(x) * y - x ** 2 / (1 + y), -y ** sp.Rational(3, 2) + sp.exp(x) / 4])
    try:
        a = integrate(system, [x0, y0], t_end, dps=dps, engine="python")
    except TaylorError as error:
        with pytest.raises(TaylorError) as caught:
            integrate(system, [x0, y0], t_end, dps=dps, engine="c")
        assert str(caught.value) == str(error)
        return
    assert_same_bits(a, integrate(system, [x0, y0], t_end, dps=dps, engine="c"))


def test_backward_and_tolerance_options():
    a, b = both(SYSTEMS["mixed"], STARTS["mixed"], "-0.3", dps=40, tol="1e-25", t0="0.1")
    assert_same_bits(a, b)


@pytest.mark.parametrize("rhs, y0, t_end, match", [
    (sp.log(y), ["-1"], 1, "argument of log is negative"),
    (sp.sqrt(y), [0], 1, "argument of sqrt is 0"),
    (y ** sp.Rational(1, 3), [-1], 1, r"x\*\*0.333333 is negative"),
    (1 / y, [0], 1, "division by zero"),
    (-sp.sqrt(y), [1], 3, "value of sqrt"),                      # y = (1 - t/2)^2 reaches 0
    (-3 * y ** sp.Rational(2, 3), [1], 3, "pow"),                 # y = (1 - t)^3 changes sign
    (y ** 2, ["1/2"], 3, "underflow|max_steps"),                   # blow-up at t = 2
    (sp.Abs(y - 1), ["1"], 1, "exactly 0"),
])
def test_same_errors_as_the_python_route(rhs, y0, t_end, match):
    system = TaylorSystem([y], [rhs])
    messages = []
    for engine in ("python", "c"):
        with pytest.raises(TaylorError, match=match) as caught:
            integrate(system, y0, t_end, dps=20, engine=engine, max_steps=3000)
        messages.append(str(caught.value))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("system, y0, options, match", [
    (TaylorSystem([x, z], [1, sp.Abs(x)]), ["-1", 0], {}, "Abs/sign changes sign"),
    (SYSTEMS["mixed"], STARTS["mixed"], {"max_steps": 2}, "max_steps = 2"),
])
def test_sign_change_and_max_steps(system, y0, options, match):
    messages = []
    for engine in ("python", "c"):
        with pytest.raises(TaylorError, match=match) as caught:
            integrate(system, y0, 3, dps=20, engine=engine, **options)
        messages.append(str(caught.value))
    assert messages[0] == messages[1]


def test_engine_choice_is_validated():
    system = SYSTEMS["parameters"]
    with pytest.raises(ValueError, match="engine must be"):
        integrate(system, ["1", "1"], 1, dps=20, params=["1"], engine="llvm")
    with pytest.raises(ValueError, match="progress"):
        integrate(system, ["1", "1"], 1, dps=20, params=["1"], engine="c", progress=lambda t, n: None)
    seen = []
    r = integrate(system, ["1", "1"], 1, dps=20, params=["1"], progress=lambda t, n: seen.append(n))
    assert r.integrator != taylor_engine.ENGINE_NAME and seen   # auto + progress: Python


def test_without_a_compiler_the_python_route_runs(monkeypatch, tmp_path):
    monkeypatch.setenv("FLOWPROOF_ENGINE_DIR", str(tmp_path))
    monkeypatch.setenv("CC", str(tmp_path / "no-such-compiler"))
    taylor_engine._library.cache_clear()
    try:
        ok, why = taylor_engine.available()
        assert not ok and "compiler" in why
        r = integrate(SYSTEMS["parameters"], ["1", "1"], 1, dps=20, params=["1"])
        assert r.integrator != taylor_engine.ENGINE_NAME
        with pytest.raises(RuntimeError, match="not available"):
            integrate(SYSTEMS["parameters"], ["1", "1"], 1, dps=20, params=["1"], engine="c")
    finally:
        monkeypatch.undo()
        taylor_engine._library.cache_clear()
    assert taylor_engine.available()[0]


def test_an_unwritable_engine_folder_falls_back_to_python(monkeypatch, tmp_path):
    blocker = tmp_path / "a file"
    blocker.write_text("")
    monkeypatch.setenv("FLOWPROOF_ENGINE_DIR", str(blocker / "engine"))   # under a file: no mkdir
    taylor_engine._library.cache_clear()
    try:
        ok, why = taylor_engine.available()
        assert not ok and "FLOWPROOF_ENGINE_DIR" in why
        assert integrate(SYSTEMS["parameters"], ["1", "1"], 1, dps=20,
                         params=["1"]).integrator != taylor_engine.ENGINE_NAME
    finally:
        monkeypatch.undo()
        taylor_engine._library.cache_clear()


def test_the_environment_can_ask_for_the_python_route(monkeypatch):
    monkeypatch.setenv("FLOWPROOF_ENGINE", "python")
    taylor_engine._library.cache_clear()
    try:
        assert taylor_engine.available() == (False, "FLOWPROOF_ENGINE=python")
        r = integrate(SYSTEMS["parameters"], ["1", "1"], 1, dps=20, params=["1"])
        assert r.integrator != taylor_engine.ENGINE_NAME
    finally:
        monkeypatch.undo()
        taylor_engine._library.cache_clear()


def test_a_compiled_engine_is_reused_from_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("FLOWPROOF_ENGINE_DIR", str(tmp_path))
    taylor_engine._library.cache_clear()
    try:
        assert taylor_engine.available()[0]
        built = list(tmp_path.glob("taylor_engine-*.so"))
        assert len(built) == 1
        stamp = built[0].stat().st_mtime_ns
        taylor_engine._library.cache_clear()
        assert taylor_engine.available()[0]
        assert built[0].stat().st_mtime_ns == stamp      # loaded, not compiled again
    finally:
        monkeypatch.undo()
        taylor_engine._library.cache_clear()


def test_exact_number_transport():
    with mpmath.workdps(60):
        for v in ("1/3", "-2.5e-40", "7", "0"):
            r = integrate(TaylorSystem([y], [sp.Integer(0)]), [v], 1, dps=50, engine="c")
            p = integrate(TaylorSystem([y], [sp.Integer(0)]), [v], 1, dps=50, engine="python")
            assert r.y == p.y


# ----------------------------------------------------------------------------------------
# the engine's exact dot product: the bits of rounded products summed by mpfr_sum

PRECISIONS = [53, 64, 65, 100, 128, 129, 196, 233, 256, 400, 512]   # 1 to 8 limbs


@st.composite
def dot_terms(draw):
    """(xs, ys, prec): significands of any length up to prec bits (short odd ones make the
    rounding of a product a tie), exponents spread by 0 to 5000 bits, signs, zeros, and
    pairs that cancel exactly."""
    prec = draw(st.sampled_from(PRECISIONS))
    spread = draw(st.sampled_from([0, 4, 64, 300, 5000]))
    n = draw(st.integers(1, 40))

    def number():
        bits = draw(st.sampled_from([1, 2, 3, prec - 1, prec]))
        m = draw(st.integers(1, 2 ** bits - 1)) | 1
        sign = draw(st.sampled_from([1, -1]))
        zero = draw(st.integers(0, 15)) == 0
        return 0 if zero else sign * m, draw(st.integers(-spread, spread))

    xs, ys = [number() for _ in range(n)], [number() for _ in range(n)]
    if n > 1 and draw(st.booleans()):
        xs[-1], ys[-1] = (-xs[0][0], xs[0][1]), ys[0]          # x_0 y_0 + x_n y_n = 0
    return xs, ys, prec


def _mpfrs(pairs, prec):
    import gmpy2
    with gmpy2.context(precision=prec):
        return [gmpy2.mul_2exp(gmpy2.mpfr(m), e) for m, e in pairs]


@settings(max_examples=400, deadline=None)
@given(terms=dot_terms())
def test_exact_dot_product_gives_the_bits_of_mpfr(terms):
    xs, ys, prec = terms
    mpfr_route, exact_route, _ = taylor_engine.dot_routes(_mpfrs(xs, prec), _mpfrs(ys, prec), prec)
    assert exact_route == mpfr_route        # value and sign bit (of a zero)


@pytest.mark.parametrize("prec", PRECISIONS)
def test_exact_dot_product_runs_where_it_should(prec):
    """It takes the terms of a Taylor recurrence (exponents within a few hundred bits) and
    hands a sum whose exponents spread over thousands of bits, and an all-zero sum, back."""
    near = [(2 ** prec - 1 - 2 * j, -3 * j) for j in range(30)]
    far = [(3, 0), (5, -5000)]
    assert taylor_engine.dot_routes(_mpfrs(near, prec), _mpfrs(near[::-1], prec), prec)[2]
    assert not taylor_engine.dot_routes(_mpfrs(far, prec), _mpfrs(far, prec), prec)[2]
    assert not taylor_engine.dot_routes(_mpfrs([(0, 0)], prec), _mpfrs([(1, 0)], prec), prec)[2]


def test_beyond_eight_limbs_the_mpfr_route_runs():
    near = [(2 ** 600 - 1 - 2 * j, -3 * j) for j in range(5)]
    mpfr_route, exact_route, ran = taylor_engine.dot_routes(_mpfrs(near, 600), _mpfrs(near, 600), 600)
    assert not ran and exact_route == mpfr_route


@pytest.mark.parametrize("prec", PRECISIONS)
def test_exact_dot_product_rounds_each_product_as_mpfr_mul(prec):
    """Seeded full-width significands, one to three terms: every rounding case of a product
    (below, above and at half an ulp, ties to even) is met many times at each precision."""
    import random
    rng = random.Random(prec)
    for _ in range(300):
        n = rng.randint(1, 3)
        xs = [((rng.getrandbits(prec) | 1 | 1 << (prec - 1)) * rng.choice([1, -1]), rng.randint(-9, 9))
              for _ in range(n)]
        ys = [(rng.choice([rng.getrandbits(prec) | 1 << (prec - 1), rng.choice([3, 5, 7])]), 0)
              for _ in range(n)]
        mpfr_route, exact_route, ran = taylor_engine.dot_routes(_mpfrs(xs, prec), _mpfrs(ys, prec), prec)
        assert ran and exact_route == mpfr_route
