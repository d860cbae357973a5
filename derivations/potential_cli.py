"""``python -m derivations potential "<expr>"``: derive everything for a user's potential.

Prints ``φ'``, ``φ''``, ``φ*`` (or why there is no closed form), ``G = xφ' − φ`` (and
``φ*(φ'(x))`` when φ* exists), the balance law of MF-2, the horizon (``ℓp`` / ``ℓ1`` /
``ℓ∞``, MF-4) and the measured approach rate of the normalized sublevel sets — or, with
exit code 2, the first requirement the expression fails (see
:func:`derivations.potentials.from_expression`).

>>> main(["x**2/2", "--no-rate"])  # doctest: +ELLIPSIS
potential    phi(x) = x**2/2
...
0
"""

from __future__ import annotations

import argparse
import json
import sys

from .potentials import DEFAULT_SCALES, PotentialError, from_expression

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m derivations potential",
        description=(
            "Derive, for an even strictly convex potential phi given as a sympy expression in x: phi', phi'', the "
            "convex conjugate phi* (Legendre transform, when it has a closed form), G(x) = x phi'(x) - phi(x) = "
            "phi*(phi'(x)), the per-neuron balance law of mirror flow (MF-2), the horizon function (lp with p, l1 or "
            "l_oo; MF-4) and the rate at which the normalized sublevel sets approach it. Requirements, checked in "
            "order: parameter (each --param a name other than x with a positive exact VALUE), parse, symbols (only x "
            "and declared parameters), real, even, strictly convex (on all of R), phi' onto R, phi(0) finite (a "
            "non-zero phi(0) is subtracted, with a note), differentiable at 0, horizon exists. A failed requirement "
            "is reported by name with exit code 2. The text is read, never evaluated as Python."
        ),
        epilog='Examples: python -m derivations potential "cosh(x) - 1";  '
        'python -m derivations potential "x*asinh(x/a) - sqrt(x**2 + a**2) + a" --param a=1/2 --json',
    )
    parser.add_argument("expression", metavar="EXPR", help='sympy expression in x, e.g. "x**2/2 + x**4/4"')
    parser.add_argument("--json", action="store_true", help="print the derived objects as JSON on stdout")
    parser.add_argument("--param", action="append", default=[], metavar="NAME[=VALUE]",
                        help="declare a positive parameter; VALUE (default 1), an exact number such as 1/2 or 0.1, is used for "
                             "the numeric checks and the rate; repeatable")
    parser.add_argument("--no-rate", action="store_true", help="skip the numeric approach-rate measurement")
    parser.add_argument("--scales", default=",".join(map(str, DEFAULT_SCALES)), metavar="E1,E2,...",
                        help="exponents e of the levels c = 10**e for the rate (default %(default)s)")
    return parser


def _parameters(specs: list[str]) -> dict:
    """``--param NAME[=VALUE]`` → ``{NAME: VALUE text or None}``; the names and values are
    checked (and VALUE read exactly, never evaluated) by ``from_expression``."""
    params = {}
    for spec in specs:
        name, equals, value = (part.strip() for part in spec.partition("="))
        if name in params:
            raise PotentialError("parameter", f"--param {name} is declared twice")
        params[name] = value if equals else None
    return params


def _scales(text: str) -> tuple[int, ...]:
    try:
        scales = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        scales = ()
    if len(scales) < 3 or any(e < 2 or e > 4000 for e in scales) or list(scales) != sorted(set(scales)):
        raise ValueError(f"--scales {text!r}: expected at least 3 increasing integers in [2, 4000]")
    return scales


def _render(data: dict, out) -> None:
    rows = [
        ("potential", f"phi(x) = {data['phi']}"),
        ("phi'", data["dphi"]),
        ("phi''", data["d2phi"]),
        ("phi*", data["conjugate"] if data["conjugate"] is not None else "no closed form"),
        ("", data["conjugate_note"]),
        ("G", f"x phi'(x) - phi(x) = {data['G']}"),
    ]
    if data["G_via_conjugate"] is not None:
        rows.append(("", f"phi*(phi'(x)) = {data['G_via_conjugate']} (x > 0; Fenchel-Young, MF-1)"))
    horizon = data["horizon"]
    rows += [
        ("balance law", data["balance_law"] + " (MF-2)"),
        ("horizon", f"h(u) = lim phi(uX)/phi(X) = {horizon['h']} (0 < u < 1) -> {horizon['label']} "
                    f"horizon, {horizon['gauge']} (MF-4)"),
    ]
    rate = data.get("rate")
    if rate is not None:
        samples = ", ".join(f"1e{s['log10_c']}: {s['rho']:.6f}" for s in rate["samples"])
        rows.append(("rate", f"{rate['description']}; diagonal ratio rho(c) at c = {samples} -> {rate['rho_limit']:.6f}"))
    for note in data["notes"]:
        rows.append(("note", note))
    for key, value in rows:
        print(f"{key:12} {value}", file=out)


_VALUED = ("--param", "--scales")
_FLAGS = ("-h", "--help", "--json", "--no-rate")


def _split(argv: list[str]) -> list[str]:
    """Options first, then ``--`` and the expression: an expression such as ``-x**2`` must not be
    taken for an option."""
    options, positionals, rest = [], [], iter(argv)
    for token in rest:
        if token == "--":
            positionals += list(rest)
        elif token in _VALUED:
            options += [token, next(rest, "")]
        elif token in _FLAGS or token.split("=", 1)[0] in _VALUED:
            options.append(token)
        else:
            positionals.append(token)
    return options + ["--"] + positionals


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(_split(argv))
    try:
        scales = _scales(args.scales)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        potential = from_expression(args.expression, _parameters(args.param))
        data = potential.summary(with_rate=False)
        if not args.no_rate:
            data["rate"] = potential.approach(scales).to_json()
    except Exception as exc:  # noqa: BLE001 — bad input must not end in a traceback from deep inside sympy
        if not isinstance(exc, PotentialError):
            exc = PotentialError("derivation", f"sympy failed on {args.expression!r}: {type(exc).__name__}: {exc}")
        message = "error: " + " ".join(str(exc).split("\n"))  # one line, whatever sympy said
        print(message, file=sys.stderr)
        if args.json:
            json.dump({"input": args.expression, "error": {"requirement": exc.requirement, "message": exc.detail}},
                      sys.stdout, indent=1, ensure_ascii=False)
            print()
        return 2
    data = {"input": args.expression, **data}
    if args.json:
        json.dump(data, sys.stdout, indent=1, ensure_ascii=False)
        print()
    else:
        _render(data, sys.stdout)
    return 0
