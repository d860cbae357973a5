"""MF-8: sparse versus dense features of 2-layer ReLU networks under mirror descent."""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from numerics.features import (digits_data, feature_metrics, mf8_runs, relu_loss_grad,
                               train_relu_net, xor_data)
from numerics.mirror import MirrorProblem
from numerics.mirror_map import MirrorError, catalogue_potential
from numerics.networks import Dataset, TwoLayerNet


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hand_gradient_equals_the_sympy_generated_one(seed):
    """Two routes: numpy by hand (mean loss) against MirrorProblem's sympy gradient (sum)."""
    rng = np.random.default_rng(seed)
    X = rng.integers(-8, 9, size=(5, 3)) / 4
    y = np.where(rng.random(5) < 0.5, 1.0, -1.0)
    width = 4
    W = rng.normal(size=(width, 3))
    a = rng.normal(size=width)
    data = Dataset(tuple(tuple(sp.Rational(int(4 * v), 4) for v in row) for row in X),
                   tuple(int(v) for v in y))
    problem = MirrorProblem(TwoLayerNet(width, 3, "relu"), data, catalogue_potential("quadratic"),
                            loss="logistic")
    theta = np.concatenate([W.ravel(), a])           # layout [w_1, ..., w_width, a]
    expected = np.asarray(problem.grad_loss(theta)) / len(y)
    loss, gW, ga, margins = relu_loss_grad(W, a, X, y)
    assert np.allclose(np.concatenate([gW.ravel(), ga]), expected, rtol=1e-12, atol=1e-14)
    assert np.allclose(margins, problem.margins(theta))
    assert loss == pytest.approx(np.mean(np.log1p(np.exp(-margins))))


def test_metrics_of_known_networks():
    X = np.eye(3)
    one = feature_metrics(np.array([[1.0, 0, 0], [0, 0, 0]]), np.array([2.0, 0.0]), X)
    assert one["effective_neurons"] == pytest.approx(1.0)
    assert one["active_fraction"] == pytest.approx(1 / 6)     # unit 1 on input 1, of 3 × 2
    assert one["large_weight_fraction"] == pytest.approx(2 / 8)
    even = feature_metrics(np.ones((4, 3)), np.ones(4), X)
    assert even["effective_neurons"] == pytest.approx(4.0)
    assert even["active_fraction"] == 1.0 and even["large_weight_fraction"] == 1.0


def test_horizon_orders_the_effective_neurons_and_the_falsifier_is_dense():
    """l1 (hyperbolic entropy, small alpha) sparse < l2 (gradient descent) < l4 dense; an
    l1 potential whose horizon is not reached (alpha = 10) is as dense as gradient descent."""
    X, y = xor_data(120, 12, seed=3)
    runs = mf8_runs(X, y, steps=1500, width=32)
    eff = {label.split(" ")[0]: run.metrics["effective_neurons"] for label, run in runs.items()}
    sparse = runs["hyperbolic entropy alpha=1/100 (l1)"].metrics["effective_neurons"]
    falsifier = runs["hyperbolic entropy alpha=10 (l1, horizon not reached)"].metrics["effective_neurons"]
    assert sparse < 0.5 * eff["quadratic:"] < 0.5 * eff["x^4/4"], eff
    assert falsifier > 0.8 * eff["quadratic:"], (falsifier, eff)
    assert all(run.accuracy == 1.0 for run in runs.values())


def test_digits_are_bundled_and_centred():
    X, y = digits_data(3, 5)
    assert X.shape == (365, 64) and set(np.unique(y)) == {-1.0, 1.0}
    assert np.allclose(X.mean(axis=0), 0)
    with pytest.raises(MirrorError, match="two different digits"):
        digits_data(3, 3)


def test_bad_input_and_newton_only_potentials_are_refused():
    X, y = xor_data(10, 3)
    with pytest.raises(MirrorError, match="eta"):
        train_relu_net(catalogue_potential("quadratic"), X, y, eta=0)
    with pytest.raises(MirrorError, match="closed-form inverse"):
        train_relu_net("x**2/2 + x**6/6", X, y, steps=1)
    with pytest.raises(MirrorError, match="dim"):
        xor_data(10, 1)
