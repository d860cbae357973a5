"""``python -m numerics``: simulate the Deep LDA flows and print the numeric evidence of both papers.

Subcommands
-----------
``simulate``  integrate one flow (layer / reduced / mirror, or gradient descent) on
              synthetic two-class data and report the drift of every monitored quantity
              (``--json`` for the full result);
``evidence``  the evidence rows per claim used by the reports: DL-2 … DL-10 (Deep LDA)
              and MF-2, MF-3, MF-5, MF-6, MF-8, MF-9 (mirror flow); ``--group`` picks one.

Exit status: 0 on success, 1 if the integration fails (e.g. a coordinate reaches 0 in
the reduced flow), 2 for bad input.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from fractions import Fraction

from derivations.objectives import DEGREE_ZERO, LOSSES
from numerics.data import DataError, gaussian_two_class
from numerics.flows import FLOW_KINDS, MAX_DEPTH, MAX_DIM, FlowError
from numerics.simulate import INIT_KINDS, gd_run, layer_init, short, simulate, simulate_float64
from numerics.taylor import TaylorError, UnsupportedExpressionError

__all__ = ["main", "build_parser"]

SIMULATE_EPILOG = f"""\
flows (SPEC Part A):
  layer    the un-reduced gradient flow on the layers u_1..u_L (state in R^(L d))
  reduced  DL-4: w' = -L |w|^(2-2/L) * grad f(w), on the orthant of w(0)
  mirror   DL-6: z' = -grad f(w(z)), z = grad Phi(w), w from the inverse mirror map
  gd       gradient descent on the layers (--eta, --steps; exact rationals with --exact)

monitored quantities: Q = sum |w_i|^(2/L) (DL-5), norm2_u<l> = ||u_l||^2 (DL-3),
gap_u1_u<l>_<i> = u_(1,i)^2 - u_(l,i)^2 (DL-2), J (Fisher ratio), loss.
drift = max over the output times of |q(t) - q(0)|.

losses: {', '.join(sorted(LOSSES))} (degree 0: {', '.join(DEGREE_ZERO)}).
data: two Gaussian classes in R^d, seeded, rounded to multiples of 1/8 (exact rationals);
the square/exponential losses use the two class means with labels +1/-1.

examples:
  python -m numerics simulate --depth 3 --dim 3 --seed 1 --dps 50 --T 2
  python -m numerics simulate --depth 3 --dim 3 --loss ridge_fisher --ridge 1/10 --json
  python -m numerics simulate --depth 2 --dim 4 --init unbalanced --flow layer --float64 --T 100
  python -m numerics simulate --flow gd --depth 3 --dim 2 --eta 1/10 --steps 2 --exact
"""


def _fraction_arg(name, positive=True, allow_zero=False):
    def parse(text):
        try:
            v = Fraction(text.strip())
        except (ValueError, ZeroDivisionError):
            raise argparse.ArgumentTypeError(
                f"{name}: expected an exact number such as 0.1, 1/3 or 2e-3, got {text!r}") from None
        if positive and (v < 0 or (v == 0 and not allow_zero)):
            raise argparse.ArgumentTypeError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {text}")
        return v
    return parse


def _int_range(name, lo, hi):
    def parse(text):
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name}: expected an integer, got {text!r}") from None
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"{name} must be in {lo}..{hi}, got {v}")
        return v
    return parse


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m numerics", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", metavar="{simulate,evidence}")

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
    sp_.add_argument("--points", type=_int_range("--points", 2, 10000), default=None,
                     help="points per class (default 2d+4)")
    sp_.add_argument("--init", choices=INIT_KINDS, default="balanced",
                     help="balanced: |u_(l,i)(0)| = alpha; unbalanced: layers 2..L rescaled "
                          "per entry (default balanced)")
    sp_.add_argument("--signs", choices=("random", "positive", "optimum"), default="random",
                     help="signs of the layers: random (seeded), positive (u_l(0) = alpha*1), or "
                          "optimum (w(0) in the orthant of the Fisher optimum) (default random)")
    sp_.add_argument("--alpha", type=_fraction_arg("--alpha"), default=Fraction(1, 2),
                     help="initial scale alpha > 0, exact (default 1/2)")
    sp_.add_argument("--loss", choices=sorted(LOSSES), default="fisher", help="loss (default fisher)")
    sp_.add_argument("--ridge", type=_fraction_arg("--ridge", allow_zero=True), default=Fraction(1),
                     help="ridge r of ridge_fisher, exact (default 1)")
    sp_.add_argument("--dps", type=_int_range("--dps", 10, 2000), default=50,
                     help="working precision in decimal digits (default 50)")
    sp_.add_argument("--float64", action="store_true",
                     help="float64 with scipy DOP853 instead of the Taylor method")
    sp_.add_argument("--T", type=_fraction_arg("--T"), default=Fraction(5),
                     help="horizon T > 0, exact (default 5)")
    sp_.add_argument("--outputs", type=_int_range("--outputs", 2, 100000), default=11,
                     help="equally spaced output times in [0, T] where the quantities are "
                          "evaluated (default 11)")
    sp_.add_argument("--eta", type=_fraction_arg("--eta"), default=Fraction(1, 10),
                     help="gd: step size, exact (default 1/10)")
    sp_.add_argument("--steps", type=_int_range("--steps", 1, 10**6), default=10,
                     help="gd: number of steps (default 10)")
    sp_.add_argument("--exact", action="store_true",
                     help="gd: exact rational arithmetic (numbers grow fast: few steps)")
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
        res = simulate(args.flow, u0, args.T, dps=args.dps, progress=progress, **common)
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


def _evidence(args) -> int:
    from numerics.evidence import dl_evidence
    from numerics.mirror_evidence import mf_evidence

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


def main(argv=None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    if args.command is None:
        ap.print_help()
        return 2
    try:
        if args.command == "simulate":
            return _simulate(args)
        return _evidence(args)
    except (FlowError, DataError, UnsupportedExpressionError) as exc:
        print(f"python -m numerics {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except TaylorError as exc:
        print(f"python -m numerics {args.command}: the integration failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
