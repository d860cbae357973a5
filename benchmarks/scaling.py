"""Scaling benchmark: our high-precision Taylor integrator against heyoka.py and mpmath.odefun.

The flow is the balanced diagonal-network flow (DL-4) on the square loss,

    w' = -L * w**(2 - 2/L) * X^T (X w - y)      (elementwise, on the positive orthant),

from w(0) = (1/10, ..., 1/10) to T = 5 (the field is multiplicative, so w stays positive).
The data are exact rationals drawn by random.Random(seed), seed 0 unless --seed, fresh for
every cell: X has n = max(2, d // 2) rows of d entries, drawn row by row, then y (n
entries); every entry is randint(-9, 9) / randint(1, 9).

Grid: L in {2, 3, 6}, d in {3, 10, 30, 100}, digits in {50, 100, 200}.  Each cell runs in its
own process (python benchmarks/scaling.py --cell L d digits --json) and measures:

* ours, per route of ROUTES: "build" = TaylorSystem(state, rhs, params) from the sympy
  expressions, "integrate" = integrate(system, w0, T, dps=digits) with its steps and order;
  a second build of the same shape only for a route that caches builds.
  - "mpfr": the generated Python program over gmpy2/MPFR (engine="python") on the expanded
    rhs w_i' = -L w_i^a (sum_k A_ik w_k - b_i), A = X^T X, b = X^T y, built for each cell;
  - "c": the C engine (numerics.core.taylor_engine, engine="c") on the structured rhs of
    heyoka's form with X and y as parameters: one program per shape (L, d, n), kept in
    memory, so the second build of a shape is a dictionary lookup (heyoka's JIT cache is
    the analogue).
* heyoka (optional): hy.real at our number of bits (result.prec_bits), tol = 10**-digits,
  the expression built from the structure (n sums for r = X w - y, d sums for X^T r);
  JIT (taylor_adaptive, constructed twice in the process: the second may hit heyoka's
  in-memory cache; its on-disk cache is switched off so the first is cold) and propagate
  (propagate_until) timed apart.
* mpmath.odefun at dps = digits, in a child process with a timeout (--odefun-timeout,
  default 60 s): seconds or "timeout".  In a grid run a cell is skipped (and says so) when
  a cell with d and digits no larger has already timed out at the same L.
* agreement: max |ours - heyoka| and max |ours - odefun| at T (mpmath, at prec_bits + 64 bits).
* memory: resource.getrusage(RUSAGE_SELF).ru_maxrss of the cell process (peak RSS, KiB,
  the odefun child excluded), after imports, after ours, and at the end of the cell.
* the schoolbook arithmetic limit: the multiply-adds of one step's AD recurrences of our
  Taylor program (orders k = 1..p-1, counted from system._nodes as TaylorSystem._codegen
  writes them, see NODE_MULTIPLY_ADDS) times the cost of one MPFR multiply-add at
  prec_bits (gmpy2.fsum(map(operator.mul, a, b)) on length-60 vectors, divided by 60),
  times the steps; printed with integrate / limit and heyoka propagate / limit (the limit
  at heyoka's own step count).

Output: a table (stdout), the fitted growth exponents (least-squares slope of log time
against log d at L = 3 for each digits, and against log digits at L = 3, d = 10); --json
prints one JSON line per cell instead (the table goes to stderr); --save appends the lines
to benchmarks/results/scaling.jsonl; --figure PATH draws both log-log plots;
--readme README.md rewrites the table between <!-- scaling-table:begin --> and
<!-- scaling-table:end --> from the results file.  Progress goes to stderr.

Examples:
    python benchmarks/scaling.py --quick                        # tiny grid, a table
    python benchmarks/scaling.py --L 3 --d 3 10 --digits 50     # a sub-grid
    python benchmarks/scaling.py --cell 3 10 50 --json          # one cell, one JSON line
    python benchmarks/scaling.py --save --figure benchmarks/results/scaling.png --readme README.md
    python benchmarks/scaling.py --report-only --readme README.md   # README from the saved results
"""
from __future__ import annotations

import argparse
import datetime
import io
import json
import math
import operator
import os
import platform
import random
import resource
import subprocess
import sys
import time
import timeit
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for _p in (str(ROOT), str(HERE)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import gmpy2  # noqa: E402
import mpmath  # noqa: E402
import sympy as sp  # noqa: E402

from derivations.atomic import write_atomic  # noqa: E402
from derivations.kernels import make_kernel  # noqa: E402
from heyoka_bridge import to_heyoka  # noqa: E402
import readme_blocks  # noqa: E402
from numerics.core.exact import read_exact  # noqa: E402
from numerics.core.taylor import TaylorSystem, integrate  # noqa: E402

GRID_L = (2, 3, 6)
GRID_D = (3, 10, 30, 100)
GRID_DIGITS = (50, 100, 200)
QUICK_L, QUICK_D, QUICK_DIGITS = (3,), (3, 10), (30, 50)
DEFAULT_SEED = 0
DEFAULT_T = "5"
W0 = Fraction(1, 10)
ODEFUN_TIMEOUT = 60.0
FIT_L, FIT_D = 3, 10          # the figure and the fits: time vs d at L = 3, time vs digits at d = 10
RESULTS = HERE / "results" / "scaling.jsonl"
README_NAME = "scaling-table"
README_BEGIN, README_END = readme_blocks.markers(README_NAME)
SCHEMA = 1
_CLOCK = "FLOWPROOF_SCALING_STARTED"   # the grid's start (epoch seconds), shared with its cells
_STARTED = float(os.environ.get(_CLOCK, time.time()))


def log(message: str) -> None:
    """Progress line on stderr, with the seconds since the run (the grid, or this cell) started."""
    print(f"[{time.time() - _STARTED:8.1f} s] {message}", file=sys.stderr, flush=True)


def peak_rss_kib() -> int:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


# ----------------------------------------------------------------------------------------
# the problem

@dataclass(frozen=True)
class Problem:
    """One cell's flow: depth L, data X (n x d) and y, horizon T, all exact."""
    L: int
    d: int
    seed: int
    T: Fraction
    X: tuple
    y: tuple

    @property
    def n(self) -> int:
        return len(self.X)

    @property
    def exponent(self) -> Fraction:
        return 2 - Fraction(2, self.L)

    def state(self) -> tuple:
        return sp.symbols(f"w1:{self.d + 1}", positive=True)

    def _factor(self, w):
        a = self.exponent
        return w ** sp.Rational(a.numerator, a.denominator)

    def expanded_rhs(self) -> tuple:
        """(state, rhs) with X^T (X w - y) expanded: d sums of d terms with exact A = X^T X, b = X^T y."""
        w = self.state()
        cols = list(zip(*self.X))
        rhs = []
        for i in range(self.d):
            row = [sum((p * q for p, q in zip(cols[i], cols[k])), Fraction(0)) for k in range(self.d)]
            b = sum((p * q for p, q in zip(cols[i], self.y)), Fraction(0))
            grad = sp.Add(*[_rational(c) * w[k] for k, c in enumerate(row) if c], -_rational(b))
            rhs.append(-self.L * self._factor(w[i]) * grad)
        return w, rhs

    def parametric_rhs(self) -> tuple:
        """(state, rhs, data symbols): the structured form with the data as symbols X_jk, y_j,
        so one program serves every data set of the shape (L, d, n)."""
        return _parametric_rhs(self.L, self.d, self.n)

    def data_values(self) -> list:
        """The numbers of :meth:`parametric_rhs`'s data symbols, in their order."""
        return [_rational(v) for row in self.X for v in row] + [_rational(v) for v in self.y]

    def structured_rhs(self) -> tuple:
        """(state, residual symbols r, their definitions r_j = (X w - y)_j, rhs in w and r)."""
        w = self.state()
        r = sp.symbols(f"r1:{self.n + 1}")
        r_defs = [sp.Add(*[_rational(c) * wk for c, wk in zip(row, w) if c], -_rational(yj))
                  for row, yj in zip(self.X, self.y)]
        rhs = [-self.L * self._factor(w[i]) * sp.Add(*[_rational(row[i]) * rj
                                                      for row, rj in zip(self.X, r) if row[i]])
               for i in range(self.d)]
        return w, r, r_defs, rhs


@lru_cache(maxsize=None)
def _parametric_rhs(L: int, d: int, n: int) -> tuple:
    w = sp.symbols(f"w1:{d + 1}", positive=True)
    X = [[sp.Symbol(f"X_{j}_{k}") for k in range(d)] for j in range(n)]
    y = [sp.Symbol(f"y_{j}") for j in range(n)]
    r = [sp.Add(*[X[j][k] * w[k] for k in range(d)]) - y[j] for j in range(n)]
    a = 2 - sp.Rational(2, L)
    rhs = [-L * w[i] ** a * sp.Add(*[X[j][i] * r[j] for j in range(n)]) for i in range(d)]
    return w, tuple(rhs), tuple(v for row in X for v in row) + tuple(y)


@lru_cache(maxsize=None)
def _parametric_system(L: int, d: int, n: int) -> TaylorSystem:
    """The shape's program, built once per process (the data enter as parameters)."""
    w, rhs, params = _parametric_rhs(L, d, n)
    return TaylorSystem(w, rhs, params, name="scaling_flow_parametric", cse=False)  # r built once


def _rational(q: Fraction) -> sp.Rational:
    return sp.Rational(q.numerator, q.denominator)


def make_problem(L: int, d: int, *, seed: int = DEFAULT_SEED, T: Any = DEFAULT_T) -> Problem:
    """The cell's data from a fresh random.Random(seed): X row by row, then y; entries p/q,
    p in [-9, 9], q in [1, 9]."""
    rng = random.Random(seed)
    draw = lambda: Fraction(rng.randint(-9, 9), rng.randint(1, 9))  # noqa: E731
    n = max(2, d // 2)
    X = tuple(tuple(draw() for _ in range(d)) for _ in range(n))
    y = tuple(draw() for _ in range(n))
    t = read_exact(str(T), "T")
    return Problem(L=L, d=d, seed=seed, T=Fraction(int(t.p), int(t.q)), X=X, y=y)


EXPRESSION_FORMS = {
    "ours": "expanded: w_i' = -L w_i^(2-2/L) (sum_k A_ik w_k - b_i), A = X^T X, b = X^T y "
            "(exact rationals; d sums of d terms)",
    "ours parametric": "structured as heyoka's, with X and y as parameters of one program per "
                       "shape (L, d, n), built once (no sympy cse: r = X w - y is one shared "
                       "object) and then taken from memory",
    "heyoka": "structured: r_j = sum_k X_jk w_k - y_j (n sums of d terms), "
              "w_i' = -L w_i^(2-2/L) sum_j X_ji r_j (d sums of n terms)",
}


# ----------------------------------------------------------------------------------------
# our routes: build + integrate, timed apart

@dataclass
class RouteRun:
    """What a route reports for one cell (``system`` is kept for the multiply-add count)."""
    build_seconds: float
    second_build_seconds: Optional[float]
    integrate_seconds: float
    steps: int
    order: int
    prec_bits: int
    w_T: list
    system: Any


def make_route(build: Callable, run: Callable, *, caches_builds: bool = False,
               description: str = "") -> Callable:
    """A route ``(problem, w0, T, digits) -> RouteRun`` from ``build(problem) -> system`` and
    ``run(system, problem, w0, T, digits) -> result`` (with ``.seconds``, ``.steps``,
    ``.order``, ``.prec_bits`` and ``.y``, like :class:`numerics.core.taylor.TaylorResult`).
    A route that caches builds gets its second build of the same shape timed too."""
    def route(problem, w0, T, digits) -> RouteRun:
        start = time.perf_counter()
        system = build(problem)
        build_seconds = time.perf_counter() - start
        second = None
        if caches_builds:
            start = time.perf_counter()
            build(problem)
            second = time.perf_counter() - start
        result = run(system, problem, w0, T, digits)
        return RouteRun(build_seconds, second, result.seconds, result.steps, result.order,
                        result.prec_bits, list(result.y[-1]), system)

    route.caches_builds = caches_builds
    route.description = description
    return route


ROUTES = {
    "mpfr": make_route(lambda problem: TaylorSystem(*problem.expanded_rhs(), name="scaling_flow"),
                       lambda system, problem, w0, T, digits: integrate(system, w0, T, dps=digits,
                                                                        engine="python"),
                       description="numerics.core.taylor: generated Python over gmpy2/MPFR, "
                                   "expanded rhs, built for each cell"),
    "c": make_route(lambda problem: _parametric_system(problem.L, problem.d, problem.n),
                    lambda system, problem, w0, T, digits: integrate(
                        system, w0, T, dps=digits, params=problem.data_values(), engine="c"),
                    caches_builds=True,
                    description="numerics.core.taylor_engine: the program interpreted in C over "
                                "MPFR, parametric structured rhs, one build per shape"),
}


# ----------------------------------------------------------------------------------------
# the schoolbook arithmetic limit

#: multiply-adds of one node's order-k coefficient (k >= 1) in TaylorSystem._codegen: a
#: term of a dot product (_fsum(map(_mul, ...)), _conv, _sqr) counts one, and so does each
#: scalar multiplication or division on mpfr values.
NODE_MULTIPLY_ADDS = {
    "var": lambda node, k: 0,
    "const": lambda node, k: 0,
    "lin": lambda node, k: len(node.terms),            # one (coefficient *) term each
    "mul": lambda node, k: k + 1,                      # _conv of k+1 terms
    "sqr": lambda node, k: k // 2 + 1,                 # _sqr: half the products, + the middle one
    "div": lambda node, k: k + 1,                      # k-term dot, / v_0
    "recip": lambda node, k: k + 1,                    # k-term dot, / v_0
    "pow": lambda node, k: 2 * k + 2,                  # k- and (k-1)-term dots, * a, / x_0, / k
    "sqrt": lambda node, k: k // 2 + 2,                # half products (+ middle), 2 z_0, / (2 z_0)
    "exp": lambda node, k: k + 1,                      # k-term dot, / k
    "log": lambda node, k: k + 2,                      # (k-1)-term dot, / k, / x_0, k *
    "abs": lambda node, k: 0,                          # a sign flip
    "sign": lambda node, k: 0,
    "sin": lambda node, k: 2 * k + 2,                  # two k-term dots, two / k
    "cos": lambda node, k: 2 * k + 2,
    "tanh": lambda node, k: k + 1 + k // 2 + 1,        # k-term dot, / k, and _sqr of z
}


def multiply_adds_per_step(system: TaylorSystem, order: int) -> dict:
    """Multiply-adds of the AD recurrences of one step at ``order`` p (orders k = 1..p-1),
    ``{"total": int, "by_kind": {kind: int}}``; also counted: the ``k x_k`` list of a node
    that needs it ("d-list") and the state update ``y_{k+1} = F_k / (k+1)``."""
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise ValueError(f"order must be a positive integer, got {order!r}")
    by_kind: dict = {}

    def add(kind, count):
        if count:
            by_kind[kind] = by_kind.get(kind, 0) + count

    updates = sum(1 for r in system._rhs_nodes if system._nodes[r].kind != "const")
    for k in range(1, order):
        for node in system._nodes:
            cost = NODE_MULTIPLY_ADDS.get(node.kind)
            if cost is None:
                raise ValueError(f"no multiply-add count for the Taylor-program node kind "
                                 f"{node.kind!r}; add it to NODE_MULTIPLY_ADDS")
            add(node.kind, cost(node, k))
            add("d-list", int(node.need_d))
        add("state update", updates)
    return {"total": sum(by_kind.values()), "by_kind": dict(sorted(by_kind.items()))}


def evaluation_multiply_adds_per_step(system: TaylorSystem, order: int) -> int:
    """Multiply-adds outside the recurrences (not in the limit): Horner for the new state
    (p per component) and the domain monitors (4 samples of degree p-1, twice for pow/sqrt)."""
    count = system.dim * order
    for node_id, _arg, kind in system._monitors:
        node = system._nodes[node_id]
        if kind == "pow" and system._const_exprs[system._nodes[node.exponent].index].is_integer:
            continue
        count += 4 * (order - 1) * (2 if kind in ("pow", "sqrt") else 1)
    return count


def mpfr_multiply_add_seconds(prec_bits: int, *, length: int = 60, number: int = 300,
                              repeat: int = 5) -> float:
    """Seconds of one MPFR multiply-add at ``prec_bits``: the best of ``repeat`` timings of
    ``gmpy2.fsum(map(operator.mul, a, b))`` on random length-``length`` vectors, / length."""
    with gmpy2.context(precision=prec_bits):
        state = gmpy2.random_state(DEFAULT_SEED)
        a = [gmpy2.mpfr_random(state) for _ in range(length)]
        b = [gmpy2.mpfr_random(state) for _ in range(length)]
        fsum, mul = gmpy2.fsum, operator.mul
        best = min(timeit.repeat(lambda: fsum(map(mul, a, b)), number=number, repeat=repeat))
    return best / (number * length)


# ----------------------------------------------------------------------------------------
# heyoka and mpmath.odefun

def _heyoka_module():
    """heyoka, or None when it cannot be imported."""
    try:
        import heyoka
    except ImportError:
        return None
    return heyoka


def run_heyoka(problem: Problem, prec_bits: int, digits: int) -> dict:
    """heyoka at ``prec_bits`` bits, tol 10**-digits: JIT twice, then propagate to T."""
    hy = _heyoka_module()
    if hy is None:
        return {"status": "not installed",
                "reason": "heyoka is not importable (pip install '.[bench]'); columns are null"}
    try:
        cache = hy.llvm_state
        if hasattr(cache, "set_diskcache_enabled"):
            cache.set_diskcache_enabled(False)   # this process only: the first JIT is cold
        real = lambda q: hy.real(q.numerator, prec_bits) / hy.real(q.denominator, prec_bits)  # noqa: E731
        constant = lambda v: hy.expression(hy.real(v, prec_bits))  # noqa: E731
        start = time.perf_counter()
        w, r, r_defs, rhs = problem.structured_rhs()
        hvars = hy.make_vars(*[s.name for s in w])
        variables = dict(zip(w, hvars))
        for rj, definition in zip(r, r_defs):
            variables[rj] = to_heyoka(definition, variables, constant)
        equations = [(v, to_heyoka(e, variables, constant)) for v, e in zip(hvars, rhs)]
        expression_seconds = time.perf_counter() - start
        w0 = [real(W0) for _ in w]
        tol = hy.real(10, prec_bits) ** (-digits)
        jit = []
        for _ in range(2):
            start = time.perf_counter()
            ta = hy.taylor_adaptive(equations, w0, tol=tol, fp_type=hy.real, prec=prec_bits)
            jit.append(time.perf_counter() - start)
        start = time.perf_counter()
        outcome = ta.propagate_until(real(problem.T))
        propagate_seconds = time.perf_counter() - start
    except Exception as exc:  # an optional package: report, do not stop the cell
        return {"status": "error", "reason": f"{type(exc).__name__}: {exc}"}
    if outcome[0] != hy.taylor_outcome.time_limit:
        return {"status": "error", "reason": f"propagate_until stopped with {outcome[0]}"}
    return {"status": "ok", "version": hy.__version__, "prec_bits": prec_bits,
            "tol": f"1e-{digits}", "order": int(ta.order), "steps": int(outcome[3]),
            "compact_mode": bool(ta.compact_mode), "expression_seconds": expression_seconds,
            "jit_seconds_first": jit[0], "jit_seconds_second": jit[1],
            "propagate_seconds": propagate_seconds,
            "diskcache": "off in this process (the first JIT compiles cold)",
            "w_T": [str(v) for v in ta.state]}


def _odefun_solution(problem: Problem, digits: int) -> dict:
    """mpmath.odefun on the expanded rhs at dps = digits (run by the child process)."""
    w, rhs = problem.expanded_rhs()
    f = make_kernel(w, rhs, backend="mpmath", name="rhs")
    with mpmath.workdps(digits):
        w0 = [mpmath.mpf(W0.numerator) / W0.denominator for _ in w]
        start = time.perf_counter()
        # odefun raises the working precision internally: the kernel must follow it
        solution = mpmath.odefun(lambda t, y: f(y, prec=mpmath.mp.prec), 0, w0)
        value = solution(mpmath.mpf(problem.T.numerator) / problem.T.denominator)
        seconds = time.perf_counter() - start
        return {"seconds": seconds, "w_T": [mpmath.nstr(v, digits + 15) for v in value]}


def run_odefun(problem: Problem, digits: int, timeout: float) -> dict:
    """mpmath.odefun in a child process (this script, --odefun-worker) with ``timeout`` seconds
    for the whole child (its imports included); "timeout" when it does not finish."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--odefun-worker", str(problem.L),
           str(problem.d), str(digits), "--T", _fraction_text(problem.T), "--seed", str(problem.seed)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "timeout_seconds": timeout, "dps": digits}
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
        return {"status": "error", "reason": tail, "dps": digits}
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"status": "ok", "dps": digits, "timeout_seconds": timeout, **out}


def _fraction_text(q: Fraction) -> str:
    return str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"


def max_abs_diff(a: Sequence, b: Sequence, prec_bits: int) -> float:
    """max_i |a_i - b_i| with mpmath at prec_bits + 64 bits (values: mpf or decimal strings)."""
    with mpmath.workprec(prec_bits + 64):
        return float(max(abs(mpmath.mpf(p) - mpmath.mpf(q)) for p, q in zip(a, b)))


# ----------------------------------------------------------------------------------------
# one cell

def run_cell(L: int, d: int, digits: int, *, T: Any = DEFAULT_T, seed: int = DEFAULT_SEED,
             routes: Sequence[str] = ("mpfr",), heyoka: bool = True,
             odefun_timeout: float = ODEFUN_TIMEOUT, odefun_skip: Optional[str] = None) -> dict:
    """Measure one cell (see the module docstring); a JSON-ready dict.

    ``heyoka=False`` leaves heyoka out ("disabled"); ``odefun_timeout=0`` leaves odefun out;
    ``odefun_skip`` is the reason to record for an odefun run that is skipped.
    """
    unknown = [r for r in routes if r not in ROUTES]
    if unknown or not routes:
        raise ValueError(f"routes must be some of {sorted(ROUTES)}, got {list(routes)}")
    label = f"L={L} d={d} digits={digits}"
    rss_start = peak_rss_kib()
    problem = make_problem(L, d, seed=seed, T=T)
    start = time.perf_counter()
    w, rhs = problem.expanded_rhs()
    expression_seconds = time.perf_counter() - start

    runs = {}
    for name in routes:
        log(f"{label}: ours ({name}) build + integrate")
        runs[name] = ROUTES[name](problem, [W0] * d, problem.T, digits)
    rss_ours = peak_rss_kib()
    first = runs[routes[0]]
    prec_bits, order = first.prec_bits, first.order
    program = next((r.system for r in runs.values() if isinstance(r.system, TaylorSystem)), None)
    if program is None:
        program = TaylorSystem(w, rhs, name="scaling_flow")
    counts = multiply_adds_per_step(program, order)
    per_multiply_add = mpfr_multiply_add_seconds(prec_bits)
    seconds_per_step = counts["total"] * per_multiply_add

    if odefun_skip:
        odefun = {"status": "skipped", "reason": odefun_skip, "dps": digits}
    elif odefun_timeout > 0:
        log(f"{label}: mpmath.odefun (timeout {odefun_timeout:g} s)")
        odefun = run_odefun(problem, digits, odefun_timeout)
    else:
        odefun = {"status": "disabled", "dps": digits}
    if heyoka:
        log(f"{label}: heyoka JIT x2 + propagate")
        hy = run_heyoka(problem, prec_bits, digits)
    else:
        hy = {"status": "disabled", "reason": "--no-heyoka"}

    routes_out = {}
    for name, run in runs.items():
        out = {"description": ROUTES[name].description, "caches_builds": ROUTES[name].caches_builds,
               "build_seconds": run.build_seconds, "second_build_seconds": run.second_build_seconds,
               "integrate_seconds": run.integrate_seconds, "steps": run.steps, "order": run.order,
               "prec_bits": run.prec_bits,
               "multiply_adds_per_step": multiply_adds_per_step(run.system, order)["total"],
               "integrate_over_schoolbook": run.integrate_seconds / (
                   multiply_adds_per_step(run.system, order)["total"] * per_multiply_add * run.steps),
               "max_abs_diff_vs_heyoka": None, "max_abs_diff_vs_odefun": None,
               "integrate_over_heyoka_propagate": None}
        if name != routes[0]:
            out[f"max_abs_diff_vs_{routes[0]}"] = max_abs_diff(run.w_T, first.w_T, prec_bits)
        if hy["status"] == "ok":
            out["max_abs_diff_vs_heyoka"] = max_abs_diff(run.w_T, hy["w_T"], prec_bits)
            out["integrate_over_heyoka_propagate"] = run.integrate_seconds / hy["propagate_seconds"]
        if odefun["status"] == "ok":
            out["max_abs_diff_vs_odefun"] = max_abs_diff(run.w_T, odefun["w_T"], prec_bits)
        routes_out[name] = out
    if hy["status"] == "ok":
        hy["propagate_over_schoolbook"] = hy["propagate_seconds"] / (seconds_per_step * hy["steps"])
        hy.pop("w_T")
    if odefun["status"] == "ok":
        odefun["max_abs_diff_vs_ours"] = routes_out[routes[0]]["max_abs_diff_vs_odefun"]
        odefun.pop("w_T")

    hy_module = _heyoka_module() if hy["status"] == "ok" else None
    return {
        "benchmark": "scaling", "schema": SCHEMA,
        "L": L, "d": d, "n": problem.n, "digits": digits, "T": _fraction_text(problem.T),
        "seed": seed,
        "problem": {"flow": "w' = -L w^(2-2/L) * X^T (X w - y) (elementwise, w > 0)",
                    "w0": _fraction_text(W0),
                    "data": "random.Random(seed): X (n x d) row by row, then y (n); "
                            "entries randint(-9, 9) / randint(1, 9)"},
        "expression": dict(EXPRESSION_FORMS),
        "expression_seconds": expression_seconds,
        "w1_T": mpmath.nstr(first.w_T[0], 30),
        "routes": routes_out,
        "heyoka": hy,
        "odefun": odefun,
        "schoolbook": {
            "program": "our Taylor program (TaylorSystem._nodes), orders k = 1..p-1",
            "order": order, "prec_bits": prec_bits,
            "multiply_adds_per_step": counts["total"], "by_kind": counts["by_kind"],
            "evaluation_multiply_adds_per_step": evaluation_multiply_adds_per_step(program, order),
            "mpfr_multiply_add_seconds": per_multiply_add,
            "measured_as": "best of 5 x 300 gmpy2.fsum(map(operator.mul, a, b)), len 60, / 60",
            "seconds_per_step": seconds_per_step,
            "limit_seconds": seconds_per_step * first.steps,
        },
        "memory": {"measure": "resource.getrusage(RUSAGE_SELF).ru_maxrss: peak RSS of the cell "
                              "process in KiB (the odefun child excluded)",
                   "after_imports_kib": rss_start, "after_ours_kib": rss_ours,
                   "peak_kib": peak_rss_kib()},
        "environment": {"python": platform.python_version(), "gmpy2": gmpy2.version(),
                        "mpfr": gmpy2.mpfr_version(), "mpmath": mpmath.__version__,
                        "heyoka": getattr(hy_module, "__version__", None),
                        "machine": platform.machine(), "cpus": os.cpu_count()},
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


# ----------------------------------------------------------------------------------------
# a grid of cells, each in its own process

def grid_cells(Ls: Sequence[int], ds: Sequence[int], digits: Sequence[int],
               skip: Sequence[tuple] = ()) -> list:
    """(L, d, digits) in run order (L, then d, then digits, ascending), without the cells
    matched by a pattern of ``skip`` ((L, d, digits), None matching anything)."""
    def skipped(cell):
        return any(all(p is None or p == c for p, c in zip(pattern, cell)) for pattern in skip)
    return [(L, d, g) for L in sorted(set(Ls)) for d in sorted(set(ds)) for g in sorted(set(digits))
            if not skipped((L, d, g))]


def odefun_skip_reason(cell: tuple, gave_up: Sequence[tuple]) -> Optional[str]:
    """Why odefun is not run at ``cell``: a cell at the same L with d and digits no larger
    where it already timed out (or was skipped); None to run it."""
    L, d, g = cell
    for L2, d2, g2 in gave_up:
        if L2 == L and d2 <= d and g2 <= g:
            return f"not run: odefun already gave up at the smaller cell d={d2}, digits={g2}"
    return None


def run_grid(cells: Sequence[tuple], *, T: str, seed: int, routes: Sequence[str], heyoka: bool,
             odefun_timeout: float, prune_odefun: bool = True,
             on_record: Callable[[dict], None] = lambda record: None) -> tuple:
    """Run each cell with ``--cell`` in a child process; (records, failed cells)."""
    records, failed, gave_up = [], [], []
    for i, cell in enumerate(cells, 1):
        L, d, g = cell
        log(f"cell {i}/{len(cells)}: L={L} d={d} digits={g}")
        cmd = [sys.executable, str(Path(__file__).resolve()), "--cell", str(L), str(d), str(g),
               "--json", "--T", T, "--seed", str(seed), "--odefun-timeout", str(odefun_timeout),
               "--route", *routes] + ([] if heyoka else ["--no-heyoka"])
        reason = odefun_skip_reason(cell, gave_up) if prune_odefun else None
        if reason:
            cmd += ["--odefun-skip", reason]
        start = time.perf_counter()
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True,
                              env={**os.environ, _CLOCK: repr(_STARTED)})
        lines = proc.stdout.strip().splitlines()
        if proc.returncode != 0 or not lines:
            log(f"cell L={L} d={d} digits={g} FAILED (exit {proc.returncode})")
            failed.append(cell)
            continue
        record = json.loads(lines[-1])
        if record["odefun"]["status"] in ("timeout", "skipped"):
            gave_up.append(cell)
        log(f"cell L={L} d={d} digits={g} done in {time.perf_counter() - start:.1f} s")
        records.append(record)
        on_record(record)
    return records, failed


# ----------------------------------------------------------------------------------------
# results file, table, growth exponents, figure, README

def latest_records(records: Sequence[dict]) -> list:
    """The last record of each (T, seed, L, d, digits), sorted by that key."""
    latest = {}
    for r in records:
        latest[(r["T"], r["seed"], r["L"], r["d"], r["digits"])] = r
    return [latest[k] for k in sorted(latest, key=lambda k: (Fraction(k[0]), *k[1:]))]


def append_records(path: Path, records: Sequence[dict]) -> None:
    """Append JSON lines to ``path`` (rewritten atomically)."""
    path = Path(path)
    old = path.read_text() if path.exists() else ""
    if old and not old.endswith("\n"):
        old += "\n"
    write_atomic(path, old + "".join(json.dumps(r) + "\n" for r in records))


def _seconds(v: Optional[float]) -> str:
    if v is None:
        return "–"
    return f"{v:.0f}" if v >= 1000 else f"{v:.3g}"


def _ratio(v: Optional[float]) -> str:
    return "–" if v is None else (f"{v:.0f}" if v >= 100 else f"{v:.2g}")


def _odefun_cell(od: dict) -> str:
    status = od.get("status")
    if status == "ok":
        return _seconds(od["seconds"])
    if status == "timeout":
        return f"> {od['timeout_seconds']:g} (timeout)"
    return {"skipped": "skipped", "disabled": "–"}.get(status, str(status))


TABLE_HEADER = ("L", "d", "digits", "route", "steps ours/hy", "order", "build s", "integrate s",
                "hy JIT s 1st/2nd", "hy propagate s", "ours/hy", "odefun s", "madds/step", "schoolbook s",
                "ours/sb", "hy/sb", "max |ours-hy|", "peak MiB")


def table_rows(records: Sequence[dict]) -> list:
    """One row (strings, as TABLE_HEADER) per cell and route."""
    rows = []
    for r in records:
        hy = r["heyoka"]
        ok = hy.get("status") == "ok"
        for name, route in r["routes"].items():
            diff = route.get("max_abs_diff_vs_heyoka")
            rows.append((
                str(r["L"]), str(r["d"]), str(r["digits"]), name,
                f"{route['steps']}/{hy['steps'] if ok else '–'}", str(route["order"]),
                _seconds(route["build_seconds"]), _seconds(route["integrate_seconds"]),
                f"{_seconds(hy['jit_seconds_first'])}/{_seconds(hy['jit_seconds_second'])}" if ok else "–",
                _seconds(hy["propagate_seconds"]) if ok else "–",
                _ratio(route.get("integrate_over_heyoka_propagate")),
                _odefun_cell(r["odefun"]),
                f"{r['schoolbook']['multiply_adds_per_step']:.2g}",
                _seconds(r["schoolbook"]["limit_seconds"]),
                _ratio(route["integrate_over_schoolbook"]),
                _ratio(hy.get("propagate_over_schoolbook")),
                "–" if diff is None else f"{diff:.1e}",
                f"{r['memory']['peak_kib'] / 1024:.0f}",
            ))
    return rows


def table_markdown(records: Sequence[dict]) -> str:
    """The table as Markdown."""
    def line(cells):
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"
    lines = [line(TABLE_HEADER), "|" + "---|" * len(TABLE_HEADER)]
    lines += [line(row) for row in table_rows(records)]
    return "\n".join(lines)


def table_text(records: Sequence[dict]) -> str:
    """The table, aligned for a terminal."""
    rows = [TABLE_HEADER] + table_rows(records)
    widths = [max(len(row[i]) for row in rows) for i in range(len(TABLE_HEADER))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in rows)


def growth_exponent(xs: Sequence[float], ys: Sequence[float]) -> Optional[float]:
    """Least-squares slope of log y against log x; None without two distinct x (or y <= 0)."""
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys) if y is not None and y > 0 and x > 0]
    if len({p[0] for p in pts}) < 2:
        return None
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    return (sum((p[0] - mx) * (p[1] - my) for p in pts) / sum((p[0] - mx) ** 2 for p in pts))


def _series(records: Sequence[dict]) -> dict:
    """Timed series name -> function(record) -> seconds or None."""
    names = sorted({n for r in records for n in r["routes"]})
    series = {f"ours {n} integrate": (lambda r, n=n: r["routes"].get(n, {}).get("integrate_seconds"))
              for n in names}
    series["heyoka propagate"] = lambda r: r["heyoka"].get("propagate_seconds")
    series["mpmath.odefun"] = lambda r: r["odefun"].get("seconds")
    series["schoolbook limit"] = lambda r: r["schoolbook"]["limit_seconds"]
    return series


def _points(records, seconds, *, L, d=None, digits=None, along="d"):
    pts = sorted((r[along], seconds(r)) for r in records
                 if r["L"] == L and (d is None or r["d"] == d)
                 and (digits is None or r["digits"] == digits) and seconds(r) is not None)
    return [p[0] for p in pts], [p[1] for p in pts]


def fitted_exponents(records: Sequence[dict], *, L: int = FIT_L, d: int = FIT_D) -> dict:
    """{"time_vs_d": {series: {digits: slope}}, "time_vs_digits": {series: slope}} (at L, and d)."""
    out = {"L": L, "d_for_digits": d, "time_vs_d": {}, "time_vs_digits": {}}
    all_digits = sorted({r["digits"] for r in records if r["L"] == L})
    for name, seconds in _series(records).items():
        per_digits = {}
        for g in all_digits:
            slope = growth_exponent(*_points(records, seconds, L=L, digits=g, along="d"))
            if slope is not None:
                per_digits[str(g)] = round(slope, 2)
        if per_digits:
            out["time_vs_d"][name] = per_digits
        slope = growth_exponent(*_points(records, seconds, L=L, d=d, along="digits"))
        if slope is not None:
            out["time_vs_digits"][name] = round(slope, 2)
    return out


def exponents_text(fits: dict) -> str:
    """The fitted exponents in two lines."""
    vs_d = "; ".join(f"{name} " + ", ".join(f"{s:+.2f} at {g} digits" for g, s in per.items())
                     for name, per in fits["time_vs_d"].items()) or "(too few points)"
    vs_g = "; ".join(f"{name} {s:+.2f}" for name, s in fits["time_vs_digits"].items()) or "(too few points)"
    return (f"time ~ d^k at L = {fits['L']}: {vs_d}\n"
            f"time ~ digits^k at L = {fits['L']}, d = {fits['d_for_digits']}: {vs_g}")


def readme_block(records: Sequence[dict]) -> str:
    """The README text between (and including) the markers, from ``records``."""
    latest = latest_records(records)
    cells = {(r["T"], r["seed"]) for r in latest}
    about = ", ".join(f"T = {t}, seed {s}" for t, s in sorted(cells, key=lambda c: (Fraction(c[0]), c[1])))
    return "\n".join([
        README_BEGIN,
        "<!-- generated by `python benchmarks/scaling.py --report-only --readme README.md` from "
        "benchmarks/results/scaling.jsonl; do not edit by hand -->",
        f"Seconds on {latest[0]['environment']['cpus'] if latest else '?'} shared cores ({about}). "
        "hy = heyoka; ours/hy = our integrate / heyoka propagate; madds/step = multiply-adds of "
        "one step's recurrences of our program; sb = the schoolbook limit (madds/step x one MPFR "
        "multiply-add x steps); odefun \"skipped\" = it timed out at a smaller cell.",
        "",
        table_markdown(latest),
        "",
        "Fitted growth exponents (least-squares slope in log-log):",
        "",
        "\n".join("* " + line for line in exponents_text(fitted_exponents(latest)).splitlines()),
        README_END,
    ])


def replace_readme_block(text: str, block: str) -> str:
    """``text`` with the marked part replaced by ``block`` (markers included)."""
    return readme_blocks.replace_block(text, README_NAME, block)


def readme_current_block(text: str) -> str:
    """The marked part of a README (markers included)."""
    return readme_blocks.current_block(text, README_NAME)


def update_readme(readme: Path, results: Path) -> None:
    """Rewrite the README table from the results file (atomically)."""
    readme_blocks.update_block(readme, README_NAME, readme_block(readme_blocks.load_records(results)))


def draw_figure(records: Sequence[dict], path: Path, *, L: int = FIT_L, d: int = FIT_D) -> None:
    """Log-log: time against d at L (one line per series and digits), and against digits at d."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.4), dpi=80)
    styles = {"ours c integrate": ("o", "-"), "ours mpfr integrate": ("x", ":"),
              "heyoka propagate": ("s", "--"), "mpmath.odefun": ("^", ":"),
              "schoolbook limit": ("", "-.")}
    all_digits = sorted({r["digits"] for r in records if r["L"] == L})
    colors = dict(zip(all_digits, plt.rcParams["axes.prop_cycle"].by_key()["color"] * 4))
    for name, seconds in _series(records).items():
        marker, line = styles.get(name, ("o", "-"))
        for g in all_digits:
            xs, ys = _points(records, seconds, L=L, digits=g, along="d")
            if xs:
                slope = growth_exponent(xs, ys)
                left.plot(xs, ys, marker=marker, linestyle=line, color=colors[g],
                          label=f"{name}, {g} digits" + (f" (d^{slope:.2f})" if slope is not None else ""))
        xs, ys = _points(records, seconds, L=L, d=d, along="digits")
        if xs:
            slope = growth_exponent(xs, ys)
            right.plot(xs, ys, marker=marker, linestyle=line,
                       label=name + (f" (digits^{slope:.2f})" if slope is not None else ""))
    for ax, title, xlabel in ((left, f"time against d (L = {L})", "d"),
                              (right, f"time against digits (L = {L}, d = {d})", "digits")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ticks = sorted({x for line in ax.lines for x in line.get_xdata()})
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("seconds")
        ax.grid(True, which="both", alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=6)
    fig.tight_layout()
    try:
        image = io.BytesIO()
        fig.savefig(image, format="png")
        write_atomic(path, image.getvalue())
    finally:
        plt.close(fig)


# ----------------------------------------------------------------------------------------
# command line

def _int_at_least(low: int, high: int, what: str):
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer {what}, got {text!r}") from None
        if not low <= v <= high:
            raise argparse.ArgumentTypeError(f"expected {what} in {low}..{high}, got {v}")
        return v
    return parse


_depth = _int_at_least(2, 50, "depth L (>= 2)")
_dimension = _int_at_least(1, 1000, "dimension d (>= 1)")
_digits = _int_at_least(5, 1000, "number of digits (>= 5)")


def _horizon(text: str) -> str:
    try:
        t = read_exact(text, "--T")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not t > 0:
        raise argparse.ArgumentTypeError(f"expected a positive horizon, got {text!r}")
    return text


def _seconds_arg(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds (a number >= 0), got {text!r}") from None
    if not (v >= 0 and math.isfinite(v)):
        raise argparse.ArgumentTypeError(f"expected seconds (a number >= 0), got {text!r}")
    return v


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/scaling.py", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Table columns: steps of ours/heyoka, our order p, our build and integrate seconds, "
               "heyoka JIT (first, second construction) and propagate seconds, ours/heyoka = "
               "integrate/propagate, odefun seconds, multiply-adds per step of our recurrences and the schoolbook limit (seconds), integrate / "
               "limit and propagate / limit, max |ours - heyoka| at T, peak RSS (MiB).  "
               "Exit status: 0, 1 if a cell failed, 2 on bad usage.")
    grid = parser.add_argument_group("grid")
    grid.add_argument("--L", type=_depth, nargs="+", metavar="L",
                      help=f"depths (default {' '.join(map(str, GRID_L))})")
    grid.add_argument("--d", type=_dimension, nargs="+", metavar="D",
                      help=f"dimensions (default {' '.join(map(str, GRID_D))}); n = max(2, d // 2) rows")
    grid.add_argument("--digits", type=_digits, nargs="+", metavar="N",
                      help=f"precisions in digits (default {' '.join(map(str, GRID_DIGITS))})")
    grid.add_argument("--quick", action="store_true",
                      help=f"tiny grid: L {QUICK_L[0]}, d {' '.join(map(str, QUICK_D))}, "
                           f"digits {' '.join(map(str, QUICK_DIGITS))}")
    grid.add_argument("--cell", nargs=3, metavar=("L", "D", "DIGITS"),
                      help="run this one cell in this process (the grid runs each cell so)")
    grid.add_argument("--skip", nargs=3, action="append", default=[], metavar=("L", "D", "DIGITS"),
                      help="leave these cells out of the grid ('*' matches any value; repeatable), "
                           "e.g. --skip '*' 100 200")
    grid.add_argument("--T", type=_horizon, default=DEFAULT_T, help="horizon, exact (default 5)")
    grid.add_argument("--seed", type=_int_at_least(0, 2**63, "seed (>= 0)"), default=DEFAULT_SEED,
                      help=f"seed of random.Random for X and y (default {DEFAULT_SEED})")
    what = parser.add_argument_group("what is measured")
    what.add_argument("--route", nargs="+", choices=sorted(ROUTES), default=None,
                      help=f"our routes (default all: {', '.join(ROUTES)})")
    what.add_argument("--no-heyoka", action="store_true", help="leave heyoka out")
    what.add_argument("--odefun-timeout", type=_seconds_arg, default=ODEFUN_TIMEOUT,
                      help=f"seconds for the mpmath.odefun child (default {ODEFUN_TIMEOUT:g}; 0 leaves it out)")
    what.add_argument("--odefun-every-cell", action="store_true",
                      help="run odefun in every grid cell, also where a smaller cell timed out")
    what.add_argument("--odefun-skip", metavar="REASON",
                      help="(used by the grid) record odefun as skipped for this reason")
    what.add_argument("--odefun-worker", nargs=3, metavar=("L", "D", "DIGITS"),
                      help="(used by a cell) run mpmath.odefun alone and print its JSON")
    out = parser.add_argument_group("output")
    out.add_argument("--json", action="store_true",
                     help="one JSON line per cell on stdout (the table then goes to stderr)")
    out.add_argument("--save", action="store_true", help="append the JSON lines to --results")
    out.add_argument("--results", type=Path, default=RESULTS,
                     help="results file (default benchmarks/results/scaling.jsonl)")
    out.add_argument("--figure", type=Path, metavar="PATH",
                     help="draw the log-log figure (PNG) of the records shown")
    out.add_argument("--readme", type=Path, metavar="README",
                     help="rewrite the table between the scaling-table markers from --results")
    out.add_argument("--report-only", action="store_true",
                     help="measure nothing: the table, fits and figure come from --results")
    return parser


def _cell_args(parser, option: str, values: Sequence[str], *, wildcard: bool = False) -> tuple:
    parsed = []
    for parse, text in zip((_depth, _dimension, _digits), values):
        if wildcard and text == "*":
            parsed.append(None)
            continue
        try:
            parsed.append(parse(text))
        except argparse.ArgumentTypeError as exc:
            parser.error(f"argument {option}: {exc}")
    return tuple(parsed)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.quick and (args.L or args.d or args.digits or args.cell):
        parser.error("argument --quick: not allowed with --L, --d, --digits or --cell")
    if args.cell and (args.L or args.d or args.digits or args.skip):
        parser.error("argument --cell: not allowed with --L, --d, --digits or --skip")
    routes = args.route or list(ROUTES)

    if args.odefun_worker:
        L, d, g = _cell_args(parser, "--odefun-worker", args.odefun_worker)
        print(json.dumps(_odefun_solution(make_problem(L, d, seed=args.seed, T=args.T), g)))
        return 0

    failed = []
    if args.report_only:
        if not args.results.exists():
            parser.error(f"argument --results: {args.results} does not exist")
        records = latest_records(readme_blocks.load_records(args.results))
    else:
        def emit(record: dict) -> None:
            """Each record as soon as its cell is done: printed (--json), appended (--save)."""
            if args.json:
                print(json.dumps(record), flush=True)
            if args.save:
                append_records(args.results, [record])
                log(f"appended L={record['L']} d={record['d']} digits={record['digits']} to {args.results}")

        if args.cell:
            L, d, g = _cell_args(parser, "--cell", args.cell)
            record = run_cell(L, d, g, T=args.T, seed=args.seed, routes=routes,
                              heyoka=not args.no_heyoka, odefun_timeout=args.odefun_timeout,
                              odefun_skip=args.odefun_skip)
            records = [record]
            emit(record)
        else:
            if args.quick:
                Ls, ds, gs = QUICK_L, QUICK_D, QUICK_DIGITS
            else:
                Ls, ds, gs = args.L or GRID_L, args.d or GRID_D, args.digits or GRID_DIGITS
            skip = [_cell_args(parser, "--skip", s, wildcard=True) for s in args.skip]
            cells = grid_cells(Ls, ds, gs, skip)
            if not cells:
                parser.error("argument --skip: every cell of the grid is skipped")
            records, failed = run_grid(cells, T=args.T, seed=args.seed,
                                       routes=routes, heyoka=not args.no_heyoka,
                                       odefun_timeout=args.odefun_timeout,
                                       prune_odefun=not args.odefun_every_cell, on_record=emit)
        if records and records[0]["heyoka"]["status"] == "not installed":
            log("heyoka is not installed: its columns are null (pip install '.[bench]')")

    report = sys.stderr if args.json else sys.stdout
    if records and not (args.cell and args.json):
        print(table_text(records), file=report)
        print(exponents_text(fitted_exponents(records)), file=report)
    if args.figure and records:
        draw_figure(records, args.figure)
        log(f"figure written to {args.figure}")
    if args.readme:
        if not args.results.exists():
            parser.error(f"argument --readme: the results file {args.results} does not exist (run with --save)")
        try:
            update_readme(args.readme, args.results)
        except (OSError, ValueError) as exc:
            parser.error(f"argument --readme: {exc}")
        log(f"README table rewritten in {args.readme}")
    if failed:
        log(f"{len(failed)} cell(s) failed: {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
