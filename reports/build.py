"""Build the LaTeX derivation reports: render ``.tex`` from claim results, compile the PDF.

A report is one entry of :data:`REPORTS`; it names the claim groups it documents.  The
input of the renderer is the JSON form of claim results (``ClaimResult.to_json()``, the
same objects ``python -m derivations --json`` prints), so a report can be rendered from
fake results in tests without running sympy.

Reproducibility: the ``.tex`` contains no timings, dates or paths, so the same results
give the same bytes; the PDF is compiled in a fresh temporary directory with
``SOURCE_DATE_EPOCH``/``FORCE_SOURCE_DATE=1`` and ``\\pdftrailerid{}``, so the same
``.tex`` gives the same PDF bytes with the same TeX installation.

>>> escape_tex("a_b <= 50% & |x|")
'a\\\\_b \\\\textless{}= 50\\\\% \\\\& \\\\textbar{}x\\\\textbar{}'
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from pathlib import Path
from typing import Callable, Iterable, Sequence

import jinja2

from derivations.atomic import write_atomic
from derivations.claims import LONG_LATEX

__all__ = [
    "REPORTS",
    "TEMPLATE_DIR",
    "escape_tex",
    "escape_mixed",
    "math_lines",
    "step_math",
    "step_checks",
    "render_tex",
    "compile_pdf",
    "plot_coordinates",
    "write_atomic",
    "LatexError",
    "ResultsError",
    "validate_results",
    "prepare_out",
]

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"

#: One entry per report.  ``groups``: claim groups (the prefix of the claim IDs) that the
#: report documents, in order.  ``template``: file in ``reports/templates``.  ``evidence``
#: (optional): returns the function of ``quick`` that gives ``{claim ID: [evidence rows]}``
#: from simulations.  ``experiments`` (optional): titles of the claim IDs whose evidence
#: has no registered claim (numerical experiments only); they get a section of their own.
#: ``experiment_objects`` (optional): returns the report's
#: :class:`numerics.core.experiment.Experiment` objects, each a section with laws and figures.
#: ``evidence_tables`` (optional): per experiment ID, how its rows are shown: ``columns`` (the
#: four column heads, default :data:`EVIDENCE_COLUMNS`), ``caption``, and ``names`` (returns
#: ``{plain name: LaTeX name}`` for the ``quantity`` and ``precision`` cells; the JSON keeps
#: the plain names).
#: A report whose groups have no registered claim is skipped with a message.
REPORTS: dict[str, dict] = {
    "deep_lda": {
        "title": "Deep LDA on diagonal linear networks",
        "subtitle": "Conservation laws of gradient flow, checked step by step",
        "groups": ["DL"],
        "template": "report.tex.j2",
        "evidence": lambda: _deep_lda_evidence(),
        "experiment_objects": lambda: _deep_lda_experiments(),
        "abstract": (
            "Claims DL-1 to DL-10 of the specification: Deep LDA objectives are homogeneous of "
            "degree zero; along gradient flow on an $L$-layer diagonal linear network "
            "$w = u_1 \\odot \\cdots \\odot u_L$ the balance and the per-layer norms are "
            "conserved; balanced initialization turns the flow into the multiplicative update "
            "$\\dot w = -L\\,|w|^{2-2/L} \\odot \\nabla f(w)$, a mirror flow that conserves the "
            "quasi-norm $\\sum_i |w_i|^{2/L}$; and what this conservation does and does not imply."
        ),
    },
    "mirror_flow": {
        "title": "Mirror flow in homogeneous networks",
        "subtitle": "Convex duality, balance equations and horizon functions, checked step by step",
        "groups": ["MF"],
        "template": "report.tex.j2",
        "evidence": lambda: _mirror_flow_evidence(),
        "experiment_objects": lambda: _mirror_flow_experiments(),
        "abstract": (
            "Claims MF-1, MF-2, MF-3, MF-4 and MF-10 of the specification, derived step by "
            "step: mirror flow with a separable potential on positively homogeneous networks, "
            "its balance equation from convex duality, the growth of the dual energy, the "
            "horizon function that selects the limit margin, and the bridge to diagonal "
            "networks.  MF-2 and MF-3 are also checked along simulated flows; MF-5 to MF-9 "
            "are numerical experiments only (no symbolic derivation).  MF-7 shows the slow "
            "regime, a direction error falling like $1/\\log\\log t$, measured to "
            "$\\log\\log t = 200$ on one data point (closed form), and to "
            "$\\log\\log t \\approx 10$ on two points (Taylor method); networks: not yet."
        ),
    },
    "conservation": {
        "title": "Conservation laws, discovered and certified",
        "subtitle": "Which quantities a model's flow conserves, and how many there are",
        "groups": ["LAW"],
        "template": "report.tex.j2",
        "evidence": lambda: _law_evidence(),
        "experiments": {"LAW-COUNTS": "Gradient flow against mirror flow: the number of laws of each model"},
        "evidence_tables": {"LAW-COUNTS": {
            "columns": ("Model; flow; dimension $D$", "Laws found", "Certified upper bound", "Bound"),
            "caption": "LAW-COUNTS: the number of laws found for each model and flow, beside the upper bound "
                       "certified by the rank of the Lie brackets.",
            "names": lambda: _law_tex_names()}},
        "abstract": (
            "For shipped models (diagonal, linear and ReLU networks, $u \\odot u - v \\odot v$) under "
            "gradient flow and under mirror flow with catalogue potentials, the conservation laws valid "
            "for every loss are found by an exact ansatz (polynomials, or separable laws "
            "$\\sum_i F_i(\\theta_i)$ with $F_i' = p_i R''$), each proved by the claim engine, and "
            "their number is certified: it equals $D$ minus the rank of the fields and their Lie "
            "brackets at a rational point (exact, or a proven lower bound from ball arithmetic). "
            "Each claim states the predicted count: from the literature for gradient flow, and for "
            "mirror flow the conjecture that the balance of MF-2 (one law per hidden neuron) is "
            "all there is. Each law is also followed along a simulated flow, against "
            "$\\sum_i \\theta_i^2$, which is not conserved."
        ),
    },
}

#: The column heads of an evidence table: each row measures a quantity (first column, with
#: the precision and horizon of the run), its value, and the same quantity in a falsifier's
#: setting (where the conclusion must fail) with its value there.
EVIDENCE_COLUMNS = ("Quantity measured; precision; horizon", "Value",
                    "Falsifier: the same quantity with an assumption dropped", "Value there")


# ---------------------------------------------------------------------------------------
# Escaping

_TEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "#": r"\#",
    "%": r"\%",
    "_": r"\_",
    "^": r"\textasciicircum{}",
    "~": r"\textasciitilde{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
    '"': r"{''}",
    "\n": " ",
    "\r": " ",
    "\t": " ",
}

_GREEK = (
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho "
    "final-sigma sigma tau upsilon phi chi psi omega"
).split()

# Characters outside ASCII that occur in the docs' prose, as commands valid in text and
# math mode (``\ensuremath``).  Anything else is spelled as ``[U+XXXX]`` — never a failed
# compile.
_UNICODE = {
    "\u2264": r"\ensuremath{\leq}", "\u2265": r"\ensuremath{\geq}", "\u2260": r"\ensuremath{\neq}",
    "\u2248": r"\ensuremath{\approx}", "\u2261": r"\ensuremath{\equiv}", "\u221e": r"\ensuremath{\infty}",
    "\u2211": r"\ensuremath{\sum}", "\u220f": r"\ensuremath{\prod}", "\u2202": r"\ensuremath{\partial}",
    "\u2207": r"\ensuremath{\nabla}", "\u27e8": r"\ensuremath{\langle}", "\u27e9": r"\ensuremath{\rangle}",
    "\u2299": r"\ensuremath{\odot}", "\u2218": r"\ensuremath{\circ}", "\u00b7": r"\ensuremath{\cdot}",
    "\u22c5": r"\ensuremath{\cdot}", "\u00d7": r"\ensuremath{\times}", "\u00b1": r"\ensuremath{\pm}",
    "\u2212": r"\ensuremath{-}", "\u2208": r"\ensuremath{\in}", "\u2209": r"\ensuremath{\notin}",
    "\u2200": r"\ensuremath{\forall}", "\u2203": r"\ensuremath{\exists}", "\u2192": r"\ensuremath{\to}",
    "\u2190": r"\ensuremath{\leftarrow}", "\u21d2": r"\ensuremath{\Rightarrow}",
    "\u21d4": r"\ensuremath{\Leftrightarrow}", "\u2113": r"\ensuremath{\ell}", "\u221a": r"\ensuremath{\surd}",
    "\u2016": r"\ensuremath{\|}", "\u2225": r"\ensuremath{\|}", "\u227b": r"\ensuremath{\succ}",
    "\u2ac6": r"\ensuremath{\supseteq}", "\u2286": r"\ensuremath{\subseteq}", "\u2282": r"\ensuremath{\subset}",
    "\u2205": r"\ensuremath{\emptyset}", "\u211d": r"\ensuremath{\mathbf{R}}", "\u2217": r"\ensuremath{\ast}",
    "\u2026": r"\ldots{}", "\u2013": "--", "\u2014": "---", "\u2018": "`", "\u2019": "'",
    "\u201c": "``", "\u201d": "''", "\u00a0": "~", "\u1d40": r"\ensuremath{^{\mathsf{T}}}",
    "\u00b2": r"\ensuremath{^2}", "\u00b3": r"\ensuremath{^3}", "\u2074": r"\ensuremath{^4}",
    "\u207b": r"\ensuremath{^-}", "\u00b9": r"\ensuremath{^1}", "\u2070": r"\ensuremath{^0}",
}
_LATIN_CAPITALS = {
    "alpha": "A", "beta": "B", "epsilon": "E", "zeta": "Z", "eta": "H", "iota": "I", "kappa": "K",
    "mu": "M", "nu": "N", "omicron": "O", "rho": "P", "tau": "T", "chi": "X",
}
for _index, _name in enumerate(_GREEK):
    if _name == "final-sigma":
        _UNICODE["\u03c2"] = r"\ensuremath{\varsigma}"
        continue
    _UNICODE[chr(0x03B1 + _index)] = r"\ensuremath{\%s}" % ("varphi" if _name == "phi" else _name)
    _UNICODE[chr(0x0391 + _index)] = _LATIN_CAPITALS.get(_name) or r"\ensuremath{\%s}" % _name.capitalize()
_UNICODE["\u03c0"] = r"\ensuremath{\pi}"
_UNICODE["\u03f5"] = r"\ensuremath{\epsilon}"
_UNICODE["\u03b5"] = r"\ensuremath{\varepsilon}"
_UNICODE["\u03d5"] = r"\ensuremath{\phi}"
_UNICODE["\u00e9"] = r"\'e"
_UNICODE["\u00e8"] = r"\`e"
_UNICODE["\u00f6"] = r'\"o'
_UNICODE["\u00fc"] = r'\"u'
_UNICODE["\u00e4"] = r'\"a'


def _unicode(char: str) -> str:
    if char in _UNICODE:
        return _UNICODE[char]
    decomposed = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
    if decomposed and decomposed.isalnum():
        return decomposed
    return f"[U+{ord(char):04X}]"


def escape_tex(text: object) -> str:
    """Plain text → LaTeX text: every character that LaTeX treats specially is escaped.

    ``None`` becomes the empty string; non-ASCII characters become LaTeX commands.
    """
    if text is None:
        return ""
    text = str(text)
    out = []
    for index, char in enumerate(text):
        if char in _TEX_SPECIAL:
            out.append(_TEX_SPECIAL[char])
        elif ord(char) < 128:
            out.append(char if char.isprintable() else " ")
            # break the font ligatures '' `` -- !` ?` (phi'' must not print as a quote)
            if char in "'`-!?" and text[index + 1:index + 2] in ("'", "`", "-"):
                out.append("{}")
        else:
            out.append(_unicode(char))
    return "".join(out)


def tex_unicode(text: object) -> str:
    """LaTeX source that may contain non-ASCII characters → pure-ASCII LaTeX source."""
    if text is None:
        return ""
    return "".join(char if ord(char) < 128 else _unicode(char) for char in str(text))


_MATH_SPLIT = re.compile(r"(?<!\\)\$")


def escape_mixed(text: object) -> str:
    """Text with ``$…$`` math: escape the prose, keep the math (made ASCII) as it is.

    An unbalanced ``$`` is escaped too, so the result always compiles as text.
    """
    if text is None:
        return ""
    parts = _MATH_SPLIT.split(str(text))
    if len(parts) % 2 == 0:  # odd number of dollars: treat all as prose
        return escape_tex(text)
    return "".join(escape_tex(p) if i % 2 == 0 else "$" + tex_unicode(p) + "$" for i, p in enumerate(parts))


# ---------------------------------------------------------------------------------------
# Long expressions

#: LaTeX longer than this (characters) is shown with its common subexpressions named (the
#: step's ``cse``), and in full in the appendix.
MAX_EXPRESSION_CHARS = LONG_LATEX
#: Width budget of one display line, in the units of :func:`visible_width` (about the
#: width of a digit in display style; the report's 10pt text line of 17.8 cm holds about 100).
LINE_WIDTH = 88.0

_GROUP_COMMANDS = re.compile(r"\\(?:d|t)?frac|\\binom|\\sqrt|\\left|\\right|\\[A-Za-z]+|\\.|[{}^_]| |.", re.S)


def _group(latex: str, start: int) -> tuple[str, int]:
    """The argument that starts at ``start`` (a ``{…}`` group or one token) and the index after it."""
    while start < len(latex) and latex[start] == " ":
        start += 1
    if start >= len(latex):
        return "", start
    if latex[start] != "{":
        match = _GROUP_COMMANDS.match(latex, start)
        return match.group(), match.end()
    depth = 0
    for index in range(start, len(latex)):
        char = latex[index]
        if char == "\\":
            continue
        if char == "{" and latex[index - 1] != "\\":
            depth += 1
        elif char == "}" and latex[index - 1] != "\\":
            depth -= 1
            if depth == 0:
                return latex[start + 1:index], index + 1
    return latex[start + 1:], len(latex)


def visible_width(latex: str) -> float:
    r"""A rough printed width of a LaTeX math expression (fractions stack, scripts shrink).

    Used only to decide where to break long displays; the template still scales any line
    that turns out wider than the page.

    >>> visible_width(r"\frac{a + b}{c}") < visible_width("a + b + c")
    True
    """
    width, index = 0.0, 0
    while index < len(latex):
        match = _GROUP_COMMANDS.match(latex, index)
        token, index = match.group(), match.end()
        if token in (r"\frac", r"\dfrac", r"\tfrac", r"\binom"):
            numerator, index = _group(latex, index)
            denominator, index = _group(latex, index)
            width += max(visible_width(numerator), visible_width(denominator)) + 0.6
        elif token == r"\sqrt":
            argument, index = _group(latex, index)
            width += visible_width(argument) + 1.0
        elif token in ("^", "_"):
            argument, index = _group(latex, index)
            width += 0.7 * visible_width(argument)
        elif token in (r"\left", r"\right", "{", "}", " ", "\\,", "\\;", "\\!", "\\ ") or token.startswith(
            (r"\begin", r"\end", r"\mathrm", r"\operatorname", r"\mathbf", r"\text")
        ):
            continue
        elif token in "+-=<>" or token in (r"\leq", r"\geq", r"\neq", r"\cdot", r"\pm", r"\approx"):
            width += 2.2
        elif token.startswith("\\") and len(token) > 2:
            width += 1.2  # a symbol such as \alpha, \sum, \log
        else:
            width += 1.0
    return width


_DEPTH = r"\\begin\{[^}]*\}|\\end\{[^}]*\}|\\left(?![A-Za-z])|\\right(?![A-Za-z])|\\[{}]|[{}]"
_SEPARATORS = {"terms": re.compile(_DEPTH + r"|(?P<cut> [+-] )"),
               "factors": re.compile(_DEPTH + r"|(?P<cut> (?:\\cdot )?)"),
               "rows": re.compile(r"(?P<cut>\\\\)|" + _DEPTH)}


def _top_level_split(latex: str, kind: str) -> list[str]:
    r"""Split ``latex`` at its top-level separators: before each binary ``+``/``-``
    (``kind="terms"``), at the spaces between the factors of a product (``"factors"``), or at
    the ``\\`` between the rows of a matrix body (``"rows"``, the separator dropped).

    Top level: outside braces, ``\left…\right`` pairs and environments.  Unbalanced input
    comes back whole.
    """
    depth, cuts = 0, []
    for match in _SEPARATORS[kind].finditer(latex):
        token = match.group()
        if token == "{" or token == r"\left" or token.startswith(r"\begin{"):
            depth += 1
        elif token == "}" or token == r"\right" or token.startswith(r"\end{"):
            depth -= 1
        elif match.group("cut") and depth == 0 and match.start() > 0:
            cuts.append((match.start(), match.end()))
        if depth < 0:
            return [latex]
    if depth != 0:
        return [latex]
    pieces, start = [], 0
    for begin, end in cuts:
        pieces.append(latex[start:begin].strip())
        start = begin if kind == "terms" else end  # a term keeps its sign
    pieces.append(latex[start:].strip())
    return [p for p in pieces if p]


def _top_level_terms(latex: str) -> list[str]:
    """Split ``latex`` before each top-level binary ``+``/``-`` (see :func:`_top_level_split`)."""
    return _top_level_split(latex, "terms")


def math_lines(latex: str, *, width: float = LINE_WIDTH) -> list[str]:
    r"""Break a long LaTeX expression into display lines at top-level ``+``/``-``.

    Terms are packed greedily into lines whose :func:`visible_width` is at most
    ``width``; a single term wider than that stays whole (the template scales an
    over-wide line down to the text width).  Short expressions come back as one line.

    >>> math_lines("a + b", width=80)
    ['a + b']
    >>> math_lines(r"\left(a + b\right) c - d", width=5)
    ['\\left(a + b\\right) c', '- d']
    """
    latex = latex.strip()
    if visible_width(latex) <= width:
        return [latex]
    lines: list[str] = []
    for term in _top_level_terms(latex):
        if lines and visible_width(lines[-1]) + visible_width(term) <= width:
            lines[-1] = lines[-1] + " " + term
        else:
            lines.append(term)
    return lines


#: Indentation of one nesting level of :func:`display_lines`, in :func:`visible_width` units.
INDENT = 3.0
#: Levels deeper than this are not indented further (the brackets still show the nesting):
#: deep expressions would otherwise be pushed into a sliver at the right of a column.
MAX_INDENT_DEPTH = 4


def indent_width(depth: int) -> float:
    """The indentation of a line at nesting ``depth`` (:data:`INDENT` per level, at most
    :data:`MAX_INDENT_DEPTH` levels), in :func:`visible_width` units."""
    return INDENT * min(depth, MAX_INDENT_DEPTH)

_BRACKETED = re.compile(r"\\left(\(|\[)(.*)\\right(\)|\])(\^.*)?", re.S)
_MATRIX = re.compile(r"\\begin\{matrix\}(.*)\\end\{matrix\}", re.S)


def _pack(chunks: Iterable[list[tuple[int, str]]], width: float, joiner: str = " ",
          lead: str = "") -> list[tuple[int, str]]:
    """Lay out pieces, each a list of ``(depth, line)``, one after the other: a piece's first
    line joins the current line (with ``joiner``) when it has the same depth and both fit
    into ``width``; otherwise it starts a new line, prefixed with ``lead``."""
    out: list[tuple[int, str]] = []
    for chunk in chunks:
        (depth, first), rest = chunk[0], chunk[1:]
        if out and out[-1][0] == depth and (
                visible_width(out[-1][1] + joiner + first) + indent_width(depth) <= width):
            out[-1] = (depth, out[-1][1] + joiner + first)
        else:
            out.append((depth, (lead if out else "") + first))
        out.extend(rest)
    return out


def display_lines(latex: str, width: float = LINE_WIDTH, depth: int = 0) -> list[tuple[int, str]]:
    r"""Break a LaTeX expression into display lines ``(depth, line)`` that fit ``width``
    (:func:`visible_width`, less :data:`INDENT` per depth): a sum at its ``+``/``-``, a product
    between its factors (a new line starts with ``\cdot``), and a factor too wide for a line
    is opened: ``\left( X \right)^e`` becomes the lines of ``X`` one level deeper, the first
    after ``\Bigl(``, the last before ``\Bigr)^e``; a fraction ``\frac{N}{D}`` becomes ``\frac{1}{D}`` times ``N`` (or ``N``,
    ``\Big/``, ``D`` when ``D`` is wide too); a column vector its entries, ``[\,…\,]^\top``.
    Every line is a complete formula on its own, and the lines read in order are the
    expression.  What cannot be opened stays whole (the template scales it to the line).

    >>> display_lines(r"\left(a + b + c\right)^{2}", width=8)
    [(1, '\\Bigl( a'), (1, '+ b'), (1, '+ c \\Bigr)^{2}')]
    """
    latex = latex.strip()
    if visible_width(latex) + indent_width(depth) <= width:
        return [(depth, latex)]
    terms = _top_level_split(latex, "terms")
    if len(terms) > 1:
        return _pack((display_lines(term, width, depth) for term in terms), width)
    sign, body = ("", latex) if latex[:2] not in ("- ", "+ ") else (latex[0] + " ", latex[2:].strip())
    factors = _top_level_split(body, "factors")
    lines = (_pack((_open(f, width, depth) for f in factors), width, lead=r"\cdot ")
             if len(factors) > 1 else _open(body, width, depth))
    return [(lines[0][0], sign + lines[0][1])] + lines[1:]


def _balanced(latex: str) -> bool:
    r"""Whether braces, ``\left``/``\right`` and environments pair up in ``latex`` (so that a
    ``\left(`` before it and a ``\right)`` after it are partners)."""
    depth = 0
    for match in _SEPARATORS["terms"].finditer(latex):
        token = match.group()
        depth += (token in ("{", r"\left") or token.startswith(r"\begin{")) - (
            token in ("}", r"\right") or token.startswith(r"\end{"))
        if depth < 0:
            return False
    return depth == 0


def _wrap(lines: list[tuple[int, str]], opening: str, closing: str) -> list[tuple[int, str]]:
    """``lines`` with ``opening`` before the first and ``closing`` after the last."""
    (first_depth, first), *rest = lines
    lines = [(first_depth, f"{opening} {first}".lstrip())] + rest
    return lines[:-1] + [(lines[-1][0], f"{lines[-1][1]} {closing}".rstrip())]


def _open(factor: str, width: float, depth: int) -> list[tuple[int, str]]:
    """The lines of one factor of a product (see :func:`display_lines`)."""
    if visible_width(factor) + indent_width(depth) <= width:
        return [(depth, factor)]
    inner_width = width - 2.0  # room for the brackets
    if factor.startswith((r"\frac{", r"\dfrac{")):
        numerator, end = _group(factor, factor.index("{"))
        denominator, end = _group(factor, end)
        if end == len(factor):
            if visible_width(denominator) + indent_width(depth + 1) <= width / 2:
                numerator = (rf"\left({numerator}\right)" if len(_top_level_split(numerator, "terms")) > 1
                             else numerator)
                return display_lines(rf"\frac{{1}}{{{denominator}}} {numerator}", width, depth)
            return (_wrap(display_lines(numerator, inner_width, depth + 1), r"\Bigl(", r"\Bigr) \Big/")
                    + _wrap(display_lines(denominator, inner_width, depth + 1), r"\Bigl(", r"\Bigr)"))
    bracketed = _BRACKETED.fullmatch(factor)
    if bracketed and _balanced(bracketed.group(2)):
        opening, inner, closing, power = bracketed.groups()
        matrix = _MATRIX.fullmatch(inner.strip())
        if matrix and opening == "[":
            rows = _top_level_split(matrix.group(1), "rows")
            if any("&" in row for row in rows):
                return [(depth, factor)]
            lines: list[tuple[int, str]] = []
            for k, row in enumerate(rows):
                row_lines = display_lines(row, inner_width, depth + 1)
                lines += row_lines if k == len(rows) - 1 else _wrap(row_lines, "", r",\;")
            return _wrap(lines, r"\Bigl[", r"\Bigr]^{\top}" + (power or ""))
        return _wrap(display_lines(inner, inner_width, depth + 1), r"\Bigl" + opening,
                     r"\Bigr" + closing + (power or ""))
    return [(depth, factor)]


def _sides(step: dict) -> tuple[str, str]:
    """The LaTeX of a step's two sides as the report shows them (the left side's display form
    when it has one)."""
    return step.get("lhs_display") or step.get("lhs_latex") or "", step.get("rhs_latex") or ""


def _relation(step: dict) -> str:
    return step.get("relation_latex") or escape_tex(step.get("relation") or "=")


def _expression_size(step: dict) -> int:
    return sum(map(len, _sides(step)))


def long_key(step: dict) -> str:
    """A label for a long expression, the same wherever the step is met (text and appendix)."""
    text = "\0".join(_sides(step))
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def _as_row(latex: str) -> str:
    r"""A column vector of three or more short entries as its transposed row (one line instead
    of a tall column); anything else unchanged.

    >>> _as_row(r"\left[\begin{matrix}0\\0\\0\end{matrix}\right]")
    '\\left[\\begin{matrix}0 & 0 & 0\\end{matrix}\\right]^{\\top}'
    """
    bracketed = _BRACKETED.fullmatch(latex.strip())
    matrix = bracketed and not bracketed.group(4) and _MATRIX.fullmatch(bracketed.group(2).strip())
    if not matrix or not _balanced(bracketed.group(2)):
        return latex
    rows = _top_level_split(matrix.group(1), "rows")
    if len(rows) < 3 or any("&" in row or visible_width(row) > 12 for row in rows):
        return latex
    return rf"\left[\begin{{matrix}}{' & '.join(rows)}\end{{matrix}}\right]^{{\top}}"


def step_math(step: dict, source: str = "the JSON results", *, full: bool = False) -> str:
    r"""LaTeX lines (``\fpline``/``\fpcont`` calls) that typeset ``lhs relation rhs`` of a step.

    ``lhs_display`` (when non-empty) replaces ``lhs_latex``.  Short steps take one line.
    Longer ones are broken at top-level ``+``/``-``: after a short left side the right side
    continues on its line, aligned; otherwise the relation starts the right side on a new
    line.  An expression above :data:`MAX_EXPRESSION_CHARS` characters is typeset in full in
    the report's appendix (``full=True``, see :func:`long_expressions`); in the text a link
    points there (and it is in ``source`` too).
    """
    lhs, rhs = _sides(step)
    relation = _relation(step)
    size = _expression_size(step)
    if size > MAX_EXPRESSION_CHARS and not full:
        link = (rf"\emph{{(an expression of {size} characters, typeset in full in "
                rf"\hyperref[long:{long_key(step)}]{{the appendix}}; it is also in {source})}}")
        named = step.get("cse")
        if not named:
            return link
        reduced = {**step, "lhs_display": "", "lhs_latex": named["lhs_latex"], "rhs_latex": named["rhs_latex"]}
        definitions = _pack((display_lines(f"{tex_unicode(name)} = {tex_unicode(value)}", LINE_WIDTH - 8)
                             for name, value in named["definitions"]), LINE_WIDTH - 8, joiner=r",\quad ")
        where = [(depth + 1, ("" if k else r"\text{where }") + line) for k, (depth, line) in enumerate(definitions)]
        return (step_math(reduced, full=True) + "\\\\[2pt]\n" + indented_lines(where) + "\\\\[2pt]\n"
                + rf"{{\small {link}}}")
    lhs, rhs = _as_row(tex_unicode(lhs)), _as_row(tex_unicode(rhs))
    if visible_width(lhs) + visible_width(rhs) + 2.2 <= LINE_WIDTH:
        return rf"\fpline{{{lhs} {relation} {rhs}}}"
    lines = []
    lhs_width = visible_width(lhs)
    if lhs_width <= 0.35 * LINE_WIDTH:  # short left side: the right side continues beside it
        for index, line in enumerate(math_lines(rhs, width=LINE_WIDTH - lhs_width - 2.2)):
            if index == 0:
                lines.append(rf"\fpline{{{lhs} {relation} {line}}}")
            else:
                lines.append(rf"\fpline{{\hphantom{{{lhs} {relation}{{}}}}{line}}}")
        return "\\\\[2pt]\n".join(lines)
    for index, line in enumerate(math_lines(lhs)):
        lines.append(rf"\fpline{{{line}}}" if index == 0 else rf"\fpcont{{{{}}{line}}}")
    for index, line in enumerate(math_lines(rhs)):
        if index == 0:
            lines.append(rf"\fpcont{{{{}}{relation} {line}}}")
        else:
            lines.append(rf"\fpcont{{\hphantom{{{{}}{relation}{{}}}}{line}}}")
    return "\\\\[2pt]\n".join(lines)


def indented_lines(lines: Sequence[tuple[int, str]]) -> str:
    r"""``(depth, math)`` lines as ``\fpat`` calls of the template, one per line, indented by depth."""
    return "\\\\[1pt]\n".join(rf"\fpat{{{min(depth, MAX_INDENT_DEPTH)}}}{{{line}}}" for depth, line in lines)


#: The appendix is set in this many columns, in ``\\small`` type (9pt: a unit of
#: :func:`visible_width` is 0.9 of the text's).
APPENDIX_COLUMNS = 2
#: The width of a line of the appendix: a column of small type.  :func:`visible_width` errs
#: on the wide side (measured: no line of the three reports' appendices is wider than its
#: column at this width; a wider one would be scaled down by the template).
APPENDIX_WIDTH = LINE_WIDTH / APPENDIX_COLUMNS / 0.9 + 2


def full_math(step: dict, width: float = APPENDIX_WIDTH) -> str:
    """A step's ``lhs relation rhs`` in full, broken into lines of normal size that fit
    ``width`` (:func:`display_lines`): the appendix form of a long expression."""
    lhs, rhs = map(tex_unicode, _sides(step))
    relation = _relation(step)
    lines = display_lines(lhs, width)
    depth, last = lines[-1]
    tail = display_lines(f"{relation} {rhs}", width)
    if len(tail) == 1 and visible_width(f"{last} {tail[0][1]}") + indent_width(depth) <= width:
        return indented_lines(lines[:-1] + [(depth, f"{last} {tail[0][1]}")])  # "= 0" ends the last line
    return indented_lines(lines + tail)


def long_expressions(results: Sequence[dict]) -> list[dict]:
    """The steps and falsifier conclusions too long for the text (see :func:`step_math`), once
    each, in report order: ``{"key", "id", "where", "step"}`` for the appendix."""
    found: dict[str, dict] = {}
    for result in results:
        places = [(f"step {k}" + (f", {s['instance']}" if s.get("instance") else ""), s)
                  for k, s in enumerate(result.get("steps") or [], 1)]
        places += [(f"falsifier F{k} ({f.get('setting', '')})", f.get("conclusion") or {})
                   for k, f in enumerate(result.get("falsifiers") or [], 1)]
        for where, step in places:
            if _expression_size(step) > MAX_EXPRESSION_CHARS:
                found.setdefault(long_key(step), {"key": long_key(step), "id": result["id"], "where": where,
                                                  "step": step})
    return list(found.values())


def _plural(count: object, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def step_checks(step: dict, instances: int = 1) -> str:
    """One sentence: what each route said about a step (counterexample included); with
    ``instances > 1``, about each of that many instances (the point counts summed over them)."""
    numeric = step.get("numeric") or {}
    text = route_checks(step, instances)
    if numeric.get("counterexample") is not None:
        text += f"; counterexample {point_tex(numeric['counterexample'])}, where the difference is "
        text += value_tex(numeric.get("value"))
    text += "."
    if numeric.get("note"):
        text += " " + escape_mixed(numeric["note"])
    return text


def route_checks(step: dict, instances: int = 1) -> str:
    """The part of :func:`step_checks` that many steps share: what each route did, without
    the counterexample and the note (no final period)."""
    numeric = step.get("numeric") or {}
    symbolic = step.get("symbolic")
    words = SYMBOLIC_WORDS.get(symbolic, escape_tex(symbolic))
    text = f"Symbolic route: {words}. Numeric route: "
    text += NUMERIC_WORDS.get(numeric.get("verdict"), escape_tex(numeric.get("verdict")))
    text += " " + _plural(numeric.get("points", 0), "random point") + (" per instance" if instances > 1 else "")
    text += f" ({numeric.get('exact_points', 0)} exact, {numeric.get('ball_points', 0)} in ball arithmetic"
    text += f" over all {instances})" if instances > 1 else ")"
    return text


def step_found(step: dict) -> str:
    """The part of :func:`step_checks` that is the step's own: ``Counterexample …, where the
    difference is ….`` and the numeric route's note; empty when there is neither."""
    numeric = step.get("numeric") or {}
    parts = []
    if numeric.get("counterexample") is not None:
        parts.append(f"Counterexample {point_tex(numeric['counterexample'])}, where the difference is "
                     f"{value_tex(numeric.get('value'))}.")
    if numeric.get("note"):
        parts.append(escape_mixed(numeric["note"]))
    return " ".join(parts)


def falsifier_checks(falsifiers: Sequence[dict]) -> dict:
    """The route sentences of a claim's falsifiers, the shared part said once: ``common`` is
    the :func:`route_checks` of most conclusions (``None`` unless two share it), ``each`` per
    falsifier what is left to say: its counterexample (:func:`step_found`) when its routes are
    the common ones, else its whole :func:`step_checks` sentence.

    >>> refuted = {"symbolic": "skipped", "numeric": {"verdict": "nonzero", "points": 1, "exact_points": 1,
    ...            "counterexample": {"x": "1/2"}, "value": "3"}}
    >>> out = falsifier_checks([{"conclusion": refuted}] * 2)
    >>> out["common"].startswith("Symbolic route: skipped"), out["each"][0]
    (True, 'Counterexample $x = 1/2$, where the difference is $3$.')
    """
    conclusions = [f.get("conclusion") or {} for f in falsifiers]
    routes = [route_checks(c) for c in conclusions]
    common = max(set(routes), key=routes.count, default=None)
    if common is None or routes.count(common) < 2:
        common = None
    each = [step_found(c) if route == common else step_checks(c) for c, route in zip(conclusions, routes)]
    return {"common": common + "." if common else None, "each": each}


def common_checks(steps: Sequence[dict]) -> str | None:
    """The route sentence (:func:`step_checks`) most steps of a claim share, said once per
    claim; ``None`` when no sentence is shared by two steps.  Steps whose sentence differs
    keep their own.

    >>> step = {"symbolic": "zero", "numeric": {"verdict": "zero", "points": 2, "exact_points": 2}}
    >>> common_checks([step, step, {**step, "symbolic": "unknown"}]).startswith("Symbolic route: the difference")
    True
    """
    counts: dict[str, int] = {}
    for step in steps:
        text = step_checks(step)
        counts[text] = counts.get(text, 0) + 1
    best = max(counts, key=counts.get, default=None)
    return best if best is not None and counts[best] >= 2 else None


def step_groups(steps: Sequence[dict]) -> list[dict]:
    """The steps of a derivation as the report shows them: ``{"first", "last", "label",
    "steps"}`` (1-based step numbers), where a run of consecutive steps with one ``label`` and
    an ``instance`` each (one identity over a grid) is one group, folded into a table when it
    has more than one step; every other step is a group of its own.

    >>> [(g["first"], g["last"]) for g in step_groups([{"label": "a", "instance": "1"},
    ...                                                  {"label": "a", "instance": "2"}, {"label": "a"}])]
    [(1, 2), (3, 3)]
    """
    groups: list[dict] = []
    for number, step in enumerate(steps, 1):
        last = groups[-1] if groups else None
        if (last is not None and step.get("instance") and last["steps"][-1].get("instance")
                and last["label"] == step.get("label")):
            last["steps"].append(step)
            last["last"] = number
        else:
            groups.append({"first": number, "last": number, "label": step.get("label"), "steps": [step]})
    return _fold_named_instances(groups)


_LABEL_SPLIT = re.compile(r"(?<!\\)\$|: ")


def _label_parts(label: str | None) -> tuple[str, str] | None:
    """A label ``"head: tail"`` split at its first ``": "`` outside ``$…$`` math; ``None`` if it has none."""
    inside = False
    for match in _LABEL_SPLIT.finditer(label or ""):
        if match.group() == "$":
            inside = not inside
        elif not inside:
            return label[:match.start()], label[match.end():]
    return None


def _fold_named_instances(groups: list[dict]) -> list[dict]:
    r"""Fold runs of single steps that are one identity at several instances named in the label
    instead of ``instance`` (``"rescaling …: 2-2-1 relu net"``, ``"… relu net"``, …): the same
    displayed left side (``lhs_display``), relation and reason, and labels that share the part
    before (or after) their ``": "``.  The folded members are display copies whose ``label`` is
    the shared part and ``instance`` the rest; the results themselves are not changed.

    >>> step = {"lhs_display": "B", "reason": "r", "lhs_latex": "x"}
    >>> [(g["first"], g["last"], g["label"]) for g in step_groups(
    ...     [{**step, "label": "balance: net 1"}, {**step, "label": "balance: net 2"}, {**step, "label": "other"}])]
    [(1, 2, 'balance'), (3, 3, 'other')]
    """
    def key(step: dict):
        return (step.get("lhs_display"), _relation(step), step.get("reason"))

    def shared(run: list[dict], step: dict) -> int | None:
        """Which part (0: head, 1: tail) all labels of ``run + [step]`` share, if any."""
        parts = [_label_parts(s.get("label")) for s in run + [step]]
        if None in parts:
            return None
        for side in (0, 1):
            if len({p[side] for p in parts}) == 1 and len({p[1 - side] for p in parts}) == len(parts):
                return side
        return None

    out: list[dict] = []
    for group in groups:
        step = group["steps"][0]
        last = out[-1] if out else None
        run = (last.get("originals") or last["steps"]) if last else []
        foldable = (len(group["steps"]) == 1 and not step.get("instance") and step.get("lhs_display")
                    and run and (last.get("named") is not None or len(run) == 1 and not run[0].get("instance"))
                    and key(run[0]) == key(step))
        if foldable:
            side = shared(run, step)
            if side is not None and last.get("named", side) == side:
                run = run + [step]
                parts = [_label_parts(s["label"]) for s in run]
                last.update(last=group["last"], label=parts[0][side], named=side, originals=run,
                            steps=[{**s, "label": parts[0][side], "instance": p[1 - side]} for s, p in zip(run, parts)])
                continue
        out.append(dict(group))
    for group in out:
        group.pop("named", None)
        group.pop("originals", None)
    return out


#: A step whose equation is at most this wide (:func:`visible_width`) can be a row of a
#: step table (the equation column is about 45% of the line).
TABLE_MATH_WIDTH = 0.42 * LINE_WIDTH


def _row_math_width(step: dict) -> float:
    return sum(visible_width(_as_row(tex_unicode(side))) for side in _sides(step)) + 2.2


def _fits_a_row(step: dict, common: str | None) -> bool:
    return (_expression_size(step) <= MAX_EXPRESSION_CHARS and step_checks(step) == common
            and _row_math_width(step) <= TABLE_MATH_WIDTH)


def step_blocks(steps: Sequence[dict]) -> list[dict]:
    """The derivation as the report lays it out: the groups of :func:`step_groups`, where a run
    of two or more single steps whose equation is short and whose routes say the claim's
    common sentence (:func:`common_checks`) is one ``{"kind": "table", "groups": [...]}``
    (a row per step: number, label and reason, equation, verdict); every other group is
    ``{"kind": "group", "groups": [group]}``.

    >>> step = {"lhs_latex": "a", "rhs_latex": "a", "symbolic": "zero", "numeric": {}}
    >>> [b["kind"] for b in step_blocks([step, step, {**step, "lhs_latex": "x" * 40}])]
    ['table', 'group']
    """
    common = common_checks(steps)
    blocks: list[dict] = []
    for group in step_groups(steps):
        row = len(group["steps"]) == 1 and _fits_a_row(group["steps"][0], common)
        if row and blocks and blocks[-1]["kind"] == "table":
            blocks[-1]["groups"].append(group)
        else:
            blocks.append({"kind": "table" if row else "group", "groups": [group]})
    for block in blocks:
        if len(block["groups"]) == 1:
            block["kind"] = "group"
        elif block["kind"] == "table":  # the equation column as wide as its widest equation
            widest = max(_row_math_width(g["steps"][0]) for g in block["groups"])
            block["math_share"] = round(max(0.18, widest / LINE_WIDTH + 0.02), 2)
    return blocks


def family_checks(steps: Sequence[dict]) -> dict:
    """The route sentence of a folded family, ``{"text", "others"}``: ``text`` says it once for
    the members whose routes agree in kind (symbolic word, numeric verdict, points; no
    counterexample, no note), the most common kind; ``single``: the sentence of one such member
    (the report omits ``text`` when ``single`` is the claim's common sentence); ``others`` are
    the members it does not describe, which keep their own sentence."""
    def kind(step):
        numeric = step.get("numeric") or {}
        return (step.get("symbolic"), numeric.get("verdict"), numeric.get("points"),
                numeric.get("counterexample") is None and not numeric.get("note"))

    kinds = [kind(step) for step in steps]
    typical = max(set(kinds), key=kinds.count)
    members = [step for step, k in zip(steps, kinds) if k == typical and k[3]]
    if not members:
        return {"text": None, "single": None, "others": list(steps)}
    numeric = dict(members[0].get("numeric") or {})
    for key in ("exact_points", "ball_points"):
        numeric[key] = sum((m.get("numeric") or {}).get(key, 0) for m in members)
    merged = {"symbolic": members[0].get("symbolic"), "numeric": numeric}
    return {"text": step_checks(merged, instances=len(members)) if len(members) > 1 else step_checks(members[0]),
            "single": step_checks(members[0]), "others": [step for step in steps if step not in members]}


def instance_columns(steps: Sequence[dict]) -> int:
    """How many ``instance  verdict`` cells a row of a folded family's table holds: as many as
    the widest instance name allows on the 17.8 cm line in small type (about 0.14 cm a
    character, 2 cm for the badge and the gap; at least 1, at most 6).

    >>> instance_columns([{"instance": "$L = 1$, $d = 1$"}]), instance_columns([{"instance": "x" * 60}])
    (4, 1)
    """
    widest = max((len(pdf_plain(s.get("instance") or "")) for s in steps), default=0)
    return max(1, min(6, int(18.3 / (0.14 * widest + 2.0))))


def family_verdict(steps: Sequence[dict]) -> str:
    """One verdict for a folded family: ``refuted`` if any instance is, ``verified`` if all are."""
    verdicts = {s.get("verdict") for s in steps}
    return "refuted" if "refuted" in verdicts else "verified" if verdicts == {"verified"} else "undecided"


# ---------------------------------------------------------------------------------------
# Values: counterexample points, numbers

_RATIONAL = re.compile(r"^-?\d+(/\d+)?$")
_FLOAT = re.compile(r"^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
_BALL = re.compile(r"^\[\s*(\S+)\s*\+/-\s*(\S+)\s*\]$")


def _number(text: str) -> str | None:
    """LaTeX (math mode) for a rational, decimal or ball ``[m +/- r]``; ``None`` if not a number."""
    text = text.strip()
    if _RATIONAL.match(text):
        return text.replace("/", "/\\allowbreak ") if len(text) > 16 else text
    if _FLOAT.match(text):
        mantissa, _, exponent = text.lower().partition("e")
        if exponent:
            return f"{mantissa} \\cdot 10^{{{int(exponent)}}}"
        return mantissa
    ball = _BALL.match(text)
    if ball:
        mid, rad = (_number(g) for g in ball.groups())
        if mid is not None and rad is not None:
            return f"{mid} \\pm {rad}"
    return None


def value_tex(value: object) -> str:
    """A value for a table cell or the prose: numbers as math, anything else escaped."""
    if value is None:
        return "---"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"${value}$"
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return escape_tex(value)
        text = f"{value:.3g}"
        mantissa, _, exponent = text.partition("e")
        if exponent:
            return f"${mantissa} \\times 10^{{{int(exponent)}}}$" if mantissa != "1" else f"$10^{{{int(exponent)}}}$"
        return f"${text}$"
    number = _number(str(value))
    return f"${number}$" if number is not None else escape_mixed(value)


@functools.lru_cache(maxsize=4096)
def symbol_tex(name: str) -> str:
    """A sympy symbol name (``A_11``, ``eta1``) as LaTeX (``A_{11}``, ``\\eta_{1}``)."""
    try:
        import sympy

        return sympy.latex(sympy.Symbol(name))
    except Exception:  # pragma: no cover - sympy is a dependency; be safe anyway
        return r"\text{" + escape_tex(name) + "}"


def point_tex(point: object) -> str:
    """A counterexample point ``{symbol: value}`` as a breakable list of ``$s = v$``."""
    if point is None:
        return "---"
    if not isinstance(point, dict):
        return value_tex(point)
    items = []
    for name in sorted(point, key=str):
        number = _number(str(point[name]))
        shown = number if number is not None else r"\text{" + escape_tex(point[name]) + "}"
        items.append(f"${symbol_tex(str(name))} = {shown}$")
    return ", ".join(items) if items else "---"


# ---------------------------------------------------------------------------------------
# Rendering


VERDICT_COLORS = {"verified": "fpverified", "refuted": "fprefuted", "undecided": "fpundecided"}
SYMBOLIC_WORDS = {
    "zero": "the difference simplifies to zero",
    "holds": "the inequality is proved",
    "unknown": "could not decide",
    "skipped": "skipped (the numeric route found a counterexample first)",
}
NUMERIC_WORDS = {
    "zero": "the difference vanishes at",
    "holds": "the inequality holds at",
    "nonzero": "the difference is not zero at one of",
    "fails": "the inequality fails at one of",
    "undecided": "could not decide at",
}

_PDF_WORDS = {"\u2264": "<=", "\u2265": ">=", "\u2260": "!=", "\u2212": "-", "\u2013": "-", "\u2014": "-",
              "\u2192": "->", "\u221e": "inf", "\u2113": "l", "\u2299": "*", "\u00b7": "*"}

#: LaTeX math commands → plain text for PDF strings (:func:`pdf_plain`); the symbols say in
#: ASCII what :data:`_PDF_WORDS` says for their Unicode characters.  Greek letters (``\eta``,
#: ``\varphi``, ``\Sigma``) become their names (:data:`_GREEK`), other commands their name.
_PDF_MATH = {
    "langle": "<", "rangle": ">", "nabla": "grad", "partial": "d", "odot": "*", "cdot": "*", "times": "x",
    "ast": "*", "circ": "o", "le": "<=", "leq": "<=", "ge": ">=", "geq": ">=", "ne": "!=", "neq": "!=",
    "approx": "~", "sim": "~", "equiv": "==", "to": "->", "mapsto": "->", "rightarrow": "->",
    "Rightarrow": "=>", "Leftrightarrow": "<=>", "infty": "inf", "ell": "l", "pm": "+-", "dots": "...",
    "ldots": "...", "cdots": "...", "top": "T", "prime": "'", "mid": "|", "vert": "|", "Vert": "||",
    "lVert": "||", "rVert": "||", "succ": ">", "prec": "<", "quad": " ", "qquad": " ", "colon": ":",
}
_PDF_SPACES = {",": " ", ";": " ", ":": " ", " ": " ", "!": "", "{": "{", "}": "}", "|": "||", "$": "$"}
_PDF_DROP = {"left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "displaystyle",
             "textstyle", "limits"}
_PDF_TEXT = {"mathrm", "operatorname", "text", "textrm", "mathit", "mathcal", "mathbf", "mathbb", "mathsf",
             "boldsymbol", "mathtt", "textsf"}
_PDF_FRACS = {"frac", "tfrac", "dfrac"}
_PDF_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|.", re.S)


def _pdf_wrap(text: str) -> str:
    """``a`` or ``(a + b)``: a fraction's part or a superscript, parenthesized when not one word."""
    return text if re.fullmatch(r"[A-Za-z0-9.']+|\([^()]*\)", text) else f"({text})"


def _pdf_math(latex: str) -> str:
    """LaTeX math → readable plain text (``\\frac{d}{dt}`` → ``d/dt``, ``^{2-2/L}`` → ``^(2-2/L)``)."""
    out: list[str] = []
    word = False  # the last piece was a word from a command: a letter after it needs a space

    def put(piece: str, *, is_word: bool = False):
        nonlocal word
        if piece and (word or is_word) and out and out[-1][-1:].isalnum() and piece[0].isalnum():
            out.append(" ")
        out.append(piece)
        word = is_word

    index = 0
    while index < len(latex):
        token = _PDF_TOKEN.match(latex, index).group()
        index += len(token)
        name = token[1:]
        if name in ("langle", "lVert"):  # no space inside an opening bracket: <w, g>
            while latex[index:index + 1] == " ":
                index += 1
        if token in ("^", "_"):
            argument, index = _group(latex, index)
            text = _pdf_math(argument)
            plain = len(text) <= 1 or text.isalnum()
            put(token + (text if plain else _pdf_wrap(text) if token == "^" else "{" + text + "}"))
        elif name in _PDF_FRACS:
            numerator, index = _group(latex, index)
            denominator, index = _group(latex, index)
            put(f"{_pdf_wrap(_pdf_math(numerator))}/{_pdf_wrap(_pdf_math(denominator))}")
        elif name == "sqrt":
            argument, index = _group(latex, index)
            put(f"sqrt({_pdf_math(argument)})", is_word=True)
        elif name == "dot":
            argument, index = _group(latex, index)
            put(_pdf_math(argument) + "'")
        elif name in _PDF_TEXT:
            argument, index = _group(latex, index)
            put(_pdf_math(argument) if name != "text" else argument, is_word=True)
        elif name in _PDF_DROP:
            continue
        elif len(token) == 2 and token[0] == "\\" and not token[1].isalpha():
            put(_PDF_SPACES.get(token[1], token[1]))
        elif token[0] == "\\":
            greek = name[3:] if name.startswith("var") and name[3:] in _GREEK else name
            plain = _PDF_MATH.get(name) or (greek if greek.lower() in _GREEK else name)
            put(plain, is_word=plain[:1].isalpha())
        elif token in "{}":
            continue
        else:
            put(" " if token in "~&" else token)
    return re.sub(r" {2,}", " ", "".join(out))


def pdf_plain(text: object) -> str:
    r"""Text with ``$…$`` math → plain ASCII for PDF bookmarks: the dollars go, the math is
    read out (commands by :data:`_PDF_MATH`, Greek by name), the prose and its Unicode as
    :func:`pdf_string` always did; an unbalanced ``$`` keeps everything prose.

    >>> pdf_plain(r"Dual-energy growth: $\frac{d}{dt}\sum_j G(\theta_j) = L\sum_i (-\ell'(q_i))\,q_i$")
    "Dual-energy growth: d/dt sum_j G(theta_j) = L sum_i (-l'(q_i)) q_i"
    >>> pdf_plain(r"grows by exactly $\eta^2 \sum_i g_i^2 |w_i|^{2-2/L}$; generic $\varphi$: $G'(x) = x\,\varphi''(x)$")
    "grows by exactly eta^2 sum_i g_i^2 |w_i|^(2-2/L); generic phi: G'(x) = x phi''(x)"
    >>> pdf_plain(r"$\dot w = -L\,|w|^{2-2/L} \odot g$, $\frac12\|Xw - y\|^2$, $\eta_1 \ne \eta_2$, $\ell_\infty$")
    "w' = -L |w|^(2-2/L) * g, 1/2||Xw - y||^2, eta_1 != eta_2, l_inf"
    >>> pdf_plain("costs $5, plain ASCII, ≤ ∞")
    'costs $5, plain ASCII, <= inf'
    """
    text = "" if text is None else str(text)
    parts = _MATH_SPLIT.split(text)
    if len(parts) % 2 == 1 and len(parts) > 1:
        text = "".join(p.replace(r"\$", "$") if i % 2 == 0 else _pdf_math(p) for i, p in enumerate(parts))
    out = []
    for char in text:
        if ord(char) < 128:
            out.append(char)
        elif char in _PDF_WORDS:
            out.append(_PDF_WORDS[char])
        elif unicodedata.name(char, "").startswith("GREEK"):
            out.append(unicodedata.name(char).split()[-1].lower())
        else:
            out.append(unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode() or "?")
    return "".join(out)


def pdf_string(text: object) -> str:
    """Plain ASCII for PDF bookmarks (``\\texorpdfstring``), escaped for LaTeX; ``$…$`` math
    is read out as plain text (:func:`pdf_plain`)."""
    return escape_tex(pdf_plain(text))


def plot_coordinates(series: dict, *, xlog: bool = True, ylog: bool = True) -> str:
    """pgfplots ``coordinates`` of a series ``{"x": [...], "y": [...]}`` (log–log axes unless
    ``xlog``/``ylog`` say otherwise): points an axis cannot show (not finite, or not positive
    on a log axis) are left out.

    >>> plot_coordinates({"x": [1, 10, 100], "y": [0.5, 0.0, 2e-7]})
    '(1,0.5) (100,2e-07)'
    >>> plot_coordinates({"x": [0, 1], "y": [-1, 1]}, xlog=False, ylog=False)
    '(0,-1) (1,1)'
    """
    points = [(float(x), float(y)) for x, y in zip(series["x"], series["y"])]
    return " ".join(f"({x:.6g},{y:.6g})" for x, y in points
                    if math.isfinite(x) and math.isfinite(y) and (x > 0 or not xlog) and (y > 0 or not ylog))


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        block_start_string=r"\BLOCK{",
        block_end_string="}",
        variable_start_string=r"\VAR{",
        variable_end_string="}",
        comment_start_string=r"\#{",
        comment_end_string="}",
        line_comment_prefix="%#",
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(
        tex=escape_tex,
        mixed=escape_mixed,
        latex=tex_unicode,
        value=value_tex,
        point=point_tex,
        math=step_math,
        math_full=full_math,
        checks=step_checks,
        common_checks=common_checks,
        groups=step_groups,
        blocks=step_blocks,
        family_verdict=family_verdict,
        instance_columns=instance_columns,
        family_checks=family_checks,
        falsifier_checks=falsifier_checks,
        pdfstring=pdf_string,
        coordinates=plot_coordinates,
        figures=_figures_tex,
        verdict_color=lambda v: VERDICT_COLORS.get(v, "fpundecided"),
    )
    env.globals.update(max_expression_chars=MAX_EXPRESSION_CHARS, evidence_columns=EVIDENCE_COLUMNS,
                       appendix_columns=APPENDIX_COLUMNS)
    return env


def _figures_tex(figs: list[dict]) -> str:
    from .figures import figures_tex   # reports.figures builds on this module's escaping
    return figures_tex(figs)


def _summary_row(result: dict) -> dict:
    steps, falsifiers = result.get("steps") or [], result.get("falsifiers") or []
    return {
        "id": result["id"],
        "title": result.get("title", ""),
        "verdict": result.get("verdict", "undecided"),
        "ok": bool(result.get("ok")),
        "steps_verified": sum(s.get("verdict") == "verified" for s in steps),
        "steps_total": len(steps),
        "falsified": sum(bool(f.get("falsified")) for f in falsifiers),
        "falsifiers_total": len(falsifiers),
    }


def summarize(results: Sequence[dict]) -> list[dict]:
    """Per claim: verdict, steps verified/total, falsifiers falsified/total (no timings)."""
    return [_summary_row(r) for r in results]


def shown_experiment(spec: dict, experiment: dict) -> dict:
    """An experiment as the report shows it: with ``spec["evidence_tables"][id]["names"]``, its
    rows' ``quantity`` and ``precision`` cells carry LaTeX names (a copy; the input is kept).

    >>> spec = {"evidence_tables": {"X": {"names": lambda: {"net 2": "net $2$"}}}}
    >>> shown_experiment(spec, {"id": "X", "evidence": [{"quantity": "net 2", "drift": "1"}]})["evidence"]
    [{'quantity': 'net $2$', 'drift': '1'}]
    """
    table = (spec.get("evidence_tables") or {}).get(experiment.get("id"), {})
    if "names" not in table:
        return experiment
    names = table["names"]()
    rows = [{**row, **{key: names.get(row[key], row[key]) for key in ("quantity", "precision") if key in row}}
            for row in experiment.get("evidence") or []]
    return {**experiment, "evidence": rows}


def _law_tex_names() -> dict[str, str]:
    """The plain names of the conservation settings' models and flows → their LaTeX names."""
    from derivations.law_claims import SETTINGS

    names = {}
    for setting in SETTINGS:
        model = setting.build()
        names[model.name] = model.tex_name
        names[setting.flow] = setting.flow_tex
    return names


def render_tex(
    spec: dict,
    results: Sequence[dict],
    *,
    name: str = "report",
    points: int | None = None,
    seed: int | None = None,
    experiments: Sequence[dict] = (),
) -> str:
    """The ``.tex`` source of one report (``spec``: an entry of :data:`REPORTS`, ``name`` its key).

    ``results``: JSON-form claim results; ``experiments``: ``{"id", "title", "evidence"}``
    for numerical experiments without a registered claim.  Deterministic: the same
    arguments give the same string (timings in the results are not used).
    """
    validate_results(results, source="render_tex")
    template = _environment().get_template(spec.get("template", "report.tex.j2"))
    rows = summarize(results)
    text = template.render(
        spec=spec,
        name=name,
        source=r"\texttt{" + escape_tex(f"{name}.json") + "}",
        results=list(results),
        summary=rows,
        totals={
            "claims": len(rows),
            "ok": sum(r["ok"] for r in rows),
            "steps_verified": sum(r["steps_verified"] for r in rows),
            "steps_total": sum(r["steps_total"] for r in rows),
            "falsified": sum(r["falsified"] for r in rows),
            "falsifiers_total": sum(r["falsifiers_total"] for r in rows),
        },
        points=points,
        seed=seed,
        experiments=[shown_experiment(spec, e) for e in experiments],
        long_expressions=long_expressions(results),
    )
    return text


# ---------------------------------------------------------------------------------------
# The JSON contract of claim results (README, "The JSON contract")

VERDICTS = ("verified", "refuted", "undecided")
SYMBOLIC = ("zero", "holds", "unknown", "skipped")
_TEXT, _OPTIONAL_TEXT = (str,), (str, type(None))
_KIND_NAMES = {str: "a string", list: "a list", dict: "an object", bool: "true or false",
               int: "a number", float: "a number", type(None): "null"}


class ResultsError(ValueError):
    """Claim results that do not follow the JSON contract; the message names the element and field."""


def _field(obj: dict, key: str, kinds: tuple, where: str, *, required: bool = True, choices=()) -> None:
    if key not in obj:
        if required:
            raise ResultsError(f"{where}: the field '{key}' is missing")
        return
    value = obj[key]
    if not isinstance(value, kinds) or isinstance(value, bool) and bool not in kinds:
        expected = " or ".join(dict.fromkeys(_KIND_NAMES[k] for k in kinds))
        raise ResultsError(f"{where}: '{key}' must be {expected}, got {json_type(value)}")
    if choices and value not in choices:
        raise ResultsError(f"{where}: '{key}' is {value!r}; expected one of {', '.join(choices)}")


def json_type(value: object) -> str:
    """How a JSON value is called in messages: ``a string 'x'``, ``a list``, ``null`` ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    return {dict: "an object", list: "a list"}.get(type(value), f"the number {value!r}")


def _validate_step(step: object, where: str) -> None:
    if not isinstance(step, dict):
        raise ResultsError(f"{where} must be an object (a step), got {json_type(step)}")
    _field(step, "verdict", _TEXT, where, choices=VERDICTS)
    _field(step, "reason", _TEXT, where)
    for key in ("label", "instance", "lhs_latex", "rhs_latex", "lhs_display", "relation", "relation_latex"):
        _field(step, key, _OPTIONAL_TEXT, where, required=False)
    _field(step, "symbolic", _TEXT, where, required=False, choices=SYMBOLIC)
    _field(step, "numeric", (dict, type(None)), where, required=False)


def validate_results(results: object, *, source: str = "results") -> list[dict]:
    """Check claim results against the JSON contract of ``python -m derivations --json``
    (what the reports read); return them, or raise :class:`ResultsError` naming ``source``,
    the element (index and id) and the field.

    >>> validate_results([{"id": "DL-1", "verdict": "maybe"}], source="r.json")
    Traceback (most recent call last):
    ...
    reports.build.ResultsError: r.json: element 0 (DL-1): 'verdict' is 'maybe'; expected one of verified, refuted, undecided
    """
    if not isinstance(results, list):
        raise ResultsError(f"{source}: expected a JSON list of claim results (as printed by "
                           f"'python -m derivations --json'), got {json_type(results)}")
    if not results:
        raise ResultsError(f"{source}: the list of claim results is empty")
    seen: dict[str, int] = {}
    for index, result in enumerate(results):
        where = f"{source}: element {index}"
        if not isinstance(result, dict):
            raise ResultsError(f"{where} must be an object (a claim result), got {json_type(result)}")
        _field(result, "id", _TEXT, where)
        if not result["id"].strip():
            raise ResultsError(f"{where}: 'id' is empty")
        if result["id"] in seen:
            raise ResultsError(f"{where}: the id {result['id']!r} repeats element {seen[result['id']]}")
        seen[result["id"]] = index
        where = f"{where} ({result['id']})"
        _field(result, "verdict", _TEXT, where, choices=VERDICTS)
        for key in ("title", "statement"):
            _field(result, key, _TEXT, where)
        for key in ("group", "scope", "error"):
            _field(result, key, _OPTIONAL_TEXT, where, required=False)
        _field(result, "ok", (bool,), where, required=False)
        _field(result, "seconds", (int, float, type(None)), where, required=False)
        for key in ("steps", "falsifiers"):
            _field(result, key, (list,), where)
        _field(result, "assumptions", (list,), where, required=False)
        for k, assumption in enumerate(result.get("assumptions") or []):
            if not isinstance(assumption, dict):
                raise ResultsError(f"{where}: assumptions[{k}] must be an object, got {json_type(assumption)}")
            for key in ("name", "text"):
                _field(assumption, key, _TEXT, f"{where}: assumptions[{k}]")
        for k, step in enumerate(result["steps"]):
            _validate_step(step, f"{where}: steps[{k}]")
        for k, falsifier in enumerate(result["falsifiers"]):
            at = f"{where}: falsifiers[{k}]"
            if not isinstance(falsifier, dict):
                raise ResultsError(f"{at} must be an object, got {json_type(falsifier)}")
            for key in ("drops", "setting"):
                _field(falsifier, key, _TEXT, at)
            _field(falsifier, "falsified", (bool,), at)
            _field(falsifier, "conclusion", (dict,), at)
            _validate_step(falsifier["conclusion"], f"{at}.conclusion")
        _field(result, "evidence", (list,), where, required=False)
        for k, row in enumerate(result.get("evidence") or []):
            if not isinstance(row, dict):
                raise ResultsError(f"{where}: evidence[{k}] must be an object, got {json_type(row)}")
    return results


# ---------------------------------------------------------------------------------------
# Files and PDF


def prepare_out(out: Path | str) -> Path:
    """The output folder ``out``, created if needed and checked to be writable (by
    writing and removing a probe file); ``ValueError`` naming ``--out`` otherwise."""
    if str(out).strip() == "":
        raise ValueError("--out: empty path: give a folder (e.g. reports/build)")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out}: exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=".write-test.", dir=out)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise ValueError(f"--out {out}: cannot write there ({exc.strerror or exc})") from None
    return out


class LatexError(RuntimeError):
    """pdflatex failed; ``log_tail`` holds the end of its log."""

    def __init__(self, message: str, log_tail: str = "", log: str = ""):
        super().__init__(message)
        self.log_tail = log_tail
        self.log = log


def pdflatex_path() -> str | None:
    return shutil.which("pdflatex")


def source_date_epoch() -> str:
    """``SOURCE_DATE_EPOCH`` from the environment, else 0 (the PDF carries no real date)."""
    value = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    return value if value.isdigit() else "0"


def compile_pdf(
    tex: str,
    jobname: str,
    *,
    passes: int = 4,
    timeout: float = 600.0,
    progress: Callable[[str], None] | None = None,
) -> bytes:
    """Compile ``tex`` with pdflatex in a fresh temporary directory; return the PDF bytes.

    Runs pdflatex (``-halt-on-error``, no shell escape) until the log stops asking for a
    rerun (at least twice, at most ``passes`` times).  Raises :class:`LatexError` with
    the tail of the log on failure.
    """
    executable = pdflatex_path()
    if executable is None:
        raise LatexError("pdflatex is not on PATH")
    if not re.fullmatch(r"[A-Za-z0-9_-]+", jobname):
        raise ValueError(f"compile_pdf: jobname must be letters, digits, '_' or '-', got {jobname!r}")
    env = dict(os.environ)
    env.update(SOURCE_DATE_EPOCH=source_date_epoch(), FORCE_SOURCE_DATE="1", max_print_line="1000")
    with tempfile.TemporaryDirectory(prefix="flowproof-tex-") as folder:
        source = Path(folder) / f"{jobname}.tex"
        source.write_text(tex, encoding="utf-8")
        command = [
            executable, "-interaction=nonstopmode", "-halt-on-error", "-file-line-error",
            "-no-shell-escape", f"-jobname={jobname}", source.name,
        ]
        log_path = Path(folder) / f"{jobname}.log"
        for number in range(1, passes + 1):
            if progress:
                progress(f"pdflatex pass {number}")
            try:
                completed = subprocess.run(
                    command, cwd=folder, env=env, stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout,
                )
            except subprocess.TimeoutExpired as exc:
                raise LatexError(f"pdflatex timed out after {timeout:.0f} s") from exc
            log = log_path.read_text(encoding="latin-1") if log_path.exists() else completed.stdout.decode("latin-1")
            if completed.returncode != 0:
                tail = "\n".join(log.splitlines()[-40:])
                raise LatexError(f"pdflatex failed (exit code {completed.returncode}) on pass {number}", tail, log)
            if number >= 2 and not re.search(r"Rerun to get|Rerun LaTeX|Label\(s\) may have changed", log):
                break
        return (Path(folder) / f"{jobname}.pdf").read_bytes()


def groups_of(spec: dict) -> list[str]:
    return list(spec.get("groups") or [])


def select_claims(spec: dict, claims: Iterable) -> list:
    """The registered claims that belong to the report, in the order of its groups."""
    claims = list(claims)
    return [c for group in groups_of(spec) for c in claims if c.group == group]


def split_evidence(spec: dict, results: Sequence[dict], rows: dict[str, list[dict]]) -> list[dict]:
    """Attach evidence rows to their claim results (in place); return the rest as experiments.

    >>> results = [{"id": "MF-2"}]
    >>> split_evidence({"experiments": {"MF-5": "Q-margin"}}, results, {"MF-2": [{}], "MF-5": [{}]})
    [{'id': 'MF-5', 'title': 'Q-margin', 'evidence': [{}]}]
    >>> results
    [{'id': 'MF-2', 'evidence': [{}]}]
    """
    by_id = {result["id"]: result for result in results}
    experiments = []
    for claim_id, claim_rows in rows.items():
        if not claim_rows:
            continue
        if claim_id in by_id:
            by_id[claim_id]["evidence"] = claim_rows
        else:
            title = spec.get("experiments", {}).get(claim_id, "Numerical experiment")
            experiments.append({"id": claim_id, "title": title, "evidence": claim_rows})
    return experiments


# The evidence functions and experiments of the reports, imported when a report is built
# (the simulations pull in the numerics; building a report from --results without evidence
# does not).  Their results are kept in the disk cache of derivations.cache (stale as soon
# as any source file changes; ``fresh`` recomputes).

def _deep_lda_evidence():
    from numerics.deep_lda.evidence import dl_evidence
    return dl_evidence


def _mirror_flow_evidence():
    from numerics.mirror_flow.evidence import mf_evidence
    return mf_evidence


def _law_evidence():
    from numerics.core.law_witness import law_evidence
    return law_evidence


def _deep_lda_experiments():
    from numerics.deep_lda.experiments import DEPTH_SWEEP, GD_AGAINST_FLOW
    return (DEPTH_SWEEP, GD_AGAINST_FLOW)


def _mirror_flow_experiments():
    from numerics.mirror_flow.experiments import SLOW_CONVERGENCE
    from numerics.mirror_flow.feature_experiment import FEATURES
    from numerics.mirror_flow.margin_experiments import MARGIN_DIRECTION, NORM_GROWTH, SAME_HORIZON
    return (SLOW_CONVERGENCE, MARGIN_DIRECTION, SAME_HORIZON, FEATURES, NORM_GROWTH)


def numeric_evidence(spec: dict, *, quick: bool, fresh: bool = False) -> dict[str, list[dict]]:
    """Run the report's simulations (``spec["evidence"]``), or take them from the disk cache
    unless ``fresh``; {} if the report has none."""
    from derivations.cache import cached

    evidence = spec.get("evidence")
    return cached(evidence(), {"quick": quick}, fresh=fresh) if evidence else {}


def report_tasks(spec: dict, *, quick: bool) -> list:
    """Every independent computation of a report's evidence, as ``(function, arguments)``
    tasks of :func:`numerics.core.runner.run_tasks`: its evidence function and each grid
    point of its experiments (one cache entry each, so running the tasks first — e.g. on
    Dask — leaves :func:`numeric_evidence` and :func:`run_experiments` only cache hits)."""
    tasks = [(spec["evidence"](), {"quick": quick})] if spec.get("evidence") else []
    for experiment in spec.get("experiment_objects", lambda: ())():
        tasks += [(experiment.run, dict(p)) for p in experiment.grid(quick)]
    return tasks


def run_experiments(spec: dict, *, quick: bool, fresh: bool = False, progress: bool = True) -> list[dict]:
    """The report's experiments, run (or read from the cache) and shaped for the template:
    ``{"id", "title", "question", "setting", "laws", "evidence" (rows), "figures", …}``."""
    from numerics.core.runner import run_experiment

    out = []
    for experiment in spec.get("experiment_objects", lambda: ())():
        result = run_experiment(experiment, quick=quick, fresh=fresh, progress=progress)
        out.append({**result, "evidence": result.pop("rows")})
    return out


def note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
