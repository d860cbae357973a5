"""Conservation-law discovery (derivations.conservation): known counts, certificates, the
two routes, planted non-laws, mirror flows, bad input, the CLI and the numeric witness.

Known results reproduced (gradient flow, any loss, near a generic point):
* L-layer diagonal net, d coordinates: (L−1)·d laws u_{1,i}² − u_{l,i}² (docs/deep_lda.md, DL-2;
  Marcotte, Gribonval & Peyré, "Abide by the law and follow the flow", NeurIPS 2023).
* 2-layer linear net W2·W1 with inner width r: r(r+1)/2 laws, the entries of
  W1 W1ᵀ − W2ᵀ W2 (Arora, Cohen & Hazan 2018; Marcotte et al. 2023, complete).
* 2-layer ReLU net on an activation region, with or without biases: one law per hidden
  neuron, ‖u_k‖² + b_k² − ‖v_k‖² (Du, Hu & Lee 2018; Marcotte et al. 2023, complete).
"""
from __future__ import annotations

import json

import flint
import pytest
import sympy as sp
from hypothesis import assume, given, settings, strategies as st

from derivations import potentials as pot
from derivations.claims import check_claim
from derivations.conservation import (Model, ModelError, _ball_rank_lower_bound, diagonal_net, discover,
                                      law_claim, linear_net, relu_net, squared_difference,
                                      symmetric_factorization, velocity_fields)
from derivations.conserved_cli import main as conserved_main
from numerics.core.law_witness import witness

MIRROR_POTENTIALS = [pot.quadratic_quartic(), pot.hyperbolic_entropy(1), pot.cosh_potential(), pot.p_power(3)]


def gradient_vanishes(model, h, fields):
    """⟨∇h, χ⟩ ≡ 0 for every field, decided by sympy alone (a third, independent look)."""
    g = sp.Matrix([sp.diff(h, t) for t in model.params])
    return all(sp.simplify((g.T * f)[0]) == 0 for f in fields)


# ----------------------------------------------------------------------------------------
# known counts, certified

@settings(max_examples=8, deadline=None)
@given(depth=st.integers(2, 4), dim=st.integers(1, 3))
def test_diagonal_net_has_L_minus_1_times_d_laws(depth, dim):
    result = discover(diagonal_net(depth, dim))
    assert result.count == (depth - 1) * dim and result.certified
    assert result.rank_exact


@settings(max_examples=6, deadline=None)
@given(n=st.integers(1, 3), r=st.integers(1, 3), m=st.integers(1, 3))
def test_two_layer_linear_net_has_r_r_plus_1_over_2_laws(n, r, m):
    """The known count needs full-rank factors, r ≤ min(n, m); a scalar output (n = m = 1)
    has one field, which generates a 1-dimensional algebra: D − 1 laws whatever r."""
    assume(r <= min(n, m) or n == m == 1)
    result = discover(linear_net(n, r, m))
    expected = r * (r + 1) // 2 if r <= min(n, m) else 2 * r - 1
    assert result.count == expected and result.certified


@pytest.mark.parametrize("bias", [False, True])
def test_relu_net_has_one_law_per_neuron(bias):
    model = relu_net(2, 3, 2, bias=bias)
    result = discover(model)
    assert result.count == 3 and result.certified
    for h in result.laws:
        assert gradient_vanishes(model, h, velocity_fields(model))


def test_the_laws_are_the_known_ones():
    result = discover(diagonal_net(2, 2))
    assert [sp.sstr(h) for h in result.laws] == ["u_11**2 - u_21**2", "u_12**2 - u_22**2"]
    u1, u2, v1, v2 = squared_difference(2).params
    assert set(discover(squared_difference(2)).laws) == {u1 * v1, u2 * v2}


def test_a_model_without_laws_is_certified_at_zero():
    result = discover(symmetric_factorization(2, 2))
    assert result.count == 0 and result.upper_bound == 0 and result.certified


def test_the_certificate_says_which_bound_is_open():
    """With degree-1 polynomials the quadratic laws of a linear net are out of reach: the
    Lie bound stays at 3 and the result must not claim a certified count."""
    result = discover(linear_net(2, 2, 2), degree=1)
    assert result.count == 0 and result.upper_bound == 3 and not result.certified
    assert "open" in result.status() and "at most 3" in result.status()


def test_mirror_flow_on_a_linear_net_keeps_only_the_per_neuron_balance():
    """A result no anchor has: with a non-quadratic potential the off-diagonal laws of
    W1 W1ᵀ − W2ᵀ W2 disappear; MF-2's balance, one per hidden neuron, is all that is left."""
    for potential in MIRROR_POTENTIALS:
        result = discover(linear_net(2, 2, 2), potential)
        assert result.count == 2 and result.certified, (potential.name, result.status())


@pytest.mark.parametrize("potential", MIRROR_POTENTIALS, ids=lambda p: p.name)
def test_mirror_flow_relu_net_has_one_balance_law_per_neuron(potential):
    model = relu_net(2, 2, 1)
    result = discover(model, potential)
    assert result.count == 2 and result.certified
    assert result.rank_exact == (potential.name in ("quadratic + quartic", "p-power (p=3)"))


def test_mirror_flow_on_squares_needs_the_reciprocal_ansatz_term():
    """u² − v² under mirror flow: the law is Σ ∫ R''(t)/t dt, e.g. log(uv) + 3(u² + v²)/2."""
    model = squared_difference(1)
    u, v = model.params
    result = discover(model, pot.quadratic_quartic())
    assert result.certified and result.count == 1
    assert sp.simplify(result.laws[0] - (sp.log(u) + sp.log(v) + sp.Rational(3, 2) * (u**2 + v**2))) == 0


# ----------------------------------------------------------------------------------------
# the routes themselves

def test_a_planted_non_law_is_refuted_by_the_claim_engine():
    model = diagonal_net(3, 2)
    fields = velocity_fields(model)
    u = model.params
    assert check_claim(law_claim(model, u[0] ** 2 - u[2] ** 2, fields)).ok
    wrong = check_claim(law_claim(model, u[0] ** 2 - 2 * u[2] ** 2, fields))
    assert wrong.verdict == "refuted" and not wrong.ok


def test_ball_rank_never_overstates():
    """[[√2, 1], [2, √2]] has determinant 0: the ball bound must say 1, never 2."""
    with flint.ctx.workprec(200):
        s = flint.arb(2).sqrt()
        assert _ball_rank_lower_bound([[s, flint.arb(1)], [flint.arb(2), s]]) == 1
        assert _ball_rank_lower_bound([[s, flint.arb(1)], [flint.arb(1), s]]) == 2
        assert _ball_rank_lower_bound([[flint.arb(0, 1e-30), flint.arb(0)]]) == 0   # not provably nonzero


def test_flint_precision_is_left_as_found():
    before = flint.ctx.prec
    discover(relu_net(1, 1, 1), pot.hyperbolic_entropy(1))
    assert flint.ctx.prec == before


# ----------------------------------------------------------------------------------------
# bad input

@pytest.mark.parametrize("build, message", [
    (lambda: Model("m", (sp.Symbol("a"), sp.Symbol("b")), (sp.Symbol("a") ** 2,)), "do not appear"),
    (lambda: Model("m", (sp.Symbol("a"),), (sp.Symbol("a") * sp.Symbol("c"),)), "not parameters"),
    (lambda: Model("m", (sp.Symbol("a"),), (sp.Abs(sp.Symbol("a")),)), "not differentiable"),
    (lambda: Model("m", (), (sp.Integer(1),)), "non-empty"),
    (lambda: Model("m", (sp.Symbol("a"),), ()), "no outputs"),
    (lambda: diagonal_net(5, 9), "over the budget"),
    (lambda: linear_net(2, 2), "three sizes"),
])
def test_bad_models_are_refused_with_a_reason(build, message):
    with pytest.raises(ModelError, match=message):
        build()


def test_cli_counts_and_json(capsys):
    assert conserved_main(["linear", "2", "2", "2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["count"] == 3 and data["certified"] and data["D"] == 8
    assert data["lie_stop"] == "the rank met the laws found"


@pytest.mark.parametrize("argv", [["diagonal", "2"], ["diagonal", "2", "0"], ["relu", "1", "1", "1", "--degree", "9"],
                                  ["diagonal", "2", "2", "--potential", "x**3"]])
def test_cli_bad_input_exits_2(argv, capsys):
    assert conserved_main(argv) == 2
    assert "error" in capsys.readouterr().err


def test_cli_custom_model(capsys):
    assert conserved_main(["custom", "--params", "a b c", "--output", "a*b*c"]) == 0
    out = capsys.readouterr().out
    assert "a**2 - b**2" in out and "certified: exactly 2" in out


@pytest.mark.parametrize("argv", [["custom", "--params", "a b", "--output", "__import__('os')"],
                                  ["custom", "--params", "a b", "--output", "a*c"],
                                  ["custom", "2", "--params", "a", "--output", "a"],
                                  ["custom", "--params", "a a", "--output", "a"],
                                  ["diagonal", "2", "2", "--output", "a"]])
def test_cli_custom_model_bad_input(argv, capsys):
    assert conserved_main(argv) == 2
    assert "error" in capsys.readouterr().err


def test_a_closed_algebra_makes_the_lie_bound_exact():
    """A scalar output has one field: its algebra is closed and 1-dimensional, so exactly
    D − 1 laws exist (Frobenius); degree-2 polynomials find only part of them."""
    result = discover(linear_net(1, 2, 2, 1))
    assert result.closed and result.upper_bound == 7 and result.count == 6
    assert "exactly 7 laws exist" in result.status()


def test_cli_open_bound_exits_1(capsys):
    assert conserved_main(["linear", "2", "2", "2", "--degree", "1"]) == 1
    assert "open" in capsys.readouterr().out


# ----------------------------------------------------------------------------------------
# the numeric witness

@pytest.mark.parametrize("model, potential", [(linear_net(2, 2, 2), None), (relu_net(2, 1, 1), pot.hyperbolic_entropy(1)),
                                              (squared_difference(1), pot.cosh_potential())],
                         ids=["linear-gradient", "relu-hyperbolic", "squares-cosh"])
def test_witness_laws_stay_while_the_non_law_drifts(model, potential):
    w = witness(discover(model, potential), potential, T="1/4", dps=30)
    assert all(d <= 1e-27 for d in w.law_drifts), w.law_drifts
    assert w.non_law_drift > 1e-3


def test_witness_refuses_a_mismatched_potential():
    with pytest.raises(ValueError, match="gradient flow"):
        witness(discover(relu_net(1, 1, 1)), pot.cosh_potential())


def test_benchmark_smoke(capsys):
    """benchmarks/conservation.py --quick runs and reports the exact rank route; it shows
    float64 SVD ranks going wrong at ill-scaled points where the exact rank does not."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "conservation.py"
    spec = importlib.util.spec_from_file_location("conservation_benchmark", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--quick", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert all(r["certified"] for r in data["reference"])
    assert data["exact_vs_float64_rank"]["float64_wrong"] > 0


def test_positive_orthant_symbols_let_the_symbolic_route_decide():
    """Pin: with real symbols sympy could not simplify ⟨∇(asinh(1/u) + asinh(1/v)), χ⟩ for the
    hyperbolic entropy, and the law came out 'undecided'; on the positive orthant the claim's
    symbols are positive and the law is verified."""
    result = discover(squared_difference(1), pot.hyperbolic_entropy(1))
    assert result.certified and result.count == 1 and not result.rejected
