"""Deep LDA objectives and the control losses, as sympy expressions of the effective vector ``w``.

Data enter symbolically (scatter matrices with free symmetric entries, a free design matrix),
so an identity checked here holds for all data, not for one data set.

* ``fisher``          f = -J,      J(w) = wᵀ Σ_b w / wᵀ Σ_w w      (degree 0)
* ``inverse_fisher``  f = 1/J                                        (degree 0)
* ``neg_log_fisher``  f = -log J                                     (degree 0)
* ``trace_ratio``     f = -Σ b_i w_i² / Σ a_i w_i²                   (degree 0)
* ``ridge_fisher``    f = -wᵀ Σ_b w / (wᵀ Σ_w w + r), r > 0          (Dorfer et al.; NOT degree 0)
* ``square``          f = ½‖X w − y‖²                               (control, NOT degree 0)
* ``exponential``     f = Σ_n exp(−y_n ⟨x_n, w⟩)                     (control, NOT degree 0)

>>> w = effective_vector(2)
>>> f = loss("fisher", w)
>>> sp.simplify(euler_product(f, w))
0
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

__all__ = [
    "LOSSES",
    "DEGREE_ZERO",
    "effective_vector",
    "symmetric_matrix",
    "loss",
    "gradient",
    "euler_product",
    "fisher_ratio",
]

RIDGE = sp.Symbol("r", positive=True)
SAMPLES = 2  # data points in the square/exponential controls (any n shows the failure)


def effective_vector(d: int, name: str = "w", **assumptions) -> sp.Matrix:
    """Column vector of ``d`` real symbols (``nonzero`` by default: the loss is defined off 0)."""
    assumptions = assumptions or {"real": True, "nonzero": True}
    return sp.Matrix(sp.symbols(f"{name}1:{d + 1}", **assumptions))


@lru_cache(maxsize=None)
def symmetric_matrix(name: str, d: int) -> sp.Matrix:
    """A ``d``×``d`` symmetric matrix of free real symbols ``name_ij`` (i ≤ j)."""
    entries = {}
    for i in range(d):
        for j in range(i, d):
            entries[i, j] = entries[j, i] = sp.Symbol(f"{name}_{i + 1}{j + 1}", real=True)
    return sp.Matrix(d, d, lambda i, j: entries[i, j])


def _quadratic(w: sp.Matrix, matrix: sp.Matrix) -> sp.Expr:
    return sp.expand((w.T * matrix * w)[0])


def fisher_ratio(w: sp.Matrix) -> sp.Expr:
    d = w.shape[0]
    return _quadratic(w, symmetric_matrix("B", d)) / _quadratic(w, symmetric_matrix("A", d))


def _trace_ratio(w: sp.Matrix) -> sp.Expr:
    d = w.shape[0]
    between = sum(sp.Symbol(f"b_{i + 1}", positive=True) * w[i] ** 2 for i in range(d))
    within = sum(sp.Symbol(f"a_{i + 1}", positive=True) * w[i] ** 2 for i in range(d))
    return between / within


def _design(d: int) -> tuple[sp.Matrix, sp.Matrix]:
    X = sp.Matrix(SAMPLES, d, lambda n, i: sp.Symbol(f"x_{n + 1}{i + 1}", real=True))
    y = sp.Matrix(sp.symbols(f"y1:{SAMPLES + 1}", real=True))
    return X, y


def _square(w: sp.Matrix) -> sp.Expr:
    X, y = _design(w.shape[0])
    r = X * w - y
    return (r.T * r)[0] / 2


def _exponential(w: sp.Matrix) -> sp.Expr:
    X, y = _design(w.shape[0])
    return sum(sp.exp(-y[n] * (X[n, :] * w)[0]) for n in range(SAMPLES))


def _ridge_fisher(w: sp.Matrix) -> sp.Expr:
    d = w.shape[0]
    return -_quadratic(w, symmetric_matrix("B", d)) / (_quadratic(w, symmetric_matrix("A", d)) + RIDGE)


LOSSES = {
    "fisher": lambda w: -fisher_ratio(w),
    "inverse_fisher": lambda w: 1 / fisher_ratio(w),
    "neg_log_fisher": lambda w: -sp.log(fisher_ratio(w)),
    "trace_ratio": lambda w: -_trace_ratio(w),
    "ridge_fisher": _ridge_fisher,
    "square": _square,
    "exponential": _exponential,
}
DEGREE_ZERO = ("fisher", "inverse_fisher", "neg_log_fisher", "trace_ratio")

LATEX_NAMES = {
    "fisher": r"-J(w)",
    "inverse_fisher": r"1/J(w)",
    "neg_log_fisher": r"-\log J(w)",
    "trace_ratio": r"-J_{\mathrm{tr}}(w)",
    "ridge_fisher": r"-J_r(w),\ r>0",
    "square": r"\tfrac12\|Xw-y\|^2",
    "exponential": r"\sum_n e^{-y_n\langle x_n,w\rangle}",
}


def loss(name, w: sp.Matrix) -> sp.Expr:
    """The loss ``name`` (one of ``LOSSES``, or a callable ``w -> expression``, e.g. a user's
    loss from :func:`derivations.api.user_loss`) as an expression of the vector ``w``."""
    if callable(name):
        return name(w)
    try:
        return LOSSES[name](w)
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; choose one of {sorted(LOSSES)}") from None


def gradient(f: sp.Expr, w: sp.Matrix) -> sp.Matrix:
    return sp.Matrix([sp.diff(f, wi) for wi in w])


def euler_product(f: sp.Expr, w: sp.Matrix) -> sp.Expr:
    """⟨w, ∇f(w)⟩, which vanishes for every degree-0 homogeneous f (Euler)."""
    return (w.T * gradient(f, w))[0]
