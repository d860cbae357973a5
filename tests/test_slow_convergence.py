"""MF-7 (numerics.mirror_flow.slow_convergence): the slow regime measured on the closed form.

The expected laws are MF-7's (docs/mirror_flow.md) (derived there from the horizon's geometry, not from
this code): the direction error falls like 1/log log t for x² log(e + x²) (ℓ2 horizon
approached logarithmically), like 1/log t for x²/2 from w(0) ≠ 0 (the falsifier) and for
cosh (ℓ∞), and like (log t)^(-1/2) for hyperbolic entropy (ℓ1, a vertex).  The fits below
are over log log t ∈ [6, 12] at 30 digits (the report uses [10, 20] at 50 digits).
"""
from __future__ import annotations

import mpmath
import pytest
import sympy as sp

from numerics.mirror_flow.slow_convergence import (_target, closed_form_w, fit_exponents,
                                                    one_point_curve, simulated_one_point)

X = (1, 2)
TARGETS = [6, 8, 10, 12]


@pytest.fixture(scope="module")
def curves():
    return {name: one_point_curve(name, X, w0, TARGETS, dps=30)
            for name, w0 in (("slow", (0, 0)), ("quadratic", (sp.Rational(1, 10), sp.Rational(-1, 5))),
                             ("hyperbolic entropy", (0, 0)), ("cosh", (0, 0)))}


def test_the_slow_potential_converges_like_one_over_log_log_t(curves):
    fit = fit_exponents(curves["slow"], 6, 12)
    assert -1.1 < fit["vs_loglog_t"] < -0.9
    assert -0.15 < fit["vs_log_t"] < 0          # hardly any decay against log t
    assert 0.01 < float(curves["slow"].error[-1]) < 0.05   # still a few per cent at log log t = 12


@pytest.mark.parametrize("name, exponent", [("quadratic", -1.0), ("cosh", -1.0), ("hyperbolic entropy", -0.5)])
def test_the_other_horizons_converge_like_a_power_of_log_t(curves, name, exponent):
    fit = fit_exponents(curves[name], 6, 12)
    assert abs(fit["vs_log_t"] - exponent) < 0.05, fit


def test_the_falsifier_is_far_faster_at_the_same_time(curves):
    assert float(curves["quadratic"].error[-1]) < 1e-3 * float(curves["slow"].error[-1])


def test_the_curve_hits_the_requested_log_log_t(curves):
    assert [round(float(v), 6) for v in curves["slow"].loglog] == [float(t) for t in TARGETS]


def test_laplace_agrees_with_quadrature():
    laplace = one_point_curve("slow", X, (0, 0), [2], dps=20)
    quadrature = one_point_curve("slow", X, (0, 0), [2], dps=20, exact=True)
    assert abs(laplace.error[0] - quadrature.error[0]) < 1e-3 * quadrature.error[0]


def test_the_taylor_simulation_agrees_with_the_closed_form():
    s_values = [10, 10**5]
    for s, row in zip(s_values, simulated_one_point("slow", X, (0, 0), s_values, dps=30)):
        exact = closed_form_w("slow", X, (0, 0), s, dps=40)
        assert max(abs(a - b) / abs(b) for a, b in zip(row, exact)) < mpmath.mpf(10) ** -25


def test_target_directions():
    assert [float(v) for v in _target("l1", [1, 2])] == [0.0, 1.0]
    assert abs(float(_target("linf", [1, -2])[1]) + 2 ** -0.5) < 1e-15
    with pytest.raises(ValueError, match="face"):
        _target("l1", [1, 1])


def test_several_points_show_the_same_slow_decay():
    """Two points (1, 3), (2, 1) by the Taylor route: the error keeps falling, slowly, far
    slower than 1/log t (the falsifier's law)."""
    from numerics.mirror_flow.slow_convergence import several_points_curve

    curve = several_points_curve("slow", ((1, 3), (2, 1)), [10, 10**2, 10**3, 10**4])
    errors = [float(e) for e in curve.error]
    assert errors == sorted(errors, reverse=True) and 0.02 < errors[-1] < 0.06
    fit = fit_exponents(curve, float(curve.loglog[1]), float(curve.loglog[-1]))
    assert -0.5 < fit["vs_log_t"] < -0.1 and -2.0 < fit["vs_loglog_t"] < -0.8
