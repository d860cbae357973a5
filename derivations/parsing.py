"""The one reader of user text: expressions, parameter values and exact numbers.

Every piece of text a user gives the suite (a potential, a loss, ``--param NAME=VALUE``,
a fraction such as ``--T 1/3``) is read here and nowhere else.  Nothing is evaluated as
Python: the text is tokenized first, and only numbers, the operators ``+ - * / **``,
parentheses, commas and whitelisted names pass (:data:`FUNCTIONS`, plus the symbols the
caller declares); then ``sympy.parsing.sympy_parser.parse_expr`` builds the expression
*unevaluated* with a namespace that holds those names only (no builtins), and its size is
bounded (:data:`MAX_LENGTH`, :data:`MAX_EXPONENT`, :data:`MAX_BITS`) before sympy
evaluates anything, so that ``x**10000000`` or ``9**9**9`` is refused instead of hanging.

>>> import sympy as sp
>>> x = sp.Symbol("x", real=True)
>>> parse_expression("Abs(x)**Rational(5, 2) + S(1)/2", {"x": x})
Abs(x)**(5/2) + 1/2
>>> parse_number("2e-3"), parse_number("1/3")
(1/500, 1/3)
>>> parse_number("__import__('os').system('true')", what="--param a")
Traceback (most recent call last):
...
derivations.parsing.ParseError: --param a: "__import__('os').system('true')": name '__import__' is not allowed (names starting with '_' never are)
"""

from __future__ import annotations

import decimal
import io
import keyword
import tokenize
from collections.abc import Mapping

import sympy as sp
from sympy.parsing.sympy_parser import auto_number, parse_expr, rationalize

__all__ = ["ParseError", "FUNCTIONS", "MAX_LENGTH", "MAX_EXPONENT", "MAX_BITS", "MAX_DIGITS",
           "parse_expression", "parse_number"]

#: the names user text may call or mention, besides the symbols a caller declares
FUNCTIONS: dict[str, object] = {
    "sqrt": sp.sqrt, "cbrt": sp.cbrt, "exp": sp.exp, "log": sp.log,
    "sin": sp.sin, "cos": sp.cos, "tan": sp.tan, "atan": sp.atan,
    "sinh": sp.sinh, "cosh": sp.cosh, "tanh": sp.tanh,
    "asinh": sp.asinh, "acosh": sp.acosh, "atanh": sp.atanh,
    "Abs": sp.Abs, "abs": sp.Abs, "sign": sp.sign,
    "Rational": sp.Rational, "S": sp.S, "pi": sp.pi, "E": sp.E,
}
_NUMBER_NAMES = ("Rational", "S", "sqrt", "pi", "E")  # the only names a plain number may use
_OPERATORS = {"+", "-", "*", "/", "**", "(", ")", ","}
MAX_LENGTH = 1000      # characters of one piece of user text
MAX_EXPONENT = 1000    # largest |exponent| of a power with a numeric exponent
MAX_BITS = 10_000      # largest number, in bits, that the text may build from its literals
MAX_DIGITS = 300       # digits of one number literal
_SKIP = (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.INDENT, tokenize.DEDENT)


class ParseError(ValueError):
    """User text that is not an allowed expression; the message says what and where."""


def _check_tokens(text: str, allowed_names: set[str]) -> None:
    if not isinstance(text, str) or not text.strip():
        raise ParseError("empty text: expected an expression")
    if len(text) > MAX_LENGTH:
        raise ParseError(f"text of {len(text)} characters: at most {MAX_LENGTH} are read")
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError) as exc:
        raise ParseError(f"{text!r}: cannot be read ({exc})") from None
    for tok in tokens:
        if tok.type in _SKIP:
            continue
        if tok.type == tokenize.NUMBER:
            _check_literal(text, tok.string)
            continue
        if tok.type == tokenize.OP and tok.string in _OPERATORS:
            continue
        if tok.type == tokenize.NAME:
            if tok.string.startswith("_"):
                raise ParseError(f"{text!r}: name {tok.string!r} is not allowed (names starting "
                                 "with '_' never are)")
            if keyword.iskeyword(tok.string):
                raise ParseError(f"{text!r}: the Python keyword {tok.string!r} is not allowed")
            if tok.string in allowed_names:
                continue
            raise ParseError(f"{text!r}: unknown name {tok.string!r}; allowed: "
                             + ", ".join(sorted(allowed_names)))
        raise ParseError(f"{text!r}: {tok.string!r} at column {tok.start[1]} is not allowed "
                         "(numbers, + - * / ** ( ) , and the allowed names only)")


def _check_literal(text: str, literal: str) -> None:
    if literal.lower().endswith("j"):
        raise ParseError(f"{text!r}: complex literal {literal!r} is not allowed")
    try:
        value = decimal.Decimal(literal.replace("_", ""))
    except decimal.InvalidOperation:      # 0x1f, 0o7, 0b1: integers of their own size
        value = decimal.Decimal(int(literal, 0))
    if len(value.as_tuple().digits) > MAX_DIGITS or abs(value.adjusted()) > MAX_EXPONENT:
        raise ParseError(f"{text!r}: the literal {literal[:40]!r} is too large (at most {MAX_DIGITS} "
                         f"digits and a decimal exponent of at most {MAX_EXPONENT})")


def _bits(e: sp.Basic) -> float:
    """An upper bound on the size in bits of the number ``e`` evaluates to (symbols count 0);
    refuses a numeric exponent larger than :data:`MAX_EXPONENT` before anything evaluates it."""
    if e.is_Integer:
        return abs(int(e)).bit_length()
    if e.is_Rational:
        return abs(int(e.p)).bit_length() + int(e.q).bit_length()
    if isinstance(e, sp.Float):
        return 64
    if e.is_Pow and not e.exp.free_symbols:
        if _bits(e.exp) > 64:
            raise ParseError(f"the exponent of {e} is far beyond {MAX_EXPONENT} in magnitude")
        exponent = abs(sp.sympify(e.exp.doit()))
        if not exponent.is_finite or not exponent <= MAX_EXPONENT:
            raise ParseError(f"exponent {e.exp} in {e}: at most {MAX_EXPONENT} in magnitude")
        return _bits(e.base) * float(max(exponent, 1))
    return sum(_bits(a) for a in e.args) if e.args else 0


def parse_expression(text: str, symbols: Mapping[str, sp.Symbol] | None = None, *,
                     exact: bool = False) -> sp.Expr:
    """The sympy expression of ``text``, whose names are :data:`FUNCTIONS` and ``symbols``;
    ``exact=True`` reads decimal literals as rationals (``0.1`` → 1/10).

    Raises :class:`ParseError` (a ``ValueError``) naming what is not allowed.
    """
    symbols = dict(symbols or {})
    return _parse(text, symbols, set(FUNCTIONS) | set(symbols), exact=exact)


def _parse(text: str, symbols: dict, allowed_names: set[str], *, exact: bool) -> sp.Expr:
    """Check the tokens of ``text`` against ``allowed_names``, then parse and bound it."""
    _check_tokens(text, allowed_names)
    # what parse_expr's own generated code calls (the user cannot name these: tokens are checked)
    namespace = {"__builtins__": {}, "Integer": sp.Integer, "Float": sp.Float, "Add": sp.Add,
                 "Mul": sp.Mul, "Pow": sp.Pow, "Symbol": sp.Symbol, **FUNCTIONS}
    transformations = (auto_number, rationalize) if exact else (auto_number,)

    def parse(evaluate: bool):
        return parse_expr(text, local_dict=symbols, global_dict=namespace,
                          transformations=transformations, evaluate=evaluate)

    try:
        raw = parse(False)
        if not isinstance(raw, sp.Expr):
            raise ParseError(f"{text!r} is not a scalar expression")
        if _bits(raw) > MAX_BITS:
            raise ParseError(f"{text!r}: its numbers would have more than {MAX_BITS} bits")
        expr = parse(True)
    except ParseError:
        raise
    except (SyntaxError, TypeError, ValueError, AttributeError, NameError, ZeroDivisionError,
            tokenize.TokenError) as exc:
        raise ParseError(f"{text!r}: not an expression ({type(exc).__name__}: {exc})") from None
    if not isinstance(expr, sp.Expr):
        raise ParseError(f"{text!r} is not a scalar expression")
    if expr.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        raise ParseError(f"{text!r} is not finite (it evaluates to {expr})")
    return expr


def parse_number(text: str, *, what: str = "value") -> sp.Rational:
    """The exact rational that ``text`` denotes (``"0.1"`` is 1/10, ``"2e-3"`` is 1/500);
    refuses names, infinities and division by zero.  ``what`` names the value in messages."""
    if isinstance(text, (int, sp.Integer, sp.Rational)):
        return sp.Rational(text)
    try:
        value = _parse(text, {}, set(_NUMBER_NAMES), exact=True)
    except ParseError as exc:
        raise ParseError(f"{what}: {exc}") from None
    if not value.is_Rational:
        raise ParseError(f"{what}: {text!r} is not an exact rational number (it is {value})")
    return value
