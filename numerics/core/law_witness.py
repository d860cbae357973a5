"""Numeric witness of discovered conservation laws: simulate the flow, measure the drifts.

:func:`derivations.conservation.discover` proves its laws symbolically; this module shows
them along a trajectory.  The flow is ``θ̇ = −H(θ)⁻¹ ∇_θ ℓ(φ(θ))`` (``H = I`` for gradient
flow) with a generic loss ``ℓ(φ) = ½ Σ_j (φ_j − c_j)²`` (seeded rational targets ``c_j``),
integrated with the Taylor method of :mod:`numerics.core.taylor`.  Each law must drift by at
most ``10^-(dps − k)`` while the non-law ``Σ θ_i²`` drifts by many orders more.

>>> from derivations.conservation import diagonal_net, discover
>>> w = witness(discover(diagonal_net(2, 1)), T="1/2", dps=30)
>>> w.law_drifts[0] < 1e-25 < 1e-3 < w.non_law_drift
True
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import mpmath
import sympy as sp

from derivations.conservation import DiscoveryResult, velocity_fields
from numerics.core.exact import exact_number
from numerics.core.taylor import TaylorSystem, integrate

__all__ = ["Witness", "witness"]


@dataclass
class Witness:
    """Drifts ``max_t |h(θ(t)) − h(θ(0))|`` of each law and of the non-law ``Σ θ_i²``."""
    laws: list
    law_drifts: list
    non_law_drift: float
    dps: int
    T: str
    steps: int
    start: list
    targets: list

    def to_json(self) -> dict:
        return {"laws": [sp.sstr(h) for h in self.laws], "law_drifts": self.law_drifts,
                "non_law": "sum of theta_i^2", "non_law_drift": self.non_law_drift, "dps": self.dps,
                "T": self.T, "steps": self.steps, "start": [str(v) for v in self.start],
                "targets": [str(v) for v in self.targets]}


def witness(result: DiscoveryResult, potential=None, *, T="1/2", dps: int = 30, seed: int = 0,
            outputs: int = 5) -> Witness:
    """Simulate ``result``'s flow from a seeded rational start (positive for mirror flows,
    whose laws hold on the positive orthant) and measure the drifts at ``dps`` digits.
    ``potential`` must be the one ``result`` was discovered with (None: gradient flow)."""
    model = result.model
    expected = "gradient" if potential is None else f"mirror ({potential.name})"
    if result.flow != expected:
        raise ValueError(f"the result is for {result.flow} flow, the witness was asked for {expected} flow")
    rng = random.Random(seed)
    positive = potential is not None
    start = [sp.Rational(rng.randint(2, 9), rng.randint(4, 9)) * (1 if positive else rng.choice([-1, 1]))
             for _ in model.params]
    targets = [sp.Rational(rng.randint(-9, 9), rng.randint(1, 9)) for _ in model.outputs]
    loss_gradient = [e - c for e, c in zip(model.outputs, targets)]  # ∂ℓ/∂φ_j
    fields = velocity_fields(model, potential)
    rhs = [-sum((g * f[i] for g, f in zip(loss_gradient, fields)), sp.Integer(0)) for i in range(model.dim)]
    # the Taylor program knows exp, not cosh/sinh
    rhs = [e.rewrite(sp.exp) if e.has(sp.cosh, sp.sinh) else e for e in rhs]
    system = TaylorSystem(model.params, rhs, name="law_witness")
    Tr = exact_number(T, "T")
    times = [Tr * sp.Rational(k, outputs - 1) for k in range(outputs)]
    run = integrate(system, start, Tr, dps=dps, times=times)
    quantities = list(result.laws) + [sum(t ** 2 for t in model.params)]
    values = sp.lambdify(model.params, quantities, modules="mpmath")
    with mpmath.workdps(dps + 10):
        series = [values(*y) for y in run.y]
        drifts = [float(max(abs(mpmath.mpf(row[q]) - mpmath.mpf(series[0][q])) for row in series))
                  for q in range(len(quantities))]
    return Witness(laws=list(result.laws), law_drifts=drifts[:-1], non_law_drift=drifts[-1], dps=dps,
                   T=str(Tr), steps=run.steps, start=start, targets=targets)


def law_evidence(*, quick: bool = False) -> dict[str, list[dict]]:
    """Evidence rows of the claims LAW-1 … (:mod:`derivations.law_claims`): each law's drift
    along a simulated flow, against the drift of ``Σ θ_i²``.  ``quick``: 20 digits."""
    from derivations.law_claims import SETTINGS, result_of
    from numerics.core.taylor import TaylorError

    dps = 20 if quick else 30
    rows: dict[str, list[dict]] = {}
    for setting in SETTINGS:
        result = result_of(setting.id)
        potential = setting.potential() if setting.potential else None
        # a potential with R''(0) = 0 (p-power) can drive a coordinate to 0 in finite time:
        # then the witness runs on a shorter horizon, and says so
        for T in ("1/8", "1/32"):
            try:
                w = witness(result, potential, T=T, dps=dps)
                break
            except TaylorError as exc:
                failure = str(exc)
        else:
            rows[setting.id] = [{"quantity": "all laws", "precision": f"{dps} digits", "horizon": f"T = {T}",
                                 "drift": "not simulated", "falsifier": "", "falsifier_drift": "",
                                 "note": f"the flow left the domain: {failure}"}]
            continue
        rows[setting.id] = [{"quantity": f"$h_{{{k}}} = {sp.latex(h)}$", "precision": f"{dps} digits",
                             "horizon": f"T = {T}", "drift": f"{d:.1e}", "falsifier": r"$\sum_i \theta_i^2$",
                             "falsifier_drift": f"{w.non_law_drift:.1e}",
                             "note": f"Taylor method, {w.steps} steps; {result.status()}"}
                            for k, (h, d) in enumerate(zip(w.laws, w.law_drifts), start=1)]
    counts = []
    for setting in sorted(SETTINGS, key=lambda s: (result_of(s.id).model.name, s.potential is not None)):
        result = result_of(setting.id)
        counts.append({"quantity": result.model.name, "precision": setting.flow, "horizon": f"D = {result.model.dim}",
                       "drift": f"{result.count} laws found", "falsifier": "at most (D - Lie rank)",
                       "falsifier_drift": str(result.upper_bound), "note": f"{setting.id}: {result.status()}"})
    rows["LAW-COUNTS"] = counts
    return rows
