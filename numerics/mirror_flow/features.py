"""Sparse versus dense features of 2-layer ReLU networks under mirror descent (docs/mirror_flow.md, MF-8).

The network ``f(x) = Σ_k a_k relu(w_kᵀx)`` (``m`` units, no biases) is trained on the
mean logistic loss by mirror descent with a separable potential ``φ``:
``z ← z − η ∇ℒ(θ)``, ``θ = ψ(z)``, ``z = φ'(θ)`` for every weight at once.  The claim
is that the horizon of ``φ`` shapes the learned features: an ℓ1 horizon (hyperbolic
entropy with small α) gives few effective neurons, ℓ2 (gradient descent) more, ℓ4 and
ℓ∞ dense ones.  Metrics of a trained network (:func:`feature_metrics`), with
``ν_k = |a_k|·‖w_k‖`` the weight a unit carries:

* effective number of neurons ``(Σ_k ν_k)² / Σ_k ν_k²`` (between 1 and ``m``);
* fraction of units per input that are active and carry weight (``ν_k ≥ 1 %`` of the
  largest), averaged over the inputs;
* fraction of weight entries above 1 % of the largest in magnitude.

The gradient is written by hand with numpy, vectorized over units and data: a network
of 64 units on 20–64 inputs has about 1,300–4,200 weights and thousands of steps are
needed, far beyond what per-parameter sympy kernels do quickly.  It is checked against
the sympy-generated gradient of :class:`numerics.mirror_flow.mirror.MirrorProblem` on small networks
(tests).  Data: XOR-like labels ``sign(x_1 x_2)`` on Gaussian inputs, and two classes of
the 8×8 digits that scikit-learn ships with its package (nothing is downloaded).

>>> X, y = xor_data(40, 5, seed=0)
>>> run = train_relu_net(catalogue_potential("quadratic"), X, y, width=8, steps=50, eta=0.5)
>>> 1 <= run.metrics["effective_neurons"] <= 8
True
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from numerics.mirror_flow.mirror_map import MirrorError, MirrorMap, catalogue_potential, mirror_map

__all__ = ["xor_data", "digits_data", "relu_loss_grad", "feature_metrics", "FeatureRun",
           "train_relu_net", "FeatureSetting", "MF8_POTENTIALS", "MF8_FALSIFIER", "MF8_SETTINGS",
           "mf8_runs", "PairedComparison", "compare_arms"]


def xor_data(n: int, dim: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` standard Gaussian points in ``R^dim`` labelled ``sign(x_1 x_2)`` (not linearly
    separable; only the first two coordinates matter)."""
    if n < 1 or dim < 2:
        raise MirrorError("xor_data needs n >= 1 and dim >= 2")
    X = np.random.default_rng(seed).normal(size=(n, dim))
    return X, np.sign(X[:, 0] * X[:, 1])


def digits_data(positive: int = 3, negative: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Two classes of scikit-learn's bundled 8×8 digits: pixels scaled to ``[0, 1]`` and
    centred, labels ``+1`` for ``positive`` and ``−1`` for ``negative``."""
    from sklearn.datasets import load_digits   # bundled with the package: no download
    digits = load_digits()
    keep = np.isin(digits.target, [positive, negative])
    if positive == negative or keep.sum() == 0:
        raise MirrorError(f"digits_data needs two different digits 0..9, got {positive}, {negative}")
    X = digits.data[keep] / 16.0
    return X - X.mean(axis=0), np.where(digits.target[keep] == positive, 1.0, -1.0)


def relu_loss_grad(W: np.ndarray, a: np.ndarray, X: np.ndarray, y: np.ndarray):
    """Mean logistic loss of ``f(x) = Σ_k a_k relu(w_kᵀx)`` and its gradient.

    Returns ``(loss, grad_W, grad_a, margins)``; ``W`` has one row per unit.  At a kink
    (``w_kᵀx = 0``) the derivative of relu is taken as 0.
    """
    pre = X @ W.T
    hidden = np.maximum(pre, 0.0)
    margins = y * (hidden @ a)
    # d/df of mean log(1 + e^{-y f}) = -y σ(-y f) / n, computed without overflow
    dloss_df = -y * np.exp(-np.logaddexp(0.0, margins)) / len(y)
    grad_a = hidden.T @ dloss_df
    grad_W = ((dloss_df[:, None] * (pre > 0)) * a[None, :]).T @ X
    return float(np.mean(np.logaddexp(0.0, -margins))), grad_W, grad_a, margins


def feature_metrics(W: np.ndarray, a: np.ndarray, X: np.ndarray, *, threshold: float = 0.01) -> dict:
    """The sparsity metrics of the module docstring for a trained network."""
    nu = np.abs(a) * np.linalg.norm(W, axis=1)
    carrying = nu >= threshold * nu.max() if nu.max() > 0 else np.zeros_like(nu, dtype=bool)
    active = (X @ W.T) > 0
    weights = np.abs(np.concatenate([W.ravel(), a]))
    return {
        "effective_neurons": float(nu.sum() ** 2 / (nu ** 2).sum()) if nu.any() else 0.0,
        "active_fraction": float(np.mean(active & carrying[None, :])),
        "large_weight_fraction": float(np.mean(weights >= threshold * weights.max())),
        "units": int(len(a)),
    }


@dataclass
class FeatureRun:
    """A trained network: potential, horizon, final loss, smallest margin, training
    accuracy, :func:`feature_metrics`, and the weights."""
    potential: str
    horizon: str
    steps: int
    eta: float
    loss: float
    min_margin: float
    accuracy: float
    metrics: dict
    W: np.ndarray
    a: np.ndarray
    seconds: float


def train_relu_net(potential, X: np.ndarray, y: np.ndarray, *, width: int = 64, steps: int = 4000,
                   eta: float = 0.5, init_scale: float = 0.1, seed: int = 1) -> FeatureRun:
    """Mirror descent on a 2-layer ReLU network from a seeded Gaussian start of size
    ``init_scale`` (``w_k ~ N(0, init_scale²/dim)``, ``a_k ~ N(0, init_scale²/width)``).

    ``potential``: anything :func:`numerics.mirror_flow.mirror_map.mirror_map` accepts; its inverse
    mirror map must have a closed form (it is applied to every weight at every step).
    """
    mirror: MirrorMap = mirror_map(potential)
    if steps < 0 or not eta > 0 or width < 1:
        raise MirrorError("train_relu_net needs steps >= 0, eta > 0 and width >= 1")
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(width, X.shape[1])) * init_scale / np.sqrt(X.shape[1])
    a = rng.normal(size=width) * init_scale / np.sqrt(width)
    zW, za = mirror.odd_array("dphi", W), mirror.odd_array("dphi", a)
    for _ in range(steps):
        _, gW, ga, _ = relu_loss_grad(W, a, X, y)
        zW -= eta * gW
        za -= eta * ga
        W, a = mirror.odd_array("inv", zW), mirror.odd_array("inv", za)
    loss, _, _, margins = relu_loss_grad(W, a, X, y)
    if not np.isfinite(loss):
        raise MirrorError(f"mirror descent with {mirror.name} diverged (eta = {eta}): lower eta")
    horizon = mirror.horizon.label if mirror.horizon is not None else "none"
    return FeatureRun(mirror.name, horizon, steps, eta, loss, float(margins.min()),
                      float(np.mean(margins > 0)), feature_metrics(W, a, X), W, a,
                      time.perf_counter() - started)


@dataclass(frozen=True)
class FeatureSetting:
    """One arm of the MF-8 comparison: a short ``key`` (``l1``, ``l2``, ``linf``, ``l4``,
    ``falsifier``), a readable ``label``, a catalogue potential with its parameters, and the
    factor applied to the step ``eta`` (1 unless said otherwise)."""
    key: str
    label: str
    name: str
    params: dict
    step_scale: float = 1.0

    def potential(self):
        return catalogue_potential(self.name, **self.params)


#: the potentials of the MF-8 comparison
MF8_POTENTIALS = (
    FeatureSetting("l1", "hyperbolic entropy alpha=1/100 (l1)", "hyperbolic entropy", {"alpha": "1/100"}),
    FeatureSetting("l2", "quadratic: gradient descent (l2)", "quadratic", {}),
    FeatureSetting("linf", "cosh (linf)", "cosh", {}),
    FeatureSetting("l4", "x^4/4 (l4)", "p-power", {"p": 4}),
)

#: the falsifier: an l1 potential whose horizon the weights never reach.  For |θ| << α
#: hyperbolic entropy is θ²/(2α) + O(θ⁴/α³), so mirror descent with the step η/α is gradient
#: descent with the step η up to O(θ²/α²): the ℓ1 horizon is there, but never felt.
#: (With the step η unscaled it would be gradient descent with the step ηα = 5, an unstable
#: run that does not even fit the data: that compares step sizes, not horizons.)
_FALSIFIER_ALPHA = 10
MF8_FALSIFIER = FeatureSetting("falsifier", f"hyperbolic entropy alpha={_FALSIFIER_ALPHA}, step "
                               f"eta/{_FALSIFIER_ALPHA} (l1, horizon not reached)", "hyperbolic entropy",
                               {"alpha": _FALSIFIER_ALPHA}, step_scale=1 / _FALSIFIER_ALPHA)

MF8_SETTINGS = MF8_POTENTIALS + (MF8_FALSIFIER,)


def mf8_runs(X, y, *, steps: int, width: int = 64, eta: float = 0.5,
             seed: int = 1) -> dict[str, FeatureRun]:
    """Train the network once per MF-8 setting from one start; keyed by ``FeatureSetting.key``."""
    return {s.key: train_relu_net(s.potential(), X, y, width=width, steps=steps,
                                  eta=eta * s.step_scale, seed=seed)
            for s in MF8_SETTINGS}


@dataclass(frozen=True)
class PairedComparison:
    """Effective neurons of arm ``a`` against arm ``b`` over several starts (paired by seed):
    the per-seed ratios ``a/b``, their mean, and the mean difference ``a − b`` in units of its
    standard error (a paired t statistic; ``inf`` when every difference is equal and non-zero)."""
    a: str
    b: str
    ratios: tuple[float, ...]
    mean_ratio: float
    t_statistic: float


def compare_arms(runs_by_seed: list[dict[str, FeatureRun]], a: str, b: str) -> PairedComparison:
    """Paired comparison of the effective neurons of two arms of :func:`mf8_runs` results.

    >>> from types import SimpleNamespace as S
    >>> runs = [{"x": S(metrics={"effective_neurons": v}), "y": S(metrics={"effective_neurons": 2 * v})}
    ...         for v in (1.0, 2.0, 3.0)]
    >>> compare_arms(runs, "x", "y").mean_ratio
    0.5
    """
    if len(runs_by_seed) < 2:
        raise MirrorError("a paired comparison needs runs from at least two seeds")
    va = np.array([runs[a].metrics["effective_neurons"] for runs in runs_by_seed])
    vb = np.array([runs[b].metrics["effective_neurons"] for runs in runs_by_seed])
    diff = va - vb
    spread = diff.std(ddof=1) / np.sqrt(len(diff))
    t = float(diff.mean() / spread) if spread > 0 else float(np.sign(diff.mean()) * np.inf)
    ratios = tuple(float(r) for r in va / vb)
    return PairedComparison(a, b, ratios, float(np.mean(ratios)), t)
