"""Tests of numerics.core.taylor: the arbitrary-precision Taylor integrator.

Tolerances follow from the precision: at ``dps`` digits a closed form or a
conserved quantity must hold to ``10**-(dps - K_DIGITS)`` (K_DIGITS = 5 digits lost
to error accumulation over the O(10..1000) steps of these problems; the design
target of the integrator is ``10**-(dps - 10)``).
"""
import math
from fractions import Fraction
import json

import mpmath
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

from derivations.kernels import make_kernel
from numerics.core.taylor import (TaylorError, TaylorSystem, UnsupportedExpressionError,
                             integrate, jorba_zou_order, solve_float64, taylor_coefficients)

K_DIGITS = 5


def tol(dps, k=K_DIGITS):
    return mpmath.mpf(10) ** (-(dps - k))


def rel_err(a, b):
    with mpmath.workdps(120):
        return abs(a - b) / max(1, abs(b))


# ------------------------------------------------------------------------- systems
y = sp.Symbol("y")
x, v = sp.symbols("x v")
r_, K_ = sp.symbols("r K", positive=True)
om = sp.Symbol("omega", positive=True)
c_ = sp.Symbol("c", positive=True)
w_real = sp.Symbol("w", real=True)

DECAY = TaylorSystem([y], [-y])
RICCATI = TaylorSystem([y], [y**2])
LOGISTIC = TaylorSystem([y], [r_ * y * (1 - y / K_)], params=[r_, K_])
OSC = TaylorSystem([x, v], [v, -om**2 * x], params=[om])
# w' = -3 |w|^{4/3} c, written with Abs on a real symbol (fixed-sign Abs in the program)
POW43 = TaylorSystem([w_real], [-3 * sp.Abs(w_real) ** sp.Rational(4, 3) * c_], params=[c_])

W = sp.symbols("w1:4", positive=True)
X_DATA = sp.Matrix([[1, 2, -1], [sp.Rational(1, 2), -1, 1]])
Y_DATA = sp.Matrix([1, -sp.Rational(1, 2)])


def diag_flow(coef=3, exponent=sp.Rational(4, 3)):
    g = X_DATA.T * (X_DATA * sp.Matrix(W) - Y_DATA)
    return [-coef * W[i] ** exponent * g[i] for i in range(3)]


DIAG = TaylorSystem(W, diag_flow())
W0 = ["0.1", "0.1", "0.1"]


# ------------------------------------------------------------------ closed forms
@pytest.mark.parametrize("dps", [30, 50])
def test_exponential_decay(dps):
    res = integrate(DECAY, [Fraction(3, 7)], 4, dps=dps)
    with mpmath.workdps(dps + 20):
        exact = mpmath.mpf(3) / 7 * mpmath.exp(-4)
    assert rel_err(res.y[-1][0], exact) < tol(dps)
    assert res.order == jorba_zou_order(mpmath.mpf(10) ** -dps)
    assert res.dps == dps and res.steps >= 1


@pytest.mark.parametrize("dps", [30, 50])
def test_riccati_before_blow_up(dps):
    # y' = y^2, y(0) = 1/2  =>  y = 1/(2 - t), blow-up at t = 2; integrate to t = 3/2
    res = integrate(RICCATI, ["1/2"], "3/2", dps=dps)
    assert rel_err(res.y[-1][0], mpmath.mpf(2)) < tol(dps)


def logistic_exact(y0, r, K, t, dps):
    with mpmath.workdps(dps + 20):
        y0, r, K, t = (mpmath.mpf(a.numerator) / a.denominator if isinstance(a, Fraction)
                       else mpmath.mpf(a) for a in (y0, r, K, t))
        e = mpmath.exp(r * t)
        return K * y0 * e / (K + y0 * (e - 1))


@pytest.mark.parametrize("dps", [30, 50])
def test_logistic(dps):
    res = integrate(LOGISTIC, [Fraction(1, 10)], 4, dps=dps, params=["3/2", 2])
    exact = logistic_exact(Fraction(1, 10), Fraction(3, 2), 2, 4, dps)
    assert rel_err(res.y[-1][0], exact) < tol(dps)


@settings(max_examples=25, deadline=None)
@given(y0=st.fractions(Fraction(1, 100), 3, max_denominator=1000),
       r=st.fractions(Fraction(1, 10), 2, max_denominator=100),
       K=st.fractions(Fraction(1, 2), 3, max_denominator=100))
def test_logistic_property(y0, r, K):
    dps = 30
    res = integrate(LOGISTIC, [y0], 2, dps=dps, params=[r, K])
    assert rel_err(res.y[-1][0], logistic_exact(y0, r, K, 2, dps)) < tol(dps)


@pytest.mark.parametrize("dps", [30, 50])
def test_harmonic_oscillator_energy_and_closed_form(dps):
    omega = Fraction(3, 2)
    times = [Fraction(k, 4) for k in range(1, 41)]  # ten time units, ~2.4 periods
    res = integrate(OSC, ["1", "1/3"], 10, dps=dps, params=[omega], times=times)
    with mpmath.workdps(dps + 20):
        w = mpmath.mpf(3) / 2
        e0 = mpmath.mpf(1) / 9 + w**2
        for t, (xt, vt) in zip(res.t, res.y):
            energy = vt**2 + w**2 * xt**2
            assert abs(energy - e0) < tol(dps)
            x_exact = mpmath.cos(w * t) + mpmath.sin(w * t) / (3 * w)
            assert abs(xt - x_exact) < tol(dps)


def pow43_closed_form():
    """w' = -3 c w^{4/3} on w > 0: w^{-4/3} dw = -3c dt  =>  w^{-1/3} = w0^{-1/3} + c t."""
    t, w0, c = sp.symbols("t w0 c", positive=True)
    sol = (w0 ** sp.Rational(-1, 3) + c * t) ** -3
    return t, w0, c, sol


def test_pow43_closed_form_is_a_solution():
    t, w0, c, sol = pow43_closed_form()
    residual = sp.diff(sol, t) + 3 * c * sol ** sp.Rational(4, 3)
    assert sp.simplify(residual) == 0
    assert sp.simplify(sol.subs(t, 0) - w0) == 0
    # second route: exact evaluation at rational points (sol**(4/3) = (..)^-4 exactly)
    for pt in [(sp.Rational(1, 8), 2, sp.Rational(1, 3)), (sp.Rational(27, 5), sp.Rational(1, 7), 5)]:
        vals = dict(zip((w0, c, t), pt))
        assert abs(residual.subs(vals).evalf(60)) < 1e-55


@pytest.mark.parametrize("dps", [30, 50])
@pytest.mark.parametrize("w0,c", [("1/8", "2"), ("0.7", "1/3"), ("5", "0.05")])
def test_pow43_against_closed_form(dps, w0, c):
    t, w0s, cs, sol = pow43_closed_form()
    T = 3
    res = integrate(POW43, [w0], T, dps=dps, params=[c])
    exact = sol.subs({w0s: sp.Rational(w0), cs: sp.Rational(c), t: T}).evalf(dps + 20)
    with mpmath.workdps(dps + 20):
        assert rel_err(res.y[-1][0], mpmath.mpf(str(exact))) < tol(dps)


def test_symbolic_constant_exponent_matches_rational_exponent():
    L = sp.Symbol("L", positive=True)
    sym = TaylorSystem(W, diag_flow(coef=L, exponent=2 - 2 / L), params=[L])
    a = integrate(sym, W0, 1, dps=30, params=[3])
    b = integrate(DIAG, W0, 1, dps=30)
    for p, q in zip(a.y[-1], b.y[-1]):
        assert rel_err(p, q) < tol(30)


# --------------------------------------------------------------- dense output, oracles
@pytest.mark.parametrize("dps", [30, 50])
def test_dense_output_equals_integration_to_each_time(dps):
    times = ["0.1", "0.37", "1", Fraction(5, 2), 3]
    dense = integrate(DIAG, W0, 3, dps=dps, times=times)
    assert len(dense.t) == len(times)
    for t_out, y_dense in zip(times, dense.y):
        single = integrate(DIAG, W0, t_out, dps=dps)
        for p, q in zip(y_dense, single.y[-1]):
            assert rel_err(p, q) < tol(dps)
    # times are hit exactly (up to the working precision)
    with mpmath.workdps(dps + 20):
        assert abs(dense.t[1] - mpmath.mpf(37) / 100) < mpmath.mpf(10) ** -(dps + 5)
    # the initial time is allowed as an output time
    r0 = integrate(DIAG, W0, 1, dps=dps, times=[0, 1])
    assert [float(u) for u in r0.y[0]] == [0.1, 0.1, 0.1]


def test_against_mpmath_odefun():
    dps, T = 20, mpmath.mpf("0.5")
    f = DIAG.kernel("mpmath")
    with mpmath.workdps(dps):
        # odefun raises the working precision internally: evaluate at *its* precision
        sol = mpmath.odefun(lambda t, w: f(w, prec=mpmath.mp.prec), 0, [mpmath.mpf(1) / 10] * 3)
        ref = sol(T)
    ours = integrate(DIAG, W0, "0.5", dps=dps)
    for p, q in zip(ours.y[-1], ref):
        assert rel_err(p, q) < tol(dps)


def test_global_error_target_on_reference_flow():
    """At dps digits the global error is 10^-(dps-10) or better (here: far better)."""
    ref = integrate(DIAG, W0, 5, dps=70)
    for dps in (20, 30):
        res = integrate(DIAG, W0, 5, dps=dps)
        for p, q in zip(res.y[-1], ref.y[-1]):
            assert rel_err(p, q) < tol(dps, 10)
        assert res.steps < 60  # step count ~ independent of precision (Jorba-Zou)


def test_planted_wrong_coefficient_gives_large_error():
    dps = 30
    good = integrate(LOGISTIC, ["1/10"], 3, dps=dps, params=["3/2", 2])
    planted = integrate(LOGISTIC, ["1/10"], 3, dps=dps, params=[Fraction(3, 2) + Fraction(1, 10**9), 2])
    exact = logistic_exact(Fraction(1, 10), Fraction(3, 2), 2, 3, dps)
    e_good = rel_err(good.y[-1][0], exact)
    e_bad = rel_err(planted.y[-1][0], exact)
    assert e_good < tol(dps)
    assert e_bad > mpmath.mpf(10) ** -12 and e_bad > 10**15 * e_good

    wrong = TaylorSystem(W, diag_flow(coef=sp.Rational(3001, 1000)))
    a = integrate(wrong, W0, 2, dps=dps)
    b = integrate(DIAG, W0, 2, dps=dps)
    assert max(rel_err(p, q) for p, q in zip(a.y[-1], b.y[-1])) > mpmath.mpf(10) ** -6


def test_float64_companion_agrees():
    ref = integrate(DIAG, W0, 5, dps=30)
    fl = solve_float64(DIAG, W0, 5, rtol=1e-13, atol=1e-15)
    assert fl.y.shape == (1, 3)
    for p, q in zip(fl.y[-1], ref.y[-1]):
        assert abs(p - float(q)) < 1e-10
    fl2 = solve_float64(LOGISTIC, [0.1], 2, times=[0.5, 1, 2], params=[1.5, 2])
    exact = logistic_exact(Fraction(1, 10), Fraction(3, 2), 2, 2, 20)
    assert abs(fl2.y[-1][0] - float(exact)) < 1e-10


# ------------------------------------------------------------------- AD recurrences
s_, z_ = sp.symbols("s z")
RECURRENCE_CASES = [
    s_ ** sp.Rational(4, 3), s_ ** sp.Rational(-5, 2), sp.exp(-s_ / 3), sp.log(s_),
    sp.sqrt(s_ + 1), sp.sin(s_) * sp.cos(2 * s_), sp.tanh(s_ - 1), 1 / (1 + s_**2),
    s_**-3, s_**7, (s_ + 1) ** s_, s_ / (s_ + 2) - sp.exp(s_) * s_**2,
    sp.Abs(s_ - 5) ** sp.Rational(1, 3) * sp.sign(s_ - 5),
]
RECURRENCE_SYSTEMS = [TaylorSystem([s_, z_], [1, f]) for f in RECURRENCE_CASES]
RECURRENCE_ORDER = 12
RECURRENCE_KERNELS = [make_kernel([s_], [f], backend="mpmath") for f in RECURRENCE_CASES]


def check_recurrence(case: int, s0: Fraction) -> None:
    """System s' = 1, z' = f(s): z_{k+1} = f^{(k)}(s0) / (k+1)!  for every recurrence.

    Independent route: mpmath.taylor (numerical differentiation at raised precision)
    of the generated mpmath kernel of f.
    """
    coeffs = taylor_coefficients(RECURRENCE_SYSTEMS[case], [s0, 0], RECURRENCE_ORDER, dps=40)[1]
    kern = RECURRENCE_KERNELS[case]
    with mpmath.workdps(60):
        x0 = mpmath.mpf(s0.numerator) / s0.denominator
        ref = mpmath.taylor(lambda u: kern([u], prec=mpmath.mp.prec)[0], x0, RECURRENCE_ORDER - 1)
        for k, fk in enumerate(ref):
            exact = fk / (k + 1)
            assert abs(coeffs[k + 1] - exact) <= mpmath.mpf(10) ** -35 * max(1, abs(exact)), \
                (RECURRENCE_CASES[case], k)


@pytest.mark.parametrize("case", range(len(RECURRENCE_CASES)), ids=[str(f) for f in RECURRENCE_CASES])
def test_every_recurrence_to_order_12(case):
    check_recurrence(case, Fraction(7, 5))


@settings(max_examples=30, deadline=None)
@given(case=st.integers(0, len(RECURRENCE_CASES) - 1),
       s0=st.fractions(Fraction(1, 5), 4, max_denominator=50))
def test_taylor_coefficients_match_numerical_differentiation(case, s0):
    check_recurrence(case, s0)


# ------------------------------------------------------------- precision hygiene, API
def test_global_mp_dps_unchanged_and_irrelevant():
    results = []
    for caller in (5, 15, 100):
        mpmath.mp.dps = caller
        res = integrate(DIAG, W0, 1, dps=30)
        assert mpmath.mp.dps == caller
        results.append([u._mpf_ for u in res.y[-1]])
    assert results[0] == results[1] == results[2]


def test_initial_value_kinds():
    kinds = [[Fraction(1, 10)] * 3, [sp.Rational(1, 10)] * 3, ["0.1"] * 3, ["1/10"] * 3]
    outs = [[u._mpf_ for u in integrate(DIAG, k, 1, dps=30).y[-1]] for k in kinds]
    assert all(o == outs[0] for o in outs)
    with mpmath.workdps(30):
        m = integrate(DIAG, [mpmath.mpf(1) / 10] * 3, 1, dps=30)
    ref = integrate(DIAG, W0, 1, dps=30)
    assert max(rel_err(p, q) for p, q in zip(m.y[-1], ref.y[-1])) < tol(30)
    # integers and floats are accepted too (floats exactly)
    assert integrate(DECAY, [1], 0, dps=20).y[-1][0] == 1
    assert integrate(DECAY, [0.5], 0, dps=20).y[-1][0] == mpmath.mpf(0.5)


def test_backward_integration():
    res = integrate(DECAY, ["2"], -3, dps=30)
    with mpmath.workdps(50):
        assert rel_err(res.y[-1][0], 2 * mpmath.exp(3)) < tol(30)


def test_result_statistics_and_json():
    calls = []
    res = integrate(DIAG, W0, 2, dps=30, times=["0.5", 1, 2], progress=lambda t, n: calls.append((t, n)))
    assert len(calls) == res.steps and calls[-1][1] == res.steps
    assert all(a[0] < b[0] for a, b in zip(calls, calls[1:]))
    assert 0 < res.min_step <= res.max_step and res.seconds > 0
    d = json.loads(res.to_json())
    assert d["dps"] == 30 and d["steps"] == res.steps and d["order"] == res.order
    assert len(d["y"]) == 3 and len(d["y"][0]) == 3
    assert all(isinstance(s, str) for s in d["y"][0])
    with mpmath.workdps(40):
        assert abs(mpmath.mpf(d["y"][2][0]) - res.y[2][0]) < mpmath.mpf(10) ** -28


def test_system_reuse_and_listing():
    assert "pow" in DIAG.program_listing() and DIAG.n_ops > 0
    assert "Y[0] = w1" in DIAG.source
    a = integrate(LOGISTIC, ["1/3"], 1, dps=20, params=[1, 1])
    b = integrate(LOGISTIC, ["1/3"], 1, dps=40, params=[1, 1])
    assert rel_err(a.y[-1][0], b.y[-1][0]) < tol(20)


# ------------------------------------------------------------------------ errors
def test_unsupported_function_is_named():
    with pytest.raises(UnsupportedExpressionError, match="besselj"):
        TaylorSystem([y], [sp.besselj(1, y)])
    with pytest.raises(UnsupportedExpressionError, match="Max"):
        TaylorSystem([y], [sp.Max(y, 1 - y)])


def test_abs_sign_change_raises():
    xs, zs = sp.symbols("x z", real=True)
    sysm = TaylorSystem([xs, zs], [1, sp.Abs(xs)])
    ok = integrate(sysm, ["-2", 0], "1.5", dps=20)      # x stays negative: fine
    # z' = |x| = 2 - t  =>  z(3/2) = 3 - 9/8 = 15/8
    assert rel_err(ok.y[-1][1], mpmath.mpf(15) / 8) < tol(20)
    with pytest.raises(TaylorError, match="Abs/sign"):
        integrate(sysm, ["-1", 0], 3, dps=20)
    with pytest.raises(TaylorError, match="exactly 0"):
        integrate(sysm, [0, 0], 1, dps=20)


def test_domain_errors():
    with pytest.raises(TaylorError, match="log"):
        integrate(TaylorSystem([y], [sp.log(y)]), ["-1"], 1, dps=20)
    with pytest.raises(TaylorError, match="sqrt"):
        integrate(TaylorSystem([y], [sp.sqrt(y)]), [0], 1, dps=20)
    with pytest.raises(TaylorError, match="negative"):
        integrate(TaylorSystem([y], [y ** sp.Rational(1, 3)]), [-1], 1, dps=20)
    with pytest.raises(TaylorError, match="division by zero"):
        integrate(TaylorSystem([y], [1 / y]), [0], 1, dps=20)
    # y' = -sqrt(y), y(0) = 1: y = (1 - t/2)^2 reaches 0 at t = 2, where the analytic
    # continuation sqrt(y) -> 1 - t/2 would silently switch branch; must raise
    neg_sqrt = TaylorSystem([y], [-sp.sqrt(y)])
    assert rel_err(integrate(neg_sqrt, [1], "1.9", dps=20).y[-1][0], mpmath.mpf("0.0025")) < tol(20)
    with pytest.raises(TaylorError, match="sqrt"):
        integrate(neg_sqrt, [1], 3, dps=20)
    # y' = -3 y^(2/3): y = (1 - t)^3 changes sign at t = 1
    with pytest.raises(TaylorError, match="pow"):
        integrate(TaylorSystem([y], [-3 * y ** sp.Rational(2, 3)]), [1], 3, dps=20)
    # blow-up of y' = y^2 at t = 2 is detected, not stepped over
    with pytest.raises(TaylorError):
        integrate(RICCATI, ["1/2"], 3, dps=20, max_steps=2000)


def test_bad_arguments():
    with pytest.raises(ValueError, match="1 components"):
        integrate(DECAY, [1, 2], 1, dps=20)
    with pytest.raises(ValueError, match="cannot read"):
        integrate(DECAY, ["abc"], 1, dps=20)
    with pytest.raises(ValueError, match="dps"):
        integrate(DECAY, [1], 1, dps=2)
    with pytest.raises(ValueError, match="outside"):
        integrate(DECAY, [1], 1, dps=20, times=[2])
    with pytest.raises(ValueError, match="strictly increasing"):
        integrate(DECAY, [1], 1, dps=20, times=["0.5", "0.5"])
    with pytest.raises(ValueError, match="params must have 2"):
        integrate(LOGISTIC, [1], 1, dps=20)
    with pytest.raises(TypeError, match="TaylorSystem"):
        integrate(object(), [1], 1, dps=20)
    with pytest.raises(ValueError, match="neither state nor params"):
        TaylorSystem([y], [y * x])


@pytest.mark.parametrize("y0", [1, 10, Fraction(1, 10)])
@pytest.mark.parametrize("dps", [20, 50])
def test_the_step_size_rule(dps, y0):
    """y' = -y from y0: the Taylor coefficients are y0 (-1)^j / j!, so the first step of the
    documented rule is h = safety · min((eps (p-1)!/|y0|)^(1/(p-1)), (eps p!/|y0|)^(1/p))
    with eps = 10^-dps · max(1, |y0|), safety = exp(-0.7/(p-1)), p = ceil(dps ln 10 / 2) + 1."""
    starts = []
    res = integrate(DECAY, [y0], 50, dps=dps, progress=lambda t, steps: starts.append(t))
    p = math.ceil(dps * math.log(10) / 2) + 1
    assert res.order == p
    with mpmath.workdps(60):
        y0_ = mpmath.mpf(y0.numerator) / y0.denominator if isinstance(y0, Fraction) else mpmath.mpf(y0)
        eps = mpmath.mpf(10) ** -dps * max(1, y0_)
        h = mpmath.exp(-mpmath.mpf(0.7) / (p - 1)) * min(
            (eps * mpmath.factorial(j) / y0_) ** (mpmath.mpf(1) / j) for j in (p - 1, p))
        assert abs(starts[0] - h) <= 1e-12 * h
    assert res.steps == len(starts) and res.max_step >= float(h) * (1 - 1e-12)


def test_the_reported_time_is_measured():
    import time
    started = time.perf_counter()
    res = integrate(DECAY, [1], 1, dps=20)
    assert 0 < res.seconds <= time.perf_counter() - started


def test_times_out_of_order_are_named():
    with pytest.raises(ValueError, match=r"times\[0\], times\[1\] = 1/2, 1/4"):
        integrate(DECAY, [1], 1, dps=20, times=["1/2", "1/4"])
    with pytest.raises(ValueError, match="times is empty"):
        integrate(DECAY, [1], 1, dps=20, times=[])


def test_irrational_numbers_and_constants_keep_every_digit():
    coeffs = taylor_coefficients(DECAY, [sp.sqrt(2)], 1, dps=50)
    with mpmath.workdps(70):
        assert abs(coeffs[0][0] - mpmath.sqrt(2)) < mpmath.mpf(10) ** -55
    only_constant = TaylorSystem([y], [sp.sqrt(2) * y])        # one irrational constant, nothing else
    res = integrate(only_constant, [1], 1, dps=30)
    with mpmath.workdps(40):
        assert abs(res.y[-1][0] - mpmath.exp(mpmath.sqrt(2))) < mpmath.mpf(10) ** -27


def test_integrate_certified_delegates_and_refuses_its_own_step_options():
    import flint

    y = sp.Symbol("y")
    system = TaylorSystem([y], [-y])
    r = integrate(system, ["1"], 1, dps=20, certified=True)
    with flint.ctx.workprec(200):
        assert r.enclosure[-1][0].contains(flint.arb(-1).exp())
    assert integrate(system, ["1"], 1, dps=20).enclosure is None
    with pytest.raises(ValueError, match="tol and progress"):
        integrate(system, ["1"], 1, dps=20, certified=True, tol="1e-10")


def test_rows_of_a_linear_map_share_one_gathered_operand_tuple(monkeypatch):
    """Two linear combinations of the same five series (sympy orders their terms differently)
    are two rows of one linear map: one gathered tuple per order, and the same coefficients,
    to the last bit, as the term-by-term sums."""
    import numerics.core.taylor as taylor

    x = sp.symbols("x0:5")
    rhs = [sum((i + 2) * j * xi for j, xi in enumerate(x, start=1)) + 1 for i in range(2)]
    rhs += [-xi for xi in x[2:]]
    gathered = TaylorSystem(x, rhs)
    assert gathered.source.count("g0 = (") == 2 and "g1 = (" not in gathered.source
    monkeypatch.setattr(taylor, "GATHER_MIN_TERMS", 10**9)
    plain = TaylorSystem(x, rhs)
    assert "_fsum(map(_mul, C" not in plain.source
    y0 = ["1/3", "-2/7", "5/11", "1/13", "-3/17"]
    assert taylor_coefficients(gathered, y0, 12, dps=40) == taylor_coefficients(plain, y0, 12, dps=40)


def test_without_cse_a_shared_rhs_gives_the_same_program_and_bits():
    """cse=False on an rhs that shares its linear map as one object: the same program size
    and the same bits as with sympy's cse."""
    w = sp.symbols("w1:5", positive=True)
    X = [[sp.Rational(i + 2 * j - 3, j + 2) for j in range(4)] for i in range(3)]
    r = [sp.Add(*[X[i][j] * w[j] for j in range(4)]) - sp.Rational(i, 3) for i in range(3)]
    rhs = [-3 * w[j] ** sp.Rational(4, 3) * sp.Add(*[X[i][j] * r[i] for i in range(3)]) for j in range(4)]
    a, b = TaylorSystem(w, rhs), TaylorSystem(w, rhs, cse=False)
    assert a.n_ops == b.n_ops
    ra, rb = (integrate(s, ["1/10"] * 4, 1, dps=30, times=["1/2", 1]) for s in (a, b))
    assert ra.y == rb.y and ra.steps == rb.steps


# ----------------------------------------------------------------------------------------
# structure: the same field with named parts

def test_a_structured_program_has_fewer_operations_and_the_same_solution():
    u1, u2, w = sp.symbols("u1 u2 w", real=True)
    flat = [-(u1 * u2) ** 2 * u2, -(u1 * u2) ** 2 * u1]     # sympy expands (u1 u2)^2
    parts = ([(w, u1 * u2)], [-w ** 2 * u2, -w ** 2 * u1])
    plain, named = TaylorSystem([u1, u2], flat), TaylorSystem([u1, u2], flat, structure=parts)
    assert named.rhs == plain.rhs and named.n_ops < plain.n_ops
    a = integrate(plain, ["1/2", "1/3"], 2, dps=40)
    b = integrate(named, ["1/2", "1/3"], 2, dps=40)
    assert max(abs(x - y) for x, y in zip(a.y[-1], b.y[-1])) <= tol(40)


@pytest.mark.parametrize("structure, match", [
    (([], [sp.Symbol("x")]), "1 rhs expressions, the state 2"),
    (([(sp.Symbol("x"), sp.Integer(1))], [0, 0]), "is not a new Symbol"),
    (([(sp.Symbol("p"), sp.Symbol("q"))], [0, 0]), r"uses \['q'\] before"),
    (([], [sp.Symbol("p"), 0]), r"rhs_of_parts\[0\] has undefined symbols"),
    (([(sp.Symbol("p"), sp.Symbol("x") ** 2)], [-sp.Symbol("p"), sp.Symbol("x")]),
     r"rhs_of_parts\[1\] with the definitions substituted is not rhs\[1\]"),
    ("parts", "must be \\(definitions, rhs_of_parts\\)"),
])
def test_a_structure_that_is_not_the_flat_field_is_refused(structure, match):
    x, y = sp.symbols("x y")
    with pytest.raises((ValueError, TypeError), match=match):
        TaylorSystem([x, y], [-x ** 2, y], structure=structure)
