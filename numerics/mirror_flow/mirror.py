"""Mirror flow and mirror descent for separable potentials (docs/mirror_flow.md: MF-2, MF-3, MF-5, MF-6, MF-9).

Mirror flow with ``R(θ) = Σ_j φ(θ_j)`` is integrated in the dual variable ``z = φ'(θ)``:

    ż = −∇ℒ(θ),    θ = ψ(z) := (φ')^{-1}(z),

or, equivalently, in the primal variable ``θ̇_j = −∂_jℒ(θ)/φ''(θ_j)``.

Flows
    * :func:`mirror_flow`: time ``t``, arbitrary precision (the Taylor integrator of
      :mod:`numerics.core.taylor`), ``route="primal"`` or ``"dual"`` (two independent routes;
      their final states must agree), optionally with the MF-3 witness state
      ``E(t) = ∫_0^t L Σ_i (−ℓ'(q_i)) q_i dt``.
    * :func:`rescaled_flow`: exponential/logistic loss on separable data in the rescaled
      time ``ds = ℒ dt``: ``dz/ds = Σ_i w_i ∇q_i(θ)`` with ``w_i = −ℓ'(q_i)/ℒ`` (a softmax
      of ``−q`` for the exponential loss, computed by log-sum-exp), and
      ``v = log(1 + t)`` through ``dv/ds = exp(−log ℒ − v)``: losses far below 1e−308 are
      never formed.  float64 with scipy's ``LSODA`` (Adams/BDF switching: the flow of a
      potential whose ``ψ'`` grows, e.g. hyperbolic entropy, is stiff in ``s`` with
      stiffness ``~ Q_∞(θ)``, and ``|x|^p/p`` with ``p > 2`` has ``ψ'(0) = ∞``), analytic
      Jacobian for the linear model; float64 holds while margin differences of order 1
      stay resolvable (measured: hyperbolic entropy up to ``Q_∞ ≈ 3·10^8``, ``s = 16``;
      LSODA fails beyond ``Q_∞ ≈ 10^9``).
      :func:`rescaled_flow_mp` integrates the same system with the Taylor integrator
      at ``dps`` digits (non-stiff potentials; a cross-check of the float64 route).
    * :func:`mirror_descent`: explicit Euler in ``z``:
      ``z_{k+1} = z_k − η ∇ℒ(ψ(z_k))`` (float64 or mpmath); first-order accurate
      approximation of :func:`mirror_flow` as ``η → 0``.

Monitored quantities: :meth:`MirrorProblem.balances` (MF-2: per hidden unit
``Σ_in G(θ_j) − s Σ_out G(θ_j)``), :meth:`MirrorProblem.euclidean_balances` (the same with
the quadratic ``G = x²/2``: the falsifier), :meth:`MirrorProblem.dual_energy` (MF-3:
``Σ_j G(θ_j)``).
"""
from __future__ import annotations

import functools
import math
import time as _time
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import mpmath
import numpy as np
import sympy as sp

from derivations.kernels import to_mpf
from numerics.core.exact import exact_number
from numerics.core.experiment import fit_exponent  # noqa: F401  (re-exported: the exponent fits of MF-9)
from numerics.mirror_flow.margins import Horizon, q_inf, smoothed_margin
from numerics.mirror_flow.mirror_map import MirrorError, _taylor_friendly, mirror_map
from numerics.mirror_flow.networks import Dataset, LinearModel

__all__ = [
    "MpVector", "MirrorProblem", "MirrorFlowResult", "mirror_flow", "RescaledFlowResult", "rescaled_flow",
    "rescaled_flow_mp", "mirror_descent", "MirrorDescentResult", "fit_exponent",
]


# ----------------------------------------------------------------------------------------
# losses

def _loss_expr(q, loss):
    if loss == "exp":
        return sp.exp(-q)
    if loss == "logistic":
        return sp.log(1 + sp.exp(-q))
    raise MirrorError(f"loss must be 'exp' or 'logistic', got {loss!r}")


def _neg_dloss_expr(q, loss):
    """``−ℓ'(q)``."""
    if loss == "exp":
        return sp.exp(-q)
    return 1 / (1 + sp.exp(q))


# ----------------------------------------------------------------------------------------
# the problem: model + data + potential + loss

GUARD_DIGITS = 10  # digits added when a quantity is evaluated on a state of known precision


class MpVector(list):
    """A state of mpf values that remembers the precision (``dps``, decimal digits) it was
    computed at.  Every result of the arbitrary-precision flows holds its states as
    ``MpVector``, and :class:`MirrorProblem` evaluates a quantity of one at that precision
    (plus :data:`GUARD_DIGITS`), whatever mpmath's global precision is: the precision
    travels with the result.

    >>> v = MpVector([mpmath.mpf(2)], dps=40)
    >>> v.dps, MpVector(v).dps, MpVector(v[:1], dps=20).dps
    (40, 40, 20)
    """

    def __init__(self, values=(), dps: Optional[int] = None):
        super().__init__(values)
        self.dps = getattr(values, "dps", None) if dps is None else dps


def _at_state_precision(method):
    """Run ``method(self, theta, ...)`` at the precision ``theta`` carries (if it is an MpVector)."""
    @functools.wraps(method)
    def at_precision(self, theta, *args, **kwargs):
        dps = getattr(theta, "dps", None)
        if dps is None:
            return method(self, theta, *args, **kwargs)
        with mpmath.workdps(max(mpmath.mp.dps, dps + GUARD_DIGITS)):
            return method(self, theta, *args, **kwargs)
    return at_precision


class MirrorProblem:
    """Mirror flow of ``ℒ(θ) = Σ_i ℓ(y_i f(θ; x_i))`` with potential ``Σ_j φ(θ_j)``.

    ``model``: :class:`LinearModel` or :class:`TwoLayerNet`; ``data``: :class:`Dataset`;
    ``potential``: anything :func:`mirror_map` accepts; ``loss``: ``"exp"`` or
    ``"logistic"``.  Builds the sympy margins ``q_i(θ)`` (exact data) and compiles float64
    and mpmath evaluators of the margins and their gradients.
    """

    def __init__(self, model, data: Dataset, potential: Any, loss: str = "exp", *,
                 horizon: Any = None):
        if loss not in ("exp", "logistic"):
            raise MirrorError(f"loss must be 'exp' or 'logistic', got {loss!r}")
        if not isinstance(data, Dataset):
            raise MirrorError(f"data must be a Dataset, got {type(data).__name__}")
        if data.dim != model.dim:
            raise MirrorError(f"data have dimension {data.dim}, the model expects {model.dim}")
        self.model, self.data, self.loss = model, data, loss
        self.mirror = mirror_map(potential, horizon=horizon)
        self.L = model.L
        self.theta_syms = [sp.Symbol(nm, real=True) for nm in model.param_names()]
        self.z_syms = [sp.Symbol("z_" + nm, real=True) for nm in model.param_names()]
        self.P = model.n_params
        self.margin_exprs = [sp.expand(yi * model.output(self.theta_syms, xi))
                             if isinstance(model, LinearModel) else
                             yi * model.output(self.theta_syms, xi)
                             for xi, yi in zip(data.X, data.y)]
        self.loss_expr = sp.Add(*[_loss_expr(q, loss) for q in self.margin_exprs])
        self._num: dict = {}
        self.A = data.signed() if isinstance(model, LinearModel) else None

    @property
    def horizon(self) -> Optional[Horizon]:
        return self.mirror.horizon

    def __repr__(self):
        return (f"<MirrorProblem {self.model!r} n={self.data.n} potential={self.mirror.name!r}"
                f" loss={self.loss}>")

    # -- numeric evaluators -------------------------------------------------------------
    def _compiled(self, module):
        if module not in self._num:
            q = sp.Matrix(self.margin_exprs)
            J = q.jacobian(self.theta_syms)
            if module == "mpmath":
                fq = sp.lambdify([self.theta_syms], list(q), modules="mpmath", cse=True)
                fJ = sp.lambdify([self.theta_syms], J.tolist(), modules="mpmath", cse=True)
            else:
                fq = sp.lambdify([self.theta_syms], list(q), modules="numpy", cse=True)
                fJ = sp.lambdify([self.theta_syms], J.tolist(), modules="numpy", cse=True)
            self._num[module] = (fq, fJ)
        return self._num[module]

    @_at_state_precision
    def margins(self, theta):
        """``q_i(θ)`` — numpy array for float input, list of mpf for mpf input."""
        if _is_mp_vec(theta):
            return list(self._compiled("mpmath")[0](list(theta)))
        th = np.asarray(theta, dtype=float)
        if self.A is not None:
            return self.A @ th
        return np.asarray(self._compiled("numpy")[0](list(th)), dtype=float)

    @_at_state_precision
    def margin_grads(self, theta):
        """Rows ``∇q_i(θ)`` (numpy ``(n, P)`` or nested lists of mpf)."""
        if _is_mp_vec(theta):
            return self._compiled("mpmath")[1](list(theta))
        th = np.asarray(theta, dtype=float)
        if self.A is not None:
            return self.A
        return np.asarray(self._compiled("numpy")[1](list(th)), dtype=float)

    @_at_state_precision
    def log_loss(self, theta):
        """``log ℒ(θ)`` by log-sum-exp (float or mpf)."""
        q = self.margins(theta)
        if _is_mp_vec(theta):
            return _mp_logsumexp([_mp_log_ell(v, self.loss) for v in q])
        return float(_np_logsumexp(_np_log_ell(np.asarray(q), self.loss)))

    @_at_state_precision
    def grad_loss(self, theta):
        """``∇ℒ(θ) = Σ_i ℓ'(q_i) ∇q_i`` (float or mpf)."""
        q = self.margins(theta)
        J = self.margin_grads(theta)
        if _is_mp_vec(theta):
            dl = [-_mp_neg_dloss(v, self.loss) for v in q]
            return [mpmath.fsum(dl[i] * J[i][j] for i in range(len(q))) for j in range(self.P)]
        dl = -np.exp(_np_log_neg_dloss(np.asarray(q), self.loss))
        return dl @ np.asarray(J)

    @_at_state_precision
    def theta_of_z(self, z):
        return [self.mirror.inv(v) for v in z] if _is_mp_vec(z) else \
            np.array([self.mirror.inv(float(v)) for v in z])

    @_at_state_precision
    def z_of_theta(self, theta):
        return [self.mirror.dphi(v) for v in theta] if _is_mp_vec(theta) else \
            np.array([self.mirror.dphi(float(v)) for v in theta])

    # -- monitored quantities -------------------------------------------------------------
    @_at_state_precision
    def balances(self, theta, *, G: Optional[Callable] = None) -> list:
        """MF-2: per hidden unit ``Σ_in G(θ_j) − s Σ_out G(θ_j)`` (``G`` of the potential)."""
        if not self.model.units:
            raise MirrorError(f"{self.model!r} has no hidden units: no balance law")
        G = G or self.mirror.G
        s = self.model.s
        out = []
        for ins, outs in self.model.units:
            out.append(sum(G(theta[j]) for j in ins) - s * sum(G(theta[j]) for j in outs))
        return out

    def euclidean_balances(self, theta) -> list:
        """The same with the quadratic ``G = x²/2`` (Du–Hu–Lee): the MF-2 falsifier."""
        return self.balances(theta, G=lambda t: t * t / 2)

    @_at_state_precision
    def dual_energy(self, theta):
        """MF-3: ``Σ_j G(θ_j)``."""
        vals = [self.mirror.G(t) for t in theta]
        return mpmath.fsum(vals) if _is_mp_vec(theta) else float(math.fsum(vals))

    @_at_state_precision
    def energy_rate(self, theta):
        """MF-3 right side ``L Σ_i (−ℓ'(q_i)) q_i``."""
        q = self.margins(theta)
        if _is_mp_vec(theta):
            return self.L * mpmath.fsum(_mp_neg_dloss(v, self.loss) * v for v in q)
        q = np.asarray(q)
        return float(self.L * np.sum(np.exp(_np_log_neg_dloss(q, self.loss)) * q))

    # -- Taylor systems -------------------------------------------------------------------
    def taylor_system(self, route: str = "primal", *, energy: bool = False):
        """The mirror flow in time ``t`` as a :class:`numerics.core.taylor.TaylorSystem`.

        ``route="primal"``: state ``θ``, ``θ̇_j = −∂_jℒ/φ''(θ_j)``; ``"dual"``: state ``z``,
        ``ż_j = −∂_jℒ(ψ(z))`` with the closed-form ``ψ``.  ``energy=True`` appends the
        state ``E`` with ``Ė = L Σ_i (−ℓ'(q_i)) q_i`` (MF-3 witness).
        """
        from numerics.core.taylor import TaylorSystem
        key = ("taylor", route, energy)
        if key in self._num:
            return self._num[key]
        th = self.theta_syms
        grad = [sp.diff(self.loss_expr, t) for t in th]
        E = sp.Symbol("E_energy", real=True)
        rate = self.L * sp.Add(*[_neg_dloss_expr(q, self.loss) * q for q in self.margin_exprs])
        if route == "primal":
            state = list(th)
            rhs = [-g / self.mirror.d2phi_expr(t) for g, t in zip(grad, th)]
        elif route == "dual":
            state = list(self.z_syms)
            sub = {t: self.mirror.inverse_expr(z) for t, z in zip(th, self.z_syms)}
            rhs = [-g.xreplace(sub) for g in grad]
            rate = rate.xreplace(sub)
        else:
            raise MirrorError(f"route must be 'primal' or 'dual', got {route!r}")
        rhs = [_taylor_friendly(e) for e in rhs]
        if energy:
            state.append(E)
            rhs.append(_taylor_friendly(rate))
        sysm = TaylorSystem(state, rhs, name=f"mirror_{route}")
        self._num[key] = sysm
        return sysm

    def rescaled_taylor_system(self):
        """Rescaled-time system (state ``z``, ``v = log(1+t)``) for :func:`rescaled_flow_mp`."""
        from numerics.core.taylor import TaylorSystem
        key = ("taylor_rescaled",)
        if key in self._num:
            return self._num[key]
        th = self.theta_syms
        sub = {t: self.mirror.inverse_expr(z) for t, z in zip(th, self.z_syms)}
        v = sp.Symbol("v_logt", real=True)
        ells = [_loss_expr(q, self.loss) for q in self.margin_exprs]
        Ls = sp.Add(*ells)
        grads = [[sp.diff(q, t) for t in th] for q in self.margin_exprs]
        w = [_neg_dloss_expr(q, self.loss) / Ls for q in self.margin_exprs]
        rhs = [sp.Add(*[w[i] * grads[i][j] for i in range(self.data.n)]) for j in range(self.P)]
        rhs.append(sp.exp(-v) / Ls)
        rhs = [_taylor_friendly(e.xreplace(sub)) for e in rhs]
        sysm = TaylorSystem(list(self.z_syms) + [v], rhs, name="mirror_rescaled")
        self._num[key] = sysm
        return sysm


def _is_mp_vec(v) -> bool:
    try:
        return len(v) > 0 and isinstance(v[0], mpmath.mpf)
    except TypeError:
        return False


# log-space loss helpers -------------------------------------------------------------------

def _np_log_ell(q, loss):
    """``log ℓ(q)`` elementwise without underflow."""
    if loss == "exp":
        return -q
    sp_ = np.logaddexp(0.0, -q)                 # softplus(-q) = ℓ(q)
    big = q > 30
    out = np.empty_like(q)
    with np.errstate(divide="ignore"):
        out[~big] = np.log(sp_[~big])
    u = np.exp(-q[big])
    out[big] = -q[big] - u / 2     # log ℓ = −q + log(log1p(u)/u) = −q − u/2 + O(u²)
    return out


def _np_log_neg_dloss(q, loss):
    """``log(−ℓ'(q))``."""
    if loss == "exp":
        return -q
    return -np.logaddexp(0.0, q)


def _np_dlog_neg_dloss(q, loss):
    """``d/dq log(−ℓ'(q))``."""
    if loss == "exp":
        return -np.ones_like(q)
    return -1.0 / (1.0 + np.exp(-q))


def _mp_log_ell(q, loss):
    if loss == "exp":
        return -q
    u = mpmath.exp(-q)
    return mpmath.log(mpmath.log1p(u))


def _mp_neg_dloss(q, loss):
    if loss == "exp":
        return mpmath.exp(-q)
    return 1 / (1 + mpmath.exp(q))


def _np_logsumexp(a):
    # by hand, not scipy.special.logsumexp: this runs in every evaluation of the rescaled
    # flow's right-hand side, where scipy's version is 10x slower on a few margins (37 vs 4 us)
    m = np.max(a)
    return m + np.log(np.sum(np.exp(a - m)))


def _mp_logsumexp(vals):
    m = max(vals)
    return m + mpmath.log(mpmath.fsum(mpmath.exp(v - m) for v in vals))


# ----------------------------------------------------------------------------------------
# mirror flow in time t (Taylor, arbitrary precision)

@dataclass
class MirrorFlowResult:
    """Output of :func:`mirror_flow`: ``t``, ``theta`` (lists of mpf), ``energy_witness``
    (``E(t)`` or ``None``), the :class:`numerics.core.taylor.TaylorResult` ``taylor``."""
    t: list
    theta: list
    z: list
    energy_witness: Optional[list]
    route: str
    dps: int
    taylor: Any

    def to_dict(self, digits: int = 20) -> dict:
        s = lambda v: mpmath.nstr(v, digits)  # noqa: E731
        return {"route": self.route, "dps": self.dps, "t": [s(v) for v in self.t],
                "theta": [[s(v) for v in r] for r in self.theta],
                "integrator": self.taylor.integrator, "steps": self.taylor.steps,
                "order": self.taylor.order, "seconds": self.taylor.seconds}


def mirror_flow(problem: MirrorProblem, theta0: Sequence[Any], t_end: Any, *, dps: int,
                times: Optional[Sequence[Any]] = None, route: str = "primal",
                energy: bool = False, tol: Any = None) -> MirrorFlowResult:
    """Integrate the mirror flow from ``θ(0) = theta0`` to ``t_end`` at ``dps`` digits.

    ``theta0`` exact values are welcome (Fractions, sympy Rationals, strings).  For
    ``route="dual"`` the initial dual point ``z0 = φ'(θ0)`` is computed at ``dps + 20``
    digits.  Returns :class:`MirrorFlowResult` (``theta`` at ``times`` or ``t_end``).
    """
    from numerics.core.taylor import integrate
    if len(theta0) != problem.P:
        raise MirrorError(f"theta0 must have {problem.P} entries, got {len(theta0)}")
    sysm = problem.taylor_system(route, energy=energy)
    with mpmath.workdps(dps + 20):
        th0 = [to_mpf(v) for v in theta0]
        if route == "dual":
            y0 = [problem.mirror.dphi(v) for v in th0]
        else:
            y0 = [exact_number(v, "theta0") for v in theta0]
    if energy:
        y0 = list(y0) + [0]
    res = integrate(sysm, y0, t_end, dps=dps, times=times, tol=tol)
    P = problem.P
    with mpmath.workdps(dps + 10):
        if route == "dual":
            zs = [MpVector(r[:P], dps) for r in res.y]
            ths = [MpVector([problem.mirror.inv(v) for v in r], dps) for r in zs]
        else:
            ths = [MpVector(r[:P], dps) for r in res.y]
            zs = [MpVector([problem.mirror.dphi(v) for v in r], dps) for r in ths]
    ew = [r[P] for r in res.y] if energy else None
    return MirrorFlowResult(list(res.t), ths, zs, ew, route, dps, res)


# ----------------------------------------------------------------------------------------
# rescaled time (exponential / logistic loss on separable data)

@dataclass
class RescaledFlowResult:
    """Output of :func:`rescaled_flow` / :func:`rescaled_flow_mp` at the sample points ``s``.

    Arrays (float64, or lists of mpf for the mp route): ``z``, ``theta``, ``log_t``,
    ``log_loss``, ``margins`` (min margin), and, when the potential has a horizon,
    ``Q`` (``Q_∞(θ)``), ``q_margin`` (``γ_Q``), ``smoothed``.
    """
    s: Any
    z: Any
    theta: Any
    log_t: Any
    log_loss: Any
    min_margin: Any
    Q: Any
    q_margin: Any
    smoothed: Any
    L: int
    stats: dict

    def to_dict(self, digits: int = 10) -> dict:
        f = lambda v: mpmath.nstr(v, digits) if isinstance(v, mpmath.mpf) else f"{float(v):.{digits}g}"  # noqa: E731
        out = {"s": [f(v) for v in self.s], "log_t": [f(v) for v in self.log_t],
               "log_loss": [f(v) for v in self.log_loss],
               "theta": [[f(v) for v in r] for r in self.theta], "stats": self.stats}
        if self.Q is not None:
            out["Q"] = [f(v) for v in self.Q]
            out["q_margin"] = [f(v) for v in self.q_margin]
            out["smoothed_margin"] = [f(v) for v in self.smoothed]
        return out


def _rescaled_rhs_and_jac(problem: MirrorProblem):
    mm = problem.mirror
    P = problem.P
    loss = problem.loss
    lin = problem.A is not None

    def theta_dtheta(z):
        th = np.empty(P)
        dth = np.empty(P)
        for j in range(P):
            th[j] = mm.inv(float(z[j]))
            dth[j] = min(float(mm.dinv(float(z[j]))), 1e300)   # psi'(0) = inf for p > 2
        return th, dth

    def parts(y):
        z = y[:P]
        th, dth = theta_dtheta(z)
        q = problem.margins(th)
        Jq = problem.margin_grads(th)
        lell = _np_log_ell(q, loss)
        logL = float(_np_logsumexp(lell))
        w = np.exp(_np_log_neg_dloss(q, loss) - logL)
        return th, dth, q, Jq, logL, w

    def rhs(s, y):
        try:
            th, dth, q, Jq, logL, w = parts(y)
            out = np.empty(P + 1)
            out[:P] = w @ Jq
            out[P] = math.exp(min(-logL - y[P], 700.0))
        except (MirrorError, OverflowError, FloatingPointError, ValueError):
            # an implicit solver's Newton iterate left the float64 range: report NaN so
            # that the solver rejects the step and retries with a smaller one
            return np.full(P + 1, np.nan)
        return out

    jac = None
    if lin:
        A = problem.A

        def jac(s, y):
            try:
                th, dth, q, Jq, logL, w = parts(y)
            except (MirrorError, OverflowError, FloatingPointError, ValueError):
                return np.full((P + 1, P + 1), np.nan)
            hp = _np_dlog_neg_dloss(q, loss)
            # dw_i/dq_k = w_i (h'(q_i) δ_ik + w_k)   (d logℒ/dq_k = -w_k)
            dWdq = np.diag(w * hp) + np.outer(w, w)
            dqdz = A * dth[None, :]
            J = np.zeros((P + 1, P + 1))
            J[:P, :P] = A.T @ dWdq @ dqdz
            e = math.exp(min(-logL - y[P], 700.0))
            # d(-logℒ)/dz = Σ_k w_k dq_k/dz
            J[P, :P] = e * (w @ dqdz)
            J[P, P] = -e
            return J
    return rhs, jac, parts


def rescaled_flow(problem: MirrorProblem, s_end: float, *, s_eval: Optional[Sequence[float]] = None,
                  theta0: Optional[Sequence[Any]] = None, rtol: float = 1e-10,
                  atol: float = 1e-12, method: str = "LSODA", first_step: Optional[float] = None,
                  max_step: float = math.inf, theta_max: float = 1e12,
                  max_nfev: int = 200_000) -> RescaledFlowResult:
    """float64 mirror flow in the rescaled time ``s`` (``ds = ℒ dt``), see the module doc.

    ``theta0`` defaults to 0 (``z = 0``, the minimiser of ``R``) — for a network, whose
    gradient vanishes at 0, pass a non-zero initialization.  ``s_eval`` are the output
    points (default: ``s_end`` only).  ``method``: a ``solve_ivp`` method; ``"LSODA"``
    (default) switches between Adams and BDF and handles both the stiff hyperbolic-entropy
    flow and the ``ψ'(0) = ∞`` start of ``|x|^p/p``, ``p > 2`` (measured: 100–1000 times
    fewer evaluations than ``"Radau"`` on those, same values to 1e-11).

    Guards (float64 cannot resolve margin differences of order 1 once ``|θ| ≳ 1e12``):
    the integration stops when ``max_j |θ_j| > theta_max`` or after ``max_nfev``
    evaluations; the result then holds only the ``s_eval`` points reached and
    ``stats["stopped"]`` says why.  For ``L > 1`` the parameters grow exponentially in
    ``s`` (doubly exponentially with hyperbolic entropy), so useful ``s`` ranges are short.
    """
    from scipy.integrate import solve_ivp
    P = problem.P
    th0 = np.zeros(P) if theta0 is None else np.array([float(v) for v in theta0])
    z0 = problem.z_of_theta(th0)
    rhs, jac, parts = _rescaled_rhs_and_jac(problem)
    y0 = np.concatenate([z0, [0.0]])
    s_start = 0.0
    if any(problem.mirror.dinv(float(v)) == math.inf for v in z0):
        # psi'(z0) = inf (e.g. |x|^p/p with p > 2 at z = 0): an implicit solver cannot
        # start there.  One explicit Euler step of length 1e-12 (local error
        # O(s^{1+1/(p-1)}) < 1e-15 for p <= 4), then the implicit solver.
        s_start = 1e-12
        y0 = y0 + s_start * rhs(0.0, y0)
    s_eval = [float(s_end)] if s_eval is None else [float(v) for v in s_eval]
    s_eval = [max(v, s_start) for v in s_eval]
    kw = {}
    if method in ("Radau", "BDF", "LSODA") and jac is not None:
        kw["jac"] = jac
    if first_step is not None:
        kw["first_step"] = first_step
    counter = [0]

    class _Budget(Exception):
        pass

    def rhs_counted(s, y):
        counter[0] += 1
        if counter[0] > max_nfev:
            raise _Budget()
        return rhs(s, y)

    log_tmax = math.log(theta_max)

    def too_big(s, y):
        zmax = float(np.max(np.abs(y[:P])))
        try:
            tm = abs(problem.mirror.inv(zmax))
        except (MirrorError, OverflowError):
            return 1.0
        return (math.log(tm) if tm > 0 else -700.0) - log_tmax

    too_big.terminal = True
    too_big.direction = 1
    stopped = None
    t0 = _time.perf_counter()
    with np.errstate(over="ignore", invalid="ignore"):
        try:
            sol = solve_ivp(rhs_counted, (s_start, float(s_end)), y0, method=method,
                            t_eval=s_eval, rtol=rtol, atol=atol, max_step=max_step,
                            events=too_big, **kw)
        except _Budget:
            sol = None
            stopped = f"evaluation budget max_nfev={max_nfev} exhausted"
    secs = _time.perf_counter() - t0
    if sol is None:
        # rerun up to the budget with dense output is costly; redo with a shorter horizon
        raise MirrorError(f"rescaled flow: {stopped} before s = {s_end} ({secs:.1f} s); "
                          "shorten s_end (the flow may be too stiff for float64 here)")
    if sol.status == 1:
        stopped = (f"max|theta| reached theta_max = {theta_max:g} at s = "
                   f"{float(sol.t_events[0][0]):.6g}")
    if not sol.success:
        raise MirrorError(f"solve_ivp({method}) failed: {sol.message} (the iterate may have "
                          "left the float64 range: shorten s_end or use rescaled_flow_mp)")
    Y = sol.y.T
    if not np.all(np.isfinite(Y)):
        raise MirrorError("the float64 rescaled flow produced non-finite values")
    thetas, logLs, mins = [], [], []
    for y in Y:
        th, dth, q, Jq, logL, w = parts(y)
        thetas.append(th)
        logLs.append(logL)
        mins.append(float(np.min(q)))
    thetas = np.array(thetas)
    v = Y[:, P]
    log_t = v + np.log(-np.expm1(-v))     # log t = v + log(1 - e^{-v})
    Q = qm = sm = None
    h = problem.horizon
    if h is not None:
        Q = np.array([q_inf(th, h) for th in thetas])
        qm = np.array(mins) / Q ** problem.L
        sm = np.array([smoothed_margin(ll, Qv, problem.L, problem.loss) for ll, Qv in zip(logLs, Q)])
    stats = {"integrator": f"scipy solve_ivp {method} (float64), rescaled time ds = L dt",
             "rtol": rtol, "atol": atol, "nfev": int(sol.nfev), "njev": int(sol.njev),
             "nlu": int(sol.nlu), "seconds": round(secs, 4),
             "jacobian": "analytic" if "jac" in kw else "finite differences",
             "stopped": stopped}
    return RescaledFlowResult(np.asarray(sol.t), Y[:, :P], thetas, log_t, np.array(logLs),
                              np.array(mins), Q, qm, sm, problem.L, stats)


def rescaled_flow_mp(problem: MirrorProblem, s_end: Any, *, dps: int,
                     s_eval: Optional[Sequence[Any]] = None,
                     theta0: Optional[Sequence[Any]] = None) -> RescaledFlowResult:
    """The rescaled-time flow at ``dps`` digits with the Taylor integrator.

    Needs the closed-form inverse mirror map.  The Taylor method is explicit: use it for
    potentials whose flow is not stiff in ``s`` (quadratic, ``ℓp`` with ``p ≥ 2``,
    quadratic+quartic, cosh); for hyperbolic entropy its step shrinks like ``1/Q_∞``.
    MPFR's exponent range (about ``2^{±10^9}``) covers ``e^{-q}`` for ``q < 7·10^8``.
    """
    from numerics.core.taylor import integrate
    P = problem.P
    sysm = problem.rescaled_taylor_system()
    with mpmath.workdps(dps + 20):
        th0 = [mpmath.mpf(0)] * P if theta0 is None else [to_mpf(v) for v in theta0]
        z0 = [problem.mirror.dphi(v) for v in th0]
    if not problem.mirror.inverse_odd_analytic and any(v == 0 for v in z0):
        raise MirrorError(f"rescaled_flow_mp: psi(z) = sign(z) psi_+(|z|) for {problem.mirror.name}"
                          " is not analytic at z = 0 and the flow starts there; start from a "
                          "point with all theta_j != 0 or use rescaled_flow (float64)")
    res = integrate(sysm, z0 + [0], s_end, dps=dps, times=s_eval)
    zs, thetas, logLs, mins, logts = [], [], [], [], []
    Q = qm = sm = None
    with mpmath.workdps(dps):
        for row in res.y:
            z = MpVector(row[:P], dps)
            th = MpVector([problem.mirror.inv(v) for v in z], dps)
            q = problem.margins(th)
            zs.append(z)
            thetas.append(th)
            logLs.append(_mp_logsumexp([_mp_log_ell(v, problem.loss) for v in q]))
            mins.append(min(q))
            vv = row[P]
            logts.append(vv + mpmath.log(-mpmath.expm1(-vv)))
        h = problem.horizon
        if h is not None:
            Q = [q_inf(th, h) for th in thetas]
            qm = [m / Qv ** problem.L for m, Qv in zip(mins, Q)]
            sm = [smoothed_margin(ll, Qv, problem.L, problem.loss) for ll, Qv in zip(logLs, Q)]
    stats = {"integrator": res.integrator + ", rescaled time ds = L dt", "dps": dps,
             "steps": res.steps, "order": res.order, "seconds": round(res.seconds, 4)}
    return RescaledFlowResult(list(res.t), zs, thetas, logts, logLs, mins, Q, qm, sm,
                              problem.L, stats)


# ----------------------------------------------------------------------------------------
# mirror descent

@dataclass
class MirrorDescentResult:
    """Iterates of :func:`mirror_descent` at the requested step indices."""
    eta: Any
    steps: list
    theta: list
    z: list
    seconds: float


def mirror_descent(problem: MirrorProblem, theta0: Sequence[Any], eta: Any, n_steps: int, *,
                   dps: Optional[int] = None, record: Optional[Sequence[int]] = None
                   ) -> MirrorDescentResult:
    """Mirror descent ``z_{k+1} = z_k − η ∇ℒ(ψ(z_k))``, ``θ_k = ψ(z_k)``.

    This is the explicit Euler method for the dual form of mirror flow; after ``k`` steps
    it approximates the flow at ``t = kη`` with a first-order error ``O(η)``.  float64 when
    ``dps`` is None, else mpmath at ``dps`` digits.  ``record``: step indices to keep
    (default: the last).
    """
    if n_steps < 0:
        raise MirrorError("n_steps must be >= 0")
    rec = {n_steps} if record is None else set(int(k) for k in record)
    t0 = _time.perf_counter()
    steps, ths, zs = [], [], []
    if dps is None:
        eta_f = float(eta)
        th = np.array([float(to_mpf(v)) if not isinstance(v, float) else v for v in theta0])
        z = problem.z_of_theta(th)
        for k in range(n_steps + 1):
            if k in rec:
                steps.append(k)
                ths.append(th.copy())
                zs.append(z.copy())
            if k == n_steps:
                break
            z = z - eta_f * problem.grad_loss(th)
            th = problem.theta_of_z(z)
    else:
        with mpmath.workdps(dps):
            eta_m = to_mpf(eta)
            th = [to_mpf(v) for v in theta0]
            z = problem.z_of_theta(th)
            for k in range(n_steps + 1):
                if k in rec:
                    steps.append(k)
                    ths.append(MpVector(th, dps))
                    zs.append(MpVector(z, dps))
                if k == n_steps:
                    break
                g = problem.grad_loss(th)
                z = [a - eta_m * b for a, b in zip(z, g)]
                th = problem.theta_of_z(z)
    return MirrorDescentResult(eta, steps, ths, zs, _time.perf_counter() - t0)
