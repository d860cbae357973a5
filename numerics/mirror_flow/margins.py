"""Horizon functions, Q-margins, KKT residuals and independent max-margin solvers (MF-5).

The horizon function ``Q_∞`` of a separable potential (docs/mirror_flow.md, MF-4) is one of the norms
``ℓp`` (``1 < p < ∞``), ``ℓ1`` or ``ℓ∞``; :class:`Horizon` holds which one.  For a network
that is positively ``L``-homogeneous in ``θ`` with margins ``q_i(θ) = y_i f(θ; x_i)``:

* Q-margin            ``γ_Q(θ) = min_i q_i(θ) / Q_∞(θ)^L``                (scale invariant)
* smoothed margin      ``ℓ^{-1}(ℒ(θ)) / Q_∞(θ)^L``, computed from ``log ℒ`` (no underflow)
* max-margin problem   ``(P_Q): min Q_∞(θ)  s.t.  q_i(θ) ≥ 1``

For the linear model (``L = 1``, ``q_i = ⟨θ, a_i⟩`` with ``a_i = y_i x_i``) the problem
``(P_Q)`` is solved here *independently of any flow*, each way by two routes:

* ``ℓ1``, ``ℓ∞``: a primal linear program and the dual linear program
  (``scipy.optimize.linprog``, HiGHS); their values must agree (strong duality), and
  uniqueness of the optimum is *checked* (range of every coordinate over the optimal face,
  by ``2d`` more LPs) — for a non-unique optimum "the" max-margin direction is not
  defined and a flow converges to a point of the face chosen by the potential;
* ``ℓp``: SLSQP on ``‖θ‖_p^p`` with the margin constraints, polished by Newton's method on
  the KKT system of the active set, against the dual
  ``1/Q* = min_{μ ∈ simplex} ‖Aᵀμ‖_q`` (``1/p + 1/q = 1``) solved by SLSQP.

KKT residual of a point ``θ`` for ``(P_Q)`` (:func:`kkt_residual`): rescale ``θ̂ = θ/min_i q_i``
so that the smallest margin is 1 (``θ/(min q)^{1/L}`` for ``L > 1``), then look for
multipliers ``λ ≥ 0`` that make stationarity *and* complementary slackness small together
(with ``n > d`` data points, multipliers fitted to stationarity alone can sit on inactive
constraints):

* ``ℓp``: ``g = ∇‖θ̂‖_p``; NNLS on the stacked system ``[Gᵀ; diag(q̂ − 1)/Q(θ̂)] λ ≈ [g; 0]``
  (stationarity measured in the Euclidean norm);
* ``ℓ1``/``ℓ∞``: the subdifferential is a set, and a flow's iterate never has exact zeros
  (ℓ1) or exact ties (ℓ∞), so the exact subdifferential would give an O(1) residual
  forever.  We use the smallest *subgradient gap*: one LP minimises
  ``‖g − Σλ_i a_i‖_1 + (Q(θ̂) − ⟨g, θ̂⟩)/Q(θ̂) + Σλ_i(q̂_i − 1)/Q(θ̂)`` over ``g`` in the
  dual-norm unit ball (``Q(θ̂) − ⟨g,θ̂⟩ ≥ 0`` there, with equality iff ``g ∈ ∂Q(θ̂)``)
  and ``λ ≥ 0`` (stationarity measured in the ℓ1 norm);

and report ``stationarity``, ``subgradient_gap`` (0 for ℓp), ``complementary`` =
``Σλ_i(q̂_i − 1)/Q(θ̂)`` (at a KKT point ``Σλ_i = Q(θ̂)``, so this is relative) and
``total`` (their sum).  At the solution of ``(P_Q)`` all three vanish.

>>> import numpy as np
>>> A = np.array([[1.0, 2.0], [2.0, 1.0]])        # rows a_i = y_i x_i
>>> r = max_margin(A, np.ones(2), "l1")
>>> [round(float(v), 9) for v in r.theta], round(r.value, 9)
([0.333333333, 0.333333333], 0.666666667)
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import mpmath
import numpy as np

__all__ = [
    "Horizon", "as_horizon", "q_inf", "q_margin", "smoothed_margin", "loss_inverse_log",
    "MaxMarginResult", "max_margin", "kkt_residual", "KKTResidual", "direction_error",
    "margin_gap", "MarginError",
]


class MarginError(ValueError):
    """Bad input to a margin computation (not separable, unknown horizon, ...)."""


# ----------------------------------------------------------------------------------------
# horizons

@dataclass(frozen=True)
class Horizon:
    """A horizon function ``Q_∞``: ``kind`` is ``"lp"`` (with ``p``), ``"l1"`` or ``"linf"``.

    ``p`` is stored for every kind (1 for ℓ1, ``inf`` for ℓ∞); ``conjugate_exponent`` is
    ``q`` with ``1/p + 1/q = 1``.
    """
    kind: str
    p: float

    def __post_init__(self):
        if self.kind not in ("lp", "l1", "linf"):
            raise MarginError(f"horizon kind must be 'lp', 'l1' or 'linf', got {self.kind!r}")
        if self.kind == "lp" and not (1 < self.p < math.inf):
            raise MarginError(f"an lp horizon needs 1 < p < inf, got p = {self.p!r}")

    @property
    def label(self) -> str:
        if self.kind == "l1":
            return "l1"
        if self.kind == "linf":
            return "linf"
        p = self.p
        return f"l{int(p)}" if float(p).is_integer() else f"l{p:g}"

    @property
    def conjugate_exponent(self) -> float:
        if self.kind == "l1":
            return math.inf
        if self.kind == "linf":
            return 1.0
        return self.p / (self.p - 1.0)

    def __str__(self):
        return self.label


def as_horizon(h: Any) -> Horizon:
    """Read a horizon from many spellings.

    Accepts a :class:`Horizon`; strings ``"l1"``, ``"linf"``, ``"l2"``, ``"l4"``, ``"l2.5"``,
    ``"lp:3"``; a number ``p`` (``1`` → ℓ1, ``inf`` → ℓ∞); tuples ``("lp", p)``,
    ``("l1",)``; dicts ``{"kind": ..., "p": ...}``; objects with ``kind`` (and ``p``)
    attributes (e.g. the ``horizon`` of :class:`derivations.potentials.Potential`).
    """
    if isinstance(h, Horizon):
        return h
    if h is None:
        raise MarginError("no horizon given (expected 'l1', 'linf', 'l2', ('lp', p), ...)")
    if isinstance(h, dict):
        return _from_kind(h.get("kind"), h.get("p"), h)
    if isinstance(h, (tuple, list)):
        if not h:
            raise MarginError("empty horizon tuple")
        return _from_kind(h[0], h[1] if len(h) > 1 else None, h)
    if isinstance(h, str):
        s = h.strip().lower().replace("ℓ", "l").replace("∞", "inf").replace("_", "")
        if s in ("l1",):
            return Horizon("l1", 1.0)
        if s in ("linf", "linfty", "linfinity", "max"):
            return Horizon("linf", math.inf)
        if s.startswith("lp:") or s.startswith("lp="):
            return _from_p(s[3:], h)
        if s.startswith("l"):
            return _from_p(s[1:], h)
        raise MarginError(f"cannot read horizon {h!r}")
    if isinstance(h, (int, float)) and not isinstance(h, bool):
        return _from_p(h, h)
    kind = getattr(h, "kind", None)
    if kind is not None:
        return _from_kind(kind, getattr(h, "p", None), h)
    raise MarginError(f"cannot read horizon {h!r} (type {type(h).__name__})")


def _from_p(p, orig) -> Horizon:
    try:
        pv = float(p) if not isinstance(p, str) else float(p.strip())
    except (TypeError, ValueError):
        raise MarginError(f"cannot read horizon exponent from {orig!r}") from None
    if pv == 1:
        return Horizon("l1", 1.0)
    if pv == math.inf:
        return Horizon("linf", math.inf)
    if not pv > 1:
        raise MarginError(f"horizon exponent must be >= 1, got {orig!r}")
    return Horizon("lp", pv)


def _from_kind(kind, p, orig) -> Horizon:
    k = str(kind).strip().lower().replace("ℓ", "l").replace("∞", "inf")
    if k in ("l1",):
        return Horizon("l1", 1.0)
    if k in ("linf", "linfty", "linfinity"):
        return Horizon("linf", math.inf)
    if k in ("lp", "p"):
        if p is None:
            raise MarginError(f"horizon {orig!r}: kind 'lp' needs an exponent p")
        return _from_p(float(p) if not isinstance(p, str) else p, orig)
    if k.startswith("l"):
        return _from_p(k[1:], orig)
    raise MarginError(f"cannot read horizon kind {kind!r} in {orig!r}")


# ----------------------------------------------------------------------------------------
# values

def _is_mp(v) -> bool:
    return isinstance(v, (mpmath.mpf,))


def q_inf(theta: Sequence[Any], horizon: Any):
    """``Q_∞(θ)``: the horizon norm of the parameter vector (float, or mpf for mpf input)."""
    h = as_horizon(horizon)
    vals = list(theta)
    if not vals:
        raise MarginError("theta is empty")
    if any(_is_mp(v) for v in vals):
        a = [abs(mpmath.mpf(v)) for v in vals]
        if h.kind == "l1":
            return mpmath.fsum(a)
        if h.kind == "linf":
            return max(a)
        m = max(a)
        if m == 0:
            return mpmath.mpf(0)
        p = mpmath.mpf(h.p)
        return m * mpmath.fsum((v / m) ** p for v in a) ** (1 / p)
    a = np.abs(np.asarray(vals, dtype=float))
    if h.kind == "l1":
        return float(math.fsum(a))
    if h.kind == "linf":
        return float(a.max())
    m = float(a.max())
    if m == 0:
        return 0.0
    return m * float(np.sum((a / m) ** h.p)) ** (1.0 / h.p)


def q_margin(margins: Sequence[Any], Q: Any, L: int = 1):
    """``γ_Q = min_i q_i / Q^L``."""
    if not margins:
        raise MarginError("no margins")
    if Q == 0:
        raise MarginError("Q_inf(theta) = 0: the Q-margin is undefined at theta = 0")
    return min(margins) / Q ** L


def loss_inverse_log(log_loss: Any, loss: str = "exp"):
    """``ℓ^{-1}(ℒ)`` from ``log ℒ`` without forming ``ℒ``.

    exponential: ``-log ℒ``; logistic ``ℓ(q) = log(1+e^{-q})``: ``ℓ^{-1}(v) = -log(e^v - 1)``,
    computed as ``-log ℒ - log(expm1(ℒ)/ℒ)``.
    """
    mp = _is_mp(log_loss)
    if loss == "exp":
        return -log_loss
    if loss != "logistic":
        raise MarginError(f"loss must be 'exp' or 'logistic', got {loss!r}")
    if mp:
        v = mpmath.exp(log_loss)
        if v == 0:
            return -log_loss
        return -log_loss - mpmath.log(mpmath.expm1(v) / v)
    ll = float(log_loss)
    if ll < -700:
        return -ll
    v = math.exp(ll)
    return -ll - math.log(math.expm1(v) / v)


def smoothed_margin(log_loss: Any, Q: Any, L: int = 1, loss: str = "exp"):
    """Smoothed margin ``ℓ^{-1}(ℒ(θ)) / Q_∞(θ)^L`` (always ``≤ γ_Q`` for these losses)."""
    return loss_inverse_log(log_loss, loss) / Q ** L


def direction_error(theta: Sequence[Any], theta_star: Sequence[Any], horizon: Any,
                    norm: Any = None) -> float:
    """``‖θ/Q(θ) − θ*/Q(θ*)‖`` in the horizon norm (or in ``norm`` if given)."""
    h = as_horizon(horizon)
    a = np.array([float(v) for v in theta])
    b = np.array([float(v) for v in theta_star])
    if a.shape != b.shape:
        raise MarginError(f"theta has {a.size} entries, theta_star {b.size}")
    qa, qb = q_inf(a, h), q_inf(b, h)
    if qa == 0 or qb == 0:
        raise MarginError("direction of the zero vector is undefined")
    return float(q_inf(a / qa - b / qb, h if norm is None else as_horizon(norm)))


def margin_gap(theta: Sequence[Any], A: np.ndarray, horizon: Any, value: float) -> float:
    """Relative margin gap ``1 − γ_Q(θ)·Q*`` of a linear-model point (``Q*`` = value of P_Q)."""
    A = np.asarray(A, dtype=float)
    th = np.array([float(v) for v in theta])
    g = float(np.min(A @ th)) / q_inf(th, horizon)
    return 1.0 - g * value


# ----------------------------------------------------------------------------------------
# max-margin problem (P_Q) for the linear model

@dataclass
class MaxMarginResult:
    """Solution of ``(P_Q)`` for ``q_i = ⟨θ, a_i⟩``.

    ``theta`` the minimiser (min margin 1), ``value = Q*``, ``margin = 1/Q*`` (the max
    Q-margin), ``multipliers`` λ (``Σλ_i = Q*``), ``dual_value`` from the independent dual
    route, ``duality_gap = |value − dual_value|/value``, ``unique`` and ``face_width``
    (ℓ1/ℓ∞: max coordinate range over the optimal face; ℓp: 0, strictly convex),
    ``kkt`` (:class:`KKTResidual` of ``theta``), ``method``.
    """
    horizon: Horizon
    theta: np.ndarray
    value: float
    multipliers: np.ndarray
    dual_value: float
    unique: bool
    face_width: float
    kkt: "KKTResidual"
    method: str
    active: list = field(default_factory=list)

    @property
    def margin(self) -> float:
        return 1.0 / self.value

    @property
    def duality_gap(self) -> float:
        return abs(self.value - self.dual_value) / self.value

    def direction(self) -> np.ndarray:
        return self.theta / self.value

    def to_dict(self) -> dict:
        return {
            "horizon": self.horizon.label, "theta": [f"{v:.12g}" for v in self.theta],
            "value": f"{self.value:.12g}", "dual_value": f"{self.dual_value:.12g}",
            "margin": f"{self.margin:.12g}", "duality_gap": f"{self.duality_gap:.2e}",
            "unique": self.unique, "face_width": f"{self.face_width:.2e}",
            "kkt_total": f"{self.kkt.total:.2e}", "method": self.method,
            "active": list(self.active),
        }


def _check_A(A, y=None) -> np.ndarray:
    A = np.asarray(A, dtype=float)
    if A.ndim != 2 or A.shape[0] < 1 or A.shape[1] < 1:
        raise MarginError(f"expected an (n, d) data matrix, got shape {A.shape}")
    if not np.all(np.isfinite(A)):
        raise MarginError("data matrix has non-finite entries")
    if y is not None:
        y = np.asarray(y, dtype=float).reshape(-1)
        if y.shape[0] != A.shape[0]:
            raise MarginError(f"{A.shape[0]} points but {y.shape[0]} labels")
        if not np.all(np.abs(y) == 1):
            raise MarginError("labels must be +1 or -1")
        A = A * y[:, None]
    return A


def max_margin(X: Any, y: Any, horizon: Any, *, tol: float = 1e-10) -> MaxMarginResult:
    """Solve ``(P_Q): min Q_∞(θ) s.t. y_i⟨θ, x_i⟩ ≥ 1`` by a primal and a dual route.

    ``X`` is ``(n, d)``, ``y`` the ±1 labels (pass ``y = ones`` and ``X = A`` with rows
    ``a_i = y_i x_i`` if already signed).  Raises :class:`MarginError` if the data are not
    linearly separable through the origin.
    """
    h = as_horizon(horizon)
    A = _check_A(X, y)
    if h.kind == "l1":
        res = _mm_l1(A, tol)
    elif h.kind == "linf":
        res = _mm_linf(A, tol)
    else:
        res = _mm_lp(A, h, tol)
    return res


def _linprog(c, A_ub=None, b_ub=None, A_eq=None, b_eq=None, bounds=None):
    from scipy.optimize import linprog
    r = linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq, bounds=bounds,
                method="highs", options={"primal_feasibility_tolerance": 1e-10,
                                         "dual_feasibility_tolerance": 1e-10})
    return r


def _not_separable(r):
    raise MarginError("the data are not linearly separable through the origin "
                      f"(linprog: {r.message})")


def _face_width(A, value, kind, tol):
    """Max over coordinates of the range of θ_j on {feasible, Q(θ) ≤ value(1+tol)}."""
    n, d = A.shape
    width = 0.0
    for j in range(d):
        vals = []
        for sgn in (1.0, -1.0):
            if kind == "l1":
                # variables u, v >= 0, theta = u - v
                c = np.zeros(2 * d)
                c[j], c[d + j] = sgn, -sgn
                A_ub = np.vstack([np.hstack([-A, A]), np.ones((1, 2 * d))])
                b_ub = np.concatenate([-np.ones(n), [value * (1 + tol)]])
                r = _linprog(c, A_ub, b_ub, bounds=[(0, None)] * (2 * d))
                vals.append(sgn * r.fun)
            else:
                c = np.zeros(d)
                c[j] = sgn
                bnd = value * (1 + tol)
                r = _linprog(c, -A, -np.ones(n), bounds=[(-bnd, bnd)] * d)
                vals.append(sgn * r.fun)
        width = max(width, abs(vals[0] - vals[1]))
    return width


def _mm_l1(A, tol) -> MaxMarginResult:
    n, d = A.shape
    c = np.ones(2 * d)
    r = _linprog(c, np.hstack([-A, A]), -np.ones(n), bounds=[(0, None)] * (2 * d))
    if r.status != 0:
        _not_separable(r)
    theta = r.x[:d] - r.x[d:]
    value = float(np.abs(theta).sum())
    lam = -np.asarray(r.ineqlin.marginals)
    # dual: max Σλ  s.t.  -1 <= Aᵀλ <= 1, λ >= 0
    rd = _linprog(-np.ones(n), np.vstack([A.T, -A.T]), np.ones(2 * d), bounds=[(0, None)] * n)
    dual_value = -float(rd.fun)
    width = _face_width(A, value, "l1", 1e-9)
    h = Horizon("l1", 1.0)
    kkt = kkt_residual(theta, A, h)
    active = [int(i) for i in np.nonzero(A @ theta < 1 + 1e-7)[0]]
    return MaxMarginResult(h, theta, value, lam, dual_value, width < 1e-6, width, kkt,
                           "LP (HiGHS) primal + dual", active)


def _mm_linf(A, tol) -> MaxMarginResult:
    n, d = A.shape
    # variables theta (d), t; min t s.t. A theta >= 1, -t <= theta_j <= t
    c = np.zeros(d + 1)
    c[-1] = 1.0
    I = np.eye(d)
    A_ub = np.vstack([np.hstack([-A, np.zeros((n, 1))]),
                      np.hstack([I, -np.ones((d, 1))]),
                      np.hstack([-I, -np.ones((d, 1))])])
    b_ub = np.concatenate([-np.ones(n), np.zeros(2 * d)])
    r = _linprog(c, A_ub, b_ub, bounds=[(None, None)] * d + [(0, None)])
    if r.status != 0:
        _not_separable(r)
    theta = r.x[:d]
    value = float(np.abs(theta).max())
    lam = -np.asarray(r.ineqlin.marginals)[:n]
    # dual: max Σλ s.t. ‖Aᵀλ‖_1 <= 1: variables λ (n), s (d) with -s <= Aᵀλ <= s, Σs <= 1
    cd = np.concatenate([-np.ones(n), np.zeros(d)])
    A_ubd = np.vstack([np.hstack([A.T, -I]), np.hstack([-A.T, -I]),
                       np.concatenate([np.zeros(n), np.ones(d)])[None, :]])
    b_ubd = np.concatenate([np.zeros(2 * d), [1.0]])
    rd = _linprog(cd, A_ubd, b_ubd, bounds=[(0, None)] * (n + d))
    dual_value = -float(rd.fun)
    width = _face_width(A, value, "linf", 1e-9)
    h = Horizon("linf", math.inf)
    kkt = kkt_residual(theta, A, h)
    active = [int(i) for i in np.nonzero(A @ theta < 1 + 1e-7)[0]]
    return MaxMarginResult(h, theta, value, lam, dual_value, width < 1e-6, width, kkt,
                           "LP (HiGHS) primal + dual", active)


def _mm_lp(A, h: Horizon, tol) -> MaxMarginResult:
    from scipy.optimize import minimize, root

    n, d = A.shape
    p = h.p
    qexp = h.conjugate_exponent
    # start from the l_inf LP solution (feasible); check separability there
    c = np.zeros(d + 1)
    c[-1] = 1.0
    I = np.eye(d)
    r0 = _linprog(c, np.vstack([np.hstack([-A, np.zeros((n, 1))]), np.hstack([I, -np.ones((d, 1))]),
                                np.hstack([-I, -np.ones((d, 1))])]),
                  np.concatenate([-np.ones(n), np.zeros(2 * d)]),
                  bounds=[(None, None)] * d + [(0, None)])
    if r0.status != 0:
        _not_separable(r0)
    fun = lambda th: float(np.sum(np.abs(th) ** p)) / p  # noqa: E731
    jac = lambda th: np.sign(th) * np.abs(th) ** (p - 1)  # noqa: E731
    cons = [{"type": "ineq", "fun": lambda th: A @ th - 1.0, "jac": lambda th: A}]
    best = None
    for x0 in (r0.x[:d] * 1.01, np.linalg.lstsq(A, np.ones(n), rcond=None)[0]):
        r = minimize(fun, x0, jac=jac, constraints=cons, method="SLSQP",
                     options={"ftol": 1e-15, "maxiter": 2000})
        th = np.asarray(r.x, dtype=float)
        if np.min(A @ th) > 1 - 1e-7 and (best is None or fun(th) < fun(best)):
            best = th
    if best is None:
        r = minimize(fun, r0.x[:d] * 1.01, jac=jac, method="trust-constr",
                     constraints=[_linear_constraint(A)], options={"gtol": 1e-12, "xtol": 1e-14,
                                                                   "maxiter": 5000})
        best = np.asarray(r.x, dtype=float)
        if not np.min(A @ best) > 1 - 1e-7:
            raise MarginError(f"the lp max-margin solvers failed: {r.message}")
    theta = best
    # polish: Newton on the KKT system of the active set, with the sign pattern fixed;
    # coordinates that SLSQP left tiny (exact zeros of the optimum are common for p < 2,
    # where |θ|^{p-1} is not Lipschitz at 0) are also tried at exactly 0
    active = [int(i) for i in np.nonzero(A @ theta < 1 + 1e-6)[0]]
    S = np.array(active, dtype=int)
    big = np.abs(theta) > 1e-7 * np.max(np.abs(theta))
    for supp in ([True] * d, big) if not big.all() else ([True] * d,):
        supp = np.asarray(supp, dtype=bool)
        theta = _kkt_newton(A, S, theta, supp, p, fun, jac, root) if supp.any() else theta
    value = float(q_inf(theta, h))
    # λ for the norm (not the p-th power): ∇‖θ‖_p = ∇(‖θ‖_p^p/p) / ‖θ‖_p^{p-1}
    lam = _nnls(A.T, jac(theta) / value ** (p - 1))
    # dual route: 1/Q* = min_{μ in simplex} ‖Aᵀμ‖_q
    mu0 = np.full(n, 1.0 / n)
    rd = minimize(lambda mu: float(np.sum(np.abs(A.T @ mu) ** qexp)) ** (1 / qexp), mu0,
                  method="SLSQP", bounds=[(0, None)] * n,
                  constraints=[{"type": "eq", "fun": lambda mu: np.sum(mu) - 1.0}],
                  options={"ftol": 1e-15, "maxiter": 1000})
    dual_value = 1.0 / float(rd.fun)
    kkt = kkt_residual(theta, A, h)
    return MaxMarginResult(h, theta, value, lam, dual_value, True, 0.0, kkt,
                           "SLSQP + KKT Newton polish; dual SLSQP on the simplex", active)


def _kkt_newton(A, S, theta, supp, p, fun, jac, root):
    """Newton on ``∇(‖θ‖_p^p/p) = A_Sᵀλ, A_S θ = 1`` over the coordinates ``supp`` (the others
    fixed at 0); returns the polished point if it is feasible, no worse and KKT-accurate."""
    As = A[S][:, supp]
    k = int(supp.sum())
    th0 = theta[supp]
    lam0 = _nnls(As.T, jac(th0))

    def F(v):
        th, lam = v[:k], v[k:]
        return np.concatenate([np.sign(th) * np.abs(th) ** (p - 1) - As.T @ lam, As @ th - 1.0])

    try:
        sol = root(F, np.concatenate([th0, lam0]), method="hybr", options={"xtol": 1e-15})
    except Exception:
        return theta
    # hybr often reports "not making good progress" at machine precision: judge by residual
    if not (np.all(np.isfinite(sol.x)) and float(np.max(np.abs(F(sol.x)))) < 1e-13):
        return theta
    th2 = np.zeros_like(theta)
    th2[supp] = sol.x[:k]
    lam2 = sol.x[k:]
    if (np.all(lam2 >= -1e-12) and np.min(A @ th2) > 1 - 1e-12
            and fun(th2) <= fun(theta) * (1 + 1e-9)):
        g = jac(th2)
        # zero coordinates need (A_Sᵀλ)_j = 0 (the gradient of |θ|^p/p vanishes there)
        full = np.zeros(A.shape[0])
        full[S] = lam2
        if np.max(np.abs(g - A.T @ full)) < 1e-10:
            return th2
    return theta


def _linear_constraint(A):
    from scipy.optimize import LinearConstraint
    return LinearConstraint(A, lb=np.ones(A.shape[0]), ub=np.inf)


def _nnls(M, b):
    from scipy.optimize import nnls
    x, _ = nnls(np.asarray(M, dtype=float), np.asarray(b, dtype=float), maxiter=1000)
    return x


# ----------------------------------------------------------------------------------------
# KKT residual

@dataclass
class KKTResidual:
    """KKT residual of a point for ``(P_Q)`` after rescaling to min margin 1."""
    stationarity: float
    subgradient_gap: float
    complementary: float
    multipliers: np.ndarray
    scale: float

    @property
    def total(self) -> float:
        return self.stationarity + self.subgradient_gap + self.complementary

    def to_dict(self) -> dict:
        return {"stationarity": f"{self.stationarity:.3e}",
                "subgradient_gap": f"{self.subgradient_gap:.3e}",
                "complementary": f"{self.complementary:.3e}", "total": f"{self.total:.3e}"}


def kkt_residual(theta: Sequence[Any], A: Any, horizon: Any, *, L: int = 1,
                 margins: Optional[Sequence[float]] = None,
                 margin_grads: Optional[np.ndarray] = None) -> KKTResidual:
    """KKT residual of ``θ`` for ``(P_Q)``; see the module docstring.

    Linear model: ``A`` has rows ``a_i = y_i x_i``.  For an ``L``-homogeneous model pass
    ``margins`` ``q_i(θ)`` and ``margin_grads`` ``∇q_i(θ)`` (rows) instead (``A`` ignored):
    the rescaling ``θ̂ = θ/(min q)^{1/L}`` gives ``q_i(θ̂) = q_i/min q`` and
    ``∇q_i(θ̂) = ∇q_i(θ)/(min q)^{(L-1)/L}``.
    """
    h = as_horizon(horizon)
    th = np.array([float(v) for v in theta])
    if margins is None:
        M = _check_A(A)
        q = M @ th
        grads = M
    else:
        q = np.array([float(v) for v in margins])
        grads = np.asarray(margin_grads, dtype=float)
    qmin = float(q.min())
    if not qmin > 0:
        raise MarginError("the KKT residual needs all margins positive (min q = "
                          f"{qmin:.3g})")
    scale = qmin ** (1.0 / L)
    th_hat = th / scale
    q_hat = q / qmin
    grads_hat = grads / qmin ** ((L - 1.0) / L)
    n, d = grads_hat.shape
    Qv = q_inf(th_hat, h)
    slack = q_hat - 1.0
    if h.kind == "lp":
        g = np.sign(th_hat) * (np.abs(th_hat) / Qv) ** (h.p - 1)
        # NNLS on the stacked system [Gᵀ; diag(slack)/Q] λ ≈ [g; 0]: stationarity and
        # complementary slackness together (NNLS on stationarity alone can pick
        # multipliers on non-active constraints when n > d)
        M = np.vstack([grads_hat.T, np.diag(slack / Qv)])
        lam = _nnls(M, np.concatenate([g, np.zeros(n)]))
        stat = float(np.linalg.norm(g - grads_hat.T @ lam))
        gap = 0.0
    else:
        lam, stat, gap = _kkt_lp(th_hat, grads_hat, h, slack)
    comp = float(lam @ slack) / Qv
    return KKTResidual(stat, gap, comp, lam, scale)


def _kkt_lp(th, G, h: Horizon, slack):
    """min ‖g − Gᵀλ‖_1 + (Q(θ) − ⟨g,θ⟩)/Q(θ) + Σλ_i slack_i/Q(θ) over ‖g‖_* ≤ 1, λ ≥ 0."""
    n, d = G.shape
    Qv = q_inf(th, h)
    thn = th / Qv
    # variables: lam (n) >= 0, r (d) >= 0 residual bounds, gp, gm (d) >= 0 with g = gp - gm
    nv = n + 3 * d
    c = np.zeros(nv)
    c[:n] = slack / Qv
    c[n:n + d] = 1.0
    c[n + d:n + 2 * d] = -thn      # -<g, θ/Q>
    c[n + 2 * d:] = thn
    rows, rhs = [], []
    I = np.eye(d)
    # g - Gᵀλ <= r  and  -(g - Gᵀλ) <= r
    rows.append(np.hstack([-G.T, -I, I, -I]))
    rhs.append(np.zeros(d))
    rows.append(np.hstack([G.T, -I, -I, I]))
    rhs.append(np.zeros(d))
    bounds = [(0, None)] * nv
    if h.kind == "l1":                        # ‖g‖_∞ ≤ 1: gp_j, gm_j ≤ 1 suffices (|gp-gm| ≤ 1)
        rows.append(np.hstack([np.zeros((d, n + d)), I, I]))
        rhs.append(np.ones(d))
    else:                                     # ‖g‖_1 ≤ 1
        rows.append(np.concatenate([np.zeros(n + d), np.ones(2 * d)])[None, :])
        rhs.append(np.ones(1))
    r = _linprog(c, np.vstack(rows), np.concatenate(rhs), bounds=bounds)
    if r.status != 0:
        raise MarginError(f"KKT linear program failed: {r.message}")
    x = r.x
    lam = x[:n]
    res = x[n:n + d]
    g = x[n + d:n + 2 * d] - x[n + 2 * d:]
    stat = float(np.sum(np.abs(g - G.T @ lam)))
    gap = float(max(0.0, 1.0 - g @ thn))
    del res
    return lam, stat, gap
