"""The gate: every verdict rule of the engine, pinned by cases built to sit on its boundary.

Each rule is stated once in the code (``derivations.claims``: step_verdict, claim_verdict,
falsified, claim_ok, exit_code; ``derivations.zerotest``: point_fate, the Piecewise rule,
draw_value) and each test below fails if that rule is weakened.
"""
from __future__ import annotations

import json

import flint
import pytest
import sympy as sp

from derivations import cli, registry
from derivations.claims import (Claim, Falsifier, Step, check_claim, check_step, claim_ok,
                                claim_verdict, exit_code, falsified, step_verdict)
from derivations.zerotest import (choice, draw_value, numeric_route, point_fate, symbolic_route,
                                  symbolic_sign_route)

x = sp.Symbol("x", real=True)
y = sp.Symbol("y", real=True)
p = sp.Symbol("p", positive=True)
t = sp.Symbol("t", nonnegative=True)


# ---------------------------------------------------------------- Piecewise: every branch
@pytest.mark.parametrize("expr, expected", [
    (sp.Piecewise((0, x > 1), (x - 1, True)), "unknown"),                 # one zero branch only
    (sp.Piecewise((x - 1, x > 1), (0, True)), "unknown"),
    (sp.Piecewise((x - 1, sp.Eq(x, 1)), (0, True)), "zero"),              # zero where it applies
    (sp.Piecewise((x - 1, sp.Or(sp.Eq(x, 1), x > 5)), (0, True)), "unknown"),  # not on x > 5
    (sp.Piecewise((x - 1, sp.Eq(x**2, 1)), (0, True)), "unknown"),        # x = -1 solves it too
    (sp.Piecewise((p - 1, sp.Eq(p**2, 1)), (0, True)), "zero"),           # p > 0: only p = 1
    (sp.Piecewise((x - y, sp.And(sp.Eq(x, y), y > 0)), (0, True)), "zero"),
])
def test_a_piecewise_is_zero_only_when_every_branch_is(expr, expected):
    assert symbolic_route(expr) == expected


def test_a_piecewise_nonzero_off_the_sampled_points_is_not_verified():
    """The numeric route draws p in (0, 3) and never sees the branch p > 5: the symbolic
    route must not call it zero, so the step stays undecided (never verified)."""
    step = Step(sp.Piecewise((p - 1, sp.Or(sp.Eq(p, 1), p > 5)), (0, True)), 0, "planted")
    result = check_step(step)
    assert result.numeric.verdict == "zero"
    assert result.verdict == "undecided" and result.symbolic == "unknown"


# ---------------------------------------------------------------- strict inequalities
def test_a_strict_inequality_is_refuted_where_the_value_is_exactly_zero():
    at_zero = check_step(Step(t, 0, "t > 0?", relation=">", domain={t: choice(0)}))
    assert at_zero.verdict == "refuted" and at_zero.numeric.counterexample == {"t": "0"}
    assert check_step(Step(t, 0, "t >= 0", relation=">=", domain={t: choice(0)})).verdict == "verified"


def test_a_nonnegative_symbol_is_drawn_at_zero_too():
    import random
    rng = random.Random(0)
    values = [draw_value(t, rng) for _ in range(40)]
    assert 0 in values and all(v >= 0 for v in values)
    assert check_step(Step(t, 0, "t > 0?", relation=">")).verdict == "refuted"


def test_symbolic_sign_route_separates_strict_from_weak():
    assert symbolic_sign_route(t, ">=") == "holds"
    assert symbolic_sign_route(t, ">") == "unknown"
    assert symbolic_sign_route(t + 1, ">") == "holds"
    assert check_step(Step(x**2, 0, "x^2 > 0?", relation=">")).verdict == "undecided"


def _ball(mid, rad=0, imag=0):
    with flint.ctx.workprec(320):
        return flint.acb(flint.arb(mid, rad), imag)


@pytest.mark.parametrize("value, relation, fate", [
    (sp.Integer(0), "=", "holds"), (sp.Integer(0), ">=", "holds"), (sp.Integer(0), ">", "fails"),
    (sp.Rational(-1, 7), ">=", "fails"), (sp.Rational(1, 7), ">", "holds"), (sp.Rational(1, 7), "=", "fails"),
    (_ball(0, 2.0 ** -300), "=", "holds"),        # tight around 0: evidence of zero
    (_ball(0, 2.0 ** -300), ">=", "holds"),
    (_ball(0, 2.0 ** -300), ">", "undecided"),    # cannot tell 0 from a tiny positive value
    (_ball(0, 2.0 ** -10), "=", "undecided"),     # wide around 0: decides nothing
    (_ball(-1, 2.0 ** -300), ">=", "fails"),      # certified negative
    (_ball(1, 2.0 ** -300), ">", "holds"),
    (_ball(0, 0, 1), "=", "fails"),               # certified non-real, hence non-zero
    (_ball(1, 0, 1), ">=", "undecided"),          # not real: no sign
])
def test_the_rule_for_one_point(value, relation, fate):
    assert point_fate(value, relation) == fate


def test_a_relative_error_far_below_the_tight_radius_is_still_caught():
    z = sp.Symbol("z", positive=True)
    assert numeric_route(z ** sp.Rational(1, 3) * sp.Rational(10**40 + 1, 10**40)
                         - z ** sp.Rational(1, 3)).verdict == "nonzero"


# ---------------------------------------------------------------- step and claim verdicts
@pytest.mark.parametrize("symbolic, numeric, verdict", [
    (["zero"], ["zero"], "verified"),
    (["zero", "zero"], ["zero", "zero"], "verified"),
    (["unknown"], ["zero"], "undecided"),           # simplify alone, or numbers alone, never decide
    (["zero"], ["undecided"], "undecided"),
    (["zero", "unknown"], ["zero", "zero"], "undecided"),
    (["zero"], ["zero", "nonzero"], "refuted"),     # one matrix entry is wrong
    (["holds"], ["fails"], "refuted"),
    (["zero"], ["zero", "zero"], "undecided"),      # a part that was not proved symbolically
    ([], [], "undecided"),
])
def test_step_verdict(symbolic, numeric, verdict):
    assert step_verdict(symbolic, numeric) == verdict


@pytest.mark.parametrize("steps, verdict", [
    (["verified", "verified"], "verified"), (["verified", "undecided"], "undecided"),
    (["undecided", "refuted"], "refuted"), ([], "undecided"),
])
def test_claim_verdict(steps, verdict):
    assert claim_verdict(steps) == verdict


def test_only_a_refuted_conclusion_falsifies():
    assert falsified("refuted") and not falsified("undecided") and not falsified("verified")
    assert claim_ok("verified", ["refuted", "refuted"])
    assert not claim_ok("verified", ["refuted", "undecided"])
    assert not claim_ok("verified", [])                       # every claim needs a falsifier
    assert not claim_ok("verified", ["refuted"], error="boom")
    assert not claim_ok("undecided", ["refuted"])


def _toy_claim(identifier: str, *, true: bool = True, falsifier: Step | None = None) -> Claim:
    conclusion = Step((p + 1) ** 2, p**2 + 2 * p + 1 if true else p**2 + 1, "binomial")
    drop = falsifier or Step(sp.sqrt(x**2), x, "sqrt(x^2) = x without x > 0")
    return Claim(identifier, f"toy {identifier}", "toy", [("positive", "p > 0")], lambda: [conclusion],
                 [Falsifier("positive", "x of any sign", lambda: drop)])


def test_a_falsifier_that_is_merely_undecided_makes_the_claim_not_ok():
    undecided = Step(sp.gamma(p + 1), p * sp.gamma(p) + 0 * p, "no ball enclosure for gamma")
    result = check_claim(_toy_claim("T-10", falsifier=undecided))
    assert result.verdict == "verified" and result.falsifiers[0][1].verdict == "undecided"
    assert not result.ok and result.to_json()["falsifiers"][0]["falsified"] is False


def test_exit_code_needs_every_claim_ok():
    good, bad = check_claim(_toy_claim("T-11")), check_claim(_toy_claim("T-12", true=False))
    assert good.ok and not bad.ok
    assert exit_code([good]) == 0
    assert exit_code([good, bad]) == 1 and exit_code([bad, good]) == 1
    assert exit_code([]) == 1


def test_the_cli_exit_code_is_1_when_only_some_requested_claims_are_ok(monkeypatch, capsys):
    claims = [_toy_claim("T-13"), _toy_claim("T-14", true=False)]
    monkeypatch.setattr(registry, "select", lambda names=None: claims)
    assert cli.main(["--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert [c["ok"] for c in document] == [True, False]
    monkeypatch.setattr(registry, "select", lambda names=None: claims[:1])
    assert cli.main([]) == 0


# ---------------------------------------------------------------- the pieces under the rules
# (each pins a mutant that survived our own mutation campaign, benchmarks/mutation.py)
from derivations import zerotest  # noqa: E402
from derivations.balls import ball_sign, evaluate_ball  # noqa: E402
from derivations.claims import chain  # noqa: E402
from derivations.zerotest import integers, rationals  # noqa: E402


@pytest.mark.parametrize("branch, condition, vanishes", [
    (x - 1, sp.Eq(x, 1), True),
    (x - 1, sp.Eq(x, 2), False),
    (sp.Integer(0), x > 1, True),
    (x - 1, x > 1, False),
    (x - 1, sp.Or(sp.Eq(x, 1), x > 5), False),
    (x - 1, sp.Or(sp.Eq(x, 1), sp.Eq(x, 1)), True),
    (x - 1, sp.Eq(x**2, 1), False),
    (x**2 - 1, sp.Eq(x**2, 1), True),
    (x - y, sp.And(sp.Eq(x, y), y > 0), True),
    (x - 2, sp.And(sp.Eq(x, 1), sp.Eq(x, 2)), True),   # never holds: nothing required
])
def test_the_branch_rule(branch, condition, vanishes):
    assert zerotest._vanishes_under(branch, condition) is vanishes


def test_sums_of_nonnegative_terms_are_nonnegative_but_not_positive():
    i, n = sp.Symbol("i", integer=True), sp.Symbol("n", integer=True, nonnegative=True)
    a = sp.IndexedBase("a", real=True)
    total = sp.Sum(a[i] ** 2, (i, 1, n))
    assert symbolic_sign_route(total, ">=") == "holds"
    assert symbolic_sign_route(total, ">") == "unknown"            # n = 0 gives 0
    assert symbolic_sign_route(sp.Sum(a[i], (i, 1, n)), ">=") == "unknown"
    half = sp.Symbol("h", positive=True)                            # bounds must be integers
    assert zerotest._sum_of_nonnegative_terms(sp.Sum(a[i] ** 2, (i, half, n))) is False


@pytest.mark.parametrize("symbol, must, boundary", [
    (sp.Symbol("n", integer=True, positive=True), lambda v: v >= 1, 1),
    (sp.Symbol("n", integer=True, nonnegative=True), lambda v: v >= 0, 0),
    (sp.Symbol("n", integer=True), lambda v: True, 0),
    (sp.Symbol("r", positive=True), lambda v: v > 0, None),
    (sp.Symbol("r", negative=True), lambda v: v < 0, None),
    (sp.Symbol("r", nonnegative=True), lambda v: v >= 0, 0),
    (sp.Symbol("r", nonpositive=True), lambda v: v <= 0, 0),
])
def test_random_points_respect_the_assumptions_and_reach_the_boundary(symbol, must, boundary):
    import random
    rng = random.Random(1)
    values = [draw_value(symbol, rng) for _ in range(200)]
    assert all(must(v) for v in values)
    if boundary is not None:
        assert boundary in values
    if symbol.is_integer:
        assert all(v.is_Integer for v in values)
    if not (symbol.is_nonnegative or symbol.is_nonpositive):
        assert min(values) < 0 < max(values) or symbol.is_positive or symbol.is_negative


def test_samplers_stay_inside_their_interval():
    import random
    rng = random.Random(2)
    draws = [rationals(0, 1, max_den=3)(rng) for _ in range(300)]
    assert all(0 < v < 1 for v in draws) and set(draws) == {sp.Rational(1, 2), sp.Rational(1, 3), sp.Rational(2, 3)}
    assert {integers(2, 3)(rng) for _ in range(50)} == {2, 3}


def test_the_numeric_route_counts_its_points():
    exact = numeric_route((p + 1) ** 2 - p**2 - 2 * p - 1, points=5)
    assert (exact.verdict, exact.points, exact.exact_points, exact.ball_points) == ("zero", 5, 5, 0)
    balls = numeric_route(sp.log(p * 2) - sp.log(p) - sp.log(2), points=3)
    assert (balls.verdict, balls.points, balls.exact_points, balls.ball_points) == ("zero", 3, 0, 3)


def test_every_point_a_pole_is_undecided_and_said():
    outcome = numeric_route(1 / (p - 1), {p: choice(1)}, points=4)
    assert outcome.verdict == "undecided" and outcome.points == 0 and "no admissible point" in outcome.note


def test_an_indexed_symbol_is_drawn_from_its_base_sampler():
    k = sp.IndexedBase("k")
    i = sp.Symbol("i", integer=True)
    outcome = numeric_route(k[i] - 2, {k: choice(3), i: choice(1)})
    assert outcome.verdict == "nonzero" and outcome.counterexample["k[i]"] == "3"


def test_the_tight_radius_is_half_the_ball_precision():
    assert point_fate(_ball(0, 2.0 ** -130), "=") == "undecided"    # 2^-130 > 2^-160: not tight


def test_ball_signs_and_powers():
    with flint.ctx.workprec(128):
        zero, one, minus = flint.acb(0), flint.acb(1), flint.acb(-1)
    assert (ball_sign(zero), ball_sign(one), ball_sign(minus)) == (0, 1, -1)
    root = evaluate_ball(sp.sqrt(2), 128)
    assert abs(float(root.real.mid()) - 2 ** 0.5) < 1e-15 and root.real.rad() < 1e-30
    assert abs(float(evaluate_ball(sp.Integer(2) ** sp.Rational(3, 2), 128).real.mid()) - 2 ** 1.5) < 1e-15


def test_a_claim_group_is_the_prefix_of_its_id():
    assert _toy_claim("T-15").group == "T" and _toy_claim("ABC-7").group == "ABC"


def test_chain_labels_and_shapes():
    steps = chain(x, (x + 0, "add nothing", "first"), (1 * x, "multiply by one"), display=r"\xi")
    assert [s.label for s in steps] == ["first", ""] and [s.display for s in steps] == [r"\xi", ""]
    with pytest.raises(ValueError, match=r"step 'mismatch': shapes \(2, 1\) and \(1, 1\)"):
        Step(sp.Matrix([x, y]), sp.Matrix([x]), "reason", label="mismatch").differences()
    with pytest.raises(ValueError, match=r"step 'the reason': shapes \(2, 1\) and scalar differ"):
        Step(sp.Matrix([x, y]), 0, "the reason").differences()


def test_the_reported_numeric_outcome_is_the_undecided_part():
    step = Step(sp.Matrix([p, sp.gamma(p + 1)]), sp.Matrix([p, p * sp.gamma(p)]), "second entry: no ball for gamma")
    result = check_step(step)
    assert result.verdict == "undecided" and result.numeric.verdict == "undecided"


def test_an_undecided_sign_inside_a_ball_is_said():
    from derivations.balls import BallError
    with pytest.raises(BallError, match="sign of"):
        evaluate_ball(sp.sign(sp.log(6) - sp.log(2) - sp.log(3), evaluate=False), 128)


def test_a_branch_condition_sympy_cannot_solve_is_not_proved():
    assert zerotest._vanishes_under(x - sp.cos(x), sp.Eq(x, sp.cos(x))) is False


def test_logs_are_not_expanded_by_force():
    """log(xy) = log x + log y fails for negative x, y: the symbolic route must not prove it."""
    assert symbolic_route(sp.log(x * y) - sp.log(x) - sp.log(y)) == "unknown"
    assert symbolic_route(sp.log(p * 2) - sp.log(p) - sp.log(2)) == "zero"


def test_a_double_sum_needs_integer_bounds_in_every_limit():
    i, j = sp.Symbol("i", integer=True), sp.Symbol("j", integer=True)
    n, h = sp.Symbol("n", integer=True, positive=True), sp.Symbol("h", positive=True)
    a = sp.IndexedBase("a", real=True)
    assert zerotest._sum_of_nonnegative_terms(sp.Sum(a[i, j] ** 2, (i, 1, n), (j, 1, n))) is True
    assert zerotest._sum_of_nonnegative_terms(sp.Sum(a[i, j] ** 2, (i, 1, n), (j, h, n))) is False


def test_one_undecided_point_is_counted_once_and_noted():
    no_ball = sp.zeta(p + 3) - 1                   # no ball enclosure for zeta: every point undecided
    outcome = numeric_route(no_ball, {p: choice(sp.Rational(1, 3))}, points=1)
    assert (outcome.verdict, outcome.points, outcome.ball_points) == ("undecided", 1, 0)
    assert "zeta" in outcome.note
    assert numeric_route(no_ball, {p: choice(sp.Rational(1, 3))}, points=3).points == 3


def test_timings_are_measured_not_made_up():
    import time
    started = time.perf_counter()
    result = check_claim(_toy_claim("T-16"))
    elapsed = time.perf_counter() - started
    assert 0 < result.seconds <= elapsed
    assert all(0 < r.seconds <= elapsed for r in result.steps)

    def broken():
        raise RuntimeError("model failed")
    started = time.perf_counter()
    failed = check_claim(Claim("T-17", "toy", "toy", [], broken))
    assert failed.error and 0 < failed.seconds <= time.perf_counter() - started


_CLOSED = [sp.sqrt(2), sp.Integer(2) ** sp.Rational(3, 2), sp.Rational(2, 3) ** -3, sp.Integer(3) ** -2,
           sp.Rational(5, 7) ** 4, sp.pi, sp.E, sp.I * sp.I + sp.Rational(1, 3), sp.exp(sp.Rational(1, 3)),
           sp.log(5), sp.sin(1), sp.cos(2), sp.tan(sp.Rational(1, 2)), sp.sinh(1), sp.cosh(2),
           sp.tanh(3), sp.asinh(2), sp.acosh(3), sp.atanh(sp.Rational(1, 3)), sp.atan(5),
           sp.Abs(sp.Rational(-2, 3)), sp.sign(3 - sp.pi), sp.Rational(1, 3) + sp.sqrt(3) * sp.pi,
           sp.Mul(2, sp.sqrt(5), sp.log(2), evaluate=False), sp.pi**3, sp.pi**-2, (1 + sp.sqrt(2)) ** -3,
           sp.log(3) ** 0, sp.I * sp.pi + 1, (1 + sp.I) ** 3, sp.Abs(3 - sp.pi, evaluate=False),
           sp.sign(3 - sp.pi, evaluate=False), sp.sign(sp.pi - 3, evaluate=False)]


@pytest.mark.parametrize("expr", _CLOSED, ids=str)
def test_ball_enclosures_contain_the_value(expr):
    """Every node of the ball walker against mpmath at 60 digits: the ball contains the value
    and is tight (radius below 2^-100 at 128 bits)."""
    import mpmath
    ball = evaluate_ball(expr, 128)
    with mpmath.workdps(60):
        value = mpmath.mpmathify(sp.N(expr, 60))
        got = mpmath.mpf(ball.real.mid().str(50, radius=False)) + 1j * mpmath.mpf(ball.imag.mid().str(50, radius=False))
        assert abs(got - value) < mpmath.mpf(2) ** -100
    assert ball.real.rad() < 2.0 ** -100 and ball.imag.rad() < 2.0 ** -100
    assert evaluate_ball(sp.I, 64).imag.mid() == 1 and evaluate_ball(sp.I, 64).real.mid() == 0
