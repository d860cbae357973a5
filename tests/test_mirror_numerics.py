"""Mirror flow numerics: MF-2, MF-3 along simulated flows; MF-5, MF-6, MF-9 (the flows; their
experiments' outcomes are checked in tests/test_mirror_experiments.py); mirror descent.

Fast checks run by default (the whole file < 3 min with the ``ci`` profile); the full
evidence run is ``@pytest.mark.slow``.  Tolerances follow from precision: at ``dps``
digits a conserved quantity must hold to ``10^-(dps-3)`` and its falsifier must drift by
more than ``1e-3``.
"""
from __future__ import annotations

import json
import math
from fractions import Fraction as F

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, example, given, settings, strategies as st  # noqa: F401

from numerics.mirror_flow.margins import (Horizon, MarginError, as_horizon, direction_error, kkt_residual,
                              loss_inverse_log, margin_gap, max_margin, q_inf, q_margin, smoothed_margin)
from numerics.mirror_flow.mirror import (MirrorProblem, mirror_descent, mirror_flow, rescaled_flow,
                             rescaled_flow_mp)
from numerics.mirror_flow.mirror_map import MirrorError, catalogue_potential, mirror_map
from numerics.mirror_flow.networks import LinearModel, Network, TwoLayerNet, orthant_data, separable_data
from numerics.mirror_flow.evidence import THETA0_2LAYER, mf5_dataset, mf_evidence

DPS = 30
K_DIGITS = 3   # documented loss of digits for conserved quantities

POTENTIALS = {
    "hyperbolic entropy": ("hyperbolic entropy", {"alpha": F(1, 2)}),
    "cosh": ("cosh", {}),
    "quadratic+quartic": ("quadratic+quartic", {}),
    "p-power 3": ("p-power", {"p": 3}),
}

_PROBLEMS: dict = {}


def problem(pot_key, activation="squared_relu", loss="exp"):
    """Cached 2-layer problems (building the Taylor programs is the expensive part)."""
    key = (pot_key, activation, loss)
    if key not in _PROBLEMS:
        name, params = POTENTIALS[pot_key]
        net = TwoLayerNet(2, 2, activation)
        _PROBLEMS[key] = MirrorProblem(net, orthant_data(4, 2, seed=1),
                                       catalogue_potential(name, **params), loss=loss)
    return _PROBLEMS[key]


def _max_change(rows):
    return max(abs(r[k] - rows[0][k]) for r in rows for k in range(len(rows[0])))


# ----------------------------------------------------------------------------------------
# the mirror map

@pytest.mark.parametrize("name,params,closed", [
    ("quadratic", {}, "z"),
    ("hyperbolic entropy", {"alpha": F(1, 10)}, "sinh(z)/10"),
    ("cosh", {}, "log(z + sqrt(z**2 + 1))"),
    ("p-power", {"p": 3}, "sqrt(z)"),
    ("p-power", {"p": 4}, "z**(1/3)"),
])
def test_closed_form_inverse_found_and_checked(name, params, closed):
    m = catalogue_potential(name, **params)
    assert m.inverse_kind == "closed form"
    assert sp.simplify(m.inverse_pos - sp.sympify(closed).subs(
        sp.Symbol("z"), sp.Symbol("z", positive=True))) == 0
    assert "numeric" in m.inverse_checks


def test_cardano_inverse_of_quadratic_quartic():
    m = catalogue_potential("quadratic+quartic")
    assert m.inverse_kind == "closed form" and m.inverse_odd_analytic
    with mpmath.workdps(40):
        for z in ("-7", "1/3", "25"):
            zv = mpmath.mpf(F(z).numerator) / F(z).denominator
            assert abs(m.dphi(m.inv(zv)) - zv) < mpmath.mpf(10) ** -35


@given(st.sampled_from(list(POTENTIALS)), st.fractions(min_value=F(-40), max_value=F(40)))
@example("cosh", F(-30))
def test_closed_form_and_newton_inverse_agree(pot_key, zf):
    """Two routes for psi = (phi')^{-1}: the checked closed form and Newton at 40 digits."""
    assume(zf != 0)
    name, params = POTENTIALS[pot_key]
    m = catalogue_potential(name, **params)
    with mpmath.workdps(40):
        z = mpmath.mpf(zf.numerator) / zf.denominator
        a, b = m.inv(z), mpmath.sign(z) * m._newton(abs(z))
        assert abs(a - b) <= mpmath.mpf(10) ** -33 * max(1, abs(a))
        assert abs(m.dphi(a) - z) <= mpmath.mpf(10) ** -33 * max(1, abs(z))


def test_user_potential_without_closed_form_uses_newton():
    m = mirror_map("x**2/2 + x**6/6", horizon="l6")
    assert m.inverse_kind == "newton" and m.horizon == Horizon("lp", 6.0)
    for z in (0.3, -2.0, 50.0):
        assert abs(m.dphi(m.inv(z)) - z) < 1e-12 * max(1, abs(z))
    # G = x phi' - phi = x^2/2 + 5 x^6/6
    assert abs(m.G(1.5) - (1.5**2 / 2 + 5 * 1.5**6 / 6)) < 1e-12


@pytest.mark.parametrize("text,needle", [
    ("x**3 + x**2", "even"),
    ("sqrt(1 + x**2)", "onto"),
    ("x**2 * alpha", "unknown name 'alpha'"),
    ("-x**2", "convex"),
])
def test_bad_potentials_give_clear_errors(text, needle):
    with pytest.raises(MirrorError, match=needle):
        mirror_map(text)


def test_hyperbolic_functions_are_rewritten_exactly_for_the_taylor_programs():
    from numerics.mirror_flow.mirror_map import _taylor_friendly
    u = sp.Symbol("u", positive=True)
    for f in (sp.asinh(u), sp.acosh(u + 1), sp.atanh(u / 2), sp.sinh(u), sp.cosh(u)):
        rewritten = _taylor_friendly(f)
        assert not rewritten.has(sp.asinh, sp.acosh, sp.atanh, sp.sinh, sp.cosh)
        for point in (sp.Rational(1, 3), sp.Rational(3, 2)):
            assert abs(sp.N((rewritten - f).subs(u, point), 40)) < 1e-35, f


def test_inverse_derivative_and_flags_of_the_mirror_map():
    cosh = catalogue_potential("cosh")
    with mpmath.workdps(40):
        z = mpmath.mpf("0.7")
        slope = mpmath.diff(cosh.inv, z)
        assert abs(cosh.dinv(z) - slope) < mpmath.mpf(10) ** -30
        assert abs(cosh.dinv(z) - 1 / mpmath.sqrt(1 + z**2)) < mpmath.mpf(10) ** -35   # psi = asinh
    cube = catalogue_potential("p-power", p=3)              # phi'' = 2|x| vanishes at 0
    assert cube.dinv(0.0) == math.inf and cube.inv(0.0) == 0.0
    assert cube.dinv(mpmath.mpf(0)) == mpmath.inf
    assert cosh.d2phi_even_analytic and not cube.d2phi_even_analytic
    from derivations import potentials as P
    assert mirror_map(P.quadratic_quartic()).name == P.quadratic_quartic().name


def test_an_inverse_sympy_cannot_simplify_is_recorded_as_not_proved(monkeypatch):
    from numerics.mirror_flow import mirror_map as mm

    def failing(*args, **kwargs):
        raise ValueError("simplify gave up")
    monkeypatch.setattr(mm.sp, "simplify", failing)
    x_ = mm._XP
    inverse, checks = mm._closed_form_inverse(x_ + x_**3)
    assert inverse is not None and checks["symbolic"] is False and "numeric" in checks


def test_derivatives_agree_with_derivations_potentials():
    """Two routes for phi', phi'', G: derived here and in derivations.potentials."""
    m = catalogue_potential("hyperbolic entropy", alpha=1)
    keys = [k for k in m.inverse_checks if k.startswith("agrees with derivations.potentials")]
    assert keys and all(m.inverse_checks[k] for k in keys)
    assert m.horizon.kind == "l1"


# ----------------------------------------------------------------------------------------
# MF-2: per-neuron balance along simulated mirror flow (Taylor, 30 digits)

@pytest.mark.parametrize("pot_key", list(POTENTIALS))
def test_mf2_balance_conserved_and_euclidean_falsifier_drifts(pot_key):
    pr = problem(pot_key)
    r = mirror_flow(pr, list(THETA0_2LAYER), 1, dps=DPS, times=[0, F(1, 2), 1])
    with mpmath.workdps(DPS + 10):
        drift = _max_change([pr.balances(th) for th in r.theta])
        fdrift = _max_change([pr.euclidean_balances(th) for th in r.theta])
    assert drift < mpmath.mpf(10) ** -(DPS - K_DIGITS)
    assert fdrift > 1e-3


def test_quantities_of_a_flow_are_evaluated_at_the_flow_precision():
    """mpmath stays at its global 15 digits here: the states carry their 30 digits (MpVector)
    and the balance is evaluated at them; stripped of it, the same states show a 15-digit drift."""
    assert mpmath.mp.dps == 15
    pr = problem("cosh")
    r = mirror_flow(pr, list(THETA0_2LAYER), 1, dps=DPS, times=[0, F(1, 2), 1])
    assert {th.dps for th in r.theta} == {DPS}
    assert _max_change([pr.balances(th) for th in r.theta]) < mpmath.mpf(10) ** -(DPS - K_DIGITS)
    assert _max_change([pr.balances(list(th)) for th in r.theta]) > mpmath.mpf(10) ** -(DPS - K_DIGITS)
    descent = mirror_descent(pr, list(THETA0_2LAYER), F(1, 100), 3, dps=DPS)
    assert descent.theta[-1].dps == DPS and mpmath.mp.dps == 15


def test_mf2_linear_activation_and_logistic_loss():
    for pr in (problem("cosh", "linear"), problem("hyperbolic entropy", loss="logistic")):
        r = mirror_flow(pr, list(THETA0_2LAYER), 1, dps=DPS, times=[0, 1])
        with mpmath.workdps(DPS + 10):
            assert _max_change([pr.balances(th) for th in r.theta]) < mpmath.mpf(10) ** -(DPS - K_DIGITS)
            assert _max_change([pr.euclidean_balances(th) for th in r.theta]) > 1e-3


def test_mf2_quadratic_potential_recovers_euclidean_balance():
    net = TwoLayerNet(2, 2, "squared_relu")
    pr = MirrorProblem(net, orthant_data(4, 2, seed=1), catalogue_potential("quadratic"))
    r = mirror_flow(pr, list(THETA0_2LAYER), 1, dps=DPS, times=[0, 1])
    with mpmath.workdps(DPS + 10):
        assert _max_change([pr.euclidean_balances(th) for th in r.theta]) < mpmath.mpf(10) ** -(DPS - K_DIGITS)


def _assert_balance_conserved_euclidean_not(pr, theta0, dps=20):
    """Along the flow to t = 1/2: MF-2 holds to 10^-(dps-k); the Euclidean balance moves
    by a million times more."""
    r = mirror_flow(pr, theta0, F(1, 2), dps=dps, times=[0, F(1, 2)])
    with mpmath.workdps(dps + 10):
        drift = _max_change([pr.balances(th) for th in r.theta])
        fdrift = _max_change([pr.euclidean_balances(th) for th in r.theta])
    assert drift < mpmath.mpf(10) ** -(dps - K_DIGITS)
    assert fdrift > 10 ** 6 * drift


def _signed_init(mags):
    """``[w_1, w_2, a_1, a_2]`` with unit 1: w > 0, a > 0; unit 2: w < 0, a < 0 (no sign
    change along the flow)."""
    return [mags[0], mags[1], -mags[2], -mags[3], mags[4], -mags[5]]


@settings(max_examples=min(10, settings().max_examples))
@given(st.sampled_from(list(POTENTIALS)),
       st.sampled_from(["squared_relu", "linear"]),
       st.lists(st.fractions(min_value=F(1, 5), max_value=F(3, 2), max_denominator=12),
                min_size=6, max_size=6))
def test_mf2_balance_hypothesis(pot_key, activation, mags):
    _assert_balance_conserved_euclidean_not(problem(pot_key, activation), _signed_init(mags))


def test_network_layout_units_and_derived_degree():
    net = Network((3, 2, 2, 1), "squared_relu")
    assert (net.n_params, net.L, net.s) == (3 * 2 + 2 * 2 + 2, 7, 2)
    # hidden unit 1 of layer 1: row 1 of W_1 in, column 1 of W_2 out
    assert net.units[1] == ((3, 4, 5), (7, 9))
    # scaling a unit's incoming weights by c and its outgoing ones by c^-s leaves f unchanged
    th = [sp.Rational(k + 2, 7) * (-1) ** k for k in range(net.n_params)]
    x = [sp.Rational(1, 2), sp.Rational(-1, 3), sp.Integer(2)]
    c = sp.Rational(5, 3)
    ins, outs = net.units[2]
    scaled = [v * c if j in ins else v / c ** net.s if j in outs else v for j, v in enumerate(th)]
    assert net.output(scaled, x) == net.output(th, x)
    assert net.output([2 * v for v in th], x) == 2 ** net.L * net.output(th, x)
    assert (Network((2, 3, 1), "linear").L, Network((2, 2, 2, 2, 1), "relu").L) == (2, 4)
    with pytest.raises(MirrorError, match="widths"):
        Network((2, 3, 2))


_DEEP: dict = {}


@settings(max_examples=min(6, settings().max_examples))
@given(st.sampled_from([(2, 2, 2, 1), (2, 3, 1), (2, 1, 2, 1)]),
       st.sampled_from(["hyperbolic entropy", "cosh"]),
       st.lists(st.fractions(min_value=F(1, 5), max_value=F(3, 2), max_denominator=12),
                min_size=10, max_size=10),
       st.lists(st.booleans(), min_size=10, max_size=10))
def test_mf2_balance_hypothesis_deep_linear_networks(widths, pot_key, mags, signs):
    """Drawn depth and widths (linear activation: a smooth vector field, any signs)."""
    key = (widths, pot_key)
    if key not in _DEEP:
        name, params = POTENTIALS[pot_key]
        _DEEP[key] = MirrorProblem(Network(widths, "linear"), separable_data(5, 2, seed=4),
                                   catalogue_potential(name, **params))
    pr = _DEEP[key]
    theta0 = [m if sg else -m for m, sg in zip(mags, signs)][:pr.P]
    _assert_balance_conserved_euclidean_not(pr, theta0)


def test_primal_and_dual_routes_agree():
    for key in ("hyperbolic entropy", "cosh"):
        pr = problem(key)
        a = mirror_flow(pr, list(THETA0_2LAYER), 1, dps=DPS, route="primal")
        b = mirror_flow(pr, list(THETA0_2LAYER), 1, dps=DPS, route="dual")
        with mpmath.workdps(DPS):
            assert max(abs(u - v) for u, v in zip(a.theta[-1], b.theta[-1])) < mpmath.mpf(10) ** -(DPS - K_DIGITS)


def test_squared_relu_kink_is_refused_not_crossed():
    """A pre-activation that changes sign stops the high-precision integrator loudly."""
    from numerics.core.taylor import TaylorError
    net = TwoLayerNet(2, 2, "squared_relu")
    pr = MirrorProblem(net, separable_data(4, 2, seed=1), catalogue_potential("cosh"))
    th0 = [F(1, 2), F(-1, 3), F(1, 4), F(2, 3), F(3, 4), F(-1, 2)]   # [w_1, w_2, a_1, a_2]
    with pytest.raises(TaylorError, match="sign"):
        mirror_flow(pr, th0, 1, dps=20)


# ----------------------------------------------------------------------------------------
# MF-3: dual-energy growth

@pytest.mark.parametrize("pot_key", ["hyperbolic entropy", "p-power 3"])
def test_mf3_energy_identity_integrated(pot_key):
    pr = problem(pot_key)
    r = mirror_flow(pr, list(THETA0_2LAYER), 1, dps=DPS, times=[0, F(1, 2), 1], energy=True)
    with mpmath.workdps(DPS + 10):
        G0 = pr.dual_energy(r.theta[0])
        err = max(abs(pr.dual_energy(th) - G0 - E) for th, E in zip(r.theta, r.energy_witness))
        half = lambda th: mpmath.fsum(v * v for v in th) / 2  # noqa: E731
        ferr = max(abs(half(th) - half(r.theta[0]) - E) for th, E in zip(r.theta, r.energy_witness))
    assert err < mpmath.mpf(10) ** -(DPS - K_DIGITS)
    assert ferr > 1e-3


def test_mf3_finite_difference_route():
    """d/dt ΣG(θ_j) by a central difference of the dense output vs L Σ(−ℓ')q at that point."""
    pr = problem("cosh")
    h = F(1, 10**8)
    t = F(1, 2)
    r = mirror_flow(pr, list(THETA0_2LAYER), F(3, 4), dps=DPS, times=[t - h, t, t + h])
    with mpmath.workdps(DPS + 10):
        fd = (pr.dual_energy(r.theta[2]) - pr.dual_energy(r.theta[0])) / (2 * mpmath.mpf(h.numerator) / h.denominator)
        rate = pr.energy_rate(r.theta[1])
        assert abs(fd - rate) < 1e-12 * max(1, abs(rate))
        # the falsifier: the Euclidean energy grows at a different rate
        half = lambda th: mpmath.fsum(v * v for v in th) / 2  # noqa: E731
        fe = (half(r.theta[2]) - half(r.theta[0])) / (2 * mpmath.mpf(h.numerator) / h.denominator)
        assert abs(fe - rate) > 1e-3


# ----------------------------------------------------------------------------------------
# margins and the max-margin problem

def test_horizon_spellings():
    assert as_horizon("l1") == Horizon("l1", 1.0)
    assert as_horizon("ℓ∞").kind == "linf"
    assert as_horizon(("lp", 4)) == Horizon("lp", 4.0)
    assert as_horizon({"kind": "lp", "p": "3"}) == Horizon("lp", 3.0)
    assert as_horizon(2) == Horizon("lp", 2.0)
    with pytest.raises(MarginError):
        as_horizon("lq")
    with pytest.raises(MarginError):
        as_horizon(("lp",))


def test_q_values_float_and_mp():
    th = [3.0, -4.0]
    assert q_inf(th, "l2") == pytest.approx(5.0)
    assert q_inf(th, "l1") == 7.0 and q_inf(th, "linf") == 4.0
    with mpmath.workdps(30):
        v = q_inf([mpmath.mpf(3), mpmath.mpf(-4)], "l4")
        assert abs(v - mpmath.mpf(337) ** (mpmath.mpf(1) / 4)) < mpmath.mpf(10) ** -28
    assert q_margin([2.0, 3.0], 4.0, L=2) == pytest.approx(2 / 16)


@given(st.lists(st.floats(0.01, 30), min_size=3, max_size=3), st.sampled_from(["exp", "logistic"]))
def test_smoothed_margin_below_q_margin(q, loss):
    q = np.array(q)
    ell = np.exp(-q) if loss == "exp" else np.log1p(np.exp(-q))
    logL = float(np.log(ell.sum()))
    assert smoothed_margin(logL, 2.0, 1, loss) <= q_margin(list(q), 2.0, 1) + 1e-12


def test_logistic_loss_inverse():
    for q in (0.5, 3.0, 40.0):
        v = math.log(math.log1p(math.exp(-q)))
        assert loss_inverse_log(v, "logistic") == pytest.approx(q, rel=1e-10)
    with mpmath.workdps(30):
        q = mpmath.mpf(1000)
        v = mpmath.log(mpmath.log1p(mpmath.exp(-q)))
        assert abs(loss_inverse_log(v, "logistic") - q) < mpmath.mpf(10) ** -20


def test_max_margin_known_solutions():
    A = np.array([[1.0, 2.0], [2.0, 1.0]])
    for h, value in (("l1", 2 / 3), ("linf", 1 / 3), ("l2", math.sqrt(2) / 3),
                     ("l4", 2 ** 0.25 / 3)):
        r = max_margin(A, np.ones(2), h)
        assert r.theta == pytest.approx([1 / 3, 1 / 3], abs=1e-9)
        assert r.value == pytest.approx(value, rel=1e-9)
        assert r.unique and r.duality_gap < 1e-9 and r.kkt.total < 1e-9


def test_l1_max_margin_reports_its_active_constraints():
    """Data (1, 2) and (2, 1): both margins are 1 at the solution (1/3, 1/3); a third point
    far from the boundary (margin 3 there) is not active."""
    r = max_margin(np.array([[1.0, 2.0], [2.0, 1.0], [4.0, 5.0]]), np.ones(3), "l1")
    assert r.active == [0, 1]


def test_horizon_spellings_with_a_p():
    assert as_horizon("lp:3").p == 3 and as_horizon("lp=4").p == 4 and as_horizon("l3").p == 3


def test_max_margin_non_unique_l1_is_detected():
    r = max_margin(np.array([[1.0, 1.0]]), np.ones(1), "l1")
    assert not r.unique and r.face_width > 0.5


def test_not_separable_is_an_error():
    with pytest.raises(MarginError, match="not linearly separable"):
        max_margin(np.array([[1.0, 0.0], [-1.0, 0.0]]), np.ones(2), "l2")


@given(st.integers(0, 10_000), st.integers(2, 3), st.integers(3, 7),
       st.sampled_from(["l1", "linf", "l2", "l3", "l1.5"]))
@example(163, 3, 3, "l1.5")   # optimum with an exact zero: SLSQP left 4e-12, KKT 2e-6 before polish
@example(0, 2, 3, "l1")       # non-unique l1 optimum: the perturbed point was optimal too
def test_max_margin_primal_dual_and_kkt(seed, dim, n, h):
    data = separable_data(n, dim, seed=seed, denominator=5)
    r = max_margin(data.float_X(), data.y, h)
    assert r.duality_gap < 1e-7
    assert r.kkt.total < 1e-6
    A = data.signed()
    assert np.min(A @ r.theta) > 1 - 1e-8
    # a perturbed point with a clearly smaller Q-margin has a clearly non-zero KKT residual
    bad = r.theta * 1.5 + 0.3 * np.eye(dim)[0] * q_inf(r.theta, h)
    if np.min(A @ bad) > 0 and margin_gap(bad, A, h, r.value) > 1e-2:
        assert kkt_residual(bad, A, h).total > 1e-4


# ----------------------------------------------------------------------------------------
# MF-5 / MF-6 / MF-9 on the linear model (rescaled time, float64)

MF5 = {
    "quadratic": ("quadratic", {}, 1e4),
    "p-power 3": ("p-power", {"p": 3}, 1e3),
    "quadratic+quartic": ("quadratic+quartic", {}, 1e4),
    "hyperbolic entropy": ("hyperbolic entropy", {"alpha": 1}, 12),
    "cosh": ("cosh", {}, 1e4),
}


def _grid(s_end):
    return [1, 2, 4, 8, 12] if s_end <= 12 else [10.0 ** k for k in range(0, int(round(math.log10(s_end))) + 1)]


@pytest.mark.parametrize("key", list(MF5))
def test_mf5_direction_gap_and_kkt_decrease(key):
    name, params, s_end = MF5[key]
    data = mf5_dataset()
    A = data.signed()
    pr = MirrorProblem(LinearModel(3), data, catalogue_potential(name, **params))
    sol = max_margin(A, np.ones(data.n), pr.horizon)
    assert sol.unique and sol.kkt.total < 1e-9 and sol.duality_gap < 1e-9
    grid = [s for s in _grid(s_end) if s >= 4]
    r = rescaled_flow(pr, s_end, s_eval=grid)
    dirs = [direction_error(th, sol.theta, pr.horizon) for th in r.theta]
    gaps = [1 - g * sol.value for g in r.q_margin]
    kkts = [kkt_residual(th, A, pr.horizon).total for th in r.theta]
    assert all(np.diff(dirs) < 0), dirs
    assert all(np.diff(kkts) < 0), kkts
    assert gaps[-1] < gaps[0] and min(gaps) > -1e-9   # the margin never exceeds the max margin
    assert dirs[-1] < 0.5 * dirs[0]
    # falsifier: the limit is not the max-margin solution of another horizon
    other = max_margin(A, np.ones(data.n), "l1" if pr.horizon.kind != "l1" else "l2")
    assert direction_error(r.theta[-1], other.theta, pr.horizon) > 10 * dirs[-1]


def test_mf6_hyperbolic_entropy_alphas_same_limit_different_iterates():
    data = mf5_dataset()
    A = data.signed()
    lin = LinearModel(3)
    sol = max_margin(A, np.ones(data.n), "l1")
    ra = rescaled_flow(MirrorProblem(lin, data, catalogue_potential("hyperbolic entropy", alpha=F(1, 10))), 12, s_eval=[1, 12])
    rb = rescaled_flow(MirrorProblem(lin, data, catalogue_potential("hyperbolic entropy", alpha=1)), 12, s_eval=[1, 12])
    assert direction_error(ra.theta[-1], sol.theta, "l1") < 1e-3
    assert direction_error(rb.theta[-1], sol.theta, "l1") < 1e-3
    assert direction_error(ra.theta[0], rb.theta[0], "l1") > 0.05
    assert abs(ra.Q[-1] / rb.Q[-1] - 1) > 0.5


def test_mf6_quartic_and_quadratic_quartic_same_limit():
    data = mf5_dataset()
    A = data.signed()
    lin = LinearModel(3)
    sol = max_margin(A, np.ones(data.n), "l4")
    ra = rescaled_flow(MirrorProblem(lin, data, catalogue_potential("p-power", p=4)), 1e4, s_eval=[1, 1e4])
    rb = rescaled_flow(MirrorProblem(lin, data, catalogue_potential("quadratic+quartic")), 1e4, s_eval=[1, 1e4])
    assert direction_error(ra.theta[-1], sol.theta, "l4") < 2e-3
    assert direction_error(rb.theta[-1], sol.theta, "l4") < 2e-3
    assert direction_error(ra.theta[0], rb.theta[0], "l4") > 0.05


def _slope(logt, Q):
    logt, Q = np.asarray(logt[-3:], float), np.asarray(Q[-3:], float)
    return float(np.polyfit(np.log(logt), np.log(Q), 1)[0])


@pytest.mark.parametrize("name,params,s_end", [("quadratic", {}, 1e4),
                                              ("hyperbolic entropy", {"alpha": 1}, 12)])
def test_mf9_norm_growth_exponent_linear_model(name, params, s_end):
    """Q ~ log t / γ* asymptotically; at the reached horizons the local exponent is within
    0.02 of 1 (measured: 0.9986 and 0.9998); asserted only where the theory's asymptotics
    have kicked in (not for cosh and x²/2 + x⁴/4, whose local slopes at log t ≈ 30–50 are
    0.88 and 1.07 — reported by the evidence, not asserted)."""
    data = mf5_dataset()
    pr = MirrorProblem(LinearModel(3), data, catalogue_potential(name, **params))
    grid = _grid(s_end)
    r = rescaled_flow(pr, s_end, s_eval=grid)
    assert abs(_slope(r.log_t, r.Q) - 1.0) < 0.02


def test_mf9_norm_growth_exponent_two_layer_linear():
    net = TwoLayerNet(2, 2, "linear")
    pr = MirrorProblem(net, orthant_data(4, 2, seed=1), catalogue_potential("quadratic"))
    r = rescaled_flow(pr, 12, s_eval=[4, 8, 12], theta0=list(THETA0_2LAYER))
    assert abs(_slope(r.log_t, r.Q) - 0.5) < 0.02
    # the Q-margin has converged (smoothed and plain margins agree)
    assert abs(r.q_margin[-1] - r.smoothed[-1]) < 1e-6


# ----------------------------------------------------------------------------------------
# two routes for the rescaled-time flow, and its time bookkeeping

@pytest.mark.parametrize("name,params,s_end", [("quadratic+quartic", {}, 20),
                                              ("hyperbolic entropy", {"alpha": 1}, 3)])
def test_rescaled_float64_matches_taylor(name, params, s_end):
    pr = MirrorProblem(LinearModel(3), mf5_dataset(), catalogue_potential(name, **params))
    rm = rescaled_flow_mp(pr, s_end, dps=30)
    rf = rescaled_flow(pr, s_end, rtol=1e-12, atol=1e-14)
    assert max(abs(float(a) - b) for a, b in zip(rm.theta[-1], rf.theta[-1])) < 1e-9
    assert abs(float(rm.log_t[-1]) - rf.log_t[-1]) < 1e-9 * max(1, abs(rf.log_t[-1]))


def test_rescaled_time_matches_time_t_flow():
    """θ at rescaled time s equals the t-time flow at t = t(s) (independent integrations)."""
    pr = MirrorProblem(LinearModel(3), mf5_dataset(), catalogue_potential("cosh"))
    rf = rescaled_flow(pr, 3, rtol=1e-12, atol=1e-14)
    t_end = float(np.exp(rf.log_t[-1]))
    rt = mirror_flow(pr, [0, 0, 0], F(t_end), dps=25)
    assert max(abs(float(a) - b) for a, b in zip(rt.theta[-1], rf.theta[-1])) < 1e-8


def test_rescaled_flow_guards():
    pr = MirrorProblem(LinearModel(3), mf5_dataset(), catalogue_potential("hyperbolic entropy", alpha=1))
    r = rescaled_flow(pr, 40, s_eval=[5, 40], theta_max=1e6)
    assert r.stats["stopped"] and "theta_max" in r.stats["stopped"] and len(r.s) == 1
    pr3 = MirrorProblem(LinearModel(3), mf5_dataset(), catalogue_potential("p-power", p=3))
    with pytest.raises(MirrorError, match="not analytic at z = 0"):
        rescaled_flow_mp(pr3, 1, dps=20)


# ----------------------------------------------------------------------------------------
# mirror descent → mirror flow, first order

@pytest.mark.parametrize("pot_key", ["hyperbolic entropy", "quadratic+quartic"])
def test_mirror_descent_converges_first_order(pot_key):
    pr = problem(pot_key, "linear")
    ref = mirror_flow(pr, list(THETA0_2LAYER), 1, dps=25)
    errs = []
    for n in (20, 40, 80):
        md = mirror_descent(pr, list(THETA0_2LAYER), 1.0 / n, n)
        errs.append(max(abs(a - float(b)) for a, b in zip(md.theta[-1], ref.theta[-1])))
    ratios = [errs[i] / errs[i + 1] for i in range(2)]
    assert all(1.8 < q < 2.2 for q in ratios), ratios


def _relu_balance_errors(pr, theta0, etas, t_end=1.0):
    """Balance change (MF-2 and Euclidean) after mirror descent to ``t_end`` per step size."""
    b0, e0 = pr.balances(theta0), pr.euclidean_balances(theta0)
    out = []
    for eta in etas:
        th = mirror_descent(pr, theta0, eta, round(t_end / eta)).theta[-1]
        out.append((max(abs(a - b) for a, b in zip(pr.balances(th), b0)),
                    max(abs(a - b) for a, b in zip(pr.euclidean_balances(th), e0))))
    return out


def test_relu_balance_error_shrinks_with_step_size():
    """ReLU is not differentiable, so only mirror descent runs: its MF-2 balance error is
    O(η) (halves with η) while the Euclidean balance keeps an O(1) drift."""
    name, params = POTENTIALS["hyperbolic entropy"]
    pr = MirrorProblem(TwoLayerNet(2, 2, "relu"), separable_data(6, 2, seed=3),
                       catalogue_potential(name, **params))
    theta0 = [0.5, -0.3, -0.4, 0.6, 0.8, -0.7]           # [w_1, w_2, a_1, a_2]
    X = np.array(pr.data.X, dtype=float)
    pre = X @ np.array([theta0[0:2], theta0[2:4]]).T     # pre-activations w_kᵀx_i
    assert (pre > 0).any() and (pre < 0).any()           # both ReLU branches are in use
    errs = _relu_balance_errors(pr, theta0, [1 / 25, 1 / 50, 1 / 100, 1 / 200])
    mirror_errs = [e for e, _ in errs]
    ratios = [mirror_errs[i] / mirror_errs[i + 1] for i in range(len(errs) - 1)]
    assert all(1.7 < r < 2.3 for r in ratios), (mirror_errs, ratios)
    eucl_errs = [eucl for _, eucl in errs]                # tends to a non-zero limit
    assert all(eucl > 0.1 for eucl in eucl_errs), eucl_errs
    assert all(0.9 < eucl_errs[i] / eucl_errs[i + 1] < 1.1 for i in range(len(errs) - 1))


def test_mirror_descent_mp_and_float_agree():
    pr = problem("cosh", "linear")
    a = mirror_descent(pr, list(THETA0_2LAYER), F(1, 10), 10, dps=30)
    b = mirror_descent(pr, list(THETA0_2LAYER), 0.1, 10)
    assert max(abs(float(u) - v) for u, v in zip(a.theta[-1], b.theta[-1])) < 1e-13


def test_problem_input_errors():
    with pytest.raises(MirrorError, match="dimension"):
        MirrorProblem(LinearModel(2), mf5_dataset(), catalogue_potential("quadratic"))
    with pytest.raises(MirrorError, match="loss"):
        MirrorProblem(LinearModel(3), mf5_dataset(), catalogue_potential("quadratic"), loss="hinge")
    with pytest.raises(MirrorError, match="activation"):
        TwoLayerNet(2, 2, "tanh")
    with pytest.raises(MirrorError, match="theta0"):
        mirror_flow(problem("cosh"), [1, 2], 1, dps=20)


# ----------------------------------------------------------------------------------------
# evidence

def _check_evidence(ev):
    """MF-2 and MF-3 (MF-5, MF-6, MF-8, MF-9 are experiments: tests/test_mirror_experiments.py)."""
    assert set(ev) == {"MF-2", "MF-3"}
    for rows in ev.values():
        assert rows
        for r in rows:
            assert set(r) == {"quantity", "precision", "horizon", "drift", "falsifier",
                              "falsifier_drift", "note"}
            assert all(isinstance(v, str) for v in r.values())
    json.dumps(ev)
    for r in ev["MF-2"] + ev["MF-3"]:
        assert float(r["drift"]) < 1e-27 and float(r["falsifier_drift"]) > 1e-3


def test_evidence_quick_through_the_cli(capsys):
    from numerics import cli
    assert cli.main(["evidence", "--group", "MF", "--quick", "--json", "--quiet"]) == 0
    _check_evidence(json.loads(capsys.readouterr().out))


@pytest.mark.slow
def test_evidence_full():
    _check_evidence(mf_evidence(quick=False))
