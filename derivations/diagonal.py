"""The L-layer diagonal linear network ``w = u_1 ⊙ … ⊙ u_L`` and its gradient flow.

Two representations:

* explicit depth (``L`` an int): layer symbols ``u_{l,i}``; the flow on the layers is
  ``u̇_l = −g ⊙ Π_{k≠l} u_k``, and time derivatives of any expression are taken
  mechanically along it (``time_derivative``);
* symbolic depth (``L`` a sympy Symbol): a balanced point is ``u_{l,i} = ε_{l,i} s_i`` with
  ``s_i > 0`` and signs ``ε = (−1)^k`` (integer ``k``, so sympy knows ``ε² = 1``); then
  ``w_i = σ_i s_i^L`` with ``σ_i = Π_l ε_{l,i}``, and the product of the other layers is
  ``w_i / u_{l,i}``.

>>> U = layers(2, 1)
>>> product(U)
Matrix([[u_11*u_21]])
"""

from __future__ import annotations

import sympy as sp

__all__ = [
    "DEPTH",
    "layers",
    "product",
    "layer_velocities",
    "time_derivative",
    "balanced_substitution",
    "sign",
    "reduced_field",
    "quasi_norm",
    "free_gradient",
]

DEPTH = sp.Symbol("L", positive=True, integer=True)


def sign(name: str) -> sp.Expr:
    """A sign ``(−1)^k`` with ``k`` an integer symbol: sympy simplifies its square to 1."""
    return sp.Integer(-1) ** sp.Symbol(name, integer=True)


def layers(L: int, d: int, name: str = "u") -> list[sp.Matrix]:
    """``L`` layer vectors of ``d`` nonzero real symbols ``u_{l i}`` (named ``u_li``, or
    ``u_l_i`` once an index has two digits, so that no two names coincide)."""
    if not (isinstance(L, int) and L >= 1 and isinstance(d, int) and d >= 1):
        raise ValueError(f"layers needs integers L >= 1 and d >= 1, got L={L!r}, d={d!r}")
    sep = "" if L <= 9 and d <= 9 else "_"
    return [sp.Matrix([sp.Symbol(f"{name}_{l + 1}{sep}{i + 1}", real=True, nonzero=True) for i in range(d)])
            for l in range(L)]


def product(vectors: list[sp.Matrix]) -> sp.Matrix:
    """Elementwise product of equally long column vectors."""
    result = vectors[0]
    for v in vectors[1:]:
        result = result.multiply_elementwise(v)
    return result


def layer_velocities(U: list[sp.Matrix], g: sp.Matrix, rates=None) -> list[sp.Matrix]:
    """Gradient flow on the layers, ``u̇_l = −η_l g ⊙ Π_{k≠l} u_k`` (``η_l = 1`` unless ``rates``)."""
    rates = rates or [1] * len(U)
    return [
        -rates[l] * g.multiply_elementwise(product([U[k] for k in range(len(U)) if k != l] or [sp.ones(*g.shape)]))
        for l in range(len(U))
    ]


def time_derivative(expr, states: list[sp.Matrix], velocities: list[sp.Matrix]):
    """``d/dt expr = Σ ∂expr/∂x · ẋ`` over all state vectors (expr may be a Matrix)."""
    def scalar(e):
        return sum(
            (sp.diff(e, x) * v for X, V in zip(states, velocities) for x, v in zip(X, V)),
            sp.Integer(0),
        )

    return expr.applyfunc(scalar) if isinstance(expr, sp.MatrixBase) else scalar(expr)


def balanced_substitution(U: list[sp.Matrix]) -> tuple[dict, sp.Matrix]:
    """``u_{l,i} -> ε_{l,i} s_i``: a balanced point with independent random signs per entry."""
    d = U[0].shape[0]
    magnitudes = sp.Matrix(sp.symbols(f"s1:{d + 1}", positive=True))
    subs = {U[l][i]: sign(f"k_{l + 1}{i + 1}") * magnitudes[i] for l in range(len(U)) for i in range(d)}
    return subs, magnitudes


def free_gradient(d: int) -> sp.Matrix:
    """``g = ∇f(w)`` as free symbols: for statements that hold for any loss."""
    return sp.Matrix(sp.symbols(f"g1:{d + 1}", real=True))


def reduced_field(w: sp.Matrix, g: sp.Matrix, L, exponent=None) -> sp.Matrix:
    """DL-4's right side ``−L |w|^{2−2/L} ⊙ g`` (``exponent`` overridable to plant errors)."""
    exponent = 2 - sp.Integer(2) / L if exponent is None else exponent
    return sp.Matrix([-L * sp.Abs(wi) ** exponent * gi for wi, gi in zip(w, g)])


def quasi_norm(w: sp.Matrix, L) -> sp.Expr:
    """``Q(w) = Σ_i |w_i|^{2/L}``, the 2/L quasi-norm to the power 2/L."""
    return sum((sp.Abs(wi) ** (sp.Integer(2) / L) for wi in w), sp.Integer(0))
