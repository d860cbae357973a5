"""Claims MF-1, MF-2, MF-3, MF-4 and MF-10 (docs/mirror_flow.md): mirror flow in homogeneous networks.

Conventions shared by the derivations below
* **generic φ** — ``φ`` is an undefined sympy function; the calculus (chain and product
  rules, ``d/dx [x φ'(x) − φ(x)]``, …) is done by sympy on it, then every value
  ``φ^{(k)}(a)`` is replaced by an independent symbol (its *jet*; ``φ''(a) > 0``). An
  identity that holds for arbitrary jet values holds for every C² strictly convex φ, and
  the jet symbols can be drawn at random, so both routes of the engine apply
  (:func:`jet`). This is how "for a generic φ" is checked without editing the engine;
* **catalogue φ** — every potential of :func:`derivations.potentials.catalogue`; identities
  are derived on the half line ``x > 0`` and extended by parity (φ even), and network
  parameters are written on an open orthant ``θ_j = σ_j r_j`` with ``r_j > 0`` and
  ``σ_j = (−1)^{k_j}`` (the pitfalls in docs/), so ``|θ_j|`` never has to be differentiated;
* **networks** — :mod:`derivations.homogeneous` models on a fixed activation region, with
  symbolic data ``x_i`` and labels ``y_i ∈ {±1}``; the degrees ``s`` and ``L`` are derived.
"""

from __future__ import annotations

import sympy as sp

from . import potentials as pot
from .claims import Claim, Falsifier, Step
from .deep_lda import _mirror_potential, _mirror_step, dl4_instance
from .diagonal import balanced_substitution, layer_velocities, layers, product, sign, time_derivative
from .homogeneous import LEAKY_RELU, LINEAR, RELU, SQUARED_RELU, Network, loss_derivative
from .registry import register
from .zerotest import integers, rationals, symbolic_route

__all__ = ["PHI", "jet", "generic_G", "NETWORKS", "catalogue_potentials", "MF1", "MF2", "MF3", "MF4", "MF10"]

PHI = sp.Function("phi")
xi = sp.Symbol("xi", real=True)
g = sp.Symbol("g", real=True)
theta = sp.Symbol("theta", real=True)
r = sp.Symbol("r", positive=True)
REGIONS = "mixed"  # activation regions of the ReLU-type networks: one inactive (unit, point) pair in three

# the models the network steps use: widths (d_in, width, 1), 2 data points, symbolic data
NETWORKS = {
    "linear": Network((2, 2, 1), LINEAR, n_data=2),
    "relu": Network((2, 2, 1), RELU, n_data=2, regions=REGIONS),
    "leaky_relu": Network((2, 2, 1), LEAKY_RELU, n_data=2, regions=REGIONS),
    "squared_relu": Network((2, 2, 1), SQUARED_RELU, n_data=2, regions=REGIONS),
    "deep_squared_relu": Network((2, 2, 2, 1), SQUARED_RELU, n_data=2, regions=REGIONS),
    "deep_leaky_relu": Network((2, 2, 2, 1), LEAKY_RELU, n_data=2, regions=REGIONS),
}


def catalogue_potentials() -> list[pot.Potential]:
    return pot.catalogue()


# ----------------------------------------------------------------------------- generic φ: jets
def _jet_symbol(order: int, at: sp.Basic) -> sp.Symbol:
    name = "phi" + "'" * order if order <= 3 else f"phi^({order})"
    if order == 2:
        return sp.Symbol(f"{name}({at})", positive=True)  # strict convexity: φ'' > 0
    return sp.Symbol(f"{name}({at})", real=True)


def jet(expr):
    """Replace ``φ^{(k)}(a)`` (derivatives of the undefined :data:`PHI`) by independent jet symbols."""
    def rule(e):
        if isinstance(e, sp.Derivative) and isinstance(e.expr, sp.core.function.AppliedUndef) and e.expr.func == PHI:
            (var, order), = e.variable_count
            if e.expr.args != (var,):
                raise ValueError(f"jet: derivative {e} is not taken at the argument")
            return _jet_symbol(int(order), var)
        return e

    if isinstance(expr, sp.MatrixBase):
        return expr.applyfunc(jet)
    expr = sp.sympify(expr).replace(lambda e: isinstance(e, sp.Derivative), rule)
    return expr.replace(lambda e: isinstance(e, sp.core.function.AppliedUndef) and e.func == PHI,
                        lambda e: _jet_symbol(0, e.args[0]))


def generic_G(t: sp.Symbol) -> sp.Expr:
    """``G(t) = t φ'(t) − φ(t)`` for the undefined φ."""
    return t * sp.diff(PHI(t), t) - PHI(t)


def _generic_d2(t):
    return sp.diff(PHI(t), t, 2)


def _flow_derivative(expr, velocity: dict):
    """``d/dt expr = Σ_j ∂expr/∂θ_j θ̇_j``."""
    def scalar(e):
        return sum((sp.diff(e, p) * v for p, v in velocity.items()), sp.Integer(0))

    return expr.applyfunc(scalar) if isinstance(expr, sp.MatrixBase) else scalar(expr)


def _generic_mirror_velocity(net: Network, loss: str) -> dict:
    """``θ̇_j = −∂_jℒ / φ''(θ_j)`` for the undefined φ."""
    L_ = net.loss(loss)
    return {p: -sp.diff(L_, p) / _generic_d2(p) for p in net.parameters}


def _signs_domain(net: Network) -> dict:
    return net.label_domain()


# ----------------------------------------------------------------------------- catalogue φ on an orthant
def _orthant(net: Network):
    """``θ_j = σ_j r_j``: substitution, magnitudes and signs, for every parameter."""
    mags = {p: sp.Symbol(f"r_{p}", positive=True) for p in net.parameters}
    signs = {p: sign(f"k_{p}") for p in net.parameters}
    return {p: signs[p] * mags[p] for p in net.parameters}, mags, signs


def _concrete_balance_derivative(potential: pot.Potential, net: Network, weights: dict, loss: str = "exponential",
                                 G_pos: sp.Expr | None = None):
    """``d/dt Σ_j c_j G(θ_j)`` along the mirror flow of ``potential`` on ``net`` (orthant form):
    ``G(θ_j) = G₊(r_j)``, ``ṙ_j = σ_j θ̇_j``, ``θ̇_j = −∂_jℒ/φ''₊(r_j)``. ``G_pos`` overrides G₊
    (falsifiers: the Euclidean energy)."""
    G_pos = potential.G_pos if G_pos is None else G_pos
    subs, mags, signs = _orthant(net)
    L_ = net.loss(loss)
    total = sp.Integer(0)
    for p, c_j in weights.items():
        r_j = mags[p]
        dG = sp.diff(G_pos, pot.X_POS).xreplace({pot.X_POS: r_j})
        velocity = (-sp.diff(L_, p)).xreplace(subs) / potential.d2phi_pos.xreplace({pot.X_POS: r_j})
        total += c_j * dG * signs[p] * velocity
    return total, subs


def _neuron_weights(net: Network, neuron, s) -> dict:
    weights = {p: sp.Integer(1) for p in neuron.incoming}
    weights.update({p: -s for p in neuron.outgoing})
    return weights


def _domain(*parts) -> dict:
    merged = {}
    for part in parts:
        merged.update(part)
    return merged


def _assumed(expr: sp.Expr, potential: pot.Potential) -> sp.Expr:
    """Make parameter conditions visible to sympy: ``p > 1`` is written ``p = 1 + r_p``, ``r_p > 0``."""
    if pot.P in expr.free_symbols and any(param.symbol == pot.P for param in potential.params):
        return expr.xreplace({pot.P: 1 + sp.Symbol("r_p", positive=True)})
    return expr


# ----------------------------------------------------------------------------- MF-1
def _mf1_generic_steps() -> list[Step]:
    t = sp.Symbol("x", real=True)
    return [
        Step(jet(sp.diff(xi * sp.diff(PHI(t), t) - PHI(xi), xi, 2)), 0,
             r"$\varphi'' > 0$: $\xi \mapsto \xi\varphi'(x) - \varphi(\xi)$ is strictly concave, so its stationary point $\xi = x$ "
             r"(first-order condition $\varphi'(\xi) = \varphi'(x)$) is the unique maximizer: "
             r"$\varphi^*(\varphi'(x)) = x\varphi'(x) - \varphi(x)$",
             relation="<", label=r"generic $\varphi$: the Legendre sup at $y = \varphi'(x)$ is attained at $\xi = x$",
             display=r"\partial_\xi^2\,[\xi\varphi'(x) - \varphi(\xi)]"),
        Step(jet(sp.diff(generic_G(t), t)), jet(t * _generic_d2(t)), r"product rule: the $\varphi'$ terms cancel",
             label=r"generic $\varphi$: $G'(x) = x\,\varphi''(x)$", display=r"G'(x)"),
        Step(jet((PHI(0) - PHI(t) - sp.diff(PHI(t), t) * (0 - t)) - PHI(0)), jet(generic_G(t)),
             r"$D_\varphi(a, b) = \varphi(a) - \varphi(b) - \varphi'(b)(a - b)$ at $a = 0$, $b = x$",
             label=r"generic $\varphi$: $G(x) = D_\varphi(0, x) - \varphi(0)$", display=r"D_\varphi(0, x) - \varphi(0)"),
        Step(jet(sp.diff(generic_G(t), t) / sp.diff(PHI(t), t, 2)), t,
             r"$\varphi^*(\varphi'(x)) = G(x)$: differentiate in $x$ and divide by $dy/dx = \varphi''(x) > 0$",
             label=r"generic $\varphi$: $(\varphi^*)'(y) = (\varphi')^{-1}(y)$", display=r"\frac{dG/dx}{d\varphi'(x)/dx}"),
    ]


_INVERSE_PAIRS = {sp.asinh: sp.sinh, sp.atanh: sp.tanh, sp.acosh: sp.cosh}


def _cancel_with_lemmas(expr: sp.Expr, used: set) -> sp.Expr:
    """``asinh(sinh z) → z`` (and atanh∘tanh, acosh∘cosh on z > 0), recording which lemma was used;
    the lemmas themselves are steps of the claim (:func:`_lemma_steps`)."""
    for e in sp.preorder_traversal(expr):
        outer = type(e)
        if outer in _INVERSE_PAIRS and isinstance(e.args[0], _INVERSE_PAIRS[outer]):
            used.add(outer)
    return pot._cancel_inverses(expr)


def _lemma_steps(used: set) -> list[Step]:
    """``f⁻¹(f(z)) = z``: the derivative is 1 (sympy proves it) and the value at 0 is 0."""
    steps = []
    for outer in sorted(used, key=lambda f: f.__name__):
        inner = _INVERSE_PAIRS[outer]
        z = sp.Symbol("z", positive=True) if outer is sp.acosh else sp.Symbol("z", real=True)
        name = rf"\operatorname{{{outer.__name__}}}(\{inner.__name__}\,z)"
        steps.append(Step(sp.diff(outer(inner(z)), z), 1, "chain rule; with the value 0 at $z = 0$ this gives "
                          f"${name} = z$", label=rf"lemma: $\frac{{d}}{{dz}}\,{name} = 1$", display=rf"\frac{{d}}{{dz}}\,\mathrm{{{outer.__name__}}}(\mathrm{{{inner.__name__}}}\,z)"))
        steps.append(Step(outer(inner(sp.Integer(0))), 0, "value at 0", label=f"lemma: ${name} = 0$ at $z = 0$"))
    return steps


def _mf1_potential_steps(potential: pot.Potential, used: set) -> list[Step]:
    X, Y, name, dom = pot.X_POS, pot.Y_POS, potential.tex_name, potential.domain

    def ready(expr):
        return _assumed(_cancel_with_lemmas(sp.sympify(expr), used), potential)

    steps = [
        Step(ready(potential.d2phi_pos), 0, r"strictly convex on $x > 0$ (and $\varphi$ is even)", relation=">",
             domain=dom, instance=name, label=rf"$\varphi''(x) > 0$", display=r"\varphi''(x)"),
        Step(potential.phi.xreplace({pot.x: -pot.x}), potential.phi, r"$\varphi$ is even", domain=dom,
             instance=name, label=rf"$\varphi(-x) = \varphi(x)$", display=r"\varphi(-x)"),
        Step(ready(sp.diff(potential.G_pos, X)), ready(X * potential.d2phi_pos), r"differentiate $G = x\varphi' - \varphi$",
             domain=dom, instance=name, label=rf"$G'(x) = x\,\varphi''(x)$", display=r"G'(x)"),
        Step(ready(potential.phi.subs(pot.x, 0) - potential.phi_pos - potential.dphi_pos * (0 - X)
                   - potential.phi.subs(pot.x, 0)), ready(potential.G_pos), "Bregman divergence from the origin",
             domain=dom, instance=name, label=rf"$D_\varphi(0, x) - \varphi(0) = G(x)$", display=r"D_\varphi(0, x) - \varphi(0)"),
    ]
    inverse, conj = potential.inverse_dphi, potential.conjugate_pos
    if conj is None:
        return steps
    forward = ready(potential.dphi_pos.xreplace({X: inverse}))
    if symbolic_route(forward - Y) == "zero":
        inverse_step = Step(forward, Y, r"$X(y)$ solves $\varphi'(x) = y$ (derived, not typed)", domain=dom,
                            instance=name, label=rf"$\varphi'(X(y)) = y$", display=r"\varphi'(X(y))")
    else:
        inverse_step = Step(ready(inverse.xreplace({Y: potential.dphi_pos})), X,
                            r"$X$ is a left inverse of the increasing bijection $\varphi'$ of $(0, \infty)$, hence its inverse",
                            domain=dom, instance=name, label=rf"$X(\varphi'(x)) = x$", display=r"X(\varphi'(x))")
    return steps + [
        inverse_step,
        Step(ready(conj), ready(Y * inverse - potential.phi_pos.xreplace({X: inverse})),
             r"the sup of $\xi y - \varphi(\xi)$ is attained at $\xi = X(y)$ ($\varphi$ strictly convex)", domain=dom,
             instance=name, label=rf"$\varphi^*(y) = y\,X(y) - \varphi(X(y))$", display=r"\varphi^*(y)"),
        Step(ready(conj), ready(potential.G_pos.xreplace({X: inverse})),
             r"Fenchel-Young at the dual point $y = \varphi'(x)$, written with $x = X(y)$ ($X$ is a bijection of $(0, \infty)$)",
             domain=dom, instance=name, label=rf"Fenchel-Young $\varphi^*(\varphi'(x)) = G(x)$", display=r"\varphi^*(y)"),
        Step(ready(sp.diff(conj, Y)), ready(inverse), r"envelope theorem: $(\varphi^*)' = (\varphi')^{-1}$", domain=dom,
             instance=name, label=rf"$(\varphi^*)'(y) = X(y)$", display=r"\frac{d}{dy}\varphi^*(y)"),
        Step(ready(potential.conjugate.xreplace({pot.y: -pot.y})), ready(potential.conjugate), r"$\varphi$ even $\Rightarrow$ $\varphi^*$ even",
             domain=dom, instance=name, label=rf"$\varphi^*(-y) = \varphi^*(y)$", display=r"\varphi^*(-y)"),
    ]


def _mf1_steps() -> list[Step]:
    """The generic steps, then each property over the catalogue (property by property, so the
    report folds each into one table of potentials), then the lemmas the potentials used."""
    steps, used = _mf1_generic_steps(), set()
    per_potential = [_mf1_potential_steps(potential, used) for potential in catalogue_potentials()]
    order = list(dict.fromkeys(step.label for block in per_potential for step in block))
    steps += sorted((step for block in per_potential for step in block), key=lambda st: order.index(st.label))
    return steps + _lemma_steps(used)


def _mf1_wrong_conjugate() -> Step:
    """The conjugate of cosh paired with the hyperbolic entropy's G: not a Legendre pair."""
    hyp, cosh = pot.hyperbolic_entropy(), pot.cosh_potential()
    return Step(cosh.conjugate_pos, hyp.G_pos.xreplace({pot.X_POS: hyp.inverse_dphi}), "Fenchel-Young",
                domain=hyp.domain)


def _mf1_nonconvex() -> Step:
    """phi = x^4/4 - x^2/2 (even, not convex): the stationary point need not be the maximizer."""
    phi = xi**4 / 4 - xi**2 / 2
    return Step(sp.diff(-phi, xi, 2), 0, "second-order condition of the Legendre sup", relation="<",
                domain={xi: rationals(-2, 2)})


MF1 = Claim(
    id="MF-1",
    title=r"Convex duality: Fenchel-Young at the dual point, $G' = x\,\varphi''$, $G$ as a Bregman divergence",
    statement=r"For an even, strictly convex $\varphi$ with $\varphi'$ onto $\mathbb R$: "
    r"$\varphi^*(\varphi'(x)) = x\varphi'(x) - \varphi(x) =: G(x)$, $G'(x) = x\varphi''(x)$, "
    r"$G(x) = D_\varphi(0, x) - \varphi(0)$, and $(\varphi^*)' = (\varphi')^{-1}$; for every catalogue "
    r"potential with a closed-form conjugate, $\varphi^*$ is derived by the Legendre transform and checked.",
    assumptions=[("Legendre pair", r"$\varphi^*$ is the Legendre transform of $\varphi$ itself"),
                 ("strictly convex", r"$\varphi'' > 0$, so the stationary point of $\xi y - \varphi(\xi)$ is the maximizer")],
    derive=_mf1_steps,
    falsifiers=[
        Falsifier("Legendre pair", r"$\varphi^*$ of $\cosh$ against $G$ of the hyperbolic entropy", _mf1_wrong_conjugate),
        Falsifier("strictly convex", r"$\varphi = x^4/4 - x^2/2$: the second-order condition fails near 0", _mf1_nonconvex),
    ],
    scope=r"generic $\varphi$ via jets (independent symbols for $\varphi(a)$, $\varphi'(a)$, $\varphi''(a) > 0$); "
    r"catalogue on $x > 0$, extended by parity. $x^2/2 + x^4/4$ has no kept closed-form conjugate (its "
    r"$\varphi' = x + x^3$ inverts only by Cardano): its $G$ is $x\varphi' - \varphi$.",
)


# ----------------------------------------------------------------------------- MF-2
def _rescaling_step(key: str, loss: str = "exponential") -> Step:
    net = NETWORKS[key]
    s = net.activation.degree
    L_ = net.loss(loss)
    grad = net.gradient(L_)
    rows = [sum((p * grad[p] for p in v.incoming), sp.Integer(0)) - s * sum((p * grad[p] for p in v.outgoing), sp.Integer(0))
            for v in net.neurons]
    return Step(sp.Matrix(rows), sp.zeros(len(rows), 1),
                rf"$\sigma(cz) = c^s \sigma(z)$ with $s = {s}$ (derived): scaling $in(v)$ by $c$ and $out(v)$ by "
                r"$c^{-s}$ leaves $f$ unchanged; differentiate at $c = 1$", domain=_signs_domain(net),
                label=rf"rescaling $\langle\theta_{{in}}, \nabla_{{in}}\mathcal L\rangle = s\,\langle\theta_{{out}}, "
                      rf"\nabla_{{out}}\mathcal L\rangle$: {net.describe()}, {loss} loss",
                display=r"\big(\langle\theta_{in(v)}, \nabla_{in(v)}\mathcal L\rangle - s\,\langle\theta_{out(v)}, "
                        r"\nabla_{out(v)}\mathcal L\rangle\big)_v")


def _generic_balance_step(key: str, loss: str = "exponential", layerwise: bool = False) -> Step:
    net = NETWORKS[key]
    s = net.activation.degree
    velocity = _generic_mirror_velocity(net, loss)
    if layerwise:
        quantities = [sum((generic_G(p) for p in net.layer_parameters(l)), sp.Integer(0))
                      - s * sum((generic_G(p) for p in net.layer_parameters(l + 1)), sp.Integer(0))
                      for l in range(1, net.depth)]
        what, display = "layer", r"\frac{d}{dt}\Big[\sum_{W_l} G - s\sum_{W_{l+1}} G\Big]_l"
    else:
        quantities = [sum((generic_G(p) for p in v.incoming), sp.Integer(0))
                      - s * sum((generic_G(p) for p in v.outgoing), sp.Integer(0)) for v in net.neurons]
        what, display = "per neuron", r"\frac{d}{dt}\Big[\sum_{in(v)} G(\theta_j) - s\sum_{out(v)} G(\theta_j)\Big]_v"
    derivative = jet(_flow_derivative(sp.Matrix(quantities), velocity))
    return Step(derivative, sp.zeros(len(quantities), 1),
                r"$\frac{d}{dt} G(\theta_j) = -\theta_j\,\partial_j\mathcal L$, then the rescaling identity", domain=_signs_domain(net),
                label=f"generic $\\varphi$, balance {what}: {net.describe()}, {loss} loss", display=display)


def _concrete_balance_step(potential: pot.Potential, key: str | Network = "squared_relu", *, s=None, G_pos=None,
                           label: str = "", loss="exponential") -> Step:
    """MF-2 for one potential on one network (a key of :data:`NETWORKS`, or any ``Network``)."""
    net = NETWORKS[key] if isinstance(key, str) else key
    s = net.activation.degree if s is None else s
    rows = []
    for neuron in net.neurons:
        derivative, _ = _concrete_balance_derivative(potential, net, _neuron_weights(net, neuron, s), loss,
                                                     G_pos=G_pos)
        rows.append(derivative)
    return Step(sp.Matrix(rows), sp.zeros(len(rows), 1), r"MF-1 ($G' = x\,\varphi''$) and the rescaling identity",
                domain=_domain(_signs_domain(net), potential.domain),
                label=label or f"{potential.tex_name}: balance per neuron along its mirror flow, {net.describe()}",
                display=r"\frac{d}{dt}\Big[\sum_{in(v)} G(\theta_j) - s\sum_{out(v)} G(\theta_j)\Big]_v")


def _mf2_steps() -> list[Step]:
    steps = [Step(jet(sp.diff(generic_G(theta), theta) * (-g / _generic_d2(theta))), -theta * g,
                  r"chain rule with $\dot\theta = -g/\varphi''(\theta)$ and $G' = x\,\varphi''$",
                  label=r"generic $\varphi$: $\frac{d}{dt} G(\theta_j) = -\theta_j\,\partial_j\mathcal L$",
                  display=r"\frac{d}{dt}G(\theta_j)")]
    signs = {True: [], False: []}     # θ > 0 and θ < 0, each over the catalogue (folded in the report)
    for potential in catalogue_potentials():
        G_pos, d2 = potential.G_pos, potential.d2phi_pos
        dG = sp.diff(G_pos, pot.X_POS)
        signs[True].append(Step(dG * (-g / d2), -pot.X_POS * g, r"$\theta = x > 0$", domain=potential.domain,
                          label=r"$\frac{d}{dt} G(\theta) = -\theta g$, $\theta > 0$", instance=potential.tex_name,
                          display=r"\frac{d}{dt}G(\theta)"))
        # θ = −r < 0: G(θ) = G₊(r), ṙ = −θ̇ = g/φ''₊(r)
        signs[False].append(Step((dG * (g / d2)).xreplace({pot.X_POS: r}), r * g, r"$\theta = -r < 0$, $G$ and $\varphi''$ even", domain=potential.domain,
                          label=r"$\frac{d}{dt} G(\theta) = -\theta g$, $\theta < 0$", instance=potential.tex_name,
                          display=r"\frac{d}{dt}G(\theta)"))
    steps += signs[True] + signs[False]
    for key in ("linear", "relu", "leaky_relu", "squared_relu", "deep_leaky_relu", "deep_squared_relu"):
        steps.append(_rescaling_step(key))
    steps.append(_rescaling_step("squared_relu", "logistic"))
    for key in ("linear", "relu", "leaky_relu", "squared_relu", "deep_squared_relu"):
        steps.append(_generic_balance_step(key))
    steps.append(_generic_balance_step("squared_relu", "logistic"))
    steps.append(_generic_balance_step("squared_relu", layerwise=True))
    steps.append(_generic_balance_step("deep_leaky_relu", layerwise=True))
    for potential in catalogue_potentials():
        steps.append(_concrete_balance_step(potential))
    steps.append(_du_hu_lee_step())
    return steps


def _du_hu_lee_step() -> Step:
    """Quadratic φ: gradient flow, ‖w_k‖² − a_k² conserved (Du, Hu & Lee 2018), ReLU net."""
    net = NETWORKS["relu"]
    L_ = net.loss("exponential")
    velocity = {p: -sp.diff(L_, p) for p in net.parameters}
    rows = [sum((p**2 for p in v.incoming), sp.Integer(0)) - sum((p**2 for p in v.outgoing), sp.Integer(0))
            for v in net.neurons]
    return Step(_flow_derivative(sp.Matrix(rows), velocity), sp.zeros(len(rows), 1),
                r"quadratic $\varphi$: $G = x^2/2$, mirror flow = gradient flow, $s = 1$", domain=_signs_domain(net),
                label=rf"quadratic $\varphi$ recovers Du-Hu-Lee: $\frac{{d}}{{dt}}(\|w_k\|^2 - a_k^2) = 0$, {net.describe()}",
                display=r"\frac{d}{dt}\big(\|w_k\|^2 - a_k^2\big)_k")


def _mf2_euclidean_falsifier() -> Step:
    return _concrete_balance_step(pot.cosh_potential(), G_pos=pot.X_POS**2 / 2,
                                  label=r"Euclidean balance along the $\cosh$ mirror flow")


def _mf2_wrong_degree_falsifier() -> Step:
    return _concrete_balance_step(pot.hyperbolic_entropy(), s=1, label="balance with $s = 1$ for squared ReLU")


MF2 = Claim(
    id="MF-2",
    title="Balance equation per neuron along mirror flow",
    statement=r"Along $\theta_j' = -\partial_j\mathcal L/\varphi''(\theta_j)$, for every hidden unit $v$ of a "
    r"network whose activation has degree $s$: $\frac{d}{dt}\big[\sum_{j\in in(v)} G(\theta_j) - "
    r"s\sum_{j\in out(v)} G(\theta_j)\big] = 0$, $G(x) = x\varphi'(x) - \varphi(x)$; summed over a layer: "
    r"$\sum_{W_l} G - s\sum_{W_{l+1}} G$ is conserved. Quadratic $\varphi$: Du-Hu-Lee.",
    assumptions=[("G, not the Euclidean energy", "the conserved quantity uses $G$ of the flow's own potential"),
                 ("activation degree", "$s$ is the activation's homogeneity degree (derived: 1 for linear/ReLU/leaky, 2 for squared ReLU)")],
    derive=_mf2_steps,
    falsifiers=[
        Falsifier("G, not the Euclidean energy", r"$\frac12\sum_{in}\theta^2 - \frac s2\sum_{out}\theta^2$ along the $\cosh$ mirror flow",
                  _mf2_euclidean_falsifier),
        Falsifier("activation degree", "squared ReLU net with $s = 1$ (hyperbolic entropy flow)", _mf2_wrong_degree_falsifier),
    ],
    scope="networks on a fixed activation region (mixed pattern), 2 inputs, width 2, 2 symbolic data points, labels $\\pm 1$; "
    "depth 3 for squared ReLU and leaky ReLU. Generic $\\varphi$ via jets; every catalogue potential on an open orthant.",
)


# ----------------------------------------------------------------------------- MF-3
def _euler_step(key: str) -> Step:
    net = NETWORKS[key]
    L_ = net.degree
    rows = [sum((p * sp.diff(f, p) for p in net.parameters), sp.Integer(0)) for f in net.outputs]
    return Step(sp.Matrix(rows), L_ * sp.Matrix(net.outputs),
                rf"Euler: $f(c\theta) = c^L f(\theta)$ with $L = {L_}$ derived from the model "
                rf"($1 + s + \dots = {net.predicted_degree}$)",
                label=rf"Euler $\langle\theta, \nabla f(\theta; x_i)\rangle = L f$, $L = {L_}$: {net.describe()}",
                display=r"\big(\langle\theta, \nabla_\theta f(\theta; x_i)\rangle\big)_i")


def _margin_sum(net: Network, loss: str, L_) -> sp.Expr:
    return L_ * sum((-loss_derivative(loss, q) * q for q in net.margins), sp.Integer(0))


def _growth_step(key: str, loss: str, L_=None) -> Step:
    net = NETWORKS[key] if isinstance(key, str) else key
    L_ = net.degree if L_ is None else L_
    L_loss = net.loss(loss)
    inner = sum((p * sp.diff(L_loss, p) for p in net.parameters), sp.Integer(0))
    return Step(-inner, _margin_sum(net, loss, L_), "chain rule and Euler's identity for each margin $q_i$", domain=_signs_domain(net),
                label=rf"$-\langle\theta, \nabla\mathcal L\rangle = L\sum_i (-\ell'(q_i))\,q_i$: {net.describe()}, {loss} loss",
                display=r"-\langle\theta, \nabla\mathcal L\rangle")


def _mf3_steps() -> list[Step]:
    net = NETWORKS["squared_relu"]
    velocity = _generic_mirror_velocity(net, "exponential")
    energy = sum((generic_G(p) for p in net.parameters), sp.Integer(0))
    L_loss = net.loss("exponential")
    steps = [Step(jet(_flow_derivative(energy, velocity)), -sum((p * sp.diff(L_loss, p) for p in net.parameters), sp.Integer(0)),
                  r"$\frac{d}{dt} G(\theta_j) = -\theta_j\,\partial_j\mathcal L$ (MF-2)", domain=_signs_domain(net),
                  label=rf"generic $\varphi$: $\frac{{d}}{{dt}}\sum_j G(\theta_j) = -\langle\theta, \nabla\mathcal L\rangle$: "
                        f"{net.describe()}",
                  display=r"\frac{d}{dt}\sum_j G(\theta_j)")]
    for key in ("linear", "relu", "leaky_relu", "squared_relu", "deep_leaky_relu", "deep_squared_relu"):
        steps.append(_euler_step(key))
    for key in ("squared_relu", "deep_squared_relu", "leaky_relu"):
        for loss in ("exponential", "logistic"):
            steps.append(_growth_step(key, loss))
    q = sp.Symbol("q", positive=True)
    for loss in ("exponential", "logistic"):
        steps.append(Step(-loss_derivative(loss, q) * q, 0, r"$-\ell' > 0$ and $q > 0$", relation=">",
                          label=rf"{loss}: $(-\ell'(q))\,q > 0$ once the margin $q > 0$", display=r"(-\ell'(q))\,q"))
    for potential in (pot.hyperbolic_entropy(), pot.cosh_potential(), pot.p_power()):
        net = NETWORKS["squared_relu"]
        derivative, subs = _concrete_balance_derivative(potential, net, {p: sp.Integer(1) for p in net.parameters})
        steps.append(Step(derivative, _margin_sum(net, "exponential", net.degree).xreplace(subs),
                          "MF-1 and Euler", domain=_domain(_signs_domain(net), potential.domain),
                          label=rf"{potential.tex_name}: $\frac{{d}}{{dt}}\sum_j G(\theta_j) = L\sum_i (-\ell'(q_i))\,q_i$, "
                                f"{net.describe()}",
                          display=r"\frac{d}{dt}\sum_j G(\theta_j)"))
    return steps


MF3 = Claim(
    id="MF-3",
    title=r"Dual-energy growth: $\frac{d}{dt}\sum_j G(\theta_j) = L\sum_i (-\ell'(q_i))\,q_i$",
    statement=r"Along mirror flow, $\frac{d}{dt}\sum_j G(\theta_j) = \langle\theta, -\nabla\mathcal L\rangle = "
    r"L\sum_i(-\ell'(q_i))\,q_i$, positive once all margins are positive (the mirror analogue of the growth of "
    r"$\frac12\|\theta\|^2$); $L$ is derived from $f(c\theta) = c^L f(\theta)$.",
    assumptions=[("no biases", r"$f$ is positively $L$-homogeneous in $\theta$ (no biases)"),
                 ("degree L", r"$L$ is the network's homogeneity degree ($1 + s + \dots + s^{D-1}$)")],
    derive=_mf3_steps,
    falsifiers=[
        Falsifier("no biases", "2-layer squared ReLU with biases, $L = 3$ from the bias-free model",
                  lambda: _growth_step(Network((2, 2, 1), SQUARED_RELU, n_data=2, bias=True, regions=REGIONS),
                                       "exponential", NETWORKS["squared_relu"].degree)),
        Falsifier("degree L", "2-layer squared ReLU with $L = 2$ (depth, not degree)",
                  lambda: _growth_step("squared_relu", "exponential", 2)),
    ],
    scope=r"the same networks as MF-2; generic $\varphi$ via jets, and the hyperbolic entropy, $\cosh$ and $p$-power flows.",
)


# ----------------------------------------------------------------------------- MF-4
def _horizon_step(potential: pot.Potential, claimed: sp.Expr | None = None) -> Step:
    """``lim_{X→∞} φ(X/(1+v))/φ(X) = h(1/(1+v))`` (``u = 1/(1+v) ∈ (0, 1)``)."""
    ratio = potential.horizon_ratio()
    if potential.phi_pos.has(sp.cosh, sp.sinh):
        ratio = ratio.rewrite(sp.exp)  # gruntz is much faster on exponentials and logarithms
    h = potential.horizon.h if claimed is None else claimed
    label = potential.horizon.tex if claimed is None else f"claimed $h = {sp.latex(claimed)}$"
    return Step(sp.Limit(ratio, pot._BIG, sp.oo), h.xreplace({pot.U: 1 / (1 + pot.V)}),
                "symbolic limit (gruntz) with $u = 1/(1+v)$, $v > 0$", domain=_domain(potential.domain, {pot.V: rationals(0, 4)}),
                label=rf"{potential.tex_name}: $h(u) = \lim \varphi(uX)/\varphi(X) = {sp.latex(h)}$ $\to$ {label}",
                display=r"\lim_{X\to\infty}\varphi(uX)/\varphi(X)")


def _gauge_step() -> Step:
    """``Σ_i h(|θ_i|/Q(θ)) = 1`` for ``h = u^p``, ``Q = ‖θ‖_p``: the horizon set is the ℓp ball."""
    r1, r2 = sp.symbols("r1 r2", positive=True)
    p = 1 + sp.Symbol("r_p", positive=True)
    Q = (r1**p + r2**p) ** (1 / p)
    return Step((r1 / Q) ** p + (r2 / Q) ** p, 1, r"$Q$ is the gauge of $\{\sum_i |\theta_i|^p \le 1\}$",
                label=r"$h = u^p$: $\sum_i h(|\theta_i|/\|\theta\|_p) = 1$ (the boundary of $S_\infty$), $p > 1$",
                display=r"\sum_i h\big(|\theta_i|/\|\theta\|_p\big)")


c_ = sp.Symbol("c", positive=True)
m_ = sp.Symbol("m", positive=True, integer=True)


def _rate_steps() -> list[Step]:
    """The diagonal ratio ρ_m(c) (m equal coordinates on the boundary of {Σ φ ≤ c}) in closed form."""
    many = {m_: integers(2, 5)}
    rho_cosh = sp.acosh(c_ / m_ + 1) / sp.acosh(c_ + 1)
    rho_quartic_sq = (sp.sqrt(1 + 4 * c_ / m_) - 1) / (sp.sqrt(1 + 4 * c_) - 1)
    p = sp.Symbol("p", positive=True)
    return [
        Step(sp.Limit((1 - rho_cosh) * sp.log(c_), c_, sp.oo), sp.log(m_), r"$\operatorname{acosh}(z) = \log(2z) + o(1)$", domain=many,
             label=r"$\cosh$: $1 - \rho_m(c) \sim \log(m)/\log(c)$: approach to $\ell_\infty$ like $1/\log c$",
             display=r"\lim_{c\to\infty}(1-\rho_m(c))\log c"),
        Step(sp.Limit((rho_quartic_sq - 1 / sp.sqrt(m_)) * sp.sqrt(c_), c_, sp.oo), (1 / sp.sqrt(m_) - 1) / 2,
             r"$\varphi^{-1}(c)^2 = \sqrt{1 + 4c} - 1$ (a quadratic in $x^2$)", domain=many,
             label=r"$x^2/2 + x^4/4$: $\rho_m(c)^2 - m^{-1/2} \sim (m^{-1/2} - 1)/(2\sqrt{c})$: polynomial $c^{-1/2}$",
             display=r"\lim_{c\to\infty}(\rho_m(c)^2 - m^{-1/2})\sqrt c"),
        Step((p * c_ / m_) ** (1 / p) / (p * c_) ** (1 / p), m_ ** (-1 / p), r"$\varphi^{-1}(c) = (pc)^{1/p}$",
             domain={m_: integers(2, 5), p: rationals(1, 6)},
             label=r"$|x|^p/p$: $\rho_m(c) = m^{-1/p}$ at every $c$ (exact, homogeneous)", display=r"\rho_m(c)"),
    ]


def _mf4_steps() -> list[Step]:
    steps = [_horizon_step(potential) for potential in catalogue_potentials()]
    cosh = pot.cosh_potential()
    outside = cosh.phi_pos.xreplace({pot.X_POS: pot._BIG}) / cosh.phi_pos.xreplace({pot.X_POS: (1 + pot.V) * pot._BIG})
    steps.append(Step(sp.Limit(outside.rewrite(sp.exp), pot._BIG, sp.oo), 0, "exponential growth",
                      domain={pot.V: rationals(0, 4)}, label=r"$\cosh$: $1/h(u) = 0$ for $u > 1$, so $S_\infty = \{\max_i |u_i| \le 1\}$",
                      display=r"\lim_{X\to\infty}\varphi(X)/\varphi((1+v)X)"))
    steps.append(_gauge_step())
    steps += _rate_steps()
    return steps


def _mf4_cosh_l2() -> Step:
    return _horizon_step(pot.cosh_potential(), claimed=pot.U**2)


def _mf4_hyp_l2() -> Step:
    return _horizon_step(pot.hyperbolic_entropy(), claimed=pot.U**2)


def _mf4_cosh_fast() -> Step:
    rho = sp.acosh(c_ / m_ + 1) / sp.acosh(c_ + 1)
    return Step(sp.Limit((1 - rho) * sp.log(c_), c_, sp.oo), 0, r"approach faster than $1/\log c$",
                domain={m_: integers(2, 5)})


MF4 = Claim(
    id="MF-4",
    title=r"Horizon function: the normalized sublevel sets converge to an $\ell_p$, $\ell_1$ or $\ell_\infty$ ball",
    statement=r"For an even potential with $\varphi(0)=0$, $\{\varphi\le c\}/\varphi^{-1}(c)\to S_\infty = "
    r"\{u: \sum_i h(|u_i|)\le 1\}$, $h(u) = \lim_{c\to\infty}\varphi(u\varphi^{-1}(c))/c = "
    r"\lim_{X\to\infty}\varphi(uX)/\varphi(X)$: $|x|^p/p\to\ell_p$, hyperbolic entropy $\to\ell_1$, "
    r"$\cosh\to\ell_\infty$, $x^2/2+x^4/4\to\ell_4$, $x^2/2+|x|^p/p\to\ell_{\max(2,p)}$.",
    assumptions=[("growth class", r"the horizon is decided by the growth of $\varphi$ at infinity")],
    derive=_mf4_steps,
    falsifiers=[
        Falsifier("growth class", r"$\cosh$ claimed to have the $\ell_2$ horizon", _mf4_cosh_l2),
        Falsifier("growth class", r"hyperbolic entropy ($x\log x$ growth) claimed $\ell_2$", _mf4_hyp_l2),
        Falsifier("growth class", r"$\cosh$ claimed to approach $\ell_\infty$ faster than $1/\log c$", _mf4_cosh_fast),
    ],
    scope=r"$h(u)$ by symbolic limits ($u = 1/(1+v)$); the numeric route re-evaluates the limit at random rational "
    r"$v$ (and $\alpha$, $p$). Approach rates of the diagonal ratio $\rho(c) = t/X$ with $2\varphi(t) = c = \varphi(X)$, "
    r"measured with mpmath (findroot, 104 digits) at $c = 10^{8}, 10^{16}, 10^{32}, 10^{64}$ (Potential.approach): "
    r"hyperbolic entropy ($\alpha = 1$) 0.52206, 0.51039, 0.50499, 0.50243 $\to 1/2$, like $1/\log c$ (fitted "
    r"exponent 1.04; still 0.5024 at $c = 10^{64}$); $\cosh$ 0.96374, 0.98153, 0.99068, 0.99532 $\to 1$, like "
    r"$1/\log c$ (closed-form limit above); $x^2/2 + x^4/4 \to 2^{-1/4}$ like $c^{-1/2}$ (closed form above); "
    r"$x^2/2 + |x|^3/3$ like $c^{-1/3}$; $x^2/2 + |x|^{3/2}/(3/2) \to 2^{-1/2}$ like $c^{-1/4}$; $|x|^p/p$ exact at "
    r"every $c$. tests/test_potentials.py recomputes these numbers.",
)


# ----------------------------------------------------------------------------- MF-10
u0, v0 = sp.symbols("u v", positive=True)
alpha0 = sp.Symbol("alpha_0", positive=True)
w_ = sp.Symbol("w", real=True)
_S = sp.sqrt(w_**2 + 4 * alpha0**4)
# the invariant set {u, v > 0, u v = alpha_0^2} parametrized by w = u^2 - v^2
U2, V2 = (_S + w_) / 2, (_S - w_) / 2


def _uv_flow():
    """Gradient flow on (u, v) for a loss of w = u^2 - v^2 (one coordinate): u' = -2ug, v' = 2vg."""
    return [sp.Matrix([u0, v0])], [sp.Matrix([-2 * u0 * g, 2 * v0 * g])]


def _mf10_mirror_step(alpha: sp.Expr, label: str) -> Step:
    """``φ_α''(w) ẇ`` with ``ẇ = −4(u² + v²) g`` on the invariant set, which must be ``−4g``."""
    hyp = pot.hyperbolic_entropy()
    d2 = hyp.d2phi_pos.xreplace({pot.X_POS: w_, pot.ALPHA: alpha})  # 1/sqrt(w^2 + alpha^2): even, valid on R
    return Step(d2 * (-4 * (U2 + V2) * g), -4 * g, r"chain rule: $\frac{d}{dt}\varphi_\alpha'(w) = \varphi_\alpha''(w)\,\dot w$", label=label,
                display=r"\frac{d}{dt}\varphi_\alpha'(w) = \varphi_\alpha''(w)\,\dot w")


def _mf10_steps() -> list[Step]:
    states, velocities = _uv_flow()
    steps = [
        Step(time_derivative(u0 * v0, states, velocities), 0, r"$\dot u v + u\dot v = -2uvg + 2uvg$",
             label=r"$uv$ is conserved: $uv = \alpha_0^2$ from $u(0) = v(0) = \alpha_0$", display=r"\frac{d}{dt}(uv)"),
        Step(time_derivative(u0**2 - v0**2, states, velocities), -4 * (u0**2 + v0**2) * g, r"$\dot w = 2u\dot u - 2v\dot v$",
             label=r"$\dot w = -4(u^2 + v^2)\,g$", display=r"\dot w"),
        Step(sp.Matrix([U2 - V2, U2 * V2]), sp.Matrix([w_, alpha0**4]),
             r"$u^2 = (S + w)/2$, $v^2 = (S - w)/2$ with $S = \sqrt{w^2 + 4\alpha_0^4}$ (the positive roots of "
             r"$z^2 - wz - \alpha_0^4 = 0$): the invariant set is a graph over $w$",
             label=r"on $\{uv = \alpha_0^2\}$: $u^2 - v^2 = w$ and $u^2 v^2 = \alpha_0^4$", display=r"(u^2 - v^2,\ u^2v^2)"),
        Step(U2 + V2, _S, "add the two roots", label=r"$u^2 + v^2 = \sqrt{w^2 + 4\alpha_0^4}$", display=r"u^2 + v^2"),
        _mf10_mirror_step(2 * alpha0**2, r"$\frac{d}{dt}\varphi_\alpha'(w) = -4g$ with $\alpha = 2\alpha_0^2$ (hyperbolic entropy)"),
        Step(sp.diff(pot.hyperbolic_entropy().phi, pot.x).subs(pot.x, 0), 0, r"$\operatorname{asinh}(0) = 0$",
             label=r"$w(0) = \alpha_0^2 - \alpha_0^2 = 0$ and $\varphi_\alpha'(0) = 0$: the dual variable starts at 0",
             display=r"\varphi_\alpha'(w(0))"),
        Step(sp.Limit(sp.sqrt(r**2 + pot.ALPHA**2), pot.ALPHA, 0, "+"), r, "continuity",
             label=r"$\alpha_0 \to 0$: $\dot w = -4\sqrt{w^2 + \alpha^2}\,g \to -4|w|\,g$, DL-4's $L = 2$ form "
                   r"($\dot w = -2|w|g$) at double speed",
             display=r"\lim_{\alpha\to0}\sqrt{w^2+\alpha^2}"),
    ]
    # DL-4 + DL-6 composed mechanically: explicit layers, balanced point, d/dt Φ'(w) = ϕ''(|w|) ẇ = −g
    for depth in (2, 3, 4):
        U = layers(depth, 1)
        g_vec = sp.Matrix([g])
        w_dot = time_derivative(product(U), U, layer_velocities(U, g_vec))[0]
        subs, mags = balanced_substitution(U)
        phi2 = sp.diff(_mirror_potential(depth), sp.Symbol("t", positive=True), 2)
        t_sym = sp.Symbol("t", positive=True)
        steps.append(Step(phi2.xreplace({t_sym: mags[0] ** depth}) * w_dot.xreplace(subs), -g,
                          r"DL-4 (the layer flow at a balanced point) then DL-6 ($\Phi'' = 1/(L|w|^{2-2/L})$)",
                          label=f"balanced {depth}-layer flow is mirror flow with DL-6's potential (explicit layers)",
                          display=r"\frac{d}{dt}\Phi'(w) = \Phi''(w)\,\dot w"))
    deep = {sp.Symbol("L", positive=True, integer=True): integers(3, 9)}
    steps += [dl4_instance(3, 2), _mirror_step(sp.Symbol("L", positive=True, integer=True),
                                               sp.Symbol("L", positive=True, integer=True), deep), _mirror_step(2, 2)]
    return steps


MF10 = Claim(
    id="MF-10",
    title=r"Bridge: $u \odot u - v \odot v$ gradient flow is hyperbolic-entropy mirror flow; balanced deep flow is DL-6 mirror flow",
    statement=r"Gradient flow on $w = u\odot u - v\odot v$ from $u(0) = v(0) = \alpha_0\mathbf 1$ satisfies "
    r"$\frac{d}{dt}\varphi_\alpha'(w) = -4\nabla f(w)$ with the hyperbolic entropy at $\alpha = 2\alpha_0^2$ "
    r"(mirror flow of $\varphi_\alpha/4$); the balanced $L$-layer flow of DL-4 is mirror flow with the potential "
    r"of DL-6.",
    assumptions=[("α from the initialization", r"$\alpha = 2\alpha_0^2 = 2uv$ ($uv$ is conserved)"),
                 ("matching depth", "the DL-6 potential of the network's own depth")],
    derive=_mf10_steps,
    falsifiers=[
        Falsifier("α from the initialization", r"$\alpha = \alpha_0^2$ ($= uv$)",
                  lambda: _mf10_mirror_step(alpha0**2, r"$\alpha = \alpha_0^2$")),
        Falsifier("matching depth", "the depth-3 potential on a depth-4 flow", lambda: _mirror_step(3, 4)),
    ],
    scope="one coordinate suffices (the flows are coordinatewise); DL-4/DL-6 helpers reused from deep_lda.",
)

for _claim in (MF1, MF2, MF3, MF4, MF10):
    register(_claim)
