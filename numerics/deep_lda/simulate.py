"""Run a Deep LDA flow, track the monitored quantities, report drifts as JSON.

* :func:`layer_init` — balanced (``|u_{l,i}| = α``, random signs) or unbalanced layers,
  exact rationals from a seed;
* :func:`simulate` — the Taylor integrator of :mod:`numerics.core.taylor` at ``dps`` digits on
  a flow of :mod:`numerics.deep_lda.flows` (``layer``, ``reduced``, ``mirror``); monitored
  quantities at the output times are evaluated at ``dps + 10`` digits, and
  ``drift = max_t |q(t) − q(0)|``;
* :func:`simulate_float64` — the same with scipy DOP853 (:func:`numerics.core.taylor.solve_float64`);
* :func:`gd_run` — gradient descent on the layers, exact (:class:`fractions.Fraction`) or in
  mpmath, with the DL-8 residual ``Q_{k+1} − Q_k − η² Σ g_i² |w_i|^{2−2/L}`` per step.

Results are dataclasses with ``to_dict()``/``to_json()``: precision, horizon, integrator
statistics, final state and ``w``, the drift of every monitored quantity (short strings
such as ``"3.1e-48"``), and the maximal drift per claim (``DL-2`` gaps, ``DL-3`` layer
norms, ``DL-5`` quasi-norm).
"""
from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Optional, Sequence

import mpmath
import numpy as np
import sympy as sp

from derivations.diagonal import quasi_norm
from derivations.parsing import ParseError, parse_number
from numerics.deep_lda.data import TwoClassData
from numerics.deep_lda.flows import Flow, FlowError, build_flow, monitor_groups
from numerics.core.taylor import integrate, solve_float64

__all__ = ["layer_init", "simulate", "simulate_float64", "gd_run", "SimulationResult",
           "GDResult", "short", "EVAL_GUARD_DIGITS", "INIT_KINDS"]

#: monitored quantities are evaluated at dps + EVAL_GUARD_DIGITS digits
EVAL_GUARD_DIGITS = 10
INIT_KINDS = ("balanced", "unbalanced")
_UNBALANCED_FACTORS = (sp.Rational(1, 2), sp.Rational(3, 4), sp.Rational(5, 4),
                       sp.Rational(3, 2), sp.Integer(2))


def short(x, digits: int = 2) -> str:
    """A number as a short string: ``"3.1e-48"``, ``"0"``, ``"0.59"``."""
    if x is None:
        return "null"
    if isinstance(x, (Fraction, sp.Rational)) and x == 0:
        return "0"
    if isinstance(x, (float, np.floating)):
        return "0" if x == 0 else f"{float(x):.{digits}g}"
    if isinstance(x, sp.Basic):
        x = sp.N(x, digits + 5)
        x = mpmath.mpf(x._mpf_) if isinstance(x, sp.Float) else mpmath.mpf(int(x))
    if isinstance(x, Fraction):
        with mpmath.workdps(digits + 5):
            x = mpmath.mpf(x.numerator) / x.denominator
    if x == 0:
        return "0"
    with mpmath.workdps(digits + 5):
        return mpmath.nstr(mpmath.mpf(x), digits, min_fixed=-4, max_fixed=4)


# ---------------------------------------------------------------------------------------
# initializations

def _rat(v, what) -> sp.Rational:
    """``v`` as an exact sympy Rational; text is read by :func:`derivations.parsing.parse_number`."""
    if isinstance(v, str):
        try:
            return parse_number(v, what=what)
        except ParseError as exc:
            raise FlowError(str(exc)) from None
    try:
        if isinstance(v, Fraction):
            return sp.Rational(v.numerator, v.denominator)
        if isinstance(v, float):
            return sp.Rational(*v.as_integer_ratio())
        return sp.Rational(v)
    except (ValueError, TypeError, OverflowError, ZeroDivisionError):
        raise FlowError(f"{what}: cannot read {v!r} as a finite exact rational") from None


def layer_init(depth: int, dim: int, *, init: str = "balanced", alpha: Any = "1/2",
               seed: int = 0, signs: Any = "random") -> list[list[sp.Rational]]:
    """Layer initialization ``u_l(0)``, ``L`` lists of ``d`` exact rationals.

    ``balanced``: ``u_{l,i} = ε_{l,i} α`` (``|u_{l,i}| = α`` for all l, i).
    ``unbalanced``: the first layer as balanced, layer ``l ≥ 2`` scaled per entry by a
    factor from {1/2, 3/4, 5/4, 3/2, 2} (never 1), so every gap ``u_{1,i}² − u_{l,i}²`` ≠ 0.
    ``signs``: ``"random"`` (ε from ``seed``), ``"positive"`` (all +1: ``u_l(0) = α·1``), or
    ``d`` signs ±1 for ``w(0)`` (carried by the first layer, the others positive).
    """
    if init not in INIT_KINDS:
        raise FlowError(f"init must be one of {INIT_KINDS}, got {init!r}")
    for name, v, lo in (("depth", depth, 1), ("dim", dim, 1), ("seed", seed, 0)):
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise FlowError(f"{name} must be an integer >= {lo}, got {v!r}")
    a = _rat(alpha, "alpha")
    if not a > 0:
        raise FlowError(f"alpha must be positive, got {alpha!r}")
    rng = random.Random(seed)
    if isinstance(signs, str):
        if signs == "random":
            eps = [[rng.choice((1, -1)) for _ in range(dim)] for _ in range(depth)]
        elif signs == "positive":
            eps = [[1] * dim for _ in range(depth)]
        else:
            raise FlowError(f"signs must be 'random', 'positive' or {dim} values ±1, got {signs!r}")
    else:
        signs = list(signs)
        if len(signs) != dim or any(s not in (1, -1) for s in signs):
            raise FlowError(f"signs must be 'random', 'positive' or {dim} values ±1, got {signs!r}")
        eps = [list(signs)] + [[1] * dim for _ in range(depth - 1)]
    u0 = [[eps[l][i] * a for i in range(dim)] for l in range(depth)]
    if init == "unbalanced":
        for l in range(1, depth):
            for i in range(dim):
                u0[l][i] *= rng.choice(_UNBALANCED_FACTORS)
    return u0


# ---------------------------------------------------------------------------------------
# results

def _num_str(v, digits):
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    return mpmath.nstr(v, digits, strip_zeros=False) if isinstance(v, mpmath.mpf) else str(v)


@dataclass
class SimulationResult:
    """One simulation.  Raw numbers (mpf, or float for float64) in ``times``, ``states``,
    ``w`` and ``monitor_values``; :meth:`to_dict` renders them as strings."""
    flow: dict
    data: Optional[dict]
    init: dict
    precision: str
    dps: Optional[int]
    horizon: str
    integrator: dict
    times: list
    states: list
    w: list
    monitor_values: dict
    seconds: float
    extra: dict = field(default_factory=dict)

    def drift(self, name: str):
        """``max_t |q(t) − q(0)|`` for the monitored quantity ``name``."""
        vals = self.monitor_values[name]
        if self.dps is None:
            return max(abs(v - vals[0]) for v in vals)
        with mpmath.workdps(self.dps + EVAL_GUARD_DIGITS):
            return max(abs(v - vals[0]) for v in vals)

    @property
    def drifts(self) -> dict:
        return {n: self.drift(n) for n in sorted(self.monitor_values)}

    def max_drift(self, names: Sequence[str]):
        vals = [self.drift(n) for n in names]
        return max(vals) if vals else None

    def claim_drifts(self) -> dict:
        """Maximal drift per claim: DL-2 (balance gaps), DL-3 (layer norms), DL-5 (Q)."""
        return {c: self.max_drift(ns) for c, ns in monitor_groups(self.monitor_values).items() if ns}

    @property
    def final_w(self) -> list:
        return self.w[-1]

    def to_dict(self, *, digits: Optional[int] = None, trajectory: bool = False) -> dict:
        d = digits or (self.dps or 17)
        out = {
            "flow": self.flow,
            "data": self.data,
            "init": self.init,
            "precision": self.precision,
            "dps": self.dps,
            "horizon": self.horizon,
            "integrator": self.integrator,
            "seconds": round(self.seconds, 4),
            "outputs": len(self.times),
            "final_state": [_num_str(v, d) for v in self.states[-1]],
            "final_w": [_num_str(v, d) for v in self.w[-1]],
            "monitored_initial": {n: _num_str(v[0], min(d, 20)) for n, v in sorted(self.monitor_values.items())},
            "monitored_final": {n: _num_str(v[-1], min(d, 20)) for n, v in sorted(self.monitor_values.items())},
            "drift": {n: short(v) for n, v in self.drifts.items()},
            "drift_by_claim": {c: short(v) for c, v in self.claim_drifts().items()},
            "extra": self.extra,
        }
        if trajectory:
            out["times"] = [_num_str(t, 20) for t in self.times]
            out["w"] = [[_num_str(v, d) for v in row] for row in self.w]
            out["monitored"] = {n: [_num_str(x, min(d, 20)) for x in v]
                                for n, v in sorted(self.monitor_values.items())}
        return out

    def to_json(self, *, digits: Optional[int] = None, trajectory: bool = False, **kw) -> str:
        return json.dumps(self.to_dict(digits=digits, trajectory=trajectory), **kw)


# ---------------------------------------------------------------------------------------
# simulation

def _output_times(T, outputs, times):
    if times is not None:
        return [_rat(t, "times") if not isinstance(t, float) else t for t in times]
    if isinstance(outputs, bool) or not isinstance(outputs, int) or outputs < 2:
        raise FlowError(f"outputs must be an integer >= 2, got {outputs!r}")
    Tr = _rat(T, "T")
    return [Tr * sp.Rational(k, outputs - 1) for k in range(outputs)]


def _signs_of(u0) -> tuple:
    d = len(u0[0])
    return tuple(int(sp.sign(sp.Mul(*[row[i] for row in u0]))) for i in range(d))


def _flow_for(kind, u0, loss, rates, exponent, potential_depth) -> Flow:
    if not u0 or not u0[0]:
        raise FlowError("u0 must be a non-empty list of layers")
    depth, dim = len(u0), len(u0[0])
    signs = _signs_of(u0) if kind in ("reduced", "mirror") else None
    if signs is not None and 0 in signs:
        raise FlowError("w(0) has a zero coordinate: the reduced and mirror flows need an open orthant")
    return build_flow(kind, depth, dim, loss, signs=signs, rates=rates, exponent=exponent,
                      potential_depth=potential_depth)


def _check_T(T):
    Tr = _rat(T, "T")
    if not Tr > 0:
        raise FlowError(f"T must be positive, got {T!r}")
    return Tr


def _init_dict(u0, init_info):
    return {**(init_info or {}), "u0": [[str(v) for v in row] for row in u0]}


def _extra(kind, u0) -> dict:
    balanced = all(abs(row[i]) == abs(u0[0][i]) for row in u0 for i in range(len(u0[0])))
    if kind in ("reduced", "mirror") and not balanced:
        return {"warning": "the initialization is not balanced: the reduced and mirror flows "
                           "describe the layer flow only from a balanced start (DL-4, DL-6)"}
    return {}


def simulate(kind: str, u0: Sequence[Sequence[Any]], T: Any, *, data: Optional[TwoClassData],
             loss: str = "fisher", dps: int = 50, outputs: int = 11, times=None,
             rates=None, exponent=None, potential_depth=None,
             progress: Optional[Callable] = None, init_info: Optional[dict] = None,
             max_steps: int = 1_000_000) -> SimulationResult:
    """Integrate flow ``kind`` from the layer initialization ``u0`` to time ``T`` at ``dps``.

    ``outputs`` equally spaced output times in ``[0, T]`` (or explicit ``times``); the
    monitored quantities of the flow are evaluated there at ``dps + 10`` digits.
    ``rates`` (layer flow), ``exponent`` (reduced flow: a planted error) and
    ``potential_depth`` (mirror flow: the wrong potential) build the falsifiers.
    """
    if kind == "gd":
        raise FlowError("gradient descent is a map: use gd_run")
    if isinstance(dps, bool) or not isinstance(dps, int) or not 10 <= dps <= 10000:
        raise FlowError(f"dps must be an integer in 10..10000, got {dps!r}")
    Tr = _check_T(T)
    flow = _flow_for(kind, u0, loss, rates, exponent, potential_depth)
    y0 = flow.initial_state(u0)
    params = flow.param_values(data)
    out_t = _output_times(Tr, outputs, times)
    start = time.perf_counter()
    res = integrate(flow.system(), y0, Tr, dps=dps, times=out_t, params=params,
                    progress=progress, max_steps=max_steps)
    edps = dps + EVAL_GUARD_DIGITS
    mons = [flow.evaluate_monitors(y, params, dps=edps) for y in res.y]
    ws = [flow.w_values(y, dps=edps) for y in res.y]
    seconds = time.perf_counter() - start
    stats = res.to_dict()
    integ = {k: stats[k] for k in ("integrator", "dps", "prec_bits", "order", "tol", "steps",
                                   "min_step", "max_step", "seconds")}
    return SimulationResult(
        flow=flow.describe(), data=data.to_dict() if data is not None else None,
        init=_init_dict(u0, init_info), precision=f"{dps} digits", dps=dps,
        horizon=str(Tr), integrator=integ, times=res.t, states=res.y, w=ws,
        monitor_values={n: [m[n] for m in mons] for n in mons[0]}, seconds=seconds,
        extra=_extra(kind, u0))


def simulate_float64(kind: str, u0: Sequence[Sequence[Any]], T: Any, *,
                     data: Optional[TwoClassData], loss: str = "fisher", outputs: int = 11,
                     times=None, rates=None, exponent=None, potential_depth=None,
                     rtol: float = 1e-13, atol: float = 1e-15,
                     init_info: Optional[dict] = None) -> SimulationResult:
    """As :func:`simulate`, in float64 with scipy DOP853 (same flows, same monitors)."""
    if kind == "gd":
        raise FlowError("gradient descent is a map: use gd_run")
    Tr = _check_T(T)
    flow = _flow_for(kind, u0, loss, rates, exponent, potential_depth)
    y0 = flow.initial_state(u0)
    params = flow.param_values(data)
    out_t = [float(t) for t in _output_times(Tr, outputs, times)]
    start = time.perf_counter()
    res = solve_float64(flow.system(), y0, float(Tr), times=out_t, params=params,
                        rtol=rtol, atol=atol)
    pf = [float(p) for p in params]
    mons = [flow.evaluate_monitors(y, pf) for y in res.y]
    ws = [flow.w_values(y) for y in res.y]
    seconds = time.perf_counter() - start
    integ = {"integrator": res.integrator, "rtol": rtol, "atol": atol, "nfev": res.nfev,
             "seconds": res.seconds}
    return SimulationResult(
        flow=flow.describe(), data=data.to_dict() if data is not None else None,
        init=_init_dict(u0, init_info), precision="float64", dps=None, horizon=str(Tr),
        integrator=integ, times=[float(t) for t in res.t],
        states=[[float(v) for v in row] for row in res.y], w=ws,
        monitor_values={n: [m[n] for m in mons] for n in mons[0]}, seconds=seconds,
        extra=_extra(kind, u0))


# ---------------------------------------------------------------------------------------
# gradient descent (DL-8)

@dataclass
class GDResult:
    """Gradient descent on the layers.  ``Q``: the quasi-norm after each step (index 0 =
    start); ``predicted``: ``η² Σ g_i² |w_i|^{2−2/L}`` at each step's start point;
    ``residuals``: ``Q_{k+1} − Q_k − predicted_k`` (exactly 0 under DL-8's assumptions);
    ``balance``: max over i, l of ``|u_{1,i}² − u_{l,i}²|`` after each step."""
    flow: dict
    data: Optional[dict]
    init: dict
    precision: str
    eta: str
    steps: int
    Q: list
    predicted: list
    residuals: list
    balance: list
    states: list
    seconds: float
    exact: bool

    @property
    def max_residual(self):
        return max((abs(r) for r in self.residuals), default=0)

    @property
    def max_balance(self):
        return max((abs(b) for b in self.balance), default=0)

    def to_dict(self) -> dict:
        return {
            "flow": self.flow, "data": self.data, "init": self.init,
            "precision": self.precision, "eta": self.eta, "steps": self.steps,
            "seconds": round(self.seconds, 4),
            "Q": [short(q, 20) for q in self.Q],
            "Q_increments": [short(b - a, 6) for a, b in zip(self.Q, self.Q[1:])],
            "predicted_increments": [short(p, 6) for p in self.predicted],
            "dl8_residuals": [short(r) for r in self.residuals],
            "max_dl8_residual": short(self.max_residual),
            "balance_gaps": [short(b) for b in self.balance],
            "final_state": [short(v, 20) for v in self.states[-1]],
        }

    def to_json(self, **kw) -> str:
        return json.dumps(self.to_dict(), **kw)


def _exact_power(v: Fraction, exponent: sp.Rational) -> sp.Expr:
    return sp.Abs(sp.Rational(v.numerator, v.denominator)) ** exponent


def gd_run(u0: Sequence[Sequence[Any]], eta: Any, steps: int, *, data: Optional[TwoClassData],
           loss: str = "fisher", dps: Optional[int] = None,
           init_info: Optional[dict] = None) -> GDResult:
    """``steps`` steps of gradient descent ``u_l ← u_l − η g ⊙ Π_{k≠l} u_k`` from ``u0``.

    ``dps=None``: exact rationals (Fraction); ``Q = Σ|w_i|^{2/L}`` then stays exact as long
    as the layers are exactly balanced (``|w_i| = |u_{1,i}|^L`` is a perfect power), and the
    DL-8 residual is an exact rational (it is 0).  If the state is not balanced the
    powers are irrational and the residual is evaluated at 60 digits.  Numbers grow fast
    in exact arithmetic (degree ~4L per step): keep ``steps`` small.
    ``dps`` an integer: mpmath at that precision.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise FlowError(f"steps must be a positive integer, got {steps!r}")
    if not u0 or not u0[0]:
        raise FlowError("u0 must be a non-empty list of layers")
    depth, dim = len(u0), len(u0[0])
    flow = build_flow("gd", depth, dim, loss)
    params = flow.param_values(data)
    eta_r = _rat(eta, "eta")
    if not eta_r > 0:
        raise FlowError(f"eta must be positive, got {eta!r}")
    y = flow.initial_state(u0)
    L = sp.Integer(depth)
    Qs, predicted, residuals, balance, states = [], [], [], [], [list(y)]
    start = time.perf_counter()
    if dps is None:
        step = flow.exact_step_function()
        grad = flow.exact_function(flow.gradient, "gradient")
        wfun = flow.exact_function(flow.w, "w")
        eta_f = Fraction(int(eta_r.p), int(eta_r.q))
        y = [Fraction(int(v.p), int(v.q)) for v in y]

        def Q_of(yv):
            return quasi_norm(sp.Matrix([sp.Rational(v.numerator, v.denominator) for v in wfun(yv, params)]), L)

        Q = Q_of(y)
        Qs.append(Q)
        for _ in range(steps):
            g = grad(y, params)
            wv = wfun(y, params)
            inc = sp.Rational(eta_f.numerator, eta_f.denominator) ** 2 * sum(
                (sp.Rational(gi.numerator, gi.denominator) ** 2 * _exact_power(wi, 2 - 2 / L)
                 for gi, wi in zip(g, wv)), sp.Integer(0))
            y = step(y, params, eta_f)
            Q_new = Q_of(y)
            r = Q_new - Q - inc
            if not r.is_Rational:
                r = sp.N(r, 60)
            predicted.append(inc)
            residuals.append(r)
            Qs.append(Q_new)
            Q = Q_new
            states.append(list(y))
            balance.append(_balance_gap(y, depth, dim))
        precision = "exact (rational)"
    else:
        if isinstance(dps, bool) or not isinstance(dps, int) or dps < 10:
            raise FlowError(f"dps must be an integer >= 10 or None (exact), got {dps!r}")
        step = flow.mpmath_step_function()
        grad = flow.mpmath_function(flow.gradient, "gradient")
        wfun = flow.mpmath_function(flow.w, "w")
        edps = dps + EVAL_GUARD_DIGITS
        with mpmath.workdps(dps):
            y = [mpmath.mpf(int(v.p)) / int(v.q) for v in y]

        def Q_of(yv):
            with mpmath.workdps(edps):
                return mpmath.fsum(abs(v) ** (mpmath.mpf(2) / depth) for v in wfun(yv, params, edps))

        Q = Q_of(y)
        Qs.append(Q)
        for _ in range(steps):
            g = grad(y, params, edps)
            wv = wfun(y, params, edps)
            with mpmath.workdps(edps):
                eta_m = mpmath.mpf(int(eta_r.p)) / int(eta_r.q)
                e2 = 2 - mpmath.mpf(2) / depth
                inc = eta_m ** 2 * mpmath.fsum(gi ** 2 * abs(wi) ** e2 for gi, wi in zip(g, wv))
            y = step(y, params, eta_r, dps)
            Q_new = Q_of(y)
            with mpmath.workdps(edps):
                residuals.append(Q_new - Q - inc)
            predicted.append(inc)
            Qs.append(Q_new)
            Q = Q_new
            states.append(list(y))
            with mpmath.workdps(edps):
                balance.append(_balance_gap(y, depth, dim))
        precision = f"{dps} digits"
    seconds = time.perf_counter() - start
    return GDResult(flow=flow.describe(), data=data.to_dict() if data is not None else None,
                    init=_init_dict(u0, init_info), precision=precision, eta=str(eta_r),
                    steps=steps, Q=Qs, predicted=predicted, residuals=residuals,
                    balance=balance, states=states, seconds=seconds, exact=dps is None)


def _balance_gap(y, depth, dim):
    gaps = [abs(y[i] ** 2 - y[l * dim + i] ** 2) for l in range(1, depth) for i in range(dim)]
    return max(gaps) if gaps else 0 * y[0]
