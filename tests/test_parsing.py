"""The one reader of user text: what it accepts, and that no text runs as Python."""
from __future__ import annotations

import os

import pytest
import sympy as sp
from hypothesis import given, strategies as st

from derivations.parsing import MAX_EXPONENT, ParseError, parse_expression, parse_number

x = sp.Symbol("x", real=True)
SYMBOLS = {"x": x}

#: text that would run code, read attributes or reach builtins if it were evaluated
CODE = [
    "(lambda: __import__('os').system('touch {marker}') or 1)()",
    "__import__('os').system('touch {marker}')",
    "exec(\"open('{marker}', 'w')\")",
    "eval(\"open('{marker}', 'w')\")",
    "open('{marker}', 'w')",
    "getattr(x, '__class__')",
    "x.__class__.__mro__",
    "x.func",
    "S('open(\"{marker}\", \"w\")')",
    "Rational('1/2')",
    "[c for c in ().__class__.__base__.__subclasses__()]",
    "globals()",
    "x if open('{marker}', 'w') else x",
    "x; import os",
    "f'{{x}}'",
    "compile('1', 'f', 'eval')",
    "breakpoint()",
]


@pytest.mark.parametrize("template", CODE)
def test_no_text_runs_as_python(template, tmp_path):
    marker = tmp_path / "ran"
    text = template.format(marker=marker)
    for read in (lambda: parse_expression(text, SYMBOLS), lambda: parse_number(text, what="--param a")):
        with pytest.raises(ParseError):
            read()
    assert not marker.exists()
    assert not os.path.exists("{marker}")


@pytest.mark.parametrize("text, expected", [
    ("Abs(x)**Rational(5, 2)", sp.Abs(x) ** sp.Rational(5, 2)),
    ("abs(x)**(5/2)", sp.Abs(x) ** sp.Rational(5, 2)),
    ("x**2/2 + x**4/4", x**2 / 2 + x**4 / 4),
    ("S(1)/2*x**2", x**2 / 2),
    ("x*asinh(x/(1/10)) - sqrt(x**2 + 1/100) + 1/10",
     x * sp.asinh(10 * x) - sp.sqrt(x**2 + sp.Rational(1, 100)) + sp.Rational(1, 10)),
    ("cosh(x) - 1", sp.cosh(x) - 1),
    ("x**2*log(E + x**2)", x**2 * sp.log(sp.E + x**2)),
])
def test_valid_sympy_spellings_are_read(text, expected):
    assert sp.simplify(parse_expression(text, SYMBOLS) - expected) == 0


def test_decimals_are_exact_only_when_asked():
    assert parse_expression("0.1*x", SYMBOLS, exact=True) == x / 10
    assert parse_expression("0.1*x", SYMBOLS).has(sp.Float)


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("y + x", "unknown name 'y'"),
    ("oo*x", "unknown name 'oo'"),
    ("x/0", "not finite"),
    ("x**10000000", "exponent"),
    (f"x**{MAX_EXPONENT + 1}", "exponent"),
    ("x**(10**10)", "exponent"),
    ("9**9**9", "exponent"),
    ("((2**1000)**1000)**1000", "bits"),
    ("1e1000000000*x", "too large"),
    ("1" * 400, "too large"),
    ("x + " * 300 + "x", "at most 1000"),
    ("x**2 +", "not an expression"),
    ("(x", "cannot be read"),
    ("2j*x", "complex"),
    ("x == 1", "not allowed"),
    ("Rational(x, 2)", "not an expression"),
])
def test_bad_expressions_are_refused_with_the_reason(text, message):
    with pytest.raises(ParseError, match=message):
        parse_expression(text, SYMBOLS)


@pytest.mark.parametrize("text, value", [
    ("0.1", sp.Rational(1, 10)), ("2e-3", sp.Rational(1, 500)), ("1/3", sp.Rational(1, 3)),
    ("-5", sp.Integer(-5)), ("10**9", sp.Integer(10**9)), ("2**-3", sp.Rational(1, 8)),
    ("Rational(1, 3)", sp.Rational(1, 3)), ("0/5", sp.Integer(0)),
])
def test_numbers_are_exact_rationals(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["1/0", "3/(2-2)", "oo", "inf", "nan", "x", "sqrt(2)", "pi",
                                  "(-1)**(1/2)", "10**10000", "1e1000000", ""])
def test_non_rational_or_infinite_numbers_are_refused(text):
    with pytest.raises(ParseError, match="^--T: "):
        parse_number(text, what="--T")


@given(st.fractions(max_denominator=10**6))
def test_every_fraction_reads_back(value):
    assert parse_number(str(value)) == sp.Rational(value.numerator, value.denominator)


def test_the_limits_sit_where_they_are_documented():
    from derivations.parsing import MAX_BITS, MAX_DIGITS, MAX_LENGTH
    assert (MAX_LENGTH, MAX_DIGITS, MAX_EXPONENT, MAX_BITS) == (1000, 300, 1000, 10_000)   # the docstring's
    longest = "x" + " " * (MAX_LENGTH - 1)
    assert parse_expression(longest, SYMBOLS) == x
    with pytest.raises(ParseError, match=f"at most {MAX_LENGTH}"):
        parse_expression(longest + " ", SYMBOLS)
    assert parse_number("9" * MAX_DIGITS) == 10**MAX_DIGITS - 1
    with pytest.raises(ParseError, match="too large"):
        parse_number("9" * (MAX_DIGITS + 1))
    assert parse_number(f"1e-{MAX_EXPONENT}") == sp.Rational(1, 10**MAX_EXPONENT)
    with pytest.raises(ParseError, match="too large"):
        parse_number(f"1e-{MAX_EXPONENT + 1}")
    assert parse_expression(f"x**{MAX_EXPONENT}", SYMBOLS) == x**MAX_EXPONENT
    assert parse_expression(f"x**(-{MAX_EXPONENT})", SYMBOLS) == x**-MAX_EXPONENT
    # the size estimate counts the literal 2 as 2 bits: (2**1000)**5 is estimated at MAX_BITS
    assert MAX_BITS == 10_000 and parse_number("(2**1000)**5") == 2**5000
    with pytest.raises(ParseError, match="bits"):
        parse_number("(2**1000)**6")


def test_integer_literals_in_other_bases_are_read():
    assert parse_expression("0x1f*x", SYMBOLS) == 31 * x and parse_number("0b101") == 5
