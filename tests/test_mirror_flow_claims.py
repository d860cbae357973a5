"""Mirror-flow claims MF-1, MF-2, MF-3, MF-4, MF-10 (the ``python -m derivations --json MF``
contract), planted errors, the generic-φ jets and the homogeneous network models.

The hypothesis test at the end checks, with exact ``Fraction`` arithmetic and its own forward
pass (no sympy, regions from the actual signs of the pre-activations), the integrated form
of the rescaling identity behind MF-2: ``f(c θ_in(v), c^{−s} θ_out(v)) = f(θ)`` for ``c > 0``,
whose derivative at ``c = 1`` is ``⟨θ_in, ∇_in f⟩ − s⟨θ_out, ∇_out f⟩ = 0``.
"""

import json
from fractions import Fraction

import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from derivations import cli, registry
from derivations import mirror_flow as mf
from derivations import potentials as pot
from derivations.claims import check_claim, check_step
from derivations.homogeneous import (
    ACTIVATIONS, LEAKY_RELU, LINEAR, RELU, SQUARED_RELU, Activation, Network, NotHomogeneous, homogeneity_degree,
)

MF_IDS = {"MF-1", "MF-2", "MF-3", "MF-4", "MF-10"}


@pytest.fixture(scope="module")
def mf_results():
    return {c.id: check_claim(c) for c in registry.select(["MF"]) if c.id in MF_IDS}


def test_every_mf_claim_is_verified_and_every_falsifier_fails(mf_results):
    assert set(mf_results) == MF_IDS
    for claim_id, result in mf_results.items():
        assert result.error is None, (claim_id, result.error)
        assert result.verdict == "verified", (claim_id, [s.step.label for s in result.steps if s.verdict != "verified"])
        assert result.falsifiers, claim_id
        for falsifier, outcome in result.falsifiers:
            assert outcome.verdict == "refuted", (claim_id, falsifier.setting)
            assert outcome.numeric.counterexample is not None, (claim_id, falsifier.setting)
        assert result.ok


def test_every_step_was_decided_by_both_routes(mf_results):
    for claim_id, result in mf_results.items():
        for step in result.steps:
            assert step.symbolic in ("zero", "holds") and step.numeric.verdict in ("zero", "holds"), (claim_id, step.step.label)
            assert step.numeric.points > 0


def test_catalogue_coverage(mf_results):
    """Every catalogue potential appears in MF-1, MF-2 and MF-4 (and the generic phi in MF-1..3)."""
    names = [q.tex_name for q in pot.catalogue()]
    for claim_id in ("MF-1", "MF-2"):   # one instance per potential of each folded identity
        instances = {s.step.instance for s in mf_results[claim_id].steps}
        assert set(names) <= instances, (claim_id, set(names) - instances)
    labels = " | ".join(s.step.label for s in mf_results["MF-4"].steps)
    for name in names:
        assert f"{name}:" in labels, ("MF-4", name)
    for claim_id in ("MF-1", "MF-2", "MF-3"):
        assert any(s.step.label.startswith("generic $\\varphi$") for s in mf_results[claim_id].steps), claim_id


def test_cli_json_contract(capsys):
    code = cli.main(["--json", "MF-10"])
    out = capsys.readouterr().out
    document = json.loads(out)
    assert code == 0 and [d["id"] for d in document] == ["MF-10"]
    entry = document[0]
    for key in ("id", "title", "verdict", "steps", "falsifiers", "seconds"):
        assert key in entry
    assert entry["verdict"] == "verified" and all(f["falsified"] for f in entry["falsifiers"])


def test_registry_knows_the_mf_group():
    assert {c.id for c in registry.select(["mf"])} >= MF_IDS
    assert "MF" in registry.groups()


# --------------------------------------------------------------- planted errors
def test_planted_wrong_G_is_refuted():
    """G = x phi' + phi (sign slip) fails G' = x phi''."""
    t = sp.Symbol("x", real=True)
    wrong = t * sp.diff(mf.PHI(t), t) + mf.PHI(t)
    result = check_step(mf.Step(mf.jet(sp.diff(wrong, t)), mf.jet(t * sp.diff(mf.PHI(t), t, 2)), "planted"))
    assert result.verdict == "refuted" and result.numeric.counterexample


def test_planted_wrong_degree_in_generic_balance_is_refuted():
    net = mf.NETWORKS["squared_relu"]
    velocity = mf._generic_mirror_velocity(net, "exponential")
    neuron = net.neurons[0]
    balance = sum(mf.generic_G(p) for p in neuron.incoming) - 1 * sum(mf.generic_G(p) for p in neuron.outgoing)
    result = check_step(mf.Step(mf.jet(mf._flow_derivative(balance, velocity)), 0, "planted s = 1",
                                domain=net.label_domain()))
    assert result.verdict == "refuted"


def test_planted_wrong_L_is_refuted():
    assert check_step(mf._growth_step("deep_squared_relu", "exponential", 6)).verdict == "refuted"
    assert check_step(mf._growth_step("deep_squared_relu", "exponential")).verdict == "verified"


def test_planted_wrong_alpha_constant_is_refuted():
    assert check_step(mf._mf10_mirror_step(2 * mf.alpha0**2, "right")).verdict == "verified"
    assert check_step(mf._mf10_mirror_step(4 * mf.alpha0**2, "planted")).verdict == "refuted"


def test_planted_wrong_horizon_is_refuted():
    assert check_step(mf._horizon_step(pot.quadratic_quartic(), claimed=pot.U**3)).verdict == "refuted"


# --------------------------------------------------------------- jets
def test_jet_replaces_values_and_derivatives_by_independent_symbols():
    t = sp.Symbol("t", real=True)
    expr = mf.jet(sp.diff(mf.generic_G(t), t))
    assert not expr.has(mf.PHI) and not expr.has(sp.Derivative)
    second = [s for s in expr.free_symbols if s.name == "phi''(t)"]
    assert second and second[0].is_positive
    assert sp.expand(expr - t * second[0]) == 0


# --------------------------------------------------------------- homogeneous models
@pytest.mark.parametrize("activation, s", [(LINEAR, 1), (RELU, 1), (LEAKY_RELU, 1), (SQUARED_RELU, 2)])
def test_activation_degree_is_derived(activation, s):
    assert activation.degree == s


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("widths", [(2, 2, 1), (2, 2, 2, 1), (3, 2, 2, 2, 1)])
def test_network_degree_is_one_plus_s_plus_s_squared(name, widths):
    net = Network(widths, ACTIVATIONS[name], n_data=1, regions="active")
    assert net.degree == net.predicted_degree == sum(net.activation.degree**k for k in range(len(widths) - 1))


def test_biases_break_homogeneity():
    with pytest.raises(NotHomogeneous, match=r"not c\^L"):
        _ = Network((2, 2, 1), RELU, n_data=1, bias=True).degree


def test_neurons_in_and_out():
    net = Network((3, 2, 2, 1), RELU, n_data=1)
    assert [len(v.incoming) for v in net.neurons] == [3, 3, 2, 2]
    assert [len(v.outgoing) for v in net.neurons] == [2, 2, 1, 1]
    every = [p for v in net.neurons for p in v.incoming] + list(net.weights[-1])
    assert sorted(map(str, every)) == sorted(map(str, net.parameters))


def test_bad_models_are_rejected_with_clear_errors():
    with pytest.raises(ValueError, match="widths"):
        Network((2, 2, 2), RELU)
    with pytest.raises(ValueError, match="n_data"):
        Network((2, 1), RELU, n_data=0)
    with pytest.raises(ValueError, match="unknown activation"):
        Activation("tanh")(sp.Symbol("z"))
    with pytest.raises(ValueError, match="regions"):
        _ = Network((2, 2, 1), RELU, regions="sometimes").region_pattern
    c = sp.Symbol("c", positive=True)
    z = sp.Symbol("z", positive=True)
    with pytest.raises(NotHomogeneous):
        homogeneity_degree(sp.exp(c * z), sp.exp(z), c)


# --------------------------------------------------------------- exact, independent route
small = st.fractions(min_value=-3, max_value=3, max_denominator=5)


def _forward(W, a, xs, act):
    """2-layer net, one activation pattern per (unit, point) from the sign of the pre-activation."""
    outputs, regions = [], []
    for xi in xs:
        z = [sum(W[k][j] * xi[j] for j in range(len(xi))) for k in range(len(W))]
        active = [1 if zk > 0 else 0 for zk in z]
        if act == "relu":
            h = [zk * ak for zk, ak in zip(z, active)]
        elif act == "leaky":
            h = [zk * (ak + Fraction(1, 5) * (1 - ak)) for zk, ak in zip(z, active)]
        else:  # squared ReLU
            h = [zk * zk * ak for zk, ak in zip(z, active)]
        outputs.append(sum(ak_ * hk for ak_, hk in zip(a, h)))
        regions.append(active)
    return outputs, regions


@given(W=st.lists(st.lists(small, min_size=2, max_size=2), min_size=3, max_size=3),
       a=st.lists(small, min_size=3, max_size=3),
       xs=st.lists(st.lists(small, min_size=2, max_size=2), min_size=1, max_size=3),
       act=st.sampled_from(["relu", "leaky", "squared"]))
def test_rescaling_identity_exactly(W, a, xs, act):
    """f(c θ_in(v), c^(-s) θ_out(v)) = f(θ) exactly, for every unit v, data point and c > 0
    (positive c keeps every pre-activation's sign, hence the region)."""
    s = 2 if act == "squared" else 1
    outputs, _ = _forward(W, a, xs, act)
    for k in range(len(W)):
        for c in (Fraction(1, 2), Fraction(2), Fraction(3, 7)):
            W2 = [row[:] for row in W]
            W2[k] = [c * w for w in W[k]]
            a2 = a[:]
            a2[k] = a[k] / c**s
            assert _forward(W2, a2, xs, act)[0] == outputs
