"""Data and homogeneous models for the mirror-flow simulations: exact rational datasets
and the linear model and fully connected networks as sympy expressions.

Models (:class:`LinearModel`, :class:`Network`, :class:`TwoLayerNet`)
    ``f(θ; x) = ⟨θ, x⟩`` (``L = 1``) and fully connected networks without biases, e.g.
    ``Σ_k a_k σ(w_kᵀ x)``, with ``σ`` linear or ReLU (``s = 1``) or squared ReLU
    ``σ(u) = u·max(u, 0) = u(u + |u|)/2`` (``s = 2``); the degree ``L`` is derived.
    Squared ReLU is C¹ but not C² (``σ''`` jumps at 0); the high-precision integrator
    handles ``|u|`` on a fixed sign and raises ``TaylorError`` if a pre-activation changes
    sign inside a step, so a conservation check is never silently run across a kink.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import sympy as sp

from numerics.mirror_flow.mirror_map import MirrorError

__all__ = ["Dataset", "separable_data", "orthant_data", "LinearModel", "Network", "TwoLayerNet"]


# ----------------------------------------------------------------------------------------
# data

@dataclass(frozen=True)
class Dataset:
    """Points ``X`` (rows, exact sympy Rationals) and labels ``y`` (±1)."""
    X: tuple
    y: tuple

    def __post_init__(self):
        if len(self.X) != len(self.y) or not self.X:
            raise MirrorError(f"{len(self.X)} points but {len(self.y)} labels")
        d = len(self.X[0])
        if any(len(r) != d for r in self.X):
            raise MirrorError("all points must have the same dimension")
        if any(v not in (1, -1) for v in self.y):
            raise MirrorError("labels must be +1 or -1")

    @classmethod
    def from_arrays(cls, X, y) -> "Dataset":
        rows = tuple(tuple(sp.nsimplify(v) if not isinstance(v, float) else
                           sp.Rational(*float(v).as_integer_ratio()) for v in r) for r in X)
        return cls(rows, tuple(int(v) for v in y))

    @property
    def n(self) -> int:
        return len(self.X)

    @property
    def dim(self) -> int:
        return len(self.X[0])

    def float_X(self) -> np.ndarray:
        return np.array([[float(v) for v in r] for r in self.X])

    def signed(self) -> np.ndarray:
        """Rows ``a_i = y_i x_i`` (float64)."""
        return self.float_X() * np.array(self.y, dtype=float)[:, None]


def separable_data(n: int, dim: int, *, seed: int = 0, denominator: int = 4,
                   min_margin: float = 0.25) -> Dataset:
    """Seeded, linearly separable (through the origin) data with small rational entries.

    Points have entries ``k/denominator`` with ``|k| ≤ 3·denominator``; labels come from a
    random unit direction ``u``; points with ``|⟨u, x⟩| < min_margin`` are redrawn.
    """
    if n < 1 or dim < 1:
        raise MirrorError("n and dim must be positive")
    rng = np.random.default_rng(seed)
    u = rng.normal(size=dim)
    u /= np.linalg.norm(u)
    rows, ys = [], []
    while len(rows) < n:
        k = rng.integers(-3 * denominator, 3 * denominator + 1, size=dim)
        xv = k / denominator
        m = float(u @ xv)
        if abs(m) < min_margin:
            continue
        rows.append(tuple(sp.Rational(int(v), denominator) for v in k))
        ys.append(1 if m > 0 else -1)
    return Dataset(tuple(rows), tuple(ys))


def orthant_data(n: int, dim: int, *, seed: int = 0, denominator: int = 4) -> Dataset:
    """Seeded data whose signed points ``a_i = y_i x_i`` have positive entries in
    ``[1/denominator, 3]`` (labels random ±1).

    Along gradient or mirror flow of a 2-layer net started with ``w_k > 0, a_k > 0`` or
    ``w_k < 0, a_k < 0`` (entrywise) no parameter and no pre-activation changes sign
    (the descent direction ``Σ_i (−ℓ'(q_i)) a_i`` stays in the positive orthant), so the
    Taylor integrator's fixed-sign ``|·|`` (squared ReLU, ``|x|^p``) is never crossed.
    """
    if n < 1 or dim < 1:
        raise MirrorError("n and dim must be positive")
    rng = np.random.default_rng(seed)
    rows, ys = [], []
    for _ in range(n):
        k = rng.integers(1, 3 * denominator + 1, size=dim)
        yi = 1 if rng.random() < 0.5 else -1
        rows.append(tuple(sp.Rational(int(yi * v), denominator) for v in k))
        ys.append(yi)
    return Dataset(tuple(rows), tuple(ys))


# ----------------------------------------------------------------------------------------
# models

class LinearModel:
    """``f(θ; x) = ⟨θ, x⟩``: ``L = 1``, no hidden units."""
    L = 1
    s = None
    units: tuple = ()

    def __init__(self, dim: int):
        if dim < 1:
            raise MirrorError("dim must be positive")
        self.dim = dim
        self.n_params = dim

    def param_names(self) -> list[str]:
        return [f"theta{j}" for j in range(self.dim)]

    def output(self, th: Sequence[sp.Expr], x: Sequence[sp.Expr]) -> sp.Expr:
        return sp.Add(*[t * v for t, v in zip(th, x)])

    def __repr__(self):
        return f"LinearModel(dim={self.dim})"


class Network:
    """``f(θ; x) = W_D σ(W_{D−1} … σ(W_1 x))``, scalar output, no biases; ``σ`` linear or
    ReLU (degree ``s = 1``) or squared ReLU (``s = 2``), the same in every hidden layer.

    ``widths = (dim, h_1, …, h_{D−1}, 1)``.  Parameter layout: layer by layer, unit by
    unit, each unit's incoming weights (the rows of ``W_1``, then of ``W_2``, …).
    ``units`` lists, for every hidden unit, (indices of its incoming weights, indices of
    its outgoing weights): scaling the first by ``c`` and the second by ``c^{-s}`` leaves
    ``f`` unchanged, which is what the balance law MF-2 rests on.  The network degree
    ``L`` (``f(cθ) = c^L f(θ)``) is derived by sympy on the all-active region, not
    declared.  Squared ReLU ``σ(u) = u·max(u, 0) = u(u + |u|)/2`` is C¹, not C²; ReLU
    ``σ(u) = (u + |u|)/2`` is not differentiable at 0, so its flow is only run as mirror
    descent (the Taylor integrator refuses ``sign``).

    >>> net = Network((2, 3, 2, 1), "squared_relu")
    >>> net.L, net.s, net.n_params, len(net.units)
    (7, 2, 14, 5)
    """

    #: activation -> homogeneity degree s of σ
    DEGREES = {"linear": 1, "relu": 1, "squared_relu": 2}

    def __init__(self, widths: Sequence[int], activation: str = "linear"):
        widths = tuple(int(w) for w in widths)
        if len(widths) < 3 or min(widths) < 1 or widths[-1] != 1:
            raise MirrorError(f"widths must be (dim, hidden widths..., 1) with positive entries "
                              f"and at least one hidden layer, got {widths}")
        if activation not in self.DEGREES:
            raise MirrorError(f"activation must be one of {sorted(self.DEGREES)}, got {activation!r}")
        self.widths, self.activation = widths, activation
        self.dim, self.depth = widths[0], len(widths) - 1
        self.s = self.DEGREES[activation]
        #: first parameter index of each weight matrix W_1 … W_D
        self._starts = [0]
        for fan_in, fan_out in zip(widths, widths[1:]):
            self._starts.append(self._starts[-1] + fan_in * fan_out)
        self.n_params = self._starts[-1]
        units = []
        for layer in range(1, self.depth):          # W_layer feeds hidden layer `layer`
            for k in range(widths[layer]):
                ins = tuple(self._index(layer, k, j) for j in range(widths[layer - 1]))
                outs = tuple(self._index(layer + 1, m, k) for m in range(widths[layer + 1]))
                units.append((ins, outs))
        self.units = tuple(units)
        self.L = self._derived_degree()

    def _index(self, layer: int, row: int, col: int) -> int:
        """Position of the entry ``(row, col)`` of ``W_layer`` (1-based layer)."""
        return self._starts[layer - 1] + row * self.widths[layer - 1] + col

    def _derived_degree(self) -> int:
        from derivations.homogeneous import homogeneity_degree
        c = sp.Symbol("c", positive=True)
        th = [sp.Symbol(nm, real=True) for nm in self.param_names()]
        x = sp.symbols(f"x0:{self.dim}", real=True)
        active = lambda e: e.replace(sp.Abs, lambda u: u)  # noqa: E731  (the all-active region)
        f = active(self.output(th, x))
        return int(homogeneity_degree(active(self.output([c * t for t in th], x)), f, c))

    def param_names(self) -> list[str]:
        return [f"W{layer}_{row}_{col}" for layer in range(1, self.depth + 1)
                for row in range(self.widths[layer]) for col in range(self.widths[layer - 1])]

    def sigma(self, u):
        if self.activation == "linear":
            return u
        relu = (u + sp.Abs(u)) / 2
        return relu if self.activation == "relu" else u * relu

    def output(self, th, x):
        h = list(x)
        for layer in range(1, self.depth + 1):
            pre = [sp.Add(*[th[self._index(layer, k, j)] * h[j] for j in range(len(h))])
                   for k in range(self.widths[layer])]
            h = pre if layer == self.depth else [self.sigma(u) for u in pre]
        return h[0]

    def __repr__(self):
        return f"Network(widths={self.widths}, activation={self.activation!r})"


class TwoLayerNet(Network):
    """``f(θ; x) = Σ_k a_k σ(w_kᵀ x)``: :class:`Network` with widths ``(dim, width, 1)``;
    parameters ``[w_1, …, w_width, a]`` (``L = 1 + s``)."""

    def __init__(self, width: int, dim: int, activation: str = "linear"):
        if width < 1 or dim < 1:
            raise MirrorError("width and dim must be positive")
        super().__init__((dim, width, 1), activation)
        self.width = width

    def __repr__(self):
        return f"TwoLayerNet(width={self.width}, dim={self.dim}, activation={self.activation!r})"
