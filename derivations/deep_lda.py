"""Claims DL-1 … DL-10 (docs/deep_lda.md): Deep LDA on L-layer diagonal linear networks.

Conventions shared by the derivations below
* symbolic depth ``L`` and one representative coordinate (per-coordinate statements) or
  ``DIM`` coordinates (statements that sum over coordinates);
* a balanced point at symbolic depth: ``u_{l,i} = ε_l s`` with ``s > 0``, ``ε_l = (−1)^{k_l}``,
  ``w = σ s^L`` with ``σ = (−1)^m``; the other layers multiply to ``w/u_l``;
* instantiations with explicit layers (``L ≤ 6``, ``d ≤ 5``) differentiate ``Π_l u_l``
  mechanically along the layer flow, so the product rule itself is checked there.
"""

from __future__ import annotations

import sympy as sp

from . import objectives as obj
from .claims import Claim, Falsifier, Step, chain
from .diagonal import (
    DEPTH as L,
    balanced_substitution,
    free_gradient,
    layer_velocities,
    layers,
    product,
    quasi_norm,
    reduced_field,
    sign,
    time_derivative,
)
from .registry import register
from .zerotest import integers

DIM = 3  # coordinates in the symbolic-depth derivations that sum over coordinates
MAX_DEPTH, MAX_DIM = 6, 5  # instantiation grid of DL-4 and DL-5

s = sp.Symbol("s", positive=True)  # |u_{l,i}| at a balanced point
t = sp.Symbol("t", positive=True)  # |w_i|
c = sp.Symbol("c", real=True, nonzero=True)
eta = sp.Symbol("eta", positive=True)
g = sp.Symbol("g", real=True)
w_sym = sp.Symbol("w", real=True, nonzero=True)
sigma = sign("m")  # sign of w_i
l = sp.Symbol("l", positive=True, integer=True)
eps = sp.Integer(-1) ** sp.Indexed(sp.IndexedBase("k", integer=True), l)  # sign of u_{l,i}


# ----------------------------------------------------------------------------- helpers
def _balanced_vectors(d: int):
    """Symbolic depth, ``d`` coordinates: magnitudes ``s_i``, signs ``σ_i``, ``w = σ ⊙ s^L``."""
    mags = sp.Matrix(sp.symbols(f"s1:{d + 1}", positive=True))
    signs = sp.Matrix([sign(f"m{i + 1}") for i in range(d)])
    return mags, signs, signs.multiply_elementwise(mags.applyfunc(lambda x: x**L))


def _gradient_at(loss_name: str, w: sp.Matrix) -> sp.Matrix:
    """∇f evaluated at the point ``w`` (an expression vector)."""
    wv = obj.effective_vector(w.shape[0])
    grad = obj.gradient(obj.loss(loss_name, wv), wv)
    return grad.xreplace(dict(zip(wv, w)))


def _explicit_layer_flow(L_: int, d: int, loss_name: str | None, balanced: bool, rates=None):
    """Explicit layers (balanced or generic), the gradient there, and the layer velocities."""
    U = layers(L_, d)
    w = product(U)
    g_vec = free_gradient(d) if loss_name is None else _gradient_at(loss_name, w)
    V = layer_velocities(U, g_vec, rates)
    subs = balanced_substitution(U)[0] if balanced else {}
    return U, w, g_vec, V, subs


def _dQ_dt_explicit(L_: int, d: int, loss_name: str | None, balanced: bool) -> sp.Expr:
    """d/dt Σ_i |w_i|^{2/L} along the explicit layer flow (signs fixed on the orthant);
    ``loss_name=None`` keeps the gradient free."""
    U, w, g_vec, V, subs = _explicit_layer_flow(L_, d, loss_name, balanced)
    signs = [sp.Symbol(f"sgn{i + 1}") for i in range(d)]  # sign(w_i), constant on the orthant
    Q = sum((signs[i] * w[i]) ** (sp.Integer(2) / L_) for i in range(d))
    derivative = time_derivative(Q, U, V)
    orthant = {signs[i]: sp.sign(w[i]) for i in range(d)}
    return derivative.xreplace(orthant).xreplace(subs), (w.T * g_vec)[0].xreplace(subs)


def _euler_step(loss_name: str, d: int) -> Step:
    """⟨w, ∇f(w)⟩ = 0 at a free point ``w`` of R^d (DL-1), the last step of several proofs."""
    w = obj.effective_vector(d)
    return Step(obj.euler_product(obj.loss(loss_name, w), w), 0, "DL-1 (Euler): the loss is degree-0",
                label=rf"$\langle w, \nabla f(w)\rangle = 0$, {loss_name}", instance=f"$d = {d}$",
                display=r"\langle w, \nabla f(w)\rangle")


# ----------------------------------------------------------------------------- DL-1
def _dl1_steps():
    steps = []
    d = 2
    w = obj.effective_vector(d)
    for name in obj.DEGREE_ZERO:
        f = obj.loss(name, w)
        f_scaled = f.xreplace({wi: c * wi for wi in w})
        steps.append(Step(f_scaled, f, f"{name}: the factor $c^2$ cancels in the ratio", label=f"{name}: $f(cw) = f(w)$"))
        steps += chain(
            obj.euler_product(f, w),
            (sp.diff(f_scaled, c).subs(c, 1), r"chain rule: $\frac{d}{dc} f(cw)$ at $c = 1$", f"{name}: Euler"),
            (sp.Integer(0), "$f(cw)$ does not depend on $c$ (previous step)", rf"{name}: $\langle w, \nabla f\rangle = 0$"),
            display=r"\langle w, \nabla f(w)\rangle",
        )
    return steps


def _euler_fails(name: str):
    return lambda: Step(obj.euler_product(obj.loss(name, obj.effective_vector(2)), obj.effective_vector(2)), 0,
                        "Euler's identity for a degree-0 loss")


DL1 = Claim(
    id="DL-1",
    title="Degree-0 homogeneity of the Deep LDA objectives (Euler)",
    statement=r"For $c \neq 0$: $J(cw) = J(w)$ and $J_{\mathrm{tr}}(cw) = J_{\mathrm{tr}}(w)$; hence "
    r"$\langle w, \nabla f(w)\rangle = 0$ for $f \in \{-J, 1/J, -\log J, -J_{\mathrm{tr}}\}$.",
    assumptions=[("scale-invariance", "the loss is a ratio of two quadratic forms (no ridge, no data-fit term)")],
    derive=_dl1_steps,
    falsifiers=[
        Falsifier("scale-invariance", "Dorfer's ridge-regularized ratio, $r > 0$", _euler_fails("ridge_fisher")),
        Falsifier("scale-invariance", r"square loss $\frac12\|Xw - y\|^2$", _euler_fails("square")),
        Falsifier("scale-invariance", "exponential loss", _euler_fails("exponential")),
    ],
)


# ----------------------------------------------------------------------------- DL-2
def _dl2_steps():
    u_l, u_k = sp.symbols("u_l u_k", real=True, nonzero=True)
    udot_l, udot_k = -g * w_sym / u_l, -g * w_sym / u_k  # Π_{j≠l} u_j = w / u_l
    steps = chain(
        time_derivative(u_l**2, [sp.Matrix([u_l])], [sp.Matrix([udot_l])]),
        (-2 * g * w_sym, r"gradient flow: $u_l \cdot$ (product of the other layers) $= w$, the same for every $l$",
         r"$\frac{d}{dt} u_{l,i}^2 = -2 g_i w_i$"),
        display=r"\frac{d}{dt} u_{l,i}^2",
    )
    steps.append(Step(time_derivative(u_l**2 - u_k**2, [sp.Matrix([u_l, u_k])], [sp.Matrix([udot_l, udot_k])]), 0,
                      "the right side does not depend on $l$", label="symbolic $L$: balance conserved",
                      display=r"\frac{d}{dt}(u_{l,i}^2 - u_{k,i}^2)"))
    for L_ in range(2, MAX_DEPTH + 1):
        U, w, g_vec, V, _ = _explicit_layer_flow(L_, 2, None, balanced=False)
        gaps = sp.Matrix([U[0][i] ** 2 - U[j][i] ** 2 for j in range(1, L_) for i in range(2)])
        steps.append(Step(time_derivative(gaps, U, V), sp.zeros(*gaps.shape),
                          "differentiate along the explicit layer flow", label=f"$L = {L_}$, $d = 2$, any init",
                          display=r"\frac{d}{dt}(u_{1,i}^2 - u_{l,i}^2)_{l,i}"))
    return steps


def _dl2_rates_falsifier():
    U, w, g_vec, V, _ = _explicit_layer_flow(2, 2, None, balanced=False, rates=sp.symbols("eta1 eta2", positive=True))
    gaps = sp.Matrix([U[0][i] ** 2 - U[1][i] ** 2 for i in range(2)])
    return Step(time_derivative(gaps, U, V), sp.zeros(2, 1), "balance conserved")


DL2 = Claim(
    id="DL-2",
    title="Balancedness is conserved for any loss",
    statement=r"$\frac{d}{dt}\,(u_{l,i}^2 - u_{k,i}^2) = 0$, since $\frac{d}{dt} u_{l,i}^2 = -2 g_i w_i$ "
    r"does not depend on $l$; balanced stays balanced: $u_{l,i}(t)^2 = |w_i(t)|^{2/L}$.",
    assumptions=[("same-flow", "every layer follows the gradient flow with the same rate")],
    derive=_dl2_steps,
    falsifiers=[Falsifier("same-flow", r"per-layer learning rates $\eta_1 \ne \eta_2$", _dl2_rates_falsifier)],
)


# ----------------------------------------------------------------------------- DL-3
def _norm_derivative(loss_name: str | None, d: int = DIM):
    """d/dt ||u_l||^2 at a generic (unbalanced) point: u_l and w are independent free vectors;
    ``loss_name=None`` keeps the gradient free."""
    u = obj.effective_vector(d, "v")
    w = obj.effective_vector(d)
    g_vec = free_gradient(d) if loss_name is None else _gradient_at(loss_name, w)
    velocity = sp.Matrix([-g_vec[i] * w[i] / u[i] for i in range(d)])
    return u, w, g_vec, time_derivative((u.T * u)[0], [u], [velocity])


def _dl3_steps():
    u, w, g_vec, derivative = _norm_derivative(None)
    steps = [
        Step(derivative, -2 * (w.T * g_vec)[0], r"$u_{l,i} \cdot$ (product of the other layers) $= w_i$",
             label=r"$\frac{d}{dt}\|u_l\|^2 = -2\langle w, g\rangle$", display=r"\frac{d}{dt}\|u_l\|^2"),
        _euler_step("fisher", DIM),
    ]
    U, w3, g3, V, _ = _explicit_layer_flow(3, 2, "fisher", balanced=False)
    norms = sp.Matrix([(Ul.T * Ul)[0] for Ul in U])
    steps.append(Step(time_derivative(norms, U, V), sp.zeros(3, 1), "explicit layers, no balance assumed",
                      label="$L = 3$, $d = 2$, unbalanced, Fisher", display=r"\frac{d}{dt}(\|u_l\|^2)_{l}"))
    return steps


def _dl3_falsifier(loss_name: str):
    return lambda: Step(_norm_derivative(loss_name)[3], 0, "per-layer norm conserved")


DL3 = Claim(
    id="DL-3",
    title="Per-layer norms are conserved for a degree-0 loss, any initialization",
    statement=r"$\frac{d}{dt}\|u_l\|^2 = -2\langle w, \nabla f(w)\rangle = 0$ for every layer $l$; no balance needed.",
    assumptions=[("degree-0", "the loss is degree-0 homogeneous (DL-1)")],
    derive=_dl3_steps,
    falsifiers=[
        Falsifier("degree-0", "square loss", _dl3_falsifier("square")),
        Falsifier("degree-0", "ridge-regularized Fisher ratio", _dl3_falsifier("ridge_fisher")),
    ],
)


# ----------------------------------------------------------------------------- DL-4
def dl4_instance(L_: int, d: int, *, balanced: bool = True, exponent=None) -> Step:
    """DL-4 at an explicit depth and dimension (``exponent`` plants a wrong power, for tests)."""
    U, w, g_vec, V, subs = _explicit_layer_flow(L_, d, None, balanced)
    return Step(
        time_derivative(w, U, V).xreplace(subs),
        reduced_field(w, g_vec, L_, exponent).xreplace(subs),
        r"differentiate $w = u_1 \odot \dots \odot u_L$ along the layer flow",
        label="explicit layers" + ("" if balanced else ", unbalanced"), instance=f"$L = {L_}$, $d = {d}$",
        display=r"\dot w",
    )


def _dl4_steps():
    u_l = eps * s
    w = sigma * s**L
    others = w / u_l
    steps = chain(
        sp.Sum((-g * others) * others, (l, 1, L)),
        (sp.Sum(-g * s ** (2 * L - 2), (l, 1, L)), "balanced: $(w/u_l)^2 = s^{2L-2}$, signs square to 1",
         "product rule + layer flow"),
        (-L * g * s ** (2 * L - 2), "the summand does not depend on $l$"),
        (-L * sp.Abs(w) ** (2 - 2 / L) * g, "$|w| = s^L$", r"$\dot w = -L\,|w|^{2-2/L} \odot g$"),
        display=r"\dot w_i = \sum_{l=1}^{L} \dot u_{l,i} \prod_{k\neq l} u_{k,i}",
    )
    w_dot = -L * t ** (2 - 2 / L) * g  # DL-4 with w = σ t, t = |w|
    t_dot = sigma * w_dot
    two = {L: 2}
    steps.append(Step((sp.diff(sp.log(t), t) * t_dot).subs(two), -2 * sigma * g,
                      r"$\frac{d}{dt}\log|w| = \dot w/w$", label="$L = 2$: exponentiated gradient",
                      display=r"\frac{d}{dt}\log|w_i|\ (L=2)"))
    steps.append(Step(sp.diff(t ** ((2 - L) / L), t) * t_dot, (L - 2) * sigma * g,
                      r"$\frac{d}{dt}|w|^{(2-L)/L}$ by the chain rule", label="$L > 2$ form",
                      display=r"\frac{d}{dt}|w_i|^{(2-L)/L}"))
    steps += [dl4_instance(L_, d) for L_ in range(1, MAX_DEPTH + 1) for d in range(1, MAX_DIM + 1)]
    return steps


DL4 = Claim(
    id="DL-4",
    title="Balanced initialization turns gradient flow into a multiplicative update",
    statement=r"$\dot w = -L\,|w|^{2-2/L} \odot \nabla f(w)$ for symbolic $L$; $L=2$: "
    r"$\frac{d}{dt}\log|w_i| = -2\,\mathrm{sign}(w_i) g_i$; $L>2$: "
    r"$\frac{d}{dt}|w_i|^{(2-L)/L} = (L-2)\,\mathrm{sign}(w_i) g_i$.",
    assumptions=[("balanced", "$|u_{l,i}(0)| = |u_{k,i}(0)|$ for all $l, k, i$")],
    derive=_dl4_steps,
    falsifiers=[Falsifier("balanced", "generic layers at $L = 3$, $d = 2$", lambda: dl4_instance(3, 2, balanced=False))],
)


# ----------------------------------------------------------------------------- DL-5
def _dl5_steps():
    mags, signs, w = _balanced_vectors(DIM)
    g_vec = free_gradient(DIM)
    s_dot = sp.Matrix([-signs[i] * g_vec[i] * mags[i] ** (L - 1) for i in range(DIM)])  # ε_l u̇_l
    Q = quasi_norm(w, L)
    steps = [Step(time_derivative(Q, [mags], [s_dot]), -2 * (w.T * g_vec)[0],
                  r"$|w_i|^{2/L} = s_i^2$ and $\dot s_i = -\mathrm{sign}(w_i)\, g_i s_i^{L-1}$",
                  label=r"$\frac{dQ}{dt} = -2\langle w, g\rangle$, symbolic $L$",
                  display=r"\frac{d}{dt}\sum_i |w_i|^{2/L}")]
    layer_norm = sum((sign(f"k{i + 1}") * mags[i]) ** 2 for i in range(DIM))
    steps.append(Step(layer_norm, Q, r"$u_{l,i} = \varepsilon_{l,i} s_i$", label=r"$Q = \|u_l\|^2$ for every $l$",
                      display=r"\|u_l\|^2"))
    for L_ in range(1, MAX_DEPTH + 1):
        for d in range(1, MAX_DIM + 1):
            derivative, euler = _dQ_dt_explicit(L_, d, None, True)
            steps.append(Step(derivative, -2 * euler, "differentiate $Q$ along the explicit layer flow",
                              label=r"$\frac{dQ}{dt} = -2\langle w, g\rangle$, explicit layers",
                              instance=f"$L = {L_}$, $d = {d}$", display=r"\frac{d}{dt}Q"))
    steps += [_euler_step("fisher", d) for d in range(1, MAX_DIM + 1)]
    return steps


def _dl5_falsifier(loss_name: str, balanced: bool):
    return lambda: Step(_dQ_dt_explicit(3, 2, loss_name, balanced)[0], 0, "$Q$ conserved")


DL5 = Claim(
    id="DL-5",
    title="The $2/L$ quasi-norm is conserved (the seed's headline)",
    statement=r"Balanced initialization and a degree-0 loss: $Q(w) = \sum_i |w_i|^{2/L} = \|w\|_{2/L}^{2/L}$ "
    r"is constant along the flow, and equals $\|u_l\|^2$ for every layer $l$.",
    assumptions=[("balanced", "balanced initialization"), ("degree-0", "degree-0 homogeneous loss")],
    derive=_dl5_steps,
    falsifiers=[
        Falsifier("balanced", "generic layers, $L = 3$, $d = 2$, Fisher", _dl5_falsifier("fisher", False)),
        Falsifier("degree-0", "square loss, balanced, $L = 3$, $d = 2$", _dl5_falsifier("square", True)),
        Falsifier("degree-0", "ridge Fisher, balanced, $L = 3$, $d = 2$", _dl5_falsifier("ridge_fisher", True)),
    ],
)


# ----------------------------------------------------------------------------- DL-6
def _mirror_potential(depth):
    """ϕ(|w|) with Φ(w) = Σ ϕ(|w_i|): depth 2 the entropy form, depth > 2 a power."""
    depth = sp.sympify(depth)
    if depth == 2:
        return (t * sp.log(t) - t) / 2
    return -depth / (2 * (depth - 2)) * t ** (sp.Integer(2) / depth)


def _mirror_step(potential_depth, flow_depth, domain=None) -> Step:
    """d/dt Φ'(w) = ϕ''(|w|) ẇ on the orthant (Φ'(w) = σ ϕ'(|w|)), which must equal −g."""
    flow_depth = sp.sympify(flow_depth)
    w_dot = -flow_depth * t ** (2 - 2 / flow_depth) * g
    phi2 = sp.diff(_mirror_potential(potential_depth), t, 2)
    return Step(phi2 * w_dot, -g, r"chain rule: $\frac{d}{dt}\Phi'(w) = \Phi''(w)\,\dot w$",
                domain=domain or {}, label=f"mirror flow, depth ${sp.latex(sp.sympify(potential_depth))}$",
                display=r"\frac{d}{dt}\Phi'(w_i) = \Phi''(w_i)\,\dot w_i")


def _dl6_steps():
    deep = {L: integers(3, 9)}
    return [
        Step(sp.diff(_mirror_potential(L), t, 2), 1 / (L * t ** (2 - 2 / L)), "differentiate twice",
             domain=deep, label=r"$\Phi''$ for $L > 2$"),
        Step(sp.diff(_mirror_potential(2), t, 2), 1 / (2 * t), "differentiate twice", label=r"$\Phi''$ for $L = 2$"),
        _mirror_step(L, L, deep),
        _mirror_step(2, 2),
        Step(_mirror_potential(L), -L / (2 * (L - 2)) * quasi_norm(sp.Matrix([sigma * t]), L),
             "$|w|^{2/L} = t^{2/L}$", domain=deep, label=r"$\Phi = -\frac{L}{2(L-2)}\, Q$"),
    ]


DL6 = Claim(
    id="DL-6",
    title="The multiplicative update is a mirror flow",
    statement=r"On each open orthant DL-4 reads $\frac{d}{dt}\nabla\Phi(w) = -\nabla f(w)$ with "
    r"$\nabla^2\Phi = \mathrm{diag}(1/(L|w_i|^{2-2/L}))$: $L=2$: $\Phi = \frac12\sum(|w_i|\log|w_i| - |w_i|)$; "
    r"$L>2$: $\Phi = -\frac{L}{2(L-2)}\sum|w_i|^{2/L}$.",
    assumptions=[("matching-depth", "the potential is the one of the network's depth")],
    derive=_dl6_steps,
    falsifiers=[Falsifier("matching-depth", "the depth-3 potential on a depth-4 flow", lambda: _mirror_step(3, 4))],
)


# ----------------------------------------------------------------------------- DL-7
n = sp.Symbol("n", integer=True, nonnegative=True)  # L = n + 2 ≥ 2


def _field_over_w(depth):
    return (-depth * t ** (2 - sp.Integer(2) / depth) * g) / (sigma * t)


def _dl7_steps():
    deep = n + 2
    return [
        Step(_field_over_w(deep), -sigma * deep * t ** (1 - sp.Integer(2) / deep) * g, r"$w = \mathrm{sign}(w)\,|w|$",
             label=r"$V_i / w_i = -L\,\mathrm{sign}(w_i)\,|w_i|^{1-2/L} g_i$", display=r"V_i / w_i"),
        Step(1 - sp.Integer(2) / deep, 0, r"$L \ge 2$", relation=">=", label=r"exponent $1 - 2/L \ge 0$"),
        Step(sp.Limit(-deep * t ** (2 - sp.Integer(2) / deep) * g, t, 0, "+"), 0,
             "exponent $2 - 2/L > 0$", label=r"$V_i \to 0$ as $w_i \to 0$"),
    ]


DL7 = Claim(
    id="DL-7",
    title="Orthant invariance (symbolic part)",
    statement=r"For $L \ge 2$ the field $V_i = -L|w_i|^{2-2/L} g_i$ vanishes at $w_i = 0$ and $V_i/w_i$ is "
    r"bounded where $g$ is, so (Gronwall) $|w_i(t)| \ge |w_i(0)|e^{-Ct}$: no coordinate changes sign.",
    assumptions=[("depth ≥ 2", r"$L \ge 2$")],
    derive=_dl7_steps,
    falsifiers=[Falsifier("depth ≥ 2", "$L = 1$ (plain gradient flow)",
                          lambda: Step(1 - sp.Integer(2) / 1, 0, r"exponent $1 - 2/L \ge 0$", relation=">="))],
    scope="symbolic part; the trajectory statements (no sign change, the orthant trap) are simulated by numerics",
)


# ----------------------------------------------------------------------------- DL-8
def _gd_increment(g_vec: sp.Matrix):
    """Q after one GD step from a balanced point at symbolic depth, minus Q before it."""
    mags, signs, w = _balanced_vectors(DIM)
    new_mags = sp.Matrix([mags[i] - eta * signs[i] * g_vec[i] * mags[i] ** (L - 1) for i in range(DIM)])
    Q_new = sum((sp.Abs(signs[i] * new_mags[i] ** L) ** (sp.Integer(2) / L) for i in range(DIM)), sp.Integer(0))
    increment = eta**2 * sum((g_vec[i] ** 2 * sp.Abs(w[i]) ** (2 - 2 / L) for i in range(DIM)), sp.Integer(0))
    return mags, w, new_mags, Q_new - quasi_norm(w, L), increment


def _dl8_steps():
    g_vec = free_gradient(DIM)
    mags, w, new_mags, Q_gain, increment = _gd_increment(g_vec)
    one = s * (1 - eta * sigma * g * s ** (L - 2))
    steps = [
        Step(eps * s - eta * g * (sigma * s**L) / (eps * s), eps * (s - eta * sigma * g * s ** (L - 1)),
             r"$u_l' = u_l - \eta\, g\,(w / u_l)$, signs square to 1", label="one GD step on layer $l$"),
        Step((eps * one) ** 2, one**2, r"$\varepsilon^2 = 1$: the same for every $l$", label="balance preserved exactly"),
    ]
    steps += chain(
        Q_gain,
        (sum((new_mags[i] ** 2 - mags[i] ** 2 for i in range(DIM)), sp.Integer(0)),
         "$|w_i'|^{2/L} = s_i'^2$ and $|w_i|^{2/L} = s_i^2$", r"$Q' - Q = \sum_i (s_i'^2 - s_i^2)$"),
        (-2 * eta * (w.T * g_vec)[0] + increment, "expand the square",
         r"$Q' - Q = -2\eta\,\langle w, g\rangle + \eta^2 \sum_i g_i^2 |w_i|^{2-2/L}$"),
        display=r"Q_{t+1} - Q_t",
    )
    steps.append(_euler_step("fisher", DIM))
    return steps


def _dl8_falsifier():
    mags, w, new_mags, Q_gain, increment = _gd_increment(_gradient_at("square", _balanced_vectors(DIM)[2]))
    return Step(Q_gain, increment, "exact GD increment")


DL8 = Claim(
    id="DL-8",
    title=r"Discrete gradient descent: the quasi-norm grows by exactly $\eta^2 \sum_i g_i^2 |w_i|^{2-2/L}$",
    statement=r"One GD step of size $\eta$ on the layers from an exactly balanced point, degree-0 loss: "
    r"$Q_{t+1} = Q_t + \eta^2\sum_i g_i^2|w_i|^{2-2/L}$ exactly, and balance is preserved exactly.",
    assumptions=[("degree-0", "degree-0 homogeneous loss"), ("balanced", "exactly balanced point")],
    derive=_dl8_steps,
    falsifiers=[Falsifier("degree-0", "square loss", _dl8_falsifier)],
)


# ----------------------------------------------------------------------------- DL-9
tau = sp.Symbol("tau", positive=True)
G = sp.Symbol("G", positive=True)
j = sp.Symbol("j", integer=True, nonnegative=True)


def _bernoulli():
    return tau ** (n + 1) - (n + 1) * tau + n


def _amgm_gap(L_: int, balanced: bool) -> tuple[sp.Expr, list[sp.Matrix]]:
    """(1/L) Σ_l ||u_l||^2 − Q(w) at explicit depth ``L_`` and d = 2, and the layers."""
    U = layers(L_, 2)
    subs = balanced_substitution(U)[0] if balanced else {}
    mean_norm = sum(((Ul.T * Ul)[0] for Ul in U), sp.Integer(0)) / L_
    return (mean_norm - quasi_norm(product(U), L_)).xreplace(subs), U


def _dl9_steps():
    bernoulli_sum = sp.Sum((j + 1) * tau ** (n - 1 - j), (j, 0, n - 1))
    gap2, (u1, u2) = _amgm_gap(2, False)
    squares = sum(((sp.Abs(u1[i]) - sp.Abs(u2[i])) ** 2 / 2 for i in range(2)), sp.Integer(0))
    return [
        Step(_bernoulli(), (tau - 1) ** 2 * bernoulli_sum, r"factor the double root at $\tau = 1$",
             label=r"Bernoulli: $\tau^{n+1} - (n+1)\,\tau + n = (\tau-1)^2 B_n(\tau)$"),
        Step(bernoulli_sum, 0, "a sum of non-negative terms", relation=">=", label=r"$B_n(\tau) \ge 0$"),
        Step((n * G + G * tau ** (n + 1)) / (n + 1) - G * tau, G * _bernoulli() / (n + 1),
             r"$x_{n+1} = G\tau^{n+1}$: AM-GM for $n+1$ terms from $n$ terms (induction step)",
             label="induction step"),
        Step(gap2, squares, "complete the square per coordinate", label=r"$L = 2$: mean $\|u_l\|^2 - Q$ as squares",
             display=r"\tfrac12(\|u_1\|^2 + \|u_2\|^2) - Q(w)"),
        Step(squares, 0, "a sum of squares", relation=">=", label=r"$L = 2$: $Q \le$ mean $\|u_l\|^2$"),
        Step(_amgm_gap(3, True)[0], 0, "all layers equal in modulus", label="equality when balanced, $L = 3$"),
    ]


DL9 = Claim(
    id="DL-9",
    title="Unbalanced initialization: $Q$ is bounded by the mean layer norm (AM-GM)",
    statement=r"$Q(w(t)) \le \frac1L\sum_l\|u_l(0)\|^2$ (the layer norms are conserved, DL-3), with equality iff "
    r"balanced; $u_{l,i}^2 - u_{k,i}^2$ and $\|u_l\|^2$ are the conserved quantities (DL-2, DL-3).",
    assumptions=[("balanced", "equality needs a balanced point")],
    derive=_dl9_steps,
    falsifiers=[Falsifier("balanced", "generic layers, $L = 3$: equality", lambda: Step(_amgm_gap(3, False)[0], 0,
                                                                                 "equality in AM-GM"))],
)


# ----------------------------------------------------------------------------- DL-10
def _stationarity(rank_one: bool) -> sp.Expr:
    d = 2
    w = obj.effective_vector(d)
    delta = sp.Matrix(sp.symbols("delta1:3", real=True))
    A = obj.symmetric_matrix("A", d)
    B = delta * delta.T if rank_one else obj.symmetric_matrix("B", d)
    J = (w.T * B * w)[0] / (w.T * A * w)[0]
    optimum = A.inv() * delta
    return obj.gradient(J, w).xreplace(dict(zip(w, optimum)))


def _dl10_steps():
    return [
        Step(_stationarity(True), sp.zeros(2, 1), r"two classes: $\Sigma_b = \delta\delta^\top$",
             label=r"$\nabla J(\Sigma_w^{-1}\delta) = 0$"),
        Step(quasi_norm(sp.Matrix([c * t]), L), sp.Abs(c) ** (2 / L) * quasi_norm(sp.Matrix([t]), L),
             "$|cw|^{2/L} = |c|^{2/L} |w|^{2/L}$", label="$Q(cw) = |c|^{2/L} Q(w)$: $Q$ picks the point on the ray"),
    ]


DL10 = Claim(
    id="DL-10",
    title="What conservation does not do: optima are rays, $Q$ picks the point on the ray",
    statement=r"For two classes with $\Sigma_w \succ 0$ the optimal direction $\Sigma_w^{-1}(\mu_1-\mu_2)$ is "
    r"unique; $Q$ only fixes where on the ray the flow ends. Depth-dependent feature selection must come from "
    r"the orthant constraint (DL-7), degenerate optima or the trajectory.",
    assumptions=[("two-class", r"$\Sigma_b$ has rank one")],
    derive=_dl10_steps,
    falsifiers=[Falsifier("two-class", r"a generic symmetric $\Sigma_b$",
                          lambda: Step(_stationarity(False), sp.zeros(2, 1), "stationary point"))],
    scope="symbolic part; the numerical demonstration is in numerics",
)

for _claim in (DL1, DL2, DL3, DL4, DL5, DL6, DL7, DL8, DL9, DL10):
    register(_claim)
