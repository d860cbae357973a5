"""``python -m derivations conserved MODEL SIZES… [--potential P]``: discover the laws.

Prints the count with its certificate status, each law with its claim-engine verdict, and
the time; ``--json`` prints the result as JSON on stdout.  Exit code 0 when the count is
certified and every law verified, 1 when a bound stays open, 2 for bad input.

>>> main(["diagonal", "2", "1"])  # doctest: +ELLIPSIS
model        diagonal net L=2, d=1 (D = 2), gradient flow
laws         1: certified: exactly 1 independent laws near a generic point
  h1 = u_11**2 - u_21**2   (verified)
...
0
"""
from __future__ import annotations

import argparse
import json
import sys

import sympy as sp

from . import potentials as pot
from .conservation import MODELS, Model, ModelError, discover
from .parsing import ParseError, parse_expression

__all__ = ["build_parser", "main", "POTENTIALS"]

#: catalogue potentials by name (family parameters at their default values)
POTENTIALS = {
    "quadratic": pot.quadratic,
    "p-power": lambda: pot.p_power(3),
    "hyperbolic-entropy": lambda: pot.hyperbolic_entropy(1),
    "cosh": pot.cosh_potential,
    "quadratic-quartic": pot.quadratic_quartic,
}
MAX_DEGREE = 4


def build_parser() -> argparse.ArgumentParser:
    models = "; ".join(f"{name} ({sizes})" for name, (_, sizes) in MODELS.items())
    parser = argparse.ArgumentParser(
        prog="python -m derivations conserved",
        description=(
            "Find the conservation laws of gradient flow (or mirror flow with --potential) on a model, for every "
            "loss, and certify how many there are. Lower bound: laws found by an exact polynomial (or, for a "
            "potential, separable) ansatz, each verified by the claim engine, with independent gradients. Upper "
            "bound: D minus the rank of the fields and their Lie brackets at a random rational point (exact with "
            "fmpq_mat, or a proven lower bound on the rank from ball arithmetic). 'certified' when they meet. "
            "Mirror flows are analysed on the positive orthant, where an even potential is analytic. "
            f"Models: {models}."
        ),
        epilog="Examples: python -m derivations conserved linear 2 2 2;  "
        "python -m derivations conserved relu 2 3 1 --potential hyperbolic-entropy --json;  "
        'python -m derivations conserved diagonal 3 2 --potential "x**2/2 + x**6/6";  '
        'python -m derivations conserved custom --params "a b c" --output "a*b*c" --output "a**2 - b**2"',
    )
    parser.add_argument("model", choices=sorted(MODELS) + ["custom"],
                        help="a shipped model, or 'custom' with --params and --output")
    parser.add_argument("sizes", nargs="*", type=int, metavar="SIZE", help="the model's sizes (see above)")
    parser.add_argument("--params", metavar="NAMES", help="custom model: the parameters, e.g. \"u1 u2 v1 v2\"")
    parser.add_argument("--output", action="append", default=[], metavar="EXPR",
                        help="custom model: one output phi_j as an expression in the parameters (repeatable); "
                        "read by the safe parser, never run as Python")
    parser.add_argument("--potential", metavar="NAME_OR_EXPR",
                        help=f"mirror flow with this potential: one of {', '.join(POTENTIALS)}, or an even strictly "
                        "convex expression in x (validated as by 'python -m derivations potential')")
    parser.add_argument("--degree", type=int, default=2, help=f"degree of the ansatz, 1..{MAX_DEGREE} (default 2)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random rational points (default 0)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    return parser


def _potential(text):
    if text is None:
        return None
    if text in POTENTIALS:
        return POTENTIALS[text]()
    return pot.from_expression(text)


class _UsageError(ValueError):
    pass


def _model(args):
    """The shipped model with its sizes, or the custom model of --params/--output."""
    if args.model == "custom":
        if args.sizes or not args.params or not args.output:
            raise _UsageError("custom takes no sizes, and needs --params and at least one --output")
        names = [n for n in args.params.replace(",", " ").split() if n]
        if len(set(names)) != len(names) or not all(n.isidentifier() and not n.startswith("_") for n in names):
            raise _UsageError(f"--params {args.params!r}: expected distinct names such as 'u1 u2 v1 v2'")
        symbols = {n: sp.Symbol(n, real=True) for n in names}
        outputs = [parse_expression(text, symbols, exact=True) for text in args.output]
        return Model("custom: " + ", ".join(args.output), tuple(symbols.values()), tuple(outputs))
    if args.params or args.output:
        raise _UsageError("--params and --output are for the custom model")
    build, sizes = MODELS[args.model]
    if len(args.sizes) != len(sizes.split()) and "..." not in sizes:
        raise _UsageError(f"{args.model} takes the sizes {sizes}, got {args.sizes}")
    if any(n < 1 for n in args.sizes):
        raise _UsageError(f"sizes must be positive, got {args.sizes}")
    return build(*args.sizes)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    if not 1 <= args.degree <= MAX_DEGREE:
        print(f"error: --degree must be in 1..{MAX_DEGREE}, got {args.degree}", file=sys.stderr)
        return 2
    try:
        model = _model(args)
        potential = _potential(args.potential)
        result = discover(model, potential, degree=args.degree, seed=args.seed,
                          progress=lambda msg: print(msg, file=sys.stderr))
    except (ModelError, ParseError, pot.PotentialError, _UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = sys.stderr if args.json else sys.stdout
    print(f"model        {model.name} (D = {model.dim}), {result.flow} flow", file=out)
    if model.note:
        print(f"             {model.note}", file=out)
    print(f"laws         {result.count}: {result.status()}", file=out)
    verdicts = {v["law"]: v["verdict"] for v in result.verdicts}
    for k, h in enumerate(result.laws, start=1):
        print(f"  h{k} = {h}   ({verdicts.get(str(h), 'verified')})", file=out)
    for h in result.rejected:
        print(f"  rejected candidate (not verified): {h}", file=out)
    print(f"Lie route    rank {result.lie_rank} of {model.dim}" + ("" if result.rank_exact else " (ball bound)")
          + f", {result.brackets} brackets to depth {result.depth}; stopped: {result.stop}", file=out)
    print(f"time         {result.seconds:.2f} s", file=out)
    if args.json:
        json.dump(result.to_json(), sys.stdout, indent=1)
        print()
    return 0 if result.certified and not result.rejected else 1
