"""Synthetic two-class data for Deep LDA (docs/deep_lda.md) and its scatter matrices.

Points are drawn from two Gaussians with a shared random covariance (``numpy`` generator
with a fixed seed) and, by default, rounded to a grid of ``1/grid`` so that every number
is an exact rational: the scatter matrices, the Fisher direction and the optimum are
then exact too (sympy ``Rational``), and the flows of :mod:`numerics.deep_lda.flows` can be built
from them without any rounding.  With ``exact=False`` the float64 samples are kept and
read as their exact binary values.

* within-class scatter ``Σ_w = Σ_c Σ_{n∈c} (x_n − μ_c)(x_n − μ_c)ᵀ``;
* between-class scatter ``Σ_b = Σ_c N_c (μ_c − μ)(μ_c − μ)ᵀ = (N_1 N_2 / N) δ δᵀ`` with
  ``δ = μ_1 − μ_2`` (the definition of docs/deep_lda.md; it differs from ``δδᵀ`` by the constant
  ``N_1 N_2 / N``, which rescales J and time but changes no direction);
* the Fisher optimum ``w* = Σ_w^{-1} δ`` and ``J* = J(w*) = (N_1 N_2/N) δᵀ Σ_w^{-1} δ``.

The control losses of :mod:`derivations.objectives` (square, exponential) use two
samples ``x_1, x_2`` with labels ``y_1, y_2``; :meth:`TwoClassData.symbol_values` takes
the class means with labels ``+1`` and ``−1`` for them.

>>> data = gaussian_two_class(2, 5, seed=1)
>>> data.within_scatter().is_positive_definite
True
>>> data.fisher_ratio(data.fisher_direction()) == data.optimum()
True
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Optional, Sequence

import numpy as np
import sympy as sp

from numerics.core.exact import exact_number

__all__ = ["TwoClassData", "gaussian_two_class", "orthant_trap_data", "DataError"]


class DataError(ValueError):
    """The requested data set cannot be built (bad sizes, singular scatter, ...)."""


def _rational(v) -> sp.Rational:
    try:
        value = exact_number(v, "data value")
    except (TypeError, ValueError) as exc:
        raise DataError(str(exc)) from None
    if not value.is_Rational:
        raise DataError(f"data values must be rational, got {value}")
    return value


@dataclass(frozen=True)
class TwoClassData:
    """Two classes of points in ``R^d`` (exact rationals) and everything derived from them.

    ``class1``, ``class2``: tuples of points, each a tuple of sympy ``Rational``.
    ``ridge``: the ``r`` of the ridge-regularised Fisher loss (``ridge_fisher``).
    ``description``: how the data were made (seed, grid), for JSON output.
    """
    class1: tuple
    class2: tuple
    ridge: sp.Rational = sp.Integer(1)
    description: dict = field(default_factory=dict, compare=False)

    def __post_init__(self):
        c1 = tuple(tuple(_rational(v) for v in p) for p in self.class1)
        c2 = tuple(tuple(_rational(v) for v in p) for p in self.class2)
        if not c1 or not c2:
            raise DataError("each class needs at least one point")
        d = len(c1[0])
        if d < 1 or any(len(p) != d for p in c1 + c2):
            raise DataError("all points must have the same positive dimension")
        object.__setattr__(self, "class1", c1)
        object.__setattr__(self, "class2", c2)
        object.__setattr__(self, "ridge", _rational(self.ridge))
        if self.ridge < 0:
            raise DataError(f"the ridge r must be >= 0, got {self.ridge}")

    # -- basic statistics ------------------------------------------------------------------
    @property
    def dim(self) -> int:
        return len(self.class1[0])

    @property
    def sizes(self) -> tuple[int, int]:
        return len(self.class1), len(self.class2)

    @staticmethod
    def _mean(points) -> sp.Matrix:
        return sp.Matrix([sum(p[i] for p in points) for i in range(len(points[0]))]) / len(points)

    @cached_property
    def means(self) -> tuple[sp.Matrix, sp.Matrix]:
        return self._mean(self.class1), self._mean(self.class2)

    @cached_property
    def delta(self) -> sp.Matrix:
        """``δ = μ_1 − μ_2``."""
        m1, m2 = self.means
        return m1 - m2

    def within_scatter(self) -> sp.Matrix:
        """``Σ_w = Σ_c Σ_{n∈c} (x_n − μ_c)(x_n − μ_c)ᵀ`` (exact)."""
        return self._within

    @cached_property
    def _within(self) -> sp.Matrix:
        S = sp.zeros(self.dim, self.dim)
        for pts, mu in zip((self.class1, self.class2), self.means):
            for p in pts:
                v = sp.Matrix(p) - mu
                S += v * v.T
        return S

    def between_scatter(self) -> sp.Matrix:
        """``Σ_b = Σ_c N_c (μ_c − μ)(μ_c − μ)ᵀ = (N_1 N_2/N) δδᵀ`` (exact)."""
        n1, n2 = self.sizes
        return sp.Rational(n1 * n2, n1 + n2) * self.delta * self.delta.T

    def is_positive_definite(self) -> bool:
        """Exact test of ``Σ_w ≻ 0`` (all leading principal minors positive)."""
        S = self._within
        return all(S[:k, :k].det() > 0 for k in range(1, self.dim + 1))

    # -- the Fisher problem -------------------------------------------------------------
    def fisher_ratio(self, w: Sequence) -> sp.Rational:
        """``J(w) = wᵀΣ_b w / wᵀΣ_w w`` (exact for rational ``w``)."""
        w = sp.Matrix([_rational(v) if not isinstance(v, sp.Basic) else v for v in w])
        return (w.T * self.between_scatter() * w)[0] / (w.T * self._within * w)[0]

    def fisher_direction(self) -> sp.Matrix:
        """The optimal direction ``w* = Σ_w^{-1} δ`` (unique up to scale when Σ_w ≻ 0)."""
        if not self.is_positive_definite():
            raise DataError("the within-class scatter is not positive definite")
        return self._within.LUsolve(self.delta)

    def optimum(self) -> sp.Rational:
        """``J* = max_w J(w) = (N_1 N_2/N) δᵀ Σ_w^{-1} δ``."""
        n1, n2 = self.sizes
        return sp.Rational(n1 * n2, n1 + n2) * (self.delta.T * self.fisher_direction())[0]

    def optimum_signs(self) -> tuple[int, ...]:
        """Signs of ``w*`` (0 where a coordinate of ``w*`` vanishes)."""
        return tuple(int(sp.sign(v)) for v in self.fisher_direction())

    # -- the values of the symbolic data of derivations.objectives ------------------------
    def symbol_values(self) -> dict[str, sp.Rational]:
        """Values of the data symbols of :mod:`derivations.objectives`, by symbol name.

        ``A_ij`` = (Σ_w)_ij, ``B_ij`` = (Σ_b)_ij, ``a_i`` = (Σ_w)_ii, ``b_i`` = (Σ_b)_ii,
        ``r`` = ridge, ``x_ni`` = the class means (n = 1, 2), ``y1 = 1``, ``y2 = −1``.
        """
        d = self.dim
        A, B = self._within, self.between_scatter()
        out: dict[str, sp.Rational] = {}
        for i in range(d):
            out[f"a_{i + 1}"] = A[i, i]
            out[f"b_{i + 1}"] = B[i, i]
            for j in range(i, d):
                out[f"A_{i + 1}{j + 1}"] = A[i, j]
                out[f"B_{i + 1}{j + 1}"] = B[i, j]
        for n, mu in enumerate(self.means):
            for i in range(d):
                out[f"x_{n + 1}{i + 1}"] = mu[i]
        out["y1"], out["y2"] = sp.Integer(1), sp.Integer(-1)
        out["r"] = self.ridge
        return out

    def with_ridge(self, r) -> "TwoClassData":
        return TwoClassData(self.class1, self.class2, ridge=r,
                            description={**self.description, "ridge": str(_rational(r))})

    def to_dict(self) -> dict:
        """JSON-ready summary (exact values as strings)."""
        return {
            **self.description,
            "dim": self.dim,
            "sizes": list(self.sizes),
            "ridge": str(self.ridge),
            "within_scatter": [[str(v) for v in self._within.row(i)] for i in range(self.dim)],
            "delta": [str(v) for v in self.delta],
        }


def gaussian_two_class(dim: int, per_class: Optional[int] = None, *, seed: int = 0,
                       separation: float = 2.5, grid: Optional[int] = 8,
                       ridge=1, require_pd: bool = True) -> TwoClassData:
    """Two Gaussian classes in ``R^dim`` with a shared random covariance.

    Means ``±δ/2`` with ``δ`` of length ``separation`` in a random direction, covariance ``M Mᵀ`` with
    ``M = R diag(s)``, ``R`` a random rotation and ``s_i`` uniform in [0.7, 1.3]
    (correlated features, condition number at most 3.5, so ``J*`` stays moderate);
    ``per_class`` points each (default ``2 dim + 4``).  ``grid``: round every coordinate to a multiple of ``1/grid``
    (exact small rationals); ``None`` keeps the float64 samples (exact binary values).
    Raises :class:`DataError` if ``Σ_w`` is not positive definite (``require_pd``).
    """
    for name, v, lo in (("dim", dim, 1), ("seed", seed, 0)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise DataError(f"{name} must be an integer >= {lo}, got {v!r}")
    per_class = 2 * dim + 4 if per_class is None else per_class
    if isinstance(per_class, bool) or not isinstance(per_class, (int, np.integer)) or per_class < 2:
        raise DataError(f"per_class must be an integer >= 2, got {per_class!r}")
    if require_pd and 2 * per_class - 2 < dim:
        raise DataError(f"Σ_w is singular with {per_class} points per class in dimension {dim}: "
                        f"need 2*per_class - 2 >= dim")
    if grid is not None and (isinstance(grid, bool) or not isinstance(grid, int) or grid < 1):
        raise DataError(f"grid must be a positive integer or None, got {grid!r}")
    rng = np.random.default_rng(int(seed))
    v = rng.standard_normal(dim)
    delta = separation * v / np.linalg.norm(v)
    R, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    M = R * rng.uniform(0.7, 1.3, dim)

    def draw(mu):
        pts = mu + rng.standard_normal((per_class, dim)) @ M.T
        if grid is None:
            return tuple(tuple(float(v) for v in p) for p in pts)
        return tuple(tuple(sp.Rational(int(round(v * grid)), grid) for v in p) for p in pts)

    data = TwoClassData(draw(delta / 2), draw(-delta / 2), ridge=ridge,
                        description={"generator": "gaussian_two_class", "seed": int(seed),
                                     "per_class": int(per_class), "separation": separation,
                                     "grid": grid})
    if require_pd and not data.is_positive_definite():
        raise DataError(f"Σ_w is not positive definite for seed {seed} (dim {dim}, "
                        f"{per_class} points per class); try another seed or more points")
    return data


def orthant_trap_data(dim: int, seed: int = 0, *, per_class: Optional[int] = None,
                      min_minority: float = 0.4, max_tries: int = 1000, **kw) -> TwoClassData:
    """The first data set from ``seed, seed+1, …`` whose Fisher optimum has mixed signs.

    Used for DL-10: from ``u_l(0) = α·1`` the flow stays in the positive orthant (DL-7)
    and cannot reach ``w* = Σ_w^{-1}δ``.  ``min_minority``: the coordinates of the minority
    sign must carry at least this fraction of ``‖w*‖`` (else the trap costs little J).
    Needs ``dim >= 2``.
    """
    if dim < 2:
        raise DataError("a mixed-sign optimum needs dim >= 2")
    for s in range(seed, seed + max_tries):
        try:
            data = gaussian_two_class(dim, per_class, seed=s, **kw)
        except DataError:
            continue
        w = [float(v) for v in data.fisher_direction()]
        pos = sum(v * v for v in w if v > 0) ** 0.5
        neg = sum(v * v for v in w if v < 0) ** 0.5
        if pos > 0 and neg > 0 and min(pos, neg) >= min_minority * (pos * pos + neg * neg) ** 0.5:
            return data
    raise DataError(f"no mixed-sign optimum (minority share >= {min_minority}) among seeds "
                    f"{seed}..{seed + max_tries - 1}")
