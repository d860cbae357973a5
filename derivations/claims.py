"""The claim object: one definition drives the proof check, the tests and the report.

A ``Claim`` holds its claim ID, statement, named assumptions, a derivation (an ordered list
of ``Step`` objects ``lhs <relation> rhs`` with a reason) and ``Falsifier`` objects: for a
dropped assumption, the conclusion restated in the modified setting, which must be
*refuted*.  Steps and falsifiers are built lazily (sympy work is timed per claim).

The verdict rules are stated once, in the functions of the section "verdict rules"
below (:func:`step_verdict`, :func:`claim_verdict`, :func:`falsified`, :func:`claim_ok`,
:func:`exit_code`), and each is pinned by ``tests/test_gate.py``:
* a step is ``verified`` when the symbolic route proves it and the numeric route agrees,
  ``refuted`` when the numeric route found a certified counterexample point (exact, or a
  ball that excludes the allowed values), ``undecided`` otherwise;
* a claim is ``verified`` when it has steps and all are verified, ``refuted`` when one is;
* a falsifier counts only when its conclusion is ``refuted`` (``undecided`` is not enough);
* a claim is ok when it is verified, raised no error, has at least one falsifier and every
  falsifier is falsified; a run's exit code is 0 only when it checked claims and all are ok.

>>> import sympy as sp
>>> x = sp.Symbol("x", positive=True)
>>> check_step(Step(sp.sqrt(x**2), x, "x > 0")).verdict
'verified'
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import sympy as sp

from .zerotest import Domain, numeric_route, symbolic_route, symbolic_sign_route

__all__ = ["Step", "Falsifier", "Claim", "StepResult", "ClaimResult", "check_step", "check_claim", "chain",
           "step_verdict", "claim_verdict", "falsified", "claim_ok", "exit_code"]

RELATIONS = {"=": "=", ">=": r"\geq", "<=": r"\leq", ">": ">", "<": "<"}


@dataclass(frozen=True)
class Step:
    """One step ``lhs <relation> rhs`` of a derivation, with the reason it holds.

    ``domain`` overrides how random points are drawn for some symbols (e.g. signs in
    {-1, 1}, or a depth L >= 2); other symbols are drawn from their sympy assumptions.
    """

    lhs: sp.Basic
    rhs: sp.Basic
    reason: str
    relation: str = "="
    domain: Domain = field(default_factory=dict)
    label: str = ""
    display: str = ""  # LaTeX shown for ``lhs`` in reports (e.g. r"\frac{d}{dt}Q"); sympy may pre-evaluate lhs
    #: one instance of a family: consecutive steps with one ``label`` and an ``instance`` each
    #: (e.g. ``"$L = 3$, $d = 2$"``) are one identity checked over a grid, folded into one table
    instance: str = ""

    def __post_init__(self):
        if self.relation not in RELATIONS:
            raise ValueError(f"relation must be one of {sorted(RELATIONS)}, got {self.relation!r}")

    def differences(self) -> list[sp.Expr]:
        """The scalar expressions that must vanish (``=``) or be of a sign (``>=``, ``>``)."""
        lhs, rhs = sp.sympify(self.lhs), sp.sympify(self.rhs)
        if self.relation in ("<=", "<"):
            lhs, rhs = rhs, lhs
        shapes = [e.shape if isinstance(e, sp.MatrixBase) else "scalar" for e in (lhs, rhs)]
        if shapes[0] != shapes[1]:
            raise ValueError(f"step {self.label or self.reason!r}: shapes {shapes[0]} and {shapes[1]} differ")
        if shapes[0] != "scalar":
            return list(sp.Matrix(lhs) - sp.Matrix(rhs))
        return [lhs - rhs]

    @property
    def sign_relation(self) -> str:
        return {"=": "=", ">=": ">=", "<=": ">=", ">": ">", "<": ">"}[self.relation]


def chain(start: sp.Basic, *links: tuple, domain: Domain | None = None, display: str = "") -> list[Step]:
    """``start = e1 = e2 = …``: consecutive equal steps from ``(expression, reason[, label])`` links;
    ``display`` is the LaTeX name of ``start`` shown in reports."""
    steps, previous = [], start
    for link in links:
        expression, reason, *label = link
        steps.append(Step(previous, expression, reason, domain=dict(domain or {}), label=label[0] if label else "",
                          display=display if not steps else ""))
        previous = expression
    return steps


@dataclass(frozen=True)
class Falsifier:
    """Drop one assumption; ``build()`` restates the conclusion there, and it must be refuted."""

    drops: str
    setting: str
    build: Callable[[], Step]


@dataclass(frozen=True)
class Claim:
    id: str
    title: str
    statement: str
    assumptions: Sequence[tuple[str, str]]
    derive: Callable[[], list[Step]]
    falsifiers: Sequence[Falsifier] = ()
    scope: str = ""
    group: str = ""

    def __post_init__(self):
        if not self.group:
            object.__setattr__(self, "group", self.id.split("-")[0])


#: a step whose LaTeX is longer than this also gets its common subexpressions named (``cse``
#: in the JSON): the reports show that form, and the full expression in an appendix
LONG_LATEX = 2400


def named_subexpressions(exprs: Sequence[sp.Basic]) -> dict:
    """``exprs`` with their common subexpressions named ``κ_1, κ_2, …`` (sympy ``cse``), as
    LaTeX: ``{"definitions": [[name, expression], ...], "reduced": [...]}``.

    >>> x = sp.Symbol("x")
    >>> named_subexpressions([(x + 1) ** 2 + sp.sin(x + 1)])["reduced"]
    ['\\\\kappa_{1}^{2} + \\\\sin{\\\\left(\\\\kappa_{1} \\\\right)}']
    """
    replacements, reduced = sp.cse([sp.sympify(e) for e in exprs], symbols=sp.numbered_symbols("kappa_", start=1),
                                   optimizations="basic")
    return {"definitions": [[sp.latex(name), sp.latex(value)] for name, value in replacements],
            "reduced": [sp.latex(e) for e in reduced]}


@dataclass
class StepResult:
    step: Step
    verdict: str
    symbolic: str
    numeric: object
    seconds: float

    def to_json(self) -> dict:
        step, numeric = self.step, self.numeric
        lhs_latex, rhs_latex = sp.latex(step.lhs), sp.latex(step.rhs)
        return {
            "label": step.label,
            "instance": step.instance,
            "lhs": sp.sstr(step.lhs),
            "rhs": sp.sstr(step.rhs),
            "lhs_latex": lhs_latex,
            "lhs_display": step.display,
            "rhs_latex": rhs_latex,
            "relation": step.relation,
            "relation_latex": RELATIONS[step.relation],
            "reason": step.reason,
            "verdict": self.verdict,
            "symbolic": self.symbolic,
            "numeric": {
                "verdict": numeric.verdict,
                "points": numeric.points,
                "exact_points": numeric.exact_points,
                "ball_points": numeric.ball_points,
                "counterexample": numeric.counterexample,
                "value": numeric.value,
                "note": numeric.note,
            },
            "seconds": round(self.seconds, 4),
            **self._named(step.display or lhs_latex, rhs_latex),
        }

    def _named(self, lhs_latex: str, rhs_latex: str) -> dict:
        """``{"cse": …}`` (see :func:`named_subexpressions`) when the step's LaTeX (as shown:
        ``display`` for the left side when set) is long: the right side alone when ``display``
        stands for the left side, else both."""
        step = self.step
        if len(lhs_latex) + len(rhs_latex) <= LONG_LATEX:
            return {}
        named = named_subexpressions([step.rhs] if step.display else [step.lhs, step.rhs])
        reduced = named.pop("reduced")
        named["lhs_latex"], named["rhs_latex"] = (lhs_latex, reduced[0]) if step.display else reduced
        return {"cse": named}


# ----------------------------------------------------------------------------- verdict rules
def step_verdict(symbolic: Sequence[str], numeric: Sequence[str]) -> str:
    """The verdict of a step from the verdicts of its parts (one per entry of a matrix step).

    ``refuted`` if the numeric route found a certified counterexample in some part
    (``nonzero``/``fails``); ``verified`` if every part is proved by the symbolic route
    (``zero``/``holds``) *and* holds at every numeric point; otherwise ``undecided``.

    >>> step_verdict(["zero"], ["zero"]), step_verdict(["unknown"], ["zero"]), step_verdict([], ["nonzero"])
    ('verified', 'undecided', 'refuted')
    """
    if any(v in ("nonzero", "fails") for v in numeric):
        return "refuted"
    agrees = len(numeric) == len(symbolic) and _all_hold(numeric)
    return "verified" if _all_hold(symbolic) and agrees else "undecided"


def _all_hold(part_verdicts: Sequence[str]) -> bool:
    return bool(part_verdicts) and all(v in ("zero", "holds") for v in part_verdicts)


def claim_verdict(step_verdicts: Sequence[str]) -> str:
    """``refuted`` if a step is, ``verified`` if there are steps and all are, else ``undecided``."""
    if "refuted" in step_verdicts:
        return "refuted"
    if step_verdicts and all(v == "verified" for v in step_verdicts):
        return "verified"
    return "undecided"


def falsified(falsifier_verdict: str) -> bool:
    """A falsifier counts only when its conclusion is refuted; ``undecided`` does not count."""
    return falsifier_verdict == "refuted"


def claim_ok(verdict: str, falsifier_verdicts: Sequence[str], error: str | None = None) -> bool:
    """Verified, no error, at least one falsifier, and every falsifier falsified."""
    return (verdict == "verified" and error is None and len(falsifier_verdicts) > 0
            and all(falsified(v) for v in falsifier_verdicts))


def exit_code(results: Sequence["ClaimResult"]) -> int:
    """0 only when claims were checked and every one is ok, else 1."""
    return 0 if results and all(r.ok for r in results) else 1


# ----------------------------------------------------------------------------- checking
def check_step(step: Step, *, points: int = 8, seed: int = 0) -> StepResult:
    """Decide one step by both routes (rule: :func:`step_verdict`)."""
    started = time.perf_counter()
    relation = step.sign_relation
    symbolic_verdicts, outcomes = [], []
    for index, difference in enumerate(step.differences()):
        outcome = numeric_route(difference, step.domain, relation=relation, points=points, seed=seed + index)
        outcomes.append(outcome)
        if outcome.verdict in ("nonzero", "fails"):
            break  # a certified counterexample: the symbolic route is not needed
        if relation == "=":
            symbolic_verdicts.append(symbolic_route(difference))
        else:
            symbolic_verdicts.append(symbolic_sign_route(difference, relation))
    verdict = step_verdict(symbolic_verdicts, [o.verdict for o in outcomes])
    if verdict == "refuted":  # the counterexample is the last part checked
        numeric, symbolic = outcomes[-1], "skipped"
    else:
        numeric = next((o for o in outcomes if o.verdict == "undecided"), outcomes[0])
        symbolic = ("zero" if relation == "=" else "holds") if _all_hold(symbolic_verdicts) else "unknown"
    return StepResult(step, verdict, symbolic, numeric, time.perf_counter() - started)


@dataclass
class ClaimResult:
    claim: Claim
    verdict: str
    steps: list[StepResult]
    falsifiers: list[tuple[Falsifier, StepResult]]
    seconds: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        return claim_ok(self.verdict, [r.verdict for _, r in self.falsifiers], self.error)

    def to_json(self) -> dict:
        claim = self.claim
        return {
            "id": claim.id,
            "title": claim.title,
            "group": claim.group,
            "statement": claim.statement,
            "assumptions": [{"name": n, "text": t} for n, t in claim.assumptions],
            "scope": claim.scope,
            "verdict": self.verdict,
            "ok": self.ok,
            "error": self.error,
            "steps": [r.to_json() for r in self.steps],
            "falsifiers": [
                {
                    "drops": f.drops,
                    "setting": f.setting,
                    "falsified": falsified(r.verdict),
                    "conclusion": r.to_json(),
                }
                for f, r in self.falsifiers
            ],
            "seconds": round(self.seconds, 3),
        }


def check_claim(claim: Claim, *, points: int = 8, seed: int = 0) -> ClaimResult:
    """Check every step of the derivation and every falsifier of ``claim``."""
    started = time.perf_counter()
    try:
        steps = [check_step(s, points=points, seed=seed) for s in claim.derive()]
        falsifiers = [(f, check_step(f.build(), points=points, seed=seed)) for f in claim.falsifiers]
    except Exception as exc:  # a broken derivation is reported, not hidden
        return ClaimResult(claim, "undecided", [], [], time.perf_counter() - started, error=f"{type(exc).__name__}: {exc}")
    verdict = claim_verdict([r.verdict for r in steps])
    return ClaimResult(claim, verdict, steps, falsifiers, time.perf_counter() - started)
