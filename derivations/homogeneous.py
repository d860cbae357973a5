"""Positively homogeneous networks without biases (docs/mirror_flow.md, Objects), as sympy models.

A fully connected network ``f(θ; x) = W_D σ(W_{D−1} … σ(W_1 x))`` with a scalar output.
Activations are taken *on a fixed activation region*: every (hidden unit, data point) pair
has an indicator ``a ∈ {0, 1}`` (1 = the pre-activation is on the active side), so

* ``linear``:       ``σ(z) = z``;
* ``relu``:         ``σ(z) = a z``;
* ``leaky_relu``:   ``σ(z) = (a + slope (1 − a)) z``;
* ``squared_relu``: ``σ(z) = a z²``.

On a region the network is a polynomial in θ, so the rescaling identities are polynomial
identities — the regions themselves are fixed by a seed (``Network(regions=…)``).

Nothing about homogeneity is declared: the activation degree ``s`` is read off
``σ(cz)/σ(z) = c^s`` and the network degree ``L`` off ``f(cθ)/f(θ) = c^L`` (sympy),
see :func:`homogeneity_degree`. With biases the ratio is not a power of ``c``.

>>> net = Network((2, 2, 1), SQUARED_RELU, n_data=1)
>>> net.degree, net.activation.degree
(3, 2)
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cached_property
from typing import Callable

import sympy as sp

__all__ = [
    "Activation", "LINEAR", "RELU", "LEAKY_RELU", "SQUARED_RELU", "ACTIVATIONS",
    "Neuron", "Network", "homogeneity_degree", "NotHomogeneous",
    "exponential_loss", "logistic_loss", "LOSSES", "margin_loss", "loss_derivative",
]

_C = sp.Symbol("c", positive=True)  # the scaling factor
Z = sp.Symbol("z", real=True)  # the pre-activation in a user's activation


class NotHomogeneous(ValueError):
    """``g(cθ)/g(θ)`` is not a power of ``c``."""


def homogeneity_degree(scaled: sp.Expr, original: sp.Expr, c: sp.Symbol = _C) -> sp.Expr:
    """Read ``k`` from ``scaled/original = c**k`` (``scaled`` is ``original`` with every variable × c).

    Polynomials in ``c`` (networks on a region) are read term by term, which is fast; other
    expressions go through the simplified ratio."""
    scaled, original = sp.expand(scaled), sp.expand(original)
    try:
        poly = sp.Poly(scaled, c)
    except sp.PolynomialError:
        poly = None
    if poly is not None and original != 0:
        terms = poly.terms()
        if len(terms) == 1 and sp.expand(terms[0][1] - original) == 0:
            return sp.Integer(terms[0][0][0])
        degrees = sorted(k for (k,), _ in terms)
        raise NotHomogeneous(f"g(c·θ) has terms of degrees {degrees} in c: not c^L g(θ)")
    ratio = sp.powsimp(sp.factor(sp.cancel(sp.together(scaled / original))), force=True)
    if ratio == 1:
        return sp.Integer(0)
    if ratio == c:
        return sp.Integer(1)
    if ratio.is_Pow and ratio.base == c and not ratio.exp.has(c):
        return ratio.exp
    shown = sp.sstr(ratio)
    shown = shown if len(shown) < 160 else shown[:150] + " …"
    raise NotHomogeneous(f"the ratio g(c·θ)/g(θ) = {shown} is not a power of c")


# ----------------------------------------------------------------------------- activations
@dataclass(frozen=True)
class Activation:
    """An activation on a fixed region (see the module docstring); ``slope`` is leaky ReLU's
    slope on the negative region."""

    name: str
    slope: sp.Rational = sp.Integer(0)
    #: a user's activation: its expressions in :data:`Z` on the active and inactive regions
    on_active: sp.Expr | None = None
    on_inactive: sp.Expr | None = None

    def __call__(self, z: sp.Expr, active=1) -> sp.Expr:
        active = sp.sympify(active)
        if self.on_active is not None:
            return (active * self.on_active + (1 - active) * self.on_inactive).xreplace({Z: z})
        if self.name == "linear":
            return z
        if self.name == "relu":
            return active * z
        if self.name == "leaky_relu":
            return (active + self.slope * (1 - active)) * z
        if self.name == "squared_relu":
            return active * z**2
        raise ValueError(f"unknown activation {self.name!r}; known: linear, relu, leaky_relu, squared_relu")

    @classmethod
    def from_text(cls, on_active: str, on_inactive: str = "0", name: str | None = None) -> "Activation":
        """A user's activation, e.g. ``Activation.from_text("z**3")`` (cubic ReLU): its
        expressions in ``z`` on the two regions; its degree is derived (:attr:`degree`) and an
        activation that is not positively homogeneous is refused (:class:`NotHomogeneous`).

        >>> Activation.from_text("z**3").degree
        3
        """
        from .parsing import parse_expression

        active, inactive = (sp.sympify(parse_expression(t, {"z": Z}, exact=True)) for t in (on_active, on_inactive))
        activation = cls(name or f"sigma(z) = {sp.sstr(active)} / {sp.sstr(inactive)}", sp.Integer(0), active, inactive)
        _ = activation.degree  # refuse a non-homogeneous activation now
        return activation

    @property
    def uses_regions(self) -> bool:
        if self.on_active is not None:  # a user's activation: regions matter unless both sides agree
            return self.on_active != self.on_inactive
        return self.name != "linear"

    @cached_property
    def degree(self) -> sp.Expr:
        """``s`` from ``σ(cz) = c^s σ(z)`` on the active region (and checked on the other one,
        where the activation is not identically zero)."""
        z = sp.Symbol("z", real=True, nonzero=True)
        s = homogeneity_degree(self(_C * z, 1), self(z, 1))
        if (self.name == "leaky_relu" and self.slope != 0) or (self.on_inactive not in (None, 0)):
            if homogeneity_degree(self(_C * z, 0), self(z, 0)) != s:
                raise NotHomogeneous(f"{self.name}: different degrees on the two regions")
        return s


LINEAR = Activation("linear")
RELU = Activation("relu")
LEAKY_RELU = Activation("leaky_relu", sp.Rational(1, 5))
SQUARED_RELU = Activation("squared_relu")
ACTIVATIONS = {a.name: a for a in (LINEAR, RELU, LEAKY_RELU, SQUARED_RELU)}


# ----------------------------------------------------------------------------- losses
def exponential_loss(q: sp.Expr) -> sp.Expr:
    return sp.exp(-q)


def logistic_loss(q: sp.Expr) -> sp.Expr:
    return sp.log(1 + sp.exp(-q))


LOSSES = {"exponential": exponential_loss, "logistic": logistic_loss}


def margin_loss(loss) -> Callable[[sp.Expr], sp.Expr]:
    """``q ↦ ℓ(q)`` for a name of :data:`LOSSES`, a callable, or a user's text in ``q`` (read
    by :mod:`derivations.parsing`), e.g. ``"log(1 + exp(-2*q))"``.

    >>> margin_loss("exp(-q)/2")(sp.Integer(0))
    1/2
    """
    if callable(loss):
        return loss
    if loss in LOSSES:
        return LOSSES[loss]
    from .parsing import parse_expression

    q = sp.Symbol("q", real=True)
    expr = parse_expression(loss, {"q": q}, exact=True)
    if not expr.has(q):
        raise ValueError(f"the loss {loss!r} does not depend on the margin q")
    return lambda margin: expr.xreplace({q: margin})


def loss_derivative(name, q: sp.Expr) -> sp.Expr:
    """``ℓ'(q)`` (``name``: anything :func:`margin_loss` takes)."""
    t = sp.Symbol("q_", real=True)
    return sp.diff(margin_loss(name)(t), t).xreplace({t: q})


# ----------------------------------------------------------------------------- networks
@dataclass(frozen=True)
class Neuron:
    """A hidden unit: ``incoming`` are the weights (and bias) into it, ``outgoing`` the weights out."""

    name: str
    layer: int
    incoming: tuple[sp.Symbol, ...]
    outgoing: tuple[sp.Symbol, ...]


@dataclass(frozen=True)
class Network:
    """A fully connected network ``widths = (d_in, h_1, …, h_{D−1}, 1)`` evaluated on ``n_data``
    symbolic data points ``x_i`` with labels ``y_i`` (symbols; draw them from ±1).

    ``regions``: ``"active"`` (every unit active on every point), ``"mixed"`` (unit ``k`` of
    layer ``l`` inactive on point ``i`` iff ``k + i + l ≡ 2 mod 3``), or an integer seed for a
    random 0/1 pattern (for leaky ReLU the inactive region uses the slope). ``bias=True``
    adds biases (the network is then *not* homogeneous: used by falsifiers).
    """

    widths: tuple[int, ...]
    activation: Activation
    n_data: int = 2
    bias: bool = False
    regions: object = "active"
    prefix: str = "w"

    def __post_init__(self):
        widths = tuple(self.widths)
        if len(widths) < 2 or widths[-1] != 1 or any(not isinstance(w, int) or w < 1 for w in widths):
            raise ValueError(f"widths must be positive integers ending with the scalar output 1, got {self.widths!r}")
        if not (isinstance(self.n_data, int) and self.n_data >= 1):
            raise ValueError(f"n_data must be a positive integer, got {self.n_data!r}")
        object.__setattr__(self, "widths", widths)

    # ------------------------------------------------------------------ symbols
    @property
    def depth(self) -> int:
        return len(self.widths) - 1

    @cached_property
    def weights(self) -> list[sp.Matrix]:
        """``W_l`` (``widths[l] × widths[l−1]``), entries ``w{l}_{i}{j}``."""
        return [sp.Matrix(self.widths[l], self.widths[l - 1],
                          lambda i, j, l=l: sp.Symbol(f"{self.prefix}{l}_{i + 1}{j + 1}", real=True))
                for l in range(1, len(self.widths))]

    @cached_property
    def biases(self) -> list[sp.Matrix]:
        if not self.bias:
            return [sp.zeros(self.widths[l], 1) for l in range(1, len(self.widths))]
        return [sp.Matrix(self.widths[l], 1, lambda i, _, l=l: sp.Symbol(f"b{l}_{i + 1}", real=True))
                for l in range(1, len(self.widths))]

    @cached_property
    def parameters(self) -> list[sp.Symbol]:
        params = []
        for W, b in zip(self.weights, self.biases):
            params += list(W)
            params += [e for e in b if e != 0]
        return params

    @cached_property
    def inputs(self) -> list[sp.Matrix]:
        return [sp.Matrix(self.widths[0], 1, lambda k, _, i=i: sp.Symbol(f"x{i + 1}_{k + 1}", real=True))
                for i in range(self.n_data)]

    @cached_property
    def labels(self) -> list[sp.Symbol]:
        return [sp.Symbol(f"y{i + 1}", real=True) for i in range(self.n_data)]

    @cached_property
    def region_pattern(self) -> dict:
        """``(layer, unit, data point) -> 0/1``."""
        if self.regions not in ("active", "mixed") and not isinstance(self.regions, int):
            raise ValueError(f"regions must be 'active', 'mixed' or an integer seed, got {self.regions!r}")
        rng = random.Random(self.regions) if isinstance(self.regions, int) else None
        pattern = {}
        for l in range(1, self.depth):
            for k in range(self.widths[l]):
                for i in range(self.n_data):
                    if rng is not None:
                        pattern[l, k, i] = rng.randint(0, 1)
                    else:  # "mixed": one inactive (unit, point) pair in three
                        pattern[l, k, i] = int(self.regions == "active" or (k + i + l) % 3 != 2)
        if rng is not None and all(v == 0 for v in pattern.values()):
            pattern[1, 0, 0] = 1
        return pattern

    # ------------------------------------------------------------------ the function
    def output(self, i: int, theta: dict | None = None) -> sp.Expr:
        """``f(θ; x_i)``; ``theta`` optionally maps parameters to expressions (e.g. ``c·θ``)."""
        if theta:
            return self.output(i).xreplace(theta)
        h = self.inputs[i]
        for l, (W, b) in enumerate(zip(self.weights, self.biases), start=1):
            z = W * h + b
            if l < self.depth:
                h = sp.Matrix([self.activation(z[k], self.region_pattern[l, k, i]) for k in range(z.shape[0])])
            else:
                h = z
        return h[0]  # nested (layer by layer): expanding a deep squared-ReLU net explodes

    @cached_property
    def outputs(self) -> list[sp.Expr]:
        return [self.output(i) for i in range(self.n_data)]

    @cached_property
    def margins(self) -> list[sp.Expr]:
        """``q_i = y_i f(θ; x_i)``."""
        return [y * f for y, f in zip(self.labels, self.outputs)]

    def loss(self, name="exponential") -> sp.Expr:
        """``ℒ = Σ_i ℓ(q_i)``."""
        return sum((margin_loss(name)(q) for q in self.margins), sp.Integer(0))

    def gradient(self, expr: sp.Expr) -> dict:
        return {p: sp.diff(expr, p) for p in self.parameters}

    # ------------------------------------------------------------------ homogeneity
    @cached_property
    def degree(self) -> sp.Expr:
        """``L`` read off ``f(cθ; x) = c^L f(θ; x)``: with ``c`` symbolic and θ, x (and labels) at
        two random exact points, ``f(cθ*; x*)`` must be the single monomial ``c^L f(θ*; x*)``
        (a polynomial identity in θ, x then holds with probability 1; MF-3's Euler step checks it
        symbolically). Raises :class:`NotHomogeneous` (e.g. with biases)."""
        rng = random.Random(20260519)
        degrees = set()
        for _ in range(2):
            point = {p: sp.Rational(rng.choice([-1, 1]) * rng.randint(1, 9), rng.randint(1, 5))
                     for p in self.parameters + [e for X in self.inputs for e in X]}
            scale = {p: _C * point[p] for p in self.parameters}
            for i in range(self.n_data):
                original = self.outputs[i].xreplace(point)
                if original == 0:
                    continue
                degrees.add(homogeneity_degree(self.output(i, scale).xreplace(point), original))
        if len(degrees) != 1:
            raise NotHomogeneous(f"f(c θ) = c^L f(θ) fails: degrees {sorted(degrees)} at different points")
        return degrees.pop()

    @property
    def predicted_degree(self) -> sp.Expr:
        """``1 + s + … + s^{D−1}`` (docs/mirror_flow.md, Objects), to compare with the derived ``degree``."""
        s = self.activation.degree
        return sum((s**k for k in range(self.depth)), sp.Integer(0))

    @cached_property
    def neurons(self) -> list[Neuron]:
        """Every hidden unit with its incoming (row of ``W_l``, and bias) and outgoing (column of ``W_{l+1}``) parameters."""
        units = []
        for l in range(1, self.depth):
            W_in, W_out, b = self.weights[l - 1], self.weights[l], self.biases[l - 1]
            for k in range(self.widths[l]):
                incoming = tuple(W_in.row(k)) + ((b[k],) if self.bias else ())
                units.append(Neuron(f"layer {l} unit {k + 1}", l, incoming, tuple(W_out.col(k))))
        return units

    def layer_parameters(self, l: int) -> list[sp.Symbol]:
        """Weights (and biases) of layer ``l`` (1-based)."""
        W, b = self.weights[l - 1], self.biases[l - 1]
        return list(W) + ([e for e in b] if self.bias else [])

    def label_domain(self) -> dict:
        """Samplers: labels in {−1, +1}."""
        from .zerotest import choice

        return {y: choice(-1, 1) for y in self.labels}

    def describe(self) -> str:
        regions = "" if not self.activation.uses_regions else (
            f", regions {self.regions}" if isinstance(self.regions, str) else f", region pattern seed {self.regions}")
        return (f"{'-'.join(map(str, self.widths))} {self.activation.name} net"
                f"{' with biases' if self.bias else ''}, {self.n_data} data points{regions}")
