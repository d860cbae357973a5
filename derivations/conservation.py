"""Conservation laws of a model's flow: find them, count them, and certify the count.

A model ``θ ∈ R^D ↦ φ(θ) ∈ R^m`` trained on any loss ``ℓ(φ(θ))``: gradient flow moves along
``W(θ) = span{∇φ_1(θ), …, ∇φ_m(θ)}``, mirror flow with a separable potential ``R`` along
``H(θ)⁻¹ W(θ)``, ``H = diag(R''(θ_i))``.  ``h`` is conserved for every loss iff
``⟨∇h, χ⟩ = 0`` for every such field ``χ`` (Marcotte, Gribonval & Peyré, NeurIPS 2023).

Two routes meet in a certificate:

* **the Lie route, an upper bound.**  The fields and their iterated brackets
  ``[χ, ξ] = Dξ·χ − Dχ·ξ`` (``W_{k+1} = W_k + [W_0, W_k]``) are evaluated at a random rational
  point ``θ0``.  Every law has ``∇h(θ0)`` orthogonal to all of them, and their rank ``r`` can
  only grow near ``θ0``, so near ``θ0`` there are at most ``D − r`` functionally independent
  laws.  The rank is exact (python-flint ``fmpq_mat``) for rational fields; for other fields
  (``sqrt``, ``asinh`` …) it is a certified lower bound from ball arithmetic (elimination that
  pivots only on balls excluding 0), which keeps ``D − r`` a valid bound.
* **the law route, a lower bound.**  An ansatz with unknown coefficients — polynomials of
  degree ≤ k (rational fields), or, for a mirror potential, separable laws
  ``h = Σ_i F_i(θ_i)`` with ``F_i' = p_i·R''`` for polynomials ``p_i``, which makes
  ``⟨∇h, H⁻¹∇φ_j⟩ = Σ_i p_i(θ_i) ∂_iφ_j`` polynomial for *any* potential — gives linear
  conditions at random rational points; their exact null space gives candidates.  Each
  candidate is kept only if ``⟨∇h, χ_j⟩ = 0`` is then proved by the claim engine
  (:func:`law_claim`: symbolic and exact-point routes), and the laws kept have gradients of
  full rank at ``θ0`` (functionally independent).

The count is *certified* when the ``k`` laws found equal ``D − r``; otherwise the result says
which bound is open.

>>> result = discover(diagonal_net(2, 2))
>>> result.count, result.certified
(2, True)
>>> [sp.sstr(h) for h in result.laws]
['u_11**2 - u_21**2', 'u_12**2 - u_22**2']
"""
from __future__ import annotations

import itertools
import math
import random
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable, Optional, Sequence

import flint
import sympy as sp
from sympy.printing.codeprinter import PrintMethodNotImplementedError

from .balls import evaluate_ball
from .claims import Claim, Falsifier, Step, check_claim
from .kernels import NotRationalError, exact_function
from .potentials import X_POS as POSITIVE_VAR, Potential
from .zerotest import rationals

__all__ = ["Model", "ModelError", "DiscoveryResult", "diagonal_net", "squared_difference",
           "linear_net", "relu_net", "symmetric_factorization", "MODELS", "velocity_fields",
           "bracket", "discover", "law_claim", "MAX_PARAMETERS"]

#: the symbolic Lie brackets grow fast with D: beyond this the budget says no, clearly
MAX_PARAMETERS = 40
BALL_PREC = 256  # bits of the ball evaluations of non-rational fields
_NOT_SMOOTH = (sp.Abs, sp.sign, sp.Heaviside, sp.Max, sp.Min, sp.Piecewise, sp.floor, sp.ceiling)


class ModelError(ValueError):
    """A model the discovery cannot treat (clear message, no traceback)."""


# ---------------------------------------------------------------------------------------
# models

@dataclass(frozen=True)
class Model:
    """``θ ↦ φ(θ)``: the parameters ``params`` (sympy Symbols, the order of ``θ``) and the
    outputs ``outputs`` (sympy expressions in them); ``note`` says what the model assumes;
    ``display_name`` is the name as mixed text (prose with ``$…$`` math) for reports, when it
    has math (``name`` stays the plain key that the CLI prints and numerics use)."""
    name: str
    params: tuple
    outputs: tuple
    note: str = ""
    display_name: str = ""

    @property
    def tex_name(self) -> str:
        """The name for report titles and labels: ``display_name``, else the plain ``name``."""
        return self.display_name or self.name

    def __post_init__(self):
        params, outputs = tuple(self.params), tuple(sp.sympify(e) for e in self.outputs)
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "outputs", outputs)
        if not params or not all(isinstance(p, sp.Symbol) for p in params):
            raise ModelError(f"{self.name}: parameters must be a non-empty list of sympy Symbols")
        if len(set(params)) != len(params):
            raise ModelError(f"{self.name}: a parameter is listed twice")
        if len(params) > MAX_PARAMETERS:
            raise ModelError(f"{self.name}: D = {len(params)} parameters is over the budget of "
                             f"{MAX_PARAMETERS} (the symbolic Lie brackets grow like D^2 fields "
                             "of D entries each)")
        if not outputs:
            raise ModelError(f"{self.name}: the model has no outputs")
        used = set().union(*(e.free_symbols for e in outputs))
        foreign = used - set(params)
        if foreign:
            raise ModelError(f"{self.name}: the outputs use symbols that are not parameters: "
                             f"{sorted(map(str, foreign))}")
        unused = [p.name for p in params if p not in used]
        if unused:
            raise ModelError(f"{self.name}: the parameters {unused} do not appear in any output")
        rough = sorted({type(a).__name__ for e in outputs for a in e.atoms(*_NOT_SMOOTH)}
                       | {f.func.__name__ for e in outputs for f in e.atoms(*_NOT_SMOOTH)})
        if rough:
            raise ModelError(f"{self.name}: the outputs use {rough}, which are not differentiable "
                             "everywhere; give the model on one region where it is smooth "
                             "(e.g. a ReLU net on an activation region: relu_net)")

    @property
    def dim(self) -> int:
        return len(self.params)


MAX_SIZE = 9  # one digit per index: the symbol u_12 is row 1, column 2


def _matrix(name: str, rows: int, cols: int) -> sp.Matrix:
    """Symbols ``name_ij`` (typeset ``name_{ij}``)."""
    if not (1 <= rows <= MAX_SIZE and 1 <= cols <= MAX_SIZE):
        raise ModelError(f"sizes must be in 1..{MAX_SIZE}, got {rows} x {cols}")
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}_{i + 1}{j + 1}", real=True))


def _vector(name: str, size: int) -> sp.Matrix:
    """Symbols ``name_i``."""
    if not 1 <= size <= MAX_SIZE:
        raise ModelError(f"sizes must be in 1..{MAX_SIZE}, got {size}")
    return sp.Matrix([sp.Symbol(f"{name}_{i + 1}", real=True) for i in range(size)])


def diagonal_net(depth: int, dim: int) -> Model:
    """``φ = u_1 ⊙ … ⊙ u_L`` (``u_l ∈ R^d``); DL-2 predicts ``(L−1)·d`` laws
    ``u_{1,i}² − u_{l,i}²``."""
    U = _matrix("u", depth, dim)
    outputs = [sp.Mul(*U[:, i]) for i in range(dim)]
    return Model(f"diagonal net L={depth}, d={dim}", tuple(U), tuple(outputs),
                 display_name=f"diagonal net $L = {depth}$, $d = {dim}$")


def squared_difference(dim: int) -> Model:
    """``φ = u ⊙ u − v ⊙ v``: one law per coordinate."""
    u, v = _vector("u", dim), _vector("v", dim)
    return Model(f"model u*u - v*v, d={dim}", tuple(u) + tuple(v),
                 tuple(u[i] ** 2 - v[i] ** 2 for i in range(dim)),
                 display_name=rf"model $u \odot u - v \odot v$, $d = {dim}$")


_LAYER_LETTERS = "abcdefgh"


def linear_net(*sizes: int) -> Model:
    """``φ = W_L ⋯ W_1`` with ``W_l`` of shape ``sizes[l] × sizes[l−1]`` (entries of the
    product).  Two layers ``(n, r, m)``: ``r(r+1)/2`` laws ``W_1 W_1ᵀ − W_2ᵀ W_2``."""
    if len(sizes) < 3:
        raise ModelError("a linear net needs at least three sizes (input, hidden…, output)")
    if len(sizes) > len(_LAYER_LETTERS) + 1:
        raise ModelError(f"at most {len(_LAYER_LETTERS)} layers")
    # layer l has the entries a_ij, b_ij, … (W_1 = (a_ij), W_2 = (b_ij), …)
    Ws = [_matrix(_LAYER_LETTERS[l - 1], sizes[l], sizes[l - 1]) for l in range(1, len(sizes))]
    prod = Ws[-1]
    for W in reversed(Ws[:-1]):
        prod = prod * W
    params = tuple(x for W in Ws for x in W)
    return Model(f"linear net {'-'.join(map(str, sizes))}", params,
                 tuple(sp.expand(e) for e in prod))


def relu_net(n_in: int, width: int, n_out: int, bias: bool = False) -> Model:
    """A 2-layer ReLU net on an activation region where every neuron is active: there the
    network is the set of neuron maps ``v_k ⊗ (u_k, b_k)`` (input weights, bias, output
    weights), and ``φ`` collects their entries.  One law per neuron,
    ``‖u_k‖² + b_k² − ‖v_k‖²`` (Marcotte et al. 2023)."""
    U, V = _matrix("u", width, n_in), _matrix("v", width, n_out)
    B = _vector("b", width) if bias else None
    params, outputs = [], []
    for k in range(width):
        incoming = list(U[k, :]) + ([B[k]] if bias else [])
        params += incoming + list(V[k, :])
        outputs += [vo * ui for vo in V[k, :] for ui in incoming]
    note = "on an activation region with every neuron active (the neuron maps are then linear)"
    return Model(f"ReLU net {n_in}-{width}-{n_out}{' with biases' if bias else ''}",
                 tuple(params), tuple(outputs), note)


def symmetric_factorization(n: int, r: int) -> Model:
    """``φ = U Uᵀ`` (``U`` of shape ``n × r``; the entries on and above the diagonal)."""
    U = _matrix("u", n, r)
    P = U * U.T
    return Model(f"U U^T, n={n}, r={r}", tuple(U),
                 tuple(sp.expand(P[i, j]) for i in range(n) for j in range(i, n)),
                 display_name=rf"$UU^\top$, $n = {n}$, $r = {r}$")


#: name -> (builder, the size arguments it takes) for the CLI
MODELS: dict[str, tuple[Callable[..., Model], str]] = {
    "diagonal": (diagonal_net, "L d"),
    "squares": (squared_difference, "d"),
    "linear": (linear_net, "n0 n1 ... nL"),
    "relu": (relu_net, "n_in width n_out"),
    "relu-bias": (lambda a, b, c: relu_net(a, b, c, bias=True), "n_in width n_out"),
    "symmetric": (symmetric_factorization, "n r"),
}


# ---------------------------------------------------------------------------------------
# fields and brackets

def _hessian_pos(potential: Potential) -> sp.Expr:
    """``R''(x)`` on ``x > 0`` (the analytic branch; R is even), family parameters at their
    default values, in the variable :data:`POSITIVE_VAR`."""
    return potential.d2phi_pos.xreplace(potential.default_values)


def _inverse_hessian(potential: Optional[Potential]) -> Callable[[sp.Symbol], sp.Expr]:
    """``θ_i ↦ 1/R''(θ_i)`` on ``θ_i > 0`` (1 for gradient flow)."""
    if potential is None:
        return lambda t: sp.Integer(1)
    d2 = _hessian_pos(potential)
    return lambda t: 1 / d2.xreplace({POSITIVE_VAR: t})


def velocity_fields(model: Model, potential: Optional[Potential] = None) -> list[sp.Matrix]:
    """The generating fields ``H⁻¹∇φ_j`` (``H = I`` for gradient flow; for mirror flow on the
    positive orthant, where an even potential is analytic)."""
    inv = _inverse_hessian(potential)
    scale = sp.Matrix([inv(t) for t in model.params])
    return [sp.Matrix([sp.diff(e, t) for t in model.params]).multiply_elementwise(scale)
            for e in model.outputs]


def bracket(chi: sp.Matrix, xi: sp.Matrix, params: Sequence[sp.Symbol]) -> sp.Matrix:
    """The Lie bracket ``[χ, ξ] = Dξ·χ − Dχ·ξ`` of two vector fields."""
    out = xi.jacobian(params) * chi - chi.jacobian(params) * xi
    return out.applyfunc(lambda e: sp.expand(e) if e.is_polynomial(*params) else e)


# ---------------------------------------------------------------------------------------
# evaluation and ranks

class _Arithmetic:
    """Evaluation of fields at rational points and ranks: exact (``fmpq_mat``) when the fields
    are rational, else ``arb_mat`` balls of :data:`BALL_PREC` bits (ranks then a proven lower
    bound)."""

    def __init__(self, params, exact: bool):
        self.params, self.exact = tuple(params), exact

    def function(self, exprs: Sequence[sp.Expr], rows: int, cols: int) -> Callable:
        """``point ↦`` the rows × cols flint matrix of ``exprs`` (row-major) at ``point``;
        compiled once (exact), or a ball evaluation per entry."""
        exprs = list(exprs)
        if self.exact:
            fn = exact_function(self.params, exprs)

            def exact_matrix(point):
                vals = [Fraction(v) for v in fn(*point)]
                return flint.fmpq_mat(rows, cols, [flint.fmpq(v.numerator, v.denominator) for v in vals])
            return exact_matrix

        def ball_matrix(point):
            sub = {p: sp.Rational(v.numerator, v.denominator) for p, v in zip(self.params, point)}
            vals = []
            for e in exprs:
                z = evaluate_ball(sp.sympify(e).xreplace(sub), BALL_PREC)
                if not z.imag.contains(0):
                    raise ModelError(f"a field is not real at a sample point: {e}")
                vals.append(z.real)
            with flint.ctx.workprec(BALL_PREC):
                return flint.arb_mat(rows, cols, vals)
        return ball_matrix

    def rank(self, rows: list[list]) -> int:
        """Exact rank, or a proven lower bound on it (balls)."""
        if not rows or not rows[0]:
            return 0
        if self.exact:
            return flint.fmpq_mat(len(rows), len(rows[0]), [v for r in rows for v in r]).rank()
        with flint.ctx.workprec(BALL_PREC):
            return _ball_rank_lower_bound(rows)


def _ball_rank_lower_bound(rows: list[list]) -> int:
    """Gaussian elimination that pivots only on a ball excluding 0: each pivot is then a
    nonzero exact value, so the number of pivots is a proven lower bound on the rank."""
    rows = [list(r) for r in rows]
    rank, ncols = 0, len(rows[0])
    for c in range(ncols):
        best, best_low = None, flint.arb(0)
        for i in range(rank, len(rows)):
            low = abs(rows[i][c]).lower()
            if low > best_low:
                best, best_low = i, low
        if best is None:
            continue
        rows[rank], rows[best] = rows[best], rows[rank]
        p = rows[rank]
        for i in range(rank + 1, len(rows)):
            f = rows[i][c] / p[c]
            rows[i] = [a - f * b for a, b in zip(rows[i], p)]
        rank += 1
    return rank


def _random_point(rng: random.Random, n: int, positive: bool = False) -> list[Fraction]:
    """Nonzero rationals ±p/q, p ≤ 9, q ≤ 7 (off the coordinate planes); ``positive``: on
    the positive orthant (mirror flows)."""
    return [Fraction((1 if positive else rng.choice([-1, 1])) * rng.randint(1, 9), rng.randint(1, 7))
            for _ in range(n)]


# ---------------------------------------------------------------------------------------
# the law route

def _nullspace(rows: list[list]) -> list[list[Fraction]]:
    """A basis of the exact null space of a rational matrix (``fmpq`` rows; from its reduced
    row echelon form)."""
    ncols = len(rows[0])
    M = flint.fmpq_mat(len(rows), ncols, [v for r in rows for v in r])
    R, rank = M.rref()
    pivots, r = [], 0
    for c in range(ncols):
        if r < rank and R[r, c] != 0:
            pivots.append(c)
            r += 1
    basis = []
    for free in (c for c in range(ncols) if c not in pivots):
        v = [Fraction(0)] * ncols
        v[free] = Fraction(1)
        for row, pc in enumerate(pivots):
            q = R[row, free]
            v[pc] = -Fraction(int(q.p), int(q.q))
        basis.append(v)
    return basis


def _polynomial_ansatz(model: Model, degree: int) -> list[tuple[sp.Expr, sp.Matrix, str]]:
    """``(m, ∇m, "grad")`` for the monomials ``m`` of degree 1..k: ``⟨∇m, χ_j⟩`` is paired
    with the velocity fields."""
    monos = sorted((m for m in sp.itermonomials(model.params, degree) if m != 1),
                   key=sp.default_sort_key)
    return [(m, sp.Matrix([sp.diff(m, t) for t in model.params]), "grad") for m in monos]


def _separable_ansatz(model: Model, degree: int, potential: Potential) -> list[tuple[sp.Expr, sp.Matrix, str]]:
    """``(F, p, "dual")`` with ``F(θ_i) = ∫ t^a R''(t) dt`` (from 0, or from 1 for a = −1) and
    its *dual* gradient ``p = H⁻¹∇F = θ_i^a e_i``, ``a = −1 … k``: ``⟨∇F, χ_j⟩ = ⟨p, ∇φ_j⟩``
    is then rational.  (``a = −1`` gives e.g. ``log u + log v`` for ``u² − v²``.)"""
    t = sp.Symbol("t", positive=True)
    d2 = _hessian_pos(potential).xreplace({POSITIVE_VAR: t})
    out = []
    for a in range(-1, degree + 1):
        antiderivative = sp.simplify(sp.integrate(t ** a * d2, (t, 1 if a < 0 else 0, POSITIVE_VAR)))
        if antiderivative.has(sp.Integral):
            continue  # sympy found no closed form: this ansatz term is left out
        for i, th in enumerate(model.params):
            dual = sp.zeros(model.dim, 1)
            dual[i] = th ** a
            out.append((antiderivative.xreplace({POSITIVE_VAR: th}), dual, "dual"))
    return out


def _laws_from_ansatz(model, ansatz, velocity, plain, rng, positive, extra_points=4):
    """Null space of ``Σ_α c_α ⟨∇h_α, χ_j⟩(θ_s) = 0`` over sample points ``θ_s``: a
    ``"grad"`` term pairs ``∇h_α`` with the velocity fields ``χ_j``, a ``"dual"`` term its
    dual gradient with the plain fields ``∇φ_j`` (the same number).  Exact, the pairings as
    ``fmpq_mat`` products."""
    n, D, m = len(ansatz), model.dim, len(plain)
    points = -(-2 * n // max(1, m)) + extra_points
    exact = _Arithmetic(model.params, True)
    kinds = sorted({kind for _, _, kind in ansatz})
    fields = {"dual": plain, "grad": velocity}
    columns = {k: [a for a, (_, _, kind) in enumerate(ansatz) if kind == k] for k in kinds}
    grads = {k: exact.function([g for a in columns[k] for g in ansatz[a][1]], len(columns[k]), D) for k in kinds}
    pairs = {k: exact.function([e for f in fields[k] for e in f], m, D) for k in kinds}
    entries = []
    for _ in range(points):
        pt = _random_point(rng, D, positive)
        block = [[None] * n for _ in range(m)]
        for k in kinds:
            P = pairs[k](pt) * grads[k](pt).transpose()  # m × (terms of this kind)
            for j in range(m):
                for c, a in enumerate(columns[k]):
                    block[j][a] = P[j, c]
        entries += block
    laws = [sum((sp.Integer(c) * h for c, (h, _, _) in zip(_primitive(vec), ansatz) if c), sp.Integer(0))
            for vec in _nullspace(entries)]
    return [h - h.as_independent(*model.params, as_Add=True)[0] for h in laws]  # constants say nothing


def _primitive(vec: list[Fraction]) -> list[int]:
    """The integer multiple of ``vec`` with coprime entries and a positive first entry."""
    lcm = math.lcm(*(c.denominator for c in vec))
    ints = [int(c * lcm) for c in vec]
    g = math.gcd(*ints)
    sign = -1 if next(c for c in ints if c) < 0 else 1
    return [sign * c // g for c in ints]


def _inner(g: sp.Matrix, f: sp.Matrix) -> sp.Expr:
    """``⟨g, f⟩`` left unevaluated: sympy would cancel it on sight, and the report and the
    symbolic route should see the terms."""
    terms = [sp.Mul(a, b, evaluate=False) for a, b in zip(g, f) if a != 0 and b != 0]
    return sp.Add(*terms, evaluate=False) if len(terms) > 1 else (terms[0] if terms else sp.Integer(0))


def law_claim(model: Model, law: sp.Expr, fields: Sequence[sp.Matrix], *, label: str = "",
              non_law: Optional[sp.Expr] = None, positive: bool = False) -> Claim:
    """``⟨∇h, χ_j⟩ = 0`` for every generating field, as a claim with the usual two routes
    (points on the positive orthant if ``positive``: mirror flows); the falsifier states the
    same of ``non_law`` (default ``Σ θ_i²``), which must be refuted."""
    bad = non_law if non_law is not None else sum(t ** 2 for t in model.params)
    # on the positive orthant the symbols say so: sympy then simplifies sqrt(u**2)/u and the like
    pos = {t: sp.Symbol(t.name, positive=True) for t in model.params} if positive else {}
    law, bad = law.xreplace(pos), bad.xreplace(pos)
    fields = [f.xreplace(pos) for f in fields]
    params = [pos.get(t, t) for t in model.params]
    domain = {t: rationals(sp.Rational(1, 10), 5) for t in params} if positive else {}
    grad = sp.Matrix([sp.diff(law, t) for t in params])
    bad_grad = sp.Matrix([sp.diff(bad, t) for t in params])

    def steps():
        return [Step(_inner(grad, f), sp.Integer(0), f"conserved along the field $\\chi_{{{j + 1}}}$",
                     domain=domain, label=f"$h$ along field {j + 1}",
                     display=f"\\langle \\nabla h, \\chi_{{{j + 1}}} \\rangle") for j, f in enumerate(fields)]

    def falsifier():
        # the first field along which the non-law's derivative is not identically 0
        prods = [sp.expand((bad_grad.T * f)[0]) for f in fields]
        j = next((k for k, p in enumerate(prods) if p != 0), 0)
        return Step(_inner(bad_grad, fields[j]), sp.Integer(0), "a quantity that is not conserved",
                    domain=domain, label=f"$q$ along field {j + 1}",
                    display=f"\\langle \\nabla q, \\chi_{{{j + 1}}} \\rangle")

    return Claim(id=f"LAW-{label or 1}", title=f"${sp.latex(law)}$ is conserved ({model.tex_name})",
                 statement=rf"$h = {sp.latex(law)}$ satisfies $\langle\nabla h, \chi\rangle = 0$ for every generating field",
                 assumptions=[("model", model.tex_name)], derive=steps,
                 falsifiers=[Falsifier("the law", f"$q = {sp.latex(bad)}$", falsifier)], group="LAW")


# ---------------------------------------------------------------------------------------
# discovery

@dataclass
class DiscoveryResult:
    """What :func:`discover` found: the laws (verified, independent), the Lie rank bound and
    whether the two meet (``certified``)."""
    model: Model
    flow: str
    laws: list
    lie_rank: int
    rank_exact: bool
    closed: bool
    stop: str
    fields: int
    brackets: int
    depth: int
    seconds: float
    verdicts: list = field(default_factory=list)
    rejected: list = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.laws)

    @property
    def upper_bound(self) -> int:
        return self.model.dim - self.lie_rank

    @property
    def certified(self) -> bool:
        return self.count == self.upper_bound

    def status(self) -> str:
        if self.certified:
            return f"certified: exactly {self.count} independent laws near a generic point"
        if self.closed and self.rank_exact and self.lie_rank == self.fields:
            # the algebra is spanned by `fields` fields, so no point has a larger rank; it is
            # closed, so (Frobenius) exactly D - rank laws exist near a generic point
            return (f"open: the Lie algebra closed, so exactly {self.upper_bound} laws exist near a generic "
                    f"point; the ansatz found {self.count} (the others are not polynomials of this degree)")
        return (f"open: {self.count} laws found (lower bound), at most {self.upper_bound} "
                f"from the Lie rank {self.lie_rank}" + ("" if self.rank_exact else " (ball bound)")
                + f"; the bracket search stopped: {self.stop}")

    def to_json(self) -> dict:
        return {
            "model": self.model.name, "note": self.model.note, "flow": self.flow,
            "parameters": [p.name for p in self.model.params], "D": self.model.dim,
            "laws": [sp.sstr(h) for h in self.laws], "laws_latex": [sp.latex(h) for h in self.laws],
            "count": self.count, "lie_rank": self.lie_rank, "rank_exact": self.rank_exact,
            "upper_bound": self.upper_bound, "certified": self.certified, "status": self.status(),
            "lie_closed": self.closed, "lie_stop": self.stop, "lie_fields": self.fields,
            "brackets": self.brackets,
            "bracket_depth": self.depth,
            "verdicts": self.verdicts, "rejected": [sp.sstr(h) for h in self.rejected],
            "seconds": self.seconds,
        }


def _rational(model: Model, fields: Sequence[sp.Matrix]) -> bool:
    """Can the fields be evaluated exactly in rationals?"""
    try:
        exact_function(model.params, [e for f in fields for e in f])(*[Fraction(1)] * model.dim)
    except (NotRationalError, NameError, PrintMethodNotImplementedError):  # sqrt, asinh, sign …
        return False
    return True


def _independent(arith: _Arithmetic, model: Model, laws: list, point) -> list:
    """A maximal subset of ``laws`` whose gradients are independent at ``point``."""
    keep, rows = [], []
    for h in laws:
        g = arith.function([sp.diff(h, t) for t in model.params], 1, model.dim)(point).entries()
        if arith.rank(rows + [g]) > len(rows):
            keep.append(h)
            rows.append(g)
    return keep


class _Field:
    """A vector field with its values and Jacobians at the sample points (flint matrices)."""

    def __init__(self, expr: sp.Matrix, arith: _Arithmetic, samples):
        D = len(arith.params)
        self.expr = expr
        value, jacobian = arith.function(expr, D, 1), arith.function(expr.jacobian(arith.params), D, D)
        self.values = [value(pt) for pt in samples]
        self.jacobians = [jacobian(pt) for pt in samples]

    def stacked(self) -> list:
        return [v for m in self.values for v in m.entries()]

    def bracket_values(self, other: "_Field") -> list:
        """``[self, other] = D other·self − D self·other`` at the sample points, stacked."""
        return [v for Jo, Js, a, b in zip(other.jacobians, self.jacobians, self.values, other.values)
                for v in (Jo * a - Js * b).entries()]


def discover(model: Model, potential: Optional[Potential] = None, *, degree: int = 2,
             seed: int = 0, max_depth: int = 6, max_brackets: int = 4000,
             progress: Optional[Callable[[str], None]] = None) -> DiscoveryResult:
    """Laws of gradient flow (``potential=None``) or mirror flow on ``model``.

    Laws: degree ≤ ``degree`` polynomials for gradient flow, separable laws with ``p_i`` of
    degree ≤ ``degree`` for mirror flow; each verified by :func:`law_claim`.  Lie route:
    brackets until the rank meets the laws found, the algebra closes, or ``max_depth`` /
    ``max_brackets`` is reached.
    """
    if not isinstance(model, Model):
        raise ModelError(f"expected a Model, got {type(model).__name__}")
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    rng = random.Random(seed)
    W0 = velocity_fields(model, potential)
    plain = velocity_fields(model, None)
    D = model.dim

    positive = potential is not None
    # -- the law route: polynomials when the fields are rational, separable laws for a potential
    ansatz = _separable_ansatz(model, degree, potential) if positive else []
    if _rational(model, W0):
        ansatz += _polynomial_ansatz(model, degree)
    say(f"law route: {len(ansatz)} ansatz terms")
    candidates = _laws_from_ansatz(model, ansatz, W0, plain, rng, positive) if ansatz else []
    verdicts, laws, rejected = [], [], []
    for k, h in enumerate(candidates):
        res = check_claim(law_claim(model, h, W0, label=str(k + 1), positive=positive))
        verdicts.append({"law": sp.sstr(h), "verdict": res.verdict, "ok": res.ok})
        (laws if res.ok else rejected).append(h)
    theta0 = _random_point(rng, D, positive)

    # -- the Lie route: candidate brackets are tested by their values (Jacobians at the
    # sample points); only a bracket that enlarges the span is formed symbolically
    arith = _Arithmetic(model.params, _rational(model, W0))
    laws = _independent(arith, model, laws, theta0)  # ∇h is rational when the fields are
    samples = [theta0] + [_random_point(rng, D, positive) for _ in range(2)]
    span_rows, point_rows = [], []

    def keep(row) -> bool:
        if arith.rank(span_rows + [row]) == len(span_rows):
            return False  # in the span of the fields kept (or not provably outside it)
        span_rows.append(row)
        point_rows.append(row[:D])
        return True

    generators = [f for f in (_Field(e, arith, samples) for e in W0) if keep(f.stacked())]
    rank = arith.rank(point_rows)
    frontier, depth, n_brackets = list(generators), 0, 0
    target = D - len(laws)
    while frontier and rank < target and depth < max_depth and n_brackets < max_brackets:
        depth += 1
        new = []
        for a, b in itertools.product(generators, frontier):
            if n_brackets >= max_brackets or rank >= target:
                break
            n_brackets += 1
            if keep(a.bracket_values(b)):
                new.append(_Field(bracket(a.expr, b.expr, model.params), arith, samples))
                rank = arith.rank(point_rows)
        frontier = new
        say(f"Lie route: depth {depth}, {len(span_rows)} fields, rank {rank} of {D}")
    stop = ("the rank met the laws found" if rank >= target else "the algebra closed" if not frontier
            else f"depth limit {max_depth}" if depth >= max_depth else f"bracket budget {max_brackets}")
    return DiscoveryResult(model=model, flow="gradient" if potential is None else f"mirror ({potential.name})",
                           laws=laws, lie_rank=rank, rank_exact=arith.exact, closed=not frontier, stop=stop,
                           fields=len(span_rows),
                           brackets=n_brackets, depth=depth, seconds=time.perf_counter() - started,
                           verdicts=verdicts, rejected=rejected)
