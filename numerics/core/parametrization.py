"""Gradient flow of a researcher's own parametrization, simulated at high precision.

A *parametrization* maps parameters ``θ ∈ R^D`` to the model's effective vector
``w = φ(θ) ∈ R^d`` (a diagonal net ``w = u ⊙ v``, ``w = u ⊙ u − v ⊙ v``, a matrix
factorization …); a loss ``f(w)`` then defines the gradient flow
``θ̇ = −∇_θ f(φ(θ)) = −J_φ(θ)ᵀ ∇f(φ(θ))`` that :func:`gradient_flow` integrates with the
Taylor method of :mod:`numerics.core.taylor`, reporting the drift of each quantity you name
(candidate conservation laws).  Everything is given as text and read by
:mod:`derivations.parsing` (nothing runs as Python), and the parametrization is checked for
what the flow needs: ``φ`` must be differentiable — no ``Abs``, ``sign``, ``Max``/``Min``
or other kinks, whose derivatives sympy writes with ``sign``/``Heaviside``.

>>> p = Parametrization.from_text("u v", ["u*v"])
>>> run = gradient_flow(p, "(w1 - 1)**2/2", {"u": "1/2", "v": "3/2"}, 1, dps=30,
...                     quantities={"balance": "u**2 - v**2", "energy": "u**2 + v**2"})
>>> run.drift["balance"] < 1e-27 < 1e-3 < run.drift["energy"]
True
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import mpmath
import sympy as sp

from derivations.parsing import ParseError, parse_expression, parse_number
from numerics.core.taylor import TaylorSystem, integrate

__all__ = ["ParametrizationError", "Parametrization", "FlowRun", "gradient_flow"]

_KINKS = (sp.Abs, sp.sign, sp.Heaviside, sp.DiracDelta, sp.Max, sp.Min, sp.floor, sp.ceiling)


class ParametrizationError(ValueError):
    """A parametrization, loss or start that the flow cannot use; the message says why."""


@dataclass(frozen=True)
class Parametrization:
    """``w = φ(θ)``: the parameter symbols and the expressions of ``w_1 … w_d``."""
    parameters: tuple[sp.Symbol, ...]
    outputs: tuple[sp.Expr, ...]

    def __post_init__(self):
        if not self.parameters or not self.outputs:
            raise ParametrizationError("a parametrization needs parameters and at least one output")
        extra = set().union(*(e.free_symbols for e in self.outputs)) - set(self.parameters)
        if extra:
            raise ParametrizationError(f"the outputs use {sorted(map(str, extra))}, which are not parameters")
        for k, e in enumerate(self.outputs, start=1):
            kinks = [a for a in sp.preorder_traversal(e) if isinstance(a, _KINKS)]
            if kinks:
                raise ParametrizationError(f"w{k} = {e} is not differentiable everywhere ({kinks[0]}): "
                                           "the gradient flow needs a differentiable parametrization")

    @classmethod
    def from_text(cls, parameters: str, outputs: Sequence[str]) -> "Parametrization":
        """``parameters``: names separated by spaces or commas; ``outputs``: one expression each."""
        names = [n for n in parameters.replace(",", " ").split() if n]
        if len(set(names)) != len(names) or not all(n.isidentifier() and not n.startswith("_") for n in names):
            raise ParametrizationError(f"parameters {parameters!r}: expected distinct names such as 'u1 u2 v1 v2'")
        symbols = {n: sp.Symbol(n, real=True) for n in names}
        try:
            exprs = tuple(parse_expression(text, symbols, exact=True) for text in outputs)
        except ParseError as exc:
            raise ParametrizationError(str(exc)) from None
        return cls(tuple(symbols.values()), exprs)

    def loss_of_parameters(self, loss: str) -> sp.Expr:
        """``f(φ(θ))`` for a loss written in ``w1 … wd``."""
        w = {f"w{k}": sp.Symbol(f"w{k}", real=True) for k in range(1, len(self.outputs) + 1)}
        try:
            f = parse_expression(loss, w, exact=True)
        except ParseError as exc:
            raise ParametrizationError(f"loss: {exc}") from None
        return f.xreplace({w[f"w{k}"]: e for k, e in enumerate(self.outputs, start=1)})

    def _symbols(self) -> dict:
        return {s.name: s for s in self.parameters}


@dataclass
class FlowRun:
    """A simulated flow: output times, parameters, each quantity at each time, its drift
    ``max_t |q(t) − q(0)|``, and the integrator's statistics."""
    t: list
    theta: list
    quantities: dict
    drift: dict
    dps: int
    steps: int
    order: int


def gradient_flow(param: Parametrization, loss: str, theta0: Mapping[str, object], T, *, dps: int = 30,
                  quantities: Mapping[str, str] | None = None, outputs: int = 5) -> FlowRun:
    """Integrate ``θ̇ = −∇_θ f(φ(θ))`` from ``theta0`` (exact numbers as text or rationals) to
    ``T`` at ``dps`` digits; ``quantities`` are expressions in the parameters to monitor."""
    if not 10 <= dps <= 200:
        raise ParametrizationError(f"dps must be in 10..200, got {dps}")
    try:
        T_ = parse_number(str(T), what="T")
    except ParseError as exc:
        raise ParametrizationError(str(exc)) from None
    if not 0 < T_ <= 1000:
        raise ParametrizationError(f"T must be in (0, 1000], got {T}")
    missing = [s.name for s in param.parameters if s.name not in theta0]
    if missing or set(theta0) - set(param._symbols()):
        raise ParametrizationError(f"theta0 must give exactly the parameters {[s.name for s in param.parameters]}")
    try:
        start = [parse_number(str(theta0[s.name]), what=f"theta0[{s.name}]") for s in param.parameters]
        monitored = {name: parse_expression(text, param._symbols(), exact=True)
                     for name, text in (quantities or {}).items()}
    except ParseError as exc:
        raise ParametrizationError(str(exc)) from None
    objective = param.loss_of_parameters(loss)
    rhs = [-sp.diff(objective, s) for s in param.parameters]
    times = [T_ * k / (outputs - 1) for k in range(outputs)]
    result = integrate(TaylorSystem(param.parameters, rhs), start, T_, dps=dps, times=times)
    values, drift = {}, {}
    with mpmath.workdps(dps + 10):
        for name, expr in monitored.items():
            f = sp.lambdify(param.parameters, expr, "mpmath")
            values[name] = [f(*row) for row in result.y]
            drift[name] = max(abs(v - values[name][0]) for v in values[name])
    return FlowRun(result.t, result.y, values, drift, dps, result.steps, result.order)
