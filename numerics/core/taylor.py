"""Arbitrary-precision adaptive Taylor-series integrator (Jorba & Zou 2005).

The method of heyoka and TaylorIntegration.jl, written for autonomous systems
``y' = F(y; p)`` given as sympy expressions.

* :class:`TaylorSystem` turns the right-hand side (after ``sympy.cse``) into a
  straight-line *Taylor program* of elementary operations and generates a Python
  function that computes the Taylor coefficients of the solution by the
  automatic-differentiation recurrences (Cauchy products, quotient, real power
  ``k x0 z_k = sum_{j<k} (a(k-j) - j) x_{k-j} z_j``, exp, log, sqrt, sin/cos, tanh;
  ``Abs``/``sign`` on a fixed sign).  A system is built once and reused for any
  number of initial conditions, parameter values and precisions.
* :func:`integrate` steps it with the Jorba--Zou order and step-size control and
  evaluates the Taylor polynomial for dense output at requested times.
* :func:`solve_float64` is the float64 companion (scipy DOP853 on the numpy
  kernel of :mod:`derivations.kernels`).

Example (closed form ``y = y0 exp(-t)``):

>>> import sympy as sp
>>> y = sp.Symbol("y")
>>> sys_ = TaylorSystem([y], [-y])
>>> r = integrate(sys_, ["1"], 1, dps=30)
>>> import mpmath
>>> with mpmath.workdps(40):
...     abs(r.y[-1][0] - mpmath.exp(-1)) < mpmath.mpf(10)**-25
True

Arithmetic
----------
Measured on this machine for one length-60 convolution at 200 bits
(per multiply-add): mpmath ``mpf`` with ``fdot`` ~700 ns, Python-int fixed point
~170 ns, gmpy2 ``mpz`` fixed point ~110 ns, gmpy2 ``mpfr`` with the correctly
rounded ``gmpy2.fsum`` ~130 ns.  Fixed point is barely faster but has only
*absolute* precision: it needs a time rescaling known before the step, and
loses relative accuracy when a component or a power base becomes small (the
power/log/quotient recurrences divide by ``x0``).  We therefore use MPFR
floating point (gmpy2 ``mpfr``), ~5x faster than ``mpf`` and as robust; it also
supplies correctly rounded exp/log/pow at order 0.  All work happens inside a
private ``gmpy2.context`` with an explicit precision (``dps`` digits plus guard
bits); neither mpmath's ``mp.dps`` nor the caller's gmpy2 context is read or
changed.  Results are returned as mpmath ``mpf`` (exact conversion).
"""
from __future__ import annotations

import hashlib
import json
import linecache
import math
import operator
import time as _time
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any, Callable, Optional, Sequence

import gmpy2
import mpmath
import numpy as np
import sympy as sp
# the constructors Expr.as_independent builds its dependent part with (see _build's split)
from sympy.core.add import _unevaluated_Add
from sympy.core.mul import _unevaluated_Mul

from derivations.kernels import _validate, free_symbols_of, make_kernel
from numerics.core import taylor_engine as _engine
from numerics.core.exact import exact_number, read_exact

__all__ = [
    "TaylorSystem", "TaylorResult", "TaylorError", "UnsupportedExpressionError",
    "integrate", "taylor_coefficients", "solve_float64", "Float64Result", "jorba_zou_order",
    "GUARD_BITS",
]

#: extra working bits on top of ``dps`` decimal digits (about 12 digits)
GUARD_BITS = 40

_LOG2_10 = math.log2(10)
_mpfr = gmpy2.mpfr
_mpq = gmpy2.mpq
_fsum = gmpy2.fsum
_mul = operator.mul
_ZERO = gmpy2.mpfr(0)
_ONE = gmpy2.mpfr(1)
_MONE = gmpy2.mpfr(-1)
#: a linear combination of at least this many series is computed as a row of a linear map
GATHER_MIN_TERMS = 4

SUPPORTED = ("+", "-", "*", "/", "integer power", "constant real power", "exp", "log",
             "sqrt", "Abs (fixed sign)", "sign (fixed sign)", "sin", "cos", "tanh")


class TaylorError(ValueError):
    """The integration cannot proceed (domain error, sign change, blow-up, ...)."""


class UnsupportedExpressionError(ValueError):
    """The right-hand side uses a function the Taylor program does not support."""


class _DomainError(Exception):
    def __init__(self, node, msg):
        super().__init__(msg)
        self.node = node
        self.msg = msg


def jorba_zou_order(tol: float | str | Any) -> int:
    """Order ``p = ceil(-ln(tol)/2) + 1`` (Jorba & Zou 2005, eq. (3.9) rounded up)."""
    ln_tol = _ln_positive(tol)
    return max(2, math.ceil(-ln_tol / 2) + 1)


def _ln_positive(x) -> float:
    """Natural log of a positive number given as float/str/mpf/mpfr, without underflow."""
    if isinstance(x, (int, float)) and x > 0 and math.isfinite(x) and x > 1e-300:
        return math.log(x)
    with gmpy2.context(precision=64):
        v = _to_mpfr(x, "tol")
        if not v > 0:
            raise ValueError(f"tol must be positive, got {x!r}")
        return float(gmpy2.log(v))


# ----------------------------------------------------------------------------------------
# number conversion (everything rounds once, at the current gmpy2 context precision)

def _to_mpfr(v: Any, what: str):
    if isinstance(v, bool):
        raise TypeError(f"{what}: expected a real number, got a bool")
    if type(v) is gmpy2.mpfr or type(v).__module__.startswith("gmpy2"):
        r = _mpfr(v)
    elif isinstance(v, int):
        r = _mpfr(v)
    elif isinstance(v, float):
        r = _mpfr(v)
    elif isinstance(v, mpmath.mpf):
        r = _mpf_tuple_to_mpfr(v._mpf_, what)
    elif isinstance(v, str):
        q = read_exact(v, what)
        r = _mpfr(_mpq(int(q.p), int(q.q)))
    elif isinstance(v, Fraction):
        r = _mpfr(_mpq(v.numerator, v.denominator))
    elif isinstance(v, Decimal):
        if not v.is_finite():
            raise ValueError(f"{what}: expected a finite number, got {v}")
        fr = Fraction(v)
        r = _mpfr(_mpq(fr.numerator, fr.denominator))
    elif isinstance(v, sp.Basic):
        if isinstance(v, sp.Rational):
            r = _mpfr(_mpq(int(v.p), int(v.q)))
        elif isinstance(v, sp.Float):
            r = _mpf_tuple_to_mpfr(v._mpf_, what)
        elif getattr(v, "is_number", False):
            digits = int(gmpy2.get_context().precision / _LOG2_10) + 10
            val = sp.N(v, digits)
            if not isinstance(val, sp.Float):
                raise ValueError(f"{what}: expected a real number, got {v} = {val}")
            r = _mpf_tuple_to_mpfr(val._mpf_, what)
        else:
            raise ValueError(f"{what}: expected a number, got the expression {v}")
    elif isinstance(v, np.floating):
        r = _mpfr(float(v))
    elif isinstance(v, np.integer):
        r = _mpfr(int(v))
    else:
        raise TypeError(f"{what}: expected a real number (int, float, str, Fraction, "
                        f"sympy number, mpf), got {type(v).__name__}: {v!r}")
    if not gmpy2.is_finite(r):
        raise ValueError(f"{what}: expected a finite number, got {v!r}")
    return r


def _mpf_tuple_to_mpfr(t, what):
    sign, man, exp, bc = t
    if not man:
        if exp:  # mpmath encodes inf/nan as zero mantissa with a special exponent
            raise ValueError(f"{what}: expected a finite number, got a non-finite mpf")
        return _mpfr(0)
    q = _mpq(int(man)) * (_mpq(2) ** exp if exp >= 0 else _mpq(1, 2 ** (-exp)))
    r = _mpfr(q)
    return -r if sign else r


def _mpfr_to_mpf(x) -> mpmath.mpf:
    """Exact conversion (no rounding to mpmath's global precision)."""
    if not gmpy2.is_finite(x):
        raise TaylorError(f"non-finite value {x}")
    if x == 0:
        return mpmath.mp.make_mpf(mpmath.libmp.fzero)
    m, e = x.as_mantissa_exp()
    return mpmath.mp.make_mpf(mpmath.libmp.from_man_exp(int(m), int(e)))


# ----------------------------------------------------------------------------------------
# helpers called by the generated series code

def _conv(a, b):
    """Cauchy product coefficient sum_{j=0}^{k} a_j b_{k-j} (len(a) == len(b) == k+1)."""
    return _fsum(map(_mul, a, reversed(b)))


def _sqr(a, k):
    """k-th coefficient of a**2, using the symmetry of the convolution."""
    h = (k + 1) // 2
    s = _fsum(map(_mul, a[:h], a[k:k - h:-1]))
    s = s + s
    if not k & 1:
        m = a[k >> 1]
        s = s + m * m
    return s


def _sqrt_k(x, z, k):
    """k-th coefficient of z = sqrt(x) (z holds z_0..z_{k-1})."""
    m = (k - 1) // 2
    s = _fsum(map(_mul, z[1:m + 1], z[k - 1:k - 1 - m:-1]))
    s = s + s
    if not k & 1:
        c = z[k >> 1]
        s = s + c * c
    return (x[k] - s) / (2 * z[0])


#: the domain errors of the Taylor program, by the code the C engine reports them with
#: (numerics/core/taylor_engine.c: D_DIV0, ...); the negative power base names its exponent
DOMAIN_MESSAGES = (
    "division by zero (the denominator is 0)",
    "the base of a real power is 0 (the power is not analytic there)",
    "the base of the real power x**{exponent:g} is negative (only a positive base, or an "
    "integer exponent, is supported)",
    "the argument of sqrt is 0 (not analytic there)",
    "the argument of sqrt is negative",
    "the argument of log is 0",
    "the argument of log is negative",
    "the argument of Abs/sign is exactly 0 (the sign must be fixed and nonzero)",
    "the argument of Abs/sign changed sign between steps",
)
D_DIV0, D_POW_ZERO, D_POW_NEG, D_SQRT_ZERO, D_SQRT_NEG, D_LOG_ZERO, D_LOG_NEG, D_SIGN_ZERO, \
    D_SIGN_CHANGED = range(len(DOMAIN_MESSAGES))


#: what a step's sign monitor can find (the codes M_SIGN, M_ARG, M_VALUE of the C engine)
M_SIGN, M_ARG, M_VALUE = range(3)


def monitor_message(kind: str, code: int) -> str:
    """What a step's sign monitor found, in words."""
    if code == M_SIGN:
        return "the argument of Abs/sign changes sign (or hits 0)"
    if code == M_ARG:
        return f"the argument of {kind} reaches 0 or becomes negative"
    return f"the value of {kind} (positive branch) reaches 0 or changes sign: its argument touches 0"


def _div0(u, v, node):
    if v == 0:
        raise _DomainError(node, DOMAIN_MESSAGES[D_DIV0])
    return u / v


def _pow0(x, a, node):
    if x > 0:
        return x ** a
    if x == 0:
        raise _DomainError(node, DOMAIN_MESSAGES[D_POW_ZERO])
    if a.is_integer():
        return x ** a
    raise _DomainError(node, DOMAIN_MESSAGES[D_POW_NEG].format(exponent=float(a)))


def _sqrt0(x, node):
    if x > 0:
        return gmpy2.sqrt(x)
    raise _DomainError(node, DOMAIN_MESSAGES[D_SQRT_ZERO if x == 0 else D_SQRT_NEG])


def _log0(x, node):
    if x > 0:
        return gmpy2.log(x)
    raise _DomainError(node, DOMAIN_MESSAGES[D_LOG_ZERO if x == 0 else D_LOG_NEG])


def _keep_sign(sig, slot, s, node, error=None):
    """Record the sign ``s`` of an Abs/sign argument at its first step; a change later raises
    ``error`` (default :class:`_DomainError`)."""
    if sig[slot] is None:
        sig[slot] = s
    elif sig[slot] != s:
        raise (error or _DomainError)(node, DOMAIN_MESSAGES[D_SIGN_CHANGED])
    return s


def _fixed_sign(x, sig, slot, node):
    if x == 0:
        raise _DomainError(node, DOMAIN_MESSAGES[D_SIGN_ZERO])
    return _keep_sign(sig, slot, 1 if x > 0 else -1, node)


_HELPERS = {
    "_conv": _conv, "_sqr": _sqr, "_sqrt_k": _sqrt_k, "_div0": _div0, "_pow0": _pow0,
    "_sqrt0": _sqrt0, "_log0": _log0, "_fixed_sign": _fixed_sign, "_fsum": _fsum,
    "_mul": _mul, "_ZERO": _ZERO, "_ONE": _ONE, "_MONE": _MONE, "_mpfr": _mpfr, "_exp": gmpy2.exp,
    "_sin": gmpy2.sin, "_cos": gmpy2.cos, "_tanh": gmpy2.tanh,
}


# ----------------------------------------------------------------------------------------
# the Taylor program

@dataclass
class _Node:
    kind: str                 # var const lin mul sqr div recip pow sqrt exp log abs sign sin cos tanh
    args: tuple = ()          # operand node ids
    expr: Any = None          # sympy expression (for messages / listing)
    terms: tuple = ()         # lin: ((coef, node), ...), coef None (=1), -1, or const node id
    const0: Optional[int] = None  # lin: constant term (const node id)
    exponent: Optional[int] = None  # pow: const node id of the exponent
    index: Optional[int] = None     # var: state index; const: constant slot
    need_d: bool = False      # keep the list (j * x_j) for this node
    monitor: Optional[int] = None   # slot in the fixed-sign table (abs/sign)

    @property
    def gathered(self) -> bool:
        """A linear combination of enough series to be computed as a row of a linear map."""
        return self.kind == "lin" and len(self.terms) >= GATHER_MIN_TERMS


def _checked_structure(structure, system) -> tuple:
    """``(definitions, rhs_of_parts)`` of ``TaylorSystem(structure=...)``, checked: symbols
    defined once and before use, nothing else free, and the flat ``rhs`` recovered exactly."""
    try:
        definitions, parts = structure
        definitions = [(sym, sp.sympify(e)) for sym, e in definitions]
        parts = [sp.sympify(e) for e in parts]
    except (TypeError, ValueError, sp.SympifyError) as exc:
        raise TypeError(f"structure must be (definitions, rhs_of_parts): {exc}") from None
    if len(parts) != system.dim:
        raise ValueError(f"structure has {len(parts)} rhs expressions, the state {system.dim}")
    known, memo = set(system.state) | set(system.params), {}

    def flat(e):
        """``e`` with the definitions substituted, as ``xreplace`` rebuilds it, each shared
        subexpression once (the parts share the loss gradient)."""
        r = memo.get(e)
        if r is None:
            r = memo[e] = e.func(*map(flat, e.args)) if e.args else e
        return r

    for sym, e in definitions:
        if not isinstance(sym, sp.Symbol) or sym in known:
            raise ValueError(f"structure: {sym!r} is not a new Symbol")
        extra = free_symbols_of([e]) - known
        if extra:
            raise ValueError(f"structure: the definition of {sym} uses {sorted(map(str, extra))} "
                             "before they are defined")
        memo[sym] = flat(e)
        known.add(sym)
    if free_symbols_of(parts) - known:   # one walk of the shared DAG; the loop names the culprit
        for i, e in enumerate(parts):
            if free_symbols_of([e]) - known:
                raise ValueError(f"structure: rhs_of_parts[{i}] has undefined symbols")
    for i, e in enumerate(parts):
        if flat(e) != system.rhs[i]:
            raise ValueError(f"structure: rhs_of_parts[{i}] with the definitions substituted is "
                             f"not rhs[{i}]")
    return definitions, parts


class TaylorSystem:
    """An autonomous system ``y' = F(y; p)`` compiled to a Taylor program.

    Parameters
    ----------
    state : sequence of sympy Symbols (the ordering of ``y``).
    rhs : sequence of sympy expressions in state and params, same length.
    params : sequence of sympy Symbols (the ordering of ``params`` in :func:`integrate`).
    cse : run ``sympy.cse`` on the rhs first (default), to share subexpressions that the
        expressions repeat without sharing them.  ``False`` for an rhs that already shares
        its common parts as objects (a linear map written once, as ``Xᵀ(Xw − y)`` with
        ``r = Xw − y`` built once): the program is the same, and the build is linear in the
        size of the expression DAG (sympy's cse dominated it, 5x, at d = 100).
    structure : ``(definitions, rhs_of_parts)``, the same field written with named parts:
        ``definitions`` are ``(Symbol, expression)`` pairs in order, each expression in the
        state, the params and the symbols defined before it; ``rhs_of_parts`` uses them.
        The program is built from this form, each part once (for ``w = u_1 u_2 u_3``,
        ``f(w)`` then costs what it costs in ``w``, where sympy would have expanded
        ``w_i^2`` into products of squares of the layers).  ``rhs`` stays the flat field
        (kernels and variational equations use it) and must be *identical* to
        ``rhs_of_parts`` with the definitions substituted, else ``ValueError``.

    Attributes: ``state``, ``rhs``, ``params``, ``dim``, ``source`` (the generated
    coefficient code, readable), ``n_ops`` (Taylor-program size); ``kernel(backend)``
    returns the :func:`derivations.kernels.make_kernel` kernel of the same rhs.
    """

    def __init__(self, state: Sequence[sp.Symbol], rhs: Sequence[sp.Expr],
                 params: Sequence[sp.Symbol] = (), *, name: str = "taylor_series",
                 cse: bool = True, structure: Optional[tuple] = None):
        state, rhs, params = _validate(state, rhs, params)
        self.state = tuple(state)
        self.rhs = tuple(rhs)
        self.params = tuple(params)
        self.dim = len(state)
        self.name = name
        self._kernels: dict = {}
        self._const_cache: dict = {}
        definitions, program_rhs = _checked_structure(structure, self) if structure else ((), rhs)
        self._build(cse, definitions, program_rhs)
        self._codegen()

    def __repr__(self):
        return (f"<TaylorSystem dim={self.dim} state={[s.name for s in self.state]} "
                f"params={[s.name for s in self.params]} ops={self.n_ops}>")

    # -- program construction ------------------------------------------------------------
    def _build(self, cse: bool = True, definitions=(), program_rhs=None):
        nodes: list[_Node] = []
        memo: dict = {}        # structural key -> node id
        expr_memo: dict = {}   # sympy expr -> node id
        dep = set(self.state)  # state and state-dependent cse symbols
        sym_node: dict = {}
        const_sub: dict = {}   # constant cse symbols -> their expression in params
        self._const_exprs: list = []

        def add(key, node):
            if key in memo:
                return memo[key]
            nodes.append(node)
            memo[key] = len(nodes) - 1
            return len(nodes) - 1

        for i, s in enumerate(self.state):
            sym_node[s] = add(("var", i), _Node("var", expr=s, index=i))

        def const(e):
            e = sp.sympify(e).xreplace(const_sub) if const_sub else sp.sympify(e)
            key = ("const", e)
            if key in memo:
                return memo[key]
            self._const_exprs.append(e)
            return add(key, _Node("const", expr=e, index=len(self._const_exprs) - 1))

        def coef(c):
            if c == 1:
                return None
            if c == -1:
                return -1
            return const(c)

        def is_const(n):
            return nodes[n].kind == "const"

        def mul(a, b, e=None):
            if a == b:
                return add(("sqr", a), _Node("sqr", (a,), e))
            key = ("mul",) + tuple(sorted((a, b)))
            return add(key, _Node("mul", (a, b), e))

        def product(ids, e=None):
            if not ids:
                return None
            acc = ids[0]
            for j, b in enumerate(ids[1:]):
                acc = mul(acc, b, e if j == len(ids) - 2 else None)
            return acc

        def ipow(x, n, e=None):
            assert n >= 1
            if n == 1:
                return x
            half = ipow(x, n // 2)
            sq = add(("sqr", half), _Node("sqr", (half,), e if n % 2 == 0 else None))
            return mul(sq, x, e) if n % 2 else sq

        def unary(kind, x, e):
            return add((kind, x), _Node(kind, (x,), e))

        depends_memo: dict = {}

        def depends(e):
            """Whether ``e`` involves the state (memoized over the expression DAG: sympy's
            ``free_symbols`` walks the whole tree on every call, which made the build of a
            d = 100 system quadratic)."""
            r = depends_memo.get(e)
            if r is None:
                if type(e).free_symbols is sp.Basic.free_symbols:
                    r = any(map(depends, e.args))
                else:  # Symbol, or a class with bound variables (Integral, Lambda, ...)
                    r = not dep.isdisjoint(e.free_symbols)
                depends_memo[e] = r
            return r

        def split(e, add):
            """``e.as_independent(*dep, as_Add=add)`` for an Add/Mul ``e`` (resp. any ``e``),
            with the memoized test; the same two parts as sympy returns."""
            if (add and not e.is_Add) or (not add and not e.is_Mul):
                return (sp.S.Zero, e) if add else (sp.S.One, e)
            indep, dependent = [], []
            for a in e.args:
                (dependent if depends(a) else indep).append(a)
            if add:
                return sp.Add(*indep), _unevaluated_Add(*dependent)
            return sp.Mul(*indep), _unevaluated_Mul(*dependent)

        def build(e):
            if e in expr_memo:
                return expr_memo[e]
            r = _build(e)
            expr_memo[e] = r
            return r

        def _build(e):
            if not depends(e):
                if e.has(sp.I) or e.is_real is False:
                    raise UnsupportedExpressionError(f"constant {e} is not real")
                return const(e)
            if e.is_Symbol:
                return sym_node[e]
            if e.is_Add:
                c0, rest = split(e, True)
                terms = []
                for t in sp.Add.make_args(rest):
                    c, f = split(t, False)
                    terms.append((coef(c), build(f)))
                # by operand: rows of one linear map then share one gathered operand tuple
                terms.sort(key=lambda term: term[1])
                cn = const(c0) if c0 != 0 else None
                key = ("lin", tuple(terms), cn)
                return add(key, _Node("lin", tuple(n for _, n in terms), e,
                                      terms=tuple(terms), const0=cn))
            if e.is_Mul:
                c, f = split(e, False)
                if c != 1:
                    x = build(f)
                    cf = coef(c)
                    return add(("lin", ((cf, x),), None),
                               _Node("lin", (x,), e, terms=((cf, x),)))
                num, den = [], []
                for fac in sp.Mul.make_args(f):
                    if fac.is_Pow and fac.exp.is_Integer and fac.exp < 0 and \
                            depends(fac.base):
                        den.append(ipow(build(fac.base), int(-fac.exp)))
                    else:
                        num.append(build(fac))
                u = product(num, e if not den else None)
                v = product(den)
                if v is None:
                    return u
                if u is None:
                    return add(("recip", v), _Node("recip", (v,), e))
                return add(("div", u, v), _Node("div", (u, v), e))
            if e.is_Pow:
                base, ex = e.base, e.exp
                if depends(ex):
                    # x**y = exp(y log x) for a state-dependent exponent
                    lg = unary("log", build(base), sp.log(base))
                    arg = mul(build(ex), lg, ex * sp.log(base))
                    nodes[arg].need_d = True
                    return unary("exp", arg, e)
                x = build(base)
                if ex.is_Integer:
                    n = int(ex)
                    if n > 0:
                        return ipow(x, n, e)
                    v = ipow(x, -n)
                    return add(("recip", v), _Node("recip", (v,), e))
                if ex == sp.S.Half:
                    return unary("sqrt", x, e)
                if ex.is_real is False or ex.has(sp.I):
                    raise UnsupportedExpressionError(f"complex exponent in {e}")
                a = const(ex)
                nodes[x].need_d = True
                return add(("pow", x, a), _Node("pow", (x,), e, exponent=a))
            f = e.func
            if f in (sp.exp, sp.log, sp.sin, sp.cos, sp.tanh, sp.Abs, sp.sign):
                if len(e.args) != 1:
                    raise UnsupportedExpressionError(f"{f.__name__} with {len(e.args)} arguments")
                x = build(e.args[0])
                kind = {sp.exp: "exp", sp.log: "log", sp.sin: "sin", sp.cos: "cos",
                        sp.tanh: "tanh", sp.Abs: "abs", sp.sign: "sign"}[f]
                if kind in ("exp", "sin", "cos", "tanh"):
                    nodes[x].need_d = True
                return unary(kind, x, e)
            name = getattr(f, "__name__", str(f))
            raise UnsupportedExpressionError(
                f"the Taylor integrator does not support the function {name!r} "
                f"(in {e}); supported: {', '.join(SUPPORTED)}")

        # order="none": the canonical ordering sorts every subexpression and dominates the
        # build on large systems; the program does not depend on the order of the cse list
        program_rhs = list(self.rhs if program_rhs is None else program_rhs)
        repl, reduced = (sp.cse(program_rhs, symbols=sp.numbered_symbols("_t"), order="none")
                         if cse else ([], program_rhs))
        for s, e in list(definitions) + list(repl):
            if depends(e):
                dep.add(s)
                depends_memo[s] = True
                sym_node[s] = build(e)
            else:
                const_sub[s] = e.xreplace(const_sub)
        self._rhs_nodes = [build(e) for e in reduced]
        # slots for the fixed signs of Abs/sign
        nmon = 0
        for n in nodes:
            if n.kind in ("abs", "sign"):
                n.monitor = nmon
                nmon += 1
        self._nodes = nodes
        self._n_sign_slots = nmon
        self.n_ops = sum(1 for n in nodes if n.kind not in ("var", "const"))

    # -- code generation -----------------------------------------------------------------
    def _codegen(self):
        nodes = self._nodes
        def L(i):
            n = nodes[i]
            if n.kind == "var":
                return f"y{n.index}"
            if n.kind == "const":
                return f"c{n.index}"
            return f"n{i}"

        def D(i):
            n = nodes[i]
            return f"dy{n.index}" if n.kind == "var" else f"d{i}"

        def cf(c):
            return "" if c is None else ("-" if c == -1 else f"c{nodes[c].index}*")

        # A linear combination of many series is a row of a linear map: its operands are
        # gathered into one tuple per order (shared by every row with the same operands, as
        # the rows of X w or X^T r) and its coefficients into a tuple built once, so a term
        # costs one C-level multiply in map() instead of Python bytecode (30 % less).
        gathers: dict = {}    # operand ids -> gather name
        coefficient_rows = []  # prelude lines: the coefficient tuples

        def coefficient(c):
            return "_ONE" if c is None else ("_MONE" if c == -1 else f"c{nodes[c].index}")

        def gather_lines(n, idx, emitted):
            key = tuple(x for _, x in n.terms)
            name = gathers.setdefault(key, f"g{len(gathers)}")
            if name in emitted:
                return []
            emitted.add(name)
            return [f"{name} = ({', '.join(f'{L(x)}[{idx}]' for x in key)},)"]

        def gathered_expr(n, i, idx):
            name = gathers[tuple(x for _, x in n.terms)]
            expr = f"_fsum(map(_mul, C{i}, {name}))"
            if n.const0 is not None and idx == "0":
                expr += f" + {L(n.const0)}"
            return expr

        def lin_expr(n, idx):
            parts = []
            for c, x in n.terms:
                if nodes[x].kind == "const":
                    raise AssertionError("constant term inside lin")
                parts.append(f"{cf(c)}{L(x)}[{idx}]")
            if n.const0 is not None and idx == "0":
                parts.append(L(n.const0))
            if len(parts) <= 2:
                return " + ".join(parts).replace("+ -", "- ")
            return "_fsum((" + ", ".join(parts) + ",))"

        monitors = []  # (node id, arg node id, kind)
        o0, ok = [], []  # order-0 lines, order-k lines
        emitted0, emittedk = set(), set()  # gathers already computed at order 0 / in the k-loop
        for i, s in enumerate(self.state):
            if nodes[i].need_d:
                o0.append(f"dy{i} = [_ZERO]")
                ok.append(f"dy{i}.append(k*y{i}[k])")
        for i, n in enumerate(nodes):
            if n.kind in ("var", "const"):
                continue
            z = L(i)
            a = [L(x) for x in n.args]
            x = a[0]
            # operands only: printing every node's sympy expression costs more than the
            # whole rest of the build on large systems (program_listing() shows them)
            comment = f"# {z} = {n.kind}({', '.join(a)})"
            o0.append(comment)
            ok.append(comment)
            k = n.kind
            if n.gathered:
                coefficient_rows.append(f"C{i} = ({', '.join(coefficient(c) for c, _ in n.terms)},)")
                o0 += gather_lines(n, "0", emitted0)
                o0.append(f"{z} = [{gathered_expr(n, i, '0')}]")
                ok += gather_lines(n, "k", emittedk)
                ok.append(f"{z}.append({gathered_expr(n, i, 'k')})")
            elif k == "lin":
                o0.append(f"{z} = [{lin_expr(n, '0')}]")
                ok.append(f"{z}.append({lin_expr(n, 'k')})")
            elif k == "mul":
                o0.append(f"{z} = [{a[0]}[0]*{a[1]}[0]]")
                ok.append(f"{z}.append(_conv({a[0]}, {a[1]}))")
            elif k == "sqr":
                o0.append(f"{z} = [{x}[0]*{x}[0]]")
                ok.append(f"{z}.append(_sqr({x}, k))")
            elif k == "div":
                u, v = a
                o0.append(f"{z} = [_div0({u}[0], {v}[0], {i})]")
                ok.append(f"{z}.append(({u}[k] - _fsum(map(_mul, {v}[1:], reversed({z})))) / {v}[0])")
            elif k == "recip":
                v = x
                o0.append(f"{z} = [_div0(_ONE, {v}[0], {i})]")
                ok.append(f"{z}.append(-_fsum(map(_mul, {v}[1:], reversed({z}))) / {v}[0])")
            elif k == "pow":
                e = L(n.exponent)
                dx = D(n.args[0])
                o0.append(f"{z} = [_pow0({x}[0], {e}, {i})]")
                o0.append(f"zd{i} = [_ZERO]")
                ok.append(f"_t = ({e}*_fsum(map(_mul, {dx}[1:], reversed({z}))) - "
                          f"_fsum(map(_mul, {x}[k-1:0:-1], zd{i}[1:]))) / {x}[0]")
                ok.append(f"zd{i}.append(_t)")
                ok.append(f"{z}.append(_t / k)")
                monitors.append((i, n.args[0], "pow"))
            elif k == "sqrt":
                o0.append(f"{z} = [_sqrt0({x}[0], {i})]")
                ok.append(f"{z}.append(_sqrt_k({x}, {z}, k))")
                monitors.append((i, n.args[0], "sqrt"))
            elif k == "exp":
                dx = D(n.args[0])
                o0.append(f"{z} = [_exp({x}[0])]")
                ok.append(f"{z}.append(_fsum(map(_mul, {dx}[1:], reversed({z}))) / k)")
            elif k == "log":
                o0.append(f"{z} = [_log0({x}[0], {i})]")
                o0.append(f"zd{i} = [_ZERO]")
                ok.append(f"_t = ({x}[k] - _fsum(map(_mul, zd{i}[1:], {x}[k-1:0:-1])) / k) / {x}[0]")
                ok.append(f"{z}.append(_t)")
                ok.append(f"zd{i}.append(k*_t)")
                monitors.append((i, n.args[0], "log"))
            elif k == "abs":
                o0.append(f"s{i} = _fixed_sign({x}[0], SIG, {n.monitor}, {i})")
                o0.append(f"{z} = [{x}[0] if s{i} > 0 else -{x}[0]]")
                ok.append(f"{z}.append({x}[k] if s{i} > 0 else -{x}[k])")
                monitors.append((i, n.args[0], "abs"))
            elif k == "sign":
                o0.append(f"{z} = [_mpfr(_fixed_sign({x}[0], SIG, {n.monitor}, {i}))]")
                ok.append(f"{z}.append(_ZERO)")
                monitors.append((i, n.args[0], "sign"))
            elif k in ("sin", "cos"):
                dx = D(n.args[0])
                f0, g0 = ("_sin", "_cos") if k == "sin" else ("_cos", "_sin")
                o0.append(f"{z} = [{f0}({x}[0])]")
                o0.append(f"a{i} = [{g0}({x}[0])]")
                if k == "sin":  # z = sin, a = cos
                    ok.append(f"_t = _fsum(map(_mul, {dx}[1:], reversed(a{i}))) / k")
                    ok.append(f"a{i}.append(-_fsum(map(_mul, {dx}[1:], reversed({z}))) / k)")
                else:           # z = cos, a = sin
                    ok.append(f"_t = -_fsum(map(_mul, {dx}[1:], reversed(a{i}))) / k")
                    ok.append(f"a{i}.append(_fsum(map(_mul, {dx}[1:], reversed({z}))) / k)")
                ok.append(f"{z}.append(_t)")
            elif k == "tanh":
                dx = D(n.args[0])
                o0.append(f"{z} = [_tanh({x}[0])]")
                o0.append(f"a{i} = [_ONE - {z}[0]*{z}[0]]")
                ok.append(f"{z}.append(_fsum(map(_mul, {dx}[1:], reversed(a{i}))) / k)")
                ok.append(f"a{i}.append(-_sqr({z}, k))")
            else:  # pragma: no cover
                raise AssertionError(k)
            if n.need_d:
                o0.append(f"d{i} = [_ZERO]")
                ok.append(f"d{i}.append(k*{z}[k])")
        # state updates y_{k+1} = F_k / (k+1)
        for si, r in enumerate(self._rhs_nodes):
            if nodes[r].kind == "const":
                o0.append(f"y{si}.append({L(r)})")
                ok.append(f"y{si}.append(_ZERO)")
            else:
                o0.append(f"y{si}.append({L(r)}[0])")
                ok.append(f"y{si}.append({L(r)}[k] / (k + 1))")
        self._monitors = monitors

        nconst = len(self._const_exprs)
        lines = [f"def {self.name}(Y, K, SIG, order):"]
        doc = ["Taylor coefficients y_0..y_p of the solution of y' = F(y; p) at the current point.",
               "",
               "Generated by flowproof.numerics.core.taylor.  Y: list of one-element lists [y_i(t)]",
               "(extended in place to p+1 coefficients); K: constants (mpfr); SIG: fixed signs.",
               "State ordering:"]
        doc += [f"    Y[{i}] = {s.name}" for i, s in enumerate(self.state)]
        doc.append("Parameter ordering: " + (", ".join(s.name for s in self.params) or "(none)"))
        doc.append("Constants:")
        doc += [f"    K[{j}] = {sp.sstr(e)}" for j, e in enumerate(self._const_exprs)] or ["    (none)"]
        doc.append("Right-hand side: TaylorSystem.rhs; one elementary operation a node: "
                   "TaylorSystem.program_listing().")
        lines.append('    """' + doc[0].replace('"""', "'''"))
        lines += [("    " + d.replace("\\", "\\\\").replace('"""', "'''")) if d else "" for d in doc[1:]]
        lines.append('    """')
        if self.dim:
            lines.append(f"    ({', '.join(f'y{i}' for i in range(self.dim))},) = Y")
        if nconst:
            lines.append(f"    ({', '.join(f'c{j}' for j in range(nconst))},) = K")
        if coefficient_rows:
            lines.append("    # ---- coefficient rows of the linear maps")
            lines += ["    " + l for l in coefficient_rows]
        lines.append("    # ---- order 0: values (elementary functions, domain and sign checks)")
        lines += ["    " + l for l in o0]
        lines.append("    # ---- orders 1 .. p-1: AD recurrences")
        lines.append("    for k in range(1, order):")
        lines += ["        " + l for l in ok]
        mon = ", ".join(f"({L(a)}, {L(n)})" for n, a, _ in monitors)
        lines.append(f"    return ({mon}{',' if monitors else ''})")
        src = "\n".join(lines) + "\n"
        self.source = src
        digest = hashlib.sha1(src.encode()).hexdigest()[:12]
        filename = f"<flowproof-taylor {self.name} {digest}>"
        linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
        ns = dict(_HELPERS)
        exec(compile(src, filename, "exec"), ns)
        self._series = ns[self.name]

    # -- constants -----------------------------------------------------------------------
    def _constants(self, params, prec):
        if len(params) != len(self.params):
            raise ValueError(f"params must have {len(self.params)} values "
                             f"({', '.join(s.name for s in self.params) or 'none'}), "
                             f"got {len(params)}")
        vals = tuple(exact_number(v, f"params[{i}] ({s.name})")
                     for i, (v, s) in enumerate(zip(params, self.params)))
        key = (vals, prec)
        hit = self._const_cache.get(key)
        if hit is not None:
            return hit
        pmap = dict(zip(self.params, vals))
        digits = int(prec / _LOG2_10) + 10
        out = []
        for j, e in enumerate(self._const_exprs):
            v = e.xreplace(pmap) if pmap else e
            if isinstance(v, sp.Rational):
                out.append(_mpfr(_mpq(int(v.p), int(v.q))))
                continue
            val = sp.N(v, digits)
            if not isinstance(val, (sp.Float, sp.Rational)):
                raise TaylorError(f"constant {e} evaluates to {val}, which is not a finite "
                                  f"real number (params {dict(zip(map(str, self.params), vals))})")
            out.append(_to_mpfr(val, f"constant {e}"))
            if not gmpy2.is_finite(out[-1]):
                raise TaylorError(f"constant {e} is not finite")
        if len(self._const_cache) > 256:
            self._const_cache.clear()
        self._const_cache[key] = out
        return out

    def kernel(self, backend: str = "numpy"):
        """The :func:`derivations.kernels.make_kernel` kernel of this rhs (cached)."""
        if backend not in self._kernels:
            self._kernels[backend] = make_kernel(self.state, self.rhs, self.params,
                                                 backend=backend, name="rhs")
        return self._kernels[backend]

    def program_listing(self) -> str:
        """A human-readable listing of the Taylor program (one elementary op a line)."""
        out = []
        for i, n in enumerate(self._nodes):
            if n.kind == "var":
                out.append(f"n{i:<4} var      {n.expr}")
            elif n.kind == "const":
                out.append(f"n{i:<4} const    {n.expr}")
            else:
                out.append(f"n{i:<4} {n.kind:<8} args={['n%d' % a for a in n.args]}  "
                           f"{'' if n.expr is None else sp.sstr(n.expr)}")
        for s, r in zip(self.state, self._rhs_nodes):
            out.append(f"d{s.name}/dt = n{r}")
        return "\n".join(out)


# ----------------------------------------------------------------------------------------
# results

@dataclass
class TaylorResult:
    """Output of :func:`integrate`.

    ``t``: output times (mpf); ``y``: state vectors (lists of mpf) at those times.
    Values carry the working precision (``dps`` digits plus guard bits).  Their error is
    *observed*, not proven: the local tolerance is ``10**-dps`` per step and the tests measure
    the global drift.  ``enclosure`` (set by a certified run only) holds, per output time,
    one ``flint.arb`` ball per component that is proven to contain the exact solution.
    """
    t: list
    y: list
    steps: int
    order: int
    dps: int
    min_step: float
    max_step: float
    seconds: float
    prec_bits: int = 0
    tol: str = ""
    t0: Any = None
    state: tuple = ()
    integrator: str = "taylor (Jorba-Zou, gmpy2/MPFR)"
    enclosure: Optional[list] = None

    def to_dict(self, digits: Optional[int] = None) -> dict:
        """JSON-ready dict; numbers as decimal strings with ``digits`` (default dps) digits."""
        d = self.dps if digits is None else digits
        s = lambda v: mpmath.nstr(v, d, strip_zeros=False)  # noqa: E731
        return {
            "integrator": self.integrator,
            "dps": self.dps,
            "prec_bits": self.prec_bits,
            "order": self.order,
            "tol": self.tol,
            "steps": self.steps,
            "min_step": self.min_step,
            "max_step": self.max_step,
            "seconds": self.seconds,
            "state": [str(x) for x in self.state],
            "t0": s(self.t0) if self.t0 is not None else None,
            "t": [s(v) for v in self.t],
            "y": [[s(v) for v in row] for row in self.y],
        }

    def to_json(self, digits: Optional[int] = None, **json_kw) -> str:
        """:meth:`to_dict` serialised with ``json.dumps``."""
        return json.dumps(self.to_dict(digits), **json_kw)


@dataclass
class Float64Result:
    """Output of :func:`solve_float64` (scipy DOP853)."""
    t: np.ndarray
    y: np.ndarray        # shape (len(t), dim)
    nfev: int
    seconds: float
    rtol: float
    atol: float
    integrator: str = "scipy solve_ivp DOP853 (float64)"


# ----------------------------------------------------------------------------------------
# the integrator

def _horner(c, h):
    r = c[-1]
    for a in reversed(c[:-1]):
        r = r * h + a
    return r


def _step_error(system: TaylorSystem, what: str, t: mpmath.mpf, **info) -> TaylorError:
    """The error of the step from ``t`` (an mpf) that failed with ``what``, in the words both
    routes use (the Python loop below and the C engine's status codes)."""
    at = mpmath.nstr(t, 20)
    if what == "max_steps":
        return TaylorError(f"max_steps = {info['max_steps']} reached at t = {mpmath.nstr(t, 15)}")
    if what == "arith":
        return TaylorError(f"arithmetic failure ({info['reason']}) while computing Taylor "
                           f"coefficients at t = {at}; the solution may blow up here")
    if what == "underflow":
        return TaylorError(f"step size underflow (h = {info['h']:.3g}) at t = {at}: the solution "
                           "is probably singular or blows up near here")
    if what == "nonfinite":
        return TaylorError(f"component {system.state[info['component']]} became non-finite "
                           f"near t = {at}")
    node = system._nodes[info["node"]]
    if what == "domain":
        return TaylorError(f"{info['message']}; in the subexpression {sp.sstr(node.expr)} at t = {at}")
    if what == "monitor":
        return TaylorError(f"{monitor_message(node.kind, info['code'])} during the step "
                           f"[{mpmath.nstr(t, 15)}, {mpmath.nstr(info['t_end'], 15)}]; "
                           f"in the subexpression {sp.sstr(node.expr)}")
    raise AssertionError(what)  # pragma: no cover


def _use_engine(engine: str, progress) -> bool:
    if engine not in ("auto", "c", "python"):
        raise ValueError(f"engine must be 'auto', 'c' or 'python', got {engine!r}")
    if engine == "python":
        return False
    if progress is not None:
        if engine == "c":
            raise ValueError("progress callbacks run on engine='python' only")
        return False
    ok, why = _engine.available()
    if not ok and engine == "c":
        raise RuntimeError(f"engine='c' is not available here: {why}")
    return ok


def _engine_integrate(system, y, K, t, te, outs, progress=None, **options):
    """The C engine's integration (same bits as :func:`_python_integrate`), or its error
    raised; it reports no progress (``_use_engine`` sends a callback to Python)."""
    assert progress is None
    status, result = _engine.run(system, y, K, t, te, outs, **options)
    if status == "ok":
        return result
    if status == "memory":
        raise MemoryError("the C Taylor engine could not allocate its series")
    info = dict(result)
    if status == "domain":
        node = system._nodes[info["node"]]
        exponent = float(K[system._nodes[node.exponent].index]) if node.kind == "pow" else 0.0
        info["message"] = DOMAIN_MESSAGES[info["code"]].format(exponent=exponent)
    info.update(reason="MPFR flagged a NaN, an overflow or a division by zero",
                max_steps=options["max_steps"])
    raise _step_error(system, status, info.pop("t"), **info) from None


def _max_abs(vals):
    m = _ZERO
    for v in vals:
        a = abs(v)
        if a > m:
            m = a
    return m


def _python_integrate(system, y, K, t, te, outs, *, order, prec, ln_tol, safety, max_steps,
                      progress=None):
    """The step loop in Python over the generated program (inside ``integrate``'s gmpy2
    context): ``(states at outs or at te, steps, min |h|, max |h|)``; the C engine's
    ``fp_integrate`` is this loop, operation for operation."""
    direction = 1 if te >= t else -1
    res_y = []
    oi = 0
    while oi < len(outs) and outs[oi] == t:
        res_y.append(list(y))
        oi += 1
    SIG = [None] * system._n_sign_slots
    steps = 0
    hmin, hmax = math.inf, 0.0
    ln2 = math.log(2)

    while t != te:
        if steps >= max_steps:
            raise _step_error(system, "max_steps", _mpfr_to_mpf(t), max_steps=max_steps)
        Y = [[v] for v in y]
        try:
            mon = system._series(Y, K, SIG, order)
        except _DomainError as exc:
            raise _step_error(system, "domain", _mpfr_to_mpf(t), node=exc.node,
                              message=exc.msg) from None
        except (gmpy2.InvalidOperationError, gmpy2.OverflowResultError,
                gmpy2.DivisionByZeroError) as exc:
            raise _step_error(system, "arith", _mpfr_to_mpf(t), reason=exc) from None
        # --- Jorba-Zou step size from the last two coefficients
        ynorm = _max_abs(y)
        ln_eps = ln_tol + (float(gmpy2.log(ynorm)) if ynorm > 1 else 0.0)
        cands = []
        for j in (order - 1, order):
            nj = _max_abs(c[j] for c in Y)
            if nj > 0:
                cands.append((ln_eps - float(gmpy2.log(nj))) / j)
        remaining = abs(te - t)
        if cands:
            ln_h = min(cands)
            h_f = safety * math.exp(ln_h) if ln_h < 700 else math.inf
        else:
            h_f = math.inf
        if (not h_f > 0 or h_f < 1e-300 or (t != 0 and math.log(h_f) + (prec - 8) * ln2
                                              < float(gmpy2.log(abs(t))))):
            raise _step_error(system, "underflow", _mpfr_to_mpf(t), h=h_f)
        last = h_f >= remaining
        h = (te - t) if last else _mpfr(h_f) * direction
        t_new = te if last else t + h
        # --- dense output inside the step
        while oi < len(outs) and (outs[oi] - t_new) * direction <= 0:
            tau = outs[oi] - t
            res_y.append([_horner(c, tau) for c in Y])
            oi += 1
        y_new = [_horner(c, h) for c in Y]
        # --- domain / fixed-sign monitors inside the step (sampled at h/4, h/2, 3h/4, h).
        # The analytic continuation of sqrt/x**a/Abs through a zero of the argument is
        # smooth (e.g. sqrt((1-t)**2) -> 1-t), so a step could silently switch branch:
        # arguments (and sqrt/pow values) must keep their sign over the step.
        for (node_id, arg_id, kind), (xc, zc) in zip(system._monitors, mon):
            node = system._nodes[node_id]
            if kind == "pow" and K[system._nodes[node.exponent].index].is_integer():
                continue  # integer power: analytic for any sign of the base
            for frac in (h / 4, h / 2, 3 * h / 4, h):
                xv = _horner(xc, frac)
                if kind in ("abs", "sign"):
                    bad, code = xv == 0 or (xv > 0) != (SIG[node.monitor] > 0), M_SIGN
                else:
                    bad, code = not xv > 0, M_ARG
                    if not bad and kind in ("pow", "sqrt") and not _horner(zc, frac) > 0:
                        bad, code = True, M_VALUE
                if bad:
                    raise _step_error(system, "monitor", _mpfr_to_mpf(t), node=node_id,
                                      code=code, t_end=_mpfr_to_mpf(t + h))
        for i, v in enumerate(y_new):
            if not gmpy2.is_finite(v):
                raise _step_error(system, "nonfinite", _mpfr_to_mpf(t), component=i)
        ha = float(abs(h))
        hmin = min(hmin, ha)
        hmax = max(hmax, ha)
        y = y_new
        t = t_new
        steps += 1
        if progress is not None:
            progress(_mpfr_to_mpf(t), steps)
    if not outs:
        res_y = [y]
    elif oi < len(outs):  # pragma: no cover - guarded by the range check above
        raise AssertionError("output times were not all reached")
    return [[_mpfr_to_mpf(v) for v in row] for row in res_y], steps, hmin, hmax


def integrate(system: TaylorSystem, y0: Sequence[Any], t_end: Any, *, dps: int,
              times: Optional[Sequence[Any]] = None, params: Sequence[Any] = (),
              tol: Any = None, progress: Optional[Callable[[Any, int], None]] = None,
              t0: Any = 0, max_steps: int = 1_000_000, certified: bool = False,
              engine: str = "auto") -> TaylorResult:
    """Integrate ``system`` from ``(t0, y0)`` to ``t_end`` at ``dps`` decimal digits.

    Parameters
    ----------
    system : a :class:`TaylorSystem` (build once, reuse).
    y0 : initial state; exact values are welcome (sympy Rational, Fraction, int,
        decimal/rational strings such as ``"0.1"`` or ``"1/3"``), also mpf and float.
    t_end : final time (same kinds of numbers); may be smaller than ``t0``.
    dps : working precision in decimal digits (guard bits are added internally).
    times : optional monotone output times between ``t0`` and ``t_end``; each is hit
        exactly by evaluating the Taylor polynomial of the step that contains it.
        Without ``times`` the result holds only ``t_end``.
    params : values of ``system.params`` (exact kinds as for ``y0``).
    tol : local tolerance (relative, absolute below norm 1); default ``10**-dps``.
        Order ``p = ceil(-ln(tol)/2) + 1`` and step
        ``h = safety * min((eps/|y_{p-1}|)^(1/(p-1)), (eps/|y_p|)^(1/p))`` with
        ``eps = tol * max(1, |y|_inf)`` (Jorba & Zou 2005).
    progress : optional ``callback(t, steps)`` called after every step.
    t0 : initial time (default 0).
    max_steps : raise :class:`TaylorError` beyond this many steps.
    certified : also prove where the solution is: the result's ``enclosure`` holds, per
        output time, balls that contain the exact solution
        (:func:`numerics.core.certified.certified_integrate`; rational times, default ``tol``).
    engine : ``"auto"`` (default: the compiled C engine of :mod:`numerics.core.taylor_engine`
        when it is available and no ``progress`` is asked for, else Python), ``"c"`` or
        ``"python"`` (the generated Python program).  Both give the same bits; the result's
        ``integrator`` names the one that ran.
    """
    if certified:
        if tol is not None or progress is not None:
            raise ValueError("certified=True chooses its own steps: tol and progress are not supported")
        from numerics.core.certified import certified_integrate  # it builds on this module

        return certified_integrate(system, y0, t_end, dps=dps, times=times, params=params, t0=t0,
                                   max_steps=max_steps)
    if not isinstance(system, TaylorSystem):
        raise TypeError(f"system must be a TaylorSystem, got {type(system).__name__}")
    if isinstance(dps, bool) or not isinstance(dps, (int, np.integer)) or dps < 5:
        raise ValueError(f"dps must be an integer >= 5, got {dps!r}")
    dps = int(dps)
    if isinstance(y0, (str, bytes)) or not hasattr(y0, "__len__"):
        raise TypeError("y0 must be a sequence of numbers (one per state component)")
    if len(y0) != system.dim:
        raise ValueError(f"y0 must have {system.dim} components "
                         f"({', '.join(s.name for s in system.state)}), got {len(y0)}")
    if progress is not None and not callable(progress):
        raise TypeError("progress must be callable(t, steps) or None")
    if not isinstance(max_steps, int) or max_steps < 1:
        raise ValueError(f"max_steps must be a positive integer, got {max_steps!r}")
    use_engine = _use_engine(engine, progress)

    if tol is None:
        ln_tol = -dps * math.log(10)
        tol_digits = dps
    else:
        ln_tol = _ln_positive(tol)
        if ln_tol >= 0:
            raise ValueError(f"tol must be < 1, got {tol!r}")
        tol_digits = -ln_tol / math.log(10)
    order = max(2, math.ceil(-ln_tol / 2) + 1)
    prec = int(math.ceil(max(dps, tol_digits) * _LOG2_10)) + GUARD_BITS
    safety = math.exp(-0.7 / (order - 1))

    start = _time.perf_counter()
    ctx = gmpy2.context(precision=prec, round=gmpy2.RoundToNearest, trap_invalid=True,
                        trap_divzero=True, trap_overflow=True)
    with ctx:
        y = [_to_mpfr(v, f"y0[{i}]") for i, v in enumerate(y0)]
        t = _to_mpfr(t0, "t0")
        te = _to_mpfr(t_end, "t_end")
        K = system._constants(tuple(params), prec)
        direction = 1 if te >= t else -1
        outs: list = []
        if times is not None:
            if isinstance(times, (str, bytes)) or not hasattr(times, "__iter__"):
                raise TypeError("times must be a sequence of numbers or None")
            outs = [_to_mpfr(v, f"times[{i}]") for i, v in enumerate(times)]
            if not outs:
                raise ValueError("times is empty: give the output times, or None for t_end only")
            for i, v in enumerate(outs):
                if (v - t) * direction < 0 or (te - v) * direction < 0:
                    raise ValueError(f"times[{i}] = {times[i]} is outside [t0, t_end] = "
                                     f"[{t0}, {t_end}]")
                if i and (v - outs[i - 1]) * direction <= 0:
                    raise ValueError("times must be strictly increasing (in the direction "
                                     f"of integration); times[{i - 1}], times[{i}] = "
                                     f"{times[i - 1]}, {times[i]}")
        run = _engine_integrate if use_engine else _python_integrate
        out_y, steps, hmin, hmax = run(system, y, K, t, te, outs, order=order, prec=prec,
                                       ln_tol=ln_tol, safety=safety, max_steps=max_steps,
                                       progress=progress)
        out_t = [_mpfr_to_mpf(v) for v in (outs if times is not None else [te])]
        t0_m = _mpfr_to_mpf(_to_mpfr(t0, "t0"))
    seconds = _time.perf_counter() - start
    return TaylorResult(t=out_t, y=out_y, steps=steps, order=order, dps=dps,
                        min_step=hmin if steps else 0.0, max_step=hmax, seconds=seconds,
                        prec_bits=prec, tol=f"1e-{dps}" if tol is None else str(tol),
                        t0=t0_m, state=tuple(system.state),
                        integrator=_engine.ENGINE_NAME if use_engine else TaylorResult.integrator)


def taylor_coefficients(system: TaylorSystem, y0: Sequence[Any], order: int, *, dps: int,
                        params: Sequence[Any] = ()) -> list:
    """Normalised Taylor coefficients ``y_k = y^{(k)}(t0)/k!``, k = 0..order, of the
    solution through ``y0`` (a list per state component, mpf values).

    The same program :func:`integrate` uses; handy to check the recurrences.
    """
    if not isinstance(system, TaylorSystem):
        raise TypeError(f"system must be a TaylorSystem, got {type(system).__name__}")
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise ValueError(f"order must be a positive integer, got {order!r}")
    if isinstance(dps, bool) or not isinstance(dps, int) or dps < 5:
        raise ValueError(f"dps must be an integer >= 5, got {dps!r}")
    if len(y0) != system.dim:
        raise ValueError(f"y0 must have {system.dim} components, got {len(y0)}")
    prec = int(math.ceil(dps * _LOG2_10)) + GUARD_BITS
    with gmpy2.context(precision=prec, trap_invalid=True, trap_divzero=True,
                       trap_overflow=True):
        Y = [[_to_mpfr(v, f"y0[{i}]")] for i, v in enumerate(y0)]
        K = system._constants(tuple(params), prec)
        try:
            system._series(Y, K, [None] * system._n_sign_slots, order)
        except _DomainError as exc:
            node = system._nodes[exc.node]
            raise TaylorError(f"{exc.msg}; in the subexpression {sp.sstr(node.expr)}") from None
        return [[_mpfr_to_mpf(v) for v in c] for c in Y]


def solve_float64(system: TaylorSystem, y0: Sequence[Any], t_end: float,
                  times: Optional[Sequence[float]] = None, *, rtol: float = 1e-13,
                  atol: float = 1e-15, params: Sequence[Any] = (), t0: float = 0.0) -> Float64Result:
    """float64 solution with scipy ``solve_ivp(method="DOP853")`` on the numpy kernel.

    Returns a :class:`Float64Result` with the states at ``times`` (or at ``t_end``).
    Raises ``RuntimeError`` if scipy reports failure.
    """
    from scipy.integrate import solve_ivp

    if not isinstance(system, TaylorSystem):
        raise TypeError(f"system must be a TaylorSystem, got {type(system).__name__}")
    if len(y0) != system.dim:
        raise ValueError(f"y0 must have {system.dim} components, got {len(y0)}")
    f = system.kernel("numpy")
    with gmpy2.context(precision=64):
        y0f = np.array([float(_to_mpfr(v, f"y0[{i}]")) for i, v in enumerate(y0)])
        pf = tuple(float(_to_mpfr(v, f"params[{i}]")) for i, v in enumerate(params))
        t0f = float(_to_mpfr(t0, "t0"))
        tef = float(_to_mpfr(t_end, "t_end"))
    if len(pf) != len(system.params):
        raise ValueError(f"params must have {len(system.params)} values, got {len(pf)}")
    t_eval = None if times is None else np.array([float(v) for v in times])
    start = _time.perf_counter()
    sol = solve_ivp(lambda _t, yy: f(yy, pf), (t0f, tef), y0f, method="DOP853",
                    t_eval=t_eval if t_eval is not None else [tef], rtol=rtol, atol=atol)
    seconds = _time.perf_counter() - start
    if not sol.success:
        raise RuntimeError(f"solve_ivp(DOP853) failed: {sol.message}")
    return Float64Result(t=sol.t, y=sol.y.T.copy(), nfev=int(sol.nfev), seconds=seconds,
                         rtol=rtol, atol=atol)
