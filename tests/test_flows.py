"""Unit tests of numerics.deep_lda.data, numerics.deep_lda.flows, numerics.deep_lda.simulate (API), the CLI and the
evidence table: the flows are built from the sympy models and checked two ways."""
from __future__ import annotations

import json
import random
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

from derivations import deep_lda, objectives as obj
from derivations.diagonal import layers, product, reduced_field
from numerics import cli
from numerics.core.taylor import TaylorSystem, integrate
from numerics.deep_lda.data import DataError, TwoClassData, gaussian_two_class, orthant_trap_data
from numerics.deep_lda.evidence import EVIDENCE_CLAIMS, ROW_KEYS, dl_evidence
from numerics.deep_lda.flows import FlowError, build_flow, mirror_map, monitor_groups
from numerics.deep_lda.simulate import gd_run, layer_init, short, simulate, simulate_float64


def rational_point(symbols, rng, lo=1, hi=9):
    return {s: sp.Rational(rng.choice([-1, 1]) * rng.randint(lo, hi), rng.randint(1, 7)) for s in symbols}


# ------------------------------------------------------------------------------- data

@pytest.mark.parametrize("dim,seed", [(1, 0), (2, 5), (4, 3)])
def test_scatter_matrices_match_their_definitions(dim, seed):
    data = gaussian_two_class(dim, seed=seed)
    X1 = np.array([[float(v) for v in p] for p in data.class1])
    X2 = np.array([[float(v) for v in p] for p in data.class2])
    mu1, mu2 = X1.mean(0), X2.mean(0)
    mu = np.vstack([X1, X2]).mean(0)
    Sw = (X1 - mu1).T @ (X1 - mu1) + (X2 - mu2).T @ (X2 - mu2)
    Sb = len(X1) * np.outer(mu1 - mu, mu1 - mu) + len(X2) * np.outer(mu2 - mu, mu2 - mu)
    assert np.allclose(np.array(data.within_scatter(), dtype=float), Sw, atol=1e-12)
    assert np.allclose(np.array(data.between_scatter(), dtype=float), Sb, atol=1e-12)
    assert data.is_positive_definite()


def test_fisher_direction_is_the_exact_optimum():
    data = gaussian_two_class(3, seed=1)
    w = obj.effective_vector(3)
    J = obj.fisher_ratio(w).xreplace({sp.Symbol(k, real=True): v for k, v in data.symbol_values().items()})
    w_star = data.fisher_direction()
    at = dict(zip(w, w_star))
    assert all(sp.diff(J, wi).xreplace(at) == 0 for wi in w)          # exactly stationary
    assert J.xreplace(at) == data.optimum() == data.fisher_ratio(w_star)
    rng = random.Random(0)
    for _ in range(20):
        assert data.fisher_ratio([sp.Rational(rng.randint(-9, 9), 4) + sp.Rational(1, 97)
                                  for _ in range(3)]) <= data.optimum()


def test_data_are_exact_and_reproducible():
    a, b = gaussian_two_class(3, seed=7), gaussian_two_class(3, seed=7)
    assert a == b and a.class1[0][0].q in (1, 2, 4, 8)
    floats = gaussian_two_class(2, seed=7, grid=None)
    assert floats.class1[0][0].q & (floats.class1[0][0].q - 1) == 0  # binary rational
    assert gaussian_two_class(2, seed=7).with_ridge("1/1000").ridge == sp.Rational(1, 1000)


@pytest.mark.parametrize("kwargs,match", [
    (dict(dim=0), "dim"), (dict(dim=2, per_class=1), "per_class"),
    (dict(dim=5, per_class=3), "singular"), (dict(dim=2, grid=0), "grid"),
    (dict(dim=2, seed=-1), "seed"),
])
def test_data_errors(kwargs, match):
    with pytest.raises(DataError, match=match):
        gaussian_two_class(**kwargs)


def test_data_class_validation():
    with pytest.raises(DataError):
        TwoClassData(((1, 2),), ((1,),))
    with pytest.raises(DataError):
        TwoClassData(((1,),), ((2,),), ridge=-1)
    with pytest.raises(DataError):
        TwoClassData(((float("nan"),),), ((2,),))


@pytest.mark.parametrize("dim", [2, 3, 5])
def test_orthant_trap_data_has_a_mixed_sign_optimum(dim):
    signs = orthant_trap_data(dim).optimum_signs()
    assert 1 in signs and -1 in signs
    with pytest.raises(DataError):
        orthant_trap_data(1)


# ------------------------------------------------------------------------------ flows

@pytest.mark.parametrize("loss", sorted(obj.LOSSES))
@pytest.mark.parametrize("L,d", [(1, 2), (2, 2), (3, 2)])
def test_layer_flow_is_minus_the_gradient_of_the_composed_loss(loss, L, d):
    """Route 1: layer_velocities with g = ∇f(w(u)).  Route 2: differentiate f(u_1⊙…⊙u_L)
    with respect to every layer entry.  Equal exactly at random rational points."""
    flow = build_flow("layer", L, d, loss)
    data = gaussian_two_class(d, seed=2)
    values = dict(zip(flow.params, flow.param_values(data)))
    U = layers(L, d)
    w = obj.effective_vector(d)
    composed = obj.loss(loss, w).xreplace(dict(zip(w, product(U))))
    rng = random.Random(L * 10 + d)
    for _ in range(2):
        pt = {**rational_point(flow.state, rng), **values}
        for x, v in zip(flow.state, flow.rhs):
            a = v.xreplace(pt)
            b = -sp.diff(composed, x).xreplace(pt)
            if loss == "exponential":  # exp of rationals: compare at 50 digits
                assert abs(sp.N(a - b, 50)) < 1e-45
            else:
                assert a == b


@pytest.mark.parametrize("L,d", [(1, 3), (2, 3), (4, 2), (6, 3)])
def test_layer_program_names_the_products_and_integrates_as_the_flat_field(L, d):
    """The Taylor program of the layer flow is built from its named parts (prefix and
    suffix products, ``w`` in the loss's own symbols): on the square loss, whose gradient
    is linear in ``w``, it has exactly ``4L - 5`` products per coordinate (``L = 1``: none),
    and it integrates to the solution of the program of the flat field."""
    flow = build_flow("layer", L, d, "square")
    products = sum(1 for n in flow.system()._nodes if n.kind in ("mul", "sqr"))
    assert products == (max(0, 4 * L - 5) * d if L > 1 else 0)
    flat = TaylorSystem(flow.state, flow.rhs, flow.params)
    data = gaussian_two_class(d, seed=3)
    u0 = layer_init(L, d, seed=1)
    y0, params = flow.initial_state(u0), flow.param_values(data)
    a = integrate(flow.system(), y0, sp.Rational(1, 4), dps=40, params=params)
    b = integrate(flat, y0, sp.Rational(1, 4), dps=40, params=params)
    assert max(abs(x - y) for x, y in zip(a.y[-1], b.y[-1])) < mpmath.mpf(10) ** -36


def test_parameters_are_the_substituted_data():
    flow = build_flow("layer", 2, 3, "ridge_fisher")
    data = gaussian_two_class(3, seed=4, ridge="1/3")
    kern = flow.system().kernel("mpmath")
    y = [sp.Rational(k, 7) for k in range(1, 7)]
    sub = flow.substituted(data)
    assert not any(e.free_symbols - set(flow.state) for e in sub)
    with mpmath.workdps(40):
        ours = kern(y, flow.param_values(data), dps=40)
        exact = [sp.N(e.xreplace(dict(zip(flow.state, y))), 40) for e in sub]
        assert max(abs(a - mpmath.mpf(b._mpf_)) for a, b in zip(ours, exact)) < mpmath.mpf(10) ** -35


@pytest.mark.parametrize("L", [1, 2, 3, 5])
def test_reduced_flow_is_the_reduced_field_on_the_orthant(L):
    signs = (1, -1, 1)
    flow = build_flow("reduced", L, 3, "fisher", signs=signs)
    assert not any(e.has(sp.Abs) for e in flow.rhs)
    w = obj.effective_vector(3)
    field = reduced_field(w, obj.gradient(obj.loss("fisher", w), w), L)
    values = dict(zip(flow.params, flow.param_values(gaussian_two_class(3, seed=1))))
    rng = random.Random(L)
    for _ in range(3):
        pt = {wi: s * sp.Rational(rng.randint(1, 20), rng.randint(1, 9)) for wi, s in zip(w, signs)}
        pt.update(values)
        for a, b in zip(flow.rhs, field):
            assert abs(sp.N(a.xreplace(pt) - b.xreplace(pt), 50)) < 1e-45


@pytest.mark.parametrize("L", range(1, 8))
def test_mirror_map_is_derived_from_the_reduced_field(L):
    mm = mirror_map(L)
    t = mm.t
    assert sp.simplify(mm.hessian - 1 / (L * t ** (2 - sp.Rational(2, L)))) == 0
    # the same map as the potential of derivations.deep_lda (DL-6), up to a constant
    assert sp.simplify(sp.diff(deep_lda._mirror_potential(L).xreplace({deep_lda.t: t}), t)
                       - mm.derivative) == 0
    for tv in (sp.Rational(1, 64), sp.Rational(3, 7), sp.Integer(5)):
        back = mm.inverse_at(mm.grad(tv))
        assert abs(sp.N(back - tv, 50)) < 1e-45


@pytest.mark.parametrize("L", [1, 2, 3, 4])
def test_mirror_initial_state_round_trip(L):
    u0 = layer_init(L, 3, seed=L)
    signs = tuple(int(sp.sign(sp.Mul(*[r[i] for r in u0]))) for i in range(3))
    flow = build_flow("mirror", L, 3, "fisher", signs=signs)
    z0 = flow.initial_state(u0)
    w_back = flow.w_values(z0, dps=50)
    w0 = [sp.Mul(*[r[i] for r in u0]) for i in range(3)]
    with mpmath.workdps(50):
        assert max(abs(a - mpmath.mpf(b.p) / b.q) for a, b in zip(w_back, w0)) < mpmath.mpf(10) ** -45


def test_monitors_at_a_balanced_point():
    flow = build_flow("layer", 3, 2, "fisher")
    data = gaussian_two_class(2, seed=1)
    u0 = layer_init(3, 2, seed=3, alpha="3/4")
    mons = flow.evaluate_monitors(flow.initial_state(u0), flow.param_values(data), dps=30)
    for l in (1, 2, 3):
        assert abs(mons["Q"] - mons[f"norm2_u{l}"]) < mpmath.mpf(10) ** -28
    assert mons["gap_u1_u2_1"] == 0 and abs(mons["J"] + mons["loss"]) < mpmath.mpf(10) ** -28
    groups = monitor_groups(flow.monitors)
    assert groups["DL-5"] == ["Q"] and len(groups["DL-3"]) == 3 and len(groups["DL-2"]) == 4
    floats = flow.evaluate_monitors([float(v) for v in flow.initial_state(u0)],
                                    [float(p) for p in flow.param_values(data)])
    assert abs(floats["Q"] - float(mons["Q"])) < 1e-14


def test_exact_gradient_step_matches_sympy():
    flow = build_flow("gd", 2, 2, "fisher")
    data = gaussian_two_class(2, seed=1)
    p = flow.param_values(data)
    y = flow.initial_state(layer_init(2, 2, seed=1))
    new = flow.exact_step_function()(y, p, Fraction(1, 10))
    assert all(isinstance(v, Fraction) for v in new)
    sub = {**dict(zip(flow.state, y)), **dict(zip(flow.params, p))}
    ref = [yi + sp.Rational(1, 10) * v.xreplace(sub) for yi, v in zip(y, flow.rhs)]
    assert [sp.Rational(v.numerator, v.denominator) for v in new] == ref


@pytest.mark.parametrize("call,match", [
    (lambda: build_flow("nope", 2, 2), "unknown flow"),
    (lambda: build_flow("layer", 0, 2), "depth"),
    (lambda: build_flow("layer", 10, 2), "depth"),
    (lambda: build_flow("layer", 2, 13), "dim"),
    (lambda: build_flow("layer", 2, 2, "hinge"), "unknown loss"),
    (lambda: build_flow("reduced", 2, 2), "signs"),
    (lambda: build_flow("mirror", 2, 2, signs=(1, 0)), "signs"),
    (lambda: build_flow("layer", 2, 2, rates=(1,)), "rates"),
    (lambda: build_flow("reduced", 2, 2, signs=(1, 1)).initial_state([[1, 1], [-1, 1]]), "orthant"),
    (lambda: build_flow("layer", 2, 2).initial_state([[1, 0], [1, 1]]), "zero"),
    (lambda: build_flow("layer", 2, 2).initial_state([[1, 1]]), "layers"),
    (lambda: build_flow("layer", 2, 2).param_values(gaussian_two_class(3)), "dimension"),
    (lambda: build_flow("layer", 2, 2).param_values(None), "needs data"),
    (lambda: build_flow("gd", 2, 2).system(), "gd_steps|map"),
    (lambda: layer_init(2, 2, init="warm"), "init"),
    (lambda: layer_init(2, 2, alpha="-1"), "alpha"),
    (lambda: layer_init(2, 2, signs=[1]), "signs"),
    (lambda: simulate("layer", layer_init(2, 2), 0, data=gaussian_two_class(2)), "T must be positive"),
    (lambda: simulate("layer", layer_init(2, 2), 1, data=gaussian_two_class(2), dps=5), "dps"),
    (lambda: simulate("gd", layer_init(2, 2), 1, data=gaussian_two_class(2)), "gd_run"),
    (lambda: gd_run(layer_init(2, 2), "1/10", 0, data=gaussian_two_class(2)), "steps"),
    (lambda: gd_run(layer_init(2, 2), "-1", 1, data=gaussian_two_class(2)), "eta"),
])
def test_bad_input_gets_a_clear_error(call, match):
    with pytest.raises(FlowError, match=match):
        call()


def test_exact_kernel_refuses_fractional_powers():
    flow = build_flow("reduced", 3, 2, "fisher", signs=(1, 1))
    with pytest.raises(FlowError, match="integer powers"):
        flow.exact_function(flow.rhs, "rhs")([1, 1], flow.param_values(gaussian_two_class(2)))


# --------------------------------------------------------------------------- simulate

def test_layer_init_kinds():
    bal = layer_init(3, 4, seed=1, alpha="3/4")
    assert all(abs(v) == sp.Rational(3, 4) for r in bal for v in r)
    unb = layer_init(3, 4, seed=1, init="unbalanced")
    assert all(unb[0][i] ** 2 != unb[l][i] ** 2 for l in (1, 2) for i in range(4))
    assert all(v > 0 for r in layer_init(2, 3, signs="positive") for v in r)
    assert [v > 0 for v in layer_init(2, 3, signs=[1, -1, 1])[0]] == [True, False, True]


@given(st.floats(min_value=1e-300, max_value=1e300) | st.just(0.0))
@settings(max_examples=50)
def test_short_numbers(x):
    s = short(x)
    assert s == "0" if x == 0 else abs(float(s) - x) <= 0.06 * x
    assert short(mpmath.mpf(x)) == s or abs(float(short(mpmath.mpf(x))) - x) <= 0.06 * x


def test_simulation_result_json():
    data = gaussian_two_class(2, seed=1)
    u0 = layer_init(2, 2, seed=1)
    res = simulate("layer", u0, "1/4", data=data, dps=30, outputs=3)
    d = json.loads(res.to_json(trajectory=True))
    for key in ("precision", "integrator", "final_state", "final_w", "drift", "drift_by_claim",
                "horizon", "flow", "data", "init", "times", "w", "monitored"):
        assert key in d
    assert d["precision"] == "30 digits" and d["integrator"]["steps"] >= 1
    assert float(d["drift"]["Q"]) < 1e-20 and set(d["drift_by_claim"]) == {"DL-2", "DL-3", "DL-5"}
    assert len(d["final_state"]) == 4 and len(d["times"]) == 3
    lo = json.loads(simulate_float64("reduced", u0, "1/4", data=data, outputs=3).to_json())
    assert lo["precision"] == "float64" and lo["integrator"]["nfev"] > 0
    gd = json.loads(gd_run(u0, "1/10", 1, data=data).to_json())
    assert gd["max_dl8_residual"] == "0" and gd["precision"] == "exact (rational)"


# -------------------------------------------------------------------------------- CLI

def run_cli(capsys, *argv):
    with pytest.raises(SystemExit) as exc:
        cli.main(list(argv))
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def test_cli_help(capsys):
    code, out, _ = run_cli(capsys, "simulate", "--help")
    assert code == 0
    for word in ("layer", "reduced", "mirror", "gd", "drift", "--dps", "--json", "DL-5"):
        assert word in out
    code, out, _ = run_cli(capsys, "--help")
    assert code == 0 and "evidence" in out
    code, out, _ = run_cli(capsys, "evidence", "--help")
    assert code == 0 and "--group" in out and "MF-5" in out
    assert cli.main([]) == 2


@pytest.mark.parametrize("argv,message", [
    (["simulate", "--depth", "0"], "--depth must be in 1..9"),
    (["simulate", "--alpha", "x"], "--alpha"),
    (["simulate", "--T", "-1"], "--T must be > 0"),
    (["simulate", "--flow", "euler"], "invalid choice"),
    (["simulate", "--loss", "hinge"], "invalid choice"),
    (["simulate", "--dps", "3"], "--dps must be in"),
])
def test_cli_bad_arguments(capsys, argv, message):
    code, _, err = run_cli(capsys, *argv)
    assert code == 2 and message in err and "Traceback" not in err


def test_cli_reports_domain_errors(capsys):
    assert cli.main(["simulate", "--dim", "6", "--points", "3", "-q"]) == 2
    err = capsys.readouterr().err
    assert "error" in err and "singular" in err


def test_cli_simulate_json(capsys):
    assert cli.main(["simulate", "-L", "2", "-d", "2", "--T", "1/4", "--dps", "30", "--json", "-q"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["dps"] == 30 and float(d["drift_by_claim"]["DL-5"]) < 1e-20
    assert cli.main(["simulate", "--flow", "mirror", "-L", "3", "-d", "2", "--T", "1/4",
                     "--float64", "--signs", "optimum"]) == 0
    assert "float64" in capsys.readouterr().out
    assert cli.main(["simulate", "--flow", "gd", "-L", "2", "-d", "2", "--steps", "1",
                     "--exact", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["max_dl8_residual"] == "0"


# --------------------------------------------------------------------------- evidence

def test_evidence_rows(capsys):
    ev = dl_evidence(quick=True)
    assert tuple(ev) == EVIDENCE_CLAIMS
    json.dumps(ev)
    for claim, rows in ev.items():
        assert rows, claim
        for r in rows:
            assert tuple(r) == ROW_KEYS
    conserved = {"DL-2", "DL-3", "DL-4", "DL-5", "DL-6", "DL-8"}
    for claim in conserved:
        for r in ev[claim]:
            if r["precision"] == "30 digits" or r["precision"].startswith("exact"):
                assert float(r["drift"]) < 1e-20, (claim, r)
            if r["falsifier_drift"] is not None:
                assert abs(float(r["falsifier_drift"])) > 1e-6, (claim, r)
    for r in ev["DL-7"]:
        assert float(r["drift"]) > 0 > float(r["falsifier_drift"])
    trap = ev["DL-10"][0]
    assert float(trap["drift"]) < 1e-9 < float(trap["falsifier_drift"])
