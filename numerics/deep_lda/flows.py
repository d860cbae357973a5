"""The Deep LDA flows (docs/deep_lda.md), generated from the sympy models of :mod:`derivations`.

Nothing here re-types a formula: the losses come from :func:`derivations.objectives.loss`
and its gradient from :func:`derivations.objectives.gradient`; the network from
:func:`derivations.diagonal.layers`/``product``/``layer_velocities``; the reduced field
from :func:`derivations.diagonal.reduced_field`; the quasi-norm from ``quasi_norm``.

Four flows, for an explicit depth ``L`` and dimension ``d``:

``layer``    the un-reduced gradient flow on the layers, state ``(u_1, …, u_L) ∈ R^{Ld}``
             (ordering ``u_11, …, u_1d, u_21, …``), ``u̇_l = −g ⊙ Π_{k≠l} u_k`` with
             ``g = ∇f(w(u))``; optional per-layer rates ``η_l`` (the DL-2 falsifier).
``reduced``  DL-4 on ``w``: ``ẇ = −L |w|^{2−2/L} ⊙ ∇f(w)``.  The Taylor integrator needs a
             field that is analytic along the trajectory, so on the starting orthant
             ``Abs(w_i)`` is replaced by ``σ_i w_i`` with the known sign ``σ_i = sign w_i(0)``
             (the rhs is then a power of the positive base ``σ_i w_i``; the integrator raises
             if that base reaches 0, so a sign change cannot go unnoticed — DL-7).
``mirror``   DL-6 in the dual variable ``z = ∇Φ(w)``: ``ż = −∇f(w(z))``.  The mirror map is
             derived, not typed: ``ϕ'' = 1/(L t^{2−2/L})`` is read off ``reduced_field``,
             ``ϕ'`` is its sympy integral, and the inverse ``t(ζ)`` of ``ζ = ϕ'(t)`` comes
             from ``sympy.solve`` (for ``t = s^L``, ``s > 0``); the inverse is checked by
             substitution and at random points.  ``z_i = σ_i ϕ'(|w_i|)`` and
             ``w_i = σ_i t(σ_i z_i)`` (L = 2: ``|w_i| = exp(2 σ_i z_i)``).
``gd``       discrete gradient descent on the layers, ``u_l ← u_l + η u̇_l`` (the same
             velocities), exactly in rationals (:class:`fractions.Fraction`) or in mpmath.

Data enter as parameters: the data symbols of the loss (``A_ij``, ``B_ij``, ``a_i``,
``b_i``, ``r``, ``x_ni``, ``y_n``) stay symbols in the flow and receive their numbers from
:meth:`TwoClassData.symbol_values` when the flow is integrated (the Taylor program
and the kernels turn them into constants once per run).  This is the same as substituting
the numbers (:meth:`Flow.substituted` does it, and the tests compare the two), but one
compiled flow serves every data set.

Monitored quantities (sympy expressions in the state and the data): ``Q`` (DL-5),
``norm2_u<l>`` (DL-3), ``gap_u1_u<l>_<i>`` = ``u_{1,i}² − u_{l,i}²`` (DL-2), ``J`` the Fisher
ratio and ``loss``.

>>> from numerics.deep_lda.data import gaussian_two_class
>>> flow = build_flow("layer", 2, 2, "fisher")
>>> [s.name for s in flow.state]
['u_11', 'u_12', 'u_21', 'u_22']
>>> sorted(flow.monitors)[:3]
['J', 'Q', 'gap_u1_u2_1']
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import lru_cache
from typing import Any, Optional, Sequence

import mpmath
import sympy as sp

from derivations import objectives as obj
from derivations.diagonal import layer_velocities, layers, product, quasi_norm, reduced_field
from derivations.kernels import NotRationalError, exact_function, to_mpf
from numerics.core.exact import exact_number
from numerics.core.taylor import TaylorSystem

__all__ = [
    "FLOW_KINDS", "MAX_DEPTH", "MAX_DIM", "FlowError", "Flow", "build_flow", "layer_flow",
    "reduced_flow", "mirror_flow", "gd_flow", "mirror_map", "MirrorMap", "monitor_groups",
]

FLOW_KINDS = ("layer", "reduced", "mirror", "gd")
# beyond these the symbolic flows (Fisher ratio of d x d data matrices, L d states) grow slow
MAX_DEPTH, MAX_DIM = 9, 12


class FlowError(ValueError):
    """A flow cannot be built for the requested setting (clear message, no traceback)."""


# ---------------------------------------------------------------------------------------
# validation

def _check_int(name, v, lo, hi):
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise FlowError(f"{name} must be an integer in {lo}..{hi}, got {v!r}")


def _check_loss(loss):
    if loss not in obj.LOSSES:
        raise FlowError(f"unknown loss {loss!r}; choose one of {', '.join(sorted(obj.LOSSES))}")


def _check_signs(signs, d):
    if signs is None or len(signs) != d or any(s not in (1, -1) for s in signs):
        raise FlowError(f"signs must be {d} values in (+1, -1) (the orthant of w(0)), got {signs!r}")
    return tuple(int(s) for s in signs)


# ---------------------------------------------------------------------------------------
# the loss on concrete data

@lru_cache(maxsize=64)
def _loss_and_gradient(loss: str, d: int):
    """``w`` symbols, ``f(w)``, ``∇f(w)`` and the Fisher ratio, with symbolic data (computed
    once per setting: the layer, reduced and mirror flows of one shape share them; the
    vectors are immutable so that sharing is safe)."""
    w = obj.effective_vector(d)
    f = obj.loss(loss, w)
    return (sp.ImmutableMatrix(w), f, sp.ImmutableMatrix(obj.gradient(f, w)),
            obj.fisher_ratio(w))


def _data_params(exprs, exclude) -> tuple:
    syms = set()
    for e in exprs:
        syms |= sp.sympify(e).free_symbols
    return tuple(sorted(syms - set(exclude), key=lambda s: s.name))


def monitor_groups(names) -> dict[str, list[str]]:
    """Monitored quantity names grouped by claim: DL-5 Q, DL-3 layer norms, DL-2 gaps."""
    names = list(names)
    return {
        "DL-5": [n for n in names if n == "Q"],
        "DL-3": [n for n in names if n.startswith("norm2_")],
        "DL-2": [n for n in names if n.startswith("gap_")],
    }


# ---------------------------------------------------------------------------------------
# the flow object

@dataclass(eq=False)
class Flow:
    """One flow, its monitored quantities and how to start it.

    Attributes
    ----------
    kind, depth, dim, loss : the setting.
    state : state symbols (ordering of every state vector).
    rhs : the vector field (``gd``: the velocity, a step is ``y + η·rhs``).
    params : data symbols, ordering of :meth:`param_values`.
    w : the effective vector as expressions of the state.
    monitors : name -> sympy expression in ``state`` and ``params``.
    signs : the orthant of ``reduced``/``mirror`` (None for layer/gd).
    fixed : values of parameters that the flow fixes itself (the orthant signs
        ``sigma_i``, the layer rates ``eta_l``), so that one compiled program serves
        every orthant and every choice of rates of a shape.
    gradient : ``g = ∇f(w)`` as expressions of the state.
    notes : what was assumed in building the flow (for the JSON output).
    structure : the rhs with its parts named, for the Taylor program
        (:class:`~numerics.core.taylor.TaylorSystem`'s ``structure``), or None.
    monitor_parts : ``(w_symbols, {name: expression})``: the monitors written in the loss
        vector's own symbols (and the state), evaluated at the values of :attr:`w`; the
        flat :attr:`monitors` are the same with ``w`` substituted.  None: use those.
    """
    kind: str
    depth: int
    dim: int
    loss: str
    state: tuple
    rhs: tuple
    params: tuple
    w: tuple
    monitors: dict
    signs: Optional[tuple] = None
    fixed: dict = field(default_factory=dict)
    gradient: tuple = ()
    notes: list = field(default_factory=list)
    options: dict = field(default_factory=dict)
    structure: Optional[tuple] = None
    monitor_parts: Optional[tuple] = None
    _cache: dict = field(default_factory=dict, repr=False)

    # -- numbers ------------------------------------------------------------------------
    def param_values(self, data) -> list:
        """The numbers of :attr:`params`: the data's (a
        :class:`numerics.deep_lda.data.TwoClassData`) and the flow's own :attr:`fixed`."""
        values = {p.name: v for p, v in self.fixed.items()}
        if data is None:
            needed = [p.name for p in self.params if p.name not in values]
            if needed:
                raise FlowError(f"the {self.loss} loss needs data for {needed}")
        else:
            if data.dim != self.dim:
                raise FlowError(f"data have dimension {data.dim}, the flow has d = {self.dim}")
            values.update(data.symbol_values())
        missing = [p.name for p in self.params if p.name not in values]
        if missing:
            raise FlowError(f"no value for the data symbols {missing}")
        return [values[p.name] for p in self.params]

    def substituted(self, data) -> tuple:
        """The rhs with the data numbers substituted (exact)."""
        sub = dict(zip(self.params, self.param_values(data)))
        return tuple(e.xreplace(sub) for e in self.rhs)

    # -- compiled objects ---------------------------------------------------------------
    def system(self) -> TaylorSystem:
        """The Taylor program of the rhs (built once per flow)."""
        if self.kind == "gd":
            raise FlowError("gradient descent is a map, not a flow: use gd_steps")
        if "system" not in self._cache:
            self._cache["system"] = TaylorSystem(self.state, self.rhs, self.params,
                                                 name=f"{self.kind}_flow",
                                                 structure=self.structure)
        return self._cache["system"]

    def _monitor_function(self, backend: str):
        key = ("monitors", backend)
        if key not in self._cache:
            names = sorted(self.monitors)
            w_syms, parts = self.monitor_parts or ((), self.monitors)
            exprs = [parts[n] for n in names]
            args = list(self.state) + list(w_syms) + list(self.params)
            # written in w, the monitors are short: sympy's cse would cost more than it saves
            fn = sp.lambdify(args, exprs, modules=backend, cse=self.monitor_parts is None)
            self._cache[key] = (names, fn)
        return self._cache[key]

    def evaluate_monitors(self, y, params, *, dps: Optional[int] = None) -> dict:
        """Monitored quantities at the state ``y``: mpf at ``dps`` digits, or float64 if
        ``dps`` is None (then ``y`` and ``params`` are floats)."""
        w = self.w_values(y, dps=dps) if self.monitor_parts else []
        if dps is None:
            names, fn = self._monitor_function("numpy")
            vals = fn(*[float(v) for v in y], *w, *[float(v) for v in params])
            return {n: float(v) for n, v in zip(names, vals)}
        names, fn = self._monitor_function("mpmath")
        with mpmath.workdps(dps):
            args = [mpmath.mpf(v) if isinstance(v, mpmath.mpf) else to_mpf(v) for v in y]
            args += w + [to_mpf(v) for v in params]
            vals = fn(*args)
            return {n: +mpmath.mpf(v) for n, v in zip(names, vals)}

    def w_values(self, y, *, dps: Optional[int] = None) -> list:
        """The effective vector ``w`` at the state ``y`` (mpf at ``dps`` digits, or float64)."""
        key = ("w", "numpy" if dps is None else "mpmath")
        fixed = list(self.fixed)
        if key not in self._cache:
            self._cache[key] = sp.lambdify(list(self.state) + fixed, list(self.w),
                                           modules="numpy" if dps is None else "mpmath")
        fn = self._cache[key]
        values = [self.fixed[p] for p in fixed]
        if dps is None:
            return [float(v) for v in fn(*[float(v) for v in y], *map(float, values))]
        with mpmath.workdps(dps):
            return [+mpmath.mpf(v) for v in fn(*[to_mpf(v) for v in y], *map(to_mpf, values))]

    # -- initial states -----------------------------------------------------------------
    def initial_state(self, u0: Sequence[Sequence[Any]]) -> list:
        """This flow's state for the layer initialization ``u0`` (``L`` lists of ``d`` numbers).

        layer/gd: the layers themselves; reduced: ``w(0) = Π_l u_l(0)`` (exact for exact
        input); mirror: ``z(0) = ∇Φ(w(0))`` as an exact sympy number (e.g. ``log``).
        Signs of ``w(0)`` must match :attr:`signs` for reduced/mirror.
        """
        u0 = [[_exact(v, f"u0[{l}][{i}]") for i, v in enumerate(row)] for l, row in enumerate(u0)]
        if len(u0) != self.depth or any(len(r) != self.dim for r in u0):
            raise FlowError(f"u0 must be {self.depth} layers of {self.dim} numbers")
        if any(v == 0 for r in u0 for v in r):
            raise FlowError("u0 has a zero entry: the flows are studied off the coordinate planes")
        if self.kind in ("layer", "gd"):
            return [v for r in u0 for v in r]
        w0 = [sp.Mul(*[u0[l][i] for l in range(self.depth)]) for i in range(self.dim)]
        if tuple(int(sp.sign(v)) for v in w0) != self.signs:
            raise FlowError(f"the signs of w(0) {[int(sp.sign(v)) for v in w0]} are not the "
                            f"orthant {list(self.signs)} this flow was built for")
        if self.kind == "reduced":
            return w0
        mm = mirror_map(self.options.get("potential_depth", self.depth))
        return [s * mm.grad(abs(v)) for s, v in zip(self.signs, w0)]

    # -- description ----------------------------------------------------------------------
    def describe(self) -> dict:
        return {
            "flow": self.kind,
            "depth": self.depth,
            "dim": self.dim,
            "loss": self.loss,
            "state": [s.name for s in self.state],
            "params": [p.name for p in self.params],
            "signs": list(self.signs) if self.signs else None,
            "monitors": sorted(self.monitors),
            "options": {k: str(v) for k, v in self.options.items()},
            "notes": list(self.notes),
        }

    # -- exact and mpmath evaluation of further expressions (gradient descent) -------------
    def exact_function(self, exprs, key):
        """``fn(y, params) -> list[Fraction]`` for rational ``exprs`` (exact arithmetic)."""
        if ("exact", key) not in self._cache:
            try:
                fn = exact_function(list(self.state) + list(self.params), exprs)
            except NotRationalError as exc:
                raise FlowError(str(exc)) from None

            def call(y, params):
                return list(fn(*[_fraction(v) for v in y], *[_fraction(v) for v in params]))

            self._cache[("exact", key)] = call
        return self._cache[("exact", key)]

    def mpmath_function(self, exprs, key):
        """``fn(y, params, dps) -> list[mpf]`` evaluated inside ``mpmath.workdps(dps)``."""
        if ("mpmath", key) not in self._cache:
            args = list(self.state) + list(self.params)
            fn = sp.lambdify(args, list(exprs), modules="mpmath", cse=True)

            def call(y, params, dps):
                with mpmath.workdps(dps):
                    return [+mpmath.mpf(v) for v in fn(*[to_mpf(v) for v in y],
                                                       *[to_mpf(v) for v in params])]

            self._cache[("mpmath", key)] = call
        return self._cache[("mpmath", key)]

    def exact_step_function(self):
        """``step(y, params, eta) -> y + eta·rhs(y)`` in exact :class:`Fraction` arithmetic."""
        vel = self.exact_function(self.rhs, "rhs")

        def step(y, params, eta):
            eta = _fraction(eta)
            return [_fraction(a) + eta * b for a, b in zip(y, vel(y, params))]

        return step

    def mpmath_step_function(self):
        """``step(y, params, eta, dps) -> y + eta·rhs(y)`` in mpmath at ``dps`` digits."""
        vel = self.mpmath_function(self.rhs, "rhs")

        def step(y, params, eta, dps):
            v = vel(y, params, dps)
            with mpmath.workdps(dps):
                e = to_mpf(eta)
                return [to_mpf(a) + e * b for a, b in zip(y, v)]

        return step


def _exact(v, what):
    """``v`` as an exact sympy number (text too: :func:`numerics.core.exact.exact_number`
    reads it with :func:`derivations.parsing.parse_number`)."""
    try:
        return exact_number(v, what)
    except (TypeError, ValueError) as exc:
        raise FlowError(str(exc)) from None


def _fraction(v) -> Fraction:
    if isinstance(v, Fraction):
        return v
    if isinstance(v, int) and not isinstance(v, bool):
        return Fraction(v)
    if isinstance(v, (sp.Rational, str)):
        r = _exact(v, "exact gradient descent")
        return Fraction(int(r.p), int(r.q))
    raise FlowError(f"exact gradient descent needs exact rationals, got {type(v).__name__}: {v!r}")


# ---------------------------------------------------------------------------------------
# the mirror map of DL-6

@dataclass(frozen=True)
class MirrorMap:
    """``ϕ`` on ``t = |w_i| > 0`` with ``Φ(w) = Σ ϕ(|w_i|)``: ``ϕ''``, ``ϕ'`` and the
    inverse ``t(ζ)`` of ``ζ = ϕ'(t)``.  ``zeta_sign``: the sign of ``ζ`` on ``t > 0``
    (+1 for L < 2, -1 for L > 2, 0 = any for L = 2)."""
    depth: int
    t: sp.Symbol
    zeta: sp.Symbol
    hessian: sp.Expr      # ϕ''(t)
    derivative: sp.Expr   # ϕ'(t)
    inverse: sp.Expr      # t(ζ)
    zeta_sign: int
    check: str = ""       # how the inverse was checked

    def grad(self, t_value):
        """``ϕ'(t)`` at a number ``t > 0`` (exact sympy)."""
        return self.derivative.xreplace({self.t: t_value})

    def inverse_at(self, zeta_value):
        return self.inverse.xreplace({self.zeta: zeta_value})


@lru_cache(maxsize=None)
def mirror_map(depth: int) -> MirrorMap:
    """Derive DL-6's mirror map for an explicit depth from :func:`reduced_field`.

    The reduced field is ``ẇ = −H(w)^{-1} g`` with ``H = ∇²Φ`` diagonal, so
    ``ϕ''(t) = 1 / (coefficient of −g in reduced_field at w = t > 0)``.  ``ϕ'`` is the
    sympy integral (no constant: Φ is defined up to an affine function), and ``t(ζ)``
    comes from ``solve(ϕ'(s^L) = ζ, s)`` with ``s > 0``.  The inverse is checked twice:
    symbolically (with ``ζ = ±η``, ``η > 0``) and at random rational points in mpmath.
    """
    _check_int("depth", depth, 1, MAX_DEPTH)
    t = sp.Symbol("t", positive=True)
    s = sp.Symbol("s", positive=True)
    g1 = sp.Integer(1)
    coefficient = -reduced_field(sp.Matrix([t]), sp.Matrix([g1]), depth)[0]
    hessian = sp.simplify(1 / coefficient)
    derivative = sp.integrate(hessian, t)
    zeta_sign = 1 if depth < 2 else (-1 if depth > 2 else 0)
    zeta = sp.Symbol("zeta", **({1: {"positive": True}, -1: {"negative": True}, 0: {"real": True}}[zeta_sign]))
    sols = sp.solve(sp.Eq(derivative.xreplace({t: s ** depth}), zeta), s)
    sols = [x for x in sols if x.is_real is not False]
    if len(sols) != 1:
        raise FlowError(f"the inverse mirror map of depth {depth} is not unique: {sols}")
    inverse = sp.powsimp(sols[0] ** depth, force=False)
    # check 1: symbolic, with the sign of zeta explicit
    eta = sp.Symbol("eta", positive=True)
    zs = eta * (zeta_sign or 1)
    residual = sp.simplify(derivative.xreplace({t: inverse.xreplace({zeta: zs})}) - zs)
    # check 2: exact random points, 50 digits
    rng = random.Random(depth)
    with mpmath.workdps(50):
        for _ in range(5):
            tv = sp.Rational(rng.randint(1, 400), rng.randint(1, 60))
            back = inverse.xreplace({zeta: derivative.xreplace({t: tv})})
            err = abs(sp.N(back - tv, 50))
            if not err < sp.Float(10) ** -40:
                raise FlowError(f"the derived inverse mirror map of depth {depth} fails at t = {tv}")
    # simplify may fail to decide a true identity (the pitfalls in docs/): then the points above decide
    check = ("symbolic (simplify) and 5 random points at 50 digits" if residual == 0 else
             "5 random points at 50 digits (simplify undecided)")
    return MirrorMap(depth, t, zeta, hessian, derivative, inverse, zeta_sign, check)


# ---------------------------------------------------------------------------------------
# builders

def _monitors_in_w(w: sp.Matrix, L: int, f, J) -> dict:
    """The quasi-norm, the Fisher ratio and the loss, in the loss vector's own symbols."""
    return {"Q": quasi_norm(w, L), "J": J, "loss": f}


def _sign_symbols(dim: int) -> tuple:
    """``sigma_1 … sigma_d``: the orthant of ``w(0)`` as parameters of the program."""
    return tuple(sp.symbols(f"sigma_1:{dim + 1}", real=True))


def _rate_symbols(depth: int) -> tuple:
    """``eta_1 … eta_L``: the layer rates as parameters of the program."""
    return tuple(sp.symbols(f"eta_1:{depth + 1}", positive=True))


def _check_setting(depth: int, dim: int, loss: str) -> None:
    _check_int("depth", depth, 1, MAX_DEPTH)
    _check_int("dim", dim, 1, MAX_DIM)
    _check_loss(loss)


def _on_orthant(template: Flow, signs) -> Flow:
    """``template`` on the orthant ``signs`` (the values of its ``sigma_i``)."""
    signs = _check_signs(signs, template.dim)
    fixed = {s: sp.Integer(v) for s, v in zip(_sign_symbols(template.dim), signs)}
    return _with_fixed(template, fixed, signs=signs)


def _with_fixed(template: Flow, fixed: dict, **changes) -> Flow:
    """``template`` with values for some of its parameters; the compiled objects
    (Taylor program, kernels) stay shared with the template."""
    return replace(template, fixed=fixed, _cache=template._cache, **changes)


def _layer_parts(U, w, g_of_w, eta) -> tuple:
    """The layer field ``−η_l g_i Π_{k≠l} u_ki`` with its products named, for the Taylor
    program: prefixes ``P_l = u_1⋯u_l``, suffixes ``S_l = u_l⋯u_L``, the loss vector's own
    symbols ``w_i = P_L``, and ``Π_{k≠l} u_k = P_{l−1} S_{l+1}``: ``4L − 5`` products per
    coordinate besides ``g`` (written in ``w``), where the flat field has ``L(L−1)`` and
    ``g`` expanded in the layers.  Returns ``(definitions, rhs_of_parts)``, layer-major as
    the state; the factors associate as in ``layer_velocities``, so that substituting the
    definitions gives the flat field exactly."""
    L, d = len(U), len(w)
    definitions, others = [], [[None] * d for _ in range(L)]   # others[l][i] = Π_{k≠l} u_ki

    def named(label, value):
        sym = sp.Dummy(label, real=True)
        definitions.append((sym, value))
        return sym

    for i in range(d):
        col = [U[l][i] for l in range(L)]
        pre = [col[0]]                        # pre[l] = u_1 ⋯ u_{l+1}
        for l in range(1, L - 1):
            pre.append(named(f"P{l + 1}_{i + 1}", pre[-1] * col[l]))
        definitions.append((w[i], pre[-1] * col[L - 1] if L > 1 else col[0]))
        suf = {L - 1: col[L - 1]}             # suf[l] = u_{l+1} ⋯ u_L
        for l in range(L - 2, 0, -1):
            suf[l] = named(f"S{l + 1}_{i + 1}", col[l] * suf[l + 1])
        for l in range(L):
            if L == 1:
                others[l][i] = sp.Integer(1)
            elif l == 0 or l == L - 1:
                others[l][i] = suf[1] if l == 0 else pre[L - 2]
            else:
                others[l][i] = named(f"E{l + 1}_{i + 1}", pre[l - 1] * suf[l + 1])
    rhs = [-eta[l] * (g_of_w[i] * others[l][i]) for l in range(L) for i in range(d)]
    return definitions, rhs


@lru_cache(maxsize=64)
def _layer_template(depth: int, dim: int, loss: str, kind: str) -> Flow:
    U = layers(depth, dim)
    w_expr = product(U)
    w, f, grad, J = _loss_and_gradient(loss, dim)
    to_layers = dict(zip(w, w_expr))
    g = grad.xreplace(to_layers)
    eta = _rate_symbols(depth)
    V = layer_velocities(U, g, list(eta))
    state = tuple(x for Ul in U for x in Ul)
    rhs = tuple(v for Vl in V for v in Vl)
    in_w = _monitors_in_w(w, depth, f, J)
    for l in range(depth):
        in_w[f"norm2_u{l + 1}"] = (U[l].T * U[l])[0]
    for l in range(1, depth):
        for i in range(dim):
            in_w[f"gap_u1_u{l + 1}_{i + 1}"] = U[0][i] ** 2 - U[l][i] ** 2
    monitors = {n: e.xreplace(to_layers) for n, e in in_w.items()}
    params = _data_params(list(rhs) + list(monitors.values()), state)
    notes = ["w = u_1 * ... * u_L; velocities from derivations.diagonal.layer_velocities, "
             "g = grad f from derivations.objectives.gradient"]
    return Flow(kind, depth, dim, loss, state, rhs, params, tuple(w_expr), monitors,
                gradient=tuple(g), notes=notes, structure=_layer_parts(U, w, grad, eta),
                monitor_parts=(tuple(w), in_w))


@lru_cache(maxsize=256)
def layer_flow(depth: int, dim: int, loss: str = "fisher", rates: Optional[tuple] = None,
               kind: str = "layer") -> Flow:
    """The un-reduced layer flow ``u̇_l = −η_l g ⊙ Π_{k≠l} u_k``, ``g = ∇f(w(u))``.

    The rates are parameters ``eta_l`` of one program per shape (all 1 unless ``rates``)."""
    _check_setting(depth, dim, loss)
    if rates is not None:
        if len(rates) != depth:
            raise FlowError(f"rates must have one value per layer ({depth}), got {rates!r}")
        rates = tuple(sp.Rational(r) for r in rates)
        if any(not r > 0 for r in rates):
            raise FlowError(f"rates must be positive, got {[str(r) for r in rates]}")
    template = _layer_template(depth, dim, loss, kind)
    values = rates or (sp.Integer(1),) * depth
    options = {"rates": list(map(str, rates))} if rates else {}
    return _with_fixed(template, dict(zip(_rate_symbols(depth), values)), options=options)


@lru_cache(maxsize=64)
def _reduced_template(depth: int, dim: int, loss: str, exponent) -> Flow:
    sigma = _sign_symbols(dim)
    w, f, grad, J = _loss_and_gradient(loss, dim)
    field_ = reduced_field(w, grad, depth, exponent=exponent)
    on_orthant = {sp.Abs(wi): s * wi for wi, s in zip(w, sigma)}
    rhs = tuple(e.xreplace(on_orthant) for e in field_)
    leftover = [e for e in rhs if e.has(sp.Abs)]
    if leftover:
        raise FlowError(f"could not remove Abs from the reduced field: {leftover[0]}")
    monitors = _monitors_in_w(w, depth, f, J)
    params = _data_params(list(rhs) + list(monitors.values()), w)
    notes = ["rhs from derivations.diagonal.reduced_field with Abs(w_i) -> sigma_i*w_i on the "
             "starting orthant sigma (the integrator refuses a power base that reaches 0)"]
    options = {} if exponent is None else {"exponent": exponent}
    return Flow("reduced", depth, dim, loss, tuple(w), rhs, params, tuple(w), monitors,
                gradient=tuple(grad), notes=notes, options=options)


@lru_cache(maxsize=256)
def reduced_flow(depth: int, dim: int, loss: str, signs: tuple, exponent=None) -> Flow:
    """DL-4 on the orthant ``signs``: ``ẇ = −L (σ⊙w)^{2−2/L} ⊙ ∇f(w)`` (``Abs`` replaced;
    ``σ`` is a parameter: one program serves every orthant)."""
    _check_setting(depth, dim, loss)
    return _on_orthant(_reduced_template(depth, dim, loss, exponent), signs)


@lru_cache(maxsize=64)
def _mirror_template(depth: int, dim: int, loss: str, potential_depth: Optional[int]) -> Flow:
    sigma = _sign_symbols(dim)
    pd = depth if potential_depth is None else potential_depth
    mm = mirror_map(pd)
    z = sp.Matrix(sp.symbols(f"z1:{dim + 1}", real=True))
    w_of_z = sp.Matrix([s * mm.inverse.xreplace({mm.zeta: s * zi}) for zi, s in zip(z, sigma)])
    w, f, grad, J = _loss_and_gradient(loss, dim)
    to_z = dict(zip(w, w_of_z))
    g = grad.xreplace(to_z)
    rhs = tuple(-g)
    in_w = _monitors_in_w(w, depth, f, J)
    monitors = {n: e.xreplace(to_z) for n, e in in_w.items()}
    structure = (list(zip(w, w_of_z)), list(-grad))
    params = _data_params(list(rhs) + list(monitors.values()), z)
    notes = [f"z = grad Phi(w), Phi'' = 1/(L t^(2-2/L)) from reduced_field (L = {pd}); "
             f"phi'(t) = {sp.sstr(mm.derivative)}; inverse t(zeta) = {sp.sstr(mm.inverse)} "
             f"from sympy.solve, checked: {mm.check}; w_i = sigma_i t(sigma_i z_i)"]
    options = {} if potential_depth is None else {"potential_depth": pd}
    return Flow("mirror", depth, dim, loss, tuple(z), rhs, params, tuple(w_of_z), monitors,
                gradient=tuple(g), notes=notes, options=options, structure=structure,
                monitor_parts=(tuple(w), in_w))


@lru_cache(maxsize=256)
def mirror_flow(depth: int, dim: int, loss: str, signs: tuple,
                potential_depth: Optional[int] = None) -> Flow:
    """DL-6: ``ż = −∇f(w(z))``, ``w_i = σ_i t(σ_i z_i)`` (inverse mirror map of
    ``potential_depth``, default the network depth; another value is the DL-6 falsifier)."""
    _check_setting(depth, dim, loss)
    return _on_orthant(_mirror_template(depth, dim, loss, potential_depth), signs)


def gd_flow(depth: int, dim: int, loss: str = "fisher") -> Flow:
    """Gradient descent on the layers: the layer velocities as a step map."""
    return layer_flow(depth, dim, loss, None, "gd")


def build_flow(kind: str, depth: int, dim: int, loss: str = "fisher", *, signs=None,
               rates=None, exponent=None, potential_depth=None) -> Flow:
    """Dispatch on ``kind`` in :data:`FLOW_KINDS` (flows are cached per setting)."""
    if kind not in FLOW_KINDS:
        raise FlowError(f"unknown flow {kind!r}; choose one of {', '.join(FLOW_KINDS)}")
    if kind == "layer":
        return layer_flow(depth, dim, loss, None if rates is None else tuple(rates))
    if kind == "gd":
        return gd_flow(depth, dim, loss)
    if kind == "reduced":
        return reduced_flow(depth, dim, loss, None if signs is None else tuple(signs), exponent)
    return mirror_flow(depth, dim, loss, None if signs is None else tuple(signs), potential_depth)
