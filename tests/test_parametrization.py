"""A researcher's own parametrization: checked, then simulated with the drift of named quantities."""
from __future__ import annotations

import pytest

from numerics.core.parametrization import Parametrization, ParametrizationError, gradient_flow

DPS = 40
TOL = 10.0 ** -(DPS - 3)     # K = 3 digits, as in the Deep LDA property tests


def test_u_squared_minus_v_squared_conserves_the_products_not_the_norms():
    """w = u ⊙ u − v ⊙ v (docs/mirror_flow.md, MF-10): u_i v_i is conserved by gradient flow for any loss."""
    p = Parametrization.from_text("u1 u2 v1 v2", ["u1**2 - v1**2", "u2**2 - v2**2"])
    run = gradient_flow(p, "(w1 + w2 - 1)**2/2 + (w1 - w2)**2", {"u1": "1/2", "u2": "1/3", "v1": "1/5", "v2": "1/7"},
                        2, dps=DPS, quantities={"u1 v1": "u1*v1", "u2 v2": "u2*v2", "norm": "u1**2 + v1**2"})
    assert run.drift["u1 v1"] < TOL and run.drift["u2 v2"] < TOL
    assert run.drift["norm"] > 1e-3                                   # not a law: it drifts by O(1)
    assert run.dps == DPS and run.steps > 0 and len(run.t) == 5


def test_a_three_factor_product_conserves_the_pairwise_balances():
    p = Parametrization.from_text("a b c", ["a*b*c"])
    run = gradient_flow(p, "exp(-w1)", {"a": "1/2", "b": "3/4", "c": "1"}, 1, dps=DPS,
                        quantities={"a2-b2": "a**2 - b**2", "b2-c2": "b**2 - c**2", "abc": "a*b*c"})
    assert run.drift["a2-b2"] < TOL and run.drift["b2-c2"] < TOL and run.drift["abc"] > 1e-3


@pytest.mark.parametrize("parameters, outputs, message", [
    ("u v", ["Abs(u)*v"], "not differentiable"),
    ("u v", ["sign(u)*v**2"], "not differentiable"),
    ("u v", ["u*w"], "unknown name 'w'"),
    ("u u", ["u"], "distinct names"),
    ("u __v", ["u"], "distinct names"),
    ("u v", ["__import__('os').system('true')"], "not allowed"),
    ("", ["1"], "needs parameters"),
])
def test_bad_parametrizations_are_refused(parameters, outputs, message):
    with pytest.raises(ParametrizationError, match=message):
        Parametrization.from_text(parameters, outputs)


@pytest.mark.parametrize("kwargs, message", [
    (dict(loss="w2"), "unknown name 'w2'"),
    (dict(theta0={"u": "1"}), "exactly the parameters"),
    (dict(theta0={"u": "1", "v": "oo"}), "theta0\\[v\\]"),
    (dict(T="1e100"), "T must be in"),
    (dict(T="-1"), "T must be in"),
    (dict(dps=5000), "dps must be in"),
    (dict(quantities={"q": "open('f')"}), "unknown name 'open'"),
])
def test_bad_flow_input_is_refused(kwargs, message):
    p = Parametrization.from_text("u v", ["u*v"])
    args = dict(loss="(w1 - 1)**2", theta0={"u": "1/2", "v": "1"}, T=1, dps=20)
    args.update(kwargs)
    with pytest.raises(ParametrizationError, match=message):
        gradient_flow(p, args.pop("loss"), args.pop("theta0"), args.pop("T"), **args)
