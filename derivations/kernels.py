"""Numeric kernels generated from sympy right-hand sides.

One derived expression, several numeric backends (the pattern of mpmath's
contexts and of PyDy's code generation):

>>> import sympy as sp
>>> w, c = sp.symbols("w c", positive=True)
>>> f = make_kernel([w], [-c * w**sp.Rational(4, 3)], params=[c], backend="mpmath")
>>> f(["1"], [3], dps=30)[0]
mpf('-3.0')
>>> g = make_kernel([w], [-c * w**sp.Rational(4, 3)], params=[c])
>>> round(float(g([8.0], [1.0])[0]), 12)
-16.0

``make_kernel`` runs ``sympy.cse`` on the right-hand sides, prints readable
Python source (kept in ``kernel.source``; the generated function's docstring
lists the state ordering, the parameter ordering and the expressions) and
compiles it.

Backends
--------
``numpy``
    float64, one state vector; returns a ``numpy.ndarray``.
``mpmath``
    the kernel takes a keyword ``dps`` and evaluates everything inside
    ``mpmath.workdps(dps)``: rational constants are emitted as exact
    ``mpf(p)/mpf(q)`` computed at the working precision, sympy Floats as exact
    binary mantissa/exponent tuples, and nothing depends on the caller's
    ``mp.dps``.  Returns a list of ``mpf``.
"""
from __future__ import annotations

import hashlib
import keyword
import linecache
from fractions import Fraction
from decimal import Decimal
from typing import Any, Callable, Sequence

import mpmath
import numpy
import sympy as sp
from sympy.printing.codeprinter import PrintMethodNotImplementedError
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.pycode import MpmathPrinter, PythonCodePrinter

__all__ = ["Kernel", "make_kernel", "to_mpf", "BACKENDS"]

BACKENDS = ("numpy", "mpmath")

# Names the generated code uses itself; user symbols with these names are renamed.
_RESERVED = {
    "y", "p", "dps", "mpmath", "numpy", "functools", "math", "abs", "max", "min",
    "len", "ValueError", "_to_mpf", "_out",
}


def to_mpf(v: Any) -> mpmath.mpf:
    """Convert an exact or floating number to ``mpf`` at the *current* mpmath precision.

    Accepted: ``int``, ``float`` (exact binary value), ``str`` (decimal or ``p/q``),
    ``Fraction``, ``Decimal``, ``mpf``, gmpy2 ``mpz``/``mpq``/``mpfr``, sympy numbers.
    Rationals are rounded once (correctly) to the current precision.
    """
    if isinstance(v, mpmath.mpf):
        return +v
    if isinstance(v, bool):
        raise TypeError("expected a real number, got a bool")
    if isinstance(v, (int, float)):
        return mpmath.mpf(v)
    if isinstance(v, str):
        s = v.strip()
        if "/" in s:
            try:
                fr = Fraction(s)
            except ValueError:
                raise ValueError(f"cannot read {v!r} as a real number") from None
            return mpmath.mpf(fr.numerator) / fr.denominator
        try:
            return mpmath.mpf(s)
        except (ValueError, TypeError):
            raise ValueError(f"cannot read {v!r} as a real number") from None
    if isinstance(v, Fraction):
        return mpmath.mpf(v.numerator) / v.denominator
    if isinstance(v, Decimal):
        fr = Fraction(v)
        return mpmath.mpf(fr.numerator) / fr.denominator
    if isinstance(v, sp.Basic):
        if isinstance(v, sp.Rational):
            return mpmath.mpf(int(v.p)) / int(v.q)
        if isinstance(v, sp.Float):
            return mpmath.mpf(v._mpf_)
        if v.is_number:
            val = v.evalf(mpmath.mp.dps + 10)
            if not val.is_real or not isinstance(val, sp.Float):
                raise ValueError(f"expected a real number, got {v}")
            return mpmath.mpf(val._mpf_)
        raise ValueError(f"expected a number, got the expression {v} "
                         f"(free symbols {sorted(map(str, v.free_symbols))})")
    # gmpy2 types and anything else with an exact rational form
    mod = type(v).__module__
    if mod.startswith("gmpy2"):
        fr = Fraction(*v.as_integer_ratio())
        return mpmath.mpf(fr.numerator) / fr.denominator
    if isinstance(v, numpy.floating):
        return mpmath.mpf(float(v))
    if isinstance(v, numpy.integer):
        return mpmath.mpf(int(v))
    raise TypeError(f"expected a real number, got {type(v).__name__}: {v!r}")


class _FlowproofMpmathPrinter(MpmathPrinter):
    """MpmathPrinter that never emits a Python float literal.

    sympy's MpmathPrinter already prints Rationals as ``mpf(p)/mpf(q)`` and
    Floats as exact mantissa tuples; we pin that behaviour here so an upstream
    change cannot silently degrade precision.
    """

    def _print_Rational(self, e):
        return f"(mpmath.mpf({int(e.p)})/mpmath.mpf({int(e.q)}))"

    def _print_Half(self, e):
        return self._print_Rational(e)

    def _print_Float(self, e):
        sign, man, exp, bc = e._mpf_
        return f"mpmath.mpf(({sign}, {int(man)}, {exp}, {bc}))"


class NotRationalError(ValueError):
    """An expression that exact rational arithmetic cannot evaluate (a Float, a real power)."""


class _FractionPrinter(PythonCodePrinter):
    """Python code with exact :class:`fractions.Fraction` constants (never a float literal)."""

    def _print_Rational(self, e):
        return f"Fraction({e.p}, {e.q})"

    def _print_Half(self, e):
        return "Fraction(1, 2)"

    def _print_Integer(self, e):
        return str(e.p)

    def _print_Float(self, e):
        raise NotRationalError(f"an inexact Float {e} in an exact kernel")

    def _print_Pow(self, e, rational=False):
        if not e.exp.is_Integer:
            raise NotRationalError(f"the exact (Fraction) kernel needs integer powers, got {e}")
        return super()._print_Pow(e, rational=rational)


def exact_function(args: Sequence[sp.Symbol], exprs: Sequence[sp.Expr]):
    """``fn(*values) -> list`` evaluating rational ``exprs`` exactly: with ``Fraction`` (or
    int) arguments every value is a ``Fraction``.  Raises :class:`NotRationalError` for an
    expression that is not a rational function with rational constants.

    >>> x = sp.Symbol("x")
    >>> exact_function([x], [x**2 / 3 + 1])(Fraction(1, 2))
    [Fraction(13, 12)]
    """
    return sp.lambdify(list(args), list(exprs), modules=[{"Fraction": Fraction}],
                       printer=_FractionPrinter, cse=True)


def _printer(backend: str):
    if backend == "numpy":
        return NumPyPrinter({"strict": True, "fully_qualified_modules": True})
    return _FlowproofMpmathPrinter({"strict": True, "fully_qualified_modules": True})


def _safe_names(symbols: Sequence[sp.Symbol], prefix: str) -> dict:
    """Map each symbol to a valid, collision-free Python identifier."""
    used: set[str] = set()
    out = {}
    for i, s in enumerate(symbols):
        name = s.name
        ok = (name.isidentifier() and not keyword.iskeyword(name)
              and name not in _RESERVED and not name.startswith("_")
              and name not in used)
        if not ok:
            name = f"{prefix}{i}"
            while name in used:
                name = "_" + name
        used.add(name)
        out[s] = name
    return out


def _doc_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"""', "'''")


class Kernel:
    """A compiled right-hand side ``f(y, p=()) -> values`` (see :func:`make_kernel`).

    Attributes: ``name``, ``backend``, ``state``, ``params``, ``exprs`` (the sympy
    right-hand sides), ``source`` (the generated Python source), ``func`` (the
    compiled function, whose ``__doc__`` lists the orderings).
    """


    def __init__(self, name, backend, state, params, exprs, source, func):
        self.name = name
        self.backend = backend
        self.state = tuple(state)
        self.params = tuple(params)
        self.exprs = tuple(exprs)
        self.source = source
        self.func = func
        self.__doc__ = func.__doc__

    def __call__(self, y, p=(), **kw):
        return self.func(y, p, **kw)

    def __repr__(self):
        return (f"<Kernel {self.name!r} backend={self.backend} "
                f"state={[s.name for s in self.state]} params={[s.name for s in self.params]}>")


def free_symbols_of(exprs) -> set:
    """The union of ``e.free_symbols`` over ``exprs``, walking each shared subexpression once.

    sympy's ``free_symbols`` visits a subexpression once per occurrence: rhs built on a
    shared linear map (``Xᵀ(Xw − y)`` written out, d = 100) cost seconds that way.  Nodes
    whose class defines its own ``free_symbols`` (Symbol, Integral, Lambda, ...) answer
    for themselves.

    >>> x, y = sp.symbols("x y")
    >>> sorted(free_symbols_of([x + y, sp.Integral(x * y, (y, 0, 1))]), key=str)
    [x, y]
    """
    out, seen = set(), set()
    stack = list(exprs)
    while stack:
        e = stack.pop()
        if e in seen:
            continue
        seen.add(e)
        if type(e).free_symbols is sp.Basic.free_symbols:
            stack.extend(e.args)
        else:
            out |= e.free_symbols
    return out


def _validate(state, rhs, params):
    if isinstance(state, sp.Basic) or isinstance(state, str):
        raise TypeError("state must be a sequence of sympy Symbols, not a single object")
    state = list(state)
    params = list(params)
    for what, seq in (("state", state), ("params", params)):
        for s in seq:
            if not isinstance(s, sp.Symbol):
                raise TypeError(f"{what} must contain sympy Symbols; got {s!r} "
                                f"({type(s).__name__})")
    allsyms = state + params
    if len(set(allsyms)) != len(allsyms):
        dup = sorted({s.name for s in allsyms if allsyms.count(s) > 1})
        raise ValueError(f"state and params must be distinct symbols; repeated: {dup}")
    if isinstance(rhs, sp.Basic) and not isinstance(rhs, (sp.MatrixBase,)):
        rhs = [rhs]
    try:
        rhs = [sp.sympify(e) for e in rhs]
    except (sp.SympifyError, TypeError) as exc:
        raise TypeError(f"rhs must be a sequence of sympy expressions: {exc}") from None
    if len(rhs) != len(state):
        raise ValueError(f"rhs has {len(rhs)} expressions but state has {len(state)} "
                         "symbols; they must have the same length")
    known = set(allsyms)
    for i, e in enumerate(rhs):
        if not isinstance(e, sp.Expr):
            raise TypeError(f"rhs[{i}] is not a scalar sympy expression: {e!r}")
    if free_symbols_of(rhs) - known:   # one walk of the shared DAG; the loop names the culprit
        for i, e in enumerate(rhs):
            extra = e.free_symbols - known
            if extra:
                raise ValueError(f"rhs[{i}] = {e} contains symbols {sorted(map(str, extra))} "
                                 "that are neither state nor params")
    return state, rhs, params


def make_kernel(state: Sequence[sp.Symbol], rhs: Sequence[sp.Expr], params: Sequence[sp.Symbol] = (),
                backend: str = "numpy", name: str = "rhs") -> Kernel:
    """Generate and compile ``f(y, p=()) -> values`` for ``y' = rhs(y; p)``.

    Parameters
    ----------
    state : sequence of Symbols, the ordering of ``y``.
    rhs : sequence of sympy expressions (same length as ``state``) in state and params.
    params : sequence of Symbols, the ordering of ``p``.
    backend : ``"numpy"`` (float64 ``ndarray``) or ``"mpmath"`` (list of ``mpf``;
        the call takes the keyword-only precision ``dps=`` in decimal digits, or
        ``prec=`` in bits, e.g. ``prec=mpmath.mp.prec`` inside ``mpmath.odefun``,
        which raises the working precision internally).
    name : name of the generated function (a Python identifier).
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if not (isinstance(name, str) and name.isidentifier() and not keyword.iskeyword(name)):
        raise ValueError(f"name must be a Python identifier, got {name!r}")
    state, rhs, params = _validate(state, rhs, params)

    snames = _safe_names(state, "y_")
    pnames = _safe_names(params, "p_")
    clash = set(snames.values()) & set(pnames.values())
    if clash:  # only possible with renamed symbols; make params unique
        pnames = {s: f"p_{i}" if n in clash else n for i, (s, n) in enumerate(pnames.items())}
    ren = {s: sp.Symbol(n, **s.assumptions0) for s, n in {**snames, **pnames}.items()
           if n != s.name}
    exprs = [e.xreplace(ren) if ren else e for e in rhs]

    repl, reduced = sp.cse(exprs, symbols=sp.numbered_symbols("_cse"))
    printer = _printer(backend)

    def pr(e, where):
        try:
            return printer.doprint(e)
        except PrintMethodNotImplementedError as exc:
            fname = str(exc).split("\n")[0].rsplit(": ", 1)[-1]
            raise ValueError(f"backend {backend!r} cannot evaluate the function {fname!r} "
                             f"(in {where})") from None

    ind = "        " if backend == "mpmath" else "    "
    lines = []
    sig = "(y, p=(), *, dps=None, prec=None)" if backend == "mpmath" else "(y, p=())"
    lines.append(f"def {name}{sig}:")
    doc = [f"Right-hand side y' = F(y; p), generated by flowproof.derivations.kernels "
           f"(backend: {backend}).", ""]
    if backend == "mpmath":
        doc += ["Evaluated inside mpmath.workdps(dps) (or mpmath.workprec(prec): give exactly",
                "one); rational constants are exact mpf(p)/mpf(q) at that precision; the",
                "caller's mp.dps is ignored.", ""]
    doc.append("State ordering (y):")
    for i, s in enumerate(state):
        doc.append(f"    y[{i}] = {s.name}" + (f"   (as {snames[s]})" if snames[s] != s.name else ""))
    doc.append("Parameter ordering (p):")
    if params:
        for i, s in enumerate(params):
            doc.append(f"    p[{i}] = {s.name}" + (f"   (as {pnames[s]})" if pnames[s] != s.name else ""))
    else:
        doc.append("    (none)")
    doc.append("Expressions:")
    for s, e in zip(state, rhs):
        doc.append(f"    d{s.name}/dt = {sp.sstr(e)}")
    lines.append('    """' + _doc_escape(doc[0]))
    lines += [("    " + _doc_escape(d)) if d else "" for d in doc[1:]]
    lines.append('    """')
    n, m = len(state), len(params)
    lines.append(f"    if len(y) != {n}:")
    lines.append(f"        raise ValueError('{name}: y must have {n} components "
                 f"({', '.join(s.name for s in state)}), got %d' % len(y))")
    lines.append(f"    if len(p) != {m}:")
    lines.append(f"        raise ValueError('{name}: p must have {m} components"
                 f"{' (' + ', '.join(s.name for s in params) + ')' if m else ''}, got %d' % len(p))")
    if backend == "mpmath":
        lines.append("    if (dps is None) == (prec is None):")
        lines.append(f"        raise TypeError('{name}: give exactly one of the keywords dps= or prec=')")
        lines.append("    with (mpmath.workdps(dps) if prec is None else mpmath.workprec(prec)):")
        conv = "_to_mpf"
    else:
        conv = ""
    unpack_s = ", ".join(snames[s] for s in state) + ("," if n == 1 else "")
    unpack_p = ", ".join(pnames[s] for s in params) + ("," if m == 1 else "")
    if n:
        if backend == "mpmath":
            lines.append(f"{ind}{unpack_s} = [{conv}(v) for v in y]")
        else:
            lines.append(f"{ind}{unpack_s} = y")
    if m:
        if backend == "mpmath":
            lines.append(f"{ind}{unpack_p} = [{conv}(v) for v in p]")
        else:
            lines.append(f"{ind}{unpack_p} = p")
    for sym, e in repl:
        lines.append(f"{ind}{sym.name} = {pr(e, 'a common subexpression of the rhs')}")
    outs = [pr(e, f"rhs[{i}] = {rhs[i]}") for i, e in enumerate(reduced)]
    if backend == "mpmath":
        lines.append(f"{ind}return [")
        lines += [f"{ind}    mpmath.mpf({o})," for o in outs]  # rounds to dps
        lines.append(f"{ind}]")
    else:
        lines.append(f"{ind}return numpy.array([")
        lines += [f"{ind}    {o}," for o in outs]
        lines.append(f"{ind}], dtype=numpy.float64)")
    source = "\n".join(lines) + "\n"

    digest = hashlib.sha1(source.encode()).hexdigest()[:12]
    filename = f"<flowproof-kernel {name} {backend} {digest}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: dict = {"mpmath": mpmath, "numpy": numpy, "_to_mpf": to_mpf}
    import functools
    import math
    namespace["functools"] = functools
    namespace["math"] = math
    exec(compile(source, filename, "exec"), namespace)
    func: Callable = namespace[name]
    return Kernel(name, backend, state, params, rhs, source, func)
