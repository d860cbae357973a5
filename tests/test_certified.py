"""Tests of numerics.core.certified: the enclosures of the certified Taylor integrator contain
the exact solution, are as narrow as the precision promises (10^-(dps-10)), and a step that
cannot be certified is refused with a clear error, never returned."""
import flint
import mpmath
import pytest
import sympy as sp

from numerics.core.certified import (INTEGRATOR, CertificationError, _a_priori_box, _hull0,
                                     _Program, certified_integrate)
from numerics.core.taylor import TaylorError, TaylorSystem, integrate

y = sp.Symbol("y")
q, p = sp.symbols("q p")
k_ = sp.Symbol("k", positive=True)
w_real = sp.Symbol("w", real=True)

DECAY = TaylorSystem([y], [-y])
RICCATI = TaylorSystem([y], [y**2])
PENDULUM = TaylorSystem([q, p], [p, -sp.sin(q)])

# the reference flow of benchmarks/reference_flow.py: w' = -3 w^(4/3) X^T (X w - y), L = d = 3
W = sp.symbols("w1:4", positive=True)
X_DATA = sp.Matrix([[1, 2, -1], [sp.Rational(1, 2), -1, 1]])
Y_DATA = sp.Matrix([1, -sp.Rational(1, 2)])
_GRAD = X_DATA.T * (X_DATA * sp.Matrix(W) - Y_DATA)
REFERENCE = TaylorSystem(W, [-3 * W[i] ** sp.Rational(4, 3) * _GRAD[i] for i in range(3)])
W0 = ["0.1", "0.1", "0.1"]


def ball(value):
    """An exact rational as a ball at the current precision."""
    if isinstance(value, flint.arb):
        return value
    v = sp.Rational(value)
    return flint.arb(flint.fmpq(int(v.p), int(v.q)))


def mpf_ball(x: mpmath.mpf):
    m, e = (int(v) for v in mpmath.libmp.to_man_exp(x._mpf_))
    return flint.arb(flint.fmpq(m * 2 ** e, 1) if e >= 0 else flint.fmpq(m, 2 ** -e))


def max_width(enclosure):
    return max(float(b.rad()) for row in enclosure for b in row)


# --------------------------------------------------------------------------- closed forms

def test_decay_encloses_exp():
    times = ["1/4", "1/2", 1, 2]
    r = certified_integrate(DECAY, ["1"], 2, dps=30, times=times)
    assert r.integrator == INTEGRATOR and len(r.enclosure) == len(times) == len(r.y)
    with flint.ctx.workprec(300):
        for t, row in zip(times, r.enclosure):
            exact = (-ball(t)).exp()
            assert row[0].contains(exact) and row[0].rad() < flint.arb(10) ** -20
            assert row[0].overlaps(mpf_ball(r.y[times.index(t)][0]))


def test_decay_backward_and_with_a_rational_start_time():
    r = certified_integrate(DECAY, ["1/3"], "-1/2", dps=25, t0="1/2")
    with flint.ctx.workprec(300):
        assert r.enclosure[-1][0].contains(ball("1/3") * flint.arb(1).exp())


def test_riccati_encloses_the_closed_form_before_the_blow_up():
    times = ["1/4", "1/2", "3/4", "9/10"]
    r = certified_integrate(RICCATI, ["1"], "9/10", dps=30, times=times)
    with flint.ctx.workprec(300):
        for t, row in zip(times, r.enclosure):
            exact = 1 / (1 - ball(t))  # y0 / (1 - y0 t), y0 = 1
            assert row[0].contains(exact)
            assert row[0].rad() < flint.arb(10) ** -20 * exact


def test_a_step_beyond_the_blow_up_is_refused():
    # y' = y^2, y(0) = 1 blows up at t = 1: no a priori box reaches past it ...
    with flint.ctx.workprec(140):
        program = _Program(RICCATI, (), 140)
        for h in ("2", "1", "1/2"):
            box, why = _a_priori_box(program, [flint.arb(1)], _hull0(ball(h)),
                                     flint.arb(2) ** -100)
            assert box is None and "Picard" in why
    # ... and an integration toward it stops with a clear error instead of a result
    with pytest.raises(CertificationError, match="no certified step .*blow up"):
        certified_integrate(RICCATI, ["1"], 2, dps=20)


def test_abs_sign_and_parameters():
    sys_ = TaylorSystem([w_real], [-k_ * sp.Abs(w_real)], params=[k_])
    r = certified_integrate(sys_, ["-2"], 1, dps=25, params=["1/2"])
    with flint.ctx.workprec(300):
        assert r.enclosure[-1][0].contains(-2 * flint.arb("0.5").exp())  # w = -2 e^{t/2}


def test_elementary_functions_enclose_their_closed_forms():
    a, b, c, d, e = sp.symbols("a b c d e", positive=True)
    sys_ = TaylorSystem([a, b, c, d, e],
                        [sp.sqrt(a), sp.exp(-b), sp.tanh(c), 1 / d, -e * sp.log(e)])
    r = certified_integrate(sys_, ["1", "0", "1/2", "1", "2"], 1, dps=25)
    with flint.ctx.workprec(300):
        one = flint.arb(1)
        exact = [(one + one / 2) ** 2,                       # (sqrt(a0) + t/2)^2
                 (one + one).log(),                          # log(e^b0 + t)
                 (ball("1/2").sinh() * one.exp()).asinh(),   # sinh c = sinh(c0) e^t
                 flint.arb(3).sqrt(),                        # sqrt(d0^2 + 2t)
                 (flint.arb(2).log() * (-one).exp()).exp()]  # log e = log(e0) e^-t
        for bx, v in zip(r.enclosure[-1], exact):
            assert bx.contains(v) and bx.rad() < flint.arb(10) ** -15


def test_irrational_initial_value_is_enclosed_not_rounded():
    r = certified_integrate(DECAY, [sp.sqrt(2)], 1, dps=25)
    with flint.ctx.workprec(300):
        assert r.enclosure[-1][0].contains(flint.arb(2).sqrt() * flint.arb(-1).exp())


# --------------------------------------------------------------------------- invariants

def test_a_planted_wrong_invariant_is_excluded():
    """H = p^2/2 - cos q is conserved: H(enclosure) contains H(y0); H(y0) + 1e-20 is outside."""
    y0 = ["1", "0"]
    r = certified_integrate(PENDULUM, y0, 3, dps=30, times=[1, 2, 3])
    with flint.ctx.workprec(r.prec_bits):
        H0 = -flint.arb(1).cos()
        for qb, pb in r.enclosure:
            H = pb * pb / 2 - qb.cos()
            assert H.contains(H0)
            assert not H.contains(H0 + flint.arb(10) ** -20)


# --------------------------------------------------------------------------- reference flow

def test_reference_flow_enclosure_contains_a_sharper_solution_and_is_narrow():
    dps = 50
    times = [1, 2, "5/2", 4, 5]
    r = certified_integrate(REFERENCE, W0, 5, dps=dps, times=times)
    sharp = integrate(REFERENCE, W0, 5, dps=dps + 30, times=times)
    assert len(r.enclosure) == len(times) and all(len(row) == 3 for row in r.enclosure)
    with flint.ctx.workprec(400):
        for row, exact_row in zip(r.enclosure, sharp.y):
            for b, v in zip(row, exact_row):
                assert b.contains(mpf_ball(v))
    assert max_width(r.enclosure) <= 10.0 ** -(dps - 10)
    # values are the midpoints, and they agree with integrate
    with mpmath.workdps(dps + 30):
        assert max(abs(a - b) for a, b in zip(r.y[-1], sharp.y[-1])) < mpmath.mpf(10) ** -(dps - 10)


def test_output_times_each_have_an_enclosure_and_t0_is_included():
    r = certified_integrate(REFERENCE, W0, 1, dps=20, times=[0, "1/3", "2/3", 1])
    assert [float(t) for t in r.t] == pytest.approx([0, 1 / 3, 2 / 3, 1])
    assert len(r.enclosure) == 4
    with flint.ctx.workprec(200):
        assert all(b.contains(ball("0.1")) for b in r.enclosure[0])
    assert max_width(r.enclosure) <= 1e-10


# --------------------------------------------------------------------------- input and state

def _error(fn):
    try:
        fn()
    except (TypeError, ValueError) as exc:
        return type(exc), str(exc)
    raise AssertionError("no error")


@pytest.mark.parametrize("args, kw", [
    ((DECAY, ["1"], 1), {"dps": 4}),
    ((DECAY, ["1"], 1), {"dps": 4.0}),
    ((DECAY, ["1", "2"], 1), {"dps": 20}),
    ((DECAY, "1", 1), {"dps": 20}),
    ((DECAY, ["x"], 1), {"dps": 20}),
    ((REFERENCE, W0, 1), {"dps": 20, "params": [1]}),
    ((DECAY, ["1"], 1), {"dps": 20, "times": [2]}),
    ((DECAY, ["1"], 1), {"dps": 20, "times": ["1/2", "1/4"]}),
    (("not a system", ["1"], 1), {"dps": 20}),
])
def test_bad_input_gives_the_errors_of_integrate(args, kw):
    expected = _error(lambda: integrate(*args, **kw))
    assert _error(lambda: certified_integrate(*args, **kw)) == expected


def test_global_precision_is_restored():
    flint.ctx.prec = 77
    mpmath.mp.dps = 21
    certified_integrate(DECAY, ["1"], 1, dps=30)
    with pytest.raises(TaylorError):
        certified_integrate(RICCATI, ["1"], 2, dps=20)
    assert flint.ctx.prec == 77 and mpmath.mp.dps == 21
