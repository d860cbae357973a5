"""Property tests: the Deep LDA claims against high-precision simulations of the flows.

Hypothesis draws depth ``L ∈ 1..6``, dimension ``d ∈ 1..6``, two-class Gaussian data from a
seed (exact rationals on a 1/8 grid, ``Σ_w ≻ 0`` checked exactly), a balanced layer
initialization with random signs and per-coordinate magnitudes in [1/2, 1], and the
precision ``dps ∈ {30, 50}``; the un-reduced layer flow is integrated with the Taylor method
and the claims are checked on its output.

Tolerance: a conserved quantity ``q`` must satisfy
``max_t |q(t) − q(0)| ≤ 10^-(dps − K_DIGITS) · max(1, |q(0)|)`` with ``K_DIGITS = 3``; the
same bound applies to ``max |w_layers − w_other|`` between two separately integrated flows.
Measured over the ci-profile examples of the two conservation tests below (113 values,
drift / (10^-dps · scale)): the real integrator at most 10^1.43 (median 10^-2.0); with the
working precision cut by 10 bits (3 digits) at most 10^4.25 (median 10^3.1), by 33 bits
at most 10^11.7; without guard bits at most 10^1.9 (median 10^0.2).  So a lost digit group
fails, and the real drifts stay 1.5 orders inside.  A falsifier must drift by more than
``FALSIFIER_MIN = 1e-6``, far above the tolerance at 30 digits.

Sizes: every test sets ``max_examples`` as a fraction of the active profile's (``ci``/``dev``:
25, ``thorough``: 400), so the file runs in about two minutes with ``ci``.
"""
from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

import mpmath
import pytest
import sympy as sp
from hypothesis import example, given, settings, strategies as st

from derivations.objectives import DEGREE_ZERO
from numerics.deep_lda.data import gaussian_two_class, orthant_trap_data
from numerics.deep_lda.flows import build_flow
from numerics.deep_lda.simulate import gd_run, layer_init, simulate, simulate_float64

K_DIGITS = 3
FALSIFIER_MIN = mpmath.mpf("1e-6")
T = sp.Rational(1, 2)
MAGNITUDES = [sp.Rational(k, 8) for k in range(4, 9)]          # 1/2 .. 1
UNBALANCED = [sp.Rational(1, 2), sp.Rational(3, 4), sp.Rational(5, 4), sp.Rational(3, 2), 2]


def examples(n: int) -> int:
    """``n`` examples under the ci/dev profiles (25), proportionally more under thorough."""
    return max(1, settings.default.max_examples * n // 25)


def tol(dps, scale=1):
    return mpmath.mpf(10) ** -(dps - K_DIGITS) * max(1, abs(scale))


@lru_cache(maxsize=None)
def data_for(dim: int, seed: int):
    return gaussian_two_class(dim, seed=seed)


def w_distance(a, b):
    with mpmath.workdps(80):
        return max(abs(mpmath.mpf(x) - mpmath.mpf(y)) for ra, rb in zip(a.w, b.w) for x, y in zip(ra, rb))


@st.composite
def cases(draw, depth=st.integers(1, 6), dim=st.integers(1, 6), balanced=True,
          magnitudes=MAGNITUDES, dps=st.sampled_from([30, 50])):
    """(u0, data, dps): a balanced (or unbalanced) layer initialization with random signs."""
    L, d = draw(depth), draw(dim)
    mags = draw(st.lists(st.sampled_from(magnitudes), min_size=d, max_size=d))
    signs = draw(st.lists(st.lists(st.sampled_from([1, -1]), min_size=d, max_size=d),
                          min_size=L, max_size=L))
    u0 = [[m * s for m, s in zip(mags, row)] for row in signs]
    if not balanced:
        for l in range(1, L):
            for i in range(d):
                u0[l][i] *= draw(st.sampled_from(UNBALANCED))
    return u0, data_for(d, draw(st.integers(0, 200))), draw(dps)


def check_conserved(res, names, dps):
    for n in names:
        q0 = res.monitor_values[n][0]
        assert res.drift(n) <= tol(dps, q0), f"{n} drifted by {res.drift(n)} at {dps} digits"


# ----------------------------------------------------------------------------------------
# DL-2, DL-3, DL-5 on the layer flow; DL-4 and DL-6 by separate integration

@settings(max_examples=examples(25))
@given(case=cases(), loss=st.sampled_from(DEGREE_ZERO))
@example(case=([[sp.Rational(1, 2)] * 2, [-sp.Rational(1, 2), sp.Rational(1, 2)]],
               data_for(2, 1), 50), loss="fisher")
def test_layer_flow_conserves_and_matches_reduced_and_mirror(case, loss):
    u0, data, dps = case
    L = len(u0)
    layer = simulate("layer", u0, T, data=data, loss=loss, dps=dps, outputs=5)
    names = layer.monitor_values
    check_conserved(layer, [n for n in names if n == "Q" or n.startswith(("norm2_", "gap_"))], dps)
    # balanced: Q equals every ||u_l||^2 (DL-5)
    for l in range(L):
        assert abs(layer.monitor_values["Q"][-1] - layer.monitor_values[f"norm2_u{l + 1}"][-1]) \
            <= tol(dps, layer.monitor_values["Q"][0])
    reduced = simulate("reduced", u0, T, data=data, loss=loss, dps=dps, outputs=5)
    assert w_distance(layer, reduced) <= tol(dps)                       # DL-4
    check_conserved(reduced, ["Q"], dps)
    mirror = simulate("mirror", u0, T, data=data, loss=loss, dps=dps, outputs=5)
    assert w_distance(layer, mirror) <= tol(dps)                        # DL-6


# ----------------------------------------------------------------------------------------
# any initialization: DL-3 (degree-0 loss), DL-2 (any loss, even square/exponential)

@settings(max_examples=examples(6))
@given(case=cases(depth=st.integers(2, 6), balanced=False),
       loss=st.sampled_from(DEGREE_ZERO + ("square", "ridge_fisher")))
def test_unbalanced_layer_flow_keeps_gaps_and_norms(case, loss):
    u0, data, dps = case
    res = simulate("layer", u0, T, data=data, loss=loss, dps=dps, outputs=5)
    gaps = [n for n in res.monitor_values if n.startswith("gap_")]
    assert any(res.monitor_values[n][0] != 0 for n in gaps)   # really unbalanced
    check_conserved(res, gaps, dps)                            # DL-2: any loss
    if loss in DEGREE_ZERO:
        check_conserved(res, [n for n in res.monitor_values if n.startswith("norm2_")], dps)  # DL-3


# ----------------------------------------------------------------------------------------
# falsifiers: each dropped assumption makes Q drift by many orders more

@settings(max_examples=examples(5))
@given(case=cases(dim=st.integers(2, 6), dps=st.just(30)))
def test_falsifiers_make_the_quasi_norm_drift(case):
    u0, data, dps = case
    L = len(u0)
    base = simulate("layer", u0, T, data=data, dps=dps, outputs=3)
    assert base.drift("Q") <= tol(dps, base.monitor_values["Q"][0])
    ridge = simulate("layer", u0, T, data=data, loss="ridge_fisher", dps=dps, outputs=3)
    square = simulate("layer", u0, T, data=data, loss="square", dps=dps, outputs=3)
    assert ridge.drift("Q") > FALSIFIER_MIN
    assert square.drift("Q") > FALSIFIER_MIN
    if L >= 2:
        unb = layer_init(L, len(u0[0]), init="unbalanced", alpha="3/4", seed=L)
        res = simulate("layer", unb, T, data=data, dps=dps, outputs=3)
        assert res.drift("Q") > FALSIFIER_MIN
        check_conserved(res, [n for n in res.monitor_values if n.startswith("norm2_")], dps)


def test_unequal_layer_rates_break_balance():
    """DL-2 needs equal rates: with η = (1, 2, 1) the gaps move."""
    data = data_for(3, 1)
    u0 = layer_init(3, 3, seed=2, init="unbalanced")
    ok = simulate("layer", u0, T, data=data, dps=30, outputs=3)
    bad = simulate("layer", u0, T, data=data, dps=30, outputs=3, rates=(1, 2, 1))
    gaps = [n for n in ok.monitor_values if n.startswith("gap_")]
    assert ok.max_drift(gaps) <= tol(30)
    assert bad.max_drift(gaps) > FALSIFIER_MIN


@settings(max_examples=examples(5))
@given(case=cases(dim=st.integers(2, 4), magnitudes=MAGNITUDES[:-1], dps=st.just(30)))
def test_planted_exponent_in_the_reduced_flow_is_detected(case):
    """``reduced_field(..., exponent=2-1/L)`` must fail the DL-4 comparison by a wide margin.

    Magnitudes < 1: at ``|w_i| = 1`` the planted and the true fields coincide at t = 0."""
    u0, data, dps = case
    L = len(u0)
    layer = simulate("layer", u0, T, data=data, dps=dps, outputs=3)
    good = simulate("reduced", u0, T, data=data, dps=dps, outputs=3)
    bad = simulate("reduced", u0, T, data=data, dps=dps, outputs=3,
                   exponent=2 - sp.Rational(1, L))
    assert w_distance(layer, good) <= tol(dps)
    assert w_distance(layer, bad) > FALSIFIER_MIN


def test_mirror_form_with_the_wrong_potential_is_detected():
    """DL-6's falsifier: the depth-3 potential on a depth-4 flow."""
    data = data_for(3, 1)
    u0 = layer_init(4, 3, seed=2)
    layer = simulate("layer", u0, T, data=data, dps=30, outputs=3)
    good = simulate("mirror", u0, T, data=data, dps=30, outputs=3)
    bad = simulate("mirror", u0, T, data=data, dps=30, outputs=3, potential_depth=3)
    assert w_distance(layer, good) <= tol(30)
    assert w_distance(layer, bad) > FALSIFIER_MIN


# ----------------------------------------------------------------------------------------
# DL-8: gradient descent, exact rationals

@settings(max_examples=examples(8))
@given(case=cases(dim=st.integers(1, 4)), steps=st.integers(1, 2),
       eta=st.sampled_from(["1/10", "1/20", "1/7"]),
       loss=st.sampled_from(("fisher", "inverse_fisher", "neg_log_fisher", "trace_ratio")))
def test_gradient_descent_increment_is_exact(case, steps, eta, loss):
    u0, data, _ = case
    res = gd_run(u0, eta, steps, data=data, loss=loss)
    assert res.exact
    assert all(r == 0 for r in res.residuals), res.residuals     # DL-8, exactly
    assert all(b == 0 for b in res.balance)                       # balance kept exactly
    assert all(b >= a for a, b in zip(res.Q, res.Q[1:]))          # Q never decreases


def test_gradient_descent_increment_fails_for_the_square_loss():
    data = data_for(3, 1)
    res = gd_run(layer_init(3, 3, seed=2), "1/10", 2, data=data, loss="square")
    assert all(b == 0 for b in res.balance)                       # balance: any loss
    assert all(abs(r) > Fraction(1, 10**6) for r in res.residuals)


@settings(max_examples=examples(4))
@given(case=cases(dim=st.integers(1, 4)), dps=st.sampled_from([30, 50]))
# pinned: the DL-8 exponent 2 - 2/L was once computed outside workdps (15 digits)
@example(case=(layer_init(3, 2, seed=1), data_for(2, 3), 50), dps=50)
def test_gradient_descent_in_mpmath(case, dps):
    u0, data, _ = case
    res = gd_run(u0, "1/10", 20, data=data, dps=dps)
    scale = max(1, abs(res.Q[-1]))
    assert res.max_residual <= tol(dps, scale)
    assert res.max_balance <= tol(dps, scale)


# ----------------------------------------------------------------------------------------
# DL-7: no coordinate of w changes sign (L >= 2, balanced); falsifiers L = 1 and imbalance

def _signed_min(res):
    w0 = res.w[0]
    return min(v * (1 if s > 0 else -1) for row in res.w for v, s in zip(row, w0))


@settings(max_examples=examples(5))
@given(case=cases(depth=st.integers(2, 6), dim=st.integers(2, 5), dps=st.just(30)))
def test_orthant_is_invariant(case):
    u0, data, dps = case
    res = simulate("layer", u0, 2, data=data, dps=dps, outputs=21)
    assert _signed_min(res) > 0
    # Gronwall: |w_i(t)| >= |w_i(0)| exp(-C t) stays far above the integration error
    assert _signed_min(res) > mpmath.mpf(10) ** -(dps - 16)


def test_orthant_falsifiers_cross_zero():
    trap = orthant_trap_data(3, seed=3)
    plain = simulate("layer", layer_init(1, 3, signs="positive"), 5, data=trap, dps=30, outputs=21)
    assert _signed_min(plain) < -FALSIFIER_MIN                     # L = 1 crosses
    unb = simulate("layer", layer_init(2, 3, signs="positive", init="unbalanced", seed=1), 10,
                   data=trap, dps=30, outputs=21)
    assert _signed_min(unb) < -FALSIFIER_MIN                       # imbalance lets it cross


# ----------------------------------------------------------------------------------------
# DL-10: the orthant trap, float64, long horizon

@pytest.mark.parametrize("dim,seed", [(2, 0), (3, 3), (4, 0)])
def test_orthant_trap(dim, seed):
    trap = orthant_trap_data(dim, seed=seed)
    J_star = float(trap.optimum())
    signs = trap.optimum_signs()
    assert 1 in signs and -1 in signs
    stuck = simulate_float64("layer", layer_init(3, dim, signs="positive"), 100, data=trap,
                             outputs=5)
    free = simulate_float64("layer", layer_init(3, dim, signs=list(signs)), 100, data=trap,
                            outputs=5)
    J_stuck, J_free = stuck.monitor_values["J"][-1], free.monitor_values["J"][-1]
    assert J_stuck < J_star * (1 - 1e-3)              # strictly below the optimum
    assert abs(J_free - J_star) <= 1e-9 * J_star      # reaches it from the right orthant
    assert all(v > 0 for v in stuck.w[-1])            # still in the positive orthant
    assert stuck.drift("Q") < 1e-10 and free.drift("Q") < 1e-10
    # L = 2 through the mirror form (exactly balanced by construction)
    stuck2 = simulate_float64("mirror", layer_init(2, dim, signs="positive"), 100, data=trap,
                              outputs=5)
    assert stuck2.monitor_values["J"][-1] < J_star * (1 - 1e-3)


# ----------------------------------------------------------------------------------------
# independent references: mpmath.odefun, float64

@pytest.mark.parametrize("kind,depth", [("layer", 2), ("reduced", 3)])
def test_agrees_with_mpmath_odefun(kind, depth):
    data = data_for(2, 1)
    u0 = layer_init(depth, 2, seed=3)
    flow = build_flow(kind, depth, 2, "fisher", signs=tuple(
        int(sp.sign(sp.Mul(*[r[i] for r in u0]))) for i in range(2)))
    params = flow.param_values(data)
    kern = flow.system().kernel("mpmath")
    y0 = flow.initial_state(u0)
    with mpmath.workdps(18):
        sol = mpmath.odefun(lambda t, y: kern(y, params, prec=mpmath.mp.prec), 0,
                            [mpmath.mpf(v.p) / v.q for v in y0])
        ref = sol(mpmath.mpf(1) / 2)
    ours = simulate(kind, u0, T, data=data, dps=30, outputs=2)
    assert max(abs(a - b) for a, b in zip(ref, ours.states[-1])) < mpmath.mpf("1e-15")


def test_float64_agrees_with_taylor():
    data = data_for(3, 2)
    u0 = layer_init(3, 3, seed=4)
    hp = simulate("layer", u0, 2, data=data, dps=30, outputs=5)
    lo = simulate_float64("layer", u0, 2, data=data, outputs=5)
    assert max(abs(float(a) - b) for ra, rb in zip(hp.w, lo.w) for a, b in zip(ra, rb)) < 1e-10
    assert lo.drift("Q") < 1e-12
