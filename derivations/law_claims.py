"""Claims LAW-1 … LAW-13: the conservation laws of shipped models, discovered and certified.

Each claim names a model, a flow (gradient, or mirror with a catalogue potential) and the
number of laws that theory predicts — from the literature for gradient flow, and for mirror
flow the conjecture that MF-2's balance (one law per hidden neuron, or per coordinate) is
all there is.  Checking the claim runs :func:`derivations.conservation.discover` and states
as steps: every law found is conserved along every generating field (the usual two routes),
the number found equals the prediction (lower bound), and so does ``D − rank`` of the Lie
brackets (upper bound, the certificate).  The falsifier: ``Σ θ_i²`` is not conserved.

The discovery runs when a claim is checked, not when this module is imported.

>>> [c.id for c in CLAIMS][:3]
['LAW-1', 'LAW-2', 'LAW-3']
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Optional

import sympy as sp

from . import potentials as pot
from .claims import Claim, Falsifier, Step
from .conservation import (DiscoveryResult, Model, diagonal_net, discover, law_claim, linear_net,
                           relu_net, squared_difference, velocity_fields)
from .registry import register

__all__ = ["LawSetting", "SETTINGS", "CLAIMS", "result_of"]


@dataclass(frozen=True)
class LawSetting:
    """A model, a flow and the predicted count with where the prediction comes from."""
    id: str
    build: Callable[[], Model]
    potential: Optional[Callable[[], pot.Potential]]
    predicted: int
    source: str

    @property
    def flow(self) -> str:
        return "gradient flow" if self.potential is None else f"mirror flow ({self.potential().name})"

    @property
    def flow_tex(self) -> str:
        """:attr:`flow` as mixed text for reports (the potential's math typeset)."""
        return "gradient flow" if self.potential is None else f"mirror flow ({self.potential().tex_name})"


_MARCOTTE = "Marcotte, Gribonval and Peyré, NeurIPS 2023"
_BALANCE = "conjecture: MF-2's balance, one law per hidden neuron, is the only law"
SETTINGS = (
    LawSetting("LAW-1", lambda: diagonal_net(3, 2), None, 4, f"$(L-1)d$ laws, DL-2; {_MARCOTTE}"),
    LawSetting("LAW-2", lambda: linear_net(2, 2, 2), None, 3, rf"$r(r+1)/2$ laws $W_1 W_1^\top - W_2^\top W_2$; {_MARCOTTE}"),
    LawSetting("LAW-3", lambda: linear_net(2, 2, 2, 2), None, 6, r"$(L-1)\,r(r+1)/2$ balancedness laws (Arora et al. 2018)"),
    LawSetting("LAW-4", lambda: relu_net(2, 2, 1, bias=True), None, 2, f"one law per neuron; {_MARCOTTE}"),
    LawSetting("LAW-5", lambda: squared_difference(2), None, 2, "one law $u_i v_i$ per coordinate"),
    LawSetting("LAW-6", lambda: linear_net(2, 2, 2), pot.quadratic_quartic, 2, _BALANCE),
    LawSetting("LAW-7", lambda: linear_net(2, 2, 2), lambda: pot.hyperbolic_entropy(1), 2, _BALANCE),
    LawSetting("LAW-8", lambda: linear_net(2, 2, 2), pot.cosh_potential, 2, _BALANCE),
    LawSetting("LAW-9", lambda: linear_net(2, 2, 2), lambda: pot.p_power(3), 2, _BALANCE),
    LawSetting("LAW-10", lambda: relu_net(2, 2, 1), lambda: pot.hyperbolic_entropy(1), 2, _BALANCE),
    LawSetting("LAW-11", lambda: squared_difference(2), pot.quadratic_quartic, 2,
               "one law per coordinate, $\\int^{u_i} R''(t)/t\\,dt + \\int^{v_i} R''(t)/t\\,dt$"),
    LawSetting("LAW-12", lambda: linear_net(2, 2, 2), lambda: pot.quadratic_power(3), 2, _BALANCE),
    LawSetting("LAW-13", lambda: linear_net(2, 2, 2), lambda: pot.quadratic_power(sp.Rational(3, 2)), 2, _BALANCE),
)


@lru_cache(maxsize=None)
def result_of(claim_id: str) -> DiscoveryResult:
    """The discovery of a setting (run once per process)."""
    setting = next(s for s in SETTINGS if s.id == claim_id)
    return discover(setting.build(), setting.potential() if setting.potential else None)


def _claim(setting: LawSetting) -> Claim:
    def steps():
        result = result_of(setting.id)
        model = result.model
        potential = setting.potential() if setting.potential else None
        fields = velocity_fields(model, potential)
        out = []
        for k, h in enumerate(result.laws, start=1):
            law = law_claim(model, h, fields, label=str(k), positive=potential is not None)
            for step in law.derive():
                out.append(Step(step.lhs, step.rhs, f"$h_{{{k}}} = {sp.latex(h)}$ is {step.reason}",
                                domain=step.domain, label=step.label.replace("$h$", f"$h_{{{k}}}$", 1),
                                display=step.display.replace("h,", f"h_{{{k}}},")))
        out.append(Step(sp.Integer(result.count), sp.Integer(setting.predicted),
                        "laws found by the exact ansatz, verified and independent (lower bound)",
                        label="laws found = predicted"))
        out.append(Step(sp.Integer(result.upper_bound), sp.Integer(setting.predicted),
                        rf"$D - \mathrm{{rank}}$ of the Lie brackets at a rational point $= {model.dim} - {result.lie_rank}$"
                        + ("" if result.rank_exact else " (proven ball lower bound on the rank)")
                        + " (upper bound)", label=r"$D - \text{Lie rank}$ = predicted"))
        return out

    def falsifier():
        result = result_of(setting.id)
        potential = setting.potential() if setting.potential else None
        law = law_claim(result.model, sp.Integer(0), velocity_fields(result.model, potential),
                        positive=potential is not None)
        return law.falsifiers[0].build()

    model = setting.build()
    return register(Claim(
        id=setting.id,
        title=f"{setting.predicted} conservation laws of {setting.flow_tex} on the {model.tex_name}",
        statement=(f"For every loss, {setting.flow_tex} on the {model.tex_name} ($D = {model.dim}$) has exactly "
                   f"{setting.predicted} functionally independent conservation laws near a generic point"
                   + (" of the positive orthant" if setting.potential else "")
                   + f" ({setting.source}); the laws are found and the count certified."),
        assumptions=[("model", model.tex_name + (f"; {model.note}" if model.note else "")),
                     ("flow", setting.flow_tex)],
        derive=steps,
        falsifiers=[Falsifier("conservation", r"$q = \sum_i \theta_i^2$, not a law", falsifier)],
        group="LAW",
    ))


CLAIMS = [_claim(s) for s in SETTINGS]
