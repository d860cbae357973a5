"""Command line: check claims and print each step's verdict (``python -m derivations --help``)."""

from __future__ import annotations

import argparse
import json
import sys
import time

import sympy as sp

from . import cache, registry
from .claims import ClaimResult, check_claim, exit_code

MARK = {"verified": "ok ", "refuted": "NO ", "undecided": "?? "}
MAX_POINTS = 1000  # random points per step: one point of a large claim costs up to a second


def plain(text: str) -> str:
    """Claim text with ``$…$`` LaTeX math (titles, labels, settings) as plain terminal text:
    ``$\\frac{d}{dt} Q$`` → ``d/dt Q`` (the reports' :func:`reports.build.pdf_plain`)."""
    from reports.build import pdf_plain

    return pdf_plain(text)


def _print_result(result: ClaimResult, verbose: bool, out) -> None:
    claim = result.claim
    status = result.verdict + ("" if result.ok or result.verdict != "verified" else " (a falsifier did not fail!)")
    print(f"{claim.id:6} {status:10} {result.seconds:6.2f} s  {plain(claim.title)}", file=out)
    if result.error:
        print(f"       error: {result.error}", file=out)
    for r in result.steps:
        if verbose or r.verdict != "verified":
            where = f"  counterexample {r.numeric.counterexample} -> {r.numeric.value}" if r.numeric.counterexample else ""
            name = plain(r.step.label or r.step.reason) + (f", {plain(r.step.instance)}" if r.step.instance else "")
            print(f"       {MARK[r.verdict]} step {name}{where}", file=out)
            if verbose:
                print(f"           {_equation(r.step)}", file=out)
    for falsifier, r in result.falsifiers:
        if verbose or r.verdict != "refuted":
            fate = "fails as it must" if r.verdict == "refuted" else f"DID NOT FAIL ({r.verdict})"
            print(f"       falsifier: drop {falsifier.drops} ({plain(falsifier.setting)}): {fate}", file=out)
    if claim.scope and verbose:
        print(f"       scope: {plain(claim.scope)}", file=out)


def _equation(step, width: int = 150) -> str:
    """``lhs <relation> rhs`` in sympy's plain form, cut at ``width`` characters (the JSON
    and the report have it whole)."""
    text = f"{sp.sstr(step.lhs)} {step.relation} {sp.sstr(step.rhs)}"
    return text if len(text) <= width else text[:width - 5] + " ..."


def _requested_claims(args) -> list:
    """The claims to check: those of ``--file`` and ``--loss`` (all of them, or those that
    the IDs name), and the project's claims that the IDs name (all when nothing is given)."""
    from .api import loss_claims

    own = [claim for path in args.file for claim in registry.load_file(path)]
    for k, text in enumerate(args.loss):
        own += loss_claims(text, prefix="LOSS" if k == 0 else f"LOSS{k + 1}")
    names = [n.upper() for n in args.claims]
    own_names = {c.id for c in own} | {c.group for c in own}
    project_names = [n for n in names if n not in own_names]
    project = registry.select(project_names) if project_names or not own else []
    named_own = [c for c in own if c.id in names or c.group in names]
    return project + (named_own or own)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m derivations",
        description=(
            "Check the claims of flowproof (IDs from docs/, e.g. DL-4, or whole groups, e.g. DL). "
            "Every step is decided by two independent routes: symbolic zero-testing with sympy and exact "
            "(rational) or ball-arithmetic evaluation at random points. A step is 'verified' when both agree, "
            "'refuted' when a counterexample point is found, 'undecided' otherwise. Every falsifier (the "
            "conclusion restated with one assumption dropped) must come out 'refuted'. Exit code 0 only if "
            "every requested claim is verified and every falsifier falsified."
        ),
        epilog="Examples: python -m derivations DL;  python -m derivations --json DL-4 DL-5;  "
        "python -m derivations --list.  Subcommand: python -m derivations potential \"<expression in x>\" [--json] "
        "derives phi', phi'', phi*, G, the balance law, the horizon and its approach rate for a user's potential "
        "(python -m derivations potential --help).  Subcommand: python -m derivations conserved MODEL SIZES "
        "[--potential P] finds the conservation laws of a model's flow and certifies their count "
        "(python -m derivations conserved --help).",
    )
    parser.add_argument("claims", nargs="*", metavar="ID_OR_GROUP", help="claim IDs or groups (default: all)")
    parser.add_argument("--json", action="store_true", help="print a JSON list of results on stdout")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every step and falsifier")
    parser.add_argument("--list", action="store_true", help="list the known claims and exit")
    parser.add_argument("--points", type=int, default=8,
                        help=f"random points per step for the numeric route, 1..{MAX_POINTS} (default 8)")
    parser.add_argument("--file", action="append", default=[], metavar="FILE.py",
                        help="also check the claims defined in your own Python file (every Claim at its top level; "
                        "see the README, 'Your own claims'); without IDs, only the file's claims are checked (repeatable)")
    parser.add_argument("--loss", action="append", default=[], metavar="EXPR",
                        help="check your own loss, an expression in w1, w2, ... (at most 4 coordinates): that it is "
                        "degree-0 (LOSS-1) and that balanced layer flows conserve the 2/L quasi-norm for it (LOSS-2); "
                        "repeatable (LOSS2-1, ... for the second)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random points (default 0)")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["potential"]:  # subcommand; positional arguments are otherwise claim IDs
        from .potential_cli import main as potential_main

        return potential_main(argv[1:])
    if argv[:1] == ["conserved"]:
        from .conserved_cli import main as conserved_main

        return conserved_main(argv[1:])
    args = build_parser().parse_args(argv)
    if not 1 <= args.points <= MAX_POINTS:
        print(f"error: --points must be in 1..{MAX_POINTS}, got {args.points}", file=sys.stderr)
        return 2
    try:
        claims = _requested_claims(args)
    except (KeyError, ValueError) as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    if args.list:
        for claim in claims:
            print(f"{claim.id:6} {plain(claim.title)}")
        return 0
    progress = sys.stderr if args.json else sys.stdout
    results, started = [], time.perf_counter()
    for claim in claims:
        result = check_claim(claim, points=args.points, seed=args.seed)
        results.append(result)
        _print_result(result, args.verbose, progress)
        if registry.is_project_claim(claim):  # for python -m reports, which then checks it no more
            cache.store("claim result", registry.result_cache_arguments(claim, args.points, args.seed),
                        result.to_json())
    summary = f"{sum(r.ok for r in results)}/{len(results)} claims verified with every falsifier falsified " \
              f"in {time.perf_counter() - started:.1f} s"
    print(summary, file=progress)
    if args.json:
        json.dump([r.to_json() for r in results], sys.stdout, indent=1)
        print()
    return exit_code(results)
