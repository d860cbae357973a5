"""``python -m numerics``: simulate the Deep LDA flows and print the numeric evidence of both papers.

Subcommands
-----------
``simulate``  integrate one flow (layer / reduced / mirror, or gradient descent) on
              synthetic two-class data and report the drift of every monitored quantity
              (``--json`` for the full result);
``evidence``  the evidence rows per claim used by the reports: DL-2 … DL-10 (Deep LDA)
              and MF-2, MF-3, MF-5, MF-6, MF-8, MF-9 (mirror flow); ``--group`` picks one;
``experiment`` one experiment of the papers (``--list``: DL-SWEEP, DL-GD, MF-7, …): its
              grid on Dask and cached, its fitted laws and falsifiers.

Exit status: 0 on success; 1 if the integration fails (e.g. a coordinate reaches 0 in
the reduced flow, or a Taylor run used up its step budget of about 10 minutes); 2 for bad
input: a one-line ``error:`` on stderr that names the argument, never a traceback.
Numbers are exact (``5``, ``0.1``, ``1/3``, ``2e-3``; ``nan``, ``oo``, ``1/0`` are refused),
and work that would run for hours is refused up front: see the limits in ``simulate --help``.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from fractions import Fraction

from derivations.objectives import DEGREE_ZERO, LOSSES
from derivations.guard import run_guarded
from derivations.parsing import ParseError, parse_number
from numerics.deep_lda.data import DataError, gaussian_two_class
from numerics.deep_lda.flows import FLOW_KINDS, MAX_DEPTH, MAX_DIM, FlowError
from numerics.deep_lda.simulate import INIT_KINDS, gd_run, layer_init, short, simulate, simulate_float64
from numerics.core.taylor import TaylorError, UnsupportedExpressionError
from numerics.mirror_flow.mirror_map import MirrorError

MIRROR_LOSSES = ("exp", "logistic")
MIRROR_ACTIVATIONS = ("linear", "squared_relu")   # the Taylor method refuses ReLU's kink

__all__ = ["main", "build_parser", "UsageError", "check_workload", "MAX_DPS", "MAX_T",
           "MAX_T_FLOAT64", "MAX_POINTS", "MAX_OUTPUTS", "MAX_GD_STEPS", "MAX_EXACT_BITS",
           "BUDGET_SECONDS"]

# Limits of the command line (the library functions have wider ones).  Measured with
# `python -m numerics simulate` on the project machine (2 cores, shared), fisher loss,
# L = 3, d = 3, T = 5 unless said:
#: Taylor method at dps digits: 1.3 s at 50, 2.9 s at 100, 13.6 s at 200, 104 s at 400;
#: the cost per step grows like dps^2.8 (order ~ 1.15 dps), so 2000 digits would take hours.
MAX_DPS = 400
#: Taylor method: the square loss takes about 2 T steps (2020 steps, 14 s at T = 1e4;
#: 19885 steps, 111 s at T = 1e5; > 300 s at T = 1e6); fisher 4 s at 1e4, 159 s at 1e6.
MAX_T = 10**4
#: float64 DOP853: at most 31 s at T = 1e6 over the layer/reduced/mirror flows and the
#: fisher/square/exponential losses (float(T) must stay finite anyway).
MAX_T_FLOAT64 = 10**6
#: points per class: 18 s at d = 9 with 10000 points (exact rational statistics).
MAX_POINTS = 10_000
#: output times: 3.7 s with 1000, 10.8 s with 10000 (a monitor evaluation each).
MAX_OUTPUTS = 10_000
#: gradient descent in mpmath: 6.7 s for 10^4 steps; 7.1 s per 10^3 steps at L = d = 9, dps 400.
MAX_GD_STEPS = 10**4
#: exact gradient descent: the bits of each coordinate grow by a factor 4L + 1 per step
#: (measured 5.0, 9.0, 13.0, 37 for L = 1, 2, 3, 9), and a step costs ~bits^1.9.  Total bits
#: of the state after the last step (L*d coordinates): 0.4e6 -> 1.8 s (L = 1, 6 steps),
#: 1.5e6 -> 9.7 s (L = 2, 5 steps), 1.9e6 -> 42 s (L = 1, 7 steps), 4.6e6 -> > 120 s
#: (L = d = 9, 3 steps), 9e6 -> 192 s (L = 3, 5 steps).
MAX_EXACT_BITS = 2 * 10**6
#: Taylor runs: estimated seconds of integration that a run may take (see _step_seconds);
#: refused up front if 30 steps (T = 5 took 24..52 over the losses and sizes) exceed it, and
#: the integrator stops with exit code 1 after the number of steps that fills it.
BUDGET_SECONDS = 600
#: mirror flow of Part B (--potential), cosh, exponential loss, 30 digits unless said:
#: 2-3-1 net, 6 points: 0.6 s to T = 1, 2.0 s to T = 100, 7.4 s at 100 digits (T = 1);
#: 4-6-1 (30 parameters), 50 points: 29 s to T = 10; 3-4-4-1 (32), 20 points: 19 s to T = 10.
MIRROR_MAX_DPS = 100
MIRROR_MAX_T = 1000
MIRROR_MAX_PARAMS = 40
MIRROR_MAX_POINTS = 50


class UsageError(ValueError):
    """A combination of arguments that the command line refuses (exit code 2)."""


def _e(limit: int) -> str:
    """A limit such as 10**4 as ``1e4``."""
    return f"{limit:.0e}".replace("e+0", "e").replace("e+", "e")


SIMULATE_EPILOG = f"""\
flows (docs/deep_lda.md):
  layer    the un-reduced gradient flow on the layers u_1..u_L (state in R^(L d))
  reduced  DL-4: w' = -L |w|^(2-2/L) * grad f(w), on the orthant of w(0)
  mirror   DL-6: z' = -grad f(w(z)), z = grad Phi(w), w from the inverse mirror map
  gd       gradient descent on the layers (--eta, --steps; exact rationals with --exact)

mirror flow of Part B: --flow mirror --potential EXPR [--net 2-3-1] [--activation linear|squared_relu]
  theta_j' = -d_j Loss / phi''(theta_j) for a bias-free network (widths DIM-HIDDEN...-1) on
  --points seeded separable points in R^DIM, exponential or logistic --loss, from a seeded
  rational theta(0); EXPR is a catalogue name (cosh, hyperbolic entropy, quadratic+quartic,
  p-power, ...) or an even, strictly convex expression in x such as "x**2/2 + x**4/4".
  Reported: the drift of the per-unit balances (MF-2) beside the Euclidean balance (its
  falsifier), and the error of the dual-energy identity (MF-3).  Limits: --dps <= {MIRROR_MAX_DPS},
  --T <= {MIRROR_MAX_T}, at most {MIRROR_MAX_PARAMS} parameters and {MIRROR_MAX_POINTS} points (29 s at 30 parameters,
  50 points, T = 10).

monitored quantities: Q = sum |w_i|^(2/L) (DL-5), norm2_u<l> = ||u_l||^2 (DL-3),
gap_u1_u<l>_<i> = u_(1,i)^2 - u_(l,i)^2 (DL-2), J (Fisher ratio), loss.
drift = max over the output times of |q(t) - q(0)|.

losses: {', '.join(sorted(LOSSES))} (degree 0: {', '.join(DEGREE_ZERO)}).
data: two Gaussian classes in R^d, seeded, rounded to multiples of 1/8 (exact rationals);
the square/exponential losses use the two class means with labels +1/-1.

limits (measured on a 2-core machine; a longer run is refused with exit code 2):
  --dps <= {MAX_DPS}, --T <= {_e(MAX_T)} (Taylor) or {_e(MAX_T_FLOAT64)} (--float64), --outputs <= {MAX_OUTPUTS},
  --points <= {MAX_POINTS}, --steps <= {MAX_GD_STEPS}, and with --exact at most {_e(MAX_EXACT_BITS)} bits of
  exact numbers (see --exact).  A Taylor run is refused when ~30 steps would already take
  more than {BUDGET_SECONDS} s at its --dps and size, and stops (exit code 1) when its steps
  have used up about {BUDGET_SECONDS} s.

examples:
  python -m numerics simulate --depth 3 --dim 3 --seed 1 --dps 50 --T 2
  python -m numerics simulate --depth 3 --dim 3 --loss ridge_fisher --ridge 1/10 --json
  python -m numerics simulate --depth 2 --dim 4 --init unbalanced --flow layer --float64 --T 100
  python -m numerics simulate --flow gd --depth 3 --dim 2 --eta 1/10 --steps 2 --exact
"""


def _fraction_arg(name, allow_zero=False):
    """argparse type: an exact number > 0 (>= 0 with ``allow_zero``), read by
    :func:`derivations.parsing.parse_number`, as a :class:`Fraction`."""
    def parse(text):
        try:
            v = parse_number(text, what=name)
        except ParseError as exc:
            reason = str(exc).removeprefix(f"{name}: ")
            raise argparse.ArgumentTypeError(
                f"expected an exact number such as 5, 0.1, 1/3 or 2e-3, got {text!r} ({reason})") from None
        if v < 0 or (v == 0 and not allow_zero):
            raise argparse.ArgumentTypeError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {text}")
        return Fraction(int(v.p), int(v.q))
    return parse


def _int_range(name, lo, hi, why=""):
    """argparse type: an integer in ``lo..hi``; ``why`` says where ``hi`` comes from."""
    def parse(text):
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"{name} must be in {lo}..{hi}, got {v}"
                                             + (f" ({why})" if why else ""))
        return v
    return parse


def _step_seconds(dps: int, size: int) -> float:
    """Estimated seconds of one Taylor step at ``dps`` digits for a state of ``size``
    numbers, 0.070 s * (size/9)^1.5 * (dps/100)^2.8: measured 14.5, 70, 356, 3300 ms at
    dps 50, 100, 200, 400 (size 9) and 280, 330, 1740 ms at size 25, 27, 81 (dps 100);
    the model is within 40 % of each."""
    return 0.070 * (size / 9) ** 1.5 * (dps / 100) ** 2.8


def _bits(v: Fraction) -> int:
    return max(abs(v.numerator).bit_length(), v.denominator.bit_length())


def _exact_bits(args, steps: int) -> float:
    """Predicted total bits of the state after ``steps`` exact steps: each of the L*d
    coordinates has ~32 + bits(eta) + 2 bits(alpha) bits after one step (measured 35..231
    at L = 1, 3) and grows by a factor 4L + 1 per further step."""
    first = 32 + _bits(args.eta) + 2 * _bits(args.alpha)
    return args.depth * args.dim * first * float(4 * args.depth + 1) ** (steps - 1)


def check_workload(args) -> int | None:
    """Refuse (:class:`UsageError`) a ``simulate`` run that would take far too long; return
    the step limit for the Taylor integrator (``None`` when it does not integrate)."""
    if args.flow == "gd":
        if args.exact:
            if _exact_bits(args, args.steps) > MAX_EXACT_BITS:
                most = max((k for k in range(1, args.steps) if _exact_bits(args, k) <= MAX_EXACT_BITS),
                           default=0)
                raise UsageError(
                    f"argument --steps: {args.steps} exact steps at L = {args.depth}, d = {args.dim} "
                    f"would build numbers of about {_exact_bits(args, args.steps):.1e} bits in all (they grow "
                    f"{4 * args.depth + 1}-fold per step; the limit is {_e(MAX_EXACT_BITS)} bits, about a "
                    f"minute): at most {most} step(s) with this --eta and --alpha, or drop --exact")
        return None
    limit = MAX_T_FLOAT64 if args.float64 else MAX_T
    if args.T > limit:
        how = ("float64 DOP853" if args.float64 else
               f"the Taylor method (the square loss takes about 2T steps; --float64 allows T <= {_e(MAX_T_FLOAT64)})")
        raise UsageError(f"argument --T: at most {_e(limit)} with {how}, got {short(args.T, 3)}")
    if args.float64:
        return None
    step = _step_seconds(args.dps, args.depth * args.dim)
    if 30 * step > BUDGET_SECONDS:
        raise UsageError(
            f"argument --dps: {args.dps} digits at L = {args.depth}, d = {args.dim} cost about "
            f"{step:.0f} s per Taylor step, and even a short run takes ~30 steps "
            f"(> {BUDGET_SECONDS} s): lower --dps, --depth or --dim")
    return max(100, math.floor(BUDGET_SECONDS / step))


class _Parser(argparse.ArgumentParser):
    """An unknown or missing command prints the help before the error line (exit code 2)."""

    def error(self, message):
        if "invalid choice" in message and message.startswith("argument command"):
            self.print_help(sys.stderr)
        super().error(message)


def build_parser() -> argparse.ArgumentParser:
    ap = _Parser(
        prog="python -m numerics", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", title="commands")

    sp_ = sub.add_parser(
        "simulate", help="integrate one flow and report the drift of the monitored quantities",
        description="Integrate a Deep LDA flow (Taylor method at --dps digits, or float64 "
                    "DOP853) and report precision, integrator statistics, final state and the "
                    "drift of every monitored quantity.",
        epilog=SIMULATE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sp_.add_argument("--flow", choices=FLOW_KINDS, default="layer", help="which flow (default layer)")
    sp_.add_argument("--depth", "-L", type=_int_range("--depth", 1, MAX_DEPTH), default=3,
                     help=f"number of layers L, 1..{MAX_DEPTH} (default 3)")
    sp_.add_argument("--dim", "-d", type=_int_range("--dim", 1, MAX_DIM), default=3,
                     help=f"dimension d, 1..{MAX_DIM} (default 3)")
    sp_.add_argument("--seed", type=_int_range("--seed", 0, 2**32 - 1), default=0,
                     help="seed of the data and of the random layer signs (default 0)")
    sp_.add_argument("--points", type=_int_range("--points", 2, MAX_POINTS, "18 s at d = 9"), default=None,
                     help=f"points per class, 2..{MAX_POINTS} (default 2d+4)")
    sp_.add_argument("--init", choices=INIT_KINDS, default="balanced",
                     help="balanced: |u_(l,i)(0)| = alpha; unbalanced: layers 2..L rescaled "
                          "per entry (default balanced)")
    sp_.add_argument("--signs", choices=("random", "positive", "optimum"), default="random",
                     help="signs of the layers: random (seeded), positive (u_l(0) = alpha*1), or "
                          "optimum (w(0) in the orthant of the Fisher optimum) (default random)")
    sp_.add_argument("--alpha", type=_fraction_arg("--alpha"), default=Fraction(1, 2),
                     help="initial scale alpha > 0, exact (default 1/2)")
    sp_.add_argument("--loss", choices=sorted(LOSSES) + list(MIRROR_LOSSES), default=None,
                     help="loss (default fisher; with --potential: exp or logistic, default exp)")
    sp_.add_argument("--potential", default=None, metavar="EXPR",
                     help="with --flow mirror: the mirror flow of Part B with this potential (see below)")
    sp_.add_argument("--net", default="2-3-1", metavar="WIDTHS",
                     help="with --potential: the network's widths DIM-HIDDEN...-1 (default 2-3-1)")
    sp_.add_argument("--activation", choices=MIRROR_ACTIVATIONS, default="linear",
                     help="with --potential: the hidden activation (default linear)")
    sp_.add_argument("--ridge", type=_fraction_arg("--ridge", allow_zero=True), default=Fraction(1),
                     help="ridge r of ridge_fisher, exact (default 1)")
    sp_.add_argument("--dps", type=_int_range("--dps", 10, MAX_DPS, "a step costs ~dps^2.8: "
                                              "104 s for the default run at 400 digits"), default=50,
                     help=f"working precision in decimal digits, 10..{MAX_DPS} (default 50; the "
                          "default run takes 1.3 s at 50 digits, 14 s at 200, 104 s at 400: a "
                          "Taylor step costs ~dps^2.8)")
    sp_.add_argument("--float64", action="store_true",
                     help="float64 with scipy DOP853 instead of the Taylor method")
    sp_.add_argument("--T", type=_fraction_arg("--T"), default=Fraction(5),
                     help=f"horizon T > 0, exact (default 5); at most {_e(MAX_T)} with the Taylor "
                          f"method (the square loss takes ~2T steps: 14 s at 1e4, 111 s at 1e5) "
                          f"and {_e(MAX_T_FLOAT64)} with --float64 (at most 31 s there)")
    sp_.add_argument("--outputs", type=_int_range("--outputs", 2, MAX_OUTPUTS, "11 s with 10000"),
                     default=11,
                     help="equally spaced output times in [0, T] where the quantities are "
                          f"evaluated, 2..{MAX_OUTPUTS} (default 11)")
    sp_.add_argument("--eta", type=_fraction_arg("--eta"), default=Fraction(1, 10),
                     help="gd: step size, exact (default 1/10)")
    sp_.add_argument("--steps", type=_int_range("--steps", 1, MAX_GD_STEPS, "7 s per 1000 steps at "
                                                "L = d = 9, dps 400"), default=10,
                     help=f"gd: number of steps, 1..{MAX_GD_STEPS} (default 10)")
    sp_.add_argument("--exact", action="store_true",
                     help="gd: exact rational arithmetic; the numbers grow (4L+1)-fold per step, so "
                          f"the steps are limited to a state of {_e(MAX_EXACT_BITS)} bits in all "
                          "(about a minute): with the default --eta and --alpha 7 steps at L = 1, 5 at L = 2, "
                          "4 at L = 3 (d = 3), 2 at L = d = 9")
    sp_.add_argument("--json", action="store_true", help="print the result as one JSON object")
    sp_.add_argument("--trajectory", action="store_true",
                     help="with --json: include w and the quantities at every output time")
    sp_.add_argument("--quiet", "-q", action="store_true", help="no progress output on stderr")

    ev = sub.add_parser(
        "evidence", help="numeric evidence rows per claim for the reports (DL and MF)",
        description="Run the fixed-seed simulations behind the reports' evidence tables. "
                    "DL: conserved quantities at 50 digits, their falsifiers, exact gradient "
                    "descent, and the float64 orthant trap. MF: balance (MF-2) and dual-energy "
                    "(MF-3) along mirror flow at 30 digits with their falsifiers; limit "
                    "directions against independently solved max-margin problems (MF-5, MF-6) "
                    "and norm-growth exponents (MF-9) in rescaled time; effective neurons of "
                    "2-layer ReLU nets trained by mirror descent (MF-8).")
    ev.add_argument("--group", choices=["DL", "MF", "all"], default="all",
                    help="which paper's evidence (default: all)")
    ev.add_argument("--json", action="store_true", help="print {claim: [rows]} as JSON")
    ev.add_argument("--quick", action="store_true", help="lower precision and shorter horizons")
    ev.add_argument("--quiet", "-q", action="store_true", help="no progress output on stderr")
    ex = sub.add_parser(
        "experiment", help="run an experiment of the papers: its grid, fitted laws and falsifiers",
        description="Run one experiment (python -m numerics experiment --list shows them): every grid "
                    "point is computed (or read from the disk cache, $FLOWPROOF_CACHE, default "
                    ".cache/flowproof), on a Dask LocalCluster of one worker process per core unless "
                    "--workers 1, or on a running cluster with --scheduler; then the laws are fitted "
                    "and each is checked against its falsifier. The report shows the same experiment "
                    "with its figures.",
        epilog="Exit status: 0 when every law holds and every falsifier breaks it (outcome 'confirmed'); "
               "1 when the outcome is 'not confirmed' or a run fails; 2 for bad input. "
               "Examples: python -m numerics experiment MF-7;  "
               "python -m numerics experiment DL-SWEEP --quick --json;  "
               "python -m numerics experiment DL-GD --scheduler tcp://10.0.0.5:8786")
    ex.add_argument("id", nargs="?", metavar="ID", help="the experiment's ID (see --list)")
    ex.add_argument("--list", action="store_true", help="list the experiments and exit")
    ex.add_argument("--quick", action="store_true", help="the small grid (seconds)")
    ex.add_argument("--json", action="store_true", help="print the outcome (grid, runs' laws, rows, figures) as JSON")
    ex.add_argument("--fresh", action="store_true", help="recompute every grid point, overwriting the cache")
    ex.add_argument("--no-cache", action="store_true", help="neither read nor write the disk cache")
    ex.add_argument("--workers", type=_int_range("--workers", 1, 256), default=None,
                    help="worker processes of the Dask LocalCluster (default: one per core; 1: in this process)")
    ex.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                    help="run the grid on this running Dask scheduler (workers need flowproof installed)")
    ex.add_argument("--mnist", default=None, metavar="PATH",
                    help="MF-8 only: add MNIST 3 against 5 from local IDX files (a folder holding "
                         "train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz], or IMAGES,LABELS); "
                         "nothing is downloaded")
    ex.add_argument("--quiet", "-q", action="store_true", help="no progress bar on stderr")
    return ap


class _Progress:
    """Progress on stderr for long runs: first report after 1 s, then every 2 s."""

    def __init__(self, T, enabled):
        self.T = float(T)
        self.enabled = enabled
        self.start = time.perf_counter()
        self.last = self.start
        self.printed = False
        self.tty = sys.stderr.isatty()

    def __call__(self, t, steps):
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self.last < (1.0 if not self.printed else 2.0):
            return
        self.last = now
        self.printed = True
        msg = (f"t = {float(t):.4g} / {self.T:.4g} ({100 * float(t) / self.T:5.1f} %), "
               f"{steps} steps, {now - self.start:.1f} s")
        print(("\r" + msg) if self.tty else msg, file=sys.stderr, end="" if self.tty else "\n",
              flush=True)

    def done(self):
        if self.enabled and self.printed and self.tty:
            print(file=sys.stderr)


def _simulate(args) -> int:
    if args.potential is not None:
        return _simulate_mirror(args)
    if args.loss is None:
        args.loss = "fisher"
    if args.loss in MIRROR_LOSSES:
        raise UsageError(f"argument --loss: {args.loss} is a loss of the mirror flow of Part B (with "
                         f"--potential); the Deep LDA flows take {', '.join(sorted(LOSSES))}")
    max_steps = check_workload(args)
    data = gaussian_two_class(args.dim, args.points, seed=args.seed, ridge=args.ridge)
    signs = args.signs
    if signs == "optimum":
        signs = list(data.optimum_signs())
        if 0 in signs:
            raise FlowError("the Fisher optimum has a zero coordinate: its orthant is not open")
    u0 = layer_init(args.depth, args.dim, init=args.init, alpha=args.alpha, seed=args.seed,
                    signs=signs)
    info = {"kind": args.init, "alpha": str(args.alpha), "signs": args.signs, "seed": args.seed}
    if args.flow == "gd":
        res = gd_run(u0, args.eta, args.steps, data=data, loss=args.loss,
                     dps=None if args.exact else args.dps, init_info=info)
        if args.json:
            print(json.dumps(res.to_dict(), indent=2))
            return 0
        print(f"gradient descent on the layers: L = {args.depth}, d = {args.dim}, loss {args.loss}, "
              f"eta = {res.eta}, {res.steps} steps, {res.precision}, {res.seconds:.2f} s")
        print(f"  Q: {short(res.Q[0], 10)} -> {short(res.Q[-1], 10)}")
        print(f"  DL-8 residual max_k |Q_(k+1) - Q_k - eta^2 sum g^2 |w|^(2-2/L)| = {short(res.max_residual)}")
        print(f"  balance max |u_(1,i)^2 - u_(l,i)^2| after the steps = {short(res.max_balance)}")
        return 0
    progress = _Progress(args.T, not args.quiet and not args.float64)
    common = dict(data=data, loss=args.loss, outputs=args.outputs, init_info=info)
    if args.float64:
        res = simulate_float64(args.flow, u0, args.T, **common)
    else:
        try:
            res = simulate(args.flow, u0, args.T, dps=args.dps, progress=progress,
                           max_steps=max_steps, **common)
        except TaylorError as exc:
            if str(exc).startswith("max_steps"):
                raise TaylorError(f"{exc}: the step budget of this run (about {BUDGET_SECONDS} s of "
                                  f"work at --dps {args.dps}, L = {args.depth}, d = {args.dim}) is "
                                  "used up; lower --T, --dps or the size, or use --float64") from None
            raise
    progress.done()
    if args.json:
        print(json.dumps(res.to_dict(trajectory=args.trajectory), indent=2))
        return 0
    it = res.integrator
    print(f"{args.flow} flow: L = {args.depth}, d = {args.dim}, loss {args.loss}, "
          f"{args.init} init (alpha = {args.alpha}, signs {args.signs}), data seed {args.seed}")
    if res.dps is None:
        print(f"  float64 DOP853 (rtol {it['rtol']:g}, atol {it['atol']:g}) to T = {res.horizon}: "
              f"{it['nfev']} evaluations, {res.seconds:.2f} s")
    else:
        print(f"  Taylor method at {res.dps} digits (order {it['order']}, {it['prec_bits']} bits) "
              f"to T = {res.horizon}: {it['steps']} steps, h in [{it['min_step']:.3g}, "
              f"{it['max_step']:.3g}], {res.seconds:.2f} s")
    d = res.to_dict()
    for claim, v in d["drift_by_claim"].items():
        what = {"DL-5": "Q = sum |w_i|^(2/L)", "DL-3": "max_l ||u_l||^2",
                "DL-2": "max gap u_(1,i)^2 - u_(l,i)^2"}[claim]
        print(f"  {claim} drift of {what}: {v}")
    others = {n: v for n, v in d["drift"].items() if not n.startswith(("gap_", "norm2_"))}
    print("  drift: " + ", ".join(f"{n} {v}" for n, v in others.items()))
    print(f"  J: {d['monitored_initial']['J'][:12]} -> {d['monitored_final']['J'][:12]}")
    print("  w(T) = [" + ", ".join(short(v, 10) for v in res.final_w) + "]")
    if res.extra.get("warning"):
        print(f"  warning: {res.extra['warning']}")
    return 0


def _simulate_mirror(args) -> int:
    from numerics.mirror_flow.simulate import parse_widths, simulate_mirror

    if args.flow != "mirror":
        raise UsageError("argument --potential: only with --flow mirror (the mirror flow of Part B)")
    loss = args.loss or "exp"
    if loss not in MIRROR_LOSSES:
        raise UsageError(f"argument --loss: the mirror flow takes {' or '.join(MIRROR_LOSSES)}, got {loss}")
    widths = parse_widths(args.net)
    params = sum(a * b for a, b in zip(widths, widths[1:]))
    points = args.points if args.points is not None else 6
    for name, value, limit in (("--dps", args.dps, MIRROR_MAX_DPS), ("--T", args.T, MIRROR_MAX_T),
                               ("--net", params, MIRROR_MAX_PARAMS), ("--points", points, MIRROR_MAX_POINTS)):
        if value > limit:
            what = "parameters" if name == "--net" else "at most"
            raise UsageError(f"argument {name}: the mirror flow allows {limit} {what} here "
                             f"(see simulate --help for the measurements), got {value}")
    if not args.quiet:
        print(f"mirror flow: {args.potential} on a {args.net} {args.activation} net, {points} points, "
              f"{args.dps} digits, T = {args.T} ...", file=sys.stderr, flush=True)
    res = simulate_mirror(args.potential, widths, activation=args.activation, points=points, seed=args.seed,
                          T=args.T, dps=args.dps, loss=loss, outputs=args.outputs)
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    net, it = res["network"], res["integrator"]
    print(f"mirror flow, potential {res['potential']}: {args.net} {net['activation']} net (L = {net['L']}, "
          f"{net['parameters']} parameters), {points} points (seed {args.seed}), {loss} loss")
    print(f"  Taylor method at {res['dps']} digits to T = {res['T']}: {it['steps']} steps, order {it['order']}, "
          f"{it['seconds']:.2f} s")
    for name, value in res["drift"].items():
        print(f"  drift of {name}: {value}" + ("   (falsifier: must be large)" if name.startswith("Euclid") else ""))
    print(f"  min margin at T: {res['min_margin']}")
    return 0


def _evidence(args) -> int:
    from numerics.deep_lda.evidence import dl_evidence
    from numerics.mirror_flow.evidence import mf_evidence

    start = time.perf_counter()
    log = None if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    ev = {}
    if args.group in ("DL", "all"):
        ev.update(dl_evidence(quick=args.quick, progress=log))
    if args.group in ("MF", "all"):
        if log:
            log("mirror flow: MF-2, MF-3 at 30 digits; MF-5, MF-6, MF-9 in rescaled time; MF-8 by mirror descent")
        ev.update(mf_evidence(quick=args.quick))
    if args.json:
        print(json.dumps(ev, indent=2))
        return 0
    for claim, rows in ev.items():
        print(claim)
        for r in rows:
            print(f"  {r['quantity']}")
            print(f"      {r['precision']}, {r['horizon']}: drift {r['drift']}"
                  + (f"; falsifier [{r['falsifier']}]: {r['falsifier_drift']}" if r['falsifier'] else ""))
            if r["note"]:
                print(f"      {r['note']}")
    print(f"({time.perf_counter() - start:.1f} s)")
    return 0


def _experiment(args) -> int:
    from numerics.core.runner import check_scheduler, default_workers, run_experiment
    from numerics.experiments import EXPERIMENTS

    if args.list or args.id is None:
        if args.id is None and not args.list:
            raise UsageError(f"an experiment ID is required: one of {', '.join(EXPERIMENTS)} (or --list)")
        for e in EXPERIMENTS.values():
            print(f"{e.id:9} {e.title}")
        return 0
    if args.id not in EXPERIMENTS:
        raise UsageError(f"unknown experiment {args.id!r}: expected one of {', '.join(EXPERIMENTS)}")
    try:
        check_scheduler(args.scheduler)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    experiment = EXPERIMENTS[args.id]
    if args.mnist is not None:
        if args.id != "MF-8":
            raise UsageError("argument --mnist: only for MF-8 (the features of 2-layer ReLU networks)")
        from numerics.mirror_flow.feature_experiment import feature_experiment, mnist_files
        try:
            mnist_files(args.mnist)
        except ValueError as exc:
            raise UsageError(f"argument --mnist: {exc}") from None
        experiment = feature_experiment(mnist=args.mnist)
    out = run_experiment(experiment, quick=args.quick, fresh=args.fresh, cache=not args.no_cache,
                         workers=args.workers or default_workers(), scheduler=args.scheduler,
                         progress=not args.quiet)
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        print(f"{out['id']}  {out['title']}\n  {out['question']}\n  {len(out['points'])} runs, {out['seconds']} s")
        for law in out["laws"]:
            print(f"  law: {law['name']}\n       measured {law['measured']:.4g}, expected {law['expected']:g} "
                  f"+/- {law['tolerance']:g}: {'holds' if law['holds'] else 'FAILS'}")
            if law["falsifier"]:
                print(f"       falsifier {law['falsifier']}: {law['falsifier_measured']:.4g}, "
                      f"{'breaks it' if law['falsified'] else 'DOES NOT break it'}")
        for row in out["rows"]:
            print(f"  {row['quantity']}: {row['drift']}" + (f"  [{row['falsifier']}: {row['falsifier_drift']}]"
                                                           if row["falsifier"] else ""))
        print(f"  outcome: {out['verdict']}")
    return 0 if out["verdict"] == "confirmed" else 1


def main(argv=None) -> int:
    """Run the command line; returns the exit code (argparse exits 2 itself on a bad option)."""
    ap = build_parser()
    args = ap.parse_args(argv)
    if args.command is None:
        ap.print_help(sys.stderr)
        print(f"{ap.prog}: error: a command is required: simulate, evidence or experiment", file=sys.stderr)
        return 2
    prog = f"{ap.prog} {args.command}"

    def body() -> int:
        try:
            return {"simulate": _simulate, "evidence": _evidence, "experiment": _experiment}[args.command](args)
        except (UsageError, FlowError, DataError, UnsupportedExpressionError, MirrorError) as exc:
            print(f"{prog}: error: {exc}", file=sys.stderr)
            return 2
        except TaylorError as exc:
            print(f"{prog}: error: the integration failed: {exc}", file=sys.stderr)
            return 1
    return run_guarded(prog, body)
