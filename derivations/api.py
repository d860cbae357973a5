"""The researcher's API: write your own claims, bring your own loss, ask MF-2 of your potential.

Everything a claim file needs is importable from here (see the README, "Your own claims"):

* the claim objects :class:`Claim`, :class:`Step`, :class:`Falsifier`, :func:`chain`, and
  the samplers :func:`rationals`, :func:`integers`, :func:`choice` that set where a step's
  random points are drawn;
* :func:`check_claim` / :func:`check_step` (the two routes, the verdict rules of
  :mod:`derivations.claims`), and :func:`parse_expression` (the one safe reader of text);
* :func:`user_loss` and :func:`loss_claims`: a loss given as text in ``w1, w2, …`` becomes
  two claims — it is degree-0 (Euler, as DL-1) and balanced layer flows conserve the
  2/L quasi-norm for it (as DL-5) — each with a falsifier;
* :func:`mf2_holds`: does the balance equation MF-2 hold for my potential on my network?

A claim file is plain Python; every ``Claim`` at its top level is checked by
``python -m derivations --file FILE`` (verdicts, ``--json``) and gets a report section
from ``python -m reports --file FILE``.

>>> f, d = user_loss("(w1 + 2*w2)**2 / (w1**2 + w2**2)")
>>> d
2
>>> [check_claim(c).ok for c in loss_claims("(w1 + 2*w2)**2 / (w1**2 + w2**2)")]
[True, True]
"""
from __future__ import annotations

from typing import Callable

import sympy as sp

from . import objectives as obj
from .claims import Claim, ClaimResult, Falsifier, Step, StepResult, chain, check_claim, check_step
from .parsing import ParseError, parse_expression
from .zerotest import choice, integers, rationals

__all__ = ["Claim", "Step", "Falsifier", "chain", "check_claim", "check_step", "ClaimResult",
           "StepResult", "rationals", "integers", "choice", "parse_expression", "ParseError",
           "user_loss", "loss_claims", "mf2_holds", "MAX_LOSS_DIM"]

MAX_LOSS_DIM = 4  # coordinates of a user loss (the explicit layer flows grow fast with d)
_c = sp.Symbol("c", positive=True)


def user_loss(text: str) -> tuple[Callable[[sp.Matrix], sp.Expr], int]:
    """A loss ``f(w)`` written in the coordinates ``w1 … wd`` (``d ≤ MAX_LOSS_DIM``): the
    builder ``w ↦ f(w)`` that :func:`derivations.objectives.loss` accepts, and ``d``.
    Decimals are read as exact rationals; nothing in the text runs as Python."""
    names = {f"w{i}": s for i, s in enumerate(obj.effective_vector(MAX_LOSS_DIM), start=1)}
    expr = parse_expression(text, names, exact=True)
    if not expr.free_symbols:
        raise ParseError(f"the loss {text!r} does not depend on w1, w2, ...")
    d = max(int(s.name[1:]) for s in expr.free_symbols)
    own = obj.effective_vector(d)

    def builder(w: sp.Matrix) -> sp.Expr:
        return expr.xreplace(dict(zip(own, w)))
    return builder, d


def loss_claims(text: str, *, prefix: str = "LOSS") -> list[Claim]:
    """Two claims for a user's loss (IDs ``PREFIX-1``, ``PREFIX-2``): degree-0 homogeneity
    (``f(cw) = f(w)`` for ``c > 0``, and Euler ``⟨w, ∇f⟩ = 0``), and conservation of
    ``Q = Σ|w_i|^{2/L}`` along the balanced layer flow at depths 2 and 3.  Falsifiers: the
    loss plus ``‖w‖²`` (not degree-0), and unbalanced layers."""
    from .deep_lda import _dQ_dt_explicit  # the explicit layer flow of DL-5

    f_of, d = user_loss(text)
    w = obj.effective_vector(d)
    f = f_of(w)
    plus_norm = lambda v: f_of(v) + sum(x**2 for x in v)  # noqa: E731 — degree-0 dropped

    def degree_zero_steps():
        return [Step(f.xreplace({x: _c * x for x in w}), f, "$f$ is homogeneous of degree 0",
                     label="$f(cw) = f(w)$, $c > 0$"),
                Step(obj.euler_product(f, w), 0, r"$\frac{d}{dc} f(cw) = 0$ at $c = 1$ (Euler)",
                     label=r"$\langle w, \nabla f(w)\rangle = 0$", display=r"\langle w, \nabla f(w)\rangle")]

    def conservation_steps():
        return [Step(_dQ_dt_explicit(L, d, f_of, True)[0], 0, r"$\frac{dQ}{dt} = -2\langle w, \nabla f\rangle = 0$ (DL-5)",
                     label=rf"$\frac{{dQ}}{{dt}} = 0$ along the balanced layer flow, $L = {L}$, $d = {d}$",
                     display=r"\frac{d}{dt}\sum_i |w_i|^{2/L}") for L in (2, 3)]

    statement = f"The loss $f(w) = {sp.latex(f)}$"
    return [
        Claim(f"{prefix}-1", f"Your loss is degree-0 homogeneous: $f = {sp.latex(f)}$",
              statement + " is homogeneous of degree 0: $f(cw) = f(w)$ and $\\langle w, \\nabla f(w)\\rangle = 0$.",
              [("degree-0", "$f(cw) = f(w)$ for every $c > 0$")], degree_zero_steps,
              [Falsifier("degree-0", r"the loss plus $\|w\|^2$",
                         lambda: Step(obj.euler_product(plus_norm(w), w), 0, "Euler"))]),
        Claim(f"{prefix}-2", "Balanced layer flows conserve the $2/L$ quasi-norm for your loss",
              statement + ": along gradient flow on balanced $L$-layer diagonal networks, "
              r"$Q = \sum_i |w_i|^{2/L}$ is conserved ($L = 2, 3$).",
              [("balanced", "balanced initialization"), ("degree-0", "$f$ is degree-0")], conservation_steps,
              [Falsifier("balanced", "unbalanced layers, $L = 3$",
                         lambda: Step(_dQ_dt_explicit(3, d, f_of, False)[0], 0, "$Q$ conserved"))]),
    ]


def mf2_holds(potential, network="squared_relu", *, loss="exponential", **params) -> StepResult:
    """MF-2 for ``potential`` on ``network``: the per-neuron balance
    ``Σ_in G(θ_j) − s Σ_out G(θ_j)`` has zero time derivative along the potential's mirror flow.

    ``potential``: a :class:`derivations.potentials.Potential` or text in ``x`` (with
    ``params`` as ``name=value``, checked like ``python -m derivations potential``);
    ``network``: a key of :data:`derivations.mirror_flow.NETWORKS` or a
    :class:`derivations.homogeneous.Network`; ``loss``: a loss of the margin, by name or as
    text in ``q`` (:func:`derivations.homogeneous.margin_loss`).  Returns the step result; ``.verdict`` is
    ``verified``, ``refuted`` (with the counterexample point) or ``undecided``.
    """
    from . import potentials
    from .mirror_flow import NETWORKS, _concrete_balance_step

    if isinstance(potential, str):
        potential = potentials.from_expression(potential, params)
    if isinstance(network, str) and network not in NETWORKS:
        raise ValueError(f"unknown network {network!r}; known: {', '.join(NETWORKS)}")
    return check_step(_concrete_balance_step(potential, network, loss=loss))
